"""Chapter 11's encoder, :class:`BERT`: token, position and segment embeddings, then post-norm encoder
layers that see the whole text both ways; its inputs are checked here, and :meth:`BERT.from_hf` copies a
Hugging Face ``BertModel``. The heads on top are in :mod:`tfmcourse.models.bert.heads`."""

from __future__ import annotations

import torch
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import EncoderLayer
from tfmcourse.checks import entry_point
from tfmcourse.models.bert.config import BertConfig

__all__ = ["BERT", "attention_mask_from_padding"]


#: Hugging Face's ``hidden_act`` names and ours.
_FROM_HF_ACTIVATION = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


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
    """Hugging Face's ``attention_mask``: ``(batch, seq)``, 1 at the real tokens, 0 where
    ``ids == pad_id``."""
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


def _check_embed(model: nn.Module, ids: object, token_type_ids: object = None) -> None:
    c = model.config
    _check_ids("ids", ids, c.vocab_size)
    seq = ids.shape[1]
    if seq == 0 or seq > c.max_len:
        raise ValueError(f"ids has shape {_shape(ids)}: seq must be between 1 and max_len={c.max_len}")
    if token_type_ids is not None:
        _check_ids("token_type_ids", token_type_ids, c.type_vocab_size, tuple(ids.shape))


def _check_forward(
    model: nn.Module, ids: object, attention_mask: object = None, token_type_ids: object = None
) -> None:
    _check_embed(model, ids, token_type_ids)
    if attention_mask is not None and (
        not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != tuple(ids.shape)
    ):
        got = _shape(attention_mask) if isinstance(attention_mask, Tensor) else type(attention_mask).__name__
        raise ValueError(
            f"attention_mask must be (batch, seq) = {_shape(ids)} like ids "
            f"(1 = real token, 0 = padding), got {got}"
        )


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

    @entry_point(_check_embed)
    def embed(
        self, ids: Int[Tensor, "batch seq"], token_type_ids: Int[Tensor, "batch seq"] | None = None
    ) -> Float[Tensor, "batch seq d_model"]:
        """``dropout(norm(token + position + type embeddings))``: the input of the first layer."""
        batch, seq = ids.shape
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        positions = torch.arange(seq, device=ids.device)
        x = self.tok_embed(ids) + self.pos_embed(positions)[None] + self.type_embed(token_type_ids)
        return self.embed_dropout(self.embed_norm(x))

    @entry_point(_check_forward)
    def forward(
        self,
        ids: Int[Tensor, "batch seq"],
        attention_mask: Int[Tensor, "batch seq"] | Bool[Tensor, "batch seq"] | None = None,
        token_type_ids: Int[Tensor, "batch seq"] | None = None,
    ) -> Float[Tensor, "batch seq d_model"]:
        """Token ids ``(batch, seq)`` -> hidden states ``(batch, seq, d_model)`` (see the class docstring)."""
        x = self.embed(ids, token_type_ids)
        mask = None
        if attention_mask is not None:
            # (batch, seq) -> (batch, 1, 1, seq): every query may attend to the real keys only.
            mask = rearrange(attention_mask.bool(), "b k -> b 1 1 k")
        for layer in self.layers:
            x = layer(x, mask=mask)
        return x

    # ------------------------------------------------------------------------------ Hugging Face
    @staticmethod
    def config_from_hf(hc, impl: str = "naive") -> BertConfig:
        """Our :class:`BertConfig` for a ``transformers.BertConfig`` ``hc`` (ValueError if we cannot copy
        it)."""
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
