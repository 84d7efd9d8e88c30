"""Complete models built from the book's blocks, with weight copies from and to Hugging Face classes.

- :mod:`tfmcourse.models.gpt`: a decoder-only language model (GPT-2's layout), chapter 9.
- :mod:`tfmcourse.models.speech`: a conv front-end + Transformer encoder for speech, and a CNN baseline,
  chapter 14.
"""

from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.models.speech import SpeechCNN, SpeechTransformer

__all__ = ["GPT", "GPTConfig", "SpeechTransformer", "SpeechCNN"]
