"""Checkers for the exercises of chapter 10 (Hugging Face: one block's weights in GPT-2's layout, one
BPE merge step, greedy generation with the library's KV cache).

Each checker computes its reference first, on copies, then runs the learner's function with the
package's (or the library's) own answer to the exercise forbidden, compares, and names the mistake
when the answer matches a known wrong version::

    from tfmcourse.exercises import ch10 as check
    check.hf_block_weights(hf_block_weights)
    check.bpe_merge_step(bpe_merge_step)
    check.greedy_generate(greedy_generate)
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import Tensor

from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run

__all__ = ["hf_block_weights", "bpe_merge_step", "greedy_generate"]


@contextmanager
def _forbidden_methods(fn: Callable[..., Any], *paths: str) -> Iterator[None]:
    """Like :func:`tfmcourse.exercises.forbidden`, for methods: ``"module.Class.method"`` raises an
    :class:`ExerciseError` when called inside the block (on the class and every instance)."""
    patched = []
    try:
        for path in paths:
            module_name, cls_name, method = path.rsplit(".", 2)
            try:
                cls = getattr(importlib.import_module(module_name), cls_name)
            except (ImportError, AttributeError):
                continue
            original = cls.__dict__.get(method)
            if original is None:
                continue

            def refuse(*args: Any, _path: str = path, **kwargs: Any) -> Any:
                raise ExerciseError(
                    f"Write it yourself, without {_path}: this exercise builds what that method does. "
                    f"(`{getattr(fn, '__name__', 'your function')}` called it.)"
                )

            patched.append((cls, method, original))
            setattr(cls, method, refuse)
        yield
    finally:
        for cls, method, original in reversed(patched):
            setattr(cls, method, original)


def _existing(*paths: str) -> list[str]:
    """The dotted function names among ``paths`` that resolve (a moved function is simply skipped)."""
    found = []
    for path in paths:
        module_name, _, attr = path.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            continue
        found.append(path)
    return found


# ===================================================================== 1. one block in GPT-2's layout

#: The twelve entries of one GPT-2 block (``transformer.h.<i>.`` + these names).
HF_BLOCK_KEYS = (
    "ln_1.weight",
    "ln_1.bias",
    "attn.c_attn.weight",
    "attn.c_attn.bias",
    "attn.c_proj.weight",
    "attn.c_proj.bias",
    "ln_2.weight",
    "ln_2.bias",
    "mlp.c_fc.weight",
    "mlp.c_fc.bias",
    "mlp.c_proj.weight",
    "mlp.c_proj.bias",
)

HINT_BLOCK_TRANSPOSE = (
    "{key} is transposed: GPT-2's Conv1D stores its weight as (in, out) and computes x @ W + b, the "
    "transpose of nn.Linear's (out, in) weight. Use linear.weight.T."
)
HINT_BLOCK_QKV_ORDER = (
    "attn.c_attn packs the three projections side by side in the order [q | k | v] (columns 0..d-1 are "
    "the query's, then the key's, then the value's); yours are in another order."
)
HINT_BLOCK_QKV_AXIS = (
    "attn.c_attn.weight must be (d_model, 3 * d_model): the three (d_model, d_model) Conv1D weights "
    "(each a transposed nn.Linear weight) side by side, concatenated along the columns (dim=1), not "
    "stacked along the rows."
)
HINT_BLOCK_PREFIX = (
    "Return the names inside one block, without the model's prefix: 'ln_1.weight', not "
    "'transformer.h.0.ln_1.weight'."
)
HINT_BLOCK_NORMS_SWAPPED = (
    "ln_1 and ln_2 are swapped: ln_1 is the LayerNorm before the attention (our norm1), ln_2 the one "
    "before the feed-forward network (our norm2)."
)
HINT_BLOCK_FF_SWAPPED = (
    "mlp.c_fc is the first feed-forward layer (d_model -> d_ff, our ff.linear1) and mlp.c_proj the "
    "second (d_ff -> d_model, our ff.linear2)."
)
HINT_BLOCK_PROJ = (
    "attn.c_proj is the output projection of the attention (our attn.out_proj), transposed to Conv1D's "
    "(in, out) layout."
)


def _random_block_model(seed: int, d_model: int = 8, heads: int = 2, d_ff: int = 20):
    """A one-block GPT in float64 whose every parameter (biases and LayerNorms included) is random, so
    that a missing or misplaced entry changes the output."""
    from tfmcourse.models.gpt import GPT, GPTConfig

    g = torch.Generator().manual_seed(seed)
    model = GPT(
        GPTConfig(vocab_size=13, max_len=9, d_model=d_model, num_layers=1, num_heads=heads, d_ff=d_ff)
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.4)
    return model.eval()


def _reference_block(model) -> dict[str, Tensor]:
    prefix = "transformer.h.0."
    return {k[len(prefix) :]: v for k, v in model.hf_state_dict().items() if k.startswith(prefix)}


def _diagnose_entry(key: str, got: Tensor, want: dict[str, Tensor]) -> str:
    """Why ``got`` is not ``want[key]``: a transposed weight, q|k|v in another order, a swapped pair."""
    w = want[key]
    if got.ndim == 2 and tuple(got.shape) == tuple(w.T.shape) and is_close(got, w.T):
        return HINT_BLOCK_TRANSPOSE.format(key=key)
    if key.startswith("attn.c_attn"):
        d = w.shape[-1] // 3
        blocks = list(w.split(d, dim=-1))
        for order in ((1, 0, 2), (0, 2, 1), (2, 1, 0), (1, 2, 0), (2, 0, 1)):
            if is_close(got, torch.cat([blocks[i] for i in order], dim=-1)):
                return HINT_BLOCK_QKV_ORDER
        if key.endswith("weight") and got.ndim == 2 and got.shape == (3 * d, d):
            return HINT_BLOCK_QKV_AXIS
    partner = {"ln_1": "ln_2", "ln_2": "ln_1", "mlp.c_fc": "mlp.c_proj", "mlp.c_proj": "mlp.c_fc"}
    stem, _, leaf = key.rpartition(".")
    other = f"{partner.get(stem, '')}.{leaf}"
    if other in want and tuple(got.shape) == tuple(want[other].shape) and is_close(got, want[other]):
        return HINT_BLOCK_NORMS_SWAPPED if stem.startswith("ln") else HINT_BLOCK_FF_SWAPPED
    if key.startswith("attn.c_proj"):
        return HINT_BLOCK_PROJ
    return ""


@checker
def hf_block_weights(fn: Callable[[Any], dict]) -> None:
    """Check ``fn(block) -> dict``: the twelve tensors of one of our ``GPTBlock``\\ s under GPT-2's names
    (``"ln_1.weight"``, ``"attn.c_attn.weight"``, ...) and in its layout (Conv1D weights ``(in, out)``,
    ``c_attn`` = ``[q | k | v]`` side by side). The block's weights, loaded into a Hugging Face
    ``GPT2LMHeadModel``, must then compute our model's logits. ``GPT.hf_state_dict`` and ``GPT.to_hf``
    are off limits."""
    from transformers import GPT2LMHeadModel

    for seed, (d_model, heads, d_ff) in ((1001, (8, 2, 20)), (1002, (12, 3, 16))):
        model = _random_block_model(seed, d_model, heads, d_ff)
        want = _reference_block(model)  # the reference first, from the package, on the original
        hf = GPT2LMHeadModel(model.hf_config()).double().eval()
        ids = torch.randint(0, 13, (2, 9), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            want_logits = model(ids)
        block = copy.deepcopy(model.blocks[0])
        where = f"hf_block_weights(block with d_model={d_model}, {heads} heads, d_ff={d_ff})"
        with _forbidden_methods(
            fn, "tfmcourse.models.gpt.GPT.hf_state_dict", "tfmcourse.models.gpt.GPT.to_hf"
        ):
            got = run(fn, block)
        if not isinstance(got, dict):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return a dict {{name: tensor}}.")
        if any(str(k).startswith("transformer.") for k in got):
            raise ExerciseError(f"{where}: {HINT_BLOCK_PREFIX}")
        missing = [k for k in HF_BLOCK_KEYS if k not in got]
        extra = [k for k in got if k not in HF_BLOCK_KEYS]
        if missing or extra:
            raise ExerciseError(
                f"{where}: the names are not GPT-2's. Missing: {missing or 'none'}; unexpected: "
                f"{extra or 'none'}. "
                f"One GPT-2 block has exactly these entries: {list(HF_BLOCK_KEYS)}."
            )
        for key in HF_BLOCK_KEYS:
            value = got[key]
            if not isinstance(value, Tensor):
                raise ExerciseError(f"{where}: {key} is a {type(value).__name__}, not a tensor.")
            w = want[key]
            if tuple(value.shape) == tuple(w.shape) and is_close(value.detach(), w):
                continue
            hint = _diagnose_entry(key, value.detach(), want)
            if tuple(value.shape) != tuple(w.shape):
                raise ExerciseError(
                    f"{where}: {key} has shape {tuple(value.shape)}, "
                    f"GPT-2 expects {tuple(w.shape)}. {hint}".strip()
                )
            raise ExerciseError(f"{where}: {key} has the right shape but wrong values. {hint}".strip())
        # Everything in place: load it and compare the logits, the test that matters.
        state = {k: v for k, v in model.hf_state_dict().items() if not k.startswith("transformer.h.0.")}
        state.update({f"transformer.h.0.{k}": v.detach().clone() for k, v in got.items()})
        hf.load_state_dict(state, strict=False)
        with torch.no_grad():
            got_logits = hf(ids).logits
        if not is_close(got_logits, want_logits):
            err = (got_logits - want_logits).abs().max().item()
            raise ExerciseError(
                f"{where}: loaded into GPT2LMHeadModel, the block gives other logits (largest difference "
                f"{err:.2g})."
            )
    passed("hf_block_weights", "two block shapes; GPT2LMHeadModel with your block gives our logits")


# =========================================================================== 2. one BPE merge step

HINT_BPE_UNWEIGHTED = (
    "The pairs are counted once per distinct word: each word's pairs count as many times as the word "
    "occurs (add the word's count, not 1)."
)
HINT_BPE_ONCE_PER_WORD = (
    "A pair that occurs twice in one word counts twice: count every adjacent position, not the set of "
    "pairs of the word."
)
HINT_BPE_TIE = (
    "Several pairs are equally frequent and you picked another one: take the smallest of the tied pairs "
    "in Python's order, min(tied_pairs)."
)
HINT_BPE_OVERLAP = (
    "The merge overlaps itself: ('a', 'a', 'a') with the pair ('a', 'a') becomes ('aa', 'a'): scan left "
    "to right and, after merging at position i, continue at i + 2."
)
HINT_BPE_COUNTS_LOST = (
    "Two words that become equal after the merge must add their counts; yours keeps only one of them "
    "(new_words[w] = count overwrites: use new_words[w] = new_words.get(w, 0) + count)."
)
HINT_BPE_PAIR_TYPE = (
    "Return the pair as a tuple of the two symbols, ('a', 'b'), not as the merged string 'ab'."
)
HINT_BPE_NOT_MERGED = (
    "The words are returned unchanged: replace every occurrence of the pair by one symbol, pair[0] + pair[1]."
)
HINT_BPE_MUTATED = "Your function changed the dict it was given: build and return a new dict."


def _bpe_cases() -> list[dict[tuple[str, ...], int]]:
    w = lambda s: tuple(s)  # noqa: E731  a word written as its characters
    return [
        {w("low"): 5, w("lower"): 2, w("newest"): 6, w("widest"): 3},  # ('e', 's') and ('s', 't') tie at 9
        {w("aaa"): 3, w("ab"): 1, w("ba"): 1},  # ('a', 'a') twice inside one word, overlapping
        {("a", "b", "c"): 4, ("ab", "c"): 3, ("x",): 7},  # after the merge two words are the same
        {w("ab"): 5, w("cd"): 1, w("xcd"): 1},  # the counts decide, not the number of words
        {w("zaza"): 2, w("bc"): 3},  # a pair twice in one word counts twice
        {w("hug"): 10, w("pug"): 5, w("pun"): 12, w("bun"): 4, w("hugs"): 5},  # the classic example
    ]


def _bpe_variant(words: dict, mistake: str = "") -> tuple[Any, dict]:
    """One merge step written with ``mistake`` (the reference when empty)."""
    pairs: dict = {}
    for word, count in words.items():
        seq = list(zip(word, word[1:]))
        if mistake == "once_per_word":
            seq = list(dict.fromkeys(seq))
        for pair in seq:
            pairs[pair] = pairs.get(pair, 0) + (1 if mistake == "unweighted" else count)
    best = (
        max(pairs, key=lambda p: (pairs[p], p))
        if mistake == "tie_max"
        else min(pairs, key=lambda p: (-pairs[p], p))
    )
    merged = best[0] + best[1]
    new: dict = {}
    for word, count in words.items():
        if mistake == "overlap":  # every matching position merged, even one that overlaps the previous merge
            starts = [i for i in range(len(word) - 1) if (word[i], word[i + 1]) == best]
            covered = {j for i in starts for j in (i, i + 1)}
            out = tuple(
                s
                for _, s in sorted(
                    [(i, merged) for i in starts]
                    + [(i, word[i]) for i in range(len(word)) if i not in covered]
                )
            )
        else:
            out_list, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out_list.append(merged)
                    i += 2
                else:
                    out_list.append(word[i])
                    i += 1
            out = tuple(out_list)
        new[out] = count if mistake == "counts_lost" else new.get(out, 0) + count
    return best, new


_BPE_MISTAKES = {
    "unweighted": HINT_BPE_UNWEIGHTED,
    "once_per_word": HINT_BPE_ONCE_PER_WORD,
    "tie_max": HINT_BPE_TIE,
    "overlap": HINT_BPE_OVERLAP,
    "counts_lost": HINT_BPE_COUNTS_LOST,
}


@checker
def bpe_merge_step(fn: Callable[[dict], tuple]) -> None:
    """Check ``fn(words) -> (pair, new_words)``: count the adjacent pairs of symbols, each word's pairs
    weighted by its count; take the most frequent pair (ties: the smallest in Python's order); merge
    it left to right in every word, adding the counts of words that become equal. The package's
    ``bpe_merge_step`` and ``learn_bpe_merges`` are off limits."""
    for words in _bpe_cases():
        want_pair, want_words = _bpe_variant(words)  # the reference first
        given = dict(words)
        where = f"bpe_merge_step({words})"
        with forbidden(
            fn, *_existing("tfmcourse.data.corpus.bpe_merge_step", "tfmcourse.data.corpus.learn_bpe_merges")
        ):
            got = run(fn, given)
        if given != words:
            raise ExerciseError(f"{where}: {HINT_BPE_MUTATED}")
        if isinstance(got, tuple) and len(got) == 2 and all(isinstance(x, str) for x in got):
            raise ExerciseError(f"{where} returned only the pair {got!r}: return a tuple (pair, new_words).")
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseError(f"{where} returned {got!r}: return a tuple (pair, new_words).")
        pair, new_words = got
        if isinstance(pair, str):
            raise ExerciseError(f"{where} returned the pair {pair!r}. {HINT_BPE_PAIR_TYPE}")
        if not isinstance(new_words, dict):
            raise ExerciseError(
                f"{where}: new_words is a {type(new_words).__name__}, it should be a dict "
                f"{{word tuple: count}}."
            )
        pair = tuple(pair) if isinstance(pair, list) else pair
        new_words = {tuple(k) if isinstance(k, list) else k: v for k, v in new_words.items()}
        if pair == want_pair and new_words == want_words:
            continue
        if pair == want_pair and new_words == words:
            raise ExerciseError(f"{where}: {HINT_BPE_NOT_MERGED}")
        hint = ""
        for mistake, h in _BPE_MISTAKES.items():
            m_pair, m_words = _bpe_variant(words, mistake)
            if (m_pair, m_words) != (want_pair, want_words) and pair == m_pair and new_words == m_words:
                hint = h
                break
        if pair != want_pair:
            raise ExerciseError(
                f"{where}: the pair to merge is {want_pair}, yours is {pair!r}. {hint}".strip()
            )
        raise ExerciseError(
            f"{where}: the pair {pair} is right, but the merged words should be {want_words}, "
            f"yours are {new_words}. {hint}".strip()
        )
    passed("bpe_merge_step", f"{len(_bpe_cases())} vocabularies, ties and overlapping pairs included")


# ================================================================ 3. greedy generation with a KV cache

HINT_GEN_NO_CACHE = (
    "The model re-reads the whole sequence at every step: the point is the KV cache. Call the model on "
    "the prompt once with use_cache=True, keep out.past_key_values, and from then on feed only the new "
    "token, model(next_token, past_key_values=past, use_cache=True)."
)
HINT_GEN_FIRST_POSITION = (
    "The next token comes from the logits of the *last* position, out.logits[:, -1], not the first."
)
HINT_GEN_ONLY_NEW = "Return the prompt followed by the new tokens, shape (batch, prompt + max_new_tokens)."
HINT_GEN_NO_PAST = (
    "Each new token is fed without the cache, so the model sees that one token and nothing before it: "
    "pass past_key_values=past (from the previous call's out.past_key_values) with the new token."
)
HINT_GEN_COUNT = "Generate exactly max_new_tokens tokens: the result has prompt + max_new_tokens positions."


def _tiny_gpt2(seed: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=17,
        n_positions=24,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    model = GPT2LMHeadModel(config).double().eval()
    with torch.no_grad():  # larger weights than the initialisation: confident, varied next tokens
        for p in model.parameters():
            p.mul_(6.0)
    return model


@torch.no_grad()
def _greedy_variant(model, ids: Tensor, n: int, mistake: str = "") -> Tensor:
    """Greedy decoding by re-running the whole sequence (the reference), or with ``mistake``."""
    out = ids
    for _ in range(n):
        seq = out
        if mistake == "no_past" and out.shape[1] > ids.shape[1]:  # after the prompt: the newest token only
            seq = out[:, -1:]
        logits = model(seq).logits
        # With a cache only the prompt's call has more than one position: position 0 differs there only.
        first = mistake == "first_position_always" or (
            mistake == "first_position" and out.shape[1] == ids.shape[1]
        )
        nxt = logits[:, 0 if first else -1].argmax(-1, keepdim=True)
        out = torch.cat([out, nxt], dim=1)
    return out


@checker
def greedy_generate(fn: Callable[[Any, Tensor, int], Tensor]) -> None:
    """Check ``fn(model, input_ids, max_new_tokens) -> (batch, prompt + max_new_tokens)``: greedy decoding
    with a Hugging Face causal LM and its KV cache: the prompt once, then one new token per call with
    ``past_key_values``. The tokens must equal greedy decoding without a cache, and after the prompt
    every call must feed a single position. ``generate()`` is off limits."""
    for seed, (batch, prompt_len, n) in ((2001, (2, 5, 7)), (2002, (1, 3, 9))):
        model = _tiny_gpt2(seed)
        ids = torch.randint(0, 17, (batch, prompt_len), generator=torch.Generator().manual_seed(seed))
        want = _greedy_variant(model, ids, n)  # the reference first
        where = f"greedy_generate(model, input_ids {tuple(ids.shape)}, max_new_tokens={n})"
        lengths: list[int] = []

        def record(module: Any, args: tuple, kwargs: dict) -> None:
            x = kwargs.get("input_ids", args[0] if args else None)
            lengths.append(int(x.shape[1]) if isinstance(x, Tensor) else -1)

        handle = model.register_forward_pre_hook(record, with_kwargs=True)
        try:
            with ExitStack() as stack:
                stack.enter_context(
                    _forbidden_methods(
                        fn,
                        "transformers.generation.utils.GenerationMixin.generate",
                        "transformers.GPT2LMHeadModel.generate",
                    )
                )
                stack.enter_context(forbidden(fn, *_existing("tfmcourse.sampling.generate")))
                got = run(fn, model, ids.clone(), n)
        finally:
            handle.remove()
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return a tensor of token ids.")
        if tuple(got.shape) == (batch, n):
            raise ExerciseError(f"{where} has shape {tuple(got.shape)}. {HINT_GEN_ONLY_NEW}")
        if tuple(got.shape) != tuple(want.shape):
            raise ExerciseError(
                f"{where} has shape {tuple(got.shape)}, expected {tuple(want.shape)}. {HINT_GEN_COUNT}"
            )
        if not torch.equal(got.long(), want):
            hint = ""
            for mistake, h in (
                ("first_position", HINT_GEN_FIRST_POSITION),
                ("first_position_always", HINT_GEN_FIRST_POSITION),
                ("no_past", HINT_GEN_NO_PAST),
            ):
                if torch.equal(got.long(), _greedy_variant(model, ids, n, mistake)):
                    hint = h
                    break
            if not torch.equal(got[:, :prompt_len].long(), ids):
                hint = (
                    "The prompt at the start of the result was changed: keep input_ids as they are "
                    "and append."
                )
            raise ExerciseError(
                f"{where} gives other tokens than greedy decoding:\n  expected {want.tolist()}\n"
                f"  got      {got.tolist()}\n  {hint}".rstrip()
            )
        if not lengths or lengths[0] != prompt_len or any(length != 1 for length in lengths[1:]):
            raise ExerciseError(
                f"{where}: right tokens, but the model was called on sequences of lengths "
                f"{lengths}; with the cache it is {[prompt_len] + [1] * (n - 1)}. {HINT_GEN_NO_CACHE}"
            )
    passed("greedy_generate", "two prompts; the same tokens as greedy decoding, one position per step")
