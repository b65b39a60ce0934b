"""nbgrader preprocessors that make autograding hard to fool, crash or escape; one per module.

``nbgrader_config.py`` names each by its module path, so plain ``nbgrader autograde`` and the batch
command (:mod:`lossbook.grader.batch`) grade the same way. Pipelines, in order:

Sanitize (before execution):

- :class:`RepairMetadata` (``repair_metadata``): nbgrader metadata rebuilt from the gradebook by
  grade id; unknown ids and unreadable metadata become ordinary cells; the grader's own metadata
  (``lossbook``) removed, so a learner cannot plant notes or records.
- nbgrader's ``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells``.
- :class:`RestoreTestCells` (``restore_test_cells``): missing test cells put back, scored 0.
- :class:`FlagSuspiciousCode` (``flag_suspicious_code``): code that patches modules or reaches into
  the interpreter or OS (:mod:`lossbook.grader.suspicious`), noted for a human.
- :class:`InjectGraderSetup` (``inject_grader_setup``): the read-only first cell that imports the
  checks and installs the run's seal (:mod:`lossbook.checks.seal`).

Autograde (execution and scoring):

- :class:`SandboxedExecute` (``sandboxed_execute``): runs the notebook in the sandbox
  (:mod:`lossbook.grader.sandbox`) with a time limit per cell and per notebook, surviving loops,
  kernel deaths and floods of output.
- :class:`VerifySeals` (``verify_seals``): a passing test cell must show a valid seal for each
  check it calls; test cells score all or nothing.
- :class:`RecordFindings` (``record_findings``): the failed checks' sealed findings verified and
  kept in the graded notebook's metadata (what the class report counts).
- :class:`LimitOutputBytes` (``limit_output_bytes``): a per-cell byte cap on text and images.

Feedback: :class:`HiddenTestFeedback` (``hidden_test_feedback``) shows hidden tests' errors as the
checks' message alone; :class:`TeachingFeedback` (``teaching_feedback``) names, beside each failed
check, the course section to review, and lists them at the top.

State travels in ``resources`` within a pipeline and in the notebook's ``lossbook`` metadata
between pipelines: what happened to a notebook (:mod:`lossbook.grader.notes`), verified findings
and failures, all in the graded notebook.
"""

from lossbook.grader.preprocessors.flag_suspicious_code import FlagSuspiciousCode
from lossbook.grader.preprocessors.hidden_test_feedback import HiddenTestFeedback
from lossbook.grader.preprocessors.inject_grader_setup import InjectGraderSetup
from lossbook.grader.preprocessors.limit_output_bytes import LimitOutputBytes
from lossbook.grader.preprocessors.record_findings import RecordFindings
from lossbook.grader.preprocessors.repair_metadata import RepairMetadata
from lossbook.grader.preprocessors.restore_test_cells import RestoreTestCells
from lossbook.grader.preprocessors.sandboxed_execute import (
    GradingEnvironmentError,
    SandboxedExecute,
)
from lossbook.grader.preprocessors.teaching_feedback import TeachingFeedback
from lossbook.grader.preprocessors.verify_seals import VerifySeals, check_names, sealed_spans

__all__ = [
    "FlagSuspiciousCode",
    "GradingEnvironmentError",
    "HiddenTestFeedback",
    "InjectGraderSetup",
    "LimitOutputBytes",
    "RecordFindings",
    "RepairMetadata",
    "RestoreTestCells",
    "SandboxedExecute",
    "TeachingFeedback",
    "VerifySeals",
    "check_names",
    "sealed_spans",
]
