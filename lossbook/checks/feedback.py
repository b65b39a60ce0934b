"""How a check's message words what went wrong: an error, a warning, a shape, a known mistake.

Shared by every kind of check (:mod:`lossbook.checks.values`, :mod:`lossbook.checks.training`),
so that a mistake, an exception or a shape reads the same in every message.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from lossbook.checks.mistakes import Mistake


def describe_error(error: BaseException) -> str:
    r"""``"Type: first line"`` of an exception, the line cut at 300 characters.

    Example:
        >>> describe_error(IndexError("Target 3 is out of bounds.\nmore"))
        'IndexError: Target 3 is out of bounds.'
    """
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def first_warning(caught: list[warnings.WarningMessage]) -> str | None:
    """``"Category: first line"`` of the first warning caught, or ``None``."""
    if not caught:
        return None
    text = str(caught[0].message).strip().splitlines()[0]
    return f"{caught[0].category.__name__}: {text[:300]}"


def explain_mistakes(mistakes: Sequence[Mistake], *, looks_like: bool = False) -> list[str]:
    """The lines that name the known mistakes an answer matches: what it computes, and the fix.

    ``looks_like`` words it as a likely cause (for an exception) rather than a match.

    Example:
        >>> from lossbook.checks.mistakes import MISTAKES
        >>> explain_mistakes([MISTAKES["missing_minus"]])[0]
        'This matches a known mistake: missing minus sign.'
    """
    if not mistakes:
        return []
    lead = "This looks like a known mistake" if looks_like else "This matches a known mistake"
    if len(mistakes) == 1:
        mistake = mistakes[0]
        return [
            f"{lead}: {mistake.name}.",
            f"  What your answer computes: {mistake.computes}",
            f"  Fix: {mistake.fix}",
        ]
    lines = [f"{lead}; it could be any of these:"]
    for mistake in mistakes:
        lines += [f"- {mistake.name}: {mistake.computes}", f"  Fix: {mistake.fix}"]
    return lines


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as Python writes a tuple, with a word for the shape of a single number.

    Example:
        >>> shape_text((4,)), shape_text((2, 3)), shape_text(())
        ('(4,)', '(2, 3)', '() (a single number)')
    """
    if not shape:
        return "() (a single number)"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
