"""CLIP: an image tower and a text tower that map into one space (chapter 13).

CLIP {Radford et al. 2021} trains two encoders side by side so that an image and a text that describe
the same thing land on nearby unit vectors, and unrelated ones far apart:

1. the **image tower** is the ViT of chapter 12 (:class:`~tfmcourse.models.vit.ViT`): patches,
   ``[CLS]`` in front, learned positions, then, as in CLIP, a LayerNorm *before* the pre-norm encoder
   layers (``visual_pre_norm``, HF's ``pre_layrnorm``) and the ViT's final LayerNorm; the image is the
   output vector at ``[CLS]``. CLIP's patch embedding has no bias;
2. the **text tower** is a causal Transformer (a GPT without its language-model head): token plus
   learned position embeddings, pre-norm encoder layers under a causal mask (and a padding mask), a
   final LayerNorm; the text is the output vector at its **end-of-text token** (EOT), the one position
   that has seen the whole text;
3. one linear **projection** per tower (no bias) maps both to the shared ``proj_dim``; the embeddings
   are divided by their length, so similarity is a cosine;
4. a learnable **temperature**: ``logit_scale`` holds ``log(1 / temperature)`` (CLIP starts at
   ``log(1 / 0.07)``), and ``logits_per_image = exp(logit_scale) * image_embeds @ text_embeds.T``.

Training (:func:`contrastive_loss`) makes the matching image and text of every pair in a batch the right
answer of a softmax over all texts (for each image) and over all images (for each text): the symmetric
InfoNCE loss.

Both towers' feed-forward networks use CLIP's **quick GELU**, ``x * sigmoid(1.702 * x)`` (a cheaper
approximation of GELU, :func:`quick_gelu`), with ``activation="quick_gelu"``; the package's other
activations (``"gelu"``, ...) work too.

**Hugging Face.** :meth:`CLIP.from_hf` copies a ``transformers.CLIPModel``: :meth:`CLIP.encode_image`
equals ``get_image_features``, :meth:`CLIP.encode_text` equals ``get_text_features`` and
:meth:`CLIP.forward` equals ``logits_per_image``. (In transformers 5, the two ``get_*_features`` return
a ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds the projected features; in version 4 they
returned that tensor itself.) HF finds the EOT position as the first ``eos_token_id`` in each row, or,
for old configs with ``eos_token_id == 2``, as the position of the largest id (in the original CLIP
vocabulary EOT has the largest id); our ``eot_id`` is the first rule and ``eot_id=None`` the second.

**The package.** :mod:`~tfmcourse.models.clip.config` holds :class:`CLIPConfig`,
:mod:`~tfmcourse.models.clip.layers` the encoder layer of both towers (:func:`quick_gelu`),
:mod:`~tfmcourse.models.clip.model` the model :class:`CLIP`, :mod:`~tfmcourse.models.clip.hf` the weight
copy from Hugging Face and :mod:`~tfmcourse.models.clip.loss` the contrastive loss. Every encoder layer of
both towers is built in one place, :func:`~tfmcourse.models.clip.layers.clip_layer`, from today's
``EncoderLayer`` constructor.
"""

from tfmcourse.models.clip.config import CLIPConfig
from tfmcourse.models.clip.layers import QuickGELUFeedForward, quick_gelu
from tfmcourse.models.clip.loss import clip_loss, contrastive_loss
from tfmcourse.models.clip.model import CLIP

__all__ = ["CLIPConfig", "CLIP", "quick_gelu", "QuickGELUFeedForward", "contrastive_loss", "clip_loss"]
