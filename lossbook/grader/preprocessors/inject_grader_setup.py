"""Sanitize: the grader's read-only first cell, which imports the checks and seals them."""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from lossbook.grader.notes import GRADER_KEY

SETUP_SOURCE = (
    "# Added by the lossbook grader before the submission's first cell; not part of it.\n"
    "import lossbook.checks.seal\n"
    "lossbook.checks.seal.install()\n"
)


class InjectGraderSetup(NbGraderPreprocessor):
    """Add the cell that runs before the submission: imports the checks, seals them.

    Importing first captures every reference a check uses before the learner's code runs;
    :func:`lossbook.checks.seal.install` reads the run's key (see :mod:`lossbook.checks.seal`).
    """

    def preprocess(self, nb, resources):
        cell = nbformat.v4.new_code_cell(SETUP_SOURCE)
        cell.metadata[GRADER_KEY] = {"grader_setup": True}
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
        nb.cells.insert(0, cell)
        return nb, resources
