"""Shared test settings.

The tests use small tensors, for which one thread is much faster than several fighting over two CPU
cores (a tiny float64 softmax: ~2.5 us with 1 thread, ~20 ms with 2 on a loaded CI machine).

The shape annotations of the package (``Float[Tensor, "batch seq d_model"]``) are enforced here: jaxtyping's
import hook wraps every function of the package's modules with a beartype check of its arguments and its
result, dimension names included (one ``batch`` must be the same size everywhere in a call). It is installed
before any test imports the package, so a wrong annotation fails the test run. Outside the tests the
annotations cost nothing.
"""

import importlib.util
from pathlib import Path

import jaxtyping
import pytest
import torch
from jaxtyping import install_import_hook

# Not yet enforced: the task generators of the early chapters (their tests pass wrong types on purpose to
# see the learner's ValueError), whose annotations their authors bring up to date in their own changes; every
# other module is (a package, such as models.clip, with all its submodules). The data package is enforced
# module by module.
NOT_YET_ENFORCED = {
    "data", "data.captions", "data.counting", "data.docstrings", "data.mlm", "data.order",
    "data.progressions", "data.recall", "data.relations",
}  # fmt: skip
_package = Path(importlib.util.find_spec("tfmcourse").submodule_search_locations[0])
_FOLDERS = (
    (_package, "tfmcourse."),
    (_package / "models", "tfmcourse.models."),
    (_package / "data", "tfmcourse.data."),
)
ENFORCED = sorted(
    name
    for folder, prefix in _FOLDERS
    for p in folder.iterdir()
    if (p.suffix == ".py" or (p / "__init__.py").exists())
    and not p.stem.startswith("_")
    and (name := prefix + p.stem).removeprefix("tfmcourse.") not in NOT_YET_ENFORCED | {"models"}
)
# An int is a float (PEP 484's numeric tower): temperature=0 is a fine temperature.
install_import_hook(ENFORCED, "beartype.beartype(conf=beartype.BeartypeConf(is_pep484_tower=True))")

torch.set_num_threads(1)


@pytest.fixture
def no_type_checks():
    """For the tests of the ValueError a learner sees when a constructor gets an argument of the wrong type:
    the learner runs without beartype, so the annotations' enforcement is switched off for the test."""
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        jaxtyping.config.update("jaxtyping_disable", False)
