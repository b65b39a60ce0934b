"""One test per input-error message: it names the mistake and the fix, where torch rejects it too.

Each test first checks that torch itself raises (or warns) on the same input,
then that lossbook raises an exception of torch's type (so ``except`` clauses
written for torch still work) whose message says what was received and what
to change.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
import torch
import torch.nn.functional as torch_F

import lossbook.functional as F
from lossbook.losses._validation import ClassIndexError, LossInputError


def _torch_error(name: str, *args, **kwargs) -> BaseException:
    """The exception torch raises for this call (the test fails if torch accepts it)."""
    with pytest.raises(Exception) as caught:
        getattr(torch_F, name)(*args, **kwargs)
    return caught.value


def _our_message(name: str, *args, error: type[Exception] = LossInputError, **kwargs) -> str:
    """lossbook's message for the call torch also rejects, checking the exception types agree."""
    from_torch = _torch_error(name, *args, **kwargs)
    with pytest.raises(error) as caught:
        getattr(F, name)(*args, **kwargs)
    assert isinstance(caught.value, type(from_torch)), (type(caught.value), type(from_torch))
    return str(caught.value)


def test_one_hot_target_where_class_indices_are_expected():
    """nll_loss takes class indices: say so, and offer argmax or cross_entropy."""
    log_probs = torch.randn(4, 3).log_softmax(dim=1)
    one_hot = torch_F.one_hot(torch.tensor([0, 2, 1, 0]), 3).float()
    message = _our_message("nll_loss", log_probs, one_hot)
    assert "(4, 3)" in message and "class indices" in message
    assert "torch.long" in message and "(4,)" in message
    assert "target.argmax(dim=1)" in message
    assert "cross_entropy, which accepts both forms" in message


def test_float_target_of_the_wrong_shape_for_cross_entropy():
    """cross_entropy takes class indices or class probabilities: describe both."""
    message = _our_message("cross_entropy", torch.randn(4, 3), torch.tensor([0.0, 2.0, 1.0, 0.0]))
    assert "float tensor of shape (4,)" in message
    assert "class indices (an integer tensor of shape (4,)" in message
    assert "target.long()" in message
    assert "class probabilities (a float tensor of shape (4, 3)" in message


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_integer_labels_for_a_binary_loss(name):
    """Binary losses take float 0/1 targets, not long class labels."""
    prediction = torch.rand(4) if name == "binary_cross_entropy" else torch.randn(4)
    message = _our_message(name, prediction, torch.tensor([0, 1, 1, 0]))
    assert "torch.int64" in message and "float" in message
    assert "target.float()" in message
    assert "cross_entropy" in message


def test_model_output_of_shape_n_by_1_against_targets_of_shape_n_warns_in_mse_loss():
    """torch broadcasts (4, 1) against (4,) to (4, 4) with a warning; ours says why and how to fix."""
    output, target = torch.randn(4, 1), torch.randn(4)
    with pytest.warns(UserWarning):
        torch_F.mse_loss(output, target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.mse_loss(output, target)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1, messages
    assert "(4, 1)" in messages[0] and "(4,)" in messages[0] and "(4, 4)" in messages[0]
    assert "input.squeeze(-1)" in messages[0]


def test_model_output_of_shape_n_by_1_against_targets_of_shape_n_raises_in_bce():
    """binary_cross_entropy does not broadcast: torch raises, and so do we, with the fix."""
    message = _our_message("binary_cross_entropy", torch.rand(4, 1), torch.rand(4))
    assert "(4, 1)" in message and "(4,)" in message
    assert "must be the same" in message and "input.squeeze(-1)" in message


@pytest.mark.parametrize("bad", [3, -1])
def test_class_index_out_of_range(bad):
    """Name the offending index and C; IndexError as in torch."""
    target = torch.tensor([0, 1, bad, 0])
    message = _our_message("cross_entropy", torch.randn(4, 3), target, error=ClassIndexError)
    assert f"class index {bad}" in message and "C=3" in message and "[0, 2]" in message
    assert "labels start at 0" in message


def test_logits_given_to_binary_cross_entropy():
    """Values outside [0, 1] are logits: point to binary_cross_entropy_with_logits."""
    logits = torch.tensor([-2.5, 0.3, 1.7, 4.0])
    message = _our_message("binary_cross_entropy", logits, torch.tensor([0.0, 1.0, 1.0, 0.0]))
    assert "[0, 1]" in message and "-2.5" in message and "4" in message
    assert "binary_cross_entropy_with_logits" in message


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("cross_entropy", (torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))),
        ("nll_loss", (torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))),
        ("multi_margin_loss", (torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))),
        ("mse_loss", (torch.randn(4), torch.randn(4))),
        ("binary_cross_entropy", (torch.rand(4), torch.rand(4))),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_unknown_reduction_lists_the_valid_ones(name, args):
    message = _our_message(name, *args, reduction="average")
    assert "reduction='average'" in message
    assert "'none', 'mean', 'sum'" in message


@given(st.lists(st.lists(st.sampled_from([0, 1, 2, 3]), max_size=4), min_size=1, max_size=3))
def test_broadcast_shape_agrees_with_torch(shapes):
    from lossbook.losses._validation import broadcast_shape

    try:
        expected = tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        expected = None
    assert broadcast_shape(*shapes) == expected
