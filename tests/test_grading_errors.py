"""GradingError carries structured fields (check, mistake, case, expected, got) beside its message."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

import lossbook.checks as G
from lossbook.checks.errors import GradingError
from lossbook.course.data import classification_data


def failure(check, *args, **kwargs) -> GradingError:
    with pytest.raises(GradingError) as caught:
        check(*args, **kwargs)
    return caught.value


def test_the_message_is_the_string_and_the_fields_are_attributes():
    error = GradingError(
        "wrong", check="check_close", mistake=G.MISTAKES["missing_minus"], case="c", got="1.0"
    )
    assert str(error) == error.message == "wrong" and error.args == ("wrong",)
    assert (error.check, error.exercise, error.case, error.expected, error.got) == (
        "check_close",
        None,
        "c",
        None,
        "1.0",
    )
    assert error.fields()["mistake"] == "missing_minus"
    assert isinstance(error, AssertionError)  # how nbgrader scores a test cell


def test_check_is_required():
    with pytest.raises(TypeError):
        GradingError("wrong")


def test_it_survives_pickling_with_its_mistake():
    error = GradingError("wrong", check="check_grad", mistake=G.MISTAKES["softmax_twice"])
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "wrong" and copy.check == "check_grad"
    assert copy.mistake is G.MISTAKES["softmax_twice"]


def test_check_close_names_the_case_values_and_mistake():
    error = failure(G.check_close, lambda p, t: ((p - t) ** 2).sum(), "mse_loss")
    assert error.check == "check_close"
    assert error.mistake is G.MISTAKES["sum_instead_of_mean"]
    assert error.case == "small: N=4"  # the smallest case where sum and mean differ
    assert f"On the smallest case where it differs:\n  {error.case}" in str(error)
    assert f"expected: {error.expected}" in str(error) and f"got:      {error.got}" in str(error)
    assert float(error.got) == pytest.approx(4 * float(error.expected))


def test_an_unrecognised_wrong_answer_has_no_mistake():
    error = failure(G.check_close, lambda p, t: (p - t).mean() * 0 + 7.0, "mse_loss")
    assert error.mistake is None and error.got == "7.0"


def test_a_raising_answer_reports_the_error_as_got():
    def broken(pred, target):
        raise IndexError("boom")

    error = failure(G.check_close, broken, "mse_loss")
    assert error.got == "an error: IndexError: boom" and error.check == "check_close"


def test_check_fixed_and_check_grad():
    values = G.release_values("mse_loss", G.REGRESSION_CASES)
    error = failure(G.check_fixed, lambda p, t: ((p - t) ** 2).sum(), G.REGRESSION_CASES, values)
    assert error.check == "check_fixed" and error.mistake is None  # no reference: no mistakes
    error = failure(G.check_grad, lambda p, t: ((p - t) ** 2).sum(), "mse_loss")
    assert error.check == "check_grad" and error.mistake is G.MISTAKES["sum_instead_of_mean"]
    assert error.got.startswith("d/dpred")


def test_check_value_hides_the_expected_value_unless_revealed():
    inputs = ([2.5, 0.5, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
    error = failure(G.check_value, 2.25, what="the MSE", reference="mse_loss", inputs=inputs)
    assert error.check == "check_value" and error.got == "2.25" and error.expected is None
    assert error.mistake is G.MISTAKES["sum_instead_of_mean"]
    error = failure(
        G.check_value, 2.25, what="the MSE", reference="mse_loss", inputs=inputs, reveal=True
    )
    assert error.expected == "0.5625"
    assert failure(G.check_value, ..., what="the MSE", expected=1.0).got == "Ellipsis"


def test_check_finite_and_check_no_torch_loss():
    def naive(logits, target):
        log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
        return -log_probs[torch.arange(len(target)), target].mean()

    error = failure(G.check_finite, naive, reference="cross_entropy")
    assert error.check == "check_finite" and error.mistake is G.MISTAKES["no_max_subtraction"]
    assert "nan" in error.got
    error = failure(
        G.check_no_torch_loss, torch.nn.functional.mse_loss, torch.ones(2), torch.zeros(2)
    )
    assert error.check == "check_no_torch_loss"
    assert error.got == "a call of torch.nn.functional.mse_loss"


def test_training_checks():
    data = classification_data(n=60)
    error = failure(
        G.check_trains,
        lambda: nn.Linear(2, 3),
        lambda o, t: (o * 0).sum(),
        data,
        steps=5,
        min_accuracy=0.99,
    )
    assert error.check == "check_trains" and error.expected == "accuracy >= 99%"
    assert error.got.startswith("accuracy ")
    error = failure(G.check_class_weights, nn.CrossEntropyLoss(), [90, 6, 4])
    assert error.check == "check_class_weights" and error.mistake is G.IGNORING_CLASS_IMBALANCE
    error = failure(G.check_classification_loss, nn.MSELoss(), 3)
    assert error.mistake is G.MSE_ON_CLASS_INDICES
    error = failure(
        G.check_diagnosis,
        nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)),
        nn.CrossEntropyLoss(),
        data,
    )
    assert error.check == "check_diagnosis" and "double-softmax" in error.got


def test_check_loss_choice():
    error = failure(G.check_loss_choice, lambda task: nn.MSELoss(), "multi-class")
    assert error.check == "check_loss_choice" and error.case == "multi-class"
    assert error.mistake is G.MSE_ON_CLASS_INDICES and error.got == "MSELoss()"


def test_every_mistake_has_a_stable_key():
    assert all(key == mistake.key for key, mistake in G.MISTAKES.items())
    for constant in (
        G.ABSENT_CLASS_COUNTED,
        G.BCE_FOR_MULTICLASS,
        G.IGNORING_CLASS_IMBALANCE,
        G.MSE_ON_CLASS_INDICES,
        G.PLAIN_ACCURACY,
        G.PRECISION_INSTEAD_OF_RECALL,
        G.WEIGHTS_BY_FREQUENCY,
    ):
        assert G.MISTAKES[constant.key] is constant


def test_check_finite_names_a_finite_but_wrong_answer():
    """On extreme inputs, a sum where the mean is asked stays finite: it is named all the same."""

    def summed(logits, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="sum")

    error = failure(G.check_finite, summed, reference="binary_cross_entropy_with_logits")
    assert "is finite on extreme inputs but not right" in str(error)
    assert error.mistake is G.MISTAKES["sum_instead_of_mean"]
    assert "This matches a known mistake: sum instead of mean" in str(error)
