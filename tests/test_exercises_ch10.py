"""Tests of the chapter 10 exercise checkers: the references pass, the stub and the mutants fail with
the hint that names their mistake, and the shortcuts (the package's or the library's own answer) fail."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch10 as check

# ----------------------------------------------------------------------------- references


def ref_hf_block_weights(block):
    a, ff = block.attn, block.ff
    return {
        "ln_1.weight": block.norm1.weight,
        "ln_1.bias": block.norm1.bias,
        "attn.c_attn.weight": torch.cat([a.q_proj.weight.T, a.k_proj.weight.T, a.v_proj.weight.T], dim=1),
        "attn.c_attn.bias": torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]),
        "attn.c_proj.weight": a.out_proj.weight.T,
        "attn.c_proj.bias": a.out_proj.bias,
        "ln_2.weight": block.norm2.weight,
        "ln_2.bias": block.norm2.bias,
        "mlp.c_fc.weight": ff.linear1.weight.T,
        "mlp.c_fc.bias": ff.linear1.bias,
        "mlp.c_proj.weight": ff.linear2.weight.T,
        "mlp.c_proj.bias": ff.linear2.bias,
    }


def ref_bpe_merge_step(words):
    pairs = {}
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] = pairs.get(pair, 0) + count
    best = min(pairs, key=lambda p: (-pairs[p], p))
    new = {}
    for word, count in words.items():
        out, i = [], 0
        while i < len(word):
            if word[i : i + 2] == best:
                out.append(best[0] + best[1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        new[tuple(out)] = new.get(tuple(out), 0) + count
    return best, new


@torch.no_grad()
def ref_greedy_generate(model, input_ids, max_new_tokens):
    out = model(input_ids, use_cache=True)
    ids = input_ids
    for step in range(max_new_tokens):
        next_token = out.logits[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, next_token], dim=1)
        if step < max_new_tokens - 1:
            out = model(next_token, past_key_values=out.past_key_values, use_cache=True)
    return ids


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.hf_block_weights, ref_hf_block_weights),
    (check.bpe_merge_step, ref_bpe_merge_step),
    (check.greedy_generate, ref_greedy_generate),
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


def test_checkers_leave_the_random_state_alone():
    for checker, fn in CHECKERS:
        torch.manual_seed(7)
        checker(fn)
        a = torch.rand(3)
        torch.manual_seed(7)
        assert torch.equal(a, torch.rand(3)), checker.__name__


def test_the_package_implementations_agree_with_the_references():
    """The package's bpe_merge_step (the checker's reference is written separately) gives the same step."""
    from tfmcourse.data.corpus import bpe_merge_step

    for words in check._bpe_cases():
        assert bpe_merge_step(words) == ref_bpe_merge_step(words)


# ------------------------------------------------------------------------- block mapping mutants


def _block_mutant(change):
    def fn(block):
        d = ref_hf_block_weights(block)
        change(d, block)
        return d

    return fn


def _no_transpose(key, attr):
    def change(d, block):
        module = block
        for part in attr.split("."):
            module = getattr(module, part)
        d[key] = module.weight

    return change


def _qkv_order(d, block):
    a = block.attn
    d["attn.c_attn.weight"] = torch.cat([a.k_proj.weight.T, a.q_proj.weight.T, a.v_proj.weight.T], dim=1)


def _qkv_rows(d, block):
    a = block.attn
    d["attn.c_attn.weight"] = torch.cat([a.q_proj.weight.T, a.k_proj.weight.T, a.v_proj.weight.T], dim=0)


def _qkv_not_transposed(d, block):
    a = block.attn
    d["attn.c_attn.weight"] = torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], dim=0)


def _norms_swapped(d, block):
    d["ln_1.weight"], d["ln_2.weight"] = block.norm2.weight, block.norm1.weight


def _prefixed(d, block):
    for k in list(d):
        d["transformer.h.0." + k] = d.pop(k)


def _missing_biases(d, block):
    for k in [k for k in d if k.endswith("bias") and k.startswith("attn")]:
        del d[k]


def _bias_order(d, block):
    a = block.attn
    d["attn.c_attn.bias"] = torch.cat([a.v_proj.bias, a.k_proj.bias, a.q_proj.bias])


BLOCK_MUTANTS = {
    "c_proj_not_transposed": (
        _block_mutant(_no_transpose("attn.c_proj.weight", "attn.out_proj")),
        "attn.c_proj.weight is transposed",
    ),
    "c_fc_not_transposed": (
        _block_mutant(_no_transpose("mlp.c_fc.weight", "ff.linear1")),
        "mlp.c_fc.weight has shape .* is transposed",
    ),
    "qkv_order": (_block_mutant(_qkv_order), r"\[q \| k \| v\]"),
    "qkv_stacked_rows": (_block_mutant(_qkv_rows), "concatenated along the columns"),
    "qkv_not_transposed": (_block_mutant(_qkv_not_transposed), "attn.c_attn.weight is transposed"),
    "norms_swapped": (_block_mutant(_norms_swapped), "ln_1 and ln_2 are swapped"),
    "with_prefix": (_block_mutant(_prefixed), "without the model's prefix"),
    "missing_biases": (
        _block_mutant(_missing_biases),
        "Missing: \\['attn.c_attn.bias', 'attn.c_proj.bias'\\]",
    ),
    "bias_order": (_block_mutant(_bias_order), r"attn.c_attn.bias .*\[q \| k \| v\]"),
    "returns_list": (lambda block: list(ref_hf_block_weights(block).values()), "return a dict"),
}


@pytest.mark.parametrize("name", BLOCK_MUTANTS)
def test_block_mutants_fail_with_their_hint(name):
    fn, hint = BLOCK_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.hf_block_weights(fn)


def delegates_to_the_package(block):
    """Wraps the block in a one-block GPT and asks the package for GPT-2's weights."""
    from tfmcourse.models.gpt import GPT, GPTConfig

    d = block.norm1.weight.shape[0]
    gpt = GPT(
        GPTConfig(
            vocab_size=5,
            max_len=4,
            d_model=d,
            num_layers=1,
            num_heads=block.attn.num_heads,
            d_ff=block.ff.linear1.weight.shape[0],
        )
    ).double()
    gpt.blocks[0] = block
    return {
        k.removeprefix("transformer.h.0."): v
        for k, v in gpt.hf_state_dict().items()
        if k.startswith("transformer.h.0.")
    }


def test_delegating_the_mapping_fails():
    with pytest.raises(
        ExerciseError, match="Write it yourself, without tfmcourse.models.gpt.GPT.hf_state_dict"
    ):
        check.hf_block_weights(delegates_to_the_package)
    from tfmcourse.models.gpt import GPT

    assert "refuse" not in GPT.hf_state_dict.__name__  # restored afterwards


# ------------------------------------------------------------------------------ BPE mutants


def _bpe_mutant(mistake):
    return lambda words: check._bpe_variant(words, mistake)


BPE_MUTANTS = {
    "unweighted": (_bpe_mutant("unweighted"), "add the word's count"),
    "once_per_word": (_bpe_mutant("once_per_word"), "counts twice"),
    "tie_max": (_bpe_mutant("tie_max"), "smallest of the tied pairs"),
    "overlap": (_bpe_mutant("overlap"), "overlaps itself"),
    "counts_lost": (_bpe_mutant("counts_lost"), "add their counts"),
    "pair_as_string": (
        lambda words: ("".join(ref_bpe_merge_step(words)[0]), ref_bpe_merge_step(words)[1]),
        "not as the merged string",
    ),
    "not_merged": (lambda words: (ref_bpe_merge_step(words)[0], dict(words)), "returned unchanged"),
    "mutates_input": (lambda words: (ref_bpe_merge_step(words)[0], words.clear() or {}), "changed the dict"),
    "only_the_pair": (lambda words: ref_bpe_merge_step(words)[0], "return a tuple \\(pair, new_words\\)"),
}


@pytest.mark.parametrize("name", BPE_MUTANTS)
def test_bpe_mutants_fail_with_their_hint(name):
    fn, hint = BPE_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.bpe_merge_step(fn)


def delegates_to_the_package_bpe(words):
    from tfmcourse.data import corpus

    return corpus.bpe_merge_step(words)


def test_delegating_the_merge_step_fails():
    with pytest.raises(
        ExerciseError, match="Write it yourself, without tfmcourse.data.corpus.bpe_merge_step"
    ):
        check.bpe_merge_step(delegates_to_the_package_bpe)


# --------------------------------------------------------------------------- generation mutants


@torch.no_grad()
def recompute_everything(model, input_ids, max_new_tokens):
    ids = input_ids
    for _ in range(max_new_tokens):
        ids = torch.cat([ids, model(ids).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids


@torch.no_grad()
def first_position(model, input_ids, max_new_tokens):
    out = model(input_ids, use_cache=True)
    ids = input_ids
    for _step in range(max_new_tokens):
        next_token = out.logits[:, 0].argmax(-1, keepdim=True)
        ids = torch.cat([ids, next_token], dim=1)
        out = model(next_token, past_key_values=out.past_key_values, use_cache=True)
    return ids


@torch.no_grad()
def first_position_no_cache(model, input_ids, max_new_tokens):
    ids = input_ids
    for _ in range(max_new_tokens):
        ids = torch.cat([ids, model(ids).logits[:, 0].argmax(-1, keepdim=True)], dim=1)
    return ids


@torch.no_grad()
def without_past(model, input_ids, max_new_tokens):
    out = model(input_ids)
    ids = input_ids
    for _ in range(max_new_tokens):
        next_token = out.logits[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, next_token], dim=1)
        out = model(next_token)
    return ids


@torch.no_grad()
def only_new_tokens(model, input_ids, max_new_tokens):
    return ref_greedy_generate(model, input_ids, max_new_tokens)[:, input_ids.shape[1] :]


@torch.no_grad()
def one_too_many(model, input_ids, max_new_tokens):
    return ref_greedy_generate(model, input_ids, max_new_tokens + 1)


def uses_hf_generate(model, input_ids, max_new_tokens):
    return model.generate(input_ids, max_new_tokens=max_new_tokens, do_sample=False)


def uses_the_package_generate(model, input_ids, max_new_tokens):
    from tfmcourse import sampling

    return sampling.generate(model, input_ids, max_new_tokens, temperature=0)


GEN_MUTANTS = {
    "no_cache": (recompute_everything, "re-reads the whole sequence"),
    "first_position": (first_position, "last\\* position"),
    "first_position_no_cache": (first_position_no_cache, "last\\* position"),
    "without_past": (without_past, "without the cache"),
    "only_new_tokens": (only_new_tokens, "prompt followed by the new tokens"),
    "one_too_many": (one_too_many, "exactly max_new_tokens"),
    "hf_generate": (
        uses_hf_generate,
        "Write it yourself, without transformers.generation.utils.GenerationMixin.generate",
    ),
    "package_generate": (uses_the_package_generate, "Write it yourself"),
}


@pytest.mark.parametrize("name", GEN_MUTANTS)
def test_generation_mutants_fail_with_their_hint(name):
    fn, hint = GEN_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.greedy_generate(fn)
