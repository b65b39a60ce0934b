"""The grading library's focal-loss and triplet-loss entries (chapter 6): right answers pass, each
wrong one is named."""

import pytest
import torch
import torch.nn.functional as torch_F

from lossbook.checks import (
    BINARY_CASES,
    MISTAKES,
    REFERENCES,
    GradingError,
    check_close,
    check_finite,
    check_grad,
)
from lossbook.checks.mistakes import resolve_reference

MODERATE = tuple(case for case in BINARY_CASES if not case.extreme)
TRIPLET_CASES = REFERENCES["triplet_margin_loss"].cases


def focal(
    *,
    alpha_t=lambda y, a: a * y + (1 - a) * (1 - y),
    factor=lambda p, y, p_t, g: (1 - p_t) ** g,
    log_of_sigmoid=False,
    reduce=None,
):
    """A from-scratch focal loss; each keyword swaps in one piece, right or wrong."""

    def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
        probs = torch.sigmoid(logits)
        if log_of_sigmoid:
            ce = -(targets * probs.log() + (1 - targets) * (1 - probs).log())
        else:
            ce = -(
                targets * torch_F.logsigmoid(logits) + (1 - targets) * torch_F.logsigmoid(-logits)
            )
        p_t = probs * targets + (1 - probs) * (1 - targets)
        loss = factor(probs, targets, p_t, gamma) * ce
        if alpha >= 0:
            loss = alpha_t(targets, alpha) * loss
        return loss if reduce is None else reduce(loss)

    return focal_loss


def triplet(distance=None, *, hinge=True, reduce=torch.mean, swap=False):
    """A from-scratch triplet loss; each keyword swaps in one piece, right or wrong."""

    def euclidean(x1, x2):
        return ((x1 - x2 + 1e-6) ** 2).sum(dim=-1).sqrt()

    measure = distance or euclidean

    def triplet_margin_loss(anchor, positive, negative, margin=1.0):
        if swap:
            positive, negative = negative, positive
        gap = margin + measure(anchor, positive) - measure(anchor, negative)
        return reduce(gap.clamp(min=0) if hinge else gap)

    return triplet_margin_loss


def named(check, *args, **kwargs):
    """The failure message of ``check(*args, **kwargs)``, which must fail."""
    with pytest.raises(GradingError) as failure:
        check(*args, **kwargs)
    return str(failure.value)


def test_focal_reference_is_torchvisions_definition():
    reference = resolve_reference("sigmoid_focal_loss")
    logits, targets = torch.tensor([2.0, -1.0, 0.0]), torch.tensor([1.0, 0.0, 1.0])
    probs = torch.sigmoid(logits)
    p_t = probs * targets + (1 - probs) * (1 - targets)
    bce = torch_F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    expected = (0.25 * targets + 0.75 * (1 - targets)) * (1 - p_t) ** 2 * bce
    torch.testing.assert_close(reference.fn(logits, targets), expected, rtol=1e-6, atol=1e-8)
    assert reference.cases == BINARY_CASES


def test_a_right_focal_loss_passes_every_check():
    right = focal()
    check_close(right, "sigmoid_focal_loss", BINARY_CASES)
    check_close(right, "sigmoid_focal_loss", MODERATE, kwargs={"alpha": -1.0, "gamma": 3.0})
    check_finite(right, reference="sigmoid_focal_loss")
    check_grad(right, "sigmoid_focal_loss", MODERATE, kwargs={"alpha": 0.6, "gamma": 1.5})


@pytest.mark.parametrize(
    ("key", "wrong"),
    [
        ("focal_alpha_wrong_class", focal(alpha_t=lambda y, a: a * (1 - y) + (1 - a) * y)),
        ("focal_missing_modulation", focal(factor=lambda p, y, p_t, g: 1.0)),
        ("focal_p_instead_of_p_t", focal(factor=lambda p, y, p_t, g: (1 - p) ** g)),
        ("focal_p_t_to_the_gamma", focal(factor=lambda p, y, p_t, g: p_t**g)),
        ("focal_alpha_ignored", focal(alpha_t=lambda y, a: 1.0)),
        ("reduced_instead_of_none", focal(reduce=torch.mean)),
        ("missing_minus", focal(reduce=torch.neg)),
    ],
)
def test_each_focal_mistake_is_named(key, wrong):
    message = named(check_close, wrong, "sigmoid_focal_loss", MODERATE)
    assert f"This matches a known mistake: {MISTAKES[key].name}." in message
    gradient_message = named(check_grad, wrong, "sigmoid_focal_loss", MODERATE)
    assert MISTAKES[key].name in gradient_message


def test_log_of_sigmoid_is_named_as_the_overflow_and_passes_moderate_logits():
    wrong = focal(log_of_sigmoid=True)
    check_close(wrong, "sigmoid_focal_loss", MODERATE)
    message = named(check_finite, wrong, reference="sigmoid_focal_loss")
    assert "returns inf and nan on extreme inputs" in message
    assert MISTAKES["focal_unstable_log"].name in message


def test_focal_variants_stand_aside_where_the_mistake_changes_nothing():
    reference = REFERENCES["sigmoid_focal_loss"].fn
    args = MODERATE[1].args
    assert MISTAKES["focal_alpha_wrong_class"].variant(reference, args, {"alpha": 0.5}) is None
    assert MISTAKES["focal_alpha_wrong_class"].variant(reference, args, {"alpha": -1.0}) is None
    assert MISTAKES["focal_missing_modulation"].variant(reference, args, {"gamma": 0.0}) is None
    assert MISTAKES["focal_alpha_ignored"].variant(reference, args, {"alpha": -1.0}) is None
    assert (
        MISTAKES["reduced_instead_of_none"].variant(reference, args, {"reduction": "sum"}) is None
    )


def test_triplet_reference_resolves_from_torch_and_lossbook():
    import lossbook.functional as LF

    assert resolve_reference(torch_F.triplet_margin_loss).name == "triplet_margin_loss"
    assert resolve_reference(LF.triplet_margin_loss) is REFERENCES["triplet_margin_loss"]


def test_triplet_cases_cover_a_coincident_pair_and_both_sides_of_the_hinge():
    assert [case.size for case in TRIPLET_CASES] == sorted(case.size for case in TRIPLET_CASES)
    coincident = any(
        bool((case.args[0] == case.args[1]).all(dim=-1).any()) for case in TRIPLET_CASES
    )
    assert coincident, "no triplet whose anchor equals its positive"
    gaps = torch.cat(
        [
            torch_F.triplet_margin_loss(*case.args, reduction="none").double().flatten()
            for case in TRIPLET_CASES
        ]
    )
    assert (gaps > 0).sum() >= 10 and (gaps == 0).sum() >= 5
    for case in TRIPLET_CASES:
        anchor, positive, negative = (arg.double() for arg in case.args)
        hinge = (
            1.0
            + torch_F.pairwise_distance(anchor, positive)
            - torch_F.pairwise_distance(anchor, negative)
        )
        assert hinge.abs().min() > 1e-3, f"{case.name} sits on the hinge"


def test_a_right_triplet_loss_passes_every_check():
    right = triplet()
    check_close(right, "triplet_margin_loss")
    check_close(right, "triplet_margin_loss", kwargs={"margin": 0.3})
    check_grad(right, "triplet_margin_loss", wrt=(0, 1, 2))


@pytest.mark.parametrize(
    ("key", "wrong"),
    [
        ("triplet_squared_distance", triplet(lambda x1, x2: ((x1 - x2 + 1e-6) ** 2).sum(dim=-1))),
        ("triplet_no_hinge", triplet(hinge=False)),
        ("triplet_swapped", triplet(swap=True)),
        (
            "triplet_distance_over_batch",
            triplet(lambda x1, x2: ((x1 - x2 + 1e-6) ** 2).sum(dim=0).sqrt()),
        ),
        ("triplet_l1_distance", triplet(lambda x1, x2: (x1 - x2 + 1e-6).abs().sum(dim=-1))),
        ("sum_instead_of_mean", triplet(reduce=torch.sum)),
        ("no_reduction", triplet(reduce=lambda loss: loss)),
    ],
)
def test_each_triplet_value_mistake_is_named(key, wrong):
    message = named(check_close, wrong, "triplet_margin_loss")
    assert f"This matches a known mistake: {MISTAKES[key].name}." in message


@pytest.mark.parametrize(
    "distance",
    [
        pytest.param(lambda x1, x2: ((x1 - x2) ** 2).sum(dim=-1).sqrt(), id="sqrt"),
        pytest.param(lambda x1, x2: (x1 - x2).norm(dim=-1), id="norm"),
    ],
)
def test_a_distance_without_eps_passes_the_values_and_fails_the_gradient_by_name(distance):
    wrong = triplet(distance)
    check_close(wrong, "triplet_margin_loss")
    message = named(check_grad, wrong, "triplet_margin_loss", wrt=(0, 1, 2))
    assert "This matches a known mistake: distance without torch's eps." in message
