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


def test_sinusoidal_reference_and_package_pass(capsys):
    check.sinusoidal_table(ref_sinusoidal_table)
    check.sinusoidal_table(table_float32_loop)
    check.sinusoidal_table(package_table)
    assert capsys.readouterr().out.count("✔ sinusoidal_table: correct") == 3


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


def test_rope_reference_and_package_pass(capsys):
    from tfmcourse.positional import apply_rotary, rope_angles

    def package(x, positions):
        theta = rope_angles(positions, x.shape[-1])
        return apply_rotary(x, theta.cos(), theta.sin())

    for fn in (ref_apply_rope, rope_complex, package):
        check.apply_rope(fn)
    assert capsys.readouterr().out.count("✔ apply_rope: correct") == 3


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
