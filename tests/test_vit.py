"""ViT (tfmcourse.models.vit): patchify, equal to Hugging Face's ViTModel / ViTForImageClassification
after a weight copy, clear errors."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from tfmcourse.models.vit import ViT, ViTClassifier, ViTConfig, patchify

transformers = pytest.importorskip("transformers")


def test_patchify_reads_patches_row_by_row():
    pixels = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)  # two channels
    patches = patchify(pixels, 2)
    assert patches.shape == (1, 4, 8)
    # patch 1 is the top-right 2x2 block; inside it pixel (0, 0) comes first, with its 2 channels
    assert patches[0, 1, :2].tolist() == [pixels[0, 0, 0, 2].item(), pixels[0, 1, 0, 2].item()]
    assert torch.equal(patches[0, 2], rearrange(pixels[0, :, 2:, :2], "c p1 p2 -> (p1 p2 c)"))
    with pytest.raises(ValueError, match="patch_size=3"):
        patchify(pixels, 3)


@pytest.mark.parametrize("size, patch, channels", [(8, 2, 1), (12, 4, 3), (8, 8, 1)])
def test_from_hf_vitmodel_equals_last_hidden_state(size, patch, channels):
    torch.manual_seed(size + patch)
    hc = transformers.ViTConfig(
        image_size=size,
        patch_size=patch,
        num_channels=channels,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
    )
    hf = transformers.ViTModel(hc, add_pooling_layer=False).eval()
    ours = ViT.from_hf(hf)
    pixels = torch.randn(3, channels, size, size)
    with torch.no_grad():
        want = hf(pixels).last_hidden_state
        got = ours(pixels)
    assert got.shape == (3, 1 + (size // patch) ** 2, 32)
    assert (got - want).abs().max() < 1e-5


def test_from_hf_classifier_equals_logits_and_weights_are_returned():
    torch.manual_seed(3)
    hc = transformers.ViTConfig(
        image_size=8,
        patch_size=2,
        num_channels=1,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=10,
    )
    hf = transformers.ViTForImageClassification(hc).eval()
    ours = ViTClassifier.from_hf(hf)
    pixels = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert (hf(pixels).logits - ours(pixels)).abs().max() < 1e-5
        out, weights = ours.vit(pixels, need_weights=True)
        assert torch.allclose(out, ours.vit(pixels), atol=1e-6)
    assert len(weights) == 2 and weights[0].shape == (4, 2, 17, 17)
    assert torch.allclose(weights[1].sum(-1), torch.ones(4, 2, 17), atol=1e-5)


def test_config_and_input_errors():
    with pytest.raises(ValueError, match="divide"):
        ViTConfig(image_size=8, patch_size=3)
    with pytest.raises(ValueError, match="divisible"):
        ViTConfig(d_model=30, num_heads=4)
    vit = ViT(ViTConfig())
    with pytest.raises(ValueError, match="channel"):
        vit(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="8x8"):
        vit(torch.rand(2, 1, 6, 6))
    with pytest.raises(ValueError, match="float"):
        vit(torch.ones(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="ViTModel"):
        ViT.from_hf(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="num_classes"):
        ViTClassifier(ViTConfig(), 1)
