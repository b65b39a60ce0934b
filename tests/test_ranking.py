"""Ranking and metric-learning losses: hand-computed values, torch parity, gradcheck, properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import lossbook.functional as lb_F
from lossbook.losses._validation import LossInputError
from lossbook.losses.ranking import pairwise_distance
from tests.parity import TOLERANCES, assert_gradcheck, assert_same_loss

REDUCTIONS = ("none", "mean", "sum")
DTYPES = (torch.float64, torch.float32)
INF = float("inf")


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def signs(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    """Random ±1 targets."""
    generator = torch.Generator().manual_seed(seed + 1000)
    return (torch.randint(0, 2, shape, generator=generator) * 2 - 1).to(dtype)


# --- hand-computed values ---------------------------------------------------


def test_margin_ranking_by_hand():
    x1 = torch.tensor([2.0, 0.5, 1.0])
    x2 = torch.tensor([1.0, 1.0, 1.0])
    y = torch.tensor([1.0, 1.0, -1.0])
    # max(0, -y (x1 - x2) + 0.5): -1 + 0.5, 0.5 + 0.5, 0 + 0.5
    expected = torch.tensor([0.0, 1.0, 0.5])
    loss = lb_F.margin_ranking_loss(x1, x2, y, margin=0.5, reduction="none")
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)
    assert lb_F.margin_ranking_loss(x1, x2, y, margin=0.5).item() == 0.5
    assert lb_F.margin_ranking_loss(x1, x2, y, margin=0.5, reduction="sum").item() == 1.5


def test_hinge_embedding_by_hand():
    distance = torch.tensor([0.25, 2.0, 0.5, 3.0])
    y = torch.tensor([1, 1, -1, -1])
    # y = 1: the distance itself; y = -1: max(0, 1 - distance)
    expected = torch.tensor([0.25, 2.0, 0.5, 0.0])
    loss = lb_F.hinge_embedding_loss(distance, y, reduction="none")
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)
    assert lb_F.hinge_embedding_loss(distance, y).item() == 2.75 / 4


def test_cosine_embedding_by_hand():
    x1 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    x2 = torch.tensor([[2.0, 0.0], [-1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([1, -1, -1])
    # cos = 1, 0, 1/√2; y = 1: 1 - cos; y = -1: max(0, cos - 0.5)
    expected = torch.tensor([0.0, 0.0, 1 / math.sqrt(2) - 0.5], dtype=torch.float64)
    loss = lb_F.cosine_embedding_loss(x1, x2, y, margin=0.5, reduction="none")
    # ε = 1e-12 in the squared norms moves cos by about 1e-12.
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-11)


def test_cosine_embedding_uses_float32_epsilon_like_aten():
    """ATen adds float32(1e-12) = 9.99999996e-13 to each squared norm, not 1e-12."""
    x = torch.tensor([[1e-6]], dtype=torch.float64)
    eps32 = float(torch.tensor(1e-12, dtype=torch.float32))
    # ‖x‖² = 1e-12 exactly in the formula below; cos = 1e-12 / (1e-12 + eps32)
    expected = 1 - 1e-12 / (1e-12 + eps32)
    loss = lb_F.cosine_embedding_loss(x, x, torch.tensor([1]), reduction="none")
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert abs(loss.item() - 0.5) > 1e-10  # what eps = 1e-12 (in float64) would give
    assert_same_loss("cosine_embedding_loss", x, x, torch.tensor([1]), reduction="none")


def test_cosine_embedding_zero_vectors_have_cosine_zero():
    zeros = torch.zeros(2, 3, dtype=torch.float64)
    loss = lb_F.cosine_embedding_loss(zeros, zeros, torch.tensor([1, -1]), reduction="none")
    assert loss.tolist() == [1.0, 0.0]
    assert_same_loss("cosine_embedding_loss", zeros, zeros, torch.tensor([1, -1]), reduction="none")


def test_triplet_by_hand():
    anchor = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    positive = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    negative = torch.tensor([[0.0, 5.5]], dtype=torch.float64)

    def loss(**kwargs):
        return lb_F.triplet_margin_loss(anchor, positive, negative, eps=0.0, **kwargs).item()

    assert loss() == pytest.approx(1 + 5 - 5.5, abs=1e-15)  # Euclidean: 5 and 5.5
    assert loss(p=1) == pytest.approx(1 + 7 - 5.5, abs=1e-15)  # Manhattan: 7 and 5.5
    assert loss(p=INF) == 0.0  # largest component: 4 and 5.5
    assert loss(p=0) == 1 + 2 - 1  # non-zero components: 2 and 1
    assert loss(margin=0.25) == 0.0


def test_triplet_swap_by_hand():
    anchor = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    positive = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    negative = torch.tensor([[3.0, 4.5]], dtype=torch.float64)
    # d(a, p) = 5, d(a, n) = √29.25, d(p, n) = 0.5: the swap uses the harder 0.5.
    plain = lb_F.triplet_margin_loss(anchor, positive, negative, eps=0.0)
    swapped = lb_F.triplet_margin_loss(anchor, positive, negative, eps=0.0, swap=True)
    assert plain.item() == pytest.approx(1 + 5 - math.sqrt(29.25), rel=1e-14)
    assert swapped.item() == pytest.approx(1 + 5 - 0.5, rel=1e-14)


def test_pairwise_distance_adds_eps_to_every_component():
    x = torch.zeros(4, 9, dtype=torch.float64)
    # identical rows are ‖(ε, ..., ε)‖_p = ε · D^{1/p} apart
    assert pairwise_distance(x, x, eps=1e-3).tolist() == pytest.approx([3e-3] * 4, rel=1e-14)
    assert pairwise_distance(x, x, p=1, eps=1e-3).tolist() == pytest.approx([9e-3] * 4, rel=1e-14)


def test_triplet_with_distance_by_hand():
    anchor = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    positive = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    negative = torch.tensor([[2.0, 0.0], [0.0, 3.0]])

    def manhattan(x, y):
        return (x - y).abs().sum(dim=-1)

    loss = lb_F.triplet_margin_with_distance_loss(
        anchor, positive, negative, distance_function=manhattan, reduction="none"
    )
    assert loss.tolist() == [1.0 + 2 - 2, 0.0]  # second: 1 + 1 - 3 < 0


# --- parity with torch -------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (7,), (3, 5)])
@pytest.mark.parametrize("margin", [0, 0.7, -0.3])
def test_margin_ranking_parity(shape, reduction, dtype, margin):
    x1, x2 = randn(*shape, dtype=dtype, seed=1), randn(*shape, dtype=dtype, seed=2)
    y = signs(*shape, dtype=dtype)
    assert_same_loss("margin_ranking_loss", x1, x2, y, margin=margin, reduction=reduction)


def test_margin_ranking_parity_broadcast_and_integer_target():
    x1, x2, y = randn(4, 1, seed=1), randn(1, 5, seed=2), signs(4, 5)
    assert_same_loss("margin_ranking_loss", x1, x2, y, margin=0.2, reduction="none")
    assert_same_loss("margin_ranking_loss", x1, x2, y.long(), margin=0.2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (8,), (3, 4, 2)])
@pytest.mark.parametrize("margin", [1.0, 0.2, 2.5])
def test_hinge_embedding_parity(shape, reduction, dtype, margin):
    distance = randn(*shape, dtype=dtype, seed=3).abs() * 2
    y = signs(*shape, dtype=dtype)
    assert_same_loss("hinge_embedding_loss", distance, y, margin=margin, reduction=reduction)


def test_hinge_embedding_parity_negative_input_and_broadcast_target():
    x = randn(4, 3, seed=4)  # torch does not require a distance to be non-negative
    assert_same_loss("hinge_embedding_loss", x, signs(3).long(), reduction="none")
    assert_same_loss("hinge_embedding_loss", x, signs(4, 1), margin=0.5, reduction="sum")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0, 0.3, -0.5])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_parity(batched, margin, reduction, dtype):
    x1, x2 = randn(6, 5, dtype=dtype, seed=5), randn(6, 5, dtype=dtype, seed=6)
    y = signs(6).long()
    if not batched:
        x1, x2, y = x1[0], x2[0], y[0]
    assert_same_loss("cosine_embedding_loss", x1, x2, y, margin=margin, reduction=reduction)


@pytest.mark.parametrize("scale", [1e-8, 1e-6, 1e-3, 1e3, 1e8])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_embedding_parity_extreme_scales(scale, dtype):
    x1, x2 = randn(5, 3, dtype=dtype, seed=7) * scale, randn(5, 3, dtype=dtype, seed=8) * scale
    assert_same_loss("cosine_embedding_loss", x1, x2, signs(5).long(), margin=0.1, reduction="none")


def test_cosine_embedding_parity_broadcast_float_target_and_empty_feature_dim():
    x1, x2 = randn(4, 3, seed=9), randn(1, 3, seed=10)
    assert_same_loss("cosine_embedding_loss", x1, x2, signs(4), reduction="none")
    assert_same_loss("cosine_embedding_loss", x2, x1, signs(1), reduction="none")
    empty = torch.zeros(3, 0, dtype=torch.float64)
    assert_same_loss("cosine_embedding_loss", empty, empty, signs(3).long(), reduction="none")


TRIPLET_OPTIONS = [
    {},
    {"p": 1},
    {"p": 3},
    {"p": 1.5},
    {"p": 0.5},
    {"p": 0},
    {"p": INF},
    {"eps": 0.0},
    {"eps": 0.1},
    {"swap": True},
    {"swap": True, "p": 1, "margin": 0.3},
    {"margin": 4.0},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", TRIPLET_OPTIONS, ids=str)
def test_triplet_parity(options, reduction, dtype):
    anchor, positive, negative = (randn(6, 4, dtype=dtype, seed=s) for s in (11, 12, 13))
    assert_same_loss(
        "triplet_margin_loss", anchor, positive, negative, reduction=reduction, **options
    )


@pytest.mark.parametrize(
    "shapes", [((4,), (4,), (4,)), ((2, 3, 4),) * 3, ((5, 4), (1, 4), (5, 4)), ((), (), ())]
)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_parity_shapes(shapes, swap):
    anchor, positive, negative = (randn(*s, seed=i) for i, s in enumerate(shapes))
    assert_same_loss("triplet_margin_loss", anchor, positive, negative, swap=swap, reduction="none")
    assert_same_loss(
        "triplet_margin_with_distance_loss", anchor, positive, negative, swap=swap, reduction="none"
    )


def cosine_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1 - (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))


def manhattan_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).abs().sum(dim=-1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance_function", [None, cosine_distance, manhattan_distance])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.1])
def test_triplet_with_distance_parity(margin, swap, distance_function, reduction, dtype):
    anchor, positive, negative = (randn(5, 3, dtype=dtype, seed=s) for s in (14, 15, 16))
    assert_same_loss(
        "triplet_margin_with_distance_loss",
        anchor,
        positive,
        negative,
        distance_function=distance_function,
        margin=margin,
        swap=swap,
        reduction=reduction,
    )


def test_triplet_with_default_distance_is_triplet_margin_loss():
    anchor, positive, negative = (randn(6, 4, seed=s) for s in (17, 18, 19))
    for swap in (False, True):
        torch.testing.assert_close(
            lb_F.triplet_margin_with_distance_loss(anchor, positive, negative, swap=swap),
            lb_F.triplet_margin_loss(anchor, positive, negative, swap=swap),
            rtol=0,
            atol=0,
        )


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, 0, INF])
@pytest.mark.parametrize("eps", [1e-6, 0.0])
def test_pairwise_distance_parity_with_zero_differences(p, eps):
    """Rows that coincide exactly (x1 - x2 + eps = 0) get gradient 0, as in torch, not NaN."""
    x1 = randn(5, 4, seed=20)
    x2 = x1.clone() + eps
    x2[::2] = randn(3, 4, seed=21)  # rows 1 and 3 coincide, the others do not
    x2[0, 1] = x1[0, 1] + eps  # and one single component of row 0
    ours_x1, torch_x1 = x1.clone().requires_grad_(), x1.clone().requires_grad_()
    ours = pairwise_distance(ours_x1, x2, p=p, eps=eps)
    expected = torch_F.pairwise_distance(torch_x1, x2, p=p, eps=eps)
    tolerance = TOLERANCES[torch.float64]
    torch.testing.assert_close(ours, expected, **tolerance)
    seed = torch.linspace(0.5, 1.5, 5, dtype=torch.float64)
    (ours_grad,) = torch.autograd.grad(ours, ours_x1, seed)
    # torch's norm backward returns no gradient at all for p = 0 (it is zero)
    (torch_grad,) = torch.autograd.grad(expected, torch_x1, seed, allow_unused=True)
    torch_grad = torch.zeros_like(x1) if torch_grad is None else torch_grad
    assert torch.isfinite(ours_grad).all()
    torch.testing.assert_close(ours_grad, torch_grad, **tolerance)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("margin_ranking_loss", lambda: (torch.zeros(0), torch.zeros(0), torch.zeros(0))),
        ("hinge_embedding_loss", lambda: (torch.zeros(0), torch.zeros(0))),
        ("cosine_embedding_loss", lambda: (torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0))),
        ("triplet_margin_loss", lambda: (torch.zeros(0, 3),) * 3),
        ("triplet_margin_with_distance_loss", lambda: (torch.zeros(0, 3),) * 3),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch_like_torch(name, args, reduction):
    """An empty batch: (0,) for "none", 0 for "sum", NaN (0 / 0) for "mean"."""
    value = assert_same_loss(name, *args(), reduction=reduction)
    if reduction == "mean":
        assert value.isnan()


# --- targets other than ±1 ---------------------------------------------------


def test_zero_one_labels_warn_and_still_match_torch():
    x1, x2 = randn(4, 3, seed=22), randn(4, 3, seed=23)
    zero_one = torch.tensor([1.0, 0.0, 1.0, 0.0])
    with pytest.warns(UserWarning, match=r"2 \* target - 1"):
        assert_same_loss("cosine_embedding_loss", x1, x2, zero_one, reduction="none")
    with pytest.warns(UserWarning, match="0 target adds both terms"):
        assert_same_loss("hinge_embedding_loss", x1.abs(), zero_one[:3], reduction="none")
    with pytest.warns(UserWarning, match="constant loss"):
        assert_same_loss("margin_ranking_loss", x1[:, 0], x2[:, 0], zero_one * 0.5, margin=0.1)


def test_plus_minus_one_targets_do_not_warn(recwarn):
    lb_F.margin_ranking_loss(randn(3), randn(3, seed=1), signs(3))
    lb_F.hinge_embedding_loss(randn(3), signs(3).long())
    lb_F.cosine_embedding_loss(randn(3, 2), randn(3, 2, seed=1), signs(3).long())
    assert not recwarn.list


# --- gradcheck ---------------------------------------------------------------


def test_gradcheck_margin_ranking():
    # integer targets: gradcheck perturbs every float input, and a target is a label
    assert_gradcheck(
        "margin_ranking_loss", randn(6, seed=24), randn(6, seed=25), signs(6).long(), margin=0.3
    )


def test_gradcheck_hinge_embedding():
    assert_gradcheck("hinge_embedding_loss", randn(6, seed=26).abs(), signs(6).long(), margin=1.5)


def test_gradcheck_cosine_embedding():
    assert_gradcheck(
        "cosine_embedding_loss",
        randn(5, 3, seed=27),
        randn(5, 3, seed=28),
        signs(5).long(),
        margin=-0.2,
    )


@pytest.mark.parametrize(
    "options", [{}, {"p": 1}, {"p": 3}, {"p": 0.5}, {"p": INF}, {"swap": True}], ids=str
)
def test_gradcheck_triplet(options):
    anchor, positive, negative = (randn(4, 3, seed=s) for s in (29, 30, 31))
    assert_gradcheck("triplet_margin_loss", anchor, positive, negative, margin=3.0, **options)


def test_gradcheck_triplet_with_distance():
    anchor, positive, negative = (randn(4, 3, seed=s) for s in (32, 33, 34))
    assert_gradcheck(
        "triplet_margin_with_distance_loss",
        anchor,
        positive,
        negative,
        distance_function=cosine_distance,
        margin=1.5,
        swap=True,
    )


# --- properties ----------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
scales = st.sampled_from([1e-3, 1.0, 1e3])
margins = st.floats(min_value=0.01, max_value=5.0)


@given(n=sizes, d=sizes, seed=seeds, scale=scales, margin=margins)
def test_losses_are_non_negative(n, d, seed, scale, margin):
    a, b, c = (randn(n, d, seed=seed + i) * scale for i in range(3))
    y = signs(n, seed=seed)
    losses = [
        lb_F.margin_ranking_loss(a[:, 0], b[:, 0], y, margin=margin, reduction="none"),
        lb_F.hinge_embedding_loss(a.abs(), y.unsqueeze(1), margin=margin, reduction="none"),
        lb_F.cosine_embedding_loss(a, b, y, margin=margin - 1, reduction="none"),
        lb_F.triplet_margin_loss(a, b, c, margin=margin, reduction="none"),
        lb_F.triplet_margin_with_distance_loss(a, b, c, margin=margin, swap=True, reduction="none"),
    ]
    for loss in losses:
        # 1 − cos can round to −2.2e-16 when cos rounds above 1 (torch's too)
        assert (loss >= -4e-16).all()


@given(n=sizes, seed=seeds, margin=margins, slack=st.floats(min_value=0.0, max_value=10.0))
def test_margin_ranking_is_zero_once_the_margin_is_met(n, seed, margin, slack):
    x2, y = randn(n, seed=seed), signs(n, seed=seed)
    x1 = x2 + y * (margin + slack)  # y (x1 - x2) = margin + slack ≥ margin
    # 1e-12: x1 - x2 re-rounds margin + slack
    assert lb_F.margin_ranking_loss(x1, x2, y, margin=margin, reduction="sum").item() <= 1e-12


@given(n=sizes, seed=seeds, margin=margins, slack=st.floats(min_value=0.0, max_value=10.0))
def test_hinge_embedding_is_zero_for_far_dissimilar_pairs(n, seed, margin, slack):
    distance = randn(n, seed=seed).abs() + margin + slack
    assert lb_F.hinge_embedding_loss(distance, -torch.ones(n), margin=margin, reduction="sum") == 0


@given(n=sizes, d=sizes, seed=seeds, stretch=st.floats(min_value=1e-2, max_value=1e2))
def test_cosine_embedding_is_zero_for_aligned_and_opposite_pairs(n, d, seed, stretch):
    x = randn(n, d, seed=seed)
    aligned = lb_F.cosine_embedding_loss(x, stretch * x, torch.ones(n), reduction="none")
    # 1 − cos = 1 − 1/√((1 + ε/‖x‖²)(1 + ε/‖sx‖²)) ≤ ε/‖x‖² + ε/‖sx‖², plus rounding
    squared_norm = (x * x).sum(-1)
    bound = 1e-12 / squared_norm + 1e-12 / (stretch**2 * squared_norm) + 1e-15
    assert (aligned.abs() <= bound).all()
    opposite = lb_F.cosine_embedding_loss(x, -stretch * x, -torch.ones(n), reduction="none")
    assert (opposite == 0).all()


@given(n=sizes, d=sizes, seed=seeds, margin=margins, p=st.sampled_from([1, 2, 3, INF]))
def test_triplet_is_zero_when_the_negative_is_far(n, d, seed, margin, p):
    anchor, positive = randn(n, d, seed=seed), randn(n, d, seed=seed + 1)
    # every component of the negative lies beyond max‖a - p‖ + margin: d(a, n) ≥ d(a, p) + margin
    # (2×: the swapped distance d(p, n) is at least offset - |a - p| per component)
    offset = 2 * (anchor - positive).abs().sum() + margin + 1
    negative = anchor + offset
    loss = lb_F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, swap=True)
    assert loss.item() == 0


@given(n=sizes, d=sizes, seed=seeds, margin=margins, p=st.sampled_from([0.5, 1, 2, INF]))
def test_triplet_swap_never_lowers_the_loss(n, d, seed, margin, p):
    """The swap takes min(d(a, n), d(p, n)): the loss can only grow."""
    anchor, positive, negative = (randn(n, d, seed=seed + i) for i in range(3))
    plain = lb_F.triplet_margin_loss(
        anchor, positive, negative, margin=margin, p=p, reduction="none"
    )
    swapped = lb_F.triplet_margin_loss(
        anchor, positive, negative, margin=margin, p=p, swap=True, reduction="none"
    )
    assert (plain <= swapped).all()


@given(n=sizes, seed=seeds, margin=st.floats(min_value=-2.0, max_value=2.0))
def test_margin_ranking_is_symmetric(n, seed, margin):
    """Swapping the two scores and flipping the target changes nothing."""
    x1, x2, y = randn(n, seed=seed), randn(n, seed=seed + 1), signs(n, seed=seed)
    torch.testing.assert_close(
        lb_F.margin_ranking_loss(x1, x2, y, margin=margin, reduction="none"),
        lb_F.margin_ranking_loss(x2, x1, -y, margin=margin, reduction="none"),
        rtol=0,
        atol=0,
    )


# --- bad input -----------------------------------------------------------------


def test_errors_name_the_problem():
    x = torch.zeros(3, 2)
    with pytest.raises(LossInputError, match="same number of dimensions"):
        lb_F.margin_ranking_loss(torch.zeros(3, 1), torch.zeros(3), torch.ones(3))
    shapes = r"input1 \(3,\), input2 \(4,\), target \(3,\) do not broadcast"
    with pytest.raises(LossInputError, match=shapes):
        lb_F.margin_ranking_loss(torch.zeros(3), torch.zeros(4), torch.ones(3))
    with pytest.raises(LossInputError, match="dtype torch.int64.*floating point"):
        lb_F.margin_ranking_loss(torch.zeros(3, dtype=torch.long), torch.zeros(3), torch.ones(3))
    with pytest.raises(LossInputError, match=r"torch.bool.*2 \* target.float\(\) - 1"):
        lb_F.hinge_embedding_loss(torch.zeros(3), torch.ones(3, dtype=torch.bool))
    with pytest.raises(LossInputError, match="needs .N, D. inputs"):
        lb_F.cosine_embedding_loss(x[None], x[None], torch.ones(3))
    with pytest.raises(LossInputError, match="must be 1-D"):
        lb_F.cosine_embedding_loss(x, x, torch.ones(1, 3))
    with pytest.raises(LossInputError, match=r"target\[:, None\] \(4, 1\) do not broadcast"):
        lb_F.cosine_embedding_loss(x, x, torch.ones(4))
    with pytest.raises(LossInputError, match="margin must be greater than 0, got 0"):
        lb_F.triplet_margin_loss(x, x, x, margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0, got -1.0"):
        lb_F.triplet_margin_with_distance_loss(x, x, x, margin=-1.0)
    with pytest.raises(LossInputError, match=r"anchor \(3, 2\), positive \(2,\)"):
        lb_F.triplet_margin_loss(x, x[0], x)
    with pytest.raises(LossInputError, match="p >= 0"):
        lb_F.triplet_margin_loss(x, x, x, p=-1)
    with pytest.raises(LossInputError, match="reduction='avg'"):
        lb_F.triplet_margin_with_distance_loss(x, x, x, reduction="avg")


def test_triplet_with_distance_parameters_are_keyword_only():
    x = torch.zeros(3, 2)
    with pytest.raises(TypeError):
        lb_F.triplet_margin_with_distance_loss(x, x, x, manhattan_distance)


def test_triplet_with_distance_names_shapes_that_do_not_broadcast():
    """The default distance subtracts the tensors: say which shapes clash (found by torch's OpInfo)."""
    anchor, positive, negative = torch.randn(3, 5), torch.randn(3, 4), torch.randn(3, 4)
    with pytest.raises(RuntimeError):
        torch_F.triplet_margin_with_distance_loss(anchor, positive, negative)
    with pytest.raises(LossInputError, match=r"anchor \(3, 5\), positive \(3, 4\)"):
        lb_F.triplet_margin_with_distance_loss(anchor, positive, negative)


def test_triplet_with_a_custom_distance_may_compare_different_shapes():
    """Only the default distance needs broadcastable tensors."""

    def mean_gap(x, y):
        return (x.mean(-1) - y.mean(-1)).abs()

    args = (torch.randn(3, 5), torch.randn(3, 4), torch.randn(3, 2))
    torch.testing.assert_close(
        lb_F.triplet_margin_with_distance_loss(*args, distance_function=mean_gap),
        torch_F.triplet_margin_with_distance_loss(*args, distance_function=mean_gap),
    )
