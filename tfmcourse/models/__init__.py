"""Complete models built from the book's blocks, with weight copies from and to Hugging Face classes.

- :mod:`tfmcourse.models.gpt`: a decoder-only language model (GPT-2's layout), chapter 9.
"""

from tfmcourse.models.gpt import GPT, GPTConfig

__all__ = ["GPT", "GPTConfig"]
