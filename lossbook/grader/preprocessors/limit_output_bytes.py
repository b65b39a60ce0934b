"""Autograde and feedback: each code cell's output cut to a byte budget of text and of images."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from lossbook.grader.output_cap import cap_cell_outputs


class LimitOutputBytes(NbGraderPreprocessor):
    """Cut each code cell's outputs to ``max_bytes`` of text and ``max_image_bytes`` of images."""

    max_bytes = Integer(100_000, help="Bytes of text output kept per cell.").tag(config=True)
    max_image_bytes = Integer(2_000_000, help="Bytes of images kept per cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cap_cell_outputs(cell, self.max_bytes, self.max_image_bytes)
        return cell, resources
