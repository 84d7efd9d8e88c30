"""tfmcourse.models.table: a next-token table with the encoder-decoder interface, run by the decoders."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.decode import beam_search, greedy_decode
from tfmcourse.models.table import NextTokenTable

BOS, EOS = 1, 2

# Greedy takes 3 (0.4), then its best continuation 6 (0.28): 0.112. Beam search with 2 beams keeps 3 and 4
# after one token; after two, both continuations of 4 (0.182, 0.168) beat 3 6 (0.112), which is pruned, and
# the search ends with a sequence of probability 0.0364. With 3 beams, 3 6 survives and wins.
PRUNES_GREEDY = {
    (): {3: 0.4, 4: 0.35, 5: 0.25},
    (3,): {6: 0.28, 7: 0.26, 8: 0.24, 4: 0.22},
    (4,): {6: 0.52, 7: 0.48},
    (5,): {6: 0.3, 7: 0.26, 8: 0.24, 4: 0.2},
    (4, 6): {3: 0.2, 4: 0.19, 5: 0.18, 6: 0.16, 7: 0.14, 8: 0.13},
    (4, 7): {3: 0.2, 4: 0.19, 5: 0.18, 6: 0.16, 7: 0.14, 8: 0.13},
}
# The usual case: greedy's first token (3, 0.6) has only weak continuations (0.6 * 0.4 = 0.24); two beams
# also keep 4 (0.4), whose continuation is certain (0.4 in total).
GREEDY_TRAP = {(): {3: 0.6, 4: 0.4}, (3,): {6: 0.4, 7: 0.3, 8: 0.3}, (4,): {6: 1.0}}


def test_log_prob_and_unknown_prefixes_end():
    model = NextTokenTable(PRUNES_GREEDY, vocab=9)
    assert model.log_prob([3, 6, EOS]) == pytest.approx(math.log(0.4 * 0.28))
    assert model.log_prob([4, 6, 3, EOS]) == pytest.approx(math.log(0.35 * 0.52 * 0.2))
    assert model.distribution((7, 7)) == {EOS: 1.0}
    assert model.log_prob([3, 3]) == -math.inf


def test_decode_with_and_without_the_cache_agree():
    model = NextTokenTable(PRUNES_GREEDY, vocab=9)
    tgt = torch.tensor([[BOS, 4, 6, 3], [BOS, 3, 6, EOS]])
    memory = model.encode(torch.ones(2, 3, dtype=torch.long))
    full = model.decode(tgt, memory)
    cache = model.new_cache()
    steps = torch.cat([model.decode(tgt[:, i : i + 1], memory, cache=cache) for i in range(4)], dim=1)
    assert torch.equal(full, steps)
    assert full[0, 1].exp()[6] == pytest.approx(0.52)  # after 4, 6 has probability 0.52
    torch.testing.assert_close(full[0, 0].exp().sum(), torch.tensor(1.0))


def test_beam_search_can_prune_the_greedy_path():
    model = NextTokenTable(PRUNES_GREEDY, vocab=9)
    src = torch.ones(1, 2, dtype=torch.long)
    greedy = greedy_decode(model, src, bos_id=BOS, eos_id=EOS, max_len=6)[0].tolist()
    assert greedy == [3, 6, EOS]
    beam2 = beam_search(model, src, bos_id=BOS, eos_id=EOS, beam_size=2, max_len=6)[0][0]
    assert beam2.tokens == [4, 6, 3, EOS] and beam2.log_prob < model.log_prob(greedy) - 1
    beam3 = beam_search(model, src, bos_id=BOS, eos_id=EOS, beam_size=3, max_len=6)[0][0]
    assert beam3.tokens == greedy


def test_beam_search_escapes_the_greedy_trap():
    model = NextTokenTable(GREEDY_TRAP, vocab=9)
    src = torch.ones(1, 2, dtype=torch.long)
    assert greedy_decode(model, src, bos_id=BOS, eos_id=EOS, max_len=6)[0].tolist() == [3, 6, EOS]
    best = beam_search(model, src, bos_id=BOS, eos_id=EOS, beam_size=2, max_len=6)[0][0]
    assert best.tokens == [4, 6, EOS] and best.log_prob == pytest.approx(math.log(0.4))


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="add up to 1"):
        NextTokenTable({(): {3: 0.5}}, vocab=5)
    with pytest.raises(ValueError, match="other than <bos>"):
        NextTokenTable({(): {BOS: 1.0}}, vocab=5)
    with pytest.raises(ValueError, match="vocab"):
        NextTokenTable({}, vocab=2)
