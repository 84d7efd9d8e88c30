"""What the two Transformer layers of :mod:`tfmcourse.blocks` share: the types of their masks, the
argument order of the old constructors, the checks kept for code written before :mod:`tfmcourse.checks`,
and the helpers that copy a ``torch.nn`` layer's configuration and weights (``from_torch``)."""

from __future__ import annotations

import torch.nn.functional as F
from jaxtyping import Bool
from torch import Tensor, nn

from tfmcourse import checks
from tfmcourse.checks import Dims
from tfmcourse.config import TransformerConfig

#: The positional order of the layers' arguments before :class:`~tfmcourse.config.TransformerConfig`.
LAYER_ARGS = (
    "d_model",
    "num_heads",
    "d_ff",
    "dropout",
    "activation",
    "norm_first",
    "layer_norm_eps",
    "impl",
    "bias",
)

# Masks broadcast to the scores (batch, heads, seq_q, seq_k): "*#mask" stands for (batch | 1, heads | 1) or
# nothing (a 2-D mask). Each mask of a call has its own key axis.
SelfMask = Bool[Tensor, "*#mask #seq seq"]
TgtMask = Bool[Tensor, "*#mask #seq_t seq_tk"]  # seq_tk: the cached positions and the new ones
MemoryMask = Bool[Tensor, "*#mask #seq_t seq_s"]


def check_x(x: object, name: str, d_model: int) -> None:
    """Kept for code written before :mod:`tfmcourse.checks`: ``x`` must be a floating-point
    ``(batch, seq, d_model)`` tensor (``Dims(d_model=d_model)(x, name, "batch seq d_model")``)."""
    Dims(d_model=d_model)(x, name, "batch seq d_model")


def check_mask(mask: object, name: str, batch: int, seq_q: int, seq_k: int) -> None:
    """Kept for code written before :mod:`tfmcourse.checks`: the mask rule of
    :func:`tfmcourse.checks.check_mask` for scores ``(batch, heads, seq_q, seq_k)``, any number of heads."""
    heads = mask.shape[1] if isinstance(mask, Tensor) and mask.ndim == 4 else 1
    checks.check_mask(mask, name, (batch, heads, seq_q, seq_k))


def _activation_name(fn: object) -> str:
    """The name in :data:`ACTIVATIONS` of a torch layer's activation (a function or a module)."""
    if fn is F.relu or isinstance(fn, nn.ReLU):
        return "relu"
    if fn is F.gelu or (isinstance(fn, nn.GELU) and fn.approximate == "none"):
        return "gelu"
    if isinstance(fn, nn.GELU) and fn.approximate == "tanh":
        return "gelu_tanh"
    raise ValueError(f"unsupported activation {fn!r}: only relu, gelu and gelu (tanh) can be copied")


def _config_of(
    layer: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer, impl: str
) -> TransformerConfig:
    """The configuration of a ``torch.nn`` encoder or decoder layer."""
    return TransformerConfig(
        d_model=layer.self_attn.embed_dim,
        num_heads=layer.self_attn.num_heads,
        d_ff=layer.linear1.out_features,
        dropout=layer.dropout.p,
        activation=_activation_name(layer.activation),
        norm_first=layer.norm_first,
        layer_norm_eps=layer.norm1.eps,
        impl=impl,
        bias=layer.linear1.bias is not None,
    )


def _copy_from_torch(ours: nn.Module, layer: nn.Module, norms: tuple[str, ...]) -> nn.Module:
    """Copy the feed-forward and norm weights of a torch layer into ours, on its device, in its mode."""
    for name in ("linear1", "linear2"):
        getattr(ours.ff, name).load_state_dict(getattr(layer, name).state_dict())
    for name in norms:
        getattr(ours, name).load_state_dict(getattr(layer, name).state_dict())
    return ours.train(layer.training)
