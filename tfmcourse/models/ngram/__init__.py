"""N-gram language models, counted and smoothed: the baselines a Transformer language model must beat
(chapter 9).

An n-gram model predicts the next token from the ``n - 1`` tokens before it and nothing else, with
probabilities counted on the training text. Counting alone gives probability zero to every n-gram the
training text does not contain, and with a long context most are missing, so the counts are
**smoothed**. :class:`KneserNeyLM` is interpolated modified Kneser-Ney smoothing
(Kneser and Ney, 1995; Chen and Goodman, 1999), the standard strong n-gram baseline:

- **Discounting.** A fixed amount ``D`` is taken off every count (``D1``, ``D2`` or ``D3`` for n-grams
  seen once, twice, or three times and more, estimated from how many n-grams have each count), and the
  probability mass freed this way goes to the next shorter context:
  ``p(w | h) = max(c(h w) - D, 0) / c(h) + gamma(h) / c(h) * p(w | h')``, with ``h'`` = ``h`` without
  its first token and ``gamma(h)`` the sum of the discounts taken in context ``h``. A context never
  seen falls back to ``p(w | h')`` entirely.
- **Continuation counts.** The shorter contexts are only consulted when the long one did not settle
  the question, so their counts are *how many different tokens precede* the n-gram, not how often it
  occurs: "Francisco" is frequent but nearly always after "San", so as a guess after an unseen context
  it deserves little weight.
- The recursion ends at the uniform distribution ``1 / vocab_size``, so every token has a positive
  probability and the probabilities of each context sum to 1 (a test checks it).

All counting is vectorised: the n-grams of each order get integer ids, built order by order (the id of
an n-gram is found from the id of its first ``n - 1`` tokens and its last token), and looked up with
``searchsorted``. Counting a few hundred thousand tokens up to order 10 takes seconds on one CPU core.

**The package.** :mod:`~tfmcourse.models.ngram.counts` holds the vectorised counting and the smoothing
statistics of every order, :mod:`~tfmcourse.models.ngram.model` the model :class:`KneserNeyLM` and
:func:`ngram_search`, which picks its order on validation data.
"""

from tfmcourse.models.ngram.model import KneserNeyLM, ngram_search

__all__ = ["KneserNeyLM", "ngram_search"]
