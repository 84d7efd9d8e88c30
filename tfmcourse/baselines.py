"""The chapter-1 models moved to :mod:`tfmcourse.models.baselines`; this old import path still works."""

from tfmcourse.models.baselines import *  # noqa: F403
from tfmcourse.models.baselines import __all__  # noqa: F401
