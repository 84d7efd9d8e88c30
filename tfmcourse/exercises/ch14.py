"""Checkers for the exercises of chapter 14 (speech).

- :func:`mel_filterbank`: the triangular mel filters, ``(n_freqs, n_mels)``;
- :func:`log_mel`: a whole feature pipeline, waveform -> STFT power -> mel -> decibels;
- :func:`conv_stack_length`: how many frames a stack of 1-D convolutions leaves;
- :func:`ctc_greedy_decode`: best path, repeats collapsed, blanks removed.

Each checker computes its references first, runs the learner's function with the package's own answer
forbidden, and when the answer is wrong recognises the common mistakes (mel points spaced in Hz,
magnitude instead of power, ceil instead of floor, blanks removed before collapsing, ...)::

    from tfmcourse.exercises import ch14 as check
    check.mel_filterbank(mel_filterbank)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

__all__ = ["mel_filterbank", "log_mel", "conv_stack_length", "ctc_greedy_decode"]

# ---------------------------------------------------------------------------------------- hints

HINT_FB_TRANSPOSED = (
    "The filterbank is transposed: return (n_freqs, n_mels), one column per filter, so that "
    "power (frames, n_freqs) @ fbank gives (frames, n_mels)."
)
HINT_FB_LINEAR = (
    "The filters are spaced evenly in Hz: space the n_mels + 2 edge points evenly in mels, "
    "between hz_to_mel(f_min) and hz_to_mel(f_max), then convert them back to Hz."
)
HINT_FB_POINTS = (
    "Filter m needs three points, its lower edge, centre and upper edge: space n_mels + 2 points in mels "
    "(filter m uses points m, m + 1, m + 2), not n_mels."
)
HINT_FB_LN = (
    "The mel formula and its inverse do not match: 2595 * log10(1 + f / 700) goes with "
    "700 * (10 ** (m / 2595) - 1). (A natural log needs the constant 1127 and exp.)"
)
HINT_FB_BINS = (
    "The bin frequencies are wrong: bin k of an n_fft-point spectrum is at k * sample_rate / n_fft Hz, "
    "so the n_freqs = n_fft // 2 + 1 bins run from 0 to sample_rate / 2: torch.linspace(0, sample_rate / "
    "2, n_freqs)."
)
HINT_FB_MEL_SPACE = (
    "Your triangles are straight lines in mels; these filters are triangles in Hz: rising "
    "(f - lower) / (centre - lower) and falling (upper - f) / (upper - centre), with f, lower, centre, "
    "upper in Hz."
)
HINT_FB_NORM = (
    "The filters are area-normalised (Slaney's norm, 2 / (upper - lower)): this exercise asks for "
    "triangles that peak at 1."
)
HINT_FB_SLANEY = "You used Slaney's mel scale; this exercise uses HTK's, mel = 2595 * log10(1 + f / 700)."
HINT_FB_CLAMP = (
    "Some values are negative: outside its triangle a filter is 0, so take the minimum of the rising and "
    "falling slopes and clamp it at 0."
)
HINT_FB_RANGE = "f_min and f_max are ignored: the edge points run from hz_to_mel(f_min) to hz_to_mel(f_max)."

HINT_LM_MAGNITUDE = (
    "You used the magnitude |X| of the STFT: the mel filters weigh the power |X|^2 (torch.stft(...).abs() "
    "** 2)."
)
HINT_LM_20LOG = "Decibels of a power are 10 * log10(power); 20 * log10 is for amplitudes."
HINT_LM_LN = "Use log10 for decibels: 10 * torch.log10(...), not the natural log."
HINT_LM_NO_WINDOW = (
    "No window: pass window=torch.hann_window(n_fft) to torch.stft (periodic Hann), otherwise every "
    "frame is cut with a rectangle and its spectrum leaks."
)
HINT_LM_SYM_WINDOW = "Use the periodic Hann window, torch.hann_window(n_fft) (periodic=True, the default)."
HINT_LM_NO_CENTER = (
    "The frames are not centred: torch.stft(..., center=True) (the default) pads n_fft // 2 samples on "
    "each side, giving 1 + samples // hop_length frames."
)
HINT_LM_TRANSPOSED = (
    "Put time first: the result is (..., frames, n_mels); torch.stft returns (..., n_freqs, frames), so "
    "transpose the last two axes before multiplying by the filterbank."
)
HINT_LM_FLOOR = (
    "Silent frames give log10(0) = -inf: clamp the mel energies at 1e-10 before the log, "
    "(power @ fbank).clamp(min=1e-10)."
)
HINT_LM_LOG_FIRST = "Take the log after the filterbank: 10 * log10(power @ fbank), not log10(power) @ fbank."
HINT_LM_HOP = "The frames should be hop_length samples apart: torch.stft(..., hop_length=hop_length)."

HINT_CL_CEIL = "Round down: a convolution fits floor((L + 2p - k) / s) + 1 windows, not the ceiling."
HINT_CL_PLUS_ONE = "Count the first window too: (L + 2p - k) // s + 1."
HINT_CL_PADDING = "Padding adds p frames on each side: (L + 2 * p - k) // s + 1."
HINT_CL_PADDING_ONCE = "Padding is added on both sides: 2 * p, (L + 2 * p - k) // s + 1."
HINT_CL_DIVIDE = (
    "Dividing by the product of the strides is only approximately right: apply (L + 2p - k) // s + 1 "
    "layer after layer, with each layer's own kernel, stride and padding."
)
HINT_CL_FLOAT = "Return an int: use integer division //, not /."
HINT_CL_FIRST = "Apply every layer in turn, each to the length the previous one left, not only the first."

HINT_CTC_NO_COLLAPSE = (
    "Repeats are not collapsed: 7 7 7 on consecutive frames is one 7 (keep a label only when it differs "
    "from the previous frame's)."
)
HINT_CTC_KEEP_BLANK = "The blanks are still there: after collapsing the repeats, drop the blank label."
HINT_CTC_BLANK_FIRST = (
    "You removed the blanks before collapsing: then 7 _ 7 becomes 7 7 -> 7, but the blank between them "
    "means two sevens. Collapse repeats on the frame sequence first, then drop the blanks."
)
HINT_CTC_UNIQUE = "You removed every repeated label, not only consecutive repeats: 7 _ 7 is two sevens."
HINT_CTC_AXIS = "Take the argmax over the labels (the last axis), one label per frame."
HINT_CTC_BLANK_ARG = "Use the blank argument: the blank label is not always 0."
HINT_CTC_TYPE = "Return a list of Python ints, e.g. [3, 1, 4]."


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _available(*paths: str) -> tuple[str, ...]:
    """The dotted names among ``paths`` whose module imports here (optional libraries may be missing)."""
    import importlib

    found = []
    for p in paths:
        module, _, attr = p.rpartition(".")
        try:
            if hasattr(importlib.import_module(module), attr):
                found.append(p)
        except Exception:  # noqa: BLE001 - not installed, or broken: nothing to forbid
            pass
    return tuple(found)


def _hz_to_mel(f: Tensor, scale: str = "htk") -> Tensor:
    from tfmcourse.audio import hz_to_mel

    return hz_to_mel(f, scale)


def _fb_variant(
    n_freqs: int, n_mels: int, sr: float, f_min: float, f_max: float, mistake: str = ""
) -> Tensor:
    """The HTK mel filterbank ``(n_freqs, n_mels)`` (float64), written with one plausible ``mistake``."""
    from tfmcourse.audio import mel_to_hz

    scale = "slaney" if mistake == "slaney" else "htk"
    if mistake == "range":
        f_min, f_max = 0.0, sr / 2
    freqs = (
        torch.arange(n_freqs, dtype=torch.float64) * sr / n_freqs
        if mistake == "bins"
        else torch.linspace(0, sr / 2, n_freqs, dtype=torch.float64)
    )
    n_points = n_mels if mistake == "points" else n_mels + 2
    if mistake == "points":
        n_mels = n_points - 2
    lo, hi = (
        _hz_to_mel(torch.tensor(f_min, dtype=torch.float64), scale),
        _hz_to_mel(torch.tensor(f_max, dtype=torch.float64), scale),
    )
    if mistake == "linear":
        points = torch.linspace(f_min, f_max, n_points, dtype=torch.float64)
    elif mistake == "ln":
        m = torch.linspace(
            float(2595 * math.log(1 + f_min / 700)),
            float(2595 * math.log(1 + f_max / 700)),
            n_points,
            dtype=torch.float64,
        )
        points = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        points = mel_to_hz(torch.linspace(float(lo), float(hi), n_points, dtype=torch.float64), scale)
    lower, centre, upper = points[:-2], points[1:-1], points[2:]
    if mistake == "mel_space":
        fm = _hz_to_mel(freqs)[:, None]
        ml, mc, mu = _hz_to_mel(lower), _hz_to_mel(centre), _hz_to_mel(upper)
        fb = torch.minimum((fm - ml) / (mc - ml), (mu - fm) / (mu - mc))
    else:
        f = freqs[:, None]
        fb = torch.minimum((f - lower) / (centre - lower), (upper - f) / (upper - centre))
    if mistake != "no_clamp":
        fb = fb.clamp(min=0.0)
    if mistake == "norm":
        fb = fb * (2.0 / (upper - lower))
    if mistake == "transposed":
        fb = fb.T
    return fb


_FB_MISTAKES = {
    "transposed": HINT_FB_TRANSPOSED,
    "linear": HINT_FB_LINEAR,
    "points": HINT_FB_POINTS,
    "ln": HINT_FB_LN,
    "bins": HINT_FB_BINS,
    "mel_space": HINT_FB_MEL_SPACE,
    "norm": HINT_FB_NORM,
    "slaney": HINT_FB_SLANEY,
    "no_clamp": HINT_FB_CLAMP,
    "range": HINT_FB_RANGE,
}


def _lm_variant(wave: Tensor, fbank: Tensor, n_fft: int, hop: int, mistake: str = "") -> Tensor:
    """Log-mel in dB, ``(..., frames, n_mels)``, written with one plausible ``mistake``."""
    if mistake == "no_window":
        window = torch.ones(n_fft, dtype=wave.dtype)
    else:
        window = torch.hann_window(n_fft, periodic=mistake != "sym_window", dtype=wave.dtype)
    spec = torch.stft(
        wave,
        n_fft,
        hop_length=n_fft // 4 if mistake == "hop" else hop,
        window=window,
        center=mistake != "no_center",
        pad_mode="reflect",
        return_complex=True,
    ).abs()
    power = spec if mistake == "magnitude" else spec**2
    power = power.transpose(-1, -2)  # (..., frames, n_freqs)
    if mistake == "log_first":
        return 10.0 * torch.log10(power.clamp(min=1e-10)) @ fbank
    mel = power @ fbank
    if mistake != "no_floor":
        mel = mel.clamp(min=1e-10)
    log = {"ln": torch.log, "20log": lambda z: 2 * torch.log10(z)}.get(mistake, torch.log10)
    out = 10.0 * log(mel)
    return out.transpose(-1, -2) if mistake == "transposed" else out


_LM_MISTAKES = {
    "transposed": HINT_LM_TRANSPOSED,
    "no_center": HINT_LM_NO_CENTER,
    "magnitude": HINT_LM_MAGNITUDE,
    "20log": HINT_LM_20LOG,
    "ln": HINT_LM_LN,
    "no_window": HINT_LM_NO_WINDOW,
    "sym_window": HINT_LM_SYM_WINDOW,
    "log_first": HINT_LM_LOG_FIRST,
    "hop": HINT_LM_HOP,
    "no_floor": HINT_LM_FLOOR,
}


# -------------------------------------------------------------------------------- checkers


@checker
def mel_filterbank(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(n_freqs, n_mels, sample_rate, f_min, f_max) -> (n_freqs, n_mels)``: triangular filters
    on the HTK mel scale, peaking at 1, as :func:`tfmcourse.audio.mel_filterbank` with ``norm=None``."""
    cases = [(257, 40, 22050, 0.0, 8000.0), (201, 80, 16000, 0.0, 8000.0), (129, 12, 8000, 300.0, 3400.0)]
    wants = [_fb_variant(*c) for c in cases]
    forbid = ("tfmcourse.audio.mel_filterbank",) + _available(
        "transformers.audio_utils.mel_filter_bank",
        "torchaudio.functional.melscale_fbanks",
        "librosa.filters.mel",
    )
    for case, want in zip(cases, wants):
        n_freqs, n_mels, sr, f_min, f_max = case
        what = (
            f"mel_filterbank(n_freqs={n_freqs}, n_mels={n_mels}, sample_rate={sr}, "
            f"f_min={f_min}, f_max={f_max})"
        )
        with forbidden(fn, *forbid):
            got = run(fn, n_freqs, n_mels, sr, f_min, f_max)
        if isinstance(got, Tensor) and got.is_floating_point() and is_close(got.double(), want, atol=1e-6):
            continue
        got_d = got.double() if isinstance(got, Tensor) and got.is_floating_point() else got
        hint = _diagnose(got_d, _FB_MISTAKES, lambda m: _fb_variant(*case, mistake=m))
        if not hint and isinstance(got_d, Tensor) and got_d.shape == want.shape and (got_d < -1e-9).any():
            hint = HINT_FB_CLAMP
        _fail(
            got_d,
            want,
            what,
            hint
            or "Space n_mels + 2 points evenly in mels from f_min to f_max, convert "
            "them to Hz, and build filter m as the triangle over points m, m + 1, m + 2.",
        )
    passed("mel_filterbank", f"{len(cases)} cases, 12 to 80 filters")


@checker
def log_mel(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(wave, fbank, n_fft, hop_length) -> (..., frames, n_mels)``:
    ``10 log10(max(|STFT|^2 @ fbank, 1e-10))``, periodic Hann window, ``center=True``."""
    from tfmcourse.audio import mel_filterbank as reference_fbank

    g = _gen(1414)
    t = torch.arange(4000, dtype=torch.float64) / 8000
    chirp = torch.sin(2 * math.pi * (200 + 1500 * t) * t) + 0.05 * torch.randn(
        4000, generator=g, dtype=torch.float64
    )
    with_silence = chirp.clone()
    with_silence[1200:2400] = 0.0  # long enough that some frames see only zeros
    cases = [
        ("a chirp (samples,)", chirp, 256, 64, 8000, 20),
        ("a batch (2, samples) with a silent stretch", torch.stack([chirp, with_silence]), 256, 80, 8000, 24),
        (
            "one second of noise at 16 kHz",
            0.1 * torch.randn(16000, generator=g, dtype=torch.float64),
            400,
            160,
            16000,
            40,
        ),
    ]
    prepared = []
    for name, wave, n_fft, hop, sr, n_mels in cases:
        fbank = reference_fbank(n_fft // 2 + 1, n_mels, sr, dtype=torch.float64)
        prepared.append((name, wave, fbank, n_fft, hop, _lm_variant(wave, fbank, n_fft, hop)))
    forbid = ("tfmcourse.audio.log_mel", "tfmcourse.audio.power_spectrogram") + _available(
        "transformers.audio_utils.spectrogram",
        "torchaudio.transforms.MelSpectrogram",
        "librosa.feature.melspectrogram",
    )
    for name, wave, fbank, n_fft, hop, want in prepared:
        what = f"log_mel on {name} (n_fft={n_fft}, hop_length={hop})"
        with forbidden(fn, *forbid):
            got = run(fn, wave, fbank, n_fft, hop)
        if isinstance(got, Tensor) and got.is_floating_point() and is_close(got.double(), want, atol=1e-4):
            continue
        got_d = got.double() if isinstance(got, Tensor) and got.is_floating_point() else got
        if isinstance(got_d, Tensor) and got_d.shape == want.shape and torch.isinf(got_d).any():
            raise ExerciseError(f"{what} contains -inf. {HINT_LM_FLOOR}")
        hint = _diagnose(got_d, _LM_MISTAKES, lambda m: _lm_variant(wave, fbank, n_fft, hop, m))
        _fail(
            got_d,
            want,
            what,
            hint
            or "power = torch.stft(wave, n_fft, hop_length, window=torch.hann_window(n_fft), "
            "return_complex=True).abs() ** 2, transposed to (..., frames, n_freqs); then "
            "10 * log10((power @ fbank).clamp(min=1e-10)).",
        )
    passed("log_mel", f"{len(cases)} cases, batched and silent input included")


def _cl_variant(length: int, layers: list[tuple[int, int, int]], mistake: str = "") -> Any:
    if mistake == "divide":
        prod = math.prod(s for _, s, _ in layers)
        return length // prod
    if mistake == "first":
        layers = layers[:1]
    for k, s, p in layers:
        pad = {"padding": 0, "padding_once": p}.get(mistake, 2 * p)
        if mistake == "ceil":
            length = -(-(length + pad - k) // s) + 1
        elif mistake == "float":
            length = (length + pad - k) / s + 1
        elif mistake == "plus_one":
            length = (length + pad - k) // s
        else:
            length = (length + pad - k) // s + 1
    return length


_CL_MISTAKES = {
    "float": HINT_CL_FLOAT,
    "ceil": HINT_CL_CEIL,
    "plus_one": HINT_CL_PLUS_ONE,
    "padding": HINT_CL_PADDING,
    "padding_once": HINT_CL_PADDING_ONCE,
    "divide": HINT_CL_DIVIDE,
    "first": HINT_CL_FIRST,
}


@checker
def conv_stack_length(fn: Callable[[int, list[tuple[int, int, int]]], int]) -> None:
    """Check ``fn(length, layers) -> int``: the frames left after 1-D convolutions ``layers``, a list of
    ``(kernel_size, stride, padding)``, applied in order (compared with ``torch.nn.Conv1d`` itself)."""
    stacks = [
        [(3, 2, 1), (3, 2, 1)],
        [(3, 1, 1), (3, 2, 1)],
        [(5, 3, 0)],
        [(3, 2, 1), (5, 2, 2), (3, 3, 0)],
        [(4, 2, 1), (3, 2, 0)],
    ]
    lengths = [100, 101, 57, 8, 3, 250, 37]
    cases = []
    for layers in stacks:
        for n in lengths:
            x = torch.zeros(1, 1, n)
            ok = True
            for k, s, p in layers:
                if x.shape[-1] + 2 * p < k:
                    ok = False
                    break
                x = torch.nn.functional.conv1d(x, torch.zeros(1, 1, k), stride=s, padding=p)
            if ok:
                cases.append((n, layers, x.shape[-1]))
    forbid = ("tfmcourse.models.speech.conv_output_length",)
    got_all = []
    for n, layers, _ in cases:  # run every case first: a mistake is named by what it gives on all of them
        with forbidden(fn, *forbid):
            got = run(fn, n, [tuple(layer) for layer in layers])
        if isinstance(got, Tensor) and got.numel() == 1 and not got.is_floating_point():
            got = int(got)
        got_all.append(got)

    def exact(value: Any) -> bool:  # an int, not a bool or a float
        return isinstance(value, int) and not isinstance(value, bool)

    for (n, layers, want), got in zip(cases, got_all):
        what = f"conv_stack_length({n}, {layers})"
        if exact(got) and got == want:
            continue
        if isinstance(got, float) and got.is_integer() and int(got) == want:
            raise ExerciseError(f"{what} returned the float {got!r}. {HINT_CL_FLOAT}")
        everywhere = [
            h
            for m, h in _CL_MISTAKES.items()
            if all(_cl_variant(c[0], c[1], m) == g for c, g in zip(cases, got_all))
        ]
        here = [
            h
            for m, h in _CL_MISTAKES.items()
            if m != "float" and exact(got) and _cl_variant(n, layers, m) == got
        ]
        hint = (everywhere or here or [HINT_CL_FLOAT if isinstance(got, float) else ""])[0]
        raise ExerciseError(
            f"{what} returned {got!r}, but torch.nn.Conv1d leaves {want} frames. "
            f"{hint or 'Apply (L + 2 * padding - kernel_size) // stride + 1 for each layer in turn.'}"
        )
    passed("conv_stack_length", f"{len(cases)} cases, checked against torch.nn.Conv1d")


def _ctc_variant(log_probs: Tensor, blank: int, mistake: str = "") -> list[int]:
    best = (log_probs.argmax(dim=0) if mistake == "axis" else log_probs.argmax(dim=-1)).tolist()
    b = 0 if mistake == "blank_zero" else blank
    if mistake == "blank_first":
        best = [x for x in best if x != b]
    if mistake in ("no_collapse", "unique"):
        collapsed = best
    else:
        collapsed = [x for i, x in enumerate(best) if i == 0 or x != best[i - 1]]
    if mistake == "unique":
        seen: list[int] = []
        for x in collapsed:
            if x not in seen:
                seen.append(x)
        collapsed = seen
    if mistake == "keep_blank":
        return collapsed
    return [x for x in collapsed if x != b]


_CTC_MISTAKES = {
    "blank_first": HINT_CTC_BLANK_FIRST,
    "no_collapse": HINT_CTC_NO_COLLAPSE,
    "keep_blank": HINT_CTC_KEEP_BLANK,
    "unique": HINT_CTC_UNIQUE,
    "blank_zero": HINT_CTC_BLANK_ARG,
    "axis": HINT_CTC_AXIS,
}


def _peaky(labels: list[int], n_classes: int, g: torch.Generator) -> Tensor:
    """Log-probabilities ``(frames, n_classes)`` whose best path is ``labels`` (noisy, log-softmaxed)."""
    logits = torch.randn(len(labels), n_classes, generator=g, dtype=torch.float64)
    logits[torch.arange(len(labels)), torch.tensor(labels)] += 6.0
    return torch.log_softmax(logits, dim=-1)


@checker
def ctc_greedy_decode(fn: Callable[[Tensor, int], list[int]]) -> None:
    """Check ``fn(log_probs, blank) -> list[int]``: the labels of the best path of ``log_probs``
    ``(frames, n_classes)``, consecutive repeats collapsed, then blanks removed."""
    g = _gen(1415)
    paths = [
        ([0, 3, 3, 0, 0, 5, 5, 5, 0, 2, 0], 0, 11),
        ([0, 7, 7, 0, 7, 0, 0, 1, 1, 1, 0], 0, 11),  # 7 _ 7: two sevens
        ([10, 4, 10, 4, 4, 10, 10, 9, 9, 10], 10, 11),  # the blank is the last label
        ([2, 2, 1, 1, 3, 0, 3, 3, 11, 1], 11, 12),
        ([0, 0, 0, 0], 0, 5),  # nothing said
    ]
    cases = [(_peaky(p, n, g), blank) for p, blank, n in paths]
    wants = [_ctc_variant(lp, blank) for lp, blank in cases]
    forbid = ("tfmcourse.models.speech.ctc_greedy_decode",)
    got_all = []
    for log_probs, blank in cases:  # run every case first: a mistake is named by what it gives on all of them
        with forbidden(fn, *forbid):
            got = run(fn, log_probs, blank)
        if isinstance(got, Tensor):
            got = got.tolist()
        if isinstance(got, tuple):
            got = list(got)
        got_all.append(got)
    for (log_probs, blank), want, got in zip(cases, wants, got_all):
        what = f"ctc_greedy_decode on a ({log_probs.shape[0]}, {log_probs.shape[1]}) input with blank={blank}"
        if not isinstance(got, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in got):
            raise ExerciseError(f"{what} returned {got!r}. {HINT_CTC_TYPE}")
        if got == want:
            continue
        everywhere = [
            h
            for m, h in _CTC_MISTAKES.items()
            if all(_safe(lambda m=m, c=c: _ctc_variant(c[0], c[1], m)) == g for c, g in zip(cases, got_all))
        ]
        here = [
            h for m, h in _CTC_MISTAKES.items() if _safe(lambda m=m: _ctc_variant(log_probs, blank, m)) == got
        ]
        hint = (everywhere or here or [""])[0]
        raise ExerciseError(
            f"{what} returned {got}, expected {want}. "
            + (
                hint
                or "Take the argmax per frame, keep a label when it differs from the previous frame, then "
                "drop the blanks."
            )
        )
    passed("ctc_greedy_decode", f"{len(cases)} cases, repeated digits and a blank that is not 0")


def _safe(f: Callable[[], Any]) -> Any:
    try:
        return f()
    except (RuntimeError, ValueError, IndexError):
        return None
