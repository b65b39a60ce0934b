"""kl_div: hand-computed values, parity with torch, gradients, properties, edge cases."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import lossbook.functional as lb_F
from tests.parity import assert_gradcheck, assert_same_loss

REDUCTIONS = ("none", "batchmean", "sum", "mean")
DTYPES = (torch.float32, torch.float64)

shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)
"""Every rank up to 3, empty dimensions and 0-d tensors included."""
batch_shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))


def log_probs(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    """Log-probabilities along the last dimension (plain random numbers for a 0-d shape)."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=generator, dtype=torch.float64) * 2
    return (logits.log_softmax(-1) if logits.dim() else logits).to(dtype)


def kl_div(input: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
    """lossbook's kl_div without the warning that reduction='mean' (the default) gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lb_F.kl_div(input, target, **kwargs)


def t64(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def assert_equal64(actual: torch.Tensor, expected: float | list) -> None:
    torch.testing.assert_close(
        actual, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-14
    )


# --- hand-computed values ---------------------------------------------------------------------

# Two samples: KL([½, ½] ‖ [¼, ¾]) = ½·log 2 + ½·log(2/3) = ½·log(4/3), and
# KL([1, 0] ‖ [½, ½]) = 1·log 2 + 0 (0·log 0 = 0).
P = t64([0.5, 0.5], [1.0, 0.0])
Q = t64([0.25, 0.75], [0.5, 0.5])
ELEMENTWISE = [[0.5 * math.log(2.0), 0.5 * math.log(2 / 3)], [math.log(2.0), 0.0]]
TOTAL = 0.5 * math.log(4 / 3) + math.log(2.0)


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("none", ELEMENTWISE),
        ("sum", TOTAL),
        ("batchmean", TOTAL / 2),  # per sample: the KL divergence
        ("mean", TOTAL / 4),  # per element: N·C = 4
    ],
)
def test_kl_div_by_hand(reduction, expected):
    assert_equal64(kl_div(Q.log(), P, reduction=reduction), expected)


def test_log_target_by_hand():
    assert_equal64(
        lb_F.kl_div(Q[:1].log(), P[:1].log(), reduction="sum", log_target=True),
        0.5 * math.log(4 / 3),
    )


def test_log_target_of_a_zero_probability_is_nan_like_torch():
    """exp(−inf)·(−inf − log q) = 0·(−inf): with log_target=True, p = 0 gives NaN, in torch too."""
    assert_same_loss("kl_div", Q.log(), P.log(), reduction="none", log_target=True)
    assert kl_div(Q.log(), P.log(), log_target=True).isnan()


def test_batchmean_of_a_0d_input_is_its_sum():
    assert_equal64(
        lb_F.kl_div(
            torch.tensor(-1.0, dtype=torch.float64),
            torch.tensor(0.5, dtype=torch.float64),
            reduction="batchmean",
        ),
        0.5 * (math.log(0.5) + 1.0),
    )


# --- parity with torch ------------------------------------------------------------------------


@given(
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    log_target=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_kl_div_matches_torch(shape, dtype, reduction, log_target, seed):
    target = log_probs(shape, dtype, seed + 1)
    if not log_target:
        target = target.exp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_loss(
            "kl_div",
            log_probs(shape, dtype, seed),
            target,
            reduction=reduction,
            log_target=log_target,
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("input_shape", "target_shape"), [((4, 3), (3,)), ((3,), (4, 3)), ((4, 1), (4,)), ((), (2, 3))]
)
def test_shapes_broadcast_silently_like_torch(input_shape, target_shape, reduction):
    """batchmean divides by input.shape[0] even when the target broadcasts it larger."""
    target = log_probs(target_shape, torch.float64, 1).exp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=r".*reduction: 'mean'")  # torch's, below
        warnings.filterwarnings("ignore", message=r"kl_div: reduction='mean'")
        assert_same_loss(
            "kl_div", log_probs(input_shape, torch.float64, 0), target, reduction=reduction
        )


def test_mixed_float_dtypes_match_torch():
    q, p = log_probs((3, 4), torch.float32, 0), log_probs((3, 4), torch.float64, 1).exp()
    for first, second in ((q, p), (q.double(), p.float())):
        assert_same_loss("kl_div", first, second, reduction="batchmean", grad=False)


# --- warnings and errors --------------------------------------------------------------------


def test_mean_warns_like_torch_and_names_batchmean():
    q, p = log_probs((2, 3), torch.float64, 0), log_probs((2, 3), torch.float64, 1).exp()
    with pytest.warns(UserWarning, match="batchmean"):
        torch_F.kl_div(q, p)
    with pytest.warns(UserWarning, match="reduction='batchmean'"):
        lb_F.kl_div(q, p)


@pytest.mark.parametrize("reduction", ["none", "batchmean", "sum"])
def test_other_reductions_do_not_warn(reduction):
    q, p = log_probs((2, 3), torch.float64, 0), log_probs((2, 3), torch.float64, 1).exp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lb_F.kl_div(q, p, reduction=reduction)
        torch_F.kl_div(q, p, reduction=reduction)


FLOAT = torch.tensor([0.2, 0.8])


@pytest.mark.parametrize(
    ("input", "target", "kwargs", "error", "message"),
    [
        (FLOAT, torch.tensor([0, 1]), {}, RuntimeError, "target has dtype torch.int64"),
        (torch.tensor([0, 1]), FLOAT, {}, RuntimeError, "input has dtype torch.int64"),
        (FLOAT, torch.tensor([False, True]), {}, RuntimeError, "target has dtype torch.bool"),
        (FLOAT, FLOAT, {"reduction": "average"}, ValueError, "'batchmean'"),
        (
            FLOAT,
            torch.ones(3),
            {"reduction": "sum"},
            RuntimeError,
            r"shape \(3,\) do not broadcast",
        ),
    ],
)
def test_errors_where_torch_errs(input, target, kwargs, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error):
            torch_F.kl_div(input, target, **kwargs)
        with pytest.raises(error, match=message):
            lb_F.kl_div(input, target, **kwargs)


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
def test_gradcheck(reduction, log_target):
    q, p = log_probs((3, 4), torch.float64, 0), log_probs((3, 4), torch.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_gradcheck(
            "kl_div", q, p if log_target else p.exp(), reduction=reduction, log_target=log_target
        )


def test_gradient_at_a_zero_target_probability_matches_torch():
    """0·log 0 counts as 0 in the value; d/dp (p·log p) = log p + 1 is NaN at p = 0 in torch too."""
    assert_same_loss("kl_div", Q.log(), P, reduction="sum")
    target = P.clone().requires_grad_(True)
    grad_target = torch.autograd.grad(lb_F.kl_div(Q.log(), target, reduction="sum"), target)[0]
    assert grad_target.isnan().tolist() == [[False, False], [False, True]]


# --- properties -----------------------------------------------------------------------------


@given(shape=batch_shapes, log_target=st.booleans(), seed=st.integers(0, 2**16))
def test_kl_of_a_distribution_from_itself_is_zero(shape, log_target, seed):
    log_p = log_probs(shape, torch.float64, seed)
    target = log_p if log_target else log_p.exp()
    loss = lb_F.kl_div(log_p, target, reduction="none", log_target=log_target)
    torch.testing.assert_close(loss, torch.zeros_like(loss), rtol=0, atol=1e-15)


@given(shape=batch_shapes, log_target=st.booleans(), seed=st.integers(0, 2**16))
def test_kl_per_sample_is_nonnegative(shape, log_target, seed):
    """Gibbs' inequality: Σ_c p_c log(p_c / q_c) ≥ 0, though single terms can be negative."""
    log_q, log_p = log_probs(shape, torch.float64, seed), log_probs(shape, torch.float64, seed + 1)
    target = log_p if log_target else log_p.exp()
    per_sample = lb_F.kl_div(log_q, target, reduction="none", log_target=log_target).sum(-1)
    assert bool((per_sample >= -1e-12).all())


@given(shape=batch_shapes, seed=st.integers(0, 2**16))
def test_reductions_are_sums_over_n_or_over_n_times_c(shape, seed):
    log_q, p = (
        log_probs(shape, torch.float64, seed),
        log_probs(shape, torch.float64, seed + 1).exp(),
    )
    total = lb_F.kl_div(log_q, p, reduction="sum")
    torch.testing.assert_close(
        lb_F.kl_div(log_q, p, reduction="batchmean"), total / shape[0], rtol=1e-14, atol=0
    )
    torch.testing.assert_close(
        kl_div(log_q, p, reduction="mean"), total / (shape[0] * shape[1]), rtol=1e-14, atol=0
    )


@given(shape=batch_shapes, seed=st.integers(0, 2**16))
def test_log_target_gives_the_same_divergence(shape, seed):
    log_q, log_p = log_probs(shape, torch.float64, seed), log_probs(shape, torch.float64, seed + 1)
    torch.testing.assert_close(
        lb_F.kl_div(log_q, log_p, reduction="none", log_target=True),
        lb_F.kl_div(log_q, log_p.exp(), reduction="none"),
        rtol=1e-12,
        atol=1e-15,
    )


# --- extreme inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
def test_extreme_inputs_match_torch(dtype, log_target):
    """log q = −1e4 (q underflowed), p = 0, p = 1, ±inf and NaN: torch's values and NaNs."""
    log_q = torch.tensor([-1e4, -1e4, 0.0, -math.inf, -math.inf, 1e4, math.nan, -2.0], dtype=dtype)
    p = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 1e-30, 0.5, math.nan], dtype=dtype)
    target = p.log() if log_target else p
    assert_same_loss("kl_div", log_q, target, reduction="none", log_target=log_target)
    assert_same_loss("kl_div", log_q[:3], target[:3], reduction="sum", log_target=log_target)


# --- devices --------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_stays_on_the_inputs_device(reduction):
    """Computed on the meta device: no hidden .cpu(), .item() or numpy in the loss path."""
    x = torch.empty(4, 3, device="meta")
    assert kl_div(x, x, reduction=reduction).device.type == "meta"
