"""Tests of the chapter 14 exercise checkers: the reference passes, the stub and the mutants fail with the
hint that names their mistake, the package's own answer is refused, and the random state is kept."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse import audio
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch14 as check
from tfmcourse.models import speech as models

# ----------------------------------------------------------------------------- references


def ref_mel_filterbank(n_freqs, n_mels, sample_rate, f_min, f_max):
    def to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    freqs = torch.linspace(0, sample_rate / 2, n_freqs, dtype=torch.float64)[:, None]
    mels = torch.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2, dtype=torch.float64)
    points = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    lower, centre, upper = points[:-2], points[1:-1], points[2:]
    return torch.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)).clamp(
        min=0.0
    )


def ref_log_mel(wave, fbank, n_fft, hop_length):
    window = torch.hann_window(n_fft, dtype=wave.dtype)
    spec = torch.stft(wave, n_fft, hop_length=hop_length, window=window, center=True, return_complex=True)
    power = spec.abs().pow(2).transpose(-1, -2)
    return 10 * torch.log10((power @ fbank).clamp(min=1e-10))


def ref_conv_stack_length(length, layers):
    for k, s, p in layers:
        length = (length + 2 * p - k) // s + 1
    return length


def ref_ctc_greedy_decode(log_probs, blank):
    best = log_probs.argmax(dim=-1).tolist()
    collapsed = [x for i, x in enumerate(best) if i == 0 or x != best[i - 1]]
    return [x for x in collapsed if x != blank]


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.mel_filterbank, ref_mel_filterbank),
    (check.log_mel, ref_log_mel),
    (check.conv_stack_length, ref_conv_stack_length),
    (check.ctc_greedy_decode, ref_ctc_greedy_decode),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_checkers_keep_the_random_state(checker, fn):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checker(fn)
    assert torch.equal(torch.rand(3), expected)


def test_other_correct_solutions_pass(capsys):
    """Written another way: float32 filters, a batched log-mel through a loop, math.floor, numpy-free
    loops."""

    def fb32(n_freqs, n_mels, sr, f_min, f_max):
        return ref_mel_filterbank(n_freqs, n_mels, sr, f_min, f_max).float()

    def lm_loop(wave, fbank, n_fft, hop):
        if wave.ndim == 2:
            return torch.stack([lm_loop(w, fbank, n_fft, hop) for w in wave])
        return ref_log_mel(wave, fbank, n_fft, hop)

    def cl_floor(length, layers):
        for k, s, p in layers:
            length = math.floor((length + 2 * p - k) / s) + 1
        return length

    def ctc_loop(log_probs, blank):
        out, prev = [], None
        for label in log_probs.argmax(-1).tolist():
            if label != prev and label != blank:
                out.append(label)
            prev = label
        return out

    check.mel_filterbank(fb32)
    check.log_mel(lm_loop)
    check.conv_stack_length(cl_floor)
    check.ctc_greedy_decode(ctc_loop)
    assert capsys.readouterr().out.count("✔") == 4


# ------------------------------------------------------------------------------------ mutants


def _fb(mistake):
    return lambda n_freqs, n_mels, sr, f_min, f_max: check._fb_variant(
        n_freqs, n_mels, sr, f_min, f_max, mistake
    )


def fb_linear(n_freqs, n_mels, sr, f_min, f_max):
    freqs = torch.linspace(0, sr / 2, n_freqs, dtype=torch.float64)[:, None]
    points = torch.linspace(f_min, f_max, n_mels + 2, dtype=torch.float64)  # evenly in Hz
    lower, centre, upper = points[:-2], points[1:-1], points[2:]
    return torch.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)).clamp(
        min=0.0
    )


FB_MUTANTS = {
    "transposed": (lambda *a: ref_mel_filterbank(*a).T, "transposed"),
    "evenly_in_hz": (fb_linear, "evenly in Hz"),
    "n_mels_points": (_fb("points"), r"n_mels \+ 2 points"),
    "ln_forward_log10_back": (_fb("ln"), "do not match"),
    "bins_k_sr_over_n": (_fb("bins"), "bin frequencies"),
    "triangles_in_mel_space": (_fb("mel_space"), "straight lines in mels"),
    "area_normalised": (_fb("norm"), "area-normalised"),
    "slaney_scale": (_fb("slaney"), "Slaney's mel scale"),
    "no_clamp": (_fb("no_clamp"), "negative"),
    "ignores_f_min_f_max": (_fb("range"), "f_min and f_max are ignored"),
    "package": (
        lambda n, m, sr, lo, hi: audio.mel_filterbank(n, m, sr, lo, hi, dtype=torch.float64),
        "Write it yourself",
    ),
}


@pytest.mark.parametrize("name", FB_MUTANTS)
def test_mel_filterbank_mutants(name):
    fn, hint = FB_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.mel_filterbank(fn)


def test_mel_filterbank_refuses_transformers_too():
    audio_utils = pytest.importorskip("transformers.audio_utils")

    def via_hf(n_freqs, n_mels, sr, f_min, f_max):
        return torch.from_numpy(audio_utils.mel_filter_bank(n_freqs, n_mels, f_min, f_max, sr))

    with pytest.raises(
        ExerciseError, match="Write it yourself, without transformers.audio_utils.mel_filter_bank"
    ):
        check.mel_filterbank(via_hf)


def _lm(mistake):
    return lambda wave, fbank, n_fft, hop: check._lm_variant(wave, fbank, n_fft, hop, mistake)


def lm_no_floor(wave, fbank, n_fft, hop):
    window = torch.hann_window(n_fft, dtype=wave.dtype)
    power = torch.stft(wave, n_fft, hop, window=window, return_complex=True).abs().pow(2).transpose(-1, -2)
    return 10 * torch.log10(power @ fbank)


LM_MUTANTS = {
    "magnitude": (_lm("magnitude"), "magnitude"),
    "20_log10": (_lm("20log"), "20 \\* log10"),
    "natural_log": (_lm("ln"), "log10 for decibels"),
    "no_window": (_lm("no_window"), "No window"),
    "symmetric_window": (_lm("sym_window"), "periodic Hann"),
    "not_centred": (_lm("no_center"), "not centred"),
    "frequency_first": (_lm("transposed"), "time first"),
    "no_floor": (lm_no_floor, "-inf"),
    "log_before_filterbank": (_lm("log_first"), "after the filterbank"),
    "wrong_hop": (_lm("hop"), "hop_length samples apart"),
    "package": (
        lambda w, fb, n_fft, hop: audio.log_mel(w, 8000, n_fft=n_fft, hop_length=hop, n_mels=fb.shape[1]),
        "Write it yourself",
    ),
    "package_power": (
        lambda w, fb, n_fft, hop: (
            10 * torch.log10((audio.power_spectrogram(w, n_fft, hop) @ fb).clamp(min=1e-10))
        ),
        "Write it yourself",
    ),
}


@pytest.mark.parametrize("name", LM_MUTANTS)
def test_log_mel_mutants(name):
    fn, hint = LM_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.log_mel(fn)


def _cl(mistake):
    return lambda length, layers: check._cl_variant(length, list(layers), mistake)


CL_MUTANTS = {
    "ceil": (_cl("ceil"), "Round down"),
    "no_plus_one": (_cl("plus_one"), "first window"),
    "no_padding": (_cl("padding"), "Padding adds"),
    "padding_once": (_cl("padding_once"), "both sides"),
    "divide_by_product": (_cl("divide"), "product of the strides"),
    "first_layer_only": (_cl("first"), "every layer in turn"),
    "true_division": (_cl("float"), "integer division"),
    "package": (
        lambda n, layers: [n := models.conv_output_length(n, *layer) for layer in layers][-1],
        "Write it yourself",
    ),
    "returns_string": (lambda n, layers: str(ref_conv_stack_length(n, layers)), "returned"),
}


@pytest.mark.parametrize("name", CL_MUTANTS)
def test_conv_stack_length_mutants(name):
    fn, hint = CL_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.conv_stack_length(fn)


def test_conv_stack_length_accepts_an_integer_valued_float_and_a_tensor(capsys):
    check.conv_stack_length(lambda n, layers: torch.tensor(ref_conv_stack_length(n, layers)))
    assert "✔" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="float"):
        check.conv_stack_length(lambda n, layers: float(ref_conv_stack_length(n, layers)))


def _ctc(mistake):
    return lambda log_probs, blank: check._ctc_variant(log_probs, blank, mistake)


CTC_MUTANTS = {
    "blanks_removed_first": (_ctc("blank_first"), "before collapsing"),
    "no_collapse": (_ctc("no_collapse"), "not collapsed"),
    "blanks_kept": (_ctc("keep_blank"), "still there"),
    "unique_labels": (_ctc("unique"), "not only consecutive"),
    "blank_always_zero": (_ctc("blank_zero"), "blank argument"),
    "argmax_wrong_axis": (_ctc("axis"), "last axis"),
    "package": (lambda lp, blank: models.ctc_greedy_decode(lp, blank=blank), "Write it yourself"),
    "returns_tensor_of_floats": (
        lambda lp, blank: torch.tensor(ref_ctc_greedy_decode(lp, blank), dtype=torch.float),
        "list of Python ints",
    ),
}


@pytest.mark.parametrize("name", CTC_MUTANTS)
def test_ctc_greedy_decode_mutants(name):
    fn, hint = CTC_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.ctc_greedy_decode(fn)


def test_ctc_greedy_decode_accepts_a_tensor_of_ints(capsys):
    check.ctc_greedy_decode(
        lambda lp, blank: torch.tensor(ref_ctc_greedy_decode(lp, blank), dtype=torch.long)
    )
    assert "✔" in capsys.readouterr().out


def test_forbidden_names_are_restored_after_a_check():
    original = audio.mel_filterbank
    with pytest.raises(ExerciseError):
        check.mel_filterbank(FB_MUTANTS["package"][0])
    assert audio.mel_filterbank is original
