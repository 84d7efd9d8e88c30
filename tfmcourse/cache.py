"""The KV cache (键值缓存) of incremental decoding: the keys and values of the positions seen so far.

A decoder that generates one token at a time would recompute, at every step, the keys and values of
every earlier position, which never change. A :class:`KVCache` keeps them: each attention layer appends
the keys and values of the new positions (:meth:`KVCache.update`) and attends over all of them. Feeding
a prompt once and then one token per call gives the same outputs as re-running the whole sequence.

One cache serves a whole model, one slot per attention layer that caches (the self-attention of each
decoder layer of :class:`~tfmcourse.models.transformer.Transformer`, of each block of
:class:`~tfmcourse.models.gpt.GPT`; a lone :class:`~tfmcourse.multihead.MultiHeadAttention` uses
``KVCache(1)``). Models make theirs with ``model.new_cache()``.
"""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor

from tfmcourse.checks import check_positive

__all__ = ["KVCache", "check_cache"]


class KVCache:
    """Keys and values of the past positions, one ``(batch, heads, positions, d_head)`` pair per layer.

    ``KVCache(num_layers)`` starts empty. ``length`` is the number of positions it holds; ``len(cache)``
    the number of layers; ``cache[i]`` layer ``i``'s ``{"k": keys, "v": values}`` (empty before the first
    call), to look at.
    """

    def __init__(self, num_layers: int):
        check_positive(num_layers=num_layers)
        self.keys: list[Tensor | None] = [None] * num_layers
        self.values: list[Tensor | None] = [None] * num_layers

    @property
    def length(self) -> int:
        """Positions held by every layer: during a forward pass, the positions before the new ones."""
        return min(0 if k is None else k.shape[-2] for k in self.keys)

    @property
    def batch(self) -> int | None:
        """The batch size of the cached tensors (``None`` while empty)."""
        return next((k.shape[0] for k in self.keys if k is not None), None)

    def update(
        self,
        layer: int,
        k: Float[Tensor, "batch heads new d_head"],
        v: Float[Tensor, "batch heads new d_head_v"],
    ) -> tuple[Float[Tensor, "batch heads total d_head"], Float[Tensor, "batch heads total d_head_v"]]:
        """Append the new keys and values of ``layer`` after its cached ones; return all of them."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=-2)
            v = torch.cat([self.values[layer], v], dim=-2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def reorder(self, rows: Int[Tensor, " new_batch"]) -> None:
        """Keep the batch rows ``rows`` of every layer, in that order (beam search follows its beams)."""
        self.keys = [None if k is None else k[rows] for k in self.keys]
        self.values = [None if v is None else v[rows] for v in self.values]

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, layer: int) -> dict[str, Tensor]:
        k, v = self.keys[layer], self.values[layer]
        return {} if k is None else {"k": k, "v": v}

    def __repr__(self) -> str:
        return f"KVCache(layers={len(self)}, length={self.length}, batch={self.batch})"


def check_cache(cache: object, num_layers: int, batch: int) -> None:
    """The rule for a cache handed to a model: a :class:`KVCache` with one slot per layer, every layer
    holding the same positions, for this batch."""
    if not isinstance(cache, KVCache):
        raise ValueError(
            f"cache must be None or a KVCache (from model.new_cache()), got {type(cache).__name__}"
        )
    if len(cache) != num_layers:
        raise ValueError(
            f"cache has {len(cache)} layers but the model has {num_layers} (use model.new_cache())"
        )
    lengths = {0 if k is None else k.shape[-2] for k in cache.keys}
    if len(lengths) > 1:
        raise ValueError(f"the layers of the cache hold different numbers of positions {sorted(lengths)}")
    if cache.batch is not None and cache.batch != batch:
        raise ValueError(f"the cache holds a batch of {cache.batch} but the input has a batch of {batch}")
