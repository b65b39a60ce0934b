"""nll_loss, cross_entropy, multi_margin_loss, multilabel_margin_loss: fixtures, parity, properties."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

from lossbook.losses.activations import log_softmax
from lossbook.losses.classification import (
    cross_entropy,
    multi_margin_loss,
    multilabel_margin_loss,
    nll_loss,
)
from lossbook.losses._validation import ClassIndexError, LossInputError
from tests.parity import TOLERANCES, assert_gradcheck, assert_same_loss

REDUCTIONS = ("none", "mean", "sum")
# (N, C), one sample (C,), and dense predictions (N, C, d1) and (N, C, d1, d2).
SHAPES = [(6, 4), (4,), (3, 4, 5), (2, 4, 3, 2)]
SHAPE_IDS = ["N,C", "C", "N,C,d1", "N,C,d1,d2"]


def _case(shape: tuple[int, ...], dtype: torch.dtype = torch.float64, seed: int = 0):
    """Logits, class indices, class probabilities and class weights for an input of ``shape``."""
    generator = torch.Generator().manual_seed(seed)
    class_dim = 0 if len(shape) == 1 else 1
    num_classes = shape[class_dim]
    logits = 3 * torch.randn(shape, generator=generator, dtype=dtype)
    target = torch.randint(
        num_classes, shape[:class_dim] + shape[class_dim + 1 :], generator=generator
    )
    probs = torch.randn(shape, generator=generator, dtype=dtype).softmax(class_dim)
    weight = 0.1 + torch.rand(num_classes, generator=generator, dtype=dtype)
    return logits, target, probs, weight


def _with_ignored(target: torch.Tensor, ignore_index: int, seed: int = 1) -> torch.Tensor:
    """Set about a third of a batched target to ``ignore_index`` (an unbatched one stays)."""
    if target.dim() == 0:
        return target
    generator = torch.Generator().manual_seed(seed)
    return target.masked_fill(torch.rand(target.shape, generator=generator) < 0.35, ignore_index)


def _signature(fn) -> list[tuple[str, object]]:
    return [
        (p.name, p.default)
        for p in inspect.signature(fn).parameters.values()
        if p.name not in ("size_average", "reduce")
    ]


@pytest.mark.parametrize(
    "ours", [nll_loss, cross_entropy, multi_margin_loss, multilabel_margin_loss]
)
def test_signature_is_torchs_without_deprecated_arguments(ours):
    """Same parameter names, order and defaults as torch, minus size_average/reduce."""
    assert _signature(ours) == _signature(getattr(torch_F, ours.__name__))


# ---------------------------------------------------------------- hand-computed fixtures


def test_cross_entropy_of_equal_logits_is_log_num_classes():
    """All logits equal: p = 1/C for every class, so the loss is log C whatever the target."""
    logits = torch.full((3, 5), 7.0, dtype=torch.float64)
    loss = cross_entropy(logits, torch.tensor([0, 2, 4]), reduction="none")
    torch.testing.assert_close(loss, torch.full((3,), math.log(5), dtype=torch.float64))


def test_label_smoothing_spreads_epsilon_over_all_classes():
    """ε/C on every class (the true one too), not ε/(C − 1) on the others."""
    logits = torch.tensor([[2.0, 0.0, 0.0]], dtype=torch.float64)
    log_z = math.log(math.exp(2.0) + 2.0)
    log_p = [2.0 - log_z, -log_z, -log_z]
    eps = 0.3
    q = [1 - eps + eps / 3, eps / 3, eps / 3]
    expected = -sum(q_c * log_p_c for q_c, log_p_c in zip(q, log_p, strict=True))
    loss = cross_entropy(logits, torch.tensor([0]), label_smoothing=eps)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_class_weights_make_a_weighted_mean():
    """mean = Σ w_{y_i} l_i / Σ w_{y_i}, and an ignored sample leaves numerator and denominator."""
    log_probs = torch.tensor([[-0.5, -1.0], [-2.0, -0.25], [-3.0, -0.1]], dtype=torch.float64)
    weight = torch.tensor([3.0, 1.0], dtype=torch.float64)
    loss = nll_loss(log_probs, torch.tensor([0, 1, -100]), weight=weight)
    assert loss.item() == pytest.approx((3 * 0.5 + 1 * 0.25) / (3 + 1), rel=1e-12)


def test_two_class_cross_entropy_is_binary_cross_entropy_with_logits():
    """CE over logits (0, z) is BCE-with-logits of z, as the docstring says."""
    z = torch.tensor([-3.0, -0.5, 0.0, 2.0, 40.0], dtype=torch.float64)
    labels = torch.tensor([1, 0, 1, 1, 0])
    two_class = torch.stack([torch.zeros_like(z), z], dim=1)
    torch.testing.assert_close(
        cross_entropy(two_class, labels, reduction="none"),
        torch_F.binary_cross_entropy_with_logits(z, labels.double(), reduction="none"),
        **TOLERANCES[torch.float64],
    )


def test_multi_margin_loss_by_hand():
    """(1/C) Σ_{j≠y} max(0, margin − x_y + x_j)^p, with the target's weight."""
    scores = torch.tensor([[3.0, 2.5, 0.0]], dtype=torch.float64)
    target = torch.tensor([0])
    weight = torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64)
    assert multi_margin_loss(scores, target).item() == pytest.approx(0.5 / 3, rel=1e-12)
    assert multi_margin_loss(scores, target, p=2, margin=2.0, weight=weight).item() == (
        pytest.approx(2.0 * (1.5**2 + 0.0) / 3, rel=1e-12)
    )


def test_multilabel_margin_loss_reads_labels_up_to_the_first_negative():
    """Classes {3, 0} (the 1 after -1 is padding): pairs (3,1) (3,2) (0,1) (0,2) over C = 4."""
    scores = torch.tensor([[0.1, 0.2, 0.4, 0.8]], dtype=torch.float64)
    loss = multilabel_margin_loss(scores, torch.tensor([[3, 0, -1, 1]]))
    assert loss.item() == pytest.approx((0.4 + 0.6 + 1.1 + 1.3) / 4, rel=1e-12)


# ---------------------------------------------------------------- parity with torch


@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_nll_loss_matches_torch(shape, reduction, weighted, ignore_index):
    logits, target, _, weight = _case(shape)
    log_probs = torch.log_softmax(logits, dim=0 if len(shape) == 1 else 1)
    assert_same_loss(
        "nll_loss",
        log_probs,
        _with_ignored(target, ignore_index),
        weight=weight if weighted else None,
        ignore_index=ignore_index,
        reduction=reduction,
    )


@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_cross_entropy_class_indices_match_torch(
    shape, reduction, weighted, label_smoothing, ignore_index
):
    logits, target, _, weight = _case(shape, seed=len(shape))
    assert_same_loss(
        "cross_entropy",
        logits,
        _with_ignored(target, ignore_index),
        weight=weight if weighted else None,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_cross_entropy_class_probabilities_match_torch(shape, reduction, weighted, label_smoothing):
    """Gradients with respect to the target probabilities are compared too."""
    logits, _, probs, weight = _case(shape, seed=7)
    assert_same_loss(
        "cross_entropy",
        logits,
        probs,
        weight=weight if weighted else None,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_cross_entropy_matches_torch_in_float32(shape, label_smoothing):
    logits, target, probs, weight = _case(shape, dtype=torch.float32, seed=3)
    assert_same_loss(
        "cross_entropy",
        logits,
        _with_ignored(target, -100),
        weight=weight,
        label_smoothing=label_smoothing,
    )
    assert_same_loss("cross_entropy", logits, probs, label_smoothing=label_smoothing)
    assert_same_loss(
        "nll_loss", logits.log_softmax(0 if len(shape) == 1 else 1), target, weight=weight
    )


def test_byte_class_indices_match_torch():
    """torch accepts uint8 class indices as well as int64."""
    logits, target, _, weight = _case((5, 3))
    assert_same_loss("cross_entropy", logits, target.to(torch.uint8), weight=weight)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("margin", [1.0, 0.3, -0.5])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (4,)], ids=["N,C", "C"])
def test_multi_margin_loss_matches_torch(shape, reduction, p, margin, weighted):
    scores, target, _, weight = _case(shape, seed=11)
    assert_same_loss(
        "multi_margin_loss",
        scores / 3,
        target,
        p=p,
        margin=margin,
        weight=weight if weighted else None,
        reduction=reduction,
    )


def test_multi_margin_loss_gradient_at_a_hinge_of_exactly_zero_matches_torch():
    """margin − x_y + x_j = 0 exactly: torch's gradient there is 0 (relu, not clamp)."""
    scores = torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, -1.0]], dtype=torch.float64)
    assert_same_loss("multi_margin_loss", scores, torch.tensor([0, 1]))


MULTILABEL_TARGETS = {
    "two labels": [[3, 0, -1, -1], [1, -1, -1, -1]],
    "padding then garbage": [[2, -1, 0, 3], [-1, 1, 2, 0]],
    "all classes": [[0, 1, 2, 3], [3, 2, 1, 0]],
    "repeated label": [[1, 1, -1, 0], [2, 2, 2, 2]],
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("labels", MULTILABEL_TARGETS.values(), ids=MULTILABEL_TARGETS.keys())
def test_multilabel_margin_loss_matches_torch(labels, reduction):
    scores, *_ = _case((2, 4), seed=5)
    target = torch.tensor(labels)
    assert_same_loss("multilabel_margin_loss", scores / 3, target, reduction=reduction)
    assert_same_loss("multilabel_margin_loss", scores[0] / 3, target[0], reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_random_targets_match_torch(reduction):
    generator = torch.Generator().manual_seed(2)
    scores = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    target = torch.randint(-1, 6, (8, 6), generator=generator)
    assert_same_loss("multilabel_margin_loss", scores, target, reduction=reduction)


def test_gradcheck():
    """Autograd's gradients agree with finite differences in float64, every loss and option."""
    logits, target, probs, weight = _case((3, 4, 2))
    assert_gradcheck("nll_loss", logits, _with_ignored(target, -100), weight=weight)
    assert_gradcheck(
        "cross_entropy", logits, target, weight=weight, label_smoothing=0.3, ignore_index=1
    )
    assert_gradcheck("cross_entropy", logits, probs, weight=weight, label_smoothing=0.3)
    scores, labels, _, weight = _case((3, 4), seed=4)
    assert_gradcheck("multi_margin_loss", scores, labels, p=2, margin=0.7, weight=weight)
    assert_gradcheck("multilabel_margin_loss", scores, torch.tensor([[1, 2, -1, 0]] * 3))


# ---------------------------------------------------------------- extremes and empty batches


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_stay_finite_and_match_torch(dtype):
    """Logits of ±1e4: exp would overflow without the max subtraction."""
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    target = torch.tensor([1, 0, 2])
    probs = torch.tensor([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.5, 0.0, 0.5]], dtype=dtype)
    for kwargs in ({}, {"label_smoothing": 0.1}, {"weight": torch.ones(3, dtype=dtype)}):
        loss = assert_same_loss("cross_entropy", logits, target, reduction="none", **kwargs)
        assert torch.isfinite(loss).all()
        assert torch.isfinite(cross_entropy(logits, probs, **kwargs)).all()
        assert_same_loss("cross_entropy", logits, probs, **kwargs)
    # Row 0: log p = (0, −2e4, −1e4) up to e^{−1e4}; the target is class 1.
    smoothed = cross_entropy(logits, target, reduction="none", label_smoothing=0.1)
    assert smoothed[0].item() == pytest.approx(0.9 * 2e4 + 0.1 / 3 * (0 + 2e4 + 1e4), rel=1e-7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4)], ids=["0,C", "0,C,d1"])
def test_empty_batch_matches_torch(shape, reduction):
    """No samples: "mean" is NaN (0/0) and "sum" is 0, as in torch."""
    logits, target, probs, weight = _case(shape)
    assert_same_loss("nll_loss", logits, target, weight=weight, reduction=reduction)
    assert_same_loss("cross_entropy", logits, target, label_smoothing=0.1, reduction=reduction)
    assert_same_loss("cross_entropy", logits, probs, reduction=reduction)


@pytest.mark.parametrize("loss_fn", [multi_margin_loss, multilabel_margin_loss])
def test_empty_batch_of_margin_losses(loss_fn):
    """torch returns uninitialised memory here; lossbook follows the rule of every other loss."""
    scores = torch.zeros(0, 3, dtype=torch.float64)
    target = torch.zeros((0,) if loss_fn is multi_margin_loss else (0, 3), dtype=torch.long)
    assert loss_fn(scores, target, reduction="none").shape == (0,)
    assert loss_fn(scores, target, reduction="sum").item() == 0.0
    assert math.isnan(loss_fn(scores, target, reduction="mean").item())


def test_every_target_ignored_matches_torch():
    """Σ w_{y_i} = 0: the mean is 0/0 = NaN (torch), the sum 0."""
    logits, target, _, weight = _case((4, 3))
    ignored = torch.full_like(target, -100)
    losses = {}
    for reduction in REDUCTIONS:
        losses[reduction] = assert_same_loss(
            "cross_entropy",
            logits,
            ignored,
            weight=weight,
            label_smoothing=0.2,
            reduction=reduction,
        )
        assert_same_loss("nll_loss", logits, ignored, reduction=reduction)
    assert math.isnan(losses["mean"].item()) and losses["sum"].item() == 0.0


# ---------------------------------------------------------------- properties

SEEDS = st.integers(0, 2**31 - 1)


@st.composite
def classification_batches(draw, max_samples=5, max_classes=5):
    """(logits, class indices, class probabilities) in float64, logits scaled up to 1e3."""
    num_samples = draw(st.integers(1, max_samples))
    num_classes = draw(st.integers(1, max_classes))
    generator = torch.Generator().manual_seed(draw(SEEDS))
    scale = draw(st.sampled_from([1e-3, 1.0, 30.0, 1e3]))
    logits = scale * torch.randn(num_samples, num_classes, generator=generator, dtype=torch.float64)
    target = torch.randint(num_classes, (num_samples,), generator=generator)
    probs = torch.rand(num_samples, num_classes, generator=generator, dtype=torch.float64)
    return logits, target, probs / probs.sum(dim=1, keepdim=True)


TIGHT = TOLERANCES[torch.float64]


@given(classification_batches(), st.floats(0.0, 1.0), st.sampled_from(REDUCTIONS), st.booleans())
def test_class_indices_equal_their_one_hot_probabilities(
    batch, label_smoothing, reduction, weighted
):
    """Both target forms give the same loss, except that a weighted mean divides differently.

    With class weights the index form's mean divides by Σ w_{y_i} and the
    probability form's by N (torch's rule), so the two means differ by N / Σ w_{y_i}.
    """
    logits, target, _ = batch
    num_samples, num_classes = logits.shape
    one_hot = torch_F.one_hot(target, num_classes).to(logits.dtype)
    weight = torch.linspace(0.5, 2.0, num_classes, dtype=logits.dtype) if weighted else None
    from_indices = cross_entropy(
        logits, target, weight=weight, reduction=reduction, label_smoothing=label_smoothing
    )
    from_probs = cross_entropy(
        logits, one_hot, weight=weight, reduction=reduction, label_smoothing=label_smoothing
    )
    if weighted and reduction == "mean":
        from_indices = from_indices * weight[target].sum() / num_samples
    torch.testing.assert_close(from_indices, from_probs, **TIGHT)


@given(classification_batches(), st.floats(0.0, 1.0), st.booleans())
def test_cross_entropy_is_non_negative(batch, label_smoothing, soft):
    logits, target, probs = batch
    loss = cross_entropy(
        logits, probs if soft else target, reduction="none", label_smoothing=label_smoothing
    )
    assert (loss >= 0).all()


@given(classification_batches(), st.sampled_from(REDUCTIONS), st.booleans(), st.integers(-1, 4))
def test_nll_of_log_softmax_is_cross_entropy(batch, reduction, weighted, ignore_index):
    """nll_loss on torch's log_softmax equals lossbook's cross_entropy (its own log_softmax)."""
    logits, target, _ = batch
    weight = torch.linspace(2.0, 0.5, logits.shape[1], dtype=logits.dtype) if weighted else None
    via_nll = nll_loss(
        torch.log_softmax(logits, dim=1),
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
    )
    direct = cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction
    )
    torch.testing.assert_close(via_nll, direct, equal_nan=True, **TIGHT)


@given(classification_batches(), st.floats(0.0, 1.0), st.sampled_from(REDUCTIONS))
def test_label_smoothing_interpolates_between_plain_and_uniform_targets(
    batch, label_smoothing, reduction
):
    """CE(ε) = (1 − ε)·CE(ε=0) + ε·CE(uniform target); at ε = 0 it is plain cross-entropy."""
    logits, target, _ = batch
    uniform = torch.full_like(logits, 1.0 / logits.shape[1])
    smoothed = cross_entropy(logits, target, reduction=reduction, label_smoothing=label_smoothing)
    plain = cross_entropy(logits, target, reduction=reduction)
    expected = (1 - label_smoothing) * plain + label_smoothing * cross_entropy(
        logits, uniform, reduction=reduction
    )
    torch.testing.assert_close(smoothed, expected, **TIGHT)


@given(classification_batches(), st.integers(1, 2), st.floats(-1.0, 2.0))
def test_multi_margin_loss_is_zero_once_the_target_leads_by_the_margin(batch, p, margin):
    """Raising the target's score by margin + (spread of the scores) zeroes every hinge."""
    scores, target, _ = batch
    lead = margin + (scores.amax(dim=1) - scores.amin(dim=1)) + 1e-9
    scores = scores.clone()
    scores[torch.arange(len(target)), target] = scores.amax(dim=1) + lead
    assert (multi_margin_loss(scores, target, p=p, margin=margin, reduction="none") == 0).all()


# ---------------------------------------------------------------- input errors


def _raises_like_torch(name: str, *args, error: type[Exception] = LossInputError, **kwargs):
    """torch rejects the input too; ours raises an exception of torch's type, with our message."""
    with pytest.raises(Exception) as from_torch:
        getattr(torch_F, name)(*args, **kwargs)
    ours_fn = {
        "nll_loss": nll_loss,
        "cross_entropy": cross_entropy,
        "multi_margin_loss": multi_margin_loss,
        "multilabel_margin_loss": multilabel_margin_loss,
    }[name]
    with pytest.raises(error) as from_us:
        ours_fn(*args, **kwargs)
    assert isinstance(from_us.value, type(from_torch.value))
    return str(from_us.value)


def test_multi_margin_loss_rejects_other_powers():
    message = _raises_like_torch("multi_margin_loss", torch.randn(2, 3), torch.tensor([0, 1]), p=3)
    assert "p=3" in message and "p=1" in message and "p=2" in message


def test_multi_margin_losses_reject_dense_inputs():
    scores = torch.randn(2, 3, 4)
    message = _raises_like_torch("multi_margin_loss", scores, torch.zeros(2, 4, dtype=torch.long))
    assert "(2, 3, 4)" in message and "(N, C)" in message
    _raises_like_torch("multilabel_margin_loss", scores, torch.zeros(2, 3, 4, dtype=torch.long))


def test_label_smoothing_outside_zero_one_is_rejected():
    """torch rejects ε > 1; it silently treats ε < 0 as 0, which lossbook rejects as a bug."""
    logits, target = torch.randn(2, 3), torch.tensor([0, 2])
    message = _raises_like_torch("cross_entropy", logits, target, label_smoothing=1.5)
    assert "1.5" in message and "[0, 1]" in message
    with pytest.raises(LossInputError, match=r"label_smoothing=-0\.1"):
        cross_entropy(logits, target, label_smoothing=-0.1)


def test_ignore_index_with_class_probabilities_is_rejected():
    message = _raises_like_torch(
        "cross_entropy", torch.randn(2, 3), torch.rand(2, 3), ignore_index=0
    )
    assert "ignore_index=0" in message and "class-index targets only" in message


def test_multilabel_margin_loss_rejects_multi_hot_targets():
    message = _raises_like_torch(
        "multilabel_margin_loss",
        torch.randn(2, 3),
        torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
    )
    assert "padded with -1" in message and "multilabel_soft_margin_loss" in message


def test_multilabel_margin_loss_rejects_labels_out_of_range():
    message = _raises_like_torch(
        "multilabel_margin_loss",
        torch.randn(2, 3),
        torch.tensor([[0, 3, -1], [1, -1, 0]]),
        error=ClassIndexError,
    )
    assert "contains 3" in message and "C=3" in message


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy", "multi_margin_loss"])
def test_weight_needs_one_entry_per_class(name):
    message = _raises_like_torch(
        name, torch.randn(2, 3), torch.tensor([0, 1]), weight=torch.ones(4)
    )
    assert "(4,)" in message and "one entry per class (3)" in message


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_a_scalar_input_has_no_class_dimension(name):
    message = _raises_like_torch(name, torch.tensor(1.0), torch.tensor(0))
    assert "shape ()" in message and "(N, C)" in message


def test_log_softmax_is_the_one_in_activations():
    """cross_entropy builds on lossbook.losses.activations.log_softmax (no second copy)."""
    logits, target, _, _ = _case((4, 3))
    expected = -log_softmax(logits, dim=1)[torch.arange(4), target]
    torch.testing.assert_close(
        cross_entropy(logits, target, reduction="none"), expected, rtol=0, atol=0
    )


# --- The edge cases found by running torch's OpInfo samples (issue 9); tests/test_opinfo.py
# --- runs all of those samples.


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("multi_margin_loss", torch.tensor(0)),
        ("multi_margin_loss", torch.tensor([0])),
        ("multilabel_margin_loss", torch.tensor(0)),
        ("multilabel_margin_loss", torch.tensor(-1)),
        ("multilabel_margin_loss", torch.tensor([0])),
    ],
)
def test_a_0d_input_is_one_sample_with_one_class_as_in_torch(name, target, reduction):
    """torch returns 0 (no other class to beat), shaped like the target for "none"."""
    value = assert_same_loss(
        name, torch.tensor(0.7, dtype=torch.float64), target, reduction=reduction
    )
    assert value.item() == 0.0


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
def test_a_0d_input_has_only_class_0(name):
    message = _raises_like_torch(name, torch.tensor(0.7), torch.tensor(1), error=ClassIndexError)
    assert "C=1" in message


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["multi_margin_loss", "nll_loss", "cross_entropy"])
def test_an_unbatched_input_takes_a_one_element_target_as_in_torch(name, reduction):
    """A (C,) input is one sample; torch takes its class index as () or (1,).

    torch's backward then fails for nll_loss and cross_entropy ("size mismatch (got
    input: [4], target: [1])"): lossbook's gradient is the one of the () target.
    """
    ours = {"multi_margin_loss": multi_margin_loss, "nll_loss": nll_loss}.get(name, cross_entropy)
    scores = torch.tensor([0.3, -1.2, 2.0, 0.5], dtype=torch.float64)
    one = assert_same_loss(name, scores, torch.tensor([2]), reduction=reduction, grad=False)
    scalar = assert_same_loss(name, scores, torch.tensor(2), reduction=reduction)
    torch.testing.assert_close(one.reshape(()), scalar.reshape(()), rtol=0, atol=0)
    weight = torch.rand(4, dtype=torch.float64)
    assert_same_loss(name, scores, torch.tensor([1]), weight=weight, grad=False)
    gradients = []
    for target in (torch.tensor([2]), torch.tensor(2)):
        leaf = scores.clone().requires_grad_()
        ours(leaf, target, reduction=reduction).sum().backward()
        gradients.append(leaf.grad)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=0, atol=0)
    with pytest.raises(LossInputError, match=r"target has shape \(2,\)"):
        ours(scores, torch.tensor([1, 2]))


def test_an_unbatched_input_with_a_one_element_target_takes_label_smoothing():
    """torch 2.13 fails here ("output with shape [] doesn't match the broadcast shape [1]");
    lossbook reads the (1,) target as the () target it means."""
    logits = torch.tensor([0.3, -1.2, 2.0])
    with pytest.raises(RuntimeError, match="broadcast shape"):
        torch_F.cross_entropy(logits, torch.tensor([2]), label_smoothing=0.2)
    torch.testing.assert_close(
        cross_entropy(logits, torch.tensor([2]), label_smoothing=0.2),
        torch_F.cross_entropy(logits, torch.tensor(2), label_smoothing=0.2),
    )


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy", "multi_margin_loss"])
def test_no_classes_and_a_float_target_get_a_lossbook_message(name):
    """Formerly a raw IndexError from building the message (select on an empty dimension)."""
    message = _raises_like_torch(name, torch.randn(5, 0), torch.zeros(5))
    assert "(5, 0)" in message


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
@pytest.mark.parametrize("shape", [(5, 0), (0,)])
def test_margin_losses_refuse_no_classes_like_torch(name, shape):
    """torch: "Expected non-empty vector or matrix"; lossbook returned NaN for multilabel_margin."""
    target = torch.zeros(
        shape if name == "multilabel_margin_loss" else shape[:-1], dtype=torch.long
    )
    message = _raises_like_torch(name, torch.randn(shape), target)
    assert "no classes (C = 0)" in message


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_no_classes_with_class_probabilities_match_torch(reduction):
    """torch accepts C = 0 with an (N, 0) float target: −Σ over no classes is 0, its mean NaN."""
    logits, probs = torch.randn(2, 0, dtype=torch.float64), torch.rand(2, 0, dtype=torch.float64)
    assert_same_loss("cross_entropy", logits, probs, reduction=reduction)
    assert_same_loss("cross_entropy", logits, probs, label_smoothing=0.1, reduction=reduction)


def test_no_classes_and_every_target_ignored_match_torch():
    logits, ignored = torch.randn(2, 0, dtype=torch.float64), torch.full((2,), -100)
    for reduction in REDUCTIONS:
        assert_same_loss("nll_loss", logits, ignored, reduction=reduction)
        assert_same_loss("cross_entropy", logits, ignored, reduction=reduction)
