"""The heads on chapter 11's BERT encoder: :class:`MLMHead` and :class:`BertForMLM` (masked language
modelling, the pre-training task), :class:`BertClassifier` (a label for the whole text from ``[CLS]``),
with their Hugging Face weight copies, and :func:`mlm_loss` for the trainer."""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import ACTIVATIONS
from tfmcourse.models.bert.config import BertConfig
from tfmcourse.models.bert.encoder import BERT

__all__ = ["MLMHead", "BertForMLM", "BertClassifier", "mlm_loss"]


class MLMHead(nn.Module):
    """BERT's masked-language-model head: ``dense -> GELU -> LayerNorm -> (x @ E^T + bias)``.

    ``E`` is the token embedding matrix ``(vocab, d_model)``, shared with the encoder (tied): the
    score of token ``t`` is the dot product of the transformed vector with ``t``'s input embedding.
    ``forward(h (..., d_model)) -> logits (..., vocab)``.
    """

    def __init__(self, config: BertConfig, embedding: nn.Embedding):
        super().__init__()
        c = config
        self.dense = nn.Linear(c.d_model, c.d_model)
        self.activation = c.activation
        self.norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.embedding = embedding  # the encoder's tok_embed (not a copy)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        nn.init.normal_(self.dense.weight, std=0.02)
        nn.init.zeros_(self.dense.bias)

    def forward(self, h: Float[Tensor, "... d_model"]) -> Float[Tensor, "... vocab"]:
        """``(..., d_model) -> (..., vocab)`` logits."""
        h = self.norm(ACTIVATIONS[self.activation](self.dense(h)))
        return h @ self.embedding.weight.T + self.bias


class BertForMLM(nn.Module):
    """BERT with its masked-language-model head: ``forward(ids, attention_mask=None, token_type_ids=None)``
    returns logits ``(batch, seq, vocab)``, a guess of the original token at every position.

    Submodules: ``bert`` (:class:`BERT`) and ``head`` (:class:`MLMHead`, tied to ``bert.tok_embed``).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.bert = BERT(config)
        self.head = MLMHead(config, self.bert.tok_embed)

    @property
    def config(self) -> BertConfig:
        return self.bert.config

    def num_params(self) -> int:
        """Number of trainable numbers (the tied embedding counts once)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        ids: Int[Tensor, "batch seq"],
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> Float[Tensor, "batch seq vocab"]:
        """``(batch, seq)`` ids -> ``(batch, seq, vocab)`` logits."""
        return self.head(self.bert(ids, attention_mask, token_type_ids))

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> BertForMLM:
        """A copy of a ``transformers.BertForMaskedLM`` (encoder and MLM head); same dtype, device, mode.

        The logits equal ``hf(ids, attention_mask=...).logits``.
        """
        if type(hf).__name__ != "BertForMaskedLM":
            raise ValueError(f"hf must be a transformers.BertForMaskedLM, got {type(hf).__name__}")
        hc = hf.config
        w = hf.bert.embeddings.word_embeddings.weight
        ours = cls(BERT.config_from_hf(hc, impl)).to(device=w.device, dtype=w.dtype)
        ours.bert.load_hf_state_dict(hf.bert.state_dict())
        sd = hf.cls.predictions.state_dict()
        decoder = hf.cls.predictions.decoder.weight
        if decoder.data_ptr() != w.data_ptr() and not torch.equal(decoder, w):
            raise ValueError("the MLM decoder of hf is not tied to its word embeddings; ours always is")
        with torch.no_grad():
            ours.head.dense.weight.copy_(sd["transform.dense.weight"])
            ours.head.dense.bias.copy_(sd["transform.dense.bias"])
            ours.head.norm.weight.copy_(sd["transform.LayerNorm.weight"])
            ours.head.norm.bias.copy_(sd["transform.LayerNorm.bias"])
            ours.head.bias.copy_(sd["bias"] if "bias" in sd else sd["decoder.bias"])
        return ours.train(hf.training)


class BertClassifier(nn.Module):
    """BERT for classifying a whole text from its ``[CLS]`` vector (the first position).

    ``logits = classifier(dropout(tanh(pooler(h[:, 0]))))``, ``(batch, num_labels)``, as
    ``BertForSequenceClassification``. Submodules: ``bert`` (:class:`BERT`), ``pooler``
    (``nn.Linear(d_model, d_model)``), ``dropout``, ``classifier`` (``nn.Linear(d_model, num_labels)``).
    Start from a pre-trained encoder with ``BertClassifier(config, n, bert=pretrained.bert)``.
    """

    def __init__(self, config: BertConfig, num_labels: int, bert: BERT | None = None):
        super().__init__()
        if not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < 2:
            raise ValueError(f"num_labels must be an int >= 2, got {num_labels!r}")
        self.bert = BERT(config) if bert is None else bert
        if self.bert.config != config:
            raise ValueError("bert was built with another config than the one given")
        self.pooler = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.d_model, num_labels)
        for lin in (self.pooler, self.classifier):
            nn.init.normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)

    @property
    def config(self) -> BertConfig:
        return self.bert.config

    def forward(
        self,
        ids: Int[Tensor, "batch seq"],
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> Float[Tensor, "batch num_labels"]:
        """``(batch, seq)`` ids (``[CLS]`` first) -> ``(batch, num_labels)`` logits."""
        cls_vector = self.bert(ids, attention_mask, token_type_ids)[:, 0]
        return self.classifier(self.dropout(torch.tanh(self.pooler(cls_vector))))

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> BertClassifier:
        """A copy of a ``transformers.BertForSequenceClassification`` (single-label); same logits."""
        if type(hf).__name__ != "BertForSequenceClassification" or hf.bert.pooler is None:
            raise ValueError(
                f"hf must be a transformers.BertForSequenceClassification, got {type(hf).__name__}"
            )
        bert = BERT.from_hf(hf.bert, impl)
        w = hf.classifier.weight
        ours = cls(bert.config, hf.config.num_labels, bert=bert).to(device=w.device, dtype=w.dtype)
        with torch.no_grad():
            for mine, theirs in ((ours.pooler, hf.bert.pooler.dense), (ours.classifier, hf.classifier)):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
        return ours.train(hf.training)


# ----------------------------------------------------------------------------- training helpers


def mlm_loss(model: BertForMLM, batch: tuple[Tensor, Tensor]) -> Float[Tensor, ""]:
    """Masked-language-model cross entropy (nats per predicted token) of ``model`` on ``(inputs, labels)``.

    ``labels`` ``(batch, seq)`` holds the original id at the positions to predict and ``-100``
    elsewhere (:func:`tfmcourse.data.mlm.mask_tokens`). The output layer runs only at the positions to
    predict (about 15%), not at every position: the same loss, several times less work.
    Usable as the ``loss_fn`` of :class:`tfmcourse.train.Trainer`.
    """
    inputs, labels = batch
    if not isinstance(inputs, Tensor) or not isinstance(labels, Tensor) or inputs.shape != labels.shape:
        raise ValueError(
            f"batch must be (inputs, labels) of the same (batch, seq) shape, got "
            f"{getattr(inputs, 'shape', inputs)} and {getattr(labels, 'shape', labels)}"
        )
    predict = labels != -100
    padding = inputs == model.config.pad_id
    hidden = model.bert(inputs, attention_mask=(~padding).long() if padding.any() else None)
    return torch.nn.functional.cross_entropy(model.head(hidden[predict]), labels[predict])
