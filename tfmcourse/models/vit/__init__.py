"""ViT: a Transformer encoder that reads an image as a sequence of patches (chapter 12).

The Vision Transformer {Dosovitskiy et al. 2021} cuts an image ``(channels, height, width)`` into
square patches of ``patch_size x patch_size`` pixels, flattens every patch into one vector, and from
there on treats the patches exactly like the tokens of a sentence:

1. **patch embedding**: ``rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)")`` then one
   linear layer to ``d_model`` (the same as a convolution with kernel and stride ``patch_size``);
2. a learned ``[CLS]`` vector is put in front of the patches, and a learned position vector is added
   to every one of the ``1 + patches`` positions;
3. ``num_layers`` **pre-norm** encoder layers (:class:`~tfmcourse.blocks.EncoderLayer` with
   ``norm_first=True``, exact GELU, ``eps = 1e-12``) and a final LayerNorm;
4. :class:`ViTClassifier` classifies the image from the ``[CLS]`` vector with one linear layer.

Nothing in the encoder knows that the patches come from a 2-D grid: the positions are learned, one
vector per patch index, and whatever the model knows about rows and columns it has to learn.

**Hugging Face.** :meth:`ViT.from_hf` copies a ``transformers.ViTModel`` (or the ``vit`` inside
``ViTForImageClassification``); the outputs equal ``last_hidden_state``. HF embeds the patches with a
``Conv2d`` whose weight ``(d_model, c, p1, p2)`` becomes our linear weight by
``rearrange(w, "d c p1 p2 -> d (p1 p2 c)")``. ``transformers`` is imported only where needed.
**The package.** :mod:`~tfmcourse.models.vit.config` holds :class:`ViTConfig`,
:mod:`~tfmcourse.models.vit.model` :func:`patchify`, the encoder :class:`ViT` (its layers are built in one
place, ``_layer``) and :class:`ViTClassifier`, :mod:`~tfmcourse.models.vit.hf` the weight copy from
Hugging Face.
"""

from tfmcourse.models.vit.config import ViTConfig
from tfmcourse.models.vit.model import ViT, ViTClassifier, patchify

__all__ = ["ViTConfig", "ViT", "ViTClassifier", "patchify"]
