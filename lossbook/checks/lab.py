"""Checks for chapter 8, the lab on real data: scaling, losses over mini-batches, one training
epoch, weight decay as a term of the objective, and the confusion matrix.

Each check builds its own small, seeded inputs (a tiny model, a ``DataLoader`` whose last batch
is smaller than the others), runs the learner's function on them and compares with what the
chapter defines, on the smallest failing case first. When the answer matches a known mistake
(the mean of the batch means, a forgotten ``zero_grad``, ``λ‖θ‖²`` without the ½, …) the
message names it and says how to fix it.

Conventions the checks accept, because both are right:

- the standard deviation in :func:`check_standardize` may use ``correction=0`` (NumPy,
  scikit-learn's ``StandardScaler``) or ``correction=1`` (``torch.std``'s default);
- :func:`check_epoch_loss` and :func:`check_train_epoch_loss` accept a Python float or a 0-d
  tensor that holds no autograd graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossbook.checks._guard import as_student, guarded
from lossbook.checks.cases import Case
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import Mistake
from lossbook.checks.values import check_close

# ---------------------------------------------------------------------------
# Scaling


def standardized(X: torch.Tensor, X_train: torch.Tensor, *, correction: int = 0) -> torch.Tensor:
    """``(X − μ) / σ`` with ``μ``, ``σ`` the column statistics of ``X_train``; ``σ = 0`` → 1.

    A column constant in ``X_train`` has ``σ = 0``: it carries no information to learn from,
    and dividing by 0 would give NaN (or ±inf on held-out rows where the column varies).
    Replacing ``σ`` by 1 (as scikit-learn's ``StandardScaler`` does) keeps it finite.

    Example:
        >>> X_train = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
        >>> standardized(X_train, X_train)
        tensor([[-1.,  0.],
                [ 1.,  0.]])
    """
    mean = X_train.mean(dim=0)
    std = X_train.std(dim=0, correction=correction)
    std = torch.where(std == 0, torch.ones_like(std), std)
    return (X - mean) / std


def _scaling_mistakes(correction: int) -> list[Mistake]:
    def own_statistics(reference, args, kwargs):
        X, _ = args
        return standardized(X, X, correction=correction)

    def by_variance(reference, args, kwargs):
        X, X_train = args
        variance = X_train.var(dim=0, correction=correction)
        return (X - X_train.mean(dim=0)) / torch.where(variance == 0, 1.0, variance)

    def not_centred(reference, args, kwargs):
        X, X_train = args
        std = X_train.std(dim=0, correction=correction)
        return X / torch.where(std == 0, 1.0, std)

    def zero_std(reference, args, kwargs):
        X, X_train = args
        return (X - X_train.mean(dim=0)) / X_train.std(dim=0, correction=correction)

    def epsilon(reference, args, kwargs):
        X, X_train = args
        return (X - X_train.mean(dim=0)) / (X_train.std(dim=0, correction=correction) + 1e-8)

    def zeroed(reference, args, kwargs):
        X, X_train = args
        std = X_train.std(dim=0, correction=correction)
        scaled = standardized(X, X_train, correction=correction)
        return torch.where(std == 0, torch.zeros_like(scaled), scaled)

    return [
        Mistake(
            "own_statistics",
            "each set scaled with its own statistics",
            "(X − mean(X)) / std(X) instead of using X_train's mean and std",
            "Compute the mean and std on X_train only, and use those two for every set: the "
            "held-out rows must go through exactly the transformation the model was trained on.",
            variant=own_statistics,
        ),
        Mistake(
            "divided_by_variance",
            "divided by the variance",
            "(X − mean) / var: the variance is the square of the standard deviation",
            "Divide by the standard deviation, X_train.std(dim=0), not by .var().",
            variant=by_variance,
        ),
        Mistake(
            "not_centred",
            "not centred",
            "X / std, without subtracting the mean",
            "Subtract X_train's column means before dividing.",
            variant=not_centred,
        ),
        Mistake(
            "zero_std_unguarded",
            "division by a zero standard deviation",
            "NaN (or ±inf) in the columns that are constant in X_train",
            "Replace a zero std by 1 before dividing, e.g. torch.where(std == 0, 1.0, std): a "
            "constant column then becomes all zeros.",
            variant=zero_std,
        ),
        Mistake(
            "epsilon_instead_of_one",
            "a small ε added to the standard deviation",
            "(X − mean) / (std + ε): fine on the training rows, but a held-out value that differs "
            "from a column's training constant c becomes (x − c)/ε, a huge number",
            "Divide a column whose training std is 0 by 1 instead (scikit-learn's convention), e.g. "
            "torch.where(std == 0, 1.0, std).",
            variant=epsilon,
        ),
        Mistake(
            "constant_column_zeroed",
            "constant columns set to 0",
            "0 in every column that is constant in X_train, on held-out rows too",
            "The convention here divides such a column by 1, so held-out values keep their offset "
            "x − c from the training constant c: torch.where(std == 0, 1.0, std).",
            variant=zeroed,
        ),
    ]


def _scaling_cases() -> list[Case]:
    generator = torch.Generator().manual_seed(8)
    names = ("X", "X_train")
    small_train = torch.tensor([[1.0, 10.0, 4.0], [3.0, 30.0, 4.0], [8.0, 20.0, 4.0]])
    small_other = torch.tensor([[2.0, 0.0, 5.0], [0.0, 40.0, 3.0]])
    wide_train = torch.randn(40, 6, generator=generator) * torch.tensor([1, 10, 100, 0.1, 5, 1.0])
    wide_train[:, 5] = 7.0  # a constant column, like the blank border pixels of the digits
    wide_other = torch.randn(15, 6, generator=generator) * 3
    return [
        Case(
            "the training set itself, one constant column: 3×3",
            (small_train, small_train),
            arg_names=names,
        ),
        Case(
            "held-out rows, constant column varies there: 2×3",
            (small_other, small_train),
            arg_names=names,
        ),
        Case("features on scales from 0.1 to 100: 40×6", (wide_train, wide_train), arg_names=names),
        Case("held-out rows of the same: 15×6", (wide_other, wide_train), arg_names=names),
    ]


SCALING_CASES = _scaling_cases()


@guarded
def check_standardize(
    fn: Callable[..., Any],
    cases: Sequence[Case] | None = None,
    *,
    what: str = "standardize(X, X_train)",
) -> None:
    """``fn(X, X_train)`` scales ``X`` with ``X_train``'s column statistics (either std convention).

    Example:
        >>> check_standardize(lambda X, X_train: standardized(X, X_train, correction=1))
        >>> check_standardize(lambda X, X_train: standardized(X, X))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: ...each set scaled with its own statistics...
    """
    __tracebackhide__ = True
    cases = list(cases or SCALING_CASES)
    first_failure = None
    for correction in (0, 1):
        try:
            check_close(
                fn,
                lambda X, X_train, c=correction: standardized(X, X_train, correction=c),
                cases,
                mistakes=_scaling_mistakes(correction),
                what=what,
                rtol=1e-4,
                atol=1e-5,
            )
            return
        except GradingError as failure:
            # Report the convention whose comparison recognises the mistake, if one does.
            if first_failure is None or (first_failure.mistake is None and failure.mistake):
                first_failure = failure
    note = (
        "\n\nEither standard deviation is accepted: correction=0 (NumPy, scikit-learn) or "
        "correction=1 (torch.std's default)."
    )
    raise GradingError(
        str(first_failure) + note,
        check="check_standardize",
        mistake=first_failure.mistake,
        case=first_failure.case,
        expected=first_failure.expected,
        got=first_failure.got,
    )


# ---------------------------------------------------------------------------
# Losses over mini-batches


class _Run:
    """One seeded small problem: data, a model factory, a loss and a batch size."""

    def __init__(self, name: str, n: int, batch_size: int, task: str, seed: int) -> None:
        self.name, self.n, self.batch_size, self.task, self.seed = name, n, batch_size, task, seed
        generator = torch.Generator().manual_seed(seed)
        self.X = torch.randn(n, 5, generator=generator)
        if task == "classification":
            self.y = torch.randint(0, 3, (n,), generator=generator)
            self.loss_fn = nn.CrossEntropyLoss()
            self.outputs = 3
        else:
            self.y = torch.randn(n, 1, generator=generator)
            self.loss_fn = nn.MSELoss()
            self.outputs = 1

    def model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return nn.Linear(5, self.outputs)

    def loader(self, *, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            TensorDataset(self.X, self.y),
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
        )

    @property
    def last_batch(self) -> int:
        return self.n - (math.ceil(self.n / self.batch_size) - 1) * self.batch_size

    def describe(self) -> str:
        batches = math.ceil(self.n / self.batch_size)
        shape = (
            "1 batch" if batches == 1 else f"{batches} batches, the last one of {self.last_batch}"
        )
        return (
            f"{self.name}: N={self.n} samples, batch_size={self.batch_size} → {shape}; "
            f"{type(self.loss_fn).__name__}()"
        )


def runs(seed: int = 0) -> tuple[_Run, ...]:
    """The small problems the epoch checks use; another ``seed`` draws other data and sizes."""
    extra = seed % 5
    return (
        _Run("one batch", 6 + extra, 8 + extra, "classification", seed + 1),
        _Run("a short last batch", 10 + extra, 4, "classification", seed + 2),
        _Run("regression, a last batch of 1", 13 + 4 * extra, 4, "regression", seed + 3),
        _Run("a longer epoch", 50 + 3 * extra, 16, "classification", seed + 4),
    )


def _as_number(value: Any, what: str, check: str, run: _Run) -> float:
    """The learner's returned loss as a float; a graph kept alive or a non-number is a failure."""
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            raise GradingError(
                f"{what} returned a tensor that still holds its autograd graph "
                f"(requires_grad=True), on {run.describe()}.\n\n"
                f"This matches a known mistake: the graph kept alive. Adding up the batch losses "
                f"as tensors keeps every batch's graph in memory until the total is freed. Fix: "
                f"accumulate loss.item() (a Python float), or compute under torch.no_grad().",
                check=check,
                mistake=GRAPH_KEPT_ALIVE,
                case=run.name,
                got="a tensor with requires_grad=True",
            )
        if value.numel() != 1:
            raise GradingError(
                f"{what} returned a tensor of shape {tuple(value.shape)} on {run.describe()}; "
                f"return one number, the loss over the whole data set.",
                check=check,
                case=run.name,
                got=f"tensor of shape {tuple(value.shape)}",
            )
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise GradingError(
        f"{what} returned {type(value).__name__} on {run.describe()}; return a number (a float, "
        f"e.g. from loss.item()).",
        check=check,
        case=run.name,
        got=type(value).__name__,
    )


DIVIDED_BY_BATCHES = Mistake(
    "divided_by_batches",
    "divided by the number of batches",
    "Σ_b mean_b · n_b / number of batches: the size-weighted total over the wrong count",
    "Divide the size-weighted total by the number of samples, not by len(loader) (the number of "
    "batches).",
)
GRAPH_KEPT_ALIVE = Mistake(
    "graph_kept_alive",
    "the graph kept alive",
    "a running total of loss tensors, which holds every batch's autograd graph",
    "Accumulate loss.item(), or compute the losses under torch.no_grad().",
)
MEAN_OF_BATCH_MEANS = Mistake(
    "mean_of_batch_means",
    "the mean of the batch means",
    "Σ_b mean_b / number of batches: the short last batch weighs as much as a full one",
    "Weight each batch's mean by its size: total += loss.item() * len(yb), then divide by the "
    "number of samples seen, Σ len(yb) (len(loader.dataset) unless drop_last=True or a sampler "
    "skips some).",
)
SUM_OF_BATCH_MEANS = Mistake(
    "sum_of_batch_means",
    "the sum of the batch means",
    "Σ_b mean_b, never divided",
    "Weight each batch's mean by its size and divide the total by the number of samples seen.",
)


def _batch_losses(model: nn.Module, loader: DataLoader, loss_fn: nn.Module) -> list[tuple]:
    with torch.no_grad():
        return [(loss_fn(model(xb), yb).item(), len(yb)) for xb, yb in loader]


def _loss_verdict(
    got: float, batches: list[tuple], what: str, check: str, run: _Run, during: str
) -> None:
    """Compare the learner's epoch loss with the size-weighted mean of ``batches``."""
    expected = sum(loss * size for loss, size in batches) / run.n
    if math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-7):
        return
    variants = [
        (MEAN_OF_BATCH_MEANS, sum(loss for loss, _ in batches) / len(batches)),
        (SUM_OF_BATCH_MEANS, sum(loss for loss, _ in batches)),
        (DIVIDED_BY_BATCHES, sum(loss * size for loss, size in batches) / len(batches)),
    ]
    mistake = next(
        (m for m, value in variants if math.isclose(got, value, rel_tol=1e-5, abs_tol=1e-7)),
        None,
    )
    lines = [
        f"{what} is not right on {run.describe()}.",
        f"  expected (the mean loss over all {run.n} samples{during}): {expected:.6g}",
        f"  got: {got:.6g}",
    ]
    if mistake is not None:
        lines += [
            "",
            f"This matches a known mistake: {mistake.name}: {mistake.computes}.",
            f"Fix: {mistake.fix}",
        ]
    else:
        lines += ["", "Hint: weight each batch's mean loss by the number of samples in it."]
    raise GradingError(
        "\n".join(lines),
        check=check,
        mistake=mistake,
        case=run.name,
        expected=f"{expected:.6g}",
        got=f"{got:.6g}",
    )


@guarded
def check_epoch_loss(
    fn: Callable[..., Any], *, what: str = "epoch_loss(model, loader, loss_fn)", seed: int = 0
):
    """``fn(model, loader, loss_fn)`` returns the mean loss over every sample of the loader.

    The loaders' last batch is shorter than the others, so the mean of the batch means is
    told apart from the true mean. The model must come back unchanged.

    Example:
        >>> def epoch_loss(model, loader, loss_fn):
        ...     with torch.no_grad():
        ...         total = sum(loss_fn(model(xb), yb).item() * len(yb) for xb, yb in loader)
        ...     return total / len(loader.dataset)
        >>> check_epoch_loss(epoch_loss)
    """
    __tracebackhide__ = True
    for run in runs(seed):
        model = run.model()
        before = [p.detach().clone() for p in model.parameters()]
        value = as_student(fn, model, run.loader(shuffle=False), run.loss_fn)
        got = _as_number(value, what, "check_epoch_loss", run)
        if any(not torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True)):
            raise GradingError(
                f"{what} changed the model's parameters on {run.describe()}: measuring the "
                f"loss must not train. Compute it under torch.no_grad(), with no optimizer step.",
                check="check_epoch_loss",
                case=run.name,
            )
        _loss_verdict(
            got,
            _batch_losses(model, run.loader(shuffle=False), run.loss_fn),
            what,
            "check_epoch_loss",
            run,
            "",
        )


# ---------------------------------------------------------------------------
# One training epoch


def _reference_epoch(model, loader, loss_fn, optimizer, *, zero_grad=True, step=True):
    """The chapter's training epoch; the flags give the two classic broken versions."""
    batches = []
    for xb, yb in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        if step:
            optimizer.step()
        batches.append((loss.item(), len(yb)))
    return batches


NO_ZERO_GRAD = Mistake(
    "no_zero_grad",
    "gradients accumulate across batches",
    "each step uses the sum of the gradients of every batch so far: backward() adds to .grad",
    "Call optimizer.zero_grad() once per batch, before loss.backward().",
)
NO_STEP = Mistake(
    "no_optimizer_step",
    "no optimizer step",
    "gradients computed but never applied: the parameters never move",
    "Call optimizer.step() after loss.backward(), once per batch.",
)
ONE_STEP_PER_EPOCH = Mistake(
    "one_step_per_epoch",
    "one step per epoch",
    "the batches' gradients summed and applied once, at the end of the epoch",
    "Put zero_grad(), backward() and step() inside the loop over the batches: one update per "
    "mini-batch.",
)


def _one_step_per_epoch(model, loader, loss_fn, optimizer):
    optimizer.zero_grad()
    for xb, yb in loader:
        loss_fn(model(xb), yb).backward()
    optimizer.step()


def _params_after(run: _Run, epoch: Callable[..., Any], lr: float) -> tuple[list, Any]:
    model = run.model()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    result = epoch(model, run.loader(shuffle=True), run.loss_fn, optimizer)
    return [p.detach().clone() for p in model.parameters()], result


def _same(params: list, others: list) -> bool:
    return all(
        torch.allclose(p, q, rtol=1e-4, atol=1e-6) for p, q in zip(params, others, strict=True)
    )


@guarded
def check_train_epoch_updates(
    fn: Callable[..., Any],
    *,
    what: str = "train_epoch(model, loader, loss_fn, optimizer)",
    lr: float = 0.1,
    seed: int = 0,
) -> None:
    """One call of ``fn`` makes one SGD step per mini-batch, as the chapter's loop does.

    The check runs the learner's epoch and the reference epoch from the same initial weights
    on the same shuffled batches, and compares the parameters afterwards.

    Example:
        >>> def train_epoch(model, loader, loss_fn, optimizer):
        ...     total = 0.0
        ...     for xb, yb in loader:
        ...         optimizer.zero_grad()
        ...         loss = loss_fn(model(xb), yb)
        ...         loss.backward()
        ...         optimizer.step()
        ...         total += loss.item() * len(yb)
        ...     return total / len(loader.dataset)
        >>> check_train_epoch_updates(train_epoch)
    """
    __tracebackhide__ = True
    for run in runs(seed):
        got, _ = _params_after(run, lambda *a: as_student(fn, *a), lr)
        expected, _ = _params_after(run, _reference_epoch, lr)
        if _same(got, expected):
            continue
        variants = [
            (
                NO_ZERO_GRAD,
                _params_after(run, lambda *a: _reference_epoch(*a, zero_grad=False), lr),
            ),
            (NO_STEP, _params_after(run, lambda *a: _reference_epoch(*a, step=False), lr)),
            (ONE_STEP_PER_EPOCH, _params_after(run, _one_step_per_epoch, lr)),
        ]
        mistake = next((m for m, (params, _) in variants if _same(got, params)), None)
        largest = max((p - q).abs().max().item() for p, q in zip(got, expected, strict=True))
        lines = [
            f"{what}: after one epoch the parameters are not those of one SGD step per "
            f"mini-batch, on {run.describe()} (lr={lr}).",
            f"  largest difference from the expected weights: {largest:.3g}",
        ]
        if mistake is not None:
            lines += [
                "",
                f"This matches a known mistake: {mistake.name}: {mistake.computes}.",
                f"Fix: {mistake.fix}",
            ]
        else:
            lines += ["", "Hint: per batch, zero_grad(), forward, loss, backward(), step()."]
        raise GradingError(
            "\n".join(lines),
            check="check_train_epoch_updates",
            mistake=mistake,
            case=run.name,
            expected="the weights after one SGD step per mini-batch",
            got=f"weights off by up to {largest:.3g}",
        )


@guarded
def check_train_epoch_loss(
    fn: Callable[..., Any],
    *,
    what: str = "train_epoch(model, loader, loss_fn, optimizer)",
    lr: float = 0.1,
    seed: int = 0,
) -> None:
    """``fn`` returns the epoch's training loss: the size-weighted mean of its batch losses.

    Each batch's loss is the one computed during the epoch, before that batch's step.

    Example:
        >>> def train_epoch(model, loader, loss_fn, optimizer):
        ...     total = 0.0
        ...     for xb, yb in loader:
        ...         optimizer.zero_grad()
        ...         loss = loss_fn(model(xb), yb)
        ...         loss.backward()
        ...         optimizer.step()
        ...         total += loss.item() * len(yb)
        ...     return total / len(loader.dataset)
        >>> check_train_epoch_loss(train_epoch)
    """
    __tracebackhide__ = True
    for run in runs(seed):
        _, value = _params_after(run, lambda *a: as_student(fn, *a), lr)
        got = _as_number(value, what, "check_train_epoch_loss", run)
        _, batches = _params_after(run, _reference_epoch, lr)
        _loss_verdict(
            got,
            batches,
            what,
            "check_train_epoch_loss",
            run,
            ", each batch's loss taken before its step",
        )


# ---------------------------------------------------------------------------
# Weight decay


def penalized_objective(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, weight_decay: float
) -> torch.Tensor:
    """Cross-entropy plus ``(λ/2) Σ_p ‖p‖²`` over every parameter ``p`` of ``model``.

    Its gradient is ``∇CE + λ p``: exactly the update ``torch.optim.SGD(model.parameters(),
    weight_decay=λ)`` makes from the plain cross-entropy's gradient.

    Example:
        >>> model = nn.Linear(2, 2)
        >>> X, y = torch.zeros(3, 2), torch.tensor([0, 1, 1])
        >>> penalized_objective(model, X, y, 0.0).item() == nn.CrossEntropyLoss()(model(X), y).item()
        True
    """
    penalty = sum((p**2).sum() for p in model.parameters())
    return nn.functional.cross_entropy(model(X), y) + weight_decay / 2 * penalty


def _penalty_variant(kind: str):
    def variant(model, X, y, weight_decay):
        ce = nn.functional.cross_entropy(model(X), y)
        params = list(model.parameters())
        if kind == "no_half":
            return ce + weight_decay * sum((p**2).sum() for p in params)
        if kind == "not_squared":
            return ce + weight_decay / 2 * sum(p.norm() for p in params)
        if kind == "weights_only":
            return ce + weight_decay / 2 * sum((p**2).sum() for p in params if p.dim() > 1)
        return ce + weight_decay / 2 * sum((p**2).mean() for p in params)  # "mean"

    return variant


PENALTY_NO_HALF = Mistake(
    "penalty_without_half",
    "λ‖θ‖² without the ½",
    "a penalty whose gradient is 2λθ: twice what SGD's weight_decay=λ applies",
    "Write (weight_decay / 2) * Σ‖p‖²: the ½ makes the gradient of the penalty exactly λp.",
)
PENALTY_NOT_SQUARED = Mistake(
    "penalty_not_squared",
    "the norm, not its square",
    "(λ/2) Σ‖p‖: its gradient λp/(2‖p‖) does not grow with the weights",
    "Square each parameter's entries and sum them: (p ** 2).sum().",
)
PENALTY_WEIGHTS_ONLY = Mistake(
    "penalty_weights_only",
    "biases left out of the penalty",
    "the penalty on the weight matrices only",
    "SGD(model.parameters(), weight_decay=λ) decays every parameter it is given, biases "
    "included; this exercise matches it, so sum over model.parameters().",
)
PENALTY_MEAN = Mistake(
    "penalty_mean",
    "the mean of the squares, not their sum",
    "(λ/2) Σ_p mean(p²): each parameter tensor's penalty divided by its size",
    "Sum the squares: (p ** 2).sum() for each parameter.",
)
_PENALTY_MISTAKES = {
    "no_half": PENALTY_NO_HALF,
    "not_squared": PENALTY_NOT_SQUARED,
    "weights_only": PENALTY_WEIGHTS_ONLY,
    "mean": PENALTY_MEAN,
}


def _objective_cases(seed: int) -> list[tuple[str, int, int, float]]:
    # (name, N, C, weight decay)
    if seed:
        return [("N=7, C=4, λ=0.3", 7, 4, 0.3), ("N=33, C=10, λ=0.002", 33, 10, 0.002)]
    return [("N=4, C=3, λ=0.1", 4, 3, 0.1), ("N=20, C=5, λ=0.01", 20, 5, 0.01)]


def _objective_and_grads(objective, seed: int, n: int, classes: int, weight_decay: float):
    torch.manual_seed(seed)
    model = nn.Linear(6, classes)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)  # weights large enough that the penalty matters
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=generator)
    y = torch.randint(0, classes, (n,), generator=generator)
    value = objective(model, X, y, weight_decay)
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or not value.requires_grad:
        return value, None
    grads = torch.autograd.grad(value, list(model.parameters()), allow_unused=True)
    return value, grads


@guarded
def check_weight_decay(
    fn: Callable[..., Any],
    *,
    what: str = "objective(model, X, y, weight_decay)",
    seed: int = 0,
) -> None:
    """``fn`` is cross-entropy + ``(λ/2) Σ‖p‖²``: its value and its gradient ``∇CE + λp``.

    Example:
        >>> check_weight_decay(penalized_objective)
    """
    __tracebackhide__ = True
    for index, (name, n, classes, weight_decay) in enumerate(_objective_cases(seed)):
        case_seed = 80 + seed + index
        value, grads = _objective_and_grads(
            lambda *a: as_student(fn, *a), case_seed, n, classes, weight_decay
        )
        if grads is None:
            raise GradingError(
                f"{what} must return a 0-d tensor that autograd can differentiate (the loss, "
                f"not loss.item()); on {name} it returned {type(value).__name__}"
                + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else "")
                + ".",
                check="check_weight_decay",
                case=name,
                got=type(value).__name__,
            )
        expected_value, expected_grads = _objective_and_grads(
            penalized_objective, case_seed, n, classes, weight_decay
        )
        value_ok = torch.allclose(value.detach(), expected_value.detach(), rtol=1e-5, atol=1e-6)
        grads_ok = all(
            g is not None and torch.allclose(g, e, rtol=1e-4, atol=1e-6)
            for g, e in zip(grads, expected_grads, strict=True)
        )
        if value_ok and grads_ok:
            continue
        mistake = None
        for kind, candidate in _PENALTY_MISTAKES.items():
            variant_value, _ = _objective_and_grads(
                _penalty_variant(kind), case_seed, n, classes, weight_decay
            )
            if torch.allclose(value.detach(), variant_value.detach(), rtol=1e-5, atol=1e-6):
                mistake = candidate
                break
        lines = [
            f"{what} is not right on {name} (a Linear(6, C) model, every parameter counted).",
            f"  expected value: {expected_value.item():.6g}   got: {value.item():.6g}",
        ]
        if value_ok and not grads_ok:
            lines.append(
                "  the value is right but its gradient is not ∇CE + λ·p: is part of the "
                "penalty computed outside autograd (detach(), .item(), no_grad)?"
            )
        if mistake is not None:
            lines += [
                "",
                f"This matches a known mistake: {mistake.name}: {mistake.computes}.",
                f"Fix: {mistake.fix}",
            ]
        raise GradingError(
            "\n".join(lines),
            check="check_weight_decay",
            mistake=mistake,
            case=name,
            expected=f"{expected_value.item():.6g}",
            got=f"{value.item():.6g}",
        )


# ---------------------------------------------------------------------------
# The confusion matrix


def confusion_counts(
    predicted: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """``(C, C)`` counts: entry ``[i, j]`` = samples of true class ``i`` predicted as ``j``.

    Example:
        >>> confusion_counts(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2)
        tensor([[1, 1],
                [0, 1]])
    """
    flat = labels * num_classes + predicted
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


TRANSPOSED = Mistake(
    "confusion_transposed",
    "rows and columns swapped",
    "entry [i, j] counts samples *predicted* i whose true class is j",
    "Rows are the true classes, columns the predictions: index the matrix as [label, predicted].",
    variant=lambda reference, args, kwargs: reference(*args, **kwargs).T,
)


def _confusion_cases() -> list[Case]:
    generator = torch.Generator().manual_seed(88)
    names = ("predicted", "labels", "num_classes")
    cases = [
        Case(
            "two classes: N=3",
            (torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2),
            arg_names=names,
        ),
        Case(
            "a class never predicted: N=5",
            (torch.tensor([0, 0, 2, 2, 0]), torch.tensor([0, 1, 2, 1, 0]), 3),
            arg_names=names,
        ),
        Case(
            "a class absent from both: N=4",
            (torch.tensor([0, 3, 3, 0]), torch.tensor([3, 3, 0, 0]), 5),
            arg_names=names,
        ),
    ]
    labels = torch.randint(0, 10, (60,), generator=generator)
    predicted = torch.where(
        torch.rand(60, generator=generator) < 0.7,
        labels,
        torch.randint(0, 10, (60,), generator=generator),
    )
    cases.append(Case("ten classes: N=60", (predicted, labels, 10), arg_names=names))
    return cases


CONFUSION_CASES = _confusion_cases()


@guarded
def check_confusion_matrix(
    fn: Callable[..., Any],
    cases: Sequence[Case] | None = None,
    *,
    what: str = "confusion_matrix(predicted, labels, num_classes)",
) -> None:
    """``fn(predicted, labels, C)`` counts ``[true, predicted]`` pairs in a ``(C, C)`` matrix.

    Example:
        >>> check_confusion_matrix(confusion_counts)
    """
    __tracebackhide__ = True
    check_close(
        fn,
        confusion_counts,
        list(cases or CONFUSION_CASES),
        mistakes=[TRANSPOSED],
        what=what,
        rtol=0,
        atol=0,
    )
