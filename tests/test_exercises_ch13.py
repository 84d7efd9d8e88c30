"""Chapter 13 checkers: the reference passes, a stub fails, every common mistake gets its own hint, the
package's
answers are refused, and the learner's random state is kept."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch13 as check
from tfmcourse.models import clip as models


def ref_clip_loss(image_features, text_features, logit_scale):
    img = image_features / image_features.norm(dim=-1, keepdim=True)
    txt = text_features / text_features.norm(dim=-1, keepdim=True)
    logits = logit_scale.exp() * img @ txt.T
    t = torch.arange(len(img))
    return (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t)) / 2


def ref_zero_shot_classify(encode_image, encode_text, pixels, ids, attention_mask):
    img = F.normalize(encode_image(pixels), dim=-1)
    txt = F.normalize(encode_text(ids, attention_mask), dim=-1)
    return (img @ txt.T).argmax(dim=1)


def ref_eot_pool(states, ids, eot_id):
    pos = (ids == eot_id).int().argmax(dim=1)
    return states[torch.arange(len(ids)), pos]


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.clip_loss, ref_clip_loss),
    (check.zero_shot_classify, ref_zero_shot_classify),
    (check.eot_pool, ref_eot_pool),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_checkers_keep_the_random_state(checker, fn):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checker(fn)
    assert torch.equal(torch.rand(3), expected)


def test_other_correct_solutions_pass(capsys):
    """Written another way: logits_per_text computed separately, a loop over images, a loop over rows."""

    def loss_two_matrices(image_features, text_features, logit_scale):
        img = F.normalize(image_features, dim=-1)
        txt = F.normalize(text_features, dim=-1)
        t = torch.arange(len(img))
        per_image = logit_scale.exp() * img @ txt.T
        per_text = logit_scale.exp() * txt @ img.T
        return 0.5 * F.cross_entropy(per_image, t) + 0.5 * F.cross_entropy(per_text, t)

    def zs_loop(encode_image, encode_text, pixels, ids, attention_mask):
        txt = encode_text(ids, attention_mask)
        txt = txt / txt.norm(dim=-1, keepdim=True)
        return [int((txt @ encode_image(p[None])[0]).argmax()) for p in pixels]

    def eot_loop(states, ids, eot_id):
        return torch.stack([states[r, ids[r].tolist().index(eot_id)] for r in range(len(ids))])

    check.clip_loss(loss_two_matrices)
    check.zero_shot_classify(zs_loop)
    check.eot_pool(eot_loop)
    assert capsys.readouterr().out.count("✔") == 3


# ------------------------------------------------------------------------------------ mutants


def _loss(mistake):
    return lambda i, t, s: check._loss_variant(i, t, s, mistake)


LOSS_MUTANTS = {
    "not_normalised": (_loss("no_norm"), "not normalised"),
    "images_only": (_loss("one_way_image"), "image-to-text cross-entropy"),
    "texts_only": (_loss("one_way_text"), "text-to-image cross-entropy"),
    "sum_of_both": (_loss("sum"), "added"),
    "scale_not_exp": (_loss("scale_raw"), r"logit_scale.exp\(\), not by logit_scale"),
    "divided_by_scale": (_loss("scale_divide"), "divided by the scale"),
    "no_scale": (_loss("no_scale"), "not scaled"),
    "summed_over_batch": (_loss("sum_reduction"), "summed over the batch"),
    "package": (
        lambda i, t, s: models.contrastive_loss(s.exp() * F.normalize(i, dim=-1) @ F.normalize(t, dim=-1).T),
        "Write it yourself",
    ),
    "per_pair_vector": (lambda i, t, s: ref_clip_loss(i, t, s).repeat(len(i)), "0-dimensional"),
}


@pytest.mark.parametrize("name", LOSS_MUTANTS)
def test_clip_loss_mutants(name):
    fn, hint = LOSS_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.clip_loss(fn)


def zs_no_text_norm(encode_image, encode_text, pixels, ids, attention_mask):
    return (F.normalize(encode_image(pixels), dim=-1) @ encode_text(ids, attention_mask).T).argmax(dim=1)


def zs_argmin(*args):
    return check._zs_variant(args[0](args[2]), args[1](args[3], args[4]), "argmin")


def zs_softmax_images(*args):
    return check._zs_variant(args[0](args[2]), args[1](args[3], args[4]), "softmax_images")


def zs_scores(encode_image, encode_text, pixels, ids, attention_mask):
    return F.normalize(encode_image(pixels), dim=-1) @ F.normalize(encode_text(ids, attention_mask), dim=-1).T


def zs_axis0(encode_image, encode_text, pixels, ids, attention_mask):
    return zs_scores(encode_image, encode_text, pixels, ids, attention_mask).argmax(dim=0)


def zs_package(encode_image, encode_text, pixels, ids, attention_mask):
    model = models.CLIP(models.CLIPConfig(vocab_size=20, eot_id=3, image_size=4, patch_size=2, proj_dim=8))
    return model.similarity(encode_image(pixels), encode_text(ids, attention_mask)).argmax(dim=1)


ZS_MUTANTS = {
    "text_not_normalised": (zs_no_text_norm, "text features are not normalised"),
    "argmin": (zs_argmin, "least similar"),
    "softmax_over_images": (zs_softmax_images, "softmax over the images"),
    "returns_scores": (zs_scores, "tensor of scores"),
    "argmax_over_images": (zs_axis0, "wrong axis"),
    "package_similarity": (zs_package, "Write it yourself"),
}


@pytest.mark.parametrize("name", ZS_MUTANTS)
def test_zero_shot_mutants(name):
    fn, hint = ZS_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.zero_shot_classify(fn)


def _eot(mistake):
    return lambda s, i, e: check._eot_variant(s, i, e, mistake)


def eot_package(states, ids, eot_id):
    model = models.CLIP(models.CLIPConfig(vocab_size=40, eot_id=eot_id, max_len=ids.shape[1]))
    return states[torch.arange(len(ids)), model.eot_positions(ids)]


EOT_MUTANTS = {
    "last_position": (_eot("last"), "last position"),
    "argmax_of_ids": (_eot("argmax"), "largest id"),
    "mean": (_eot("mean"), "averaged"),
    "first_position": (_eot("first"), "start token"),
    "last_eot": (_eot("last_eot"), "two EOT tokens"),
    "package": (eot_package, "Write it yourself"),
}


@pytest.mark.parametrize("name", EOT_MUTANTS)
def test_eot_pool_mutants(name):
    fn, hint = EOT_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.eot_pool(fn)


def test_forbidden_names_are_restored_after_a_check():
    original = models.contrastive_loss
    with pytest.raises(ExerciseError):
        check.clip_loss(LOSS_MUTANTS["package"][0])
    assert models.contrastive_loss is original
