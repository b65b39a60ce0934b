"""Feedback: errors of cells with hidden tests shown as their message alone, never a traceback."""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode


class HiddenTestFeedback(NbGraderPreprocessor):
    """In cells with hidden tests, show an error as its message alone, never its traceback.

    A traceback quotes the failing line of the hidden test; the checks' messages already say
    what was expected, what came back and on which case. Runs before ``ClearHiddenTests``.
    The delimiters in a learner's own cell are defused, since ``ClearHiddenTests`` would refuse
    them there and no feedback would be written.
    """

    begin_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS").tag(config=True)
    max_message_chars = Integer(3000).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.begin_delimiter not in cell.source:
            return cell, resources
        if not utils.is_grade(cell):
            for delimiter in (self.begin_delimiter, self.end_delimiter):
                cell.source = cell.source.replace(delimiter, delimiter.lower())
            return cell, resources
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.outputs:
            if output.output_type == "error":
                message = str(output.get("evalue", ""))[: self.max_message_chars]
                output.traceback = [f"{output.get('ename', 'Error')}: {message}"]
        return cell, resources
