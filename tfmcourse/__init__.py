"""tfmcourse: the companion package of the book "tfmcourse: the Transformer, built and tested".

Each module holds one idea of the book, in the order the chapters build it:

- ``baselines``: RNN, LSTM and a small attention model for the comparisons of chapter 1.
- ``attention``: scaled dot-product and additive attention, causal and padding masks (chapter 2).
- ``multihead``: ``MultiHeadAttention`` (naive or SDPA, KV cache, copy from torch) (chapter 3).
- ``positional``: sinusoidal, learned and rotary positions (chapter 4).
- ``blocks``: feed-forward, encoder and decoder layers, pre-norm and post-norm (chapters 5-6).
- ``transformer``: ``Encoder``, ``Decoder`` and the encoder-decoder ``Transformer`` (chapter 6).
- ``data``: seeded task generators and corpora, all offline.
- ``train``, ``decode``, ``metrics``: the trainer, greedy and beam decoding, chrF (chapter 7).
- ``perf``, ``bench``, ``ddp``: FLOPs, MFU, benchmarks and data-parallel training (chapter 8).
- ``models.gpt``, ``sampling``: a GPT and text generation (chapters 9-10).
- ``plot``: the figures the chapters share; ``exercises``: the checkers.

Conventions kept everywhere (see ``docs/conventions.md``): batch first, ``(batch, seq, d_model)``;
boolean masks where ``True`` means "may attend"; bad input raises ``ValueError`` naming the argument
and the shapes.
"""

__version__ = "0.1.0"
