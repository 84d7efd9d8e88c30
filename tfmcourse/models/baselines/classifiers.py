"""Chapter 1's three sequence classifiers with one interface, :class:`RNNModel`, :class:`LSTMModel` and
:class:`AttentionModel`: each reads the whole sequence and predicts from its last position, and
``embed`` / ``from_embeddings`` let an experiment take the gradient of the loss at every input step."""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.checks import entry_point
from tfmcourse.models.baselines.layers import SelfAttention, _positive_int, _seeded, _shape

__all__ = ["RNNModel", "LSTMModel", "AttentionModel"]

# --------------------------------------------------------------------------------------------------
# Three sequence classifiers with one interface


def _check_tokens(model: nn.Module, tokens: object) -> None:
    if not isinstance(tokens, Tensor):
        raise ValueError(f"tokens must be a torch.Tensor of shape (batch, seq), got {type(tokens).__name__}")
    if tokens.ndim != 2 or tokens.shape[1] == 0:
        raise ValueError(f"tokens must have shape (batch, seq) with seq >= 1, got shape {_shape(tokens)}")
    if tokens.dtype != torch.long:
        raise ValueError(
            f"tokens must be integer ids (torch.long), got dtype {tokens.dtype} with shape {_shape(tokens)}"
        )
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= model.vocab_size):
        raise ValueError(
            f"tokens must lie in [0, vocab_size={model.vocab_size}), got values in "
            f"[{int(tokens.min())}, {int(tokens.max())}] (shape {_shape(tokens)})"
        )
    if model.max_len is not None and tokens.shape[1] > model.max_len:
        raise ValueError(f"tokens has shape {_shape(tokens)} but this model has max_len={model.max_len}")


class _SequenceClassifier(nn.Module):
    """Shared parts: the token embedding and the linear read-out (the input check: :func:`_check_tokens`)."""

    max_len: int | None = None

    def __init__(self, vocab_size: int, d_model: int, num_classes: int):
        super().__init__()
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        self.d_model = _positive_int("d_model", d_model)
        self.num_classes = _positive_int("num_classes", num_classes)
        self.tokens = nn.Embedding(vocab_size, d_model)
        self.head = nn.Linear(d_model, num_classes)

    @entry_point(_check_tokens)
    def embed(self, tokens: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq d_model"]:
        """The input vectors ``(batch, seq, d_model)`` the sequence layer reads."""
        return self.tokens(tokens)

    def from_embeddings(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch num_classes"]:
        """Logits ``(batch, num_classes)`` predicted at the last position from input vectors ``x``."""
        raise NotImplementedError

    @entry_point(_check_tokens)
    def forward(self, tokens: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch num_classes"]:
        """``tokens (batch, seq)`` long -> logits ``(batch, num_classes)`` read at the last position."""
        return self.from_embeddings(self.embed(tokens))


class RNNModel(_SequenceClassifier):
    """Embedding -> one-layer tanh RNN (``torch.nn.RNN``, Elman 1990) -> linear read-out of the last state.

    ``RNNModel(vocab_size, d_model, num_classes, seed=None)``; ``forward(tokens (batch, seq)) ->
    (batch, num_classes)``.
    """

    def __init__(self, vocab_size: int, d_model: int, num_classes: int, seed: int | None = None):
        with _seeded(seed):
            super().__init__(vocab_size, d_model, num_classes)
            self.rnn = nn.RNN(d_model, d_model, batch_first=True)

    def from_embeddings(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch num_classes"]:
        states, _ = self.rnn(x)
        return self.head(states[:, -1])


class LSTMModel(_SequenceClassifier):
    """Embedding -> one-layer LSTM (``torch.nn.LSTM``, Hochreiter & Schmidhuber 1997) -> linear read-out.

    ``LSTMModel(vocab_size, d_model, num_classes, seed=None)``; ``forward(tokens (batch, seq)) ->
    (batch, num_classes)``. We keep torch's initialisation: every weight and both biases (``bias_ih``,
    ``bias_hh``) uniform in ``[-1/sqrt(d_model), 1/sqrt(d_model)]``, the forget gate's included, so the
    forget gate starts near sigmoid(0) = 0.5 (chapter 1 measures it).
    """

    def __init__(self, vocab_size: int, d_model: int, num_classes: int, seed: int | None = None):
        with _seeded(seed):
            super().__init__(vocab_size, d_model, num_classes)
            self.lstm = nn.LSTM(d_model, d_model, batch_first=True)

    def from_embeddings(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch num_classes"]:
        states, _ = self.lstm(x)
        return self.head(states[:, -1])


class AttentionModel(_SequenceClassifier):
    """Embedding + learned position embedding -> one self-attention layer (residual) -> linear read-out.

    ``AttentionModel(vocab_size, d_model, num_classes, max_len, seed=None)``; ``forward(tokens (batch,
    seq)) -> (batch, num_classes)`` with ``seq <= max_len``. The last position's output is read out; it
    has looked at every position directly, whatever the distance.
    """

    def __init__(
        self, vocab_size: int, d_model: int, num_classes: int, max_len: int, seed: int | None = None
    ):
        with _seeded(seed):
            super().__init__(vocab_size, d_model, num_classes)
            self.max_len = _positive_int("max_len", max_len)
            self.positions = nn.Embedding(max_len, d_model)
            self.attn = SelfAttention(d_model)

    @entry_point(_check_tokens)
    def embed(self, tokens: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq d_model"]:
        """Token embedding plus the learned embedding of each position, ``(batch, seq, d_model)``."""
        return self.tokens(tokens) + self.positions(torch.arange(tokens.shape[1], device=tokens.device))

    def from_embeddings(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch num_classes"]:
        h = x + self.attn(x)
        return self.head(h[:, -1])
