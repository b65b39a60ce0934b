"""Feedback: beside each failed check, the course section that teaches the fix; at the top, what to review.

The section is the one that teaches the misconception the check named (the verified finding in the
graded notebook's metadata, see :class:`~lossbook.grader.preprocessors.RecordFindings`), or, when
no misconception was named, the section of the exercise itself
(:meth:`lossbook.grader.sections.CourseMap.teaching`). Each is given as chapter, heading and a link
into the chapter's notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from lossbook.checks.seal import UNRECOGNISED
from lossbook.grader.cells import grade_id, is_test_cell
from lossbook.grader.notes import GRADER_KEY
from lossbook.grader.sections import Section, course_map, every_mistake

REVIEW_MARK = "lossbook_review"


def _failed(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    score, points = meta.get("score"), meta.get("points")
    if score is not None and points is not None:
        return float(score) < float(points)
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


class TeachingFeedback(NbGraderPreprocessor):
    """Add a "review" note after each failed test cell and a "What to review" list at the top."""

    notebook_link = Unicode(
        "",
        help="Link to a section: a template with {chapter}, {notebook} and {anchor}. Default: the "
        "release notebook, relative to feedback/<student>/<assignment>/ (on JupyterHub, e.g. "
        "'/user-redirect/lab/tree/{chapter}/{notebook}#{anchor}').",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        coursedir = CourseDirectory(config=self.config)
        sections = course_map(Path(coursedir.root) / coursedir.source_directory)
        template = self.notebook_link or (
            f"../../../{coursedir.release_directory}/{{chapter}}/{{notebook}}#{{anchor}}"
        )
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        meta = nb.metadata.get(GRADER_KEY, {})
        findings = {entry.get("cell"): entry for entry in meta.get("findings", [])}
        names = {key: mistake.name for key, mistake in every_mistake().items()}
        review: dict[Section, list[str]] = {}
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            own = grade_id(cell)
            if not is_test_cell(cell) or not _failed(cell):
                continue
            finding = findings.get(own, {})
            key = finding.get("mistake")
            key = None if key in (None, UNRECOGNISED) else key
            section = sections.teaching(assignment, own, key)
            if section is None:
                continue
            what = finding.get("mistake_name") or names.get(key, "") if key else ""
            review.setdefault(section, []).append(f"`{own}`" + (f" ({what})" if what else ""))
            cells.append(
                self._cell(
                    f"**Review:** [{section.describe()}]({section.link(template)})"
                    + (f" — it teaches the fix for *{what}*." if what else ".")
                )
            )
        if review:
            items = "\n".join(
                f"- [{section.describe()}]({section.link(template)}): {', '.join(failed)}"
                for section, failed in review.items()
            )
            top = f"## What to review\n\nThe sections that teach what your failed checks need:\n\n{items}"
        else:
            top = "## What to review\n\nNothing: every check passed."
        nb.cells = [self._cell(top), *cells]
        return nb, resources

    @staticmethod
    def _cell(source: str):
        cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata[REVIEW_MARK] = True
        return cell
