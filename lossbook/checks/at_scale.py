"""Checks for chapter 9, cross-entropy at scale: the online log-sum-exp and a chunked cross-entropy.

The learner's functions receive the logits (or the weight matrix) in **chunks along the class
dimension**, the way a vocabulary of 128k entries is processed without ever holding the whole
``(N, V)`` matrix. The checks compare with ``torch.logsumexp`` / ``F.cross_entropy`` on the full
matrix, on cases where the maximum sits in a later chunk, where logits reach ±1e4 (a version
without max-subtraction overflows) and where a chunk is entirely ``-inf`` for some rows (masked
entries). When the answer matches a known mistake (no rescaling of the running sum, the sum of
the chunks' log-sum-exps, ...) the message names it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lossbook.checks._guard import as_student, guarded
from lossbook.checks.cases import Case
from lossbook.checks.errors import GradingError
from lossbook.checks.mistakes import Mistake
from lossbook.checks.values import check_close
from lossbook.course.memory import saved_tensors


def split_columns(logits: torch.Tensor, chunk_size: int) -> list[torch.Tensor]:
    """The ``(N, V)`` logits as a list of ``(N, ≤ chunk_size)`` column blocks, in order.

    Example:
        >>> [tuple(c.shape) for c in split_columns(torch.zeros(2, 5), 2)]
        [(2, 2), (2, 2), (2, 1)]
    """
    return list(torch.split(logits, chunk_size, dim=1))


def _logsumexp_of_chunks(chunks: Sequence[torch.Tensor]) -> torch.Tensor:
    """The reference: ``torch.logsumexp`` of the chunks put back together."""
    return torch.logsumexp(torch.cat(list(chunks), dim=1), dim=1)


class _Chunks(list):
    """The chunks a check hands to the learner: a plain list, shown by its shapes."""

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(chunk.shape)) for chunk in self)
        return f"[{len(self)} chunks of shapes {shapes}]"


def _no_rescale(reference, args, kwargs):
    (chunks,) = args
    running_max = torch.full_like(chunks[0][:, 0], float("-inf"))
    total = torch.zeros_like(running_max)
    for chunk in chunks:
        running_max = torch.maximum(running_max, chunk.max(dim=1).values)
        shift = torch.where(running_max == float("-inf"), 0.0, running_max)
        total = total + torch.exp(chunk - shift[:, None]).sum(dim=1)  # old total not rescaled
    return running_max + torch.log(total)


def _sum_of_chunk_lse(reference, args, kwargs):
    (chunks,) = args
    return sum(torch.logsumexp(chunk, dim=1) for chunk in chunks)


def _max_of_chunk_lse(reference, args, kwargs):
    (chunks,) = args
    return torch.stack([torch.logsumexp(chunk, dim=1) for chunk in chunks]).max(dim=0).values


def _no_max_subtraction(reference, args, kwargs):
    (chunks,) = args
    return torch.log(sum(torch.exp(chunk).sum(dim=1) for chunk in chunks))


def _nan_on_masked_chunk(reference, args, kwargs):
    (chunks,) = args
    running_max = torch.full_like(chunks[0][:, 0], float("-inf"))
    total = torch.zeros_like(running_max)
    for chunk in chunks:
        new_max = torch.maximum(running_max, chunk.max(dim=1).values)
        # -inf - (-inf) is NaN: a row whose chunks so far are all -inf poisons its sum.
        total = total * torch.exp(running_max - new_max) + torch.exp(chunk - new_max[:, None]).sum(
            dim=1
        )
        running_max = new_max
    return running_max + torch.log(total)


MASKED_CHUNK_NAN = Mistake(
    "online_lse_masked_chunk_nan",
    "NaN after a chunk of -inf",
    "exp(z − m) with z = m = −inf for a row whose chunks so far are all masked: "
    "−inf − (−inf) is NaN, and the NaN stays in the running sum",
    "Where the running max is still −inf, use 0 for the shift: e.g. "
    "safe_max = torch.where(new_max == float('-inf'), 0.0, new_max) in exp(z − safe_max) and in "
    "the rescaling factor, or combine chunks with torch.logaddexp, which handles −inf.",
    variant=_nan_on_masked_chunk,
)
ONLINE_NO_RESCALE = Mistake(
    "online_lse_no_rescale",
    "the running sum is not rescaled",
    "Σ exp(z − m) with terms taken relative to different maxima: when a later chunk raises the "
    "running max m, the earlier terms stay relative to the old one",
    "When the max grows from m to m', multiply the running sum by exp(m − m') before adding the "
    "new chunk's terms.",
    variant=_no_rescale,
)
SUM_OF_CHUNK_LSE = Mistake(
    "sum_of_chunk_lse",
    "the sum of the chunks' log-sum-exps",
    "Σ_k lse_k: adding logs multiplies the sums instead of adding them",
    "Combine two log-sum-exps with log(e^a + e^b) = max(a, b) + log(e^(a − max) + e^(b − max)), "
    "i.e. torch.logaddexp, not a + b.",
    variant=_sum_of_chunk_lse,
)
MAX_OF_CHUNK_LSE = Mistake(
    "max_of_chunk_lse",
    "the max of the chunks' log-sum-exps",
    "max_k lse_k: only the largest chunk's mass, the others dropped",
    "Every chunk contributes: combine them with log(e^a + e^b), not max(a, b).",
    variant=_max_of_chunk_lse,
)
NO_MAX_SUBTRACTION = Mistake(
    "online_lse_no_max_subtraction",
    "no max-subtraction",
    "log Σ exp(z) directly: exp overflows to inf for logits above about 88 in float32 "
    "(about 709 in float64)",
    "Keep a running max m and sum exp(z − m): every exponent is then ≤ 0.",
    variant=_no_max_subtraction,
    stability=True,
)
ONLINE_LSE_MISTAKES = (
    MASKED_CHUNK_NAN,
    ONLINE_NO_RESCALE,
    SUM_OF_CHUNK_LSE,
    MAX_OF_CHUNK_LSE,
    NO_MAX_SUBTRACTION,
)


def _lse_cases(seed: int) -> list[Case]:
    generator = torch.Generator().manual_seed(seed)
    names = ("chunks",)

    def case(name: str, logits: torch.Tensor, chunk_size: int, *, extreme: bool = False) -> Case:
        return Case(
            name, (_Chunks(split_columns(logits, chunk_size)),), arg_names=names, extreme=extreme
        )

    rising = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    masked = torch.randn(3, 7, generator=generator, dtype=torch.float64)
    masked[0, :3] = float("-inf")  # a whole first chunk masked out for row 0
    large = torch.randn(4, 10, generator=generator, dtype=torch.float64) * 1e4
    return [
        case("the max in a later chunk: N=2, V=6, chunks of 2", rising.double(), 2),
        case(
            "random: N=5, V=11, chunks of 4 (the last one shorter)",
            torch.randn(5, 11, generator=generator, dtype=torch.float64) * 3,
            4,
        ),
        case("a first chunk of -inf for one row: N=3, V=7, chunks of 3", masked, 3),
        case(
            "one chunk only: N=4, V=5, chunks of 8",
            torch.randn(4, 5, generator=generator, dtype=torch.float64),
            8,
        ),
        case("logits of about ±1e4: N=4, V=10, chunks of 3", large, 3, extreme=True),
    ]


@guarded
def check_online_logsumexp(
    fn: Callable[..., Any],
    *,
    what: str = "online_logsumexp(chunks)",
    seed: int = 0,
) -> None:
    """``fn(chunks)`` equals ``torch.logsumexp`` of the concatenated chunks, row by row.

    Example:
        >>> def online_logsumexp(chunks):
        ...     lse = torch.full_like(chunks[0][:, 0], float("-inf"))
        ...     for chunk in chunks:
        ...         lse = torch.logaddexp(lse, torch.logsumexp(chunk, dim=1))
        ...     return lse
        >>> check_online_logsumexp(online_logsumexp)
    """
    __tracebackhide__ = True
    check_close(
        fn,
        _logsumexp_of_chunks,
        _lse_cases(9 + seed),
        mistakes=ONLINE_LSE_MISTAKES,
        what=what,
        rtol=1e-6,
        atol=1e-6,
    )


# ---------------------------------------------------------------------------
# A chunked cross-entropy, forward only


def _reference_cross_entropy(hidden, weight, target, chunk_size):
    return torch.nn.functional.cross_entropy(hidden @ weight.T, target)


def _picks_logit(reference, args, kwargs):
    hidden, weight, target, _ = args
    return -(hidden * weight[target]).sum(dim=1).mean()


def _sums(reference, args, kwargs):
    return reference(*args) * args[0].shape[0]


def _sign(reference, args, kwargs):
    return -reference(*args)


PICKS_LOGIT = Mistake(
    "picks_logit_unnormalised",
    "picking the logit without normalising",
    "−z_y: the target's logit alone, without subtracting log Σ_c exp z_c",
    "−log p_y = log Σ_c exp z_c − z_y: compute the log-sum-exp over every chunk, then subtract "
    "the target's logit.",
    variant=_picks_logit,
)
CHUNKED_SUM = Mistake(
    "chunked_ce_sum_instead_of_mean",
    "sum instead of mean",
    "Σ_i l_i instead of (1/N) Σ_i l_i",
    "Divide by N, the number of rows: F.cross_entropy's default reduction is the mean.",
    variant=_sums,
)
CHUNKED_SIGN = Mistake(
    "chunked_ce_missing_minus",
    "missing minus sign",
    "z_y − log Σ exp z = log p_y instead of −log p_y",
    "The loss is lse − z_y (a negative log-probability, ≥ 0).",
    variant=_sign,
)


def _cross_entropy_cases(seed: int) -> list[Case]:
    generator = torch.Generator().manual_seed(seed)
    names = ("hidden", "weight", "target", "chunk_size")

    def case(name: str, n: int, d: int, v: int, chunk_size: int, scale: float = 1.0) -> Case:
        hidden = torch.randn(n, d, generator=generator, dtype=torch.float64) * scale
        weight = torch.randn(v, d, generator=generator, dtype=torch.float64) * scale
        target = torch.randint(0, v, (n,), generator=generator)
        return Case(name, (hidden, weight, target, chunk_size), arg_names=names, extreme=scale > 10)

    return [
        case("N=3, D=2, V=5, chunks of 2", 3, 2, 5, 2),
        case("N=6, D=4, V=12, chunks of 5", 6, 4, 12, 5),
        case("N=8, D=3, V=9, one chunk of 16", 8, 3, 9, 16),
        case("large logits: N=4, D=3, V=10, chunks of 4", 4, 3, 10, 4, scale=60.0),
    ]


@guarded
def check_chunked_cross_entropy(
    fn: Callable[..., Any],
    *,
    what: str = "chunked_cross_entropy(hidden, weight, target, chunk_size)",
    seed: int = 0,
) -> None:
    """``fn(h, W, y, chunk_size)`` equals ``F.cross_entropy(h @ W.T, y)`` (mean over rows).

    Example:
        >>> def chunked(hidden, weight, target, chunk_size):
        ...     lse = hidden.new_full((hidden.shape[0],), float("-inf"))
        ...     for block in torch.split(weight, chunk_size):
        ...         lse = torch.logaddexp(lse, torch.logsumexp(hidden @ block.T, dim=1))
        ...     return (lse - (hidden * weight[target]).sum(dim=1)).mean()
        >>> check_chunked_cross_entropy(chunked)
    """
    __tracebackhide__ = True
    check_close(
        fn,
        _reference_cross_entropy,
        _cross_entropy_cases(90 + seed),
        mistakes=(PICKS_LOGIT, CHUNKED_SUM, CHUNKED_SIGN),
        what=what,
        rtol=1e-6,
        atol=1e-6,
    )


WHOLE_MATRIX = Mistake(
    "whole_logit_matrix",
    "the whole logit matrix made at once",
    "a tensor as large as all N × V logits, saved for the backward pass",
    "Make one chunk of logits at a time and merge it into the running log-sum-exp before making "
    "the next; never torch.cat the chunks or compute hidden @ weight.T in one go.",
)


def _no_whole_matrix(report, rows: int, classes: int, what: str, check: str, case: str) -> None:
    """Fail if autograd saved a tensor holding ``rows × classes`` numbers or more."""
    largest = max(report.tensors, key=lambda tensor: math.prod(tensor.shape), default=None)
    if largest is None or math.prod(largest.shape) < rows * classes:
        return
    raise GradingError(
        f"{what} gives the right values, but on {case} it made a tensor of shape "
        f"{largest.shape}: all {rows} × {classes} logits at once, which is what this exercise "
        f"avoids.\n\nThis matches a known mistake: {WHOLE_MATRIX.name}: {WHOLE_MATRIX.computes}."
        f"\nFix: {WHOLE_MATRIX.fix}",
        check=check,
        mistake=WHOLE_MATRIX,
        case=case,
        got=f"a saved tensor of shape {largest.shape}",
    )


def _chunk_inputs(seed: int):
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(48, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 48, (6,), generator=generator)
    return hidden, weight, target


@guarded
def check_one_chunk_at_a_time(
    fn: Callable[..., Any],
    *,
    what: str = "your function",
    exercise: str = "chunked_cross_entropy",
    seed: int = 0,
) -> None:
    """Autograd never saves a tensor with all ``N × V`` logits while ``fn`` runs on chunks.

    ``exercise`` is ``"online_logsumexp"`` (``fn(chunks)``) or ``"chunked_cross_entropy"``
    (``fn(hidden, weight, target, chunk_size)``).

    Example:
        >>> def chunked(hidden, weight, target, chunk_size):
        ...     lse = hidden.new_full((hidden.shape[0],), float("-inf"))
        ...     for block in torch.split(weight, chunk_size):
        ...         lse = torch.logaddexp(lse, torch.logsumexp(hidden @ block.T, dim=1))
        ...     return (lse - (hidden * weight[target]).sum(dim=1)).mean()
        >>> check_one_chunk_at_a_time(chunked)
        >>> check_one_chunk_at_a_time(
        ...     lambda h, w, y, c: torch.nn.functional.cross_entropy(h @ w.T, y)
        ... )  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        lossbook.checks.errors.GradingError: ...the whole logit matrix made at once...
    """
    __tracebackhide__ = True
    hidden, weight, target = _chunk_inputs(70 + seed)
    case = "N=6, D=4, V=48, chunks of 8, inputs that require gradients"
    if exercise == "online_logsumexp":
        logits = (hidden @ weight.T).detach()
        # Each chunk its own leaf tensor, as if made one at a time.
        chunks = _Chunks(c.clone().requires_grad_() for c in split_columns(logits, 8))
        report = saved_tensors(lambda: as_student(fn, chunks))
        check = "check_online_logsumexp"
    else:
        report = saved_tensors(lambda: as_student(fn, hidden, weight, target, 8))
        check = "check_chunked_cross_entropy"
    _no_whole_matrix(report, hidden.shape[0], weight.shape[0], what, check, case)
