"""Regression losses: hand-computed values, parity with torch, gradients, properties, edge cases."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import lossbook.functional as lb_F
from lossbook.losses._validation import LossInputError
from tests.parity import assert_gradcheck, assert_same_loss

REGRESSION = (
    "l1_loss",
    "mse_loss",
    "huber_loss",
    "smooth_l1_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
)
DISTANCE = ("l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss")
"""Losses of the error alone: 0 at the target, and the four torch warns about shapes for."""
REDUCTIONS = ("none", "mean", "sum")
DTYPES = (torch.float32, torch.float64)
INF = math.inf
NAN = math.nan

shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)
"""Every rank up to 3, empty dimensions and 0-d tensors included."""
nonempty_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def randn(
    shape: tuple[int, ...], dtype: torch.dtype, seed: int, scale: float = 3.0
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype) * scale


def positive(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator, dtype=torch.float64) + 0.05).to(dtype)


def counts(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 6, shape, generator=generator).to(dtype)


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def assert_equal64(actual: torch.Tensor, expected: float | list[float]) -> None:
    torch.testing.assert_close(
        actual, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-14
    )


# --- hand-computed values ---------------------------------------------------------------------

# Errors input − target = [0, 2, 3] with weights [1, 2, 3].
X, Y, W = t64(1.0, 2.0, 4.0), t64(1.0, 0.0, 1.0), t64(1.0, 2.0, 3.0)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("l1_loss", {"reduction": "none"}, [0.0, 2.0, 3.0]),
        ("l1_loss", {}, 5 / 3),
        ("l1_loss", {"reduction": "sum"}, 5.0),
        ("l1_loss", {"weight": W, "reduction": "none"}, [0.0, 4.0, 9.0]),
        ("l1_loss", {"weight": W}, 13 / 6),  # Σ w|d| / Σ w
        ("l1_loss", {"weight": W, "reduction": "sum"}, 13.0),
        ("mse_loss", {"reduction": "none"}, [0.0, 4.0, 9.0]),
        ("mse_loss", {}, 13 / 3),
        ("mse_loss", {"reduction": "sum"}, 13.0),
        ("mse_loss", {"weight": W}, 35 / 6),  # (0 + 8 + 27) / (1 + 2 + 3)
        # |d| = 2, 3 ≥ δ = 1: δ(|d| − δ/2) = 1.5, 2.5.
        ("huber_loss", {"reduction": "none"}, [0.0, 1.5, 2.5]),
        # δ = 2.5: ½·2² = 2 inside, 2.5·(3 − 1.25) = 4.375 outside.
        ("huber_loss", {"reduction": "none", "delta": 2.5}, [0.0, 2.0, 4.375]),
        ("huber_loss", {"delta": 2.5, "reduction": "sum"}, 6.375),
        # Weighted Huber's mean divides by N = 3, not by Σ w (torch 2.13).
        ("huber_loss", {"weight": W}, (0.0 + 3.0 + 7.5) / 3),
        ("huber_loss", {"delta": INF, "reduction": "none"}, [0.0, 2.0, 4.5]),  # ½d²
        ("smooth_l1_loss", {"reduction": "none"}, [0.0, 1.5, 2.5]),
        # β = 2.5: ½·2²/2.5 = 0.8 inside, 3 − 1.25 = 1.75 outside.
        ("smooth_l1_loss", {"reduction": "none", "beta": 2.5}, [0.0, 0.8, 1.75]),
        ("smooth_l1_loss", {"beta": 0.0, "reduction": "none"}, [0.0, 2.0, 3.0]),  # L1
        ("smooth_l1_loss", {"beta": INF, "reduction": "none"}, [0.0, 0.0, 0.0]),
    ],
)
def test_distance_losses_by_hand(name, kwargs, expected):
    assert_equal64(getattr(lb_F, name)(X, Y, **kwargs), expected)


def test_poisson_nll_by_hand():
    log_rate, count = t64(0.0, 1.0, 2.0), t64(1.0, 2.0, 3.0)
    # exp(x) − y·x
    assert_equal64(
        lb_F.poisson_nll_loss(log_rate, count, reduction="none"),
        [1.0, math.e - 2.0, math.exp(2.0) - 6.0],
    )
    # λ − y·log(λ + eps)
    rate = t64(1.0, 2.0, 0.0)
    assert_equal64(
        lb_F.poisson_nll_loss(rate, count, log_input=False, eps=0.5, reduction="none"),
        [1.0 - math.log(1.5), 2.0 - 2.0 * math.log(2.5), -3.0 * math.log(0.5)],
    )
    # Stirling's term y·log y − y + ½·log(2πy) only where y > 1.
    stirling = [y * math.log(y) - y + 0.5 * math.log(2 * math.pi * y) for y in (2.0, 3.0)]
    assert_equal64(
        lb_F.poisson_nll_loss(log_rate, count, full=True, reduction="none"),
        [1.0, math.e - 2.0 + stirling[0], math.exp(2.0) - 6.0 + stirling[1]],
    )


def test_gaussian_nll_by_hand():
    mean, observed = t64(0.0, 2.0, 1.0), t64(1.0, 2.0, 3.0)  # errors 1, 0, 2
    # ½(log σ² + d²/σ²)
    assert_equal64(lb_F.gaussian_nll_loss(mean, observed, 1.0, reduction="none"), [0.5, 0.0, 2.0])
    assert_equal64(
        lb_F.gaussian_nll_loss(mean, observed, t64(4.0, 1.0, 2.0), reduction="sum"),
        0.5 * (math.log(4.0) + 0.25) + 0.5 * (math.log(2.0) + 2.0),
    )
    assert_equal64(
        lb_F.gaussian_nll_loss(mean, observed, 1.0, full=True),
        2.5 / 3 + 0.5 * math.log(2 * math.pi),
    )
    # var = 0 is clamped to eps.
    assert_equal64(
        lb_F.gaussian_nll_loss(mean, observed, 0.0, eps=0.25, reduction="none"),
        [0.5 * (math.log(0.25) + 4.0), 0.5 * math.log(0.25), 0.5 * (math.log(0.25) + 16.0)],
    )


def test_gaussian_nll_gradient_passes_the_eps_clamp_like_torch():
    """var below eps: the loss uses eps, but d loss / d var is evaluated at eps, not zeroed."""
    var = t64(0.0).requires_grad_(True)
    lb_F.gaussian_nll_loss(t64(1.0), t64(0.0), var, eps=0.25).backward()
    # d/dσ² ½(log σ² + d²/σ²) = ½(1/σ² − d²/σ⁴) at σ² = 0.25, d = 1
    assert_equal64(var.grad, [0.5 * (4.0 - 16.0)])


def test_positional_reduction_is_refused():
    with pytest.raises(TypeError):
        lb_F.l1_loss(X, Y, "sum")


# --- parity with torch ------------------------------------------------------------------------


@given(
    name=st.sampled_from(("l1_loss", "mse_loss")),
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_l1_mse_match_torch(name, shape, dtype, reduction, weighted, seed):
    weight = {"weight": positive(shape, dtype, seed + 2)} if weighted else {}
    assert_same_loss(
        name,
        randn(shape, dtype, seed),
        randn(shape, dtype, seed + 1),
        reduction=reduction,
        **weight,
    )


@given(
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    delta=st.sampled_from((1.0, 0.1, 2.5, 1e3, INF)) | st.floats(1e-3, 10.0),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_huber_matches_torch(shape, dtype, reduction, delta, weighted, seed):
    weight = {"weight": positive(shape, dtype, seed + 2)} if weighted else {}
    assert_same_loss(
        "huber_loss",
        randn(shape, dtype, seed),
        randn(shape, dtype, seed + 1),
        reduction,
        delta,
        **weight,
    )


@given(
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    beta=st.sampled_from((1.0, 0.0, 0.1, 2.5, INF)) | st.floats(1e-3, 10.0),
    seed=st.integers(0, 2**16),
)
def test_smooth_l1_matches_torch(shape, dtype, reduction, beta, seed):
    assert_same_loss(
        "smooth_l1_loss",
        randn(shape, dtype, seed),
        randn(shape, dtype, seed + 1),
        reduction=reduction,
        beta=beta,
    )


@given(
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    log_input=st.booleans(),
    full=st.booleans(),
    eps=st.sampled_from((1e-8, 1e-3, 0.5)),
    seed=st.integers(0, 2**16),
)
def test_poisson_nll_matches_torch(shape, dtype, reduction, log_input, full, eps, seed):
    prediction = randn(shape, dtype, seed, scale=1.0)
    if not log_input:
        prediction = prediction.abs()
    # Counts include 0 and 1, where the Stirling term is left out.
    assert_same_loss(
        "poisson_nll_loss",
        prediction,
        counts(shape, dtype, seed + 1),
        log_input,
        full,
        eps=eps,
        reduction=reduction,
    )


VAR_SHAPES = {
    "same": lambda shape: shape,
    "one per sample": lambda shape: shape[:-1],
    "last dim 1": lambda shape: (*shape[:-1], 1),
    "first dim 1": lambda shape: (1, *shape[1:]),
}


@given(
    shape=nonempty_shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    var_kind=st.sampled_from(("float", *VAR_SHAPES)),
    full=st.booleans(),
    eps=st.sampled_from((1e-6, 0.1)),
    seed=st.integers(0, 2**16),
)
def test_gaussian_nll_matches_torch(shape, dtype, reduction, var_kind, full, eps, seed):
    if var_kind == "float":
        var = 0.7
    else:
        # Some variances fall below eps = 0.1, so the clamp and its gradient are exercised.
        var = positive(VAR_SHAPES[var_kind](shape), dtype, seed + 2)
    assert_same_loss(
        "gaussian_nll_loss",
        randn(shape, dtype, seed),
        randn(shape, dtype, seed + 1),
        var,
        full,
        eps,
        reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0)])
@pytest.mark.parametrize("name", REGRESSION)
def test_empty_and_0d_match_torch(name, shape, reduction):
    """The mean of no elements is NaN and their sum 0, as in torch; 0-d tensors are one element."""
    args = [randn(shape, torch.float64, 0), randn(shape, torch.float64, 1).abs()]
    if name == "gaussian_nll_loss":
        args.append(positive(shape, torch.float64, 2))
    assert_same_loss(name, *args, reduction=reduction)


BROADCASTS = [((4, 1), (4,)), ((3,), (2, 3)), ((), (3,)), ((2, 1, 3), (4, 1))]


@pytest.mark.parametrize(("input_shape", "target_shape"), BROADCASTS)
@pytest.mark.parametrize("name", DISTANCE)
def test_mismatched_shapes_broadcast_with_a_warning_like_torch(name, input_shape, target_shape):
    x, y = randn(input_shape, torch.float64, 0), randn(target_shape, torch.float64, 1)
    with pytest.warns(UserWarning, match="different to the input size"):
        getattr(torch_F, name)(x, y)
    with pytest.warns(UserWarning, match="broadcast") as record:
        assert_same_loss(name, x, y, reduction="none")
    assert len(record) == 2  # ours and torch's
    with pytest.warns(UserWarning, match="squeeze" if input_shape == (4, 1) else "Reshape"):
        getattr(lb_F, name)(x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ("l1_loss", "mse_loss", "huber_loss"))
def test_weight_with_broadcast_shapes_matches_torch(name, reduction):
    """weight has input's shape; the loss has the broadcast shape; mean divides by Σ w (l1, mse)."""
    x, y = randn((4, 1), torch.float64, 0), randn((4,), torch.float64, 1)
    with pytest.warns(UserWarning):
        assert_same_loss(name, x, y, reduction=reduction, weight=positive((4, 1), torch.float64, 2))


@pytest.mark.parametrize(("input_shape", "target_shape"), BROADCASTS)
@pytest.mark.parametrize("name", ("poisson_nll_loss", "gaussian_nll_loss"))
def test_likelihood_losses_broadcast_silently_like_torch(name, input_shape, target_shape):
    x, y = randn(input_shape, torch.float64, 0), randn(target_shape, torch.float64, 1).abs()
    extra = (1.5,) if name == "gaussian_nll_loss" else ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_loss(name, x, y, *extra, reduction="none")


@pytest.mark.parametrize("name", DISTANCE + ("poisson_nll_loss",))
def test_mixed_float_dtypes_match_torch(name):
    """float32 with float64 promotes, except Huber, whose result keeps input's dtype."""
    x, y = randn((5,), torch.float32, 0), randn((5,), torch.float64, 1).abs()
    for first, second in ((x, y), (y, x)):
        # Values only: torch's own huber backward fails for mixed dtypes.
        assert_same_loss(name, first, second, reduction="none", grad=False)


def test_gaussian_var_of_another_dtype_matches_torch():
    x, y = randn((3, 2), torch.float32, 0), randn((3, 2), torch.float32, 1)
    assert_same_loss("gaussian_nll_loss", x, y, positive((3, 1), torch.float64, 2), grad=False)


def test_integer_targets_are_compared_as_numbers_like_torch():
    """MSE on class indices is a classic mistake, but torch computes it: so do we."""
    x, labels = randn((5,), torch.float64, 0), torch.tensor([0, 2, 1, 1, 0])
    for name in ("l1_loss", "mse_loss", "smooth_l1_loss", "poisson_nll_loss"):
        assert_same_loss(name, x, labels, reduction="sum")
    # Values only: torch's own huber backward fails for a long target.
    assert_same_loss("huber_loss", x, labels, reduction="sum", grad=False)
    assert_same_loss("gaussian_nll_loss", x, labels, positive((5,), torch.float64, 1))


# --- gradients ------------------------------------------------------------------------------

GRADCHECKS = [
    ("l1_loss", {}),
    ("l1_loss", {"reduction": "sum", "weight": t64(0.5, 1.0, 2.0, 0.1, 3.0, 1.5)}),
    ("mse_loss", {}),
    ("mse_loss", {"reduction": "none", "weight": t64(0.5, 1.0, 2.0, 0.1, 3.0, 1.5)}),
    ("huber_loss", {"delta": 0.7}),
    ("huber_loss", {"delta": INF, "reduction": "sum"}),
    ("huber_loss", {"reduction": "none", "weight": t64(0.5, 1.0, 2.0, 0.1, 3.0, 1.5)}),
    ("smooth_l1_loss", {"beta": 0.7}),
    ("smooth_l1_loss", {"beta": 0.0, "reduction": "sum"}),
]


@pytest.mark.parametrize(("name", "kwargs"), GRADCHECKS)
def test_gradcheck_distance_losses(name, kwargs):
    # Errors well away from 0 and from ±δ, where these losses have kinks.
    x = t64(0.3, -1.2, 2.5, -0.05, 4.0, 0.9)
    y = t64(0.0, 0.1, -0.4, 0.35, 1.1, -0.2)
    assert_gradcheck(name, x, y, **kwargs)


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_gradcheck_poisson_nll(log_input, full):
    prediction = t64(0.3, -1.2, 0.5, 1.1) if log_input else t64(0.3, 1.2, 0.5, 2.1)
    # Counts away from 1, where the Stirling term switches on, and from 0, where torch's
    # gradient in target is NaN (0·log 0 differentiated).
    assert_gradcheck("poisson_nll_loss", prediction, t64(0.5, 2.0, 3.5, 5.0), log_input, full)


@pytest.mark.parametrize("full", [False, True])
def test_gradcheck_gaussian_nll(full):
    mean, observed = t64(0.3, -1.2, 0.5, 1.1).reshape(2, 2), t64(0.0, 2.0, 3.5, 5.0).reshape(2, 2)
    assert_gradcheck(
        "gaussian_nll_loss", mean, observed, t64(0.5, 2.0, 1.5, 0.2).reshape(2, 2), full
    )
    assert_gradcheck("gaussian_nll_loss", mean, observed, t64(0.5, 2.0), full, 1e-6, "sum")


# --- properties -----------------------------------------------------------------------------


@given(name=st.sampled_from(DISTANCE), shape=shapes, seed=st.integers(0, 2**16))
def test_distance_losses_are_nonnegative_and_zero_at_the_target(name, shape, seed):
    x, y = randn(shape, torch.float64, seed), randn(shape, torch.float64, seed + 1)
    loss_fn = getattr(lb_F, name)
    assert bool((loss_fn(x, y, reduction="none") >= 0).all())
    assert bool((loss_fn(x, x, reduction="none") == 0).all())


@given(shape=nonempty_shapes, beta=st.floats(1e-6, 10.0), seed=st.integers(0, 2**16))
def test_huber_is_beta_times_smooth_l1(shape, beta, seed):
    x, y = randn(shape, torch.float64, seed), randn(shape, torch.float64, seed + 1)
    torch.testing.assert_close(
        lb_F.huber_loss(x, y, reduction="none", delta=beta),
        beta * lb_F.smooth_l1_loss(x, y, reduction="none", beta=beta),
        rtol=1e-12,
        atol=1e-15,
    )


@given(shape=nonempty_shapes, seed=st.integers(0, 2**16))
def test_smooth_l1_tends_to_l1_as_beta_shrinks(shape, seed):
    """0 ≤ |d| − SmoothL1_β(d) ≤ β/2, so the gap closes linearly as β → 0."""
    x, y = randn(shape, torch.float64, seed), randn(shape, torch.float64, seed + 1)
    l1 = lb_F.l1_loss(x, y, reduction="none")
    for beta in (1.0, 1e-2, 1e-4, 1e-8):
        gap = l1 - lb_F.smooth_l1_loss(x, y, reduction="none", beta=beta)
        assert bool((gap >= -1e-12).all()) and bool((gap <= beta / 2 + 1e-12).all())


@given(shape=nonempty_shapes, seed=st.integers(0, 2**16))
def test_huber_tends_to_half_mse_as_delta_grows(shape, seed):
    x, y = randn(shape, torch.float64, seed), randn(shape, torch.float64, seed + 1)
    half_mse = 0.5 * lb_F.mse_loss(x, y, reduction="none")
    torch.testing.assert_close(lb_F.huber_loss(x, y, "none", 1e6), half_mse, rtol=1e-12, atol=0)


@given(shape=nonempty_shapes, seed=st.integers(0, 2**16))
def test_gaussian_nll_with_unit_variance_is_half_mse(shape, seed):
    x, y = randn(shape, torch.float64, seed), randn(shape, torch.float64, seed + 1)
    torch.testing.assert_close(
        lb_F.gaussian_nll_loss(x, y, 1.0, reduction="none"),
        0.5 * lb_F.mse_loss(x, y, reduction="none"),
        rtol=1e-12,
        atol=0,
    )


@given(shape=nonempty_shapes, seed=st.integers(0, 2**16))
def test_poisson_nll_is_minimised_at_the_observed_count(shape, seed):
    """d/dx (exp(x) − y·x) = exp(x) − y vanishes at x = log y."""
    rate = positive(shape, torch.float64, seed) * 5
    log_rate = rate.log().requires_grad_(True)
    lb_F.poisson_nll_loss(log_rate, rate, reduction="sum").backward()
    torch.testing.assert_close(log_rate.grad, torch.zeros_like(rate), rtol=0, atol=1e-12)


# --- extreme inputs -------------------------------------------------------------------------

EXTREME_INPUT = (1e4, -1e4, 0.0, 1.0, -3.0, INF, -INF, NAN, 1e-30)
EXTREME_TARGET = (0.0, 1e4, -1e4, 1.0, 2.0, 0.0, 5.0, 1.0, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("l1_loss", {}),
        ("mse_loss", {}),
        ("huber_loss", {}),
        ("huber_loss", {"delta": 1e-3}),
        ("smooth_l1_loss", {}),
        ("smooth_l1_loss", {"beta": 0.0}),
        ("smooth_l1_loss", {"beta": 1e5}),
    ],
)
def test_extreme_errors_match_torch_including_inf_and_nan(name, kwargs, dtype):
    x, y = torch.tensor(EXTREME_INPUT, dtype=dtype), torch.tensor(EXTREME_TARGET, dtype=dtype)
    assert_same_loss(name, x, y, reduction="none", **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_extreme_poisson_nll_matches_torch(dtype, log_input, full):
    """exp(1e4) overflows to inf; log(0 + eps) is finite; NaN stays NaN; as in torch."""
    x = torch.tensor(EXTREME_INPUT, dtype=dtype)
    x = x if log_input else x.abs()
    assert_same_loss(
        "poisson_nll_loss",
        x,
        torch.tensor(EXTREME_TARGET, dtype=dtype).abs(),
        log_input,
        full,
        reduction="none",
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("var", [1e-30, 0.0, 1e-7, 1e8])
def test_extreme_gaussian_nll_matches_torch(dtype, var):
    x, y = torch.tensor(EXTREME_INPUT, dtype=dtype), torch.tensor(EXTREME_TARGET, dtype=dtype)
    assert_same_loss("gaussian_nll_loss", x, y, torch.full_like(x, var), reduction="none")
    assert_same_loss("gaussian_nll_loss", x, y, var, False, 1e-12, "none")


# --- errors ---------------------------------------------------------------------------------

V3 = t64(1.0, 2.0, 3.0)
M23 = torch.ones(2, 3, dtype=torch.float64)
LONG = torch.tensor([1, 2, 3])
ERRORS = [
    ("l1_loss", (V3, t64(1.0, 2.0)), {}, RuntimeError, "broadcastable"),
    ("mse_loss", (V3, V3), {"weight": t64(1.0)}, ValueError, "same size"),
    ("huber_loss", (V3, V3), {"weight": M23}, ValueError, "same size"),
    ("mse_loss", (LONG, LONG), {}, RuntimeError, "floating point"),
    ("smooth_l1_loss", (LONG, LONG), {}, RuntimeError, "floating point"),
    ("huber_loss", (LONG, V3), {}, RuntimeError, "floating point"),
    ("huber_loss", (V3, V3), {"delta": 0.0}, RuntimeError, "delta=0.0"),
    ("huber_loss", (V3, V3), {"delta": NAN}, RuntimeError, "delta=nan"),
    ("smooth_l1_loss", (V3, V3), {"beta": -1.0}, RuntimeError, "beta=-1.0"),
    ("l1_loss", (V3, V3), {"reduction": "average"}, ValueError, "'mean'"),
    ("huber_loss", (V3, V3), {"reduction": "batchmean"}, ValueError, "'mean'"),
    ("poisson_nll_loss", (V3, V3), {"reduction": "elementwise"}, ValueError, "'mean'"),
    ("gaussian_nll_loss", (V3, V3, 1.0), {"reduction": "avg"}, ValueError, "'mean'"),
    ("gaussian_nll_loss", (V3, V3, -1.0), {}, ValueError, "var has negative entry/entries"),
    ("gaussian_nll_loss", (V3, V3, -V3), {}, ValueError, "var has negative entry/entries"),
    ("gaussian_nll_loss", (M23, M23, V3), {}, ValueError, "var is of incorrect size"),
    ("gaussian_nll_loss", (M23, M23, torch.ones(1, 1)), {}, ValueError, "var is of incorrect size"),
    ("gaussian_nll_loss", (M23, M23, t64(2.0)[0]), {}, ValueError, "var is of incorrect size"),
    (
        "gaussian_nll_loss",
        (M23, M23, torch.ones(2, 3, 1)),
        {},
        ValueError,
        "var is of incorrect size",
    ),
    ("gaussian_nll_loss", (V3, V3, 1), {}, TypeError, "var=1.0"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "error", "message"), ERRORS)
def test_errors_where_torch_errs(name, args, kwargs, error, message):
    """Where torch raises, we raise an exception of a type torch's callers catch, saying why."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error):
            getattr(torch_F, name)(*args, **kwargs)
        with pytest.raises(error) as raised:
            getattr(lb_F, name)(*args, **kwargs)
    assert message in str(raised.value)


def test_weight_of_the_broadcast_shape_is_refused_like_torch():
    """torch compares weight with input's shape, not with the broadcast shape."""
    x, y = randn((4, 1), torch.float64, 0), randn((4,), torch.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            torch_F.l1_loss(x, y, weight=torch.ones(4, 4, dtype=torch.float64))
        with pytest.raises(LossInputError, match=r"weight has shape \(4, 4\) but input has shape"):
            lb_F.l1_loss(x, y, weight=torch.ones(4, 4, dtype=torch.float64))


# --- devices --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGRESSION)
def test_stays_on_the_inputs_device(name):
    """Computed on the meta device: no hidden .cpu(), .item() or numpy in the loss path."""
    x = torch.empty(4, 3, device="meta")
    extra = (0.5,) if name == "gaussian_nll_loss" else ()
    for reduction in REDUCTIONS:
        assert getattr(lb_F, name)(x, x, *extra, reduction=reduction).device.type == "meta"
