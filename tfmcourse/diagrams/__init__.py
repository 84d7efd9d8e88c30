"""Diagrams drawn by code: the pictures of chapters 1 to 6 and 11 to 14 (matplotlib only, no image edited
by hand).

Each diagram is one function that returns the matplotlib ``Figure`` it drew, so a chapter shows it with
one line (``diagrams.encoder_layer()``) and a test can check that it draws. The shared pieces are in
:mod:`~tfmcourse.diagrams.parts`: a canvas in data units, labelled boxes and arrows. Colours say what a
piece is, the same in every diagram (:data:`COLORS`). The diagrams live one module per part of the book:

- :mod:`~tfmcourse.diagrams.rnn`: chapter 1 (``unrolled_rnn``, ``seq2seq_bottleneck``);
- :mod:`~tfmcourse.diagrams.attention`: chapters 2 and 3 (``qkv_attention``, ``multihead_split_merge``);
- :mod:`~tfmcourse.diagrams.transformer`: chapters 5 and 6 (``encoder_layer``, ``encoder_decoder``);
- :mod:`~tfmcourse.diagrams.families`: chapters 11 to 14 (``model_families``, ``vit_pipeline``,
  ``clip_towers``, ``speech_encoder``).
"""

from tfmcourse.diagrams.attention import multihead_split_merge, qkv_attention
from tfmcourse.diagrams.families import clip_towers, model_families, speech_encoder, vit_pipeline
from tfmcourse.diagrams.parts import COLORS, arrow, box, canvas
from tfmcourse.diagrams.rnn import seq2seq_bottleneck, unrolled_rnn
from tfmcourse.diagrams.transformer import encoder_decoder, encoder_layer

__all__ = [
    "COLORS",
    "canvas",
    "box",
    "arrow",
    "unrolled_rnn",
    "seq2seq_bottleneck",
    "qkv_attention",
    "multihead_split_merge",
    "encoder_layer",
    "encoder_decoder",
    "model_families",
    "vit_pipeline",
    "clip_towers",
    "speech_encoder",
]
