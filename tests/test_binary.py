"""lossbook.losses.binary: hand-computed values, parity with torch, gradients, properties, edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import lossbook.functional as lb_F
from lossbook.losses._validation import LossInputError
from lossbook.losses.binary import _ClampedBinaryCrossEntropy
from tests.focal_reference import sigmoid_focal_loss as reference_focal_loss
from tests.parity import TOLERANCES, assert_gradcheck, assert_same_loss

F64 = torch.float64
EXACT64 = {"rtol": 1e-12, "atol": 1e-14}
DTYPES = [torch.float32, torch.float64]
REDUCTIONS = ["none", "mean", "sum"]
SHAPES = [(), (7,), (5, 3), (2, 3, 4)]
BINARY_LOSSES = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "sigmoid_focal_loss",
]


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def softplus(z: float) -> float:
    """log(1 + e^z), written out with math for the hand-computed expectations."""
    return math.log1p(math.exp(z))


def random_inputs(shape, dtype, seed):
    """Logits with some large ones, their probabilities, soft targets and hard targets."""
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(shape, generator=gen, dtype=F64) * 4).to(dtype)
    probs = torch.sigmoid(logits)
    soft = torch.rand(shape, generator=gen, dtype=F64).to(dtype)
    hard = (torch.rand(shape, generator=gen) < 0.5).to(dtype)
    return logits, probs, soft, hard


def weight_shapes(shape):
    """Shapes that broadcast to ``shape`` as torch allows: per class, per sample, full."""
    if not shape:
        return [()]
    options = [(shape[-1],), shape]
    if len(shape) >= 2:
        options.append((*shape[:-1], 1))
    return options


def positive_weights(shape, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=gen, dtype=F64) * 3 + 0.1).to(dtype)


# --- hand-computed fixtures -----------------------------------------------------------------


def test_bce_by_hand():
    probs, target = t64(0.9, 0.2, 0.6), t64(1.0, 0.0, 1.0)
    expected = [-math.log(0.9), -math.log(0.8), -math.log(0.6)]
    loss = lb_F.binary_cross_entropy(probs, target, reduction="none")
    torch.testing.assert_close(loss, t64(*expected), **EXACT64)
    torch.testing.assert_close(
        lb_F.binary_cross_entropy(probs, target), t64(sum(expected) / 3)[0], **EXACT64
    )
    weight = t64(2.0, 1.0, 0.5)
    weighted = 2 * expected[0] + expected[1] + 0.5 * expected[2]
    # The mean divides by N = 3, not by Σ w = 3.5.
    torch.testing.assert_close(
        lb_F.binary_cross_entropy(probs, target, weight=weight), t64(weighted / 3)[0], **EXACT64
    )
    torch.testing.assert_close(
        lb_F.binary_cross_entropy(probs, target, weight=weight, reduction="sum"),
        t64(weighted)[0],
        **EXACT64,
    )


def test_bce_clamps_each_log_at_minus_100_by_hand():
    probs = t64(0.0, 1.0, 0.0, 1.0, 0.0)
    target = t64(0.0, 1.0, 1.0, 0.0, 0.25)
    loss = lb_F.binary_cross_entropy(probs, target, reduction="none")
    torch.testing.assert_close(loss, t64(0.0, 0.0, 100.0, 100.0, 25.0), **EXACT64)


def test_bce_gradient_at_saturated_probabilities_by_hand():
    """torch's gradient (p − y) / max(p(1 − p), ε), not autograd's 0 or NaN."""
    epsilon = 9.999999960041972e-13  # ATen's EPSILON: 1e-12 stored as a float32
    probs = t64(0.0, 1.0, 0.0, 1.0, 1e-50).requires_grad_()
    target = t64(0.0, 1.0, 1.0, 0.0, 1.0)
    lb_F.binary_cross_entropy(probs, target, reduction="sum").backward()
    expected = t64(0.0, 0.0, -1.0, 1.0, 1e-50 - 1) / epsilon
    torch.testing.assert_close(probs.grad, expected, **EXACT64)


def test_bce_with_logits_by_hand():
    logits, target = t64(2.0, -1.0, 0.0), t64(1.0, 0.0, 1.0)
    expected = [softplus(-2.0), softplus(-1.0), math.log(2.0)]
    torch.testing.assert_close(
        lb_F.binary_cross_entropy_with_logits(logits, target, reduction="none"),
        t64(*expected),
        **EXACT64,
    )
    # pos_weight multiplies only the terms with y = 1; weight multiplies every term.
    with_pos = lb_F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=t64(3.0), weight=t64(1.0, 2.0, 0.5), reduction="none"
    )
    torch.testing.assert_close(
        with_pos, t64(3 * expected[0], 2 * expected[1], 0.5 * 3 * expected[2]), **EXACT64
    )


def test_bce_with_logits_pos_weight_per_class_by_hand():
    logits = t64(1.0, -2.0, 1.0, -2.0).reshape(2, 2)
    target = t64(1.0, 1.0, 0.0, 1.0).reshape(2, 2)
    pos_weight = t64(10.0, 0.5)  # one per column (class)
    expected = t64(
        10 * softplus(-1.0), 0.5 * softplus(2.0), softplus(1.0), 0.5 * softplus(2.0)
    ).reshape(2, 2)
    loss = lb_F.binary_cross_entropy_with_logits(
        logits, target, pos_weight=pos_weight, reduction="none"
    )
    torch.testing.assert_close(loss, expected, **EXACT64)


def test_soft_margin_by_hand():
    scores, labels = t64(2.0, -1.0, 0.5), t64(1.0, 1.0, -1.0)
    expected = [softplus(-2.0), softplus(1.0), softplus(0.5)]
    torch.testing.assert_close(
        lb_F.soft_margin_loss(scores, labels, reduction="none"), t64(*expected), **EXACT64
    )
    torch.testing.assert_close(
        lb_F.soft_margin_loss(scores, labels), t64(sum(expected) / 3)[0], **EXACT64
    )


def test_multilabel_soft_margin_by_hand():
    logits = t64(2.0, -1.0, 0.0, 0.5, 0.5, -3.0).reshape(2, 3)
    target = t64(1.0, 0.0, 1.0, 0.0, 1.0, 0.0).reshape(2, 3)
    per_label = [
        [softplus(-2.0), softplus(-1.0), math.log(2.0)],
        [softplus(0.5), softplus(-0.5), softplus(-3.0)],
    ]
    weight = [1.0, 2.0, 4.0]
    rows = [sum(w * v for w, v in zip(weight, row, strict=True)) / 3 for row in per_label]
    loss = lb_F.multilabel_soft_margin_loss(logits, target, weight=t64(*weight), reduction="none")
    torch.testing.assert_close(loss, t64(*rows), **EXACT64)
    # mean over the 3 classes, then over the 2 samples; sum adds the per-sample means.
    torch.testing.assert_close(
        lb_F.multilabel_soft_margin_loss(logits, target, weight=t64(*weight)),
        t64(sum(rows) / 2)[0],
        **EXACT64,
    )
    torch.testing.assert_close(
        lb_F.multilabel_soft_margin_loss(logits, target, weight=t64(*weight), reduction="sum"),
        t64(sum(rows))[0],
        **EXACT64,
    )


def test_sigmoid_focal_by_hand():
    logits, target = t64(2.0, -1.0, 0.0), t64(1.0, 0.0, 1.0)
    expected = []
    for x, y in zip([2.0, -1.0, 0.0], [1.0, 0.0, 1.0], strict=True):
        p = 1 / (1 + math.exp(-x))
        p_t = p if y == 1 else 1 - p
        alpha_t = 0.25 if y == 1 else 0.75
        expected.append(alpha_t * (1 - p_t) ** 2 * -math.log(p_t))
    torch.testing.assert_close(lb_F.sigmoid_focal_loss(logits, target), t64(*expected), **EXACT64)
    torch.testing.assert_close(
        lb_F.sigmoid_focal_loss(logits, target, reduction="sum"), t64(sum(expected))[0], **EXACT64
    )


# --- parity with torch (values and gradients) -----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_torch(dtype, reduction):
    for seed, shape in enumerate(SHAPES):
        _, probs, soft, hard = random_inputs(shape, dtype, seed)
        assert_same_loss("binary_cross_entropy", probs, soft, reduction=reduction)
        assert_same_loss("binary_cross_entropy", probs, hard, reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_weight_matches_torch(dtype, reduction):
    for seed, shape in enumerate(SHAPES):
        _, probs, soft, _ = random_inputs(shape, dtype, seed)
        for weight_shape in weight_shapes(shape):
            weight = positive_weights(weight_shape, dtype, seed)
            assert_same_loss(
                "binary_cross_entropy", probs, soft, weight=weight, reduction=reduction
            )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(dtype, reduction):
    for seed, shape in enumerate(SHAPES):
        logits, _, soft, hard = random_inputs(shape, dtype, seed)
        assert_same_loss("binary_cross_entropy_with_logits", logits, soft, reduction=reduction)
        assert_same_loss("binary_cross_entropy_with_logits", logits, hard, reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_with_weights_matches_torch(dtype, reduction):
    for seed, shape in enumerate(SHAPES):
        logits, _, soft, hard = random_inputs(shape, dtype, seed)
        for weight_shape in weight_shapes(shape):
            weight = positive_weights(weight_shape, dtype, seed)
            pos_weight = positive_weights(weight_shape, dtype, seed + 100)
            assert_same_loss(
                "binary_cross_entropy_with_logits",
                logits,
                soft,
                pos_weight=pos_weight,
                reduction=reduction,
            )
            assert_same_loss(
                "binary_cross_entropy_with_logits",
                logits,
                hard,
                weight=weight,
                pos_weight=pos_weight,
                reduction=reduction,
            )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_matches_torch(dtype, reduction):
    for seed, shape in enumerate(SHAPES):
        logits, _, _, hard = random_inputs(shape, dtype, seed)
        # torch refuses a target that requires grad, so parity runs on integer ±1 labels ...
        labels = (2 * hard - 1).long()
        assert_same_loss("soft_margin_loss", logits, labels, reduction=reduction)
        # ... and float labels are compared by value and input gradient here.
        float_labels = labels.to(dtype)
        ours_input = logits.clone().requires_grad_()
        torch_input = logits.clone().requires_grad_()
        ours = lb_F.soft_margin_loss(ours_input, float_labels, reduction=reduction)
        expected = torch_F.soft_margin_loss(torch_input, float_labels, reduction=reduction)
        torch.testing.assert_close(ours, expected, **TOLERANCES[dtype])
        ours.sum().backward()
        expected.sum().backward()
        torch.testing.assert_close(ours_input.grad, torch_input.grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_matches_torch(dtype, reduction):
    for seed, shape in enumerate([(4,), (6, 3), (2, 3, 5)]):
        logits, _, soft, hard = random_inputs(shape, dtype, seed)
        assert_same_loss("multilabel_soft_margin_loss", logits, soft, reduction=reduction)
        assert_same_loss("multilabel_soft_margin_loss", logits, hard.long(), reduction=reduction)
        for weight_shape in weight_shapes(shape):
            weight = positive_weights(weight_shape, dtype, seed)
            assert_same_loss(
                "multilabel_soft_margin_loss", logits, hard, weight=weight, reduction=reduction
            )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("alpha", "gamma"), [(0.25, 2), (-1, 0), (0.9, 0.5), (-1.0, 3.0)])
def test_sigmoid_focal_matches_torchvision_definition(dtype, reduction, alpha, gamma):
    for seed, shape in enumerate(SHAPES):
        logits, _, soft, hard = random_inputs(shape, dtype, seed)
        for target in (soft, hard):
            assert_same_loss(
                "sigmoid_focal_loss", logits, target, alpha=alpha, gamma=gamma, reduction=reduction
            )


def test_sigmoid_focal_positional_arguments_match_torchvision():
    logits, _, soft, _ = random_inputs((4, 3), F64, 0)
    assert_same_loss("sigmoid_focal_loss", logits, soft, 0.6, 1.5, "mean")


# --- gradcheck (float64) --------------------------------------------------------------------


def test_gradcheck_bce():
    _, probs, soft, _ = random_inputs((3, 4), F64, 1)
    probs = probs.clamp(0.05, 0.95)  # finite differences must stay inside [0, 1]
    assert_gradcheck("binary_cross_entropy", probs, soft)
    assert_gradcheck(
        "binary_cross_entropy", probs, soft, positive_weights((4,), F64, 2), reduction="sum"
    )


def test_gradgradcheck_bce_custom_backward():
    """The hand-written backward is itself differentiable (second-order methods, gradient penalties)."""
    _, probs, soft, _ = random_inputs((5,), F64, 3)
    probs = probs.clamp(0.05, 0.95).requires_grad_()
    soft = soft.requires_grad_()
    assert torch.autograd.gradgradcheck(_ClampedBinaryCrossEntropy.apply, (probs, soft))


def test_gradcheck_bce_with_logits():
    logits, _, soft, _ = random_inputs((3, 4), F64, 4)
    assert_gradcheck("binary_cross_entropy_with_logits", logits, soft)
    leaves = [
        t.detach().clone().requires_grad_(True)
        for t in (logits, soft, positive_weights((3, 4), F64, 5), positive_weights((4,), F64, 6))
    ]
    assert torch.autograd.gradcheck(
        lambda x, y, w, pw: lb_F.binary_cross_entropy_with_logits(
            x, y, w, reduction="sum", pos_weight=pw
        ),
        leaves,
    )


def test_gradcheck_soft_margin():
    logits, _, _, hard = random_inputs((3, 4), F64, 7)
    assert_gradcheck("soft_margin_loss", logits, 2 * hard - 1)


def test_gradcheck_multilabel_soft_margin():
    logits, _, soft, _ = random_inputs((3, 4), F64, 8)
    assert_gradcheck(
        "multilabel_soft_margin_loss",
        logits,
        soft,
        positive_weights((4,), F64, 9),
        reduction="none",
    )


@pytest.mark.parametrize(("alpha", "gamma"), [(0.25, 2.0), (-1.0, 0.5)])
def test_gradcheck_sigmoid_focal(alpha, gamma):
    logits, _, soft, _ = random_inputs((3, 4), F64, 10)
    assert_gradcheck("sigmoid_focal_loss", logits, soft, alpha=alpha, gamma=gamma)


# --- properties (Hypothesis) ----------------------------------------------------------------

logit_lists = st.lists(st.floats(-30.0, 30.0), min_size=1, max_size=16)


@st.composite
def logits_and_targets(draw, logit_range=30.0):
    """Float64 logits and targets in [0, 1] (hard labels half of the time), same shape."""
    size = draw(st.integers(1, 16))
    logits = draw(st.lists(st.floats(-logit_range, logit_range), min_size=size, max_size=size))
    hard = draw(st.booleans())
    elements = st.sampled_from([0.0, 1.0]) if hard else st.floats(0.0, 1.0)
    targets = draw(st.lists(elements, min_size=size, max_size=size))
    return torch.tensor(logits, dtype=F64), torch.tensor(targets, dtype=F64)


@given(logits_and_targets())
def test_every_binary_loss_is_non_negative(pair):
    logits, target = pair
    probs = torch.sigmoid(logits)
    losses = [
        lb_F.binary_cross_entropy(probs, target, reduction="none"),
        lb_F.binary_cross_entropy_with_logits(logits, target, reduction="none"),
        lb_F.soft_margin_loss(logits, 2 * target - 1, reduction="none"),
        lb_F.multilabel_soft_margin_loss(logits, target, reduction="none"),
        lb_F.sigmoid_focal_loss(logits, target),
    ]
    for loss in losses:
        assert bool((loss >= 0).all()), loss


@given(logits_and_targets(logit_range=10.0))
def test_bce_of_sigmoid_equals_bce_with_logits_where_not_saturated(pair):
    # |x| ≤ 10 keeps 1 − σ(x) ≥ 4.5e-5: computing it loses at most ~1e-12 relative.
    logits, target = pair
    from_probs = lb_F.binary_cross_entropy(torch.sigmoid(logits), target, reduction="none")
    from_logits = lb_F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    torch.testing.assert_close(from_probs, from_logits, rtol=1e-10, atol=1e-11)


@given(logits_and_targets(), st.sampled_from(REDUCTIONS))
def test_focal_with_gamma_0_and_no_alpha_is_bce_with_logits(pair, reduction):
    logits, target = pair
    focal = lb_F.sigmoid_focal_loss(logits, target, alpha=-1, gamma=0, reduction=reduction)
    bce = lb_F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
    torch.testing.assert_close(focal, bce, rtol=0, atol=0)


@given(logits_and_targets(), st.floats(0.1, 5.0))
def test_focal_never_exceeds_bce_with_logits(pair, gamma):
    logits, target = pair
    focal = lb_F.sigmoid_focal_loss(logits, target, alpha=-1, gamma=gamma)
    bce = lb_F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert bool((focal <= bce).all()), (focal, bce)


@given(logits_and_targets())
def test_focal_is_smaller_on_confident_correct_predictions(pair):
    """The point of γ: a well-classified element (p_t > 1/2) loses at least a factor 4 at γ = 2."""
    logits, target = pair
    hard = (target > 0.5).to(F64)
    focal = lb_F.sigmoid_focal_loss(logits, hard, alpha=-1, gamma=2)
    bce = lb_F.binary_cross_entropy_with_logits(logits, hard, reduction="none")
    confident = (2 * hard - 1) * logits > 0
    assert bool((focal[confident] <= bce[confident] / 4).all())


@given(logits_and_targets())
def test_soft_margin_is_bce_with_logits_with_plus_minus_one_labels(pair):
    logits, target = pair
    hard = (target > 0.5).to(F64)
    torch.testing.assert_close(
        lb_F.soft_margin_loss(logits, 2 * hard - 1, reduction="none"),
        lb_F.binary_cross_entropy_with_logits(logits, hard, reduction="none"),
        rtol=1e-12,
        atol=1e-13,
    )


@given(logits_and_targets())
def test_multilabel_soft_margin_mean_is_bce_with_logits_mean(pair):
    logits, target = pair
    batch = torch.stack([logits, logits.flip(0)])
    targets = torch.stack([target, target])
    torch.testing.assert_close(
        lb_F.multilabel_soft_margin_loss(batch, targets),
        lb_F.binary_cross_entropy_with_logits(batch, targets),
        rtol=1e-12,
        atol=1e-13,
    )


@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=16))
def test_bce_is_zero_at_the_target(labels):
    target = torch.tensor(labels, dtype=F64)
    assert float(lb_F.binary_cross_entropy(target.clone(), target, reduction="sum")) == 0.0


# --- extreme inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("magnitude", [1e4, 1e30])
def test_bce_with_logits_is_exact_for_huge_logits(dtype, magnitude):
    logits = torch.tensor([magnitude, -magnitude, magnitude, -magnitude, 0.0], dtype=dtype)
    target = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5], dtype=dtype)
    loss = lb_F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    torch.testing.assert_close(
        loss,
        torch.tensor([0.0, 0.0, magnitude, magnitude, math.log(2)], dtype=dtype),
        **TOLERANCES[dtype],
    )
    for reduction in REDUCTIONS:
        assert_same_loss("binary_cross_entropy_with_logits", logits, target, reduction=reduction)
        assert_same_loss("sigmoid_focal_loss", logits, target, reduction=reduction)
        assert_same_loss("multilabel_soft_margin_loss", logits, target, reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_with_weights_is_exact_for_huge_logits(dtype):
    logits = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype)
    target = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5], dtype=dtype)
    pos_weight = torch.tensor([2.0], dtype=dtype)
    weight = torch.tensor([0.5], dtype=dtype)
    loss = lb_F.binary_cross_entropy_with_logits(
        logits, target, weight, reduction="none", pos_weight=pos_weight
    )
    torch.testing.assert_close(
        loss,
        torch.tensor([0.0, 0.0, 5e3, 1e4, 0.75 * math.log(2)], dtype=dtype),
        **TOLERANCES[dtype],
    )
    for reduction in REDUCTIONS:
        assert_same_loss(
            "binary_cross_entropy_with_logits",
            logits,
            target,
            reduction=reduction,
            pos_weight=pos_weight,
            weight=weight,
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_stays_finite_where_torch_overflows(dtype):
    scores = torch.tensor([1e4, -1e4, 200.0], dtype=dtype, requires_grad=True)
    labels = torch.tensor([1.0, 1.0, -1.0], dtype=dtype)
    loss = lb_F.soft_margin_loss(scores, labels, reduction="none")
    # −y·x = −1e4, 1e4, 200: log(1 + e^{−y·x}) is 0 or −y·x to within rounding.
    torch.testing.assert_close(loss, torch.tensor([0.0, 1e4, 200.0], dtype=dtype), rtol=0, atol=0)
    loss.sum().backward()
    torch.testing.assert_close(
        scores.grad, torch.tensor([0.0, -1.0, 1.0], dtype=dtype), rtol=0, atol=0
    )
    # torch's literal log1p(exp(−y·x)) overflows exactly where lossbook's stays exact.
    assert torch_F.soft_margin_loss(scores.detach(), labels, reduction="none")[1] == math.inf
    assert_same_loss("soft_margin_loss", scores[:1].detach(), labels[:1].long(), reduction="none")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_at_probabilities_exactly_0_and_1_matches_torch(dtype, reduction):
    """The −100 clamp in the value, torch's 1e-12 floor in the input gradient, ±inf for the target."""
    probs = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    target = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.3, 0.7, 1.0], dtype=dtype)
    expected = assert_same_loss("binary_cross_entropy", probs, target, reduction=reduction)
    assert bool(expected.isfinite().all())


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_bce_at_probabilities_exactly_0_and_1_matches_torch(dtype):
    probs = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    target = torch.tensor([0.0, 1.0, 1.0, 0.3, 1.0], dtype=dtype)
    weight = torch.linspace(0.5, 2.0, 5, dtype=dtype)
    for reduction in REDUCTIONS:
        assert_same_loss("binary_cross_entropy", probs, target, weight=weight, reduction=reduction)


def test_bce_in_the_clamped_range_matches_torch():
    """log p < −100 without p being 0: float64 can hold p = 1e-50 and 1 − 1e-16."""
    probs = t64(1e-50, 1e-300, 1 - 1e-16, 1e-45, 0.5)
    target = t64(1.0, 0.5, 0.0, 1.0, 0.0)
    for reduction in REDUCTIONS:
        assert_same_loss("binary_cross_entropy", probs, target, reduction=reduction)


@pytest.mark.parametrize("name", BINARY_LOSSES)
@pytest.mark.parametrize("shape", [(0,), (0, 3)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batches_match_torch(name, shape, reduction):
    """Mean of nothing is NaN, sum is 0, none is empty: as torch."""
    empty = torch.empty(shape, dtype=F64)
    target = empty.long() if name == "soft_margin_loss" else empty
    assert_same_loss(name, empty, target, reduction=reduction)


# --- bad input: clear errors where torch raises ---------------------------------------------


def test_long_target_names_the_fix():
    logits = torch.randn(4)
    labels = torch.tensor([0, 1, 1, 0])
    for name, first in [
        ("binary_cross_entropy", torch.sigmoid(logits)),
        ("binary_cross_entropy_with_logits", logits),
        ("sigmoid_focal_loss", logits),
    ]:
        with pytest.raises(LossInputError, match=r"torch\.int64.*target\.float\(\)"):
            getattr(lb_F, name)(first, labels)
        reference = reference_focal_loss if name == "sigmoid_focal_loss" else getattr(torch_F, name)
        with pytest.raises(RuntimeError):
            reference(first, labels)


def test_logits_passed_to_bce_suggest_the_with_logits_version():
    logits = torch.tensor([2.5, -1.0, 0.3])
    target = torch.tensor([1.0, 0.0, 1.0])
    with pytest.raises(LossInputError, match="binary_cross_entropy_with_logits"):
        lb_F.binary_cross_entropy(logits, target)
    with pytest.raises(RuntimeError):
        torch_F.binary_cross_entropy(logits, target)


@pytest.mark.parametrize("bad", [[1.0, -1.0, 1.0], [0.0, 2.0, 1.0], [0.0, math.nan, 1.0]])
def test_bce_target_outside_0_1_raises_as_in_torch(bad):
    probs = torch.tensor([0.9, 0.1, 0.5])
    target = torch.tensor(bad)
    with pytest.raises(LossInputError, match=r"target must hold probabilities in \[0, 1\]"):
        lb_F.binary_cross_entropy(probs, target)
    with pytest.raises(RuntimeError):
        torch_F.binary_cross_entropy(probs, target)


def test_bce_target_dtype_must_match_as_in_torch():
    probs = torch.tensor([0.9, 0.1])
    target = torch.tensor([1.0, 0.0], dtype=F64)
    with pytest.raises(LossInputError, match=r"target\.to\(input\.dtype\)"):
        lb_F.binary_cross_entropy(probs, target)
    with pytest.raises(RuntimeError):
        torch_F.binary_cross_entropy(probs, target)


@pytest.mark.parametrize(
    "name", ["binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss"]
)
def test_column_output_against_flat_labels_raises_like_torch(name):
    output = torch.full((5, 1), 0.5)
    labels = torch.ones(5)
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(5,\).*squeeze"):
        getattr(lb_F, name)(output, labels)
    reference = reference_focal_loss if name == "sigmoid_focal_loss" else getattr(torch_F, name)
    with pytest.raises(ValueError):
        reference(output, labels)


@pytest.mark.parametrize("argument", ["weight", "pos_weight"])
def test_weight_that_would_enlarge_the_loss_raises_like_torch(argument):
    logits, target = torch.zeros(5), torch.ones(5)
    per_sample_column = torch.ones(5, 1)
    with pytest.raises(RuntimeError, match=rf"{argument} has shape \(5, 1\).*\(5,\)"):
        lb_F.binary_cross_entropy_with_logits(logits, target, **{argument: per_sample_column})
    with pytest.raises(RuntimeError):
        torch_F.binary_cross_entropy_with_logits(logits, target, **{argument: per_sample_column})
    with pytest.raises(RuntimeError, match=r"weight has shape \(5, 1\)"):
        lb_F.binary_cross_entropy(torch.full((5,), 0.5), target, weight=per_sample_column)


def test_soft_margin_target_is_broadcast_into_the_input_only():
    scores = torch.randn(4, 3, dtype=F64)
    row_labels = torch.tensor([1.0, -1.0, 1.0], dtype=F64)
    torch.testing.assert_close(
        lb_F.soft_margin_loss(scores, row_labels),
        torch_F.soft_margin_loss(scores, row_labels),
        **EXACT64,
    )
    column, labels = torch.randn(4, 1), torch.ones(4)
    with pytest.raises(LossInputError, match=r"input\.squeeze\(-1\)"):
        lb_F.soft_margin_loss(column, labels)
    with pytest.raises(RuntimeError):
        torch_F.soft_margin_loss(column, labels)
    flat, column_labels = torch.randn(4), torch.ones(4, 1)
    with pytest.raises(LossInputError, match=r"target\.squeeze\(-1\)"):
        lb_F.soft_margin_loss(flat, column_labels)
    with pytest.raises(RuntimeError):
        torch_F.soft_margin_loss(flat, column_labels)


def test_multilabel_soft_margin_warns_on_broadcast_and_still_matches_torch():
    logits = torch.randn(4, 1, dtype=F64)
    target = torch.ones(4, dtype=F64)
    with pytest.warns(UserWarning, match=r"broadcast to \(4, 4\)"):
        ours = lb_F.multilabel_soft_margin_loss(logits, target, reduction="none")
    torch.testing.assert_close(
        ours, torch_F.multilabel_soft_margin_loss(logits, target, reduction="none"), **EXACT64
    )


def test_multilabel_soft_margin_needs_a_class_dimension():
    with pytest.raises(LossInputError, match="class dimension"):
        lb_F.multilabel_soft_margin_loss(torch.tensor(0.3), torch.tensor(1.0))
    with pytest.raises(IndexError):
        torch_F.multilabel_soft_margin_loss(torch.tensor(0.3), torch.tensor(1.0))


@pytest.mark.parametrize("name", BINARY_LOSSES)
def test_unknown_reduction_lists_the_valid_ones(name):
    logits = torch.zeros(3)
    with pytest.raises(ValueError, match="'none', 'mean', 'sum'"):
        getattr(lb_F, name)(logits, torch.ones(3), reduction="avg")
