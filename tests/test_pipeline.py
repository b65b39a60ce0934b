"""cross_entropy_steps: every intermediate is what its name says, and loss and grad equal torch's."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

from lossbook.losses._validation import LossInputError
from lossbook.losses.activations import log_softmax
from lossbook.losses.pipeline import CrossEntropySteps, cross_entropy_steps
from tests.parity import TOLERANCES

REDUCTIONS = ("none", "mean", "sum")


def _batch(shape, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape, generator=generator, dtype=dtype)
    target = torch.randint(shape[-1], shape[:-1], generator=generator)
    probs = torch.rand(shape, generator=generator, dtype=dtype)
    return logits, target, probs / probs.sum(dim=-1, keepdim=True)


def _torch_loss_and_grad(logits, target, reduction, label_smoothing):
    """torch's cross_entropy and autograd's gradient (of the sum of the losses for "none")."""
    logits = logits.detach().clone().requires_grad_(True)
    loss = torch_F.cross_entropy(
        logits, target, reduction=reduction, label_smoothing=label_smoothing
    )
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    return loss.detach(), grad


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("soft", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("shape", [(5, 4), (4,)], ids=["N,C", "C"])
def test_loss_and_grad_equal_torch(shape, soft, reduction, label_smoothing, dtype):
    logits, target, probs = _batch(shape, dtype)
    target = probs if soft else target
    steps = cross_entropy_steps(
        logits, target, reduction=reduction, label_smoothing=label_smoothing
    )
    loss, grad = _torch_loss_and_grad(logits, target, reduction, label_smoothing)
    torch.testing.assert_close(steps.loss, loss, **TOLERANCES[dtype])
    torch.testing.assert_close(steps.grad, grad, **TOLERANCES[dtype])
    per_sample, _ = _torch_loss_and_grad(logits, target, "none", label_smoothing)
    torch.testing.assert_close(steps.per_sample, per_sample, **TOLERANCES[dtype])


def test_every_step_is_what_its_name_says():
    logits, target, _ = _batch((6, 5), seed=1)
    steps = cross_entropy_steps(logits, target)
    tight = TOLERANCES[torch.float64]
    torch.testing.assert_close(steps.max_logit, logits.max(dim=1, keepdim=True).values, **tight)
    torch.testing.assert_close(steps.shifted, logits - steps.max_logit, **tight)
    assert (steps.shifted.amax(dim=1) == 0).all()
    torch.testing.assert_close(steps.exps, steps.shifted.exp(), **tight)
    torch.testing.assert_close(steps.sum_exps, steps.exps.sum(dim=1, keepdim=True), **tight)
    torch.testing.assert_close(steps.log_sum_exp, logits.logsumexp(dim=1, keepdim=True), **tight)
    torch.testing.assert_close(steps.probs, logits.softmax(dim=1), **tight)
    torch.testing.assert_close(steps.log_probs, log_softmax(logits, dim=1), **tight)
    torch.testing.assert_close(steps.target_dist, torch_F.one_hot(target, 5).double(), **tight)
    picked = -steps.log_probs[torch.arange(6), target]
    torch.testing.assert_close(steps.picked_neg_log_prob, picked, **tight)
    torch.testing.assert_close(steps.per_sample, picked, **tight)
    torch.testing.assert_close(steps.grad, (steps.probs - steps.target_dist) / 6, **tight)
    assert steps.picked_neg_log_prob.shape == (6,) and steps.sum_exps.shape == (6, 1)


def test_label_smoothing_moves_epsilon_over_c_to_every_class():
    logits, target, _ = _batch((3, 4), seed=2)
    steps = cross_entropy_steps(logits, target, label_smoothing=0.2)
    expected = torch.full((3, 4), 0.05, dtype=torch.float64)
    expected[torch.arange(3), target] = 0.85
    torch.testing.assert_close(steps.target_dist, expected, **TOLERANCES[torch.float64])
    assert steps.label_smoothing == 0.2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_stay_finite(dtype):
    """±1e4: exp(1e4) overflows, exp(shifted) cannot (shifted ≤ 0)."""
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    target = torch.tensor([1, 2])
    steps = cross_entropy_steps(logits, target)
    for field in ("exps", "sum_exps", "log_sum_exp", "probs", "log_probs", "loss", "grad"):
        assert torch.isfinite(getattr(steps, field)).all(), field
    assert (steps.exps <= 1).all()
    loss, grad = _torch_loss_and_grad(logits, target, "mean", 0.0)
    torch.testing.assert_close(steps.loss, loss, **TOLERANCES[dtype])
    torch.testing.assert_close(steps.grad, grad, **TOLERANCES[dtype])


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**31 - 1),
    st.floats(0.0, 1.0),
    st.sampled_from(REDUCTIONS),
)
def test_each_gradient_row_sums_to_zero(num_samples, num_classes, seed, label_smoothing, reduction):
    """Σ_c (p_c − q_c) = 1 − 1: shifting every logit of a sample by the same amount changes nothing."""
    logits, target, _ = _batch((num_samples, num_classes), seed=seed)
    steps = cross_entropy_steps(
        logits, target, reduction=reduction, label_smoothing=label_smoothing
    )
    torch.testing.assert_close(
        steps.grad.sum(dim=1), torch.zeros(num_samples, dtype=torch.float64), rtol=0, atol=1e-12
    )


def test_table_has_one_row_per_sample_and_the_loss():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    steps = cross_entropy_steps(logits, torch.tensor([0, 2]), reduction="sum")
    lines = steps.table().splitlines()
    assert len(lines) == 4 and str(steps) == steps.table()
    assert lines[0].split() == [
        "sample",
        "target",
        "max_logit",
        "log_sum_exp",
        "p(target)",
        "loss_i",
    ]
    assert lines[2].split() == ["1", "2", "0", "1.09861", "0.333333", "1.09861"]
    assert lines[3] == f"loss (reduction='sum') = {steps.loss.item():.6g}"


def test_table_for_probabilities_and_no_reduction():
    logits, _, probs = _batch((2, 3))
    lines = cross_entropy_steps(logits, probs, reduction="none").table().splitlines()
    assert [line.split()[1] for line in lines[1:3]] == ["-", "-"]
    assert lines[-1] == "loss (reduction='none') = the loss_i column"


def test_one_sample_without_batch_dimension():
    logits, target, _ = _batch((4,), seed=3)
    steps = cross_entropy_steps(logits, target)
    assert steps.loss.shape == () and steps.grad.shape == (4,) and steps.max_logit.shape == (1,)
    assert len(steps.table().splitlines()) == 3


def test_steps_are_frozen_and_detached():
    logits = torch.randn(2, 3, requires_grad=True)
    steps = cross_entropy_steps(logits, torch.tensor([0, 1]))
    assert isinstance(steps, CrossEntropySteps) and not steps.loss.requires_grad
    with pytest.raises(dataclasses.FrozenInstanceError):
        steps.loss = torch.tensor(0.0)


def test_bad_targets_get_the_shared_messages():
    logits = torch.randn(2, 3)
    with pytest.raises(LossInputError, match="class probabilities"):
        cross_entropy_steps(logits, torch.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="class index 3"):
        cross_entropy_steps(logits, torch.tensor([0, 3]))
    with pytest.raises(LossInputError, match=r"\(C,\) or \(N, C\)"):
        cross_entropy_steps(torch.randn(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
