"""CLIP (tfmcourse.models.clip): equal to Hugging Face's CLIPModel after from_hf (image and text features,
logits), end-of-text pooling both ways, the symmetric contrastive loss, the caption data, clear errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.data.captions import HELD_OUT_TEMPLATES, TEMPLATES, CaptionTokenizer, caption
from tfmcourse.models.clip import CLIP, CLIPConfig, contrastive_loss, quick_gelu

transformers = pytest.importorskip("transformers")


def _hf_clip(eos_token_id: int, act: str = "quick_gelu", vocab: int = 40, seed: int = 0):
    torch.manual_seed(seed)
    tc = dict(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=12,
        hidden_act=act,
        eos_token_id=eos_token_id,
        bos_token_id=1,
        pad_token_id=0,
    )
    vc = dict(
        image_size=8,
        patch_size=4,
        num_channels=1,
        hidden_size=24,
        intermediate_size=40,
        num_hidden_layers=2,
        num_attention_heads=3,
        hidden_act=act,
    )
    config = transformers.CLIPConfig(text_config=tc, vision_config=vc, projection_dim=16)
    hf = transformers.CLIPModel(config).eval()
    with torch.no_grad():  # HF initialises some weights to exact constants; make every one count
        for name, p in hf.named_parameters():
            if name != "logit_scale":
                p.add_(0.05 * torch.randn_like(p))
        hf.logit_scale.fill_(1.7)
    return hf


def _features(out):
    return out.pooler_output if hasattr(out, "pooler_output") else out


@pytest.mark.parametrize("eos, act", [(3, "quick_gelu"), (2, "quick_gelu"), (3, "gelu")])
def test_from_hf_equals_image_text_features_and_logits(eos, act):
    hf = _hf_clip(eos, act)
    ours = CLIP.from_hf(hf)
    assert ours.config.eot_id == (None if eos == 2 else eos)
    torch.manual_seed(1)
    pixels = torch.randn(5, 1, 8, 8)
    # texts of different lengths, padded with 0; EOT is id 3 (eos=3), or the largest id in the row (eos=2)
    ids = torch.zeros(4, 9, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate((3, 5, 7, 9)):
        body = torch.randint(4, 30, (n - 2,))
        end = 3 if eos == 3 else 39
        ids[i, :n] = torch.cat([torch.tensor([1]), body, torch.tensor([end])])
        mask[i, :n] = 1
    if eos == 3:  # an EOT id smaller than the others: argmax pooling would read the wrong position
        assert (ids.argmax(-1) != (ids == 3).int().argmax(-1)).any()
    with torch.no_grad():
        want_img = _features(hf.get_image_features(pixel_values=pixels))
        want_txt = _features(hf.get_text_features(input_ids=ids, attention_mask=mask))
        want_logits = hf(input_ids=ids, pixel_values=pixels, attention_mask=mask).logits_per_image
        got_img, got_txt = ours.encode_image(pixels), ours.encode_text(ids, mask)
        got_logits = ours(pixels, ids, mask)
    assert got_img.shape == (5, 16) and got_txt.shape == (4, 16) and got_logits.shape == (5, 4)
    assert (got_img - want_img).abs().max() < 1e-5
    assert (got_txt - want_txt).abs().max() < 1e-5
    assert (got_logits - want_logits).abs().max() < 1e-5 * max(1.0, want_logits.abs().max().item())
    assert abs(ours.temperature - math.exp(-1.7)) < 1e-6


def test_text_is_read_at_its_eot_and_padding_does_not_matter():
    torch.manual_seed(0)
    model = CLIP(CLIPConfig(vocab_size=12, eot_id=3, max_len=8)).eval()
    ids = torch.tensor([[2, 5, 6, 3, 0, 0]])
    with torch.no_grad():
        a = model.encode_text(ids, (ids != 0).long())
        b = model.encode_text(ids[:, :4])
        c = model.encode_text(torch.tensor([[2, 5, 6, 3, 7, 8]]))  # causal: tokens after EOT are not seen
        d = model.encode_text(torch.tensor([[2, 5, 7, 3]]))
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-5)
    assert (a - d).abs().max() > 1e-3


def test_contrastive_loss_is_the_mean_of_both_cross_entropies():
    torch.manual_seed(0)
    logits = torch.randn(6, 6)
    t = torch.arange(6)
    want = (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t)) / 2
    assert torch.allclose(contrastive_loss(logits), want, atol=1e-6)
    assert contrastive_loss(20 * torch.eye(4)) < 1e-6
    with pytest.raises(ValueError, match="square"):
        contrastive_loss(torch.randn(3, 4))


def test_quick_gelu_is_close_to_gelu():
    x = torch.linspace(-6, 6, 1001)
    assert (quick_gelu(x) - F.gelu(x)).abs().max() < 0.025


def test_captions_and_tokenizer():
    assert caption(7, "en", "a handwritten {}") == "a handwritten seven"
    assert caption(7, "zh", "手写的数字{}") == "手写的数字七"
    assert not set(TEMPLATES["en"]) & set(HELD_OUT_TEMPLATES["en"])
    texts = [caption(d, lang, t) for d in range(10) for lang in TEMPLATES for t in TEMPLATES[lang]]
    tok = CaptionTokenizer(texts)
    ids, mask = tok.encode(["a handwritten seven", "手写的七"])
    assert ids[0, 0] == tok.sot_id and ids[0, 4] == tok.eot_id and mask[0].tolist()[:5] == [1] * 5
    assert ids[1, 5] == tok.eot_id and tok.decode(ids[1]) == "[SOT] 手 写 的 七 [EOT]"
    with pytest.raises(ValueError, match="max_len"):
        tok.encode(["a handwritten seven"], max_len=3)
    with pytest.raises(ValueError, match="language"):
        caption(1, "fr", "{}")


def test_errors_are_clear():
    model = CLIP(CLIPConfig(vocab_size=12, eot_id=3, max_len=6))
    with pytest.raises(ValueError, match="end-of-text"):
        model.encode_text(torch.tensor([[2, 5, 6]]))
    with pytest.raises(ValueError, match="max_len"):
        model.encode_text(torch.full((1, 7), 3))
    with pytest.raises(ValueError, match="vocab_size"):
        model.encode_text(torch.tensor([[2, 20, 3]]))
    with pytest.raises(ValueError, match="attention_mask"):
        model.encode_text(torch.tensor([[2, 5, 3]]), torch.ones(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="channel"):
        model.encode_image(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="eot_id"):
        CLIPConfig(vocab_size=5, eot_id=9)
    with pytest.raises(ValueError, match="CLIPModel"):
        CLIP.from_hf(torch.nn.Linear(2, 2))
