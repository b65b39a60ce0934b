"""Chapter 7: class influence, balanced accuracy and the checks of a loss for imbalanced classes."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from lossbook.checks import (
    ABSENT_CLASS_COUNTED,
    PLAIN_ACCURACY,
    PRECISION_INSTEAD_OF_RECALL,
    GradingError,
    check_balanced_accuracy,
    check_class_weights,
    check_classification_loss,
)
from lossbook.course.data import gaussian_blobs
from lossbook.course.training import accuracies, class_influence, fit

COUNTS = [200, 10, 10]


def inverse_frequency(counts):
    counts = torch.as_tensor(counts, dtype=torch.float32)
    return counts.sum() / (len(counts) * counts)


def test_gaussian_blobs_counts_dtypes_and_seed():
    X, y = gaussian_blobs([5, 3, 2], seed=1)
    assert X.shape == (10, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [5, 3, 2]
    X_again, y_again = gaussian_blobs([5, 3, 2], seed=1)
    assert torch.equal(X, X_again) and torch.equal(y, y_again)
    assert not torch.equal(X, gaussian_blobs([5, 3, 2], seed=2)[0])


def test_gaussian_blobs_centres_lie_on_the_circle():
    X, y = gaussian_blobs([2000, 2000], spread=0.1, radius=3.0)
    assert torch.allclose(X[y == 0].mean(dim=0), torch.tensor([3.0, 0.0]), atol=0.01)
    assert torch.allclose(X[y == 1].mean(dim=0), torch.tensor([-3.0, 0.0]), atol=0.01)


@pytest.mark.parametrize("counts", [[5], [5, 0], []])
def test_gaussian_blobs_rejects_bad_counts(counts):
    with pytest.raises(ValueError, match="at least two classes"):
        gaussian_blobs(counts)


@given(st.lists(st.floats(0.1, 10.0), min_size=2, max_size=6))
def test_class_influence_of_weighted_cross_entropy_is_the_normalised_weight(weights):
    weight = torch.tensor(weights)
    pull = class_influence(nn.CrossEntropyLoss(weight=weight), len(weights))
    torch.testing.assert_close(pull, weight / weight.mean(), rtol=1e-5, atol=1e-6)


def test_class_influence_keeps_the_order_with_label_smoothing():
    weight = torch.tensor([0.2, 4.0, 2.0])
    pull = class_influence(nn.CrossEntropyLoss(weight=weight, label_smoothing=0.2), 3)
    assert pull[1] > pull[2] > pull[0]


def test_class_influence_of_a_constant_loss_is_zero():
    assert class_influence(lambda logits, target: logits.detach().sum(), 3).tolist() == [0, 0, 0]


def test_check_class_weights_reports_a_loss_cut_off_from_the_logits():
    with pytest.raises(GradingError, match="does not depend on the logits"):
        check_class_weights(lambda logits, target: logits.detach().sum(), [90, 6, 4])


@pytest.mark.parametrize(
    "loss_fn",
    [
        nn.CrossEntropyLoss(),
        nn.CrossEntropyLoss(weight=inverse_frequency(COUNTS), label_smoothing=0.1),
        lambda z, y: nn.functional.mse_loss(z.softmax(dim=1), nn.functional.one_hot(y, 3).float()),
    ],
)
def test_check_classification_loss_passes_losses_on_logits(loss_fn):
    check_classification_loss(loss_fn, 3)


@pytest.mark.parametrize(
    ("loss_fn", "named"),
    [
        (nn.MSELoss(), "MSE on class indices"),
        (nn.BCEWithLogitsLoss(), "binary cross-entropy for a multi-class task"),
        (lambda z, y: nn.functional.cross_entropy(z.softmax(dim=1), y), "softmax applied twice"),
        (
            lambda z, y: nn.functional.cross_entropy(z.sigmoid(), y, label_smoothing=0.1),
            "softmax applied twice",
        ),
    ],
)
def test_check_classification_loss_names_the_mistake(loss_fn, named):
    with pytest.raises(GradingError, match=f"This matches a known mistake: {named}"):
        check_classification_loss(loss_fn, 3)


def test_check_classification_loss_wants_one_number():
    with pytest.raises(GradingError, match="not one number"):
        check_classification_loss(nn.CrossEntropyLoss(reduction="none"), 3)


@pytest.mark.parametrize("power", [1.0, 0.5, 2.0])
def test_check_class_weights_passes_any_inverse_frequency_like_weights(power):
    check_class_weights(
        nn.CrossEntropyLoss(weight=inverse_frequency([90, 6, 4]) ** power), [90, 6, 4]
    )


def test_check_class_weights_does_not_compare_classes_of_equal_count():
    check_class_weights(nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 4.0])), [90, 6, 6])


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (None, "This matches a known mistake: ignoring class imbalance"),
        (torch.tensor([90.0, 6.0, 4.0]), "This matches a known mistake: weights proportional"),
        (torch.tensor([0.1, 1.0, 0.5]), "class 2 (4 samples) pulls no harder than class 1"),
    ],
)
def test_check_class_weights_explains_what_is_wrong(weight, message):
    with pytest.raises(GradingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_class_weights(nn.CrossEntropyLoss(weight=weight), [90, 6, 4])


def test_check_class_weights_reports_a_loss_that_raises():
    with pytest.raises(GradingError, match="raised RuntimeError"):
        check_class_weights(nn.CrossEntropyLoss(weight=torch.ones(4)), [90, 6, 4])


def test_check_balanced_accuracy_measures_the_trained_model_as_fit_trains_it():
    data = gaussian_blobs(COUNTS, spread=1.3)
    loss_fn = nn.CrossEntropyLoss(weight=inverse_frequency(COUNTS))
    options = dict(steps=30, lr=0.1, optimizer="adam")
    history = fit(lambda: nn.Linear(2, 3), loss_fn, data, **options)
    with torch.no_grad():
        expected = accuracies(history.model(data[0]).argmax(dim=1), data[1])[1]
    got = check_balanced_accuracy(
        lambda: nn.Linear(2, 3), loss_fn, data, min_balanced_accuracy=0.0, **options
    )
    assert got == expected


def test_check_balanced_accuracy_failure_shows_recalls_and_names_ignored_imbalance():
    data = gaussian_blobs(COUNTS, spread=1.3)
    with pytest.raises(GradingError) as failure:
        check_balanced_accuracy(
            lambda: nn.Linear(2, 3),
            nn.CrossEntropyLoss(),
            data,
            steps=30,
            min_balanced_accuracy=0.99,
            optimizer="adam",
        )
    message = str(failure.value)
    assert "expects at least 99%" in message
    assert "class 1: 10 samples, recall" in message
    assert "This matches a known mistake: ignoring class imbalance" in message


@pytest.mark.filterwarnings("ignore:Using a target size:UserWarning")
def test_check_balanced_accuracy_reports_a_loss_that_raises():
    with pytest.raises(GradingError, match="Training with the loss failed: RuntimeError"):
        check_balanced_accuracy(
            lambda: nn.Linear(2, 3),
            nn.MSELoss(),
            gaussian_blobs(COUNTS),
            steps=5,
            min_balanced_accuracy=0.5,
        )


def test_balanced_accuracy_mistake_variants():
    predicted, labels = torch.tensor([1, 1, 0, 0, 3]), torch.tensor([1, 0, 0, 0, 0])
    assert PLAIN_ACCURACY.variant(None, (predicted, labels), {}).item() == pytest.approx(3 / 5)
    # precision: class 0 is right 2 of 2 times, class 1 once in 2, class 3 never
    assert PRECISION_INSTEAD_OF_RECALL.variant(None, (predicted, labels), {}).item() == (
        pytest.approx((1 + 0.5 + 0) / 3)
    )
    # recalls: class 0 2 of 4, class 1 1 of 1, class 3 (never a label) counted as 0
    assert ABSENT_CLASS_COUNTED.variant(None, (predicted, labels), {}).item() == (
        pytest.approx((0.5 + 1 + 0) / 3)
    )
    assert accuracies(predicted, labels)[1] == pytest.approx((0.5 + 1) / 2)
