"""The registry of losses: complete, consistent with torch and with lossbook.functional, unambiguous."""

import inspect

import pytest
import torch
import torch.nn.functional as torch_F

import lossbook.functional as lb_F
from lossbook.losses import registry
from lossbook.losses.registry import LOSSES, FAMILIES, LossSpec, UnknownLossError, spec
from tests.parity import torch_reference

# torch's loss functions: every public name of torch.nn.functional that is a loss.
TORCH_LOSS_NAMES = {
    name
    for name in dir(torch_F)
    if name.endswith(("_loss", "_entropy"))
    or name in ("kl_div", "binary_cross_entropy_with_logits")
}
# torch.nn's loss modules other than the deprecated alias NLLLoss2d (an alias of
# NLLLoss here) and AdaptiveLogSoftmaxWithLoss, a model head with its own output layer.
TORCH_LOSS_CLASSES = {
    name
    for name in dir(torch.nn)
    if name.endswith("Loss") and name not in ("NLLLoss2d", "AdaptiveLogSoftmaxWithLoss")
}


def test_every_torch_loss_and_torchvisions_focal_loss_is_registered():
    assert {loss.name for loss in LOSSES} == TORCH_LOSS_NAMES | {"sigmoid_focal_loss"}
    assert {loss.nn_class for loss in LOSSES} - {None} == TORCH_LOSS_CLASSES


def test_the_order_is_torchs_then_focal_and_functional_derives_from_it():
    assert LOSSES[-1].name == "sigmoid_focal_loss"
    assert lb_F.LOSSES == tuple(loss.name for loss in LOSSES)
    assert lb_F.LOSSES == tuple(lb_F.__all__[: len(lb_F.LOSSES)])
    assert len(set(lb_F.LOSSES)) == len(lb_F.LOSSES)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_spec_agrees_with_torch_and_lossbook(loss: LossSpec):
    assert loss.function is getattr(lb_F, loss.name)
    # The chunked linear_cross_entropy, a classification loss, has a module of its own.
    assert loss.function.__module__ in (
        f"lossbook.losses.{loss.family}",
        f"lossbook.losses.{loss.name}",
    )
    assert loss.family in FAMILIES
    if loss.nn_class is not None:
        module = getattr(torch.nn, loss.nn_class)
        assert issubclass(module, torch.nn.Module)
        assert module.__name__ == loss.nn_class
    assert loss.target_kind


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_tensors_are_the_required_arguments_of_both_implementations(loss: LossSpec):
    def required(function) -> tuple[str, ...]:
        return tuple(
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )

    assert required(loss.function) == loss.tensors
    assert required(torch_reference(loss.name)) == loss.tensors


def test_aliases_are_unique_even_ignoring_case_and_punctuation():
    seen: dict[str, str] = {}
    for loss in LOSSES:
        for text in (loss.name, *loss.aliases):
            key = registry._compact(text)
            assert seen.setdefault(key, loss.name) == loss.name, (text, seen[key], loss.name)


def test_a_shared_alias_is_refused_when_the_registry_is_built():
    mse, l1 = spec("mse_loss"), spec("l1_loss")
    clash = LossSpec(**{**vars(l1), "aliases": ("L2",)})
    with pytest.raises(ValueError, match="'L2' names both mse_loss and l1_loss"):
        registry._index((mse, clash))


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_spec_finds_every_name_and_alias_in_any_case(loss: LossSpec):
    assert spec(loss.name) is loss
    for alias in loss.aliases:
        assert spec(alias) is loss, alias
        assert spec(alias.upper()) is loss, alias
        assert spec(alias.lower()) is loss, alias


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("nn.MSELoss", "mse_loss"),
        ("torch.nn.MSELoss", "mse_loss"),
        ("torch.nn.functional.mse_loss", "mse_loss"),
        ("F.cross_entropy", "cross_entropy"),
        ("CrossEntropy", "cross_entropy"),
        ("cross entropy", "cross_entropy"),
        ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"),
        ("BCEWithLogits", "binary_cross_entropy_with_logits"),
        ("mae", "l1_loss"),
        ("L2", "mse_loss"),
        ("KLDiv", "kl_div"),
        ("SmoothL1", "smooth_l1_loss"),
        ("focal", "sigmoid_focal_loss"),
        ("ctc", "ctc_loss"),
        ("NLLLoss2d", "nll_loss"),
    ],
)
def test_spec_reads_the_names_learners_write(text, name):
    assert spec(text).name == name


def test_an_unknown_name_raises_with_the_closest_names():
    with pytest.raises(UnknownLossError) as caught:
        spec("msee")
    message = str(caught.value)
    assert message.startswith("unknown loss 'msee'; did you mean 'mse'")
    assert "mse_loss" in message  # the known names follow
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    with pytest.raises(KeyError, match="did you mean 'cross_entropy'"):
        spec("cross_entropi")
    with pytest.raises(KeyError, match=r"^unknown loss 'xyzzy'; Known losses: l1_loss"):
        spec("xyzzy")


def test_names_by_family_cover_every_loss_once():
    by_family = [name for family in FAMILIES for name in registry.names(family)]
    assert sorted(by_family) == sorted(registry.names())
    assert registry.names("divergence") == ("kl_div",)
    with pytest.raises(ValueError, match="unknown family 'losses'"):
        registry.names("losses")
