"""A recurrent encoder-decoder, with or without attention over the encoder states (chapter 1).

This is the model attention was invented for {Bahdanau et al. 2015}. An encoder GRU reads the source
sequence; a decoder GRU writes the target one token at a time. The two variants differ in one thing:

- ``attention=False`` (Sutskever et al. 2014, Cho et al. 2014): the decoder starts from the encoder's
  **last state** and sees nothing else of the source: the whole sequence has to pass through one
  vector of ``d_model`` numbers;
- ``attention=True`` (Luong et al. 2015, dot-product "global" attention): at every step the decoder
  also reads a weighted sum of **all** encoder states, weighted by how well each matches its own state.

Both add a learned position embedding to their inputs (so the attention decoder can find "source
position t" by content); the attention variant has ``d_model * num_values`` more parameters (its read-out
sees ``[state; context]``). Shapes, batch first::

    model = RNNSeq2Seq(num_values=10, d_model=32, max_len=64, attention=True)
    logits = model(src, tgt_in)       # src (batch, n) values, tgt_in (batch, m) = [BOS, y_0 .. y_{m-2}]
    out = model.greedy(src)           # (batch, n): the decoder fed with its own outputs
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import scaled_dot_product_attention
from tfmcourse.checks import entry_point

__all__ = ["RNNSeq2Seq"]


@contextmanager
def _seeded(seed: int | None):
    """Initialise parameters from ``seed`` inside this block, leaving the global RNG untouched."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _positive_int(name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _check_ids(model: nn.Module, name: str, tokens: object, high: int) -> None:
    if (
        not isinstance(tokens, Tensor)
        or tokens.dtype != torch.long
        or tokens.ndim != 2
        or tokens.shape[1] == 0
    ):
        got = (
            f"dtype {tokens.dtype}, shape {tuple(tokens.shape)}"
            if isinstance(tokens, Tensor)
            else type(tokens).__name__
        )
        raise ValueError(f"{name} must be a long tensor of shape (batch, seq) with seq >= 1, got {got}")
    if tokens.shape[1] > model.max_len:
        raise ValueError(f"{name} has shape {tuple(tokens.shape)} but this model has max_len={model.max_len}")
    if tokens.min() < 0 or tokens.max() >= high:
        raise ValueError(
            f"{name} must hold ids in [0, {high}), got values in "
            f"[{int(tokens.min())}, {int(tokens.max())}] (shape {tuple(tokens.shape)})"
        )


def _check_encode(model: nn.Module, src: object) -> None:
    _check_ids(model, "src", src, model.num_values)


def _check_forward(model: nn.Module, src: object, tgt_in: object) -> None:
    _check_ids(model, "tgt_in", tgt_in, model.num_values + 1)
    _check_ids(model, "src", src, model.num_values)
    if tgt_in.shape[0] != src.shape[0]:
        raise ValueError(
            f"src has shape {tuple(src.shape)} but tgt_in has shape {tuple(tgt_in.shape)}: "
            "they need the same batch size"
        )


class RNNSeq2Seq(nn.Module):
    """GRU encoder -> (last state only | attention over every encoder state) -> GRU decoder.

    Args:
        num_values: size of the source and target vocabulary; the decoder's start token is ``num_values``.
        d_model: width of the embeddings and of both GRUs' states.
        max_len: the longest source or target sequence (positions are learned).
        attention: whether the decoder reads the encoder states through attention.
        seed: seeds the parameter initialisation (the global random state is left alone).
    """

    def __init__(self, num_values: int, d_model: int, max_len: int, attention: bool, seed: int | None = None):
        super().__init__()
        self.num_values = _positive_int("num_values", num_values)
        self.d_model = _positive_int("d_model", d_model)
        self.max_len = _positive_int("max_len", max_len)
        self.attention = bool(attention)
        self.bos = num_values
        with _seeded(seed):
            self.src_embed = nn.Embedding(num_values, d_model)
            self.tgt_embed = nn.Embedding(num_values + 1, d_model)  # + the start token
            self.positions = nn.Embedding(max_len, d_model)
            self.encoder = nn.GRU(d_model, d_model, batch_first=True)
            self.decoder = nn.GRU(d_model, d_model, batch_first=True)
            self.head = nn.Linear(2 * d_model if attention else d_model, num_values)

    def _positions(self, n: int, start: int = 0) -> Tensor:
        return self.positions(torch.arange(start, start + n, device=self.positions.weight.device))

    @entry_point(_check_encode)
    def encode(
        self, src: Int[Tensor, "batch n"]
    ) -> tuple[Float[Tensor, "batch n d_model"], Float[Tensor, "1 batch d_model"]]:
        """Every encoder state ``(batch, n, d_model)`` and the last one ``(1, batch, d_model)``."""
        states, last = self.encoder(self.src_embed(src) + self._positions(src.shape[1]))
        return states, last

    def _read_out(self, dec_states: Tensor, enc_states: Tensor) -> tuple[Tensor, Tensor | None]:
        """Logits from the decoder states, through attention over ``enc_states`` when the model has it."""
        if not self.attention:
            return self.head(dec_states), None
        context, weights = scaled_dot_product_attention(dec_states, enc_states, enc_states)
        return self.head(torch.cat([dec_states, context], dim=-1)), weights

    @entry_point(_check_forward)
    def forward(
        self, src: Int[Tensor, "batch n"], tgt_in: Int[Tensor, "batch m"]
    ) -> Float[Tensor, "batch m num_values"]:
        """Teacher forcing: logits ``(batch, m, num_values)`` for every target position at once.

        ``tgt_in`` is the target shifted right: the start token ``bos``, then the target's first ``m - 1``
        tokens.
        """
        enc_states, last = self.encode(src)
        dec_states, _ = self.decoder(self.tgt_embed(tgt_in) + self._positions(tgt_in.shape[1]), last)
        return self._read_out(dec_states, enc_states)[0]

    @torch.no_grad()
    def greedy(self, src: Int[Tensor, "batch n"], length: int | None = None, return_weights: bool = False):
        """Decode ``length`` tokens (default: the source length), each step fed the previous output.

        Returns ``(batch, length)`` long; with ``return_weights=True`` also the attention weights
        ``(batch, length, n)`` (``None`` for the model without attention).
        """
        length = src.shape[1] if length is None else _positive_int("length", length)
        if length > self.max_len:
            raise ValueError(f"length={length} is longer than max_len={self.max_len}")
        enc_states, h = self.encode(src)
        token = torch.full((src.shape[0], 1), self.bos, dtype=torch.long, device=src.device)
        outputs, all_weights = [], []
        for t in range(length):  # one step at a time: step t needs the token chosen at step t-1
            state, h = self.decoder(self.tgt_embed(token) + self._positions(1, start=t), h)
            logits, weights = self._read_out(state, enc_states)
            token = logits.argmax(dim=-1)
            outputs.append(token)
            all_weights.append(weights)
        out = torch.cat(outputs, dim=1)
        if not return_weights:
            return out
        return out, (torch.cat(all_weights, dim=1) if self.attention else None)
