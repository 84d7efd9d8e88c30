"""Data for the experiments: task generators and corpora, all offline, seeded and deterministic.

One submodule per task family; each generator takes a ``seed`` (or a ``torch.Generator``) and returns
the same tensors for the same seed.
"""
