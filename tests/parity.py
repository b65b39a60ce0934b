"""Compare a lossbook loss with torch's on the same inputs: values and gradients.

Used by every ``tests/test_<family>.py``; tolerances are the project's
contract: float64 to 1e-10 relative, float32 to 1e-5.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as torch_F

import lossbook.functional as lb_F

TOLERANCES = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-12},
    torch.float32: {"rtol": 1e-5, "atol": 1e-6},
}


# torch refuses requires_grad on these ("not differentiable with respect to argument
# 'weight'"): both sides get them as constants and are compared through the loss value.
CONSTANT_KWARGS = frozenset({"weight", "pos_weight"})


def _leaves(args: tuple, kwargs: dict) -> tuple[tuple, dict, list[torch.Tensor]]:
    """Fresh copies of the inputs; floating tensors require grad so both sides get gradients."""
    leaves: list[torch.Tensor] = []

    def copy(value: Any, differentiable: bool = True) -> Any:
        if isinstance(value, torch.Tensor):
            value = value.detach().clone()
            if differentiable and value.is_floating_point():
                value.requires_grad_(True)
                leaves.append(value)
        return value

    return (
        tuple(copy(a) for a in args),
        {k: copy(v, k not in CONSTANT_KWARGS) for k, v in kwargs.items()},
        leaves,
    )


def torch_reference(name: str):
    """torch's function of the same name (torchvision's definition for the focal loss)."""
    if name == "sigmoid_focal_loss":
        from tests.focal_reference import sigmoid_focal_loss

        return sigmoid_focal_loss
    return getattr(torch_F, name)


def assert_same_loss(name: str, *args: Any, grad: bool = True, **kwargs: Any) -> torch.Tensor:
    """lossbook's ``name`` equals torch's on ``args``/``kwargs``, in value and in gradient.

    Returns torch's value so a caller can make further assertions.
    """
    ours_args, ours_kwargs, ours_leaves = _leaves(args, kwargs)
    ref_args, ref_kwargs, ref_leaves = _leaves(args, kwargs)
    ours = getattr(lb_F, name)(*ours_args, **ours_kwargs)
    expected = torch_reference(name)(*ref_args, **ref_kwargs)
    dtype = expected.dtype if expected.is_floating_point() else torch.float64
    tolerance = TOLERANCES.get(dtype, TOLERANCES[torch.float32])
    torch.testing.assert_close(ours, expected, equal_nan=True, **tolerance)
    needs_grad = grad and expected.requires_grad and expected.numel() > 0
    if needs_grad:
        seed = torch.linspace(0.5, 1.5, expected.numel(), dtype=expected.dtype).reshape(
            expected.shape
        )
        ours_grads = torch.autograd.grad(ours, ours_leaves, seed, allow_unused=True)
        ref_grads = torch.autograd.grad(expected, ref_leaves, seed, allow_unused=True)
        for leaf, g_ours, g_ref in zip(ref_leaves, ours_grads, ref_grads, strict=True):
            g_ours = torch.zeros_like(leaf) if g_ours is None else g_ours
            g_ref = torch.zeros_like(leaf) if g_ref is None else g_ref
            torch.testing.assert_close(g_ours, g_ref, equal_nan=True, **tolerance)
    return expected.detach()


def assert_gradcheck(name: str, *args: Any, **kwargs: Any) -> None:
    """``torch.autograd.gradcheck`` of lossbook's ``name`` in float64 w.r.t. every float input."""
    tensor_positions = [
        i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.is_floating_point()
    ]
    inputs = tuple(
        args[i].detach().to(torch.float64).clone().requires_grad_(True) for i in tensor_positions
    )

    def fn(*float_inputs: torch.Tensor) -> torch.Tensor:
        full = list(args)
        for i, value in zip(tensor_positions, float_inputs, strict=True):
            full[i] = value
        return getattr(lb_F, name)(*full, **kwargs)

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
