"""Checks for the course's nbgrader test cells: one line per check, feedback that names the mistake.

A test cell stays one line::

    check_close(mse, "mse_loss", REGRESSION_CASES)

When the answer is wrong the check raises :class:`GradingError` (an
``AssertionError``, which is how nbgrader scores a test cell) with a message
written for the learner: the smallest failing case, expected vs got, and, when
the wrong answer matches a known misconception (sum instead of mean, softmax
applied twice, ...), its name, what the wrong answer computes, and the fix.
Messages are self-contained: they never quote the test cell's source.

Import this module in the notebook's first, read-only cell. Every reference
loss and comparison primitive is captured when it is imported, so a learner's
cell that later patches ``torch.nn.functional.mse_loss``, ``torch.allclose``,
``lossbook.functional`` or a builtin cannot change a verdict.

- :mod:`lossbook.checks.checks`: ``check_close`` (a function against a
  reference), ``check_fixed`` / ``release_values`` (against values fixed at
  release), ``check_value`` (a number computed by hand), ``check_grad``
  (autograd gradients), ``check_no_torch_loss`` (no ready-made loss used),
  ``check_finite`` (stable at logits of ±1e4), ``check_trains`` (a seeded
  training run reaches an accuracy).
- :mod:`lossbook.checks.cases`: seeded inputs, smallest first
  (``REGRESSION_CASES``, ``BINARY_CASES``, ``MULTICLASS_CASES``, ...).
- :mod:`lossbook.checks.mistakes`: the catalogue of misconceptions and the
  references they belong to.
"""

from lossbook.checks import _guard
from lossbook.checks.cases import (
    BINARY_CASES,
    BINARY_LOGIT_CASES,
    LOG_PROB_CASES,
    LOGIT_CASES,
    MULTICLASS_CASES,
    PROBABILITY_CASES,
    REGRESSION_CASES,
    Case,
    binary_cases,
    binary_data,
    classification_data,
    inputs_only,
    multiclass_cases,
    regression_cases,
)
from lossbook.checks.checks import (
    GradingError,
    check_close,
    check_finite,
    check_fixed,
    check_grad,
    check_no_torch_loss,
    check_trains,
    check_value,
    release_values,
)
from lossbook.checks.choices import check_loss_choice
from lossbook.checks.mistakes import MISTAKES, REFERENCES, Mistake, mistakes_for

_TRAINING_CHECKS = frozenset(
    {
        "check_balanced_accuracy",
        "check_class_weights",
        "check_classification_loss",
        "check_diagnosis",
    }
)


def __getattr__(name: str):
    """The checks that train a model live in lossbook.course.training, which imports this package:
    loaded on first use (PEP 562), so both import orders work and the grader seals them."""
    if name in _TRAINING_CHECKS:
        import lossbook.course.training

        return getattr(lossbook.course.training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Last: every module above, and lossbook's losses, are now imported, so the
# snapshot holds the originals a learner's cell might later patch.
_guard.take_snapshot()

__all__ = [
    "BINARY_CASES",
    "BINARY_LOGIT_CASES",
    "LOGIT_CASES",
    "LOG_PROB_CASES",
    "MISTAKES",
    "MULTICLASS_CASES",
    "PROBABILITY_CASES",
    "REFERENCES",
    "REGRESSION_CASES",
    "Case",
    "GradingError",
    "Mistake",
    "binary_cases",
    "binary_data",
    "check_balanced_accuracy",
    "check_class_weights",
    "check_classification_loss",
    "check_close",
    "check_diagnosis",
    "check_finite",
    "check_loss_choice",
    "check_fixed",
    "check_grad",
    "check_no_torch_loss",
    "check_trains",
    "check_value",
    "classification_data",
    "inputs_only",
    "mistakes_for",
    "multiclass_cases",
    "regression_cases",
    "release_values",
]
