"""Sanitize step 1: nbgrader metadata rebuilt from the gradebook; the grader's own metadata reset."""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from lossbook.grader.cells import cell_label
from lossbook.grader.notes import GRADER_KEY, add_note


class RepairMetadata(NbGraderPreprocessor):
    """Rebuild each cell's nbgrader metadata from the gradebook, by grade id.

    Cells whose id the gradebook does not know (renamed by the learner) and cells whose metadata
    cannot be read become ordinary cells; a known cell whose flags or points were edited gets
    the instructor's back. Nothing the learner writes in metadata can change how a cell is graded,
    and the grader's own metadata (``lossbook``: notes, verified findings, per-cell flags) is
    removed from the notebook and its cells, so a learner cannot plant a record there.
    """

    def preprocess(self, nb, resources):
        nb.metadata.pop(GRADER_KEY, None)
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source = gradebook.find_notebook(info["notebook"], info["assignment"])
            sources = {cell.name: cell for cell in source.source_cells}
            grades = {cell.name: cell.max_score for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
            tasks = {cell.name: cell.max_score for cell in source.task_cells}
        for index, cell in enumerate(nb.cells):
            if not isinstance(cell.get("metadata"), dict):
                cell["metadata"] = NotebookNode()
            cell.metadata.pop(GRADER_KEY, None)
            raw = cell.metadata.get("nbgrader")
            if raw is None:
                continue
            grade_id = raw.get("grade_id") if isinstance(raw, dict) else None
            if not isinstance(grade_id, str) or grade_id not in sources:
                del cell.metadata["nbgrader"]
                what = f"'{grade_id}'" if isinstance(grade_id, str) else "unreadable"
                add_note(
                    nb,
                    resources,
                    cell_label(nb.cells, index),
                    f"nbgrader metadata with {what} id, unknown to the gradebook: graded as an "
                    "ordinary cell",
                    log=self.log,
                )
                continue
            canonical = {
                "grade": grade_id in grades,
                "grade_id": grade_id,
                "locked": bool(sources[grade_id].locked),
                "schema_version": 3,
                "solution": grade_id in solutions,
                "task": grade_id in tasks,
            }
            if grade_id in grades or grade_id in tasks:
                canonical["points"] = float(grades.get(grade_id, tasks.get(grade_id)))
            if "checksum" in raw:
                canonical["checksum"] = raw["checksum"]
            changed = sorted(
                key
                for key in ("grade", "locked", "solution", "task", "points")
                if key in canonical and _differs(raw.get(key), canonical[key])
            )
            if changed:
                add_note(
                    nb,
                    resources,
                    f"cell '{grade_id}'",
                    f"nbgrader metadata edited ({', '.join(changed)}): the instructor's restored",
                    log=self.log,
                )
            cell.metadata["nbgrader"] = NotebookNode(canonical)
        return nb, resources


def _differs(value, expected) -> bool:
    if isinstance(expected, bool):
        return bool(value) != expected
    try:
        return float(value) != float(expected)
    except (TypeError, ValueError):
        return True
