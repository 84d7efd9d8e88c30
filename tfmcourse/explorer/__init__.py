"""Interactive views of a trained model, each one self-contained piece of HTML (chapters 3, 7 and 9).

- :func:`attention_explorer`: the attention weights of a model on a few inputs, for every layer and
  head. Choose the input, the layer and the head; hover (or click) a query token to see where it looks.
- :func:`sampling_explorer`: a model's next-token distributions after a few prompts, with sliders for
  the temperature, top-k and top-p of :func:`tfmcourse.sampling.filter_logits`.
- :func:`capture_attention`: the weights of every :class:`~tfmcourse.multihead.MultiHeadAttention` of a
  model during one forward pass, to feed the attention explorer.

An explorer is an :class:`Explorer`: the last expression of a notebook cell shows it. Its HTML carries
its data (JSON) and its script inline and loads nothing from the network, so the same output works in
Jupyter, on Colab and in the rendered book (a static page). ``Explorer.save(path)`` writes it as a page
of its own.

The weights are stored rounded to 1/1000 and the logits to 1/10000: enough to draw and to read two
decimals, small enough to keep a page light.

The explorers live in :mod:`~tfmcourse.explorer.attention` and :mod:`~tfmcourse.explorer.sampling`; what
they share (the :class:`Explorer` object, :func:`visible`, the HTML fragment) in
:mod:`~tfmcourse.explorer.page`.
"""

from tfmcourse.explorer.attention import AttentionMap, attention_explorer, capture_attention
from tfmcourse.explorer.page import MAX_VALUES, Explorer, visible
from tfmcourse.explorer.sampling import sampling_distribution, sampling_explorer

__all__ = [
    "AttentionMap",
    "Explorer",
    "MAX_VALUES",
    "attention_explorer",
    "capture_attention",
    "sampling_distribution",
    "sampling_explorer",
    "visible",
]
