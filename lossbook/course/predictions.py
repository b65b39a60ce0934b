"""Predict, then reveal: print the learner's recorded guess next to what happened.

A chapter asks for a guess before a result ("by what number does `"mean"`
divide?") and the learner writes it into a variable, ``guess_mean_divisor = 6``.
The reveal cell computes the outcome and calls :func:`reveal`, which prints
both side by side and, for numbers, how far off the guess was. Nothing is
graded: a guess left as ``None`` is fine, the reveal just says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _plain(value: Any) -> Any:
    """Tensors and numpy scalars as Python numbers or lists, so they print and compare simply."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _text(value: Any) -> str:
    if isinstance(value, set | frozenset):
        return " or ".join(_text(v) for v in sorted(value, key=str))
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value) if isinstance(value, str) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verdict(guess: Any, outcome: Any, *, rel_tol: float = 0.1) -> str:
    """How a guess compares with the outcome, in words.

    Numbers within ``rel_tol`` (10 % by default) count as right; strings are
    compared without case or surrounding spaces; anything else must be equal.

    Example:
        >>> verdict(6, 6.0)
        'right'
        >>> verdict(2, 6.0)
        'off by a factor of 3'
        >>> verdict("Up", "up")
        'right'
        >>> verdict(None, 1.0)
        'no guess recorded'
        >>> verdict("L1", {"MSE", "l1"})  # a tie: either winner is right
        'right'
    """
    guess, outcome = _plain(guess), _plain(outcome)
    if guess is None or guess is Ellipsis:
        return "no guess recorded"
    if isinstance(outcome, set | frozenset):  # a tie: any of the winners is right
        verdicts = [verdict(guess, option, rel_tol=rel_tol) for option in sorted(outcome, key=str)]
        return "right" if "right" in verdicts else "not what happened"
    if _is_number(guess) and _is_number(outcome):
        if math.isclose(guess, outcome, rel_tol=rel_tol, abs_tol=1e-12):
            return "right"
        if guess != 0 and outcome != 0 and (guess > 0) == (outcome > 0):
            factor = max(guess / outcome, outcome / guess)
            return f"off by a factor of {factor:.3g}"
        return f"off by {_text(float(guess - outcome))}"
    if isinstance(guess, str) and isinstance(outcome, str):
        return "right" if guess.strip().lower() == outcome.strip().lower() else "not what happened"
    return "right" if guess == outcome else "not what happened"


def reveal(guess: Any, outcome: Any, *, what: str, rel_tol: float = 0.1) -> None:
    """Print the guess, the outcome and the verdict on one line.

    Args:
        guess: what the learner wrote before the reveal (``None`` if nothing).
        outcome: what the computation gave (a number, a string, a tensor, a sequence).
        what: the question, in a few words.
        rel_tol: how close a numerical guess must be to count as right.

    Example:
        >>> reveal(2, 6, what='the divisor of "mean" for a (2, 3) batch')
        the divisor of "mean" for a (2, 3) batch: your guess 2 | outcome 6 | off by a factor of 3
        >>> reveal(None, "down", what="the loss as ε grows")
        the loss as ε grows: your guess None | outcome 'down' | no guess recorded
    """
    result = verdict(guess, outcome, rel_tol=rel_tol)
    line = (
        f"{what}: your guess {_text(_plain(guess))} | outcome {_text(_plain(outcome))} | {result}"
    )
    print(line)


def reveal_all(guesses: Sequence[Any], outcomes: Sequence[Any], whats: Sequence[str]) -> None:
    """:func:`reveal` for several questions of one prediction, in order.

    Example:
        >>> reveal_all([1, None], [1, 2], ["first", "second"])
        first: your guess 1 | outcome 1 | right
        second: your guess None | outcome 2 | no guess recorded
    """
    for guess, outcome, what in zip(guesses, outcomes, whats, strict=True):
        reveal(guess, outcome, what=what)


__all__ = ["reveal", "reveal_all", "verdict"]
