"""Complete models built from the book's blocks, with weight copies from and to reference implementations.

- :mod:`tfmcourse.models.baselines`: the RNN and LSTM classifiers and the one-layer attention model of
  chapter 1.
- :mod:`tfmcourse.models.order`: the small encoder of the position experiments of chapter 4.
- :mod:`tfmcourse.models.transformer`: the encoder-decoder Transformer, chapters 6 and 7.
- :mod:`tfmcourse.models.gpt`: a decoder-only language model (GPT-2's layout), chapter 9.
- :mod:`tfmcourse.models.rnn_seq2seq`: the RNN encoder-decoder with one fixed vector between them, chapter 1.
- :mod:`tfmcourse.models.bert`: BERT (encoder-only, masked language modelling), chapter 11.
- :mod:`tfmcourse.models.vit`: the Vision Transformer, chapter 12.
- :mod:`tfmcourse.models.clip`: CLIP, an image tower and a text tower in one space, chapter 13.
- :mod:`tfmcourse.models.speech`: a conv front-end + Transformer encoder for speech, and a CNN baseline,
  chapter 14.
"""

from tfmcourse.models.bert import BERT, BertConfig
from tfmcourse.models.clip import CLIP, CLIPConfig
from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.models.rnn_seq2seq import RNNSeq2Seq
from tfmcourse.models.speech import SpeechCNN, SpeechTransformer
from tfmcourse.models.transformer import Transformer, TransformerConfig
from tfmcourse.models.vit import ViT, ViTConfig

__all__ = [
    "BERT",
    "BertConfig",
    "CLIP",
    "CLIPConfig",
    "GPT",
    "GPTConfig",
    "RNNSeq2Seq",
    "SpeechCNN",
    "SpeechTransformer",
    "Transformer",
    "TransformerConfig",
    "ViT",
    "ViTConfig",
]
