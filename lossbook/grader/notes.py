"""What the grader did or saw in one notebook, carried in the notebook's own metadata.

nbgrader's autograde runs two pipelines (sanitize, then execute and score), writing the notebook
to disk in between, so a note made while sanitizing travels in ``nb.metadata["lossbook"]["notes"]``
to the graded notebook, where the batch command and the class report read it. The grader resets
that metadata first (:class:`~lossbook.grader.preprocessors.RepairMetadata`): nothing a learner
writes there survives.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from nbformat.notebooknode import NotebookNode

GRADER_KEY = "lossbook"


@dataclass(frozen=True)
class Note:
    """Something the grader did or saw; ``human`` means a person should look.

    Example:
        >>> str(Note("losses", "cell 'mse'", "ran longer than 4 s: interrupted"))
        "losses, cell 'mse': ran longer than 4 s: interrupted"
    """

    notebook: str
    cell: str
    message: str
    human: bool = False

    def __str__(self) -> str:
        where = f"{self.notebook}, {self.cell}" if self.cell else self.notebook
        return f"{where}: {self.message}"


def grader_metadata(nb: NotebookNode) -> dict:
    """The notebook's ``lossbook`` metadata, created empty if missing or unreadable."""
    meta = nb.metadata.get(GRADER_KEY)
    if not isinstance(meta, dict):
        meta = nb.metadata[GRADER_KEY] = NotebookNode()
    return meta


def add_note(
    nb: NotebookNode,
    resources: dict,
    cell: str,
    message: str,
    *,
    human: bool = False,
    log: logging.Logger | None = None,
) -> Note:
    """Record a note in ``nb``'s metadata (and the log); return it."""
    notebook = resources.get("nbgrader", {}).get("notebook", "?")
    note = Note(notebook, cell, message, human)
    notes = grader_metadata(nb).setdefault("notes", [])
    notes.append(NotebookNode(asdict(note)))
    if log is not None:
        (log.warning if human else log.info)("%s", note)
    return note


def notes_of(nb: NotebookNode) -> list[Note]:
    """The notes a graded notebook carries."""
    meta = nb.metadata.get(GRADER_KEY)
    raw = meta.get("notes", []) if isinstance(meta, dict) else []
    return [
        Note(**{key: entry[key] for key in ("notebook", "cell", "message", "human")})
        for entry in raw
    ]
