"""lossbook.course.training: the seeded training loop, its metrics, checkup and check_diagnosis."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from lossbook.checks import GradingError
from lossbook.checks.training import check_diagnosis
from lossbook.course._threads import one_torch_thread
from lossbook.course.data import binary_data, classification_data
from lossbook.course.training import (
    History,
    accuracies,
    checkup,
    class_labels,
    fit,
    predicted_labels,
)

DATA = classification_data(n=60)


def linear3():
    return nn.Linear(2, 3)


# --------------------------------------------------------------------------- fit


def test_fit_records_one_value_per_step_and_learns():
    history = fit(linear3, nn.CrossEntropyLoss(), DATA, steps=30)
    assert len(history.loss) == len(history.accuracy) == len(history.balanced_accuracy) == 30
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] >= 0.9
    assert history.diverged_at is None


def test_first_record_is_the_untrained_model_and_model_is_trained():
    torch.manual_seed(0)
    untrained = linear3()
    history = fit(untrained, nn.CrossEntropyLoss(), DATA, steps=5)
    X, y = DATA
    expected_first = nn.functional.cross_entropy(untrained(X), y).item()
    assert history.loss[0] == pytest.approx(expected_first, rel=1e-6)
    trained_loss = nn.functional.cross_entropy(history.model(X), y).item()
    assert trained_loss < history.loss[-1]  # the last record is taken before the last update


def test_fit_is_repeatable_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = fit(linear3, nn.CrossEntropyLoss(), DATA, steps=10, seed=4)
    assert torch.equal(torch.get_rng_state(), before)
    second = fit(linear3, nn.CrossEntropyLoss(), DATA, steps=10, seed=4)
    assert first.loss == second.loss
    other_seed = fit(linear3, nn.CrossEntropyLoss(), DATA, steps=10, seed=5)
    assert other_seed.loss != first.loss


def test_fit_copies_a_module_instead_of_training_it():
    model = linear3()
    weights = model.weight.detach().clone()
    history = fit(model, nn.CrossEntropyLoss(), DATA, steps=10)
    assert torch.equal(model.weight, weights)
    assert history.model is not model
    assert not torch.equal(history.model.weight, weights)


def test_fit_with_adam_learns():
    history = fit(linear3, nn.CrossEntropyLoss(), DATA, steps=30, lr=0.05, optimizer="adam")
    assert history.accuracy[-1] >= 0.9


def test_fit_raises_torch_errors_unchanged():
    X, y = DATA
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        fit(linear3, nn.CrossEntropyLoss(), (X, y + 1), steps=3)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long"):
        fit(linear3, nn.CrossEntropyLoss(), (X, y.float()), steps=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "positive number of steps"),
        ({"steps": True}, "positive number"),
        ({"steps": 3, "optimizer": "rmsprop"}, "use one of"),
    ],
)
def test_fit_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(linear3, nn.CrossEntropyLoss(), DATA, **kwargs)


def test_fit_rejects_a_loss_that_is_not_one_number():
    with pytest.raises(ValueError, match=r"shape \(60,\): reduce it with .mean\(\)"):
        fit(linear3, nn.CrossEntropyLoss(reduction="none"), DATA, steps=2)


def regression_line():
    return nn.Sequential(nn.Linear(1, 1), nn.Flatten(0))


def test_an_exploding_run_goes_through_inf_and_stops_at_nan():
    generator = torch.Generator().manual_seed(0)
    area = 50 + 200 * torch.rand(100, 1, generator=generator)
    price = 0.01 * area.squeeze(1)
    history = fit(regression_line, nn.MSELoss(), (area, price), steps=100, lr=0.01)
    assert math.isnan(history.loss[-1]) and len(history.loss) < 100
    first_bad = history.diverged_at
    assert first_bad is not None and math.isinf(history.loss[first_bad - 1])
    assert all(math.isfinite(v) for v in history.loss[: first_bad - 1])
    assert history.accuracy == []  # a regression target has no classes


def test_regression_target_records_no_accuracy_but_binary_does():
    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    assert fit(regression_line, nn.MSELoss(), (x, 3 * x.squeeze(1)), steps=3).accuracy == []
    history = fit(regression_line, nn.BCEWithLogitsLoss(), (x, (x.squeeze(1) > 0).float()), steps=3)
    assert len(history.accuracy) == 3


def test_custom_predict_is_used():
    X, y = DATA
    history = fit(
        linear3,
        nn.CrossEntropyLoss(),
        (X, y),
        steps=2,
        predict=lambda output: torch.zeros(len(output), dtype=torch.long),
    )
    assert history.accuracy == [pytest.approx((y == 0).double().mean().item())] * 2


def test_one_logit_column_is_scored_per_sample():
    X, y = binary_data(n=20)
    history = fit(lambda: nn.Linear(2, 1), nn.BCEWithLogitsLoss(), (X, y.unsqueeze(1)), steps=2)
    torch.manual_seed(0)
    untrained = nn.Linear(2, 1)
    expected = ((untrained(X).squeeze(1) > 0).float() == y).double().mean().item()
    assert history.accuracy[0] == pytest.approx(expected, abs=1e-12)


def test_predictions_of_the_wrong_length_get_no_accuracy_rather_than_a_wrong_one():
    history = fit(
        linear3,
        nn.CrossEntropyLoss(),
        DATA,
        steps=2,
        predict=lambda output: output.argmax(dim=1).repeat(2),
    )
    assert history.accuracy == [] and len(history.loss) == 2


# --------------------------------------------------------------------------- metrics


def test_accuracies_by_hand():
    predicted = torch.tensor([0, 0, 0, 0, 1, 2])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    accuracy, balanced = accuracies(predicted, labels)
    assert accuracy == pytest.approx(4 / 6, abs=1e-12)
    assert balanced == pytest.approx((3 / 3 + 1 / 3) / 2, abs=1e-12)


def test_accuracies_skip_ignored_labels_and_absent_classes():
    predicted = torch.tensor([2, 2, 0, 1])
    labels = torch.tensor([2, -100, 0, 0])
    accuracy, balanced = accuracies(predicted, labels)
    assert accuracy == pytest.approx(2 / 3, abs=1e-12)
    assert balanced == pytest.approx((1 / 2 + 1) / 2, abs=1e-12)
    assert all(math.isnan(v) for v in accuracies(torch.tensor([1]), torch.tensor([-100])))


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_accuracies_match_a_direct_count(pairs):
    predicted = torch.tensor([p for p, _ in pairs])
    labels = torch.tensor([t for _, t in pairs])
    accuracy, balanced = accuracies(predicted, labels)
    assert accuracy == pytest.approx(sum(p == t for p, t in pairs) / len(pairs), abs=1e-12)
    recalls = []
    for c in sorted({t for _, t in pairs}):
        members = [p for p, t in pairs if t == c]
        recalls.append(sum(p == c for p in members) / len(members))
    assert balanced == pytest.approx(sum(recalls) / len(recalls), abs=1e-12)
    assert min(recalls) - 1e-12 <= balanced <= max(recalls) + 1e-12


def test_class_labels_reads_each_target_form():
    logits = torch.zeros(3, 4)
    indices = torch.tensor([3, 0, 2])
    assert torch.equal(class_labels(logits, indices), indices)
    assert torch.equal(class_labels(logits, torch.eye(4)[indices]), indices)
    assert torch.equal(
        class_labels(torch.zeros(3), torch.tensor([1.0, 0.0, 1.0])), torch.tensor([1, 0, 1])
    )
    assert class_labels(torch.zeros(3), torch.tensor([0.5, 2.0, 1.0])) is None


def test_predicted_labels_argmax_or_sign():
    assert torch.equal(
        predicted_labels(torch.tensor([[0.1, 2.0], [3.0, -1.0]])), torch.tensor([1, 0])
    )
    assert torch.equal(predicted_labels(torch.tensor([[0.3], [-0.2]])), torch.tensor([1, 0]))


def test_one_torch_thread_restores_the_setting():
    before = torch.get_num_threads()
    with one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# --------------------------------------------------------------------------- History


def test_series_names_curves_for_loss_curves():
    history = History(loss=[1.0, 0.5], accuracy=[0.5, 1.0], balanced_accuracy=[0.4, 0.9])
    assert history.series("broken", "ce", ("accuracy", "balanced_accuracy")) == {
        "broken ce": [1.0, 0.5],
        "broken accuracy": [0.5, 1.0],
        "broken balanced_accuracy": [0.4, 0.9],
    }
    assert History(loss=[2.0]).series("fixed", "mse") == {"fixed mse": [2.0]}


def test_summary_mentions_divergence():
    history = History(loss=[1.0, math.inf, math.nan], diverged_at=2)
    assert history.summary() == "loss 1 -> nan over 3 steps (not finite from step 2 on)"


# --------------------------------------------------------------------------- checkup, check_diagnosis


def test_checkup_reports_torch_error_and_diagnosis():
    X, y = DATA
    report = checkup(linear3, nn.CrossEntropyLoss(), (X, y.float()), steps=3)
    assert report.history is None
    assert report.error == "RuntimeError: expected target dtype to be Long or Byte, but got Float"
    assert report.diagnosis.ids == ("target-dtype",)
    assert repr(report).startswith("Training raised RuntimeError: expected target dtype")


def test_checkup_of_a_healthy_setup():
    report = checkup(linear3(), nn.CrossEntropyLoss(), DATA, steps=20)
    assert report.error is None and report.diagnosis.ok
    assert repr(report).startswith("Training: loss ")
    assert "No problems found" in repr(report)


def test_check_diagnosis_passes_a_correct_call():
    check_diagnosis(linear3(), nn.CrossEntropyLoss(), DATA)
    check_diagnosis(
        regression_line,
        nn.BCEWithLogitsLoss(),
        (torch.randn(30, 1), (torch.rand(30) > 0.5).float()),
    )


@pytest.mark.parametrize(
    ("model", "loss_fn", "data", "named"),
    [
        (
            nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)),
            nn.CrossEntropyLoss(),
            DATA,
            "Softmax (or sigmoid) applied before cross-entropy (double-softmax)",
        ),
        (
            nn.Linear(2, 3),
            nn.CrossEntropyLoss(),
            (DATA[0], DATA[1] + 1),
            "Class index out of range (class-index-out-of-range)",
        ),
        (
            nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)),
            nn.BCELoss(),
            binary_data(n=40),
            "BCELoss given logits (bce-given-logits)",
        ),
        (
            nn.Linear(2, 1),
            nn.BCEWithLogitsLoss(),
            binary_data(n=40),
            "Extra dimension of size 1, as in (N, 1) against (N,) (column-vs-vector)",
        ),
    ],
)
def test_check_diagnosis_names_the_mistake(model, loss_fn, data, named):
    with pytest.raises(GradingError) as failure:
        check_diagnosis(model, loss_fn, data, what="the loss call of fix()")
    message = str(failure.value)
    assert message.startswith("diagnose() finds 1 problem in the loss call of fix() (nn.")
    assert named in message and "Fix: " in message


def test_check_diagnosis_ignores_notes():
    X, y = DATA
    one_hot = torch.eye(3)[y]  # correct as class probabilities: only a note
    check_diagnosis(linear3(), nn.CrossEntropyLoss(), (X, one_hot))


def test_check_diagnosis_reports_a_model_that_raises():
    with pytest.raises(GradingError, match="Diagnosing the loss call failed: RuntimeError"):
        check_diagnosis(nn.Linear(5, 3), nn.CrossEntropyLoss(), DATA)
