"""Tests of the chapter 4 exercise checkers: the reference passes, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch04 as check
from tfmcourse.positional import sinusoidal_table as package_table


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


# ------------------------------------------------------------------------ sinusoidal_table


def _table(max_len, d_model, *, swap=False, exp="2i", pos0=0, layout="interleaved", op="div"):
    """A sinusoidal table written from scratch, with switches for the common mistakes."""
    pos = torch.arange(pos0, pos0 + max_len, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)
    expo = {"2i": 2 * i / d_model, "i": i / d_model}[exp]
    angle = pos / 10000**expo if op == "div" else pos * 10000**expo
    first, second = (angle.cos(), angle.sin()) if swap else (angle.sin(), angle.cos())
    if layout == "halves":
        return torch.cat([first, second], dim=-1)
    table = torch.empty(max_len, d_model, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = first, second
    return table


def ref_sinusoidal_table(max_len, d_model):
    return _table(max_len, d_model)


def table_float32_loop(max_len, d_model):
    """Another correct way: float32, plain Python loops."""
    t = torch.zeros(max_len, d_model)
    for pos in range(max_len):
        for i in range(0, d_model, 2):
            t[pos, i] = math.sin(pos / 10000 ** (i / d_model))
            t[pos, i + 1] = math.cos(pos / 10000 ** (i / d_model))
    return t


def table_exp_j(max_len, d_model):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    j = torch.arange(d_model, dtype=torch.float64)
    angle = pos / 10000 ** (j / d_model)
    return torch.where(j % 2 == 0, angle.sin(), angle.cos())


def test_sinusoidal_reference_passes_and_the_package_shortcut_is_refused(capsys):
    check.sinusoidal_table(ref_sinusoidal_table)
    check.sinusoidal_table(table_float32_loop)
    assert capsys.readouterr().out.count("✔ sinusoidal_table: correct") == 2

    def shortcut(max_len, d_model):
        from tfmcourse import positional

        return positional.sinusoidal_table(max_len, d_model)

    with pytest.raises(
        ExerciseError, match="Write it yourself, without tfmcourse.positional.sinusoidal_table"
    ):
        check.sinusoidal_table(shortcut)
    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.sinusoidal_table(package_table)  # the package function itself, passed as the answer
    from tfmcourse import positional

    assert positional.sinusoidal_table is package_table  # restored after the check


@pytest.mark.parametrize(
    "fn,hint",
    [
        (stub, "not implemented"),
        (lambda n, d: _table(n, d, swap=True), "sin and cos are swapped"),
        (lambda n, d: _table(n, d, exp="i"), "exponent is 2i / d_model"),
        (table_exp_j, "dimension 2i \\+ 1 got exponent"),
        (lambda n, d: _table(n, d, pos0=1), "off by one"),
        (lambda n, d: _table(n, d, layout="halves"), "interleaved"),
        (lambda n, d: _table(n, d, op="mul"), "divide by it"),
        (lambda n, d: _table(n, d)[:, : d // 2], "should have shape"),
        (lambda n, d: _table(n, d) * 1.01, "wrong values"),
    ],
)
def test_sinusoidal_mutants_fail_with_their_hint(fn, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.sinusoidal_table(fn)


# ------------------------------------------------------------------------------ apply_rope


def ref_apply_rope(x, positions):
    d = x.shape[-1]
    freqs = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    theta = positions.double()[:, None] * freqs
    cos, sin = theta.cos().to(x.dtype), theta.sin().to(x.dtype)
    a, b = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def rope_complex(x, positions):
    """Another correct way: half-split pairs as complex numbers."""
    d = x.shape[-1]
    z = torch.complex(x[..., : d // 2], x[..., d // 2 :])
    freqs = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    w = z * torch.polar(torch.ones_like(freqs), positions.double()[:, None] * freqs)
    return torch.cat([w.real, w.imag], dim=-1)


def rope_pairs(x, positions):
    d = x.shape[-1]
    freqs = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    theta = positions.double()[:, None] * freqs
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * theta.cos() - b * theta.sin()
    out[..., 1::2] = a * theta.sin() + b * theta.cos()
    return out


def rope_clockwise(x, positions):
    return ref_apply_rope(x, -positions)


def rope_off_by_one(x, positions):
    return ref_apply_rope(x, positions + 1)


def rope_ignores_positions(x, positions):
    return ref_apply_rope(x, torch.arange(x.shape[-2]))


def rope_exp_i(x, positions):
    d = x.shape[-1]
    theta = positions.double()[:, None] * 10000.0 ** (-torch.arange(d // 2, dtype=torch.float64) / d)
    a, b = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat([a * theta.cos() - b * theta.sin(), a * theta.sin() + b * theta.cos()], dim=-1)


def rope_2d_only(x, positions):
    d = x.shape[1]  # assumes x is (seq, d)
    return ref_apply_rope(x, positions) if x.ndim == 2 else ref_apply_rope(x.reshape(-1, d), positions)


def test_rope_reference_passes_and_the_package_shortcut_is_refused(capsys):
    def package(x, positions):
        from tfmcourse import positional

        theta = positional.rope_angles(positions, x.shape[-1])
        return positional.apply_rotary(x, theta.cos(), theta.sin())

    for fn in (ref_apply_rope, rope_complex):
        check.apply_rope(fn)
    assert capsys.readouterr().out.count("✔ apply_rope: correct") == 2
    with pytest.raises(ExerciseError, match="Write it yourself, without tfmcourse.positional"):
        check.apply_rope(package)


@pytest.mark.parametrize(
    "fn,hint",
    [
        (stub, "not implemented"),
        (rope_pairs, "wrong pairs"),
        (rope_clockwise, "wrong way"),
        (rope_off_by_one, "off by one"),
        (rope_ignores_positions, "does not use the `positions` argument"),
        (rope_exp_i, "frequencies are wrong"),
        (lambda x, p: ref_apply_rope(x, p * 0 + p[:1]), "wrong values"),
        (lambda x, p: x, "wrong values"),
        (rope_2d_only, "leading axes"),
    ],
)
def test_rope_mutants_fail_with_their_hint(fn, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.apply_rope(fn)


# ------------------------------------------------------------------------------- alibi_bias


def ref_alibi_bias(seq_len, num_heads):
    slopes = torch.tensor([2 ** (-8 * (h + 1) / num_heads) for h in range(num_heads)])
    pos = torch.arange(seq_len)
    return -slopes[:, None, None] * (pos[:, None] - pos[None, :]).abs()


def alibi_loops(seq_len, num_heads):
    """Another correct way: float64, plain loops."""
    out = torch.zeros(num_heads, seq_len, seq_len, dtype=torch.float64)
    for h in range(num_heads):
        for i in range(seq_len):
            for j in range(seq_len):
                out[h, i, j] = -(0.5 ** (8 * (h + 1) / num_heads)) * abs(i - j)
    return out


def test_alibi_reference_passes(capsys):
    check.alibi_bias(ref_alibi_bias)
    check.alibi_bias(alibi_loops)
    assert capsys.readouterr().out.count("✔ alibi_bias: correct") == 2


def _alibi(slope_exp, dist=lambda i, j: (i - j).abs(), sign=-1):
    def fn(seq_len, num_heads):
        slopes = torch.tensor([2 ** (-8 * slope_exp(h, num_heads) / num_heads) for h in range(num_heads)])
        pos = torch.arange(seq_len)
        return sign * slopes[:, None, None] * dist(pos[:, None], pos[None, :])

    return fn


@pytest.mark.parametrize(
    "fn,hint",
    [
        (stub, "not implemented"),
        (_alibi(lambda h, n: h + 1, sign=1), "wrong sign"),
        (_alibi(lambda h, n: h + 1, dist=lambda i, j: i - j), "without the absolute value"),
        (_alibi(lambda h, n: h), "start at the wrong head"),
        (_alibi(lambda h, n: n - h), "reverse order"),
        (_alibi(lambda h, n: 1), "same slope"),
        (lambda s, n: ref_alibi_bias(s, n).permute(1, 2, 0), "\\(num_heads, seq_len, seq_len\\)"),
        (lambda s, n: ref_alibi_bias(s, n) * 2, "wrong values"),
    ],
)
def test_alibi_mutants_fail_with_their_hint(fn, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.alibi_bias(fn)


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.sinusoidal_table, ref_sinusoidal_table),
        (check.apply_rope, ref_apply_rope),
        (check.alibi_bias, ref_alibi_bias),
    ],
)
def test_checkers_keep_the_random_state(checker, fn, capsys):
    torch.manual_seed(7)
    want = torch.rand(3)
    torch.manual_seed(7)
    checker(fn)
    assert torch.equal(torch.rand(3), want)
