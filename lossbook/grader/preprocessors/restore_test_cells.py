"""Sanitize: grade and task cells missing from the submission put back; missing test cells score 0.

nbgrader 0.9.6's ``OverwriteCells.add_missing_cells`` re-runs a restored test cell, so it can still
earn full marks, and a renamed grade id makes the whole submission fail to validate.
"""

from __future__ import annotations

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from lossbook.grader.cells import grade_id as _grade_id
from lossbook.grader.cells import is_test_cell
from lossbook.grader.notes import GRADER_KEY, add_note


class RestoreTestCells(NbGraderPreprocessor):
    """Put back grade and task cells missing from the submission; missing test cells score 0.

    A restored test cell is placed after the nearest cell that precedes it in the instructor's
    notebook and is present in the submission, and is not run: it gets an error saying it was
    missing, so it scores 0 with that reason. Set ``rerun_restored = True`` to run restored test
    cells instead (nbgrader's own behaviour).
    """

    rerun_restored = Bool(
        False, help="Run restored test cells (they can then earn points) instead of scoring 0."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source = gradebook.find_notebook(info["notebook"], info["assignment"])
            order = [cell.name for cell in source.source_cells]
            sources = {cell.name: cell for cell in source.source_cells}
            grades = {cell.name: cell.max_score for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
            tasks = {cell.name: cell.max_score for cell in source.task_cells}
        present = {_grade_id(cell) for cell in nb.cells} - {None}
        for grade_id in order:
            if grade_id in present or (grade_id not in grades and grade_id not in tasks):
                continue
            original = sources[grade_id]
            cell = (
                nbformat.v4.new_code_cell(original.source)
                if original.cell_type == "code"
                else nbformat.v4.new_markdown_cell(original.source)
            )
            cell.metadata["nbgrader"] = NotebookNode(
                {
                    "grade": grade_id in grades,
                    "grade_id": grade_id,
                    "locked": bool(original.locked),
                    "schema_version": 3,
                    "solution": grade_id in solutions,
                    "task": grade_id in tasks,
                    "points": float(grades.get(grade_id, tasks.get(grade_id, 0))),
                    "checksum": original.checksum,
                }
            )
            nb.cells.insert(self._position(nb.cells, order, grade_id), cell)
            present.add(grade_id)
            if is_test_cell(cell) and not self.rerun_restored:
                reason = (
                    "this test cell was missing from the submission (deleted, or its grade "
                    "id changed): restored by the grader and scored 0"
                )
                cell.metadata[GRADER_KEY] = {"not_run": reason, "ename": "MissingTestCell"}
                add_note(
                    nb,
                    resources,
                    f"cell '{grade_id}'",
                    "test cell missing from the submission: restored, scored 0",
                    log=self.log,
                )
            else:
                add_note(
                    nb, resources, f"cell '{grade_id}'", "cell missing: restored", log=self.log
                )
        return nb, resources

    @staticmethod
    def _position(cells: list, order: list[str], grade_id: str) -> int:
        at = {_grade_id(cell): index for index, cell in enumerate(cells)}
        for before in reversed(order[: order.index(grade_id)]):
            if before in at:
                return at[before] + 1
        return 0
