"""Complete models built from the book's blocks, with weight copies from and to reference implementations.

- :mod:`tfmcourse.models.baselines`: the RNN and LSTM classifiers and the one-layer attention model of
  chapter 1.
- :mod:`tfmcourse.models.order`: the small encoder of the position experiments of chapter 4.
- :mod:`tfmcourse.models.transformer`: the encoder-decoder Transformer, chapters 6 and 7.
- :mod:`tfmcourse.models.gpt`: a decoder-only language model (GPT-2's layout), chapter 9.
- :mod:`tfmcourse.models.speech`: a conv front-end + Transformer encoder for speech, and a CNN baseline,
  chapter 14.
"""

from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.models.speech import SpeechCNN, SpeechTransformer
from tfmcourse.models.transformer import Transformer, TransformerConfig

__all__ = ["GPT", "GPTConfig", "SpeechCNN", "SpeechTransformer", "Transformer", "TransformerConfig"]
