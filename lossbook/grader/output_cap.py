"""Per-cell output caps: at most so many bytes of text and of images (figures) per code cell.

Used while a notebook runs (:class:`~lossbook.grader.preprocessors.SandboxedExecute` caps output
as it arrives) and on the graded notebook and feedback
(:class:`~lossbook.grader.preprocessors.LimitOutputBytes`).
"""

from __future__ import annotations

import json

import nbformat
from nbformat.notebooknode import NotebookNode

NOTE_PREFIX = "\n[lossbook grader: "
TRUNCATION_NOTE = NOTE_PREFIX + "output truncated to {kept} of {total} bytes]\n"
IMAGES_NOTE = NOTE_PREFIX + "{dropped} bytes of images left out]\n"


def _is_rich(mime: str) -> bool:
    return mime.startswith("image/") or mime == "application/pdf"


def _size(value) -> int:
    if isinstance(value, list):
        value = "".join(str(part) for part in value)
    return len(value.encode()) if isinstance(value, str) else len(json.dumps(value))


def output_bytes(output: NotebookNode, images: bool = False) -> int:
    """Bytes of an output's text, or (``images=True``) of its images and PDFs."""
    kind = output.get("output_type")
    if kind in ("stream", "error") and images:
        return 0
    if kind == "stream":
        return _size(output.get("text", ""))
    if kind == "error":
        traceback = sum(_size(line) for line in output.get("traceback", []))
        return _size(output.get("evalue", "")) + traceback
    return sum(
        _size(value) for mime, value in output.get("data", {}).items() if _is_rich(mime) == images
    )


def _cut(text, limit: int) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    return text.encode()[: max(limit, 0)].decode("utf-8", "ignore")


class OutputBudget:
    """What one cell may still keep of its output: text bytes, and image (and PDF) bytes.

    :meth:`admit` returns an output cut to fit, or None to drop it. Errors and stderr are always
    kept (cut if need be): nbgrader scores a test cell by their presence. :meth:`note` says what
    was cut.
    """

    ERROR_FLOOR = 2000

    def __init__(self, text: int, images: int) -> None:
        self.text_left, self.images_left = text, images
        self.text_total = self.text_kept = self.images_dropped = 0

    def admit(self, output: NotebookNode) -> NotebookNode | None:
        kind = output.get("output_type")
        size = output_bytes(output)
        self.text_total += size
        if kind == "stream":
            if size > self.text_left:
                if self.text_left <= 0 and output.get("name") != "stderr":
                    return None
                output.text = _cut(output.text, max(self.text_left, 1))
            return self._keep_text(output)
        if kind == "error":
            limit = max(self.text_left, self.ERROR_FLOOR)
            if size > limit:
                output.evalue = _cut(output.get("evalue", ""), limit // 2)
                lines, used = [], 0
                for line in output.get("traceback", []):
                    if used + _size(line) > limit // 2:
                        lines.append("... traceback truncated ...")
                        break
                    lines.append(line)
                    used += _size(line)
                output.traceback = lines
            return self._keep_text(output)
        data = output.get("data", {})
        images = output_bytes(output, images=True)
        if images > self.images_left:
            self.images_dropped += images
            data = {mime: value for mime, value in data.items() if not _is_rich(mime)}
        else:
            self.images_left -= images
        if size > self.text_left:
            rich = {mime: value for mime, value in data.items() if _is_rich(mime)}
            plain = _cut(data.get("text/plain", ""), self.text_left)
            data = {**rich, **({"text/plain": plain} if plain else {})}
        if not data:
            return None
        output.data = data
        return self._keep_text(output)

    def _keep_text(self, output: NotebookNode) -> NotebookNode:
        size = output_bytes(output)
        self.text_left -= size
        self.text_kept += size
        return output

    def note(self) -> NotebookNode | None:
        """A stdout output saying what was cut, or None if nothing was."""
        parts = []
        if self.text_total > self.text_kept:
            parts.append(TRUNCATION_NOTE.format(kept=self.text_kept, total=self.text_total))
        if self.images_dropped:
            parts.append(IMAGES_NOTE.format(dropped=self.images_dropped))
        if not parts:
            return None
        return nbformat.v4.new_output("stream", name="stdout", text="".join(parts))


def _is_note(output: NotebookNode) -> bool:
    return output.get("output_type") == "stream" and str(output.get("text", "")).startswith(
        NOTE_PREFIX
    )


def cap_cell_outputs(cell: NotebookNode, text_bytes: int, image_bytes: int) -> OutputBudget:
    """Cut a code cell's outputs to the budgets, adding a note if anything was cut.

    The notes of an earlier cut are kept as they are.
    """
    budget = OutputBudget(text_bytes, image_bytes)
    outputs = []
    for output in cell.outputs:
        kept = output if _is_note(output) else budget.admit(output)
        if kept is not None:
            outputs.append(kept)
    note = budget.note()
    cell.outputs = outputs + ([note] if note is not None else [])
    return budget
