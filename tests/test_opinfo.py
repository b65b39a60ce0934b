"""Parity on torch's own test cases: every loss's OpInfo sample inputs and error inputs.

PyTorch describes each operator's test cases in an ``OpInfo``
(``torch.testing._internal.common_methods_invocations.op_db``, shipped in the
wheel; it needs ``expecttest``). For every lossbook loss with an OpInfo this
runs each sample input through torch and lossbook, in float64 and float32, and
compares the values and the gradients of every input that requires one; and
runs each error input (a call torch rejects) to check that lossbook rejects it
too, with its own :class:`~lossbook.losses._validation.LossInputError`.

Where lossbook differs from torch on purpose, the difference is an entry of
:data:`DELIBERATE_DIFFERENCES` with its reason and the comparison that holds
instead; an entry that no sample needs any more fails the test.

``python -m tests.test_opinfo`` prints how many cases agree and how many differ on purpose.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from lossbook.losses import registry
from lossbook.losses._validation import LossInputError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from torch.testing._internal.common_methods_invocations import op_db

TOLERANCES = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-12},
    torch.float32: {"rtol": 1e-5, "atol": 1e-6},
}
NO_OPINFO = {
    "sigmoid_focal_loss": "torchvision's loss, not torch's: tests/test_binary.py compares it "
    "with torchvision's definition (tests/focal_reference.py)."
}
"""Losses torch has no OpInfo for, and where they are compared instead."""

OPINFOS = {
    loss.name: [op for op in op_db if op.name == f"nn.functional.{loss.name}"]
    for loss in registry.LOSSES
}
CASES = [
    pytest.param(op, dtype, id=f"{op.name.split('.')[-1]}-{op.variant_test_name or 'default'}-"
    f"{str(dtype).split('.')[-1]}")
    for ops in OPINFOS.values()
    for op in ops
    for dtype in (torch.float64, torch.float32)
    if dtype in op.supported_dtypes("cpu")
]  # fmt: skip


def _through_log_softmax(grad: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """The gradient with respect to logits ``z`` when ``log_probs = log_softmax(z)``: ``g − p·Σ_c g``."""
    return grad - log_probs.exp() * grad.sum(-1, keepdim=True)


@dataclass(frozen=True)
class Difference:
    """lossbook differs from torch on purpose: why, and what is compared instead."""

    reason: str
    comparable_gradients: Callable[[tuple, Any], tuple]
    """Maps (gradients, sample) to gradients that must agree with torch's, mapped the same way."""
    float32_reason: str | None = None
    """Set where torch's float32 gradient is the less accurate one: in float32 both sides are
    then compared with the float64 gradient (on which they agree), within
    :data:`FLOAT32_RESOLUTION` (lossbook) and :data:`TORCH_FLOAT32_RESOLUTION` (torch)
    of the gradient's largest entry."""


FLOAT32_RESOLUTION = 1e-5
TORCH_FLOAT32_RESOLUTION = 1e-4

DELIBERATE_DIFFERENCES = {
    "ctc_loss": Difference(
        reason="lossbook's gradient is autograd's exact derivative with respect to log_probs "
        "(−γ_t(c)); torch's hand-written backward returns exp(log_probs) − γ_t(c), the "
        "gradient with respect to the logits of a log_softmax (lossbook/losses/sequence.py, "
        "ctc_loss's docstring). Through log_softmax both give the same logit gradients.",
        comparable_gradients=lambda grads, sample: (
            _through_log_softmax(grads[0], sample.input.detach()),
            *grads[1:],
        ),
        float32_reason="torch's float32 backward, exp(y) − exp(log αβ + loss − y), loses up to "
        "about 1e-4 to cancellation when the loss is in the hundreds (these samples: T = 50, "
        "targets of 10-30 labels); autograd's does not (tests/test_sequence.py measures it).",
    ),
}


def _in_float64(sample: Any) -> Any:
    """The same sample with every floating tensor in float64."""

    def convert(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.detach().double().requires_grad_(value.requires_grad)
        if isinstance(value, (list, tuple)):
            return type(value)(convert(item) for item in value)
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        return value

    return SimpleNamespace(
        input=convert(sample.input), args=convert(sample.args), kwargs=convert(sample.kwargs)
    )


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _fresh(value: Any) -> Any:
    """A copy with fresh leaves, so that each side gets its own gradients."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(item) for item in value)
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    return value


def _run(function: Callable, sample: Any) -> tuple[torch.Tensor, tuple]:
    """The loss and the gradients of every input that requires grad (None where unused).

    The backward pass starts from a random output gradient (the same for both sides), not
    from ones, so that a permuted or misshapen gradient cannot hide in a sum.
    """
    input, args, kwargs = _fresh(sample.input), _fresh(sample.args), _fresh(sample.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean', shape broadcasts: both sides warn
        output = function(input, *args, **kwargs)
    leaves = [t for t in _tensors([input, args, kwargs]) if t.requires_grad]
    if not (leaves and output.requires_grad):
        return output.detach(), ()
    # Drawn in float64 whatever the dtype, so that a float32 run and its float64 twin match.
    output_grad = torch.randn(
        output.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    ).to(output.dtype)
    grads = torch.autograd.grad(output, leaves, output_grad, allow_unused=True)
    return output.detach(), tuple(
        torch.zeros_like(leaf) if grad is None else grad
        for leaf, grad in zip(leaves, grads, strict=True)
    )


BLOCKED_FLOAT32_SUMS = {
    "linear_cross_entropy": "lossbook sums the logits in blocks (online log-sum-exp) and torch's "
    "chunked path in blocks of its own: in float32 single entries near 0 differ by about 1e-6 "
    "while both lie within 4e-6 of the float64 result, relative to the tensor's largest entry. "
    "Compared within FLOAT32_RESOLUTION of that largest entry instead of entry by entry."
}
"""Losses whose float32 results are compared at the tensor's scale, and why."""


def _close(ours: tuple, theirs: tuple, dtype: torch.dtype, *, scaled: bool = False) -> bool:
    try:
        for a, b in zip(ours, theirs, strict=True):
            tolerance = dict(TOLERANCES[dtype])
            if scaled and dtype == torch.float32 and b.numel():
                tolerance["atol"] = max(tolerance["atol"], FLOAT32_RESOLUTION * b.abs().max())
            torch.testing.assert_close(a, b, equal_nan=True, **tolerance)
    except AssertionError:
        return False
    return True


def compare_sample(name: str, op: Any, sample: Any, dtype: torch.dtype) -> str:
    """``"agree"`` or ``"deliberate"`` for one sample input; raises AssertionError otherwise."""
    theirs_value, theirs_grads = _run(op.op, sample)
    ours_value, ours_grads = _run(registry.spec(name).function, sample)
    scaled = name in BLOCKED_FLOAT32_SUMS
    assert _close((ours_value,), (theirs_value,), dtype, scaled=scaled), (
        f"{name}: {ours_value} != torch's {theirs_value} on {sample}"
    )
    if _close(ours_grads, theirs_grads, dtype, scaled=scaled):
        return "agree"
    difference = DELIBERATE_DIFFERENCES.get(name)
    assert difference is not None, f"{name}: gradients differ from torch's on {sample}"
    ours, theirs = (
        difference.comparable_gradients(grads, sample) for grads in (ours_grads, theirs_grads)
    )
    if dtype == torch.float32 and difference.float32_reason is not None:
        exact_sample = _in_float64(sample)
        _, exact_grads = _run(registry.spec(name).function, exact_sample)
        exact = difference.comparable_gradients(exact_grads, exact_sample)
        for side, resolution in ((ours, FLOAT32_RESOLUTION), (theirs, TORCH_FLOAT32_RESOLUTION)):
            for got, want in zip(side, exact, strict=True):
                scale = float(want.abs().max()) if want.numel() else 0.0
                torch.testing.assert_close(
                    got.double(), want, rtol=resolution, atol=resolution * scale
                )
    else:
        assert _close(ours, theirs, dtype), f"{name}: gradients differ beyond {difference}"
    return "deliberate"


def _call(function: Callable, sample: Any) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(sample.input, *sample.args, **sample.kwargs)


def check_error_input(op: Any, error_input: Any) -> None:
    """lossbook rejects a call that torch rejects, with its own error."""
    sample = error_input.sample_input
    with pytest.raises(error_input.error_type):
        _call(op.op, sample)
    with pytest.raises(LossInputError):
        _call(registry.spec(op.name.split(".")[-1]).function, sample)


def test_every_loss_has_an_opinfo_or_says_why_not():
    assert {name for name, ops in OPINFOS.items() if not ops} == set(NO_OPINFO)


@pytest.mark.parametrize(("op", "dtype"), CASES)
def test_sample_inputs_agree_with_torch(op, dtype):
    name = op.name.split(".")[-1]
    outcomes = Counter(
        compare_sample(name, op, sample, dtype)
        for sample in op.sample_inputs("cpu", dtype, requires_grad=True)
    )
    assert sum(outcomes.values()) > 0
    if name in DELIBERATE_DIFFERENCES:
        assert outcomes["deliberate"], f"{name}: no sample differs; drop its allow-list entry"


@pytest.mark.parametrize(
    "op", [op for ops in OPINFOS.values() for op in ops if op.error_inputs_func is not None],
    ids=lambda op: f"{op.name.split('.')[-1]}-{op.variant_test_name or 'default'}",
)  # fmt: skip
def test_error_inputs_are_rejected_with_a_lossbook_message(op):
    error_inputs = list(op.error_inputs("cpu"))
    assert error_inputs
    for error_input in error_inputs:
        check_error_input(op, error_input)


def main() -> None:
    """Print how many of torch's cases agree, differ on purpose, and are rejected by both."""
    counts: Counter[str] = Counter()
    for param in CASES:
        op, dtype = param.values
        name = op.name.split(".")[-1]
        for sample in op.sample_inputs("cpu", dtype, requires_grad=True):
            counts[compare_sample(name, op, sample, dtype)] += 1
    for ops in OPINFOS.values():
        for op in ops:
            if op.error_inputs_func is not None:
                for error_input in op.error_inputs("cpu"):
                    check_error_input(op, error_input)
                    counts["error input rejected by both"] += 1
    for outcome, count in counts.items():
        print(f"{outcome}: {count}")


if __name__ == "__main__":
    main()
