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

- :mod:`lossbook.checks.values`: values and gradients: ``check_close`` (a
  function against a reference), ``check_fixed`` / ``release_values``
  (against values fixed at release), ``check_value`` (a number computed by
  hand), ``check_grad`` (autograd gradients), ``check_no_torch_loss`` (no
  ready-made loss used), ``check_finite`` (stable at logits of ±1e4).
- :mod:`lossbook.checks.training`: training: ``check_trains`` (a seeded run of
  the course's training loop reaches an accuracy), ``check_diagnosis``,
  ``check_classification_loss``, ``check_class_weights``,
  ``check_balanced_accuracy``.
- :mod:`lossbook.checks.choices`: ``check_loss_choice`` (a loss for a task);
  :mod:`lossbook.checks.derivations` (a derivation against autograd and finite
  differences); :mod:`lossbook.checks.diagnosis_quiz` (naming the bug of a mystery run);
  :mod:`lossbook.checks.lab` (chapter 8: scaling, mini-batch epochs, weight decay) and
  :mod:`lossbook.checks.at_scale` (chapter 9: chunked cross-entropy, online logsumexp).
- :mod:`lossbook.checks.cases`: seeded inputs, smallest first
  (``REGRESSION_CASES``, ``BINARY_CASES``, ``MULTICLASS_CASES``, ...); the
  data sets come from :mod:`lossbook.course.data`.
- :mod:`lossbook.checks.mistakes`: the one catalogue of misconceptions and the
  references they belong to.
- :mod:`lossbook.checks.errors`: :class:`GradingError`, the message and its
  structured fields (check, mistake, case, expected, got);
  :mod:`lossbook.checks.feedback`: how every message words an error, a shape or a mistake.
"""

from lossbook.checks import _guard
from lossbook.checks.at_scale import (
    check_chunked_cross_entropy,
    check_one_chunk_at_a_time,
    check_online_logsumexp,
    split_columns,
)
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
    inputs_only,
    multiclass_cases,
    regression_cases,
)
from lossbook.checks.choices import check_loss_choice
from lossbook.checks.derivations import (
    central_difference,
    check_derivative,
    check_finite_difference,
    derivation_cases,
)
from lossbook.checks.diagnosis_quiz import (
    DIAGNOSIS_CHOICES,
    check_mystery_diagnosis,
    describe_choices,
    mystery_run,
)
from lossbook.checks.errors import GradingError
from lossbook.checks.lab import (
    check_confusion_matrix,
    check_epoch_loss,
    check_standardize,
    check_train_epoch_loss,
    check_train_epoch_updates,
    check_weight_decay,
)
from lossbook.checks.mistakes import (
    ABSENT_CLASS_COUNTED,
    BCE_FOR_MULTICLASS,
    IGNORING_CLASS_IMBALANCE,
    MISTAKES,
    MSE_ON_CLASS_INDICES,
    PLAIN_ACCURACY,
    PRECISION_INSTEAD_OF_RECALL,
    REFERENCES,
    WEIGHTS_BY_FREQUENCY,
    Mistake,
    mistakes_for,
)
from lossbook.checks.training import (
    check_balanced_accuracy,
    check_class_weights,
    check_classification_loss,
    check_diagnosis,
    check_trains,
)
from lossbook.checks.values import (
    check_close,
    check_finite,
    check_fixed,
    check_grad,
    check_no_torch_loss,
    check_value,
    release_values,
)
from lossbook.course.data import binary_data, classification_data, gaussian_blobs

# Last: every module above, and everything they import (lossbook's losses and course
# tools, torch), is now loaded, so the snapshot holds the originals a learner's cell
# might later patch.
_guard.take_snapshot()

__all__ = [
    "check_chunked_cross_entropy",
    "check_one_chunk_at_a_time",
    "check_online_logsumexp",
    "split_columns",
    "check_confusion_matrix",
    "check_epoch_loss",
    "check_standardize",
    "check_train_epoch_loss",
    "check_train_epoch_updates",
    "check_weight_decay",
    "ABSENT_CLASS_COUNTED",
    "BCE_FOR_MULTICLASS",
    "BINARY_CASES",
    "BINARY_LOGIT_CASES",
    "DIAGNOSIS_CHOICES",
    "IGNORING_CLASS_IMBALANCE",
    "LOGIT_CASES",
    "LOG_PROB_CASES",
    "MISTAKES",
    "MSE_ON_CLASS_INDICES",
    "MULTICLASS_CASES",
    "PLAIN_ACCURACY",
    "PRECISION_INSTEAD_OF_RECALL",
    "PROBABILITY_CASES",
    "REFERENCES",
    "REGRESSION_CASES",
    "WEIGHTS_BY_FREQUENCY",
    "Case",
    "GradingError",
    "Mistake",
    "binary_cases",
    "binary_data",
    "central_difference",
    "check_balanced_accuracy",
    "check_class_weights",
    "check_classification_loss",
    "check_close",
    "check_derivative",
    "check_diagnosis",
    "check_finite",
    "check_finite_difference",
    "check_fixed",
    "check_grad",
    "check_loss_choice",
    "check_mystery_diagnosis",
    "check_no_torch_loss",
    "check_trains",
    "check_value",
    "classification_data",
    "derivation_cases",
    "describe_choices",
    "gaussian_blobs",
    "inputs_only",
    "mistakes_for",
    "multiclass_cases",
    "mystery_run",
    "regression_cases",
    "release_values",
]
