"""The pieces of chapter 1 written out by hand: the recurrent step :func:`rnn_step`, the loop through time
(:func:`rnn_forward`, :class:`LoopRNN`, what ``torch.nn.RNN`` does inside) and the one-head
:class:`SelfAttention` the recurrent models are compared with."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.attention import scaled_dot_product_attention
from tfmcourse.checks import entry_point

__all__ = ["rnn_step", "rnn_forward", "LoopRNN", "SelfAttention"]


def _shape(x: object) -> tuple[int, ...]:
    return tuple(x.shape)


def _positive_int(name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


@contextmanager
def _seeded(seed: int | None):
    """Initialise parameters from ``seed`` inside this block, leaving the global RNG untouched."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --------------------------------------------------------------------------------------------------
# The recurrent step, by hand


def _check_step(x_t: object, h_prev: object, W_xh: object, W_hh: object, b: object) -> None:
    for name, t, nd in (
        ("x_t", x_t, 2),
        ("h_prev", h_prev, 2),
        ("W_xh", W_xh, 2),
        ("W_hh", W_hh, 2),
        ("b", b, 1),
    ):
        if not isinstance(t, Tensor) or t.ndim != nd:
            got = _shape(t) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a {nd}-D tensor, got {got}")
    d_in, d_hidden = W_xh.shape
    if x_t.shape[1] != d_in:
        raise ValueError(
            f"x_t has shape {_shape(x_t)} but W_xh has shape {_shape(W_xh)}: x_t needs d_in={d_in}"
        )
    if _shape(W_hh) != (d_hidden, d_hidden):
        raise ValueError(
            f"W_hh has shape {_shape(W_hh)} but W_xh has shape {_shape(W_xh)}: "
            f"W_hh must be ({d_hidden}, {d_hidden})"
        )
    if _shape(h_prev) != (x_t.shape[0], d_hidden):
        raise ValueError(
            f"h_prev has shape {_shape(h_prev)} but x_t has shape {_shape(x_t)}: "
            f"h_prev must be ({x_t.shape[0]}, {d_hidden})"
        )
    if _shape(b) != (d_hidden,):
        raise ValueError(
            f"b has shape {_shape(b)} but W_xh has shape {_shape(W_xh)}: b must be ({d_hidden},)"
        )


@entry_point(_check_step)
def rnn_step(
    x_t: Float[Tensor, "batch d_in"],
    h_prev: Float[Tensor, "batch d_hidden"],
    W_xh: Float[Tensor, "d_in d_hidden"],
    W_hh: Float[Tensor, "d_hidden d_hidden"],
    b: Float[Tensor, " d_hidden"],
) -> Float[Tensor, "batch d_hidden"]:
    """One step of an Elman RNN: ``h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b)``.

    Args:
        x_t: the input at step t, ``(batch, d_in)``.
        h_prev: the hidden state after step t-1, ``(batch, d_hidden)``.
        W_xh: input-to-hidden weights, ``(d_in, d_hidden)``.
        W_hh: hidden-to-hidden weights, ``(d_hidden, d_hidden)``.
        b: bias, ``(d_hidden,)``.

    Returns:
        the new hidden state ``h_t``, ``(batch, d_hidden)``.
    """
    return torch.tanh(x_t @ W_xh + h_prev @ W_hh + b)


def _check_forward(x: object, W_xh: object, W_hh: object, b: object, h0: object = None) -> None:
    if not isinstance(x, Tensor) or x.ndim != 3:
        got = _shape(x) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (batch, seq, d_in), got {got}")
    if not isinstance(W_hh, Tensor) or W_hh.ndim != 2:
        raise ValueError(f"W_hh must be a 2-D tensor (d_hidden, d_hidden), got {W_hh!r}")
    if x.shape[1]:  # the step's checks, once for every step
        _check_step(x[:, 0], x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0, W_xh, W_hh, b)


@entry_point(_check_forward)
def rnn_forward(
    x: Float[Tensor, "batch seq d_in"],
    W_xh: Float[Tensor, "d_in d_hidden"],
    W_hh: Float[Tensor, "d_hidden d_hidden"],
    b: Float[Tensor, " d_hidden"],
    h0: Float[Tensor, "batch d_hidden"] | None = None,
) -> Float[Tensor, "batch seq d_hidden"]:
    """Run :func:`rnn_step` through time: a Python loop of ``seq`` steps, each needing the one before.

    Args:
        x: inputs ``(batch, seq, d_in)``.
        W_xh, W_hh, b: as in :func:`rnn_step`.
        h0: the initial hidden state ``(batch, d_hidden)``; zeros when omitted.

    Returns:
        every hidden state, ``(batch, seq, d_hidden)``; the last one is ``out[:, -1]``.
    """
    h = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    states = []
    for t in range(x.shape[1]):  # sequential: step t cannot start before step t-1 has finished
        h = rnn_step(x[:, t], h, W_xh, W_hh, b)
        states.append(h)
    return torch.stack(states, dim=1)


def _check_loop_rnn(layer: nn.Module, x: object) -> None:
    if isinstance(x, Tensor) and x.ndim == 3 and x.shape[-1] != layer.W_xh.shape[0]:
        raise ValueError(f"x has shape {_shape(x)} but this layer expects d_in={layer.W_xh.shape[0]}")
    _check_forward(x, layer.W_xh, layer.W_hh, layer.b)


class LoopRNN(nn.Module):
    """A one-layer tanh RNN that steps through time in Python with :func:`rnn_step`.

    It computes what ``torch.nn.RNN(d_in, d_hidden, batch_first=True)`` computes (use
    :meth:`from_torch` to copy its weights), only more slowly, because every step is a separate
    Python call. ``forward(x (batch, seq, d_in)) -> (batch, seq, d_hidden)``.
    """

    def __init__(self, d_in: int, d_hidden: int, seed: int | None = None):
        super().__init__()
        _positive_int("d_in", d_in)
        _positive_int("d_hidden", d_hidden)
        with _seeded(seed):
            bound = d_hidden**-0.5  # the same initialisation as torch.nn.RNN
            self.W_xh = nn.Parameter(torch.empty(d_in, d_hidden).uniform_(-bound, bound))
            self.W_hh = nn.Parameter(torch.empty(d_hidden, d_hidden).uniform_(-bound, bound))
            self.b = nn.Parameter(torch.empty(d_hidden).uniform_(-bound, bound))

    @classmethod
    def from_torch(cls, rnn: nn.RNN) -> LoopRNN:
        """Copy the weights of a one-layer, unidirectional, tanh ``torch.nn.RNN`` (``batch_first=True``)."""
        if not isinstance(rnn, nn.RNN):
            raise ValueError(f"rnn must be a torch.nn.RNN, got {type(rnn).__name__}")
        if rnn.num_layers != 1 or rnn.bidirectional or rnn.nonlinearity != "tanh" or not rnn.batch_first:
            raise ValueError(
                "rnn must have num_layers=1, bidirectional=False, nonlinearity='tanh', batch_first=True"
            )
        d_hidden, d_in = rnn.weight_ih_l0.shape
        out = cls(d_in, d_hidden).to(rnn.weight_ih_l0.dtype)
        with torch.no_grad():
            out.W_xh.copy_(rnn.weight_ih_l0.T)  # torch stores (d_hidden, d_in) and computes x @ W^T
            out.W_hh.copy_(rnn.weight_hh_l0.T)
            bias = torch.zeros(d_hidden, dtype=out.b.dtype)
            if rnn.bias:
                bias = rnn.bias_ih_l0 + rnn.bias_hh_l0
            out.b.copy_(bias)
        return out

    @entry_point(_check_loop_rnn)
    def forward(self, x: Float[Tensor, "batch seq d_in"]) -> Float[Tensor, "batch seq d_hidden"]:
        """Every hidden state ``(batch, seq, d_hidden)``."""
        return rnn_forward(x, self.W_xh, self.W_hh, self.b)


def _check_self_attention(layer: nn.Module, x: object, need_weights: object = False) -> None:
    if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != layer.d_model:
        got = _shape(x) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (batch, seq, d_model={layer.d_model}), got {got}")


class SelfAttention(nn.Module):
    """One self-attention layer: project to queries, keys and values, attend, project back.

    Every position looks at every position in one batched matrix product; nothing waits for a
    previous step. ``forward(x (batch, seq, d_model)) -> (batch, seq, d_model)``; with
    ``need_weights=True`` it also returns the weights ``(batch, seq, seq)``.
    """

    def __init__(self, d_model: int, seed: int | None = None):
        super().__init__()
        _positive_int("d_model", d_model)
        self.d_model = d_model
        with _seeded(seed):
            self.q = nn.Linear(d_model, d_model)
            self.k = nn.Linear(d_model, d_model)
            self.v = nn.Linear(d_model, d_model)
            self.out = nn.Linear(d_model, d_model)

    @entry_point(_check_self_attention)
    def forward(self, x: Float[Tensor, "batch seq d_model"], need_weights: bool = False):
        """``(batch, seq, d_model)`` -> ``(batch, seq, d_model)`` (and the weights if asked)."""
        out, weights = scaled_dot_product_attention(self.q(x), self.k(x), self.v(x))
        out = self.out(out)
        return (out, weights) if need_weights else out
