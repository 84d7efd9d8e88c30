"""A speech encoder from the book's blocks, and a convolutional baseline (chapter 14).

The input is a log-mel spectrogram ``(batch, frames, n_mels)``: a sequence of one vector per 10 ms.
Speech Transformers do not attend over those frames directly: a second of speech is 100 of them, and
attention's cost grows with the square of the length. Like Whisper (two convolutions, the second with
stride 2) and the Conformer (a convolutional subsampling by 4), :class:`SpeechTransformer` first runs a
small **convolutional front-end** (:class:`ConvFrontEnd`): 1-D convolutions over time that turn the
``n_mels`` bands into ``d_model`` features and, with stride 2 each, shorten the sequence 4 times. Then
sinusoidal positions (:class:`tfmcourse.positional.SinusoidalPositions`), a stack of pre-norm
:class:`tfmcourse.blocks.EncoderLayer`, a final LayerNorm, and either

- ``forward``: the mean over the (unpadded) positions and a linear classifier, one label per
  utterance (the spoken word); or
- :meth:`SpeechTransformer.frame_logits`: a label distribution at every position, for CTC.

:class:`SpeechCNN` is the baseline on the same features: the same front-end followed by more
convolutions instead of attention, each position seeing only its neighbours, then the same pooling and
classifier.

Padding: sequences of different lengths are padded at the end; ``lengths (batch,)`` gives the real
number of frames, and the padded positions are masked out of the attention and of the mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import padding_mask
from tfmcourse.blocks import EncoderLayer
from tfmcourse.checks import entry_point
from tfmcourse.positional import SinusoidalPositions

__all__ = [
    "encoder_layer",
    "conv_output_length",
    "ConvFrontEnd",
    "SpeechTransformer",
    "SpeechCNN",
    "masked_mean",
    "ctc_greedy_decode",
    "edit_distance",
    "label_error_rate",
]


def encoder_layer(d_model: int, num_heads: int, d_ff: int, dropout: float) -> EncoderLayer:
    """The one place this module builds an encoder layer: pre-norm, GELU (as Whisper's encoder)."""
    return EncoderLayer(d_model, num_heads, d_ff, dropout=dropout, activation="gelu", norm_first=True)


def conv_output_length(length: Tensor | int, kernel_size: int, stride: int, padding: int) -> Tensor | int:
    """Frames out of a 1-D convolution (or a stack, applied one at a time): ``(L + 2p - k) // s + 1``."""
    return (length + 2 * padding - kernel_size) // stride + 1


def masked_mean(x: Float[Tensor, "batch seq d"], lengths: Int[Tensor, " batch"]) -> Float[Tensor, "batch d"]:
    """Mean over the first ``lengths[b]`` positions of each sequence (the padding left out)."""
    keep = padding_mask(lengths, x.shape[1]).to(x.dtype)  # (batch, seq)
    return torch.einsum("bsd,bs->bd", x, keep) / lengths.clamp(min=1).to(x.dtype)[:, None]


def _check_features(x: object, lengths: object, n_mels: int) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 3 or x.shape[-1] != n_mels:
        what = f"shape {tuple(x.shape)} dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"features must be a float tensor (batch, frames, n_mels={n_mels}), got {what}")
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
    if not isinstance(lengths, Tensor) or lengths.shape != (x.shape[0],) or lengths.is_floating_point():
        what = f"shape {tuple(lengths.shape)}" if isinstance(lengths, Tensor) else type(lengths).__name__
        raise ValueError(f"lengths must be an integer tensor (batch={x.shape[0]},), got {what}")
    if (lengths < 1).any() or (lengths > x.shape[1]).any():
        raise ValueError(f"lengths must lie in [1, frames={x.shape[1]}], got {lengths.tolist()}")
    return lengths


def _check_input(model: nn.Module, x: object, lengths: object = None, need_weights: object = False) -> None:
    _check_features(x, lengths, model.n_mels)


class ConvFrontEnd(nn.Module):
    """1-D convolutions over time, each followed by GELU:
    ``(batch, frames, n_mels) -> (batch, frames', d_model)``.

    Args:
        n_mels: input features per frame.
        d_model: output width (the channels of every convolution).
        kernel_size: odd; each convolution pads ``kernel_size // 2`` on both sides.
        strides: one convolution per entry; the sequence is shortened by their product (default 4).
    """

    def __init__(self, n_mels: int, d_model: int, kernel_size: int = 3, strides: tuple[int, ...] = (2, 2)):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if not strides or any(not isinstance(s, int) or s < 1 for s in strides):
            raise ValueError(f"strides must be a non-empty tuple of positive ints, got {strides!r}")
        self.n_mels, self.d_model, self.kernel_size, self.strides = (
            n_mels,
            d_model,
            kernel_size,
            tuple(strides),
        )
        widths = [n_mels] + [d_model] * len(strides)
        self.convs = nn.ModuleList(
            nn.Conv1d(w_in, w_out, kernel_size, stride=s, padding=kernel_size // 2)
            for w_in, w_out, s in zip(widths[:-1], widths[1:], strides)
        )

    def output_lengths(self, lengths: Tensor | int) -> Tensor | int:
        """The number of output frames for inputs of ``lengths`` frames."""
        for s in self.strides:
            lengths = conv_output_length(lengths, self.kernel_size, s, self.kernel_size // 2)
        return lengths

    def forward(
        self, x: Float[Tensor, "batch frames n_mels"], lengths: Int[Tensor, " batch"] | None = None
    ) -> Float[Tensor, "batch frames_out d_model"]:
        """``(batch, frames, n_mels) -> (batch, output_lengths(frames), d_model)``.

        With ``lengths``, every convolution's input is set to zero past the real frames, as the
        convolution's own zero padding would be: a padded sequence then gives, at its real positions,
        exactly what it gives alone.
        """
        h = rearrange(x, "b t f -> b f t")  # Conv1d wants channels before time
        for conv, stride in zip(self.convs, self.strides):
            if lengths is not None:
                h = h * padding_mask(lengths, h.shape[-1])[:, None, :].to(h.dtype)
                lengths = conv_output_length(lengths, self.kernel_size, stride, self.kernel_size // 2)
            h = F.gelu(conv(h))
        return rearrange(h, "b d t -> b t d")


class SpeechTransformer(nn.Module):
    """Conv front-end, sinusoidal positions, pre-norm encoder layers, final LayerNorm, linear head.

    Args:
        n_mels: features per input frame.
        n_classes: outputs of the head (words for ``forward``, CTC labels + blank for ``frame_logits``).
        d_model, num_heads, num_layers, d_ff, dropout: of the encoder layers.
        strides: of the front-end (:class:`ConvFrontEnd`); the sequence is shortened by their product.
        max_len: longest sequence after the front-end.
        window: ``None`` (every position attends to the whole utterance) or ``w``: position ``i`` may
            attend only to positions ``j`` with ``|i - j| <= w`` (local attention, for the experiment
            that asks whether the whole-utterance view matters).
    """

    def __init__(
        self,
        n_mels: int,
        n_classes: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        d_ff: int = 128,
        dropout: float = 0.1,
        strides: tuple[int, ...] = (2, 2),
        max_len: int = 1024,
        window: int | None = None,
    ):
        super().__init__()
        if window is not None and (not isinstance(window, int) or window < 0):
            raise ValueError(f"window must be None or a non-negative int, got {window!r}")
        self.n_mels, self.window = n_mels, window
        self.front = ConvFrontEnd(n_mels, d_model, strides=strides)
        self.positions = SinusoidalPositions(d_model, max_len=max_len, dropout=dropout)
        self.layers = nn.ModuleList(
            encoder_layer(d_model, num_heads, d_ff, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    @entry_point(_check_input)
    def encode(
        self,
        x: Float[Tensor, "batch frames n_mels"],
        lengths: Int[Tensor, " batch"] | None = None,
        need_weights: bool = False,
    ) -> tuple[Float[Tensor, "batch seq d_model"], Int[Tensor, " batch"], list[Tensor]]:
        """The encoder's output ``(batch, seq, d_model)`` (after the final LayerNorm), its lengths
        ``(batch,)``, and with ``need_weights`` the attention weights of every layer,
        ``(batch, heads, seq, seq)`` each (an empty list otherwise)."""
        lengths = _check_features(x, lengths, self.n_mels)
        h = self.positions(self.front(x, lengths))
        out_lengths = self.front.output_lengths(lengths)
        mask = rearrange(padding_mask(out_lengths, h.shape[1]), "b k -> b 1 1 k")
        if self.window is not None:
            pos = torch.arange(h.shape[1], device=h.device)
            mask = mask & ((pos[:, None] - pos[None, :]).abs() <= self.window)  # (batch, 1, seq, seq)
        weights = []
        for layer in self.layers:
            if need_weights:  # the same attention the layer computes (pre-norm: on norm1 of its input)
                n = layer.norm1(h)
                weights.append(layer.self_attn(n, n, n, mask=mask, need_weights=True)[1])
            h = layer(h, mask)
        return self.norm(h), out_lengths, weights

    @entry_point(_check_input)
    def forward(
        self, x: Float[Tensor, "batch frames n_mels"], lengths: Int[Tensor, " batch"] | None = None
    ) -> Float[Tensor, "batch n_classes"]:
        """One distribution per utterance: the mean of the encoder's outputs over the real positions, then
        the head."""
        h, out_lengths, _ = self.encode(x, lengths)
        return self.head(masked_mean(h, out_lengths))

    @entry_point(_check_input)
    def frame_logits(
        self, x: Float[Tensor, "batch frames n_mels"], lengths: Int[Tensor, " batch"] | None = None
    ) -> tuple[Float[Tensor, "batch seq n_classes"], Int[Tensor, " batch"]]:
        """One distribution per position after the front-end (for CTC), and the lengths ``(batch,)``."""
        h, out_lengths, _ = self.encode(x, lengths)
        return self.head(h), out_lengths


class SpeechCNN(nn.Module):
    """The baseline: the same front-end, ``extra_layers`` more convolutions (stride 1, GELU, residual),
    the mean over the real positions and a linear head. Each output position sees a window of
    ``receptive_field`` input frames, not the whole utterance."""

    def __init__(
        self,
        n_mels: int,
        n_classes: int,
        d_model: int = 64,
        extra_layers: int = 2,
        kernel_size: int = 3,
        strides: tuple[int, ...] = (2, 2),
        dropout: float = 0.1,
    ):
        super().__init__()
        self.n_mels = n_mels
        self.front = ConvFrontEnd(n_mels, d_model, kernel_size, strides)
        self.convs = nn.ModuleList(
            nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2) for _ in range(extra_layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    @property
    def receptive_field(self) -> int:
        """How many input frames one output position depends on."""
        field, jump = 1, 1
        for s in self.front.strides:
            field, jump = field + (self.front.kernel_size - 1) * jump, jump * s
        for conv in self.convs:
            field += (conv.kernel_size[0] - 1) * jump
        return field

    @entry_point(_check_input)
    def forward(
        self, x: Float[Tensor, "batch frames n_mels"], lengths: Int[Tensor, " batch"] | None = None
    ) -> Float[Tensor, "batch n_classes"]:
        """``(batch, frames, n_mels) -> (batch, n_classes)``."""
        lengths = _check_features(x, lengths, self.n_mels)
        h = self.front(x, lengths)
        out_lengths = self.front.output_lengths(lengths)
        keep = padding_mask(out_lengths, h.shape[1])[:, None, :].to(h.dtype)  # zero the padding between convs
        h = rearrange(h, "b t d -> b d t") * keep
        for conv in self.convs:
            h = (h + self.dropout(F.gelu(conv(h)))) * keep
        return self.head(masked_mean(self.norm(rearrange(h, "b d t -> b t d")), out_lengths))


def _check_ctc(log_probs: object, lengths: object = None, blank: object = 0) -> None:
    if not isinstance(log_probs, Tensor) or log_probs.ndim not in (2, 3):
        what = (
            f"shape {tuple(log_probs.shape)}" if isinstance(log_probs, Tensor) else type(log_probs).__name__
        )
        raise ValueError(
            f"log_probs must be a tensor (seq, n_classes) or (batch, seq, n_classes), got {what}"
        )
    if not 0 <= blank < log_probs.shape[-1]:
        raise ValueError(f"blank={blank} is not a label of log_probs with {log_probs.shape[-1]} classes")


@entry_point(_check_ctc)
def ctc_greedy_decode(
    log_probs: Float[Tensor, "*batch seq n_classes"],
    lengths: Int[Tensor, " batch"] | None = None,
    blank: int = 0,
) -> list[int] | list[list[int]]:
    """Best-path CTC decoding: the most likely label at every position, consecutive repeats collapsed,
    then the blanks removed (``_ 7 7 _ _ 7 3 3`` -> ``7 7 3``).

    ``log_probs`` (or logits): ``(seq, n_classes)`` -> a list of labels, or ``(batch, seq, n_classes)`` with
    optional ``lengths (batch,)`` -> one list per sequence (positions past its length ignored).
    """
    if log_probs.ndim == 3:
        if lengths is None:
            lengths = torch.full((log_probs.shape[0],), log_probs.shape[1])
        return [ctc_greedy_decode(lp[: int(n)], blank=blank) for lp, n in zip(log_probs, lengths)]
    best = log_probs.argmax(dim=-1).tolist()
    return [x for i, x in enumerate(best) if x != blank and (i == 0 or x != best[i - 1])]


def edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def label_error_rate(hypotheses: list[list[int]], references: list[list[int]]) -> float:
    """Total edit distance over total reference length (the "word error rate" of speech recognition,
    here over digits): 0 is perfect; it can exceed 1 when the hypotheses are long."""
    if len(hypotheses) != len(references):
        raise ValueError(
            f"got {len(hypotheses)} hypotheses but {len(references)} references: they must pair up"
        )
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("the references are all empty: the error rate is undefined")
    return sum(edit_distance(h, r) for h, r in zip(hypotheses, references)) / total
