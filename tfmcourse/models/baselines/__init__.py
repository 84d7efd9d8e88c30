"""Recurrent baselines and the small self-attention model they are compared with (chapter 1).

Three sequence classifiers with one interface, so that an experiment can swap them freely::

    model = RNNModel(vocab_size, d_model, num_classes)  # or LSTMModel / AttentionModel(..., max_len=...)
    logits = model(tokens)  # (batch, seq) long -> (batch, num_classes)

Each reads the whole sequence and predicts from its *last* position. ``model.embed(tokens)`` gives the
input vectors ``(batch, seq, d_model)`` and ``model.from_embeddings(x)`` the logits from them, so an
experiment can ask how much the loss depends on the input at each step (``x.grad``).

The recurrent step written out by hand, :func:`rnn_step`, and the layer that loops it through time,
:class:`LoopRNN`, show what ``torch.nn.RNN`` does inside: one step after another, each waiting for the last.

**The package.** :mod:`~tfmcourse.models.baselines.layers` holds the pieces by hand (:func:`rnn_step`,
:func:`rnn_forward`, :class:`LoopRNN`, :class:`SelfAttention`), :mod:`~tfmcourse.models.baselines.classifiers`
the three sequence classifiers built on them.
"""

from tfmcourse.models.baselines.classifiers import AttentionModel, LSTMModel, RNNModel
from tfmcourse.models.baselines.layers import LoopRNN, SelfAttention, rnn_forward, rnn_step

__all__ = [
    "rnn_step",
    "rnn_forward",
    "LoopRNN",
    "SelfAttention",
    "RNNModel",
    "LSTMModel",
    "AttentionModel",
]
