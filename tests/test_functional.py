"""lossbook.functional as a whole: the 23 losses, torch's signatures, built from primitives."""

import ast
import inspect
from pathlib import Path

import pytest
import torch.nn.functional as torch_F

import lossbook.functional as lb_F
from tests.parity import torch_reference

DEPRECATED = ("size_average", "reduce")
LOSS_MODULES = (
    "regression",
    "binary",
    "classification",
    "divergence",
    "ranking",
    "sequence",
    "linear_cross_entropy",
)
PACKAGE = Path(lb_F.__file__).parent / "losses"
TORCH_LOSSES = {
    name
    for name in dir(torch_F)
    if name.endswith(("_loss", "_entropy"))
    or name in ("binary_cross_entropy_with_logits", "cross_entropy", "kl_div", "nll_loss")
}


def test_all_23_losses_are_exported():
    """torch.nn.functional's 22 losses, torch 2.13's linear_cross_entropy, torchvision's focal."""
    assert len(lb_F.LOSSES) == 23
    for name in lb_F.LOSSES:
        assert callable(getattr(lb_F, name)), name
        assert getattr(lb_F, name).__module__.split(".")[-1] in LOSS_MODULES


@pytest.mark.parametrize("name", lb_F.LOSSES)
def test_signature_is_torchs_without_the_deprecated_arguments(name):
    """Same names, order and defaults as torch (torchvision for the focal loss).

    Parameters that follow one of torch's deprecated slots are keyword-only:
    ``F.l1_loss(x, y, "sum")`` puts "sum" into torch's ``size_average``, so a
    positional call there would mean something different here; ours refuses it.
    """
    torch_params = list(inspect.signature(torch_reference(name)).parameters.values())
    ours = list(inspect.signature(getattr(lb_F, name)).parameters.values())
    assert [(p.name, p.default) for p in ours] == [
        (p.name, p.default) for p in torch_params if p.name not in DEPRECATED
    ]
    first_deprecated = next(
        (i for i, p in enumerate(torch_params) if p.name in DEPRECATED), len(torch_params)
    )
    kinds = {p.name: p.kind for p in torch_params}
    for index, param in enumerate(p for p in torch_params if p.name not in DEPRECATED):
        expected = (
            inspect.Parameter.KEYWORD_ONLY
            if torch_params.index(param) > first_deprecated
            else kinds[param.name]
        )
        assert ours[index].kind == expected, f"{name}({param.name}) should be {expected}"


TORCH_OWNERS = ("F", "torch_F", "torch.nn.functional", "nn.functional", "torch")


def torch_loss_calls(source: str) -> set[str]:
    """Calls to a torch loss in ``source``: ``F.mse_loss(...)``, ``nn.MSELoss()``, or an imported one."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch")
        for alias in node.names
    }
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute):
            owner, name = ast.unparse(node.func.value), node.func.attr
            if (owner in TORCH_OWNERS and name in TORCH_LOSSES) or name.endswith("Loss"):
                found.add(f"{owner}.{name}")
        elif isinstance(node.func, ast.Name) and node.func.id in imported:
            if node.func.id in TORCH_LOSSES or node.func.id.endswith("Loss"):
                found.add(node.func.id)
    return found


@pytest.mark.parametrize("module", LOSS_MODULES + ("activations", "pipeline"))
def test_no_loss_calls_a_torch_loss(module):
    """Built from tensor primitives: no ``torch.nn.functional`` loss, no ``nn.*Loss``."""
    assert not torch_loss_calls((PACKAGE / f"{module}.py").read_text())


def test_the_torch_loss_detector_detects():
    assert torch_loss_calls("import torch.nn.functional as F\nF.mse_loss(a, b)") == {"F.mse_loss"}
    assert torch_loss_calls("from torch import nn\nnn.CrossEntropyLoss()(a, b)") == {
        "nn.CrossEntropyLoss"
    }
    assert torch_loss_calls("from torch.nn.functional import nll_loss\nnll_loss(a, b)") == {
        "nll_loss"
    }
    assert not torch_loss_calls("def mse_loss(a, b):\n    return a\nmse_loss(1, 2)")
