"""Crafted wrong submissions for chapter 08 (the lab on real data): one misconception each.

Every submission fills every answer cell; only the cell named in its student id holds the
mistake, so exactly the checks of that behaviour lose their points.
"""

from tests.course import Crafted

STANDARDIZE = """\
def standardize(X, X_train):
    mean = {source}.mean(dim=0)
    std = {source}.std(dim=0, correction=0)
    {guard}
    return (X - mean) / std
"""
GUARD = "std = torch.where(std == 0, torch.ones_like(std), std)"

EPOCH_LOSS = """\
def epoch_loss(model, loader, loss_fn):
    total = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * len(yb)
    return total / len(loader.dataset)
"""
EPOCH_LOSS_MEAN_OF_MEANS = """\
def epoch_loss(model, loader, loss_fn):
    with torch.no_grad():
        losses = [loss_fn(model(xb), yb).item() for xb, yb in loader]
    return sum(losses) / len(losses)
"""
EPOCH_LOSS_GRAPH = """\
def epoch_loss(model, loader, loss_fn):
    total = 0.0
    for xb, yb in loader:
        total = total + loss_fn(model(xb), yb) * len(yb)
    return total / len(loader.dataset)
"""

TRAIN_EPOCH = """\
def train_epoch(model, loader, loss_fn, optimizer):
    total, losses = 0.0, []
    for xb, yb in loader:
        {zero_grad}
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
        losses.append(loss.item())
    return {returned}
"""
ZERO_GRAD = "optimizer.zero_grad()"
WEIGHTED = "total / len(loader.dataset)"

OBJECTIVE = """\
def objective(model, X, y, weight_decay):
    penalty = sum((p**2).sum() for p in {params})
    return F.cross_entropy(model(X), y) + {factor} * penalty
"""

CONFUSION = """\
def confusion_matrix(predicted, labels, num_classes):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for true, guess in zip(labels.tolist(), predicted.tolist()):
        matrix[{index}] += 1
    return matrix
"""

RIGHT = {
    "standardize_answer": STANDARDIZE.format(source="X_train", guard=GUARD),
    "epoch_loss_answer": EPOCH_LOSS,
    "train_epoch_answer": TRAIN_EPOCH.format(zero_grad=ZERO_GRAD, returned=WEIGHTED),
    "objective_answer": OBJECTIVE.format(params="model.parameters()", factor="weight_decay / 2"),
    "confusion_answer": CONFUSION.format(index="true, guess"),
}


def submission(**wrong: str) -> dict[str, str]:
    """The right answers, with the given answer cells replaced."""
    return {**RIGHT, **wrong}


CRAFTED = [
    Crafted(
        student="standardize_own_statistics",
        answers=submission(standardize_answer=STANDARDIZE.format(source="X", guard=GUARD)),
        failing={"standardize_values", "standardize_digits"},
        feedback=["each set scaled with its own statistics", "use those two for every set"],
    ),
    Crafted(
        student="standardize_zero_std",
        answers=submission(standardize_answer=STANDARDIZE.format(source="X_train", guard="")),
        failing={"standardize_values", "standardize_digits"},
        feedback=["division by a zero standard deviation", "Replace a zero std by 1"],
    ),
    Crafted(
        student="epoch_loss_mean_of_batch_means",
        answers=submission(epoch_loss_answer=EPOCH_LOSS_MEAN_OF_MEANS),
        failing={"epoch_loss_values"},
        feedback=["the mean of the batch means", "len(loader.dataset)"],
    ),
    Crafted(
        student="epoch_loss_graph_kept_alive",
        answers=submission(epoch_loss_answer=EPOCH_LOSS_GRAPH),
        failing={"epoch_loss_values"},
        feedback=["the graph kept alive", "loss.item()"],
    ),
    Crafted(
        student="train_epoch_no_zero_grad",
        answers=submission(
            train_epoch_answer=TRAIN_EPOCH.format(zero_grad="pass", returned=WEIGHTED)
        ),
        failing={"train_epoch_updates", "train_epoch_loss"},
        feedback=["gradients accumulate across batches", "optimizer.zero_grad()"],
    ),
    Crafted(
        student="train_epoch_mean_of_batch_means",
        answers=submission(
            train_epoch_answer=TRAIN_EPOCH.format(
                zero_grad=ZERO_GRAD, returned="sum(losses) / len(losses)"
            )
        ),
        failing={"train_epoch_loss"},
        feedback=["the mean of the batch means"],
    ),
    Crafted(
        student="objective_without_half",
        answers=submission(
            objective_answer=OBJECTIVE.format(params="model.parameters()", factor="weight_decay")
        ),
        failing={"objective_values"},
        feedback=["without the ½", "the gradient of the penalty exactly λp"],
    ),
    Crafted(
        student="objective_weights_only",
        answers=submission(
            objective_answer=OBJECTIVE.format(
                params="[p for p in model.parameters() if p.dim() > 1]", factor="weight_decay / 2"
            )
        ),
        failing={"objective_values"},
        feedback=["biases left out of the penalty"],
    ),
    Crafted(
        student="confusion_transposed",
        answers=submission(confusion_answer=CONFUSION.format(index="guess, true")),
        failing={"confusion_values"},
        feedback=["rows and columns swapped"],
    ),
]
