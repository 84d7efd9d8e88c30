"""Tests of tfmcourse.decode: greedy decoding and beam search, with and without the KV cache."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.cache import KVCache
from tfmcourse.decode import (
    Hypothesis,
    beam_search,
    cross_attention_weights,
    greedy_decode,
    length_penalty,
    translate,
)
from tfmcourse.transformer import Transformer

PAD, BOS, EOS = 0, 1, 2
SPECIALS = dict(bos_id=BOS, eos_id=EOS, pad_id=PAD)


def random_model(seed: int = 0, tgt_vocab: int = 8) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(
        9,
        tgt_vocab,
        d_model=16,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=2,
        d_ff=32,
        dropout=0.0,
        max_len=40,
        pad_id=PAD,
    )
    return model.double().eval()


def random_src(seed: int = 0, batch: int = 5, seq: int = 6) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(3, 9, (batch, seq), generator=gen)
    for b in range(batch):  # ragged lengths, padded on the right
        src[b, seq - b % 3 :] = PAD
    return src


class TableModel(torch.nn.Module):
    """A fake encoder-decoder whose next-token probabilities are written in a table keyed by
    ``(first source token,) + prefix``. It keeps the prefix in its cache (as a tensor, like real
    keys), so a beam search that reorders the cache wrongly reads the wrong row of the table.
    A prefix missing from the table gives <eos> (probability 1)."""

    def __init__(self, table: dict[tuple[int, ...], dict[int, float]], vocab: int = 6):
        super().__init__()
        self.table, self.vocab = table, vocab
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, src, src_mask=None):
        return src[:, :1, None].double()  # the "memory" is the first source token

    def new_cache(self):
        return KVCache(1)

    def _logits(self, key: tuple[int, ...]) -> torch.Tensor:
        p = torch.full((self.vocab,), 1e-9, dtype=torch.float64)
        for token, q in self.table.get(key, {EOS: 1.0}).items():
            p[token] = q
        return (p / p.sum()).log()

    def decode(self, tgt, memory, tgt_mask=None, memory_mask=None, cache=None):
        if cache is not None:
            new = tgt[:, None, :, None].double()  # the prefix, stored like keys (batch, heads, seq, d_head)
            full = cache.update(0, new, new)[0][:, 0, :, 0].long()
        else:
            full = tgt
        rows = []
        for b in range(tgt.shape[0]):
            first, seq = int(memory[b, 0, 0]), full[b].tolist()
            start = len(seq) - tgt.shape[1]
            rows.append(
                torch.stack([self._logits((first, *seq[1 : start + i + 1])) for i in range(tgt.shape[1])])
            )
        return torch.stack(rows)


# Source 3. After <bos>: token 3 (0.5) or 4 (0.4). After 3: 3, 4 or 5 (0.3 each). After 4: 5 (0.9).
# Greedy takes 3 and ends with probability 0.15; a beam of 2 finds 4 5 <eos> (0.36).
TRAP = {
    (3,): {3: 0.5, 4: 0.4, EOS: 0.1},
    (3, 3): {3: 0.3, 4: 0.3, 5: 0.3, EOS: 0.1},
    (3, 4): {5: 0.9, EOS: 0.1},
}


def test_greedy_stops_at_eos_and_pads_after():
    model = TableModel(TRAP)
    out = greedy_decode(model, torch.tensor([[3, 4]]), **SPECIALS, max_len=10)
    assert out.tolist() == [[3, 3, EOS]]  # a tie goes to the lower id, then the table says <eos>
    # Source 4 says 4 4 4 <eos>, source 5 says 3 <eos>: row 1 is padded while row 0 goes on.
    model = TableModel({(4,): {4: 0.9}, (4, 4): {4: 0.9}, (4, 4, 4): {4: 0.9}, (5,): {3: 0.9}})
    out = greedy_decode(model, torch.tensor([[4], [5]]), **SPECIALS, max_len=10)
    assert out.tolist() == [[4, 4, 4, EOS], [3, EOS, PAD, PAD]]


@pytest.mark.parametrize("max_len", [1, 3, 7])
def test_max_len_is_respected(max_len):
    model = TableModel({})
    model._logits = lambda key: torch.tensor([-9.0, -9.0, -50.0, 0.0, -1.0, -2.0], dtype=torch.float64)
    src = torch.tensor([[3, 4], [5, PAD]])
    out = greedy_decode(model, src, **SPECIALS, max_len=max_len)
    assert out.shape == (2, max_len) and (out != EOS).all()
    for hyps in beam_search(model, src, **SPECIALS, beam_size=3, max_len=max_len):
        assert len(hyps) == 3
        assert all(len(h.tokens) == max_len and not h.finished for h in hyps)


def test_beam_search_escapes_the_greedy_trap():
    model = TableModel(TRAP)
    src = torch.tensor([[3]])
    greedy = greedy_decode(model, src, **SPECIALS, max_len=5)[0].tolist()
    hyps = beam_search(model, src, **SPECIALS, beam_size=2, max_len=5)[0]
    assert greedy == [3, 3, EOS]
    assert hyps[0].tokens == [4, 5, EOS] and hyps[0].finished
    assert hyps[0].log_prob == pytest.approx(math.log(0.4 * 0.9), abs=1e-6)
    assert hyps[1].tokens[0] == 3 and hyps[1].log_prob == pytest.approx(math.log(0.5 * 0.3), abs=1e-6)
    # the same search through the uncached path of the table agrees on the probabilities
    assert all(h.score == h.log_prob for h in hyps)


def test_pad_and_bos_are_never_generated():
    model = TableModel({(3,): {PAD: 0.6, BOS: 0.3, 4: 0.1}})
    assert greedy_decode(model, torch.tensor([[3]]), **SPECIALS).tolist() == [[4, EOS]]
    hyps = beam_search(model, torch.tensor([[3]]), **SPECIALS, beam_size=2)[0]
    assert all(PAD not in h.tokens and BOS not in h.tokens for h in hyps)


def test_hypotheses_are_sorted_and_end_with_eos_once():
    model = random_model()
    src = random_src()
    for alpha in (0.0, 0.6):
        for hyps in beam_search(model, src, **SPECIALS, beam_size=4, max_len=12, alpha=alpha):
            scores = [h.score for h in hyps]
            assert scores == sorted(scores, reverse=True)
            assert len(hyps) == 4
            for h in hyps:
                assert isinstance(h, Hypothesis)
                assert h.score == pytest.approx(h.log_prob / length_penalty(len(h.tokens), alpha))
                assert EOS not in h.tokens[:-1]
                assert h.finished == (h.tokens[-1] == EOS)
                assert len(h.tokens) <= 12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_of_one_equals_greedy(seed):
    model = random_model(seed)
    src = random_src(seed, batch=6)
    greedy = greedy_decode(model, src, **SPECIALS, max_len=15)
    hyps = beam_search(model, src, **SPECIALS, beam_size=1, max_len=15)
    for b in range(src.shape[0]):
        row = greedy[b].tolist()
        row = row[: row.index(EOS) + 1] if EOS in row else row
        assert hyps[b][0].tokens == row


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cached_greedy_equals_uncached(seed):
    model = random_model(seed)
    src = random_src(seed, batch=6)
    cached = greedy_decode(model, src, **SPECIALS, max_len=15, use_cache=True)
    uncached = greedy_decode(model, src, **SPECIALS, max_len=15, use_cache=False)
    assert torch.equal(cached, uncached)


def _teacher_forced_log_prob(model, src, tokens):
    tgt = torch.tensor([[BOS] + tokens[:-1]])
    src = src[None]
    logits = model(src, tgt, *model.make_masks(src, tgt))
    logits[..., [PAD, BOS]] = -math.inf  # the decoders never produce these
    return logits.log_softmax(-1)[0, torch.arange(len(tokens)), torch.tensor(tokens)].sum().item()


def test_beam_log_probs_match_the_model_and_batching_changes_nothing():
    # If the cache were reordered wrongly, the log-probs would not match a fresh forward pass.
    model = random_model(4)
    src = random_src(4, batch=4)
    batched = beam_search(model, src, **SPECIALS, beam_size=3, max_len=10)
    for b in range(src.shape[0]):
        alone = beam_search(
            model, src[b : b + 1, : int((src[b] != PAD).sum())], **SPECIALS, beam_size=3, max_len=10
        )[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched[b]]
        for h in batched[b]:
            assert h.log_prob == pytest.approx(_teacher_forced_log_prob(model, src[b], h.tokens), abs=1e-9)


def test_beam_finds_at_least_the_greedy_log_prob():
    model = random_model(5)
    src = random_src(5, batch=6)
    greedy = greedy_decode(model, src, **SPECIALS, max_len=10)
    hyps = beam_search(model, src, **SPECIALS, beam_size=4, max_len=10)
    for b in range(src.shape[0]):
        row = greedy[b].tolist()
        row = row[: row.index(EOS) + 1] if EOS in row else row
        greedy_lp = _teacher_forced_log_prob(model, src[b], row)
        if EOS in row:  # a finished greedy output is a candidate of the beam: the beam can only do better
            assert hyps[b][0].log_prob >= greedy_lp - 1e-9


def test_length_penalty():
    assert length_penalty(7, 0.0) == 1.0
    assert length_penalty(1, 1.0) == 1.0
    assert length_penalty(7, 1.0) == pytest.approx(2.0)


def test_bad_arguments():
    model = random_model()
    src = random_src()
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, src, **SPECIALS, max_len=0)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, src, **SPECIALS, beam_size=0)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model, src, **SPECIALS, beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="src must be"):
        greedy_decode(model, src.float(), **SPECIALS)
    with pytest.raises(ValueError, match="all padding"):
        greedy_decode(model, torch.zeros(2, 3, dtype=torch.long), **SPECIALS)


class _Vocab:
    """The least a vocabulary needs for translate: ids of the specials, encode_batch, decode(_batch)."""

    bos_id, eos_id, pad_id = BOS, EOS, PAD

    def encode_batch(self, texts):
        rows = [[int(c) for c in t] for t in texts]
        out = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r)
        return out

    def decode(self, ids):
        ids = list(ids)
        ids = ids[: ids.index(EOS)] if EOS in ids else ids
        return "".join(str(i) for i in ids if i != PAD)

    def decode_batch(self, ids):
        return [self.decode(row.tolist()) for row in ids]


def test_translate_matches_the_decoders():
    model = random_model(6).train()
    texts = ["345", "6", "78"]
    greedy = translate(model, texts, _Vocab(), _Vocab(), max_len=8, batch_size=2)
    beam = translate(model, texts, _Vocab(), _Vocab(), method="beam", beam_size=1, max_len=8)
    assert greedy == beam and len(greedy) == 3
    assert model.training  # put back as it was
    src = _Vocab().encode_batch(texts)
    assert greedy == _Vocab().decode_batch(greedy_decode(model.eval(), src, **SPECIALS, max_len=8))
    with pytest.raises(ValueError, match="method"):
        translate(model, texts, _Vocab(), _Vocab(), method="sample")


def test_cross_attention_weights():
    model = random_model(7)
    src = random_src(7, batch=3)
    tgt = torch.tensor([[BOS, 3, 4, 5], [BOS, 3, PAD, PAD], [BOS, 6, 7, PAD]])
    weights = cross_attention_weights(model, src, tgt, pad_id=PAD)
    assert len(weights) == 2
    for w in weights:
        assert w.shape == (3, 2, 4, src.shape[1])
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 2, 4, dtype=w.dtype))
        assert (
            w.masked_select((src == PAD)[:, None, None, :].expand_as(w)) == 0
        ).all()  # no weight on padding
    assert not any(
        m.cross_attn._forward_hooks or m.cross_attn._forward_pre_hooks for m in model.decoder.layers
    )
