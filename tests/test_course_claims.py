"""Claims chapters 1–4 make, and the fixes of issue 10, checked against torch and the solutions.

A sentence in a chapter is a claim about torch or about the math; where one was wrong (a formula
whose autograd gradient differs from the math at a kink, "every torch loss …", a claim about one
run stated as a law) the chapter was fixed and the fact it now states is tested here, so that a
torch upgrade or an edit that makes it false again fails a test.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook.checks import (
    REGRESSION_CASES,
    check_close,
    check_derivative,
    check_grad,
    check_value,
    classification_data,
)
from tests.course import ROOT, read

CHAPTERS = {
    "01_why_losses": "why_losses.ipynb",
    "02_regression": "regression.ipynb",
    "03_binary": "binary.ipynb",
    "04_cross_entropy": "cross_entropy.ipynb",
}


def cells(assignment):
    return read(ROOT / "solutions" / assignment / CHAPTERS[assignment]).cells


def markdown(assignment) -> str:
    return "\n".join(c.source for c in cells(assignment) if c.cell_type == "markdown")


def solution(assignment, grade_id) -> dict:
    """The namespace the solution's answer cell ``grade_id`` defines."""
    source = next(
        c.source
        for c in cells(assignment)
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )
    namespace = {"torch": torch, "F": F, "nn": nn, "math": math}
    exec(compile(source, f"{assignment}:{grade_id}", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------------------
# Chapter 3: the stable BCE-with-logits taught has the right gradient at z = 0.


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
def test_ch3_solution_bce_with_logits_gradient_at_zero_is_sigmoid_minus_target(target):
    bce_with_logits = solution("03_binary", "bce_with_logits_answer")["bce_with_logits"]
    logits = torch.zeros(4, requires_grad=True)
    targets = torch.full((4,), target)
    bce_with_logits(logits, targets).backward()
    expected = (torch.sigmoid(torch.zeros(4)) - targets) / 4
    torch.testing.assert_close(logits.grad, expected)


def test_ch3_the_clamp_form_the_chapter_warns_about_really_is_wrong_at_zero():
    """Section 4 shows the clamp/abs form's gradient at 0 is 1 − y: keep that claim true."""
    z = torch.zeros(2, requires_grad=True)
    y = torch.tensor([0.0, 1.0])
    loss = z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))
    (grad,) = torch.autograd.grad(loss.sum(), z)
    torch.testing.assert_close(grad, 1 - y)
    assert "clamp" in markdown("03_binary") and "1 - y" in markdown("03_binary").replace("−", "-")


def test_ch3_solution_stays_exact_at_extreme_logits():
    bce_with_logits = solution("03_binary", "bce_with_logits_answer")["bce_with_logits"]
    logits = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    target = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    got = bce_with_logits(logits, target)
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(logits, target))
    (grad,) = torch.autograd.grad(got, logits)
    torch.testing.assert_close(grad, (torch.sigmoid(logits.detach()) - target) / 5)


@pytest.mark.parametrize(
    ("assignment", "grade_id", "function", "derivation"),
    [
        ("03_binary", "bce_grad_derivation_answer", "bce_with_logits_grad", "bce_with_logits"),
        (
            "04_cross_entropy",
            "cross_entropy_grad_derivation_answer",
            "cross_entropy_grad",
            "cross_entropy",
        ),
        ("02_regression", "huber_derivative_answer", "huber_derivative", "huber_penalty"),
    ],
)
def test_solution_derivations_pass_their_checks(assignment, grade_id, function, derivation):
    check_derivative(solution(assignment, grade_id)[function], derivation)


# ---------------------------------------------------------------------------
# Chapter 2: a right mae with another subgradient at r = 0 passes every mae check.


def test_ch2_mae_written_with_where_passes_values_and_gradients():
    def mae(pred, target):
        residual = pred - target
        return torch.where(residual >= 0, residual, -residual).mean()

    hand_example = REGRESSION_CASES[1].args
    assert bool(((hand_example[0] - hand_example[1]) == 0).any()), "the hand example has r = 0"
    check_close(mae, "l1_loss", REGRESSION_CASES)
    check_grad(mae, "l1_loss", REGRESSION_CASES, wrt=(0, 1))
    assert "subgradient" in markdown("02_regression")


def test_ch2_gaussian_negative_log_likelihood_is_scaled_mse_plus_constant():
    pred, target, sigma = torch.tensor([1.0, 4.0, 2.5]), torch.tensor([2.0, 3.0, 0.5]), 1.7
    nll = -torch.distributions.Normal(pred, sigma).log_prob(target).mean()
    scaled = F.mse_loss(pred, target) / (2 * sigma**2) + 0.5 * math.log(2 * math.pi * sigma**2)
    torch.testing.assert_close(nll, scaled)


# ---------------------------------------------------------------------------
# "Every torch loss …" is false: weights, ignore_index, batchmean break it.

EVERY_TORCH_LOSS = re.compile(r"(?<!not )\bevery torch loss\b", re.I)


@pytest.mark.parametrize("assignment", sorted(CHAPTERS))
def test_no_chapter_claims_something_of_every_torch_loss(assignment):
    assert not EVERY_TORCH_LOSS.search(markdown(assignment))


def test_the_counterexamples_the_chapters_cite_hold():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([0, 0, 0, 0, 1, 2])
    weight = torch.tensor([1.0, 3.0, 3.0])
    per_sample = F.cross_entropy(logits, target, reduction="none")
    # Class indices: the weighted mean divides by Σ w_{y_i}.
    torch.testing.assert_close(
        F.cross_entropy(logits, target, weight=weight),
        (weight[target] * per_sample).sum() / weight[target].sum(),
    )
    # Class probabilities: each term weighted, divided by N.
    one_hot = F.one_hot(target, 3).float()
    torch.testing.assert_close(
        F.cross_entropy(logits, one_hot, weight=weight),
        (weight[target] * per_sample).sum() / len(target),
    )
    # ignore_index leaves samples out of the count.
    padded = target.clone()
    padded[[1, 3]] = -100
    kept = padded != -100
    torch.testing.assert_close(F.cross_entropy(logits, padded), per_sample[kept].mean())
    # ... and does not apply to class probabilities.
    with pytest.raises(RuntimeError, match="ignore_index"):
        F.cross_entropy(logits, one_hot, ignore_index=0)
    # kl_div "batchmean" divides by the batch size, not by every element.
    log_probs, probs = F.log_softmax(logits, dim=1), F.softmax(logits.flip(0), dim=1)
    torch.testing.assert_close(
        F.kl_div(log_probs, probs, reduction="batchmean"),
        F.kl_div(log_probs, probs, reduction="sum") / len(logits),
    )


def test_ch4_states_the_limits_of_the_weighted_mean():
    text = markdown("04_cross_entropy")
    assert "divides by\n$N$" in text or "divides by N" in text.replace("\n", " ")
    assert "refuses it" in text or "is refused" in text


# ---------------------------------------------------------------------------
# Chapter 4: the softmax Jacobian, and the double-softmax run.


@pytest.mark.parametrize("num_classes", [3, 8, 50])
def test_ch4_softmax_jacobian_at_uniform_is_about_1_over_c_on_the_diagonal_only(num_classes):
    logits = torch.zeros(num_classes, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, dim=0), logits)
    c = num_classes
    diagonal, off_diagonal = jacobian.diagonal(), jacobian[~torch.eye(c, dtype=torch.bool)]
    torch.testing.assert_close(diagonal, torch.full_like(diagonal, (c - 1) / c**2))
    torch.testing.assert_close(off_diagonal, torch.full_like(off_diagonal, -1 / c**2))
    assert "entries of about $1/C$" not in markdown("04_cross_entropy")


def test_ch4_double_softmax_accuracy_can_recover_but_the_loss_floor_stays():
    """Section 11: with ten times the learning rate the buggy model's accuracy recovers, its loss does not."""
    num_classes, steps, lr = 8, 100, 0.1
    X, y = classification_data(n=300, num_classes=num_classes, spread=0.4, seed=0)
    floor = math.log(1 + (num_classes - 1) / math.e)
    results = {}
    for rate in (lr, 10 * lr):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, num_classes), nn.Softmax(dim=1)
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=rate)
        for _ in range(steps):
            optimizer.zero_grad()
            outputs = model(X)
            loss = nn.CrossEntropyLoss()(outputs, y)
            loss.backward()
            optimizer.step()
        accuracy = (outputs.argmax(dim=1) == y).float().mean().item()
        results[rate] = (loss.item(), accuracy)
    assert results[10 * lr][1] > results[lr][1] + 0.1, results
    assert all(loss > floor for loss, _ in results.values()), (results, floor)
    assert "does not fix it" not in markdown("04_cross_entropy")


# ---------------------------------------------------------------------------
# Chapter 1: N = C only warns; the cross-entropy's slope is zero at its minimiser.


def test_ch1_mse_on_class_indices_fails_only_when_shapes_cannot_broadcast():
    for batch, runs in ((4, False), (10, True)):
        logits, target = torch.randn(batch, 10), torch.randint(0, 10, (batch,))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if runs:
                assert torch.isfinite(nn.MSELoss()(logits, target))
            else:
                with pytest.raises(RuntimeError):
                    nn.MSELoss()(logits, target)
        assert any("target size" in str(w.message) for w in caught)
    assert "then fails:" not in markdown("01_why_losses")


def test_ch1_does_not_claim_the_slope_is_never_zero():
    assert "never zero" not in markdown("01_why_losses")


# ---------------------------------------------------------------------------
# By-hand exercises state the precision they are checked to, and the check matches it.


def test_check_value_default_tolerance_is_the_one_the_chapters_state():
    defaults = inspect.signature(check_value).parameters
    assert defaults["rtol"].default == 1e-3  # "a relative error of 0.1 %"
    check_value(1.151, what="x", reference="bce_with_logits", inputs=([math.log(4.0), 0.0], [0, 1]))
    with pytest.raises(AssertionError):
        check_value(
            1.15, what="x", reference="bce_with_logits", inputs=([math.log(4.0), 0.0], [0, 1])
        )


@pytest.mark.parametrize("assignment", sorted(CHAPTERS))
def test_every_by_hand_exercise_states_its_precision(assignment):
    nb = cells(assignment)
    for i, cell in enumerate(nb):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_by_hand_answer"):
            question = next(c for c in reversed(nb[:i]) if c.cell_type == "markdown")
            assert "relative error of 0.1 %" in question.source.replace("\n", " "), grade_id


# ---------------------------------------------------------------------------
# Predictions are recorded and revealed.


def assigned_names(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [e.id for e in elements if isinstance(e, ast.Name)]
    return names


@pytest.mark.parametrize("assignment", sorted(CHAPTERS))
def test_every_predict_records_a_guess_that_a_later_cell_reveals(assignment):
    nb = cells(assignment)
    problems = []
    for i, cell in enumerate(nb):
        if cell.cell_type != "markdown" or "Predict" not in cell.source:
            continue
        following = next((c for c in nb[i + 1 :] if c.cell_type == "code"), None)
        if following is None or "# Your prediction" not in following.source:
            problems.append(f"cell {i}: a Predict with no prediction cell after it")
            continue
        later = "\n".join(c.source for c in nb[i + 1 :] if c.cell_type == "code")
        for name in assigned_names(following.source):
            if not re.search(rf"reveal\(\s*{name}\b", later):
                problems.append(f"cell {i}: {name} is never revealed")
    assert not problems, "\n".join(problems)
