"""BERT: an encoder-only Transformer that reads the whole text at once, both ways (chapter 11).

BERT {Devlin et al. 2019} is the encoder of chapter 6 used on its own. It reads token ids
``(batch, seq)`` and returns one vector per token, ``(batch, seq, d_model)``, each computed from the
*whole* sequence: no causal mask, every position sees the tokens before and after it.

1. embeddings: token + learned position + **token type** (segment A or B, for sentence pairs), then a
   LayerNorm and dropout;
2. ``num_layers`` **post-norm** encoder layers (:class:`~tfmcourse.blocks.EncoderLayer` with
   ``norm_first=False``, exact GELU, ``eps = 1e-12``), ``x = norm1(x + attn(x))``,
   ``x = norm2(x + ff(x))``; padding is hidden from the attention by a ``(batch, 1, 1, seq)`` mask;
3. heads on top: :class:`MLMHead` predicts the token at every position (dense, GELU, LayerNorm, then
   the token embedding matrix as output layer, tied) and :class:`BertClassifier` classifies the whole
   text from the vector of its first token, ``[CLS]`` (a dense layer with tanh, the *pooler*, then a
   linear layer).

**Hugging Face.** :meth:`BERT.from_hf` copies a ``transformers.BertModel`` (or the ``bert`` inside
``BertForMaskedLM`` / ``BertForSequenceClassification``) and :meth:`BertForMLM.from_hf`,
:meth:`BertClassifier.from_hf` copy the heads too; the hidden states equal ``last_hidden_state``.
Hugging Face takes ``attention_mask`` as ``(batch, seq)`` with 1 at the real tokens and 0 at the
padding, and so do we; inside, it becomes our boolean ``(batch, 1, 1, seq)`` mask, ``True`` = may
attend. ``transformers`` is imported only inside the ``from_hf`` methods.

**The package.** :mod:`~tfmcourse.models.bert.config` holds :class:`BertConfig`,
:mod:`~tfmcourse.models.bert.encoder` the encoder :class:`BERT` (its layers are built in one place,
``_layer``, from today's ``EncoderLayer`` constructor) and its weight copy from Hugging Face,
:mod:`~tfmcourse.models.bert.heads` the heads (:class:`MLMHead`, :class:`BertForMLM`,
:class:`BertClassifier`) and the training loss :func:`mlm_loss`.
"""

from tfmcourse.models.bert.config import BertConfig
from tfmcourse.models.bert.encoder import BERT, attention_mask_from_padding
from tfmcourse.models.bert.heads import BertClassifier, BertForMLM, MLMHead, mlm_loss

__all__ = [
    "BertConfig",
    "BERT",
    "MLMHead",
    "BertForMLM",
    "BertClassifier",
    "attention_mask_from_padding",
    "mlm_loss",
]
