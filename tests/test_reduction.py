"""apply_reduction, the one reducer: each reduction, explicit divisors, and that every loss ends in it."""

import ast
import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as torch_F

import lossbook.functional as lb_F
from lossbook.losses import registry
from lossbook.losses._reduction import REDUCTIONS, apply_reduction
from lossbook.losses._validation import LossInputError
from lossbook.losses.classification import nll_terms

LOSSES_DIR = Path(lb_F.__file__).parent / "losses"
LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])  # Σ = 24, 6 elements, 2 rows


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [("sum", 24.0), ("mean", 4.0), ("batchmean", 12.0)],
)
def test_each_reduction_without_a_divisor(reduction, expected):
    assert apply_reduction(LOSS, reduction).item() == expected


def test_none_returns_the_loss_itself():
    assert apply_reduction(LOSS, "none") is LOSS


@pytest.mark.parametrize("reduction", ["mean", "batchmean"])
def test_an_explicit_divisor_replaces_the_count(reduction):
    assert apply_reduction(LOSS, reduction, divisor=8).item() == 3.0
    assert apply_reduction(LOSS, reduction, divisor=torch.tensor(3.0)).item() == 8.0


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_a_divisor_does_not_change_none_or_sum(reduction):
    torch.testing.assert_close(
        apply_reduction(LOSS, reduction, divisor=7.0), apply_reduction(LOSS, reduction)
    )


def test_batchmean_of_a_0d_loss_is_its_value():
    assert apply_reduction(torch.tensor(5.0), "batchmean").item() == 5.0


def test_the_mean_of_nothing_is_nan_as_in_torch():
    empty = torch.empty(0, 3)
    assert apply_reduction(empty, "mean").isnan()
    assert torch_F.mse_loss(empty, empty).isnan()
    assert apply_reduction(empty, "sum").item() == 0.0


def test_gradient_of_the_mean_is_one_over_the_divisor():
    loss = LOSS.clone().requires_grad_()
    apply_reduction(loss, "mean", divisor=torch.tensor(12.0)).backward()
    torch.testing.assert_close(loss.grad, torch.full_like(LOSS, 1 / 12))


@pytest.mark.parametrize("reduction", ["avg", "Mean", "elementwise_mean", None])
def test_an_unknown_reduction_names_the_valid_ones(reduction):
    with pytest.raises(ValueError, match=r"'none', 'mean', 'sum', 'batchmean'") as caught:
        apply_reduction(LOSS, reduction)
    assert isinstance(caught.value, LossInputError)
    assert repr(reduction) in str(caught.value)


def test_reductions_tuple_is_the_accepted_set():
    assert REDUCTIONS == ("none", "mean", "sum", "batchmean")


def test_nll_terms_and_the_divisor_give_the_class_weighted_mean():
    """Σ w_{y_i} l_i / Σ w_{y_i} over non-ignored targets, as torch computes it."""
    torch.manual_seed(0)
    log_probs = torch.randn(6, 4, dtype=torch.float64).log_softmax(1)
    target = torch.tensor([0, 3, -100, 1, 2, -100])
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    loss, target_weight = nll_terms(log_probs, target, weight)
    assert target_weight.tolist() == [0.5, 3.0, 0.0, 2.0, 1.0, 0.0]
    assert loss[target == -100].tolist() == [0.0, 0.0]
    torch.testing.assert_close(
        apply_reduction(loss, "mean", divisor=target_weight.sum()),
        torch_F.nll_loss(log_probs, target, weight),
        rtol=1e-12,
        atol=0,
    )


def test_nll_terms_along_another_class_dim():
    """Unbatched (C,) log-probabilities: classes along dim 0, a 0-d target."""
    log_probs = torch.tensor([-0.5, -1.0, -3.0])
    loss, target_weight = nll_terms(log_probs, torch.tensor(2), class_dim=0)
    assert (loss.item(), target_weight.item()) == (3.0, 1.0)


def test_kl_div_batchmean_divides_by_inputs_batch_size_like_torch():
    """A (C,) input broadcast against an (N, C) target: torch divides by input.shape[0] = C."""
    log_q = torch.tensor([0.2, 0.3, 0.5]).log()
    p = torch.tensor([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    torch.testing.assert_close(
        lb_F.kl_div(log_q, p, reduction="batchmean"),
        torch_F.kl_div(log_q, p, reduction="batchmean"),
    )


def _reductions_outside_apply_reduction(source: str) -> list[str]:
    """``.sum()`` / ``.mean()`` calls whose result is returned from a public loss unreduced."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef) or function.name.startswith("_"):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                text = ast.unparse(node.value)
                if "apply_reduction" not in text and (".sum()" in text or ".mean()" in text):
                    found.append(f"{function.name}: return {text}")
    return found


@pytest.mark.parametrize(
    "module",
    [
        "regression",
        "binary",
        "classification",
        "divergence",
        "ranking",
        "sequence",
        "linear_cross_entropy",
    ],
)
def test_no_loss_reduces_on_its_own(module):
    """Every public loss returns through apply_reduction, never a ``.sum()``/``.mean()`` of its own."""
    source = (LOSSES_DIR / f"{module}.py").read_text()
    assert _reductions_outside_apply_reduction(source) == []
    assert "apply_reduction(" in source


def test_the_own_reduction_detector_detects():
    source = "def kl_div(x):\n    return x.sum() / 3\n"
    assert _reductions_outside_apply_reduction(source) == ["kl_div: return x.sum() / 3"]


@pytest.mark.parametrize("loss", registry.LOSSES, ids=lambda loss: loss.name)
def test_every_loss_checks_its_reduction_before_anything_else_fails(loss):
    """apply_reduction knows "batchmean"; every loss but kl_div must refuse it itself."""
    assert "check_reduction(reduction" in inspect.getsource(loss.function)


def test_a_loss_refuses_batchmean_like_torch():
    x = torch.tensor([1.0, 2.0])
    with pytest.raises(ValueError):
        torch_F.mse_loss(x, x, reduction="batchmean")
    with pytest.raises(ValueError, match="reduction='batchmean' is not a valid reduction"):
        lb_F.mse_loss(x, x, reduction="batchmean")
