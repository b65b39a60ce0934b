"""nbgrader configuration for the lossbook course; every nbgrader command is run from the repo root.

- ``solutions/<assignment>/<notebook>.ipynb``: master copies with solutions and hidden tests.
- ``notebooks/<assignment>/``: the student release, made by ``make release``.
"""

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "lossbook"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# nbgrader's own Execute.timeout overrides ExecutePreprocessor.timeout: set this one.
# Every chapter runs in well under 10 s; 60 s per cell leaves room for a slow
# machine but still stops a runaway cell.
c.Execute.timeout = 60

# Autograding that can't be fooled, crashed or escaped (lossbook/grader/preprocessors/,
# lossbook/grader/sandbox.py). Classes are named by import path so that commands other than
# autograde and generate_feedback never import them. Student kernels run under bubblewrap
# (`apt-get install -y bubblewrap`); `python -m lossbook grade ASSIGNMENT` grades a class in
# parallel with these same settings.
c.Autograde.sanitize_preprocessors = [
    "lossbook.grader.preprocessors.repair_metadata.RepairMetadata",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    # Replaces OverwriteCells.add_missing_cells, which in nbgrader 0.9.6 re-runs a deleted
    # test cell (full marks) and fails the whole submission when a grade id was renamed.
    "lossbook.grader.preprocessors.restore_test_cells.RestoreTestCells",
    "lossbook.grader.preprocessors.flag_suspicious_code.FlagSuspiciousCode",
    "lossbook.grader.preprocessors.inject_grader_setup.InjectGraderSetup",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "lossbook.grader.preprocessors.sandboxed_execute.SandboxedExecute",
    "lossbook.grader.preprocessors.verify_seals.VerifySeals",
    "lossbook.grader.preprocessors.record_findings.RecordFindings",
    "nbgrader.preprocessors.IgnorePattern",
    "nbgrader.preprocessors.LimitOutput",
    "lossbook.grader.preprocessors.limit_output_bytes.LimitOutputBytes",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A whole notebook, restarts included, gets 15 minutes; each cell keeps at most 100 kB of
# text output and 2 MB of figures.
c.SandboxedExecute.notebook_timeout = 900
c.SandboxedExecute.max_output_bytes = 100_000
c.SandboxedExecute.max_image_bytes = 2_000_000
c.LimitOutputBytes.max_bytes = 100_000
c.LimitOutputBytes.max_image_bytes = 2_000_000
# Feedback never shows hidden tests: their errors become the checks' message (expected vs
# got), then the hidden source is removed. Each failed check names the course section to
# review (TeachingFeedback), and a "what to review" list opens the page.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "lossbook.grader.preprocessors.hidden_test_feedback.HiddenTestFeedback",
    "lossbook.grader.preprocessors.teaching_feedback.TeachingFeedback",
    "nbgrader.preprocessors.ClearHiddenTests",
    "lossbook.grader.preprocessors.limit_output_bytes.LimitOutputBytes",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
