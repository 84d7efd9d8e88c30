"""tfmcourse: the companion package of the book "tfmcourse: the Transformer, built and tested".

Each module holds one idea of the book, in the order the chapters build it:

- ``attention``: scaled dot-product and additive attention, causal and padding masks (chapter 2).
- ``multihead``: ``MultiHeadAttention`` (naive or SDPA, KV cache, RoPE, copy from torch) (chapter 3).
- ``positional``: sinusoidal, learned and rotary positions (chapter 4).
- ``config``, ``blocks``, ``transformer``: ``TransformerConfig``, feed-forward, encoder and decoder layers,
  pre-norm and post-norm, the ``Encoder`` and ``Decoder`` stacks and their masks (chapters 5-6).
- ``models``: every complete model: the encoder-decoder ``Transformer`` (chapters 6-7), ``GPT`` (chapters
  9-10), chapter 4's ``OrderModel`` and chapter 1's RNN, LSTM and attention baselines.
- ``checks``, ``cache``: the input checks shared by every module, and the ``KVCache`` of every model.
- ``data``: seeded task generators and corpora, all offline.
- ``train`` (with ``schedules``, ``losses``, ``checkpoint``, ``speed``), ``decode``, ``metrics``: the
  trainer, greedy and beam decoding, chrF (chapter 7).
- ``perf``, ``memory``, ``bench``, ``ddp``: FLOPs, MFU, memory, benchmarks, data-parallel training
  (chapter 8).
- ``sampling``: text generation (chapters 9-10).
- ``plot``: the figures the chapters share; ``exercises``: the checkers.

Conventions kept everywhere, and a map of the modules with the direction of their imports: the section
"The package" of ``docs/authoring.md``. In short: batch first, ``(batch, seq, d_model)``; boolean masks where
``True`` means "may attend"; bad input raises ``ValueError`` naming the argument and the shapes, once, at
the entry point a learner called.
"""

__version__ = "0.1.0"
