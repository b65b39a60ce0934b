"""What a failed check raises: the learner's message, plus the facts a class report needs.

``str(error)`` is the message the learner reads (expected vs got on the smallest failing case,
the mistake it matches and the fix). The same facts travel as attributes, so that the
grader can count, over a whole class, which checks fail and which mistakes they match
without parsing the prose.
"""

from __future__ import annotations

from typing import Any

from lossbook.checks.mistakes import MISTAKES, Mistake


class GradingError(AssertionError):
    """A check failed; the message says what was expected, what came back, and how to fix it.

    An ``AssertionError``, which is how nbgrader scores a test cell.

    Attributes:
        message: the learner-facing message, ``str(error)``.
        check: the name of the check that failed, e.g. ``"check_close"``.
        exercise: the exercise (nbgrader ``grade_id``) when the caller knows it, else ``None``.
        mistake: the known :class:`~lossbook.checks.mistakes.Mistake` the answer matches
            (the most specific one when several do), or ``None`` when it is not recognised.
        case: the name of the smallest failing case, or ``None`` when the check has no cases.
        expected: the expected value on that case, in short form, or ``None`` when the check
            does not reveal it (a hand calculation) or has no single expected value.
        got: what the learner's code gave on that case, in short form (a value, or the error
            it raised), or ``None``.

    Example:
        >>> error = GradingError("the MSE: your answer 2.25 is not right.", check="check_value",
        ...                      got="2.25")
        >>> str(error), error.check, error.mistake, error.got
        ('the MSE: your answer 2.25 is not right.', 'check_value', None, '2.25')
    """

    def __init__(
        self,
        message: str,
        *,
        check: str,
        exercise: str | None = None,
        mistake: Mistake | None = None,
        case: str | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.check = check
        self.exercise = exercise
        self.mistake = mistake
        self.case = case
        self.expected = expected
        self.got = got

    def fields(self) -> dict[str, Any]:
        """The structured fields, with the mistake as its key: what a class report records.

        Example:
            >>> GradingError("wrong", check="check_close", case="tiny: N=2").fields()
            {'check': 'check_close', 'exercise': None, 'mistake': None, 'case': 'tiny: N=2', 'expected': None, 'got': None}
        """
        return {
            "check": self.check,
            "exercise": self.exercise,
            "mistake": None if self.mistake is None else self.mistake.key,
            "case": self.case,
            "expected": self.expected,
            "got": self.got,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields: the default reduce (type, args) would lose them on unpickling.
        # The mistake travels as its key (its variant may be a closure, which pickle refuses).
        return (_rebuild, (type(self), self.message, self.fields()))


def _rebuild(cls: type[GradingError], message: str, fields: dict[str, Any]) -> GradingError:
    key = fields["mistake"]
    return cls(message, **{**fields, "mistake": None if key is None else MISTAKES.get(key)})
