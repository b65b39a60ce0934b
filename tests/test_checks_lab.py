"""Chapter 8's checks: right answers pass (every valid convention), each crafted mistake is named."""

import pytest
import torch
from torch import nn

from lossbook.checks.errors import GradingError
from lossbook.checks.lab import (
    check_confusion_matrix,
    check_epoch_loss,
    check_standardize,
    check_train_epoch_loss,
    check_train_epoch_updates,
    check_weight_decay,
    confusion_counts,
    standardized,
)


def fails_with(check, fn, *phrases, mistake=None):
    with pytest.raises(GradingError) as caught:
        check(fn)
    for phrase in phrases:
        assert phrase in str(caught.value), str(caught.value)
    if mistake is not None:
        assert caught.value.mistake is not None and caught.value.mistake.key == mistake
    return caught.value


# --- standardize -----------------------------------------------------------------------------


@pytest.mark.parametrize("correction", [0, 1])
def test_either_standard_deviation_convention_passes(correction):
    check_standardize(lambda X, X_train: standardized(X, X_train, correction=correction))


def test_sklearn_standard_scaler_passes():
    from sklearn.preprocessing import StandardScaler

    def with_sklearn(X, X_train):
        scaler = StandardScaler().fit(X_train.numpy())
        return torch.as_tensor(scaler.transform(X.numpy()), dtype=X.dtype)

    check_standardize(with_sklearn)


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda X, X_train: standardized(X, X), "own_statistics"),
        (
            lambda X, X_train: (X - X_train.mean(0)) / X_train.std(0, correction=0),
            "zero_std_unguarded",
        ),
        (
            lambda X, X_train: (
                (X - X_train.mean(0))
                / torch.where(X_train.var(0, correction=0) == 0, 1.0, X_train.var(0, correction=0))
            ),
            "divided_by_variance",
        ),
        (
            lambda X, X_train: (
                X
                / torch.where(X_train.std(0, correction=1) == 0, 1.0, X_train.std(0, correction=1))
            ),
            "not_centred",
        ),
    ],
)
def test_scaling_mistakes_are_named(wrong, key):
    error = fails_with(
        check_standardize, wrong, "Either standard deviation is accepted", mistake=key
    )
    assert error.check == "check_standardize"


def test_an_epsilon_instead_of_a_guard_fails_on_held_out_rows():
    """std + 1e-8 keeps the training set finite but blows up held-out rows of a constant column."""
    error = fails_with(
        check_standardize,
        lambda X, X_train: (X - X_train.mean(0)) / (X_train.std(0, correction=0) + 1e-8),
        mistake="epsilon_instead_of_one",
    )
    assert "held-out" in error.case


def test_zeroing_the_constant_columns_is_named_with_the_convention():
    def zeroed(X, X_train):
        std = X_train.std(0, correction=0)
        return torch.where(std == 0, 0.0, standardized(X, X_train))

    fails_with(
        check_standardize, zeroed, "divides such a column by 1", mistake="constant_column_zeroed"
    )


# --- epoch_loss ------------------------------------------------------------------------------


def right_epoch_loss(model, loader, loss_fn):
    with torch.no_grad():
        total = sum(loss_fn(model(xb), yb).item() * len(yb) for xb, yb in loader)
    return total / len(loader.dataset)


def test_epoch_loss_right_answer_and_a_detached_tensor_pass():
    check_epoch_loss(right_epoch_loss)
    check_epoch_loss(lambda *a: torch.tensor(right_epoch_loss(*a)))


def test_mean_of_batch_means_is_named():
    def mean_of_means(model, loader, loss_fn):
        with torch.no_grad():
            losses = [loss_fn(model(xb), yb).item() for xb, yb in loader]
        return sum(losses) / len(losses)

    fails_with(check_epoch_loss, mean_of_means, "short last batch", mistake="mean_of_batch_means")


def test_dividing_by_the_number_of_batches_is_named():
    def per_batch(model, loader, loss_fn):
        with torch.no_grad():
            total = sum(loss_fn(model(xb), yb).item() * len(yb) for xb, yb in loader)
        return total / len(loader)

    fails_with(check_epoch_loss, per_batch, "not by len(loader)", mistake="divided_by_batches")


def test_counting_the_samples_seen_is_right_too():
    def counted(model, loader, loss_fn):
        total, seen = 0.0, 0
        with torch.no_grad():
            for xb, yb in loader:
                total += loss_fn(model(xb), yb).item() * len(yb)
                seen += len(yb)
        return total / seen

    check_epoch_loss(counted)


def test_a_graph_kept_alive_is_named():
    def with_graph(model, loader, loss_fn):
        total = 0
        for xb, yb in loader:
            total = total + loss_fn(model(xb), yb) * len(yb)
        return total / len(loader.dataset)

    fails_with(check_epoch_loss, with_graph, "loss.item()", mistake="graph_kept_alive")


def test_training_while_measuring_fails():
    def trains(model, loader, loss_fn):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        return total / len(loader.dataset)

    fails_with(check_epoch_loss, trains, "must not train")


# --- train_epoch -----------------------------------------------------------------------------


def right_train_epoch(model, loader, loss_fn, optimizer, *, zero_grad=True, step=True):
    total = 0.0
    for xb, yb in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        if step:
            optimizer.step()
        total += loss.item() * len(yb)
    return total / len(loader.dataset)


def test_train_epoch_right_answer_passes_both_checks():
    check_train_epoch_updates(right_train_epoch)
    check_train_epoch_loss(right_train_epoch)


def test_zero_grad_after_step_is_also_right():
    def zero_grad_last(model, loader, loss_fn, optimizer):
        optimizer.zero_grad()
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item() * len(yb)
        return total / len(loader.dataset)

    check_train_epoch_updates(zero_grad_last)


@pytest.mark.parametrize(
    "flags, key",
    [({"zero_grad": False}, "no_zero_grad"), ({"step": False}, "no_optimizer_step")],
)
def test_broken_loops_are_named(flags, key):
    fails_with(check_train_epoch_updates, lambda *a: right_train_epoch(*a, **flags), mistake=key)


def test_the_epoch_loss_returned_by_training_uses_batch_sizes():
    def mean_of_means(model, loader, loss_fn, optimizer):
        losses = []
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return sum(losses) / len(losses)

    check_train_epoch_updates(mean_of_means)  # the updates are right
    fails_with(check_train_epoch_loss, mean_of_means, mistake="mean_of_batch_means")


# --- weight decay ----------------------------------------------------------------------------


def objective(model, X, y, weight_decay, *, half=True, squared=True, biases=True):
    params = [p for p in model.parameters() if biases or p.dim() > 1]
    penalty = sum((p**2).sum() if squared else p.norm() for p in params)
    return nn.functional.cross_entropy(model(X), y) + (0.5 if half else 1) * weight_decay * penalty


def test_the_penalized_objective_passes():
    check_weight_decay(objective)


def test_its_gradient_is_what_sgd_weight_decay_applies():
    torch.manual_seed(0)
    model, X, y = nn.Linear(3, 2), torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    objective(model, X, y, 0.3).backward()
    by_penalty = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    by_decay = [p.grad + 0.3 * p.detach() for p in model.parameters()]
    for a, b in zip(by_penalty, by_decay, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "flags, key",
    [
        ({"half": False}, "penalty_without_half"),
        ({"squared": False}, "penalty_not_squared"),
        ({"biases": False}, "penalty_weights_only"),
    ],
)
def test_penalty_mistakes_are_named(flags, key):
    fails_with(check_weight_decay, lambda *a: objective(*a, **flags), mistake=key)


def test_a_float_objective_is_refused_with_the_reason():
    fails_with(check_weight_decay, lambda *a: objective(*a).item(), "0-d tensor that autograd")


# --- confusion matrix ------------------------------------------------------------------------


def test_confusion_matrix_right_and_transposed():
    def loops(predicted, labels, num_classes):
        matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
        for p, t in zip(predicted.tolist(), labels.tolist(), strict=True):
            matrix[t, p] += 1
        return matrix

    check_confusion_matrix(loops)
    fails_with(
        check_confusion_matrix,
        lambda *a: confusion_counts(*a).T,
        "rows and columns swapped",
        mistake="confusion_transposed",
    )
