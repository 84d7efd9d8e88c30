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

**Porting note.** The encoder layers are built in one place, :func:`_layer`, from today's
``EncoderLayer`` constructor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import ACTIVATIONS, EncoderLayer
from tfmcourse.checks import check_positive
from tfmcourse.multihead import IMPLS

__all__ = [
    "BertConfig",
    "BERT",
    "MLMHead",
    "BertForMLM",
    "BertClassifier",
    "attention_mask_from_padding",
    "mlm_loss",
]

#: Hugging Face's ``hidden_act`` names and ours.
_FROM_HF_ACTIVATION = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


@dataclass
class BertConfig:
    """The hyperparameters of a :class:`BERT`.

    Args:
        vocab_size: number of token ids (special tokens included).
        max_len: the longest sequence (number of learned positions), HF's ``max_position_embeddings``.
        d_model: width of every vector (HF's ``hidden_size``); ``num_heads`` must divide it.
        num_layers: encoder layers.
        num_heads: attention heads per layer.
        d_ff: hidden width of the feed-forward networks (``None``: ``4 * d_model``).
        type_vocab_size: number of token types (segments); 2 in BERT (sentence A, sentence B).
        dropout: on the embeddings, the attention weights and each sublayer's output.
        layer_norm_eps: ``eps`` of every LayerNorm (BERT uses ``1e-12``).
        activation: of the feed-forward networks (BERT: exact ``"gelu"``).
        pad_id: the id of the padding token (its embedding row starts at zero, as in HF).
        impl: attention implementation, ``"naive"`` or ``"sdpa"``.
    """

    vocab_size: int
    max_len: int = 128
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int | None = None
    type_vocab_size: int = 2
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    activation: str = "gelu"
    pad_id: int = 0
    impl: str = "naive"

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        sizes = ("vocab_size", "max_len", "d_model", "num_layers", "num_heads", "d_ff", "type_vocab_size")
        check_positive(**{name: getattr(self, name) for name in sizes})
        if self.d_model % self.num_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if not isinstance(self.pad_id, int) or not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(
                f"pad_id must be a token id in [0, vocab_size={self.vocab_size}), got {self.pad_id!r}"
            )
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")


def _layer(config: BertConfig) -> EncoderLayer:
    """One BERT layer from the package's encoder layer: post-norm, BERT's activation and ``eps``.

    BERT has no dropout after the feed-forward activation (only on each sublayer's output), so that
    dropout is switched off. (The only place where this module calls the layer's constructor.)
    """
    layer = EncoderLayer(
        config.d_model,
        config.num_heads,
        config.d_ff,
        dropout=config.dropout,
        activation=config.activation,
        norm_first=False,
        layer_norm_eps=config.layer_norm_eps,
        impl=config.impl,
    )
    layer.ff.dropout = nn.Dropout(0.0)
    return layer


def attention_mask_from_padding(ids: Int[Tensor, "batch seq"], pad_id: int) -> Int[Tensor, "batch seq"]:
    """Hugging Face's ``attention_mask``: ``(batch, seq)``, 1 at the real tokens, 0 where ``ids == pad_id``."""
    if not isinstance(ids, Tensor) or ids.ndim != 2:
        raise ValueError(
            f"ids must be a (batch, seq) tensor, got {getattr(ids, 'shape', type(ids).__name__)}"
        )
    return (ids != pad_id).long()


def _check_ids(name: str, ids: object, high: int, shape: tuple[int, ...] | None = None) -> None:
    if not isinstance(ids, Tensor) or ids.ndim != 2 or ids.is_floating_point() or ids.dtype == torch.bool:
        what = f"dtype {ids.dtype}, shape {_shape(ids)}" if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"{name} must be a (batch, seq) integer tensor, got {what}")
    if shape is not None and tuple(ids.shape) != shape:
        raise ValueError(f"{name} has shape {_shape(ids)} but ids has shape {shape}: they must match")
    if ids.numel() and (ids.min() < 0 or ids.max() >= high):
        raise ValueError(f"{name} has values in [{int(ids.min())}, {int(ids.max())}], outside [0, {high})")


class BERT(nn.Module):
    """The BERT encoder: embeddings, then post-norm encoder layers; no head.

    ``BERT(config)`` with a :class:`BertConfig`. Submodules: ``tok_embed``, ``pos_embed``,
    ``type_embed`` (``nn.Embedding``), ``embed_norm`` (LayerNorm), ``embed_dropout``, ``layers`` (a
    ``ModuleList`` of :class:`~tfmcourse.blocks.EncoderLayer`).

    ``forward(ids, attention_mask=None, token_type_ids=None)`` with ``ids (batch, seq)`` returns the
    hidden states ``(batch, seq, d_model)``. ``attention_mask (batch, seq)``: 1 (or ``True``) at real
    tokens, 0 at padding (HF's convention; ``None`` = no padding); ``token_type_ids (batch, seq)``:
    the segment of every token (``None`` = all 0).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise ValueError(f"config must be a BertConfig, got {type(config).__name__}")
        self.config = c = config
        self.tok_embed = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.pos_embed = nn.Embedding(c.max_len, c.d_model)
        self.type_embed = nn.Embedding(c.type_vocab_size, c.d_model)
        self.embed_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.embed_dropout = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(_layer(c) for _ in range(c.num_layers))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT's initialisation: weights normal with std 0.02, biases 0, LayerNorms 1, the padding row 0."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            self.tok_embed.weight[self.config.pad_id].zero_()

    def num_params(self) -> int:
        """Number of trainable numbers."""
        return sum(p.numel() for p in self.parameters())

    def embed(
        self, ids: Int[Tensor, "batch seq"], token_type_ids: Int[Tensor, "batch seq"] | None = None
    ) -> Float[Tensor, "batch seq d_model"]:
        """``dropout(norm(token + position + type embeddings))``: the input of the first layer."""
        c = self.config
        _check_ids("ids", ids, c.vocab_size)
        batch, seq = ids.shape
        if seq == 0 or seq > c.max_len:
            raise ValueError(f"ids has shape {_shape(ids)}: seq must be between 1 and max_len={c.max_len}")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        _check_ids("token_type_ids", token_type_ids, c.type_vocab_size, tuple(ids.shape))
        positions = torch.arange(seq, device=ids.device)
        x = self.tok_embed(ids) + self.pos_embed(positions)[None] + self.type_embed(token_type_ids)
        return self.embed_dropout(self.embed_norm(x))

    def forward(
        self,
        ids: Int[Tensor, "batch seq"],
        attention_mask: Int[Tensor, "batch seq"] | None = None,
        token_type_ids: Int[Tensor, "batch seq"] | None = None,
    ) -> Float[Tensor, "batch seq d_model"]:
        """Token ids ``(batch, seq)`` -> hidden states ``(batch, seq, d_model)`` (see the class docstring)."""
        x = self.embed(ids, token_type_ids)
        mask = None
        if attention_mask is not None:
            if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != tuple(ids.shape):
                got = (
                    _shape(attention_mask)
                    if isinstance(attention_mask, Tensor)
                    else type(attention_mask).__name__
                )
                raise ValueError(
                    f"attention_mask must be (batch, seq) = {_shape(ids)} like ids "
                    f"(1 = real token, 0 = padding), got {got}"
                )
            # (batch, seq) -> (batch, 1, 1, seq): every query may attend to the real keys only.
            mask = rearrange(attention_mask.bool(), "b k -> b 1 1 k")
        for layer in self.layers:
            x = layer(x, mask=mask)
        return x

    # ------------------------------------------------------------------------------ Hugging Face
    @staticmethod
    def config_from_hf(hc, impl: str = "naive") -> BertConfig:
        """Our :class:`BertConfig` for a ``transformers.BertConfig`` ``hc`` (ValueError if we cannot copy it)."""
        if getattr(hc, "position_embedding_type", "absolute") != "absolute":
            raise ValueError(
                f"only absolute position embeddings can be copied, got {hc.position_embedding_type!r}"
            )
        if hc.hidden_act not in _FROM_HF_ACTIVATION:
            raise ValueError(
                f"unsupported hidden_act {hc.hidden_act!r}; supported: {tuple(_FROM_HF_ACTIVATION)}"
            )
        if getattr(hc, "is_decoder", False) or getattr(hc, "add_cross_attention", False):
            raise ValueError("a BERT used as a decoder (is_decoder / add_cross_attention) cannot be copied")
        return BertConfig(
            vocab_size=hc.vocab_size,
            max_len=hc.max_position_embeddings,
            d_model=hc.hidden_size,
            num_layers=hc.num_hidden_layers,
            num_heads=hc.num_attention_heads,
            d_ff=hc.intermediate_size,
            type_vocab_size=hc.type_vocab_size,
            dropout=float(hc.hidden_dropout_prob),
            layer_norm_eps=hc.layer_norm_eps,
            activation=_FROM_HF_ACTIVATION[hc.hidden_act],
            pad_id=hc.pad_token_id if hc.pad_token_id is not None else 0,
            impl=impl,
        )

    def load_hf_state_dict(self, sd: dict[str, Tensor], prefix: str = "") -> None:
        """Copy the weights of a Hugging Face BERT encoder (``sd`` its state dict, keys after ``prefix``)."""

        def get(name: str) -> Tensor:
            key = prefix + name
            if key not in sd:
                raise ValueError(f"the Hugging Face state dict has no {key!r}: is it a BERT?")
            return sd[key]

        with torch.no_grad():
            self.tok_embed.weight.copy_(get("embeddings.word_embeddings.weight"))
            self.pos_embed.weight.copy_(get("embeddings.position_embeddings.weight"))
            self.type_embed.weight.copy_(get("embeddings.token_type_embeddings.weight"))
            self.embed_norm.weight.copy_(get("embeddings.LayerNorm.weight"))
            self.embed_norm.bias.copy_(get("embeddings.LayerNorm.bias"))
            for i, layer in enumerate(self.layers):
                p, a = f"encoder.layer.{i}.", layer.self_attn
                pairs = [
                    (a.q_proj, "attention.self.query"),
                    (a.k_proj, "attention.self.key"),
                    (a.v_proj, "attention.self.value"),
                    (a.out_proj, "attention.output.dense"),
                    (layer.norm1, "attention.output.LayerNorm"),
                    (layer.ff.linear1, "intermediate.dense"),
                    (layer.ff.linear2, "output.dense"),
                    (layer.norm2, "output.LayerNorm"),
                ]
                for module, name in pairs:  # nn.Linear (out, in) in both: no transpose
                    module.weight.copy_(get(p + name + ".weight"))
                    module.bias.copy_(get(p + name + ".bias"))

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> BERT:
        """A :class:`BERT` with the encoder weights of ``hf``: a ``transformers.BertModel``, or a model
        that holds one as ``hf.bert`` (``BertForMaskedLM``, ``BertForSequenceClassification``).

        Same dtype, device and mode as ``hf``; ``ours(ids, attention_mask)`` equals
        ``hf(ids, attention_mask=attention_mask).last_hidden_state``.
        """
        bert = getattr(hf, "bert", hf)
        hc = getattr(bert, "config", None)
        if type(bert).__name__ != "BertModel" or hc is None:
            raise ValueError(
                f"hf must be a transformers.BertModel (or hold one as .bert), got {type(hf).__name__}"
            )
        if not (hc.hidden_dropout_prob == hc.attention_probs_dropout_prob):
            raise ValueError(
                f"BERT needs one dropout value, got hidden_dropout_prob={hc.hidden_dropout_prob}, "
                f"attention_probs_dropout_prob={hc.attention_probs_dropout_prob}"
            )
        w = bert.embeddings.word_embeddings.weight
        ours = cls(cls.config_from_hf(hc, impl)).to(device=w.device, dtype=w.dtype)
        ours.load_hf_state_dict(bert.state_dict())
        return ours.train(hf.training)


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
