"""Sanitize: the learner's code that patches modules or reaches into the interpreter, noted for a human."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from lossbook.grader.cells import cell_label
from lossbook.grader.notes import add_note
from lossbook.grader.suspicious import module_aliases, suspicious_code


def instructor_sources(coursedir: CourseDirectory, assignment: str, notebook: str) -> set[str]:
    """The code cells of the instructor's notebook, as text (none if it cannot be read)."""
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    try:
        source = nbformat.read(folder / f"{notebook}.ipynb", as_version=4)
    except (OSError, ValueError):
        return set()
    return {cell.source.strip() for cell in source.cells if cell.cell_type == "code"}


class FlagSuspiciousCode(NbGraderPreprocessor):
    """Note, for a human, each finding of :func:`~lossbook.grader.suspicious.suspicious_code`.

    Locked cells, and cells whose code is exactly a code cell of the instructor's notebook (a
    set-up cell the chapter ships, e.g. one that installs lossbook on Colab), are the instructor's
    code, not the learner's: they are not scanned.
    """

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        trusted = instructor_sources(
            CourseDirectory(config=self.config),
            info.get("assignment", ""),
            info.get("notebook", ""),
        )
        aliases = module_aliases(nb.cells)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or utils.is_locked(cell) or cell.source.strip() in trusted:
                continue
            for line, finding in suspicious_code(cell.source, aliases):
                add_note(
                    nb,
                    resources,
                    cell_label(nb.cells, index),
                    f"suspicious code, line {line}: {finding}",
                    human=True,
                    log=self.log,
                )
        return nb, resources
