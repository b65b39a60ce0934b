"""nbgrader preprocessors that make autograding hard to fool, crash or escape.

``nbgrader_config.py`` puts them in nbgrader's pipelines, so plain ``nbgrader autograde`` and the
batch command (:mod:`lossbook.grader.batch`) grade the same way.

Sanitize (before execution), in order:

- :class:`RepairMetadata`: every cell's nbgrader metadata is rebuilt from the gradebook by grade
  id; unknown ids (renamed cells) and unreadable metadata become ordinary cells.
- nbgrader's ``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells``
  (locked sources back from the gradebook).
- :class:`RestoreTestCells`: test cells missing from the submission (deleted, or renamed away)
  are put back where they were and score 0 without running, with a note saying so.
  (nbgrader 0.9.6's ``OverwriteCells.add_missing_cells`` re-runs a restored test cell, so it
  can still earn full marks, and a renamed grade id makes the whole submission fail to validate.)
- :class:`FlagSuspiciousCode`: notes the learner's code that patches modules, reaches into the
  interpreter or the OS (:func:`suspicious_code`), for a human to read.
- :class:`InjectGraderSetup`: the read-only first cell that imports the checks (capturing their
  references) and installs the run's seal (:mod:`lossbook.checks.seal`).

Autograde (execution and scoring):

- :class:`SandboxedExecute`: runs the notebook in :class:`~lossbook.grader.sandbox.SandboxedKernelManager`
  with a time limit per cell and per notebook. A cell that loops is interrupted; one that ignores
  the interrupt, or kills the kernel, gets an error output, and grading goes on in a fresh kernel
  after re-running the cells before it, so exercises done right keep their points. Output is capped
  in bytes per cell as it arrives, so a 50 MB print cannot fill the grader's memory.
- :class:`VerifySeals`: a passing test cell must show a valid seal for each check it calls;
  test cells score all or nothing (a value a learner's code displays cannot set partial credit).
- :class:`LimitOutputBytes`: the same per-cell byte cap, for the graded notebook and feedback.

Feedback: :class:`HiddenTestFeedback` turns errors of cells with hidden tests into the error's
message alone (the checks' message says expected vs got), before nbgrader's ``ClearHiddenTests``
removes the hidden source.

What happened to a notebook (cells that timed out, restored cells, suspicious code, ...) is kept
as :class:`Note` objects: logged, stored in the graded notebook's metadata (``lossbook``), and
returned to the batch command by :func:`take_notes`.
"""

from __future__ import annotations

import ast
import copy
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from time import monotonic

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from lossbook.checks import seal
from lossbook.grader.sandbox import SandboxedKernelManager

SETUP_SOURCE = (
    "# Added by the lossbook grader before the submission's first cell; not part of it.\n"
    "import lossbook.checks.seal\n"
    "lossbook.checks.seal.install()\n"
)
NOTE_PREFIX = "\n[lossbook grader: "
TRUNCATION_NOTE = NOTE_PREFIX + "output truncated to {kept} of {total} bytes]\n"
IMAGES_NOTE = NOTE_PREFIX + "{dropped} bytes of images left out]\n"


# -- notes ----------------------------------------------------------------------------------


@dataclass
class Note:
    """Something the grader did or saw in one notebook; ``human`` means a person should look."""

    notebook: str
    cell: str
    message: str
    human: bool = False

    def __str__(self) -> str:
        where = f"{self.notebook}, {self.cell}" if self.cell else self.notebook
        return f"{where}: {self.message}"


_NOTES: dict[tuple[str, str], list[Note]] = {}


def _note(
    preprocessor: NbGraderPreprocessor,
    resources: dict,
    cell: str,
    message: str,
    human: bool = False,
) -> Note:
    info = resources.get("nbgrader", {})
    note = Note(info.get("notebook", "?"), cell, message, human)
    key = (info.get("assignment", "?"), info.get("student", "?"))
    _NOTES.setdefault(key, []).append(note)
    (preprocessor.log.warning if human else preprocessor.log.info)("%s", note)
    return note


def take_notes(assignment: str, student: str) -> list[Note]:
    """The notes recorded in this process for one submission, removing them."""
    return _NOTES.pop((assignment, student), [])


def cell_label(cells: list, index: int) -> str:
    """A cell's name for people: its grade id, or where it sits relative to one."""
    grade_id = _grade_id(cells[index])
    if grade_id:
        return f"cell '{grade_id}'"
    for before in range(index - 1, -1, -1):
        if _grade_id(cells[before]):
            return f"the cell after '{_grade_id(cells[before])}'"
    return "a cell before the first exercise"


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _is_test_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _lossbook_meta(cell: NotebookNode) -> dict:
    meta = cell.metadata.get("lossbook")
    return meta if isinstance(meta, dict) else {}


# -- output size ----------------------------------------------------------------------------


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


# -- sanitize -------------------------------------------------------------------------------


class RepairMetadata(NbGraderPreprocessor):
    """Rebuild each cell's nbgrader metadata from the gradebook, by grade id.

    Cells whose id the gradebook does not know (renamed by the learner) and cells whose metadata
    cannot be read become ordinary cells; a known cell whose flags or points were edited gets
    the instructor's back. Nothing the learner writes in metadata can change how a cell is graded.
    """

    def preprocess(self, nb, resources):
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
            raw = cell.metadata.get("nbgrader")
            if raw is None:
                continue
            grade_id = raw.get("grade_id") if isinstance(raw, dict) else None
            if not isinstance(grade_id, str) or grade_id not in sources:
                del cell.metadata["nbgrader"]
                what = f"'{grade_id}'" if isinstance(grade_id, str) else "unreadable"
                _note(
                    self,
                    resources,
                    cell_label(nb.cells, index),
                    f"nbgrader metadata with {what} id, unknown to the gradebook: graded as an "
                    "ordinary cell",
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
                _note(
                    self,
                    resources,
                    f"cell '{grade_id}'",
                    f"nbgrader metadata edited ({', '.join(changed)}): the instructor's restored",
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
            if _is_test_cell(cell) and not self.rerun_restored:
                reason = (
                    "this test cell was missing from the submission (deleted, or its grade "
                    "id changed): restored by the grader and scored 0"
                )
                cell.metadata["lossbook"] = {"not_run": reason, "ename": "MissingTestCell"}
                _note(
                    self,
                    resources,
                    f"cell '{grade_id}'",
                    "test cell missing from the submission: restored, scored 0",
                )
            else:
                _note(self, resources, f"cell '{grade_id}'", "cell missing: restored")
        return nb, resources

    @staticmethod
    def _position(cells: list, order: list[str], grade_id: str) -> int:
        at = {_grade_id(cell): index for index, cell in enumerate(cells)}
        for before in reversed(order[: order.index(grade_id)]):
            if before in at:
                return at[before] + 1
        return 0


class InjectGraderSetup(NbGraderPreprocessor):
    """Add the read-only cell that runs before the submission: imports the checks, seals them."""

    def preprocess(self, nb, resources):
        cell = nbformat.v4.new_code_cell(SETUP_SOURCE)
        cell.metadata["lossbook"] = {"grader_setup": True}
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
        nb.cells.insert(0, cell)
        return nb, resources


class FlagSuspiciousCode(NbGraderPreprocessor):
    """Note, for a human, learner code that patches modules or reaches into the interpreter or OS."""

    def preprocess(self, nb, resources):
        aliases = _module_aliases(nb.cells)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or utils.is_locked(cell):
                continue
            for line, finding in suspicious_code(cell.source, aliases):
                _note(
                    self,
                    resources,
                    cell_label(nb.cells, index),
                    f"suspicious code, line {line}: {finding}",
                    human=True,
                )
        return nb, resources


# -- suspicious code ------------------------------------------------------------------------

_WATCHED_MODULES = {"torch", "lossbook", "builtins", "numpy", "math", "IPython", "nbgrader"}
_FORBIDDEN_IMPORTS = {
    "builtins",
    "ctypes",
    "gc",
    "inspect",
    "importlib",
    "socket",
    "subprocess",
    "signal",
    "multiprocessing",
    "sqlite3",
    "urllib",
    "http",
    "requests",
    "pty",
    "resource",
    "nbgrader",
    "IPython",
    "ipykernel",
    "traceback",
    "atexit",
    "threading",
    "asyncio",
    "mmap",
}
_FORBIDDEN_ATTRIBUTES = {
    "__closure__",
    "__globals__",
    "__code__",
    "__builtins__",
    "__torch_function__",
    "__torch_dispatch__",
    "__subclasses__",
    "__class__",
    "__bases__",
    "__mro__",
    "_getframe",
    "settrace",
    "setprofile",
    "f_locals",
    "f_globals",
    "f_back",
    "tb_frame",
    "gi_frame",
    "cr_frame",
    "ast_transformers",
    "input_transformers_post",
    "input_transformers_cleanup",
    "run_cell",
    "showtraceback",
    "display_pub",
    "displayhook",
    "excepthook",
    "events",
}
_OS_CALLS = {
    "fork",
    "forkpty",
    "system",
    "popen",
    "_exit",
    "kill",
    "killpg",
    "setsid",
    "setuid",
    "execv",
    "execve",
    "execvp",
    "execl",
    "execlp",
    "spawnv",
    "spawnl",
    "posix_spawn",
    "remove",
    "unlink",
    "rmdir",
    "rename",
    "replace",
    "chmod",
    "chown",
    "open",
    "environ",
}
_FORBIDDEN_NAMES = {
    "exec",
    "eval",
    "compile",
    "__import__",
    "get_ipython",
    "globals",
    "__builtins__",
    "breakpoint",
}


def _module_aliases(cells: list) -> dict[str, str]:
    """Local names bound to watched modules anywhere in the notebook (``F`` -> torch.nn.functional)."""
    aliases = {name: name for name in _WATCHED_MODULES}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tree = _parse(cell.source)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.split(".")[0]
                    if root in _WATCHED_MODULES:
                        # `import a.b` binds `a`; `import a.b as c` binds `c` to a.b.
                        aliases[alias.asname or root] = alias.name if alias.asname else root
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in _WATCHED_MODULES:
                    for alias in node.names:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _parse(source: str) -> ast.AST | None:
    # IPython magics and shell escapes are not Python; blank them so the rest still parses.
    cleaned = re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.MULTILINE)
    try:
        return ast.parse(cleaned)
    except SyntaxError:
        return None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def suspicious_code(source: str, aliases: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """``(line, finding)`` for code a loss-function exercise has no business running.

    Patching an attribute of torch, lossbook, builtins (or any alias of them), rebinding a
    ``check_*`` name, importing interpreter or OS modules (``ctypes``, ``gc``, ``inspect``,
    ``socket``, ``subprocess``, ``signal``, ...), reaching for frames, closures or IPython's
    hooks, ``exec``/``eval``, and process or file-system calls of ``os``. Found code is not
    blocked: it is listed so that a person reads it.

    Example:
        >>> suspicious_code("import torch\\ntorch.allclose = lambda *a, **k: True")
        [(2, 'assigns to torch.allclose')]
        >>> suspicious_code("def mse(a, b):\\n    return ((a - b) ** 2).mean()")
        []
    """
    aliases = aliases if aliases is not None else {name: name for name in _WATCHED_MODULES}
    findings: list[tuple[int, str]] = [
        (number, "runs a shell command")
        for number, line in enumerate(source.splitlines(), 1)
        if re.match(r"\s*(!|%%?(bash|sh|script|system|sx|writefile|run|load)\b)", line)
    ]
    tree = _parse(source)
    if tree is None:
        return findings

    def watched(node: ast.AST) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if root not in aliases:
            return None
        return aliases[root] + (f".{rest}" if rest else "")

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            while targets:
                target = targets.pop()
                if isinstance(target, (ast.Tuple, ast.List)):
                    targets.extend(target.elts)
                elif isinstance(target, ast.Starred):
                    targets.append(target.value)
                elif isinstance(target, (ast.Attribute, ast.Subscript)) and watched(
                    target.value if isinstance(target, ast.Subscript) else target
                ):
                    owner = target.value if isinstance(target, ast.Subscript) else target
                    findings.append((line, f"assigns to {watched(owner)}"))
                elif isinstance(target, ast.Name) and target.id.startswith("check_"):
                    findings.append((line, f"rebinds the check {target.id}"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name.startswith("check_"):
                findings.append((line, f"redefines the check {node.name}"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for name in names:
                if name.split(".")[0] in _FORBIDDEN_IMPORTS:
                    findings.append((line, f"imports {name}"))
            for alias in node.names:
                if (
                    (alias.asname or alias.name).startswith("check_")
                    and isinstance(node, ast.ImportFrom)
                    and not (node.module or "").startswith("lossbook")
                ):
                    findings.append((line, f"rebinds the check {alias.asname or alias.name}"))
        elif isinstance(node, ast.Attribute):
            if node.attr in _FORBIDDEN_ATTRIBUTES:
                findings.append((line, f"uses .{node.attr}"))
            elif (
                isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and (node.attr in _OS_CALLS)
            ):
                findings.append((line, f"uses os.{node.attr}"))
            elif _dotted(node) == "sys.modules":
                findings.append((line, "uses sys.modules"))
        elif isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES:
            findings.append((line, f"uses {node.id}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (node.func.id in {"setattr", "delattr"} and node.args and watched(node.args[0]))
        ):
            findings.append((line, f"calls {node.func.id} on {watched(node.args[0])}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ("gradebook" in node.value or "/solutions" in node.value)
        ):
            findings.append((line, f"names a grader file ({node.value[:60]!r})"))
    return sorted(set(findings))


# -- execution ------------------------------------------------------------------------------


class GradingEnvironmentError(RuntimeError):
    """The grader itself cannot run the notebook (no kernel could start): not the learner's fault."""


class _KernelStartFailed(Exception):
    """A kernel to resume grading after a crash could not start."""


class _KernelLost(Exception):
    """The kernel died or stopped answering in the cell at ``index``."""

    def __init__(self, index: int, ename: str, message: str) -> None:
        super().__init__(message)
        self.index, self.ename, self.message = index, ename, message


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, in the sandbox, surviving loops, crashes and floods of output.

    - Each cell gets ``Execute.timeout`` seconds (the grader's first cell gets ``setup_timeout``,
      since it imports torch); the whole notebook gets ``notebook_timeout``.
    - A cell past its time is interrupted and gets a ``CellTimeoutError``; execution goes on.
    - A cell that ignores the interrupt (``interrupt_grace`` seconds), or during which the kernel
      dies (``os._exit``, out of CPU time), gets an error output; a fresh kernel re-runs the
      cells before it (output discarded) and grading resumes after it. At most ``max_restarts``
      times; cells never reached get an error saying why, so test cells among them score 0.
    - Processes a cell leaves behind are killed when it ends (a fork bomb's children).
    - At most ``max_output_bytes`` of text and ``max_image_bytes`` of images are kept per cell,
      as the output arrives, so a flood cannot fill the grader's memory; widget messages are
      ignored.
    """

    notebook_timeout = Integer(
        900, help="Wall-clock seconds for the whole notebook, restarts included."
    ).tag(config=True)
    setup_timeout = Integer(
        180, help="Seconds for the grader's first cell (imports torch and the checks)."
    ).tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts allowed per notebook.").tag(config=True)
    interrupt_grace = Integer(
        5, help="Seconds a cell has to stop after an interrupt before its kernel is killed."
    ).tag(config=True)
    max_output_bytes = Integer(
        100_000, help="Bytes of text output kept per cell (the rest is cut, with a note)."
    ).tag(config=True)
    max_image_bytes = Integer(2_000_000, help="Bytes of images (figures) kept per cell.").tag(
        config=True
    )
    shutdown_kernel = Unicode("immediate").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    # Execute.preprocess is NotebookClient's loop; this one restarts the kernel when it is lost.
    def preprocess(self, nb, resources, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._resources_for_notes = resources
        self._seal_key = secrets.token_bytes(32)
        resources.setdefault("lossbook", {})["seal_key"] = self._seal_key.hex()
        self._budgets: dict[int, OutputBudget] = {}
        self.iopub_timeout = self.interrupt_grace
        deadline = monotonic() + self.notebook_timeout
        code = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        ran: list[int] = []
        position, restarts, stop = 0, 0, None
        while position < len(code) and stop is None:
            try:
                self._start_kernel(first=not ran)
                self._replay(ran, deadline)
                while position < len(code):
                    index = code[position]
                    if monotonic() >= deadline:
                        stop = (
                            f"the notebook ran out of its {self.notebook_timeout} s "
                            "time limit before this cell"
                        )
                        break
                    self._run(index, deadline)
                    ran.append(index)
                    position += 1
            except _KernelStartFailed as failure:
                stop = f"no new kernel could be started ({failure})"
            except _KernelLost as lost:
                cell = nb.cells[lost.index]
                cell.outputs.append(_error(lost.ename, lost.message))
                restarts += 1
                if lost.index == code[position]:
                    position += 1
                else:
                    stop = (
                        "the kernel could not be rebuilt: re-running an earlier cell failed "
                        f"({lost.message})"
                    )
                _note(
                    self,
                    resources,
                    cell_label(nb.cells, lost.index),
                    lost.message,
                    human=stop is not None,
                )
                if stop is None and restarts > self.max_restarts:
                    stop = f"the kernel was lost {restarts} times, more than {self.max_restarts}"
            finally:
                if self.km is not None:
                    self._cleanup_kernel()
        if position < len(code):
            stop = stop or "execution stopped"
            _note(
                self,
                resources,
                cell_label(nb.cells, code[position]),
                f"not run, nor any cell after it: {stop}",
                human=True,
            )
            for index in code[position:]:
                nb.cells[index].outputs = [_error("NotRun", f"this cell was not run: {stop}")]
        return nb, resources

    def _start_kernel(self, first: bool) -> None:
        """Start a kernel and its client (as ``NotebookClient.setup_kernel`` does).

        A kernel that cannot start is the grader's problem, never the submission's: the first
        time, :class:`GradingEnvironmentError` stops this notebook's grading (nbgrader keeps the
        recorded grades); after a crash, the cells not yet run get an error saying why.
        """
        try:
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()
            self.wait_for_reply(self.kc.kernel_info())
        except Exception as error:  # jupyter_client raises RuntimeError, TimeoutError, OSError...
            log = self.km.kernel_log() if hasattr(self.km, "kernel_log") else ""
            detail = f"{type(error).__name__}: {error}" + (f"; kernel log: {log}" if log else "")
            if first:
                raise GradingEnvironmentError(
                    f"the grading kernel could not start: {detail}"
                ) from error
            raise _KernelStartFailed(detail) from error

    def _timeout_for(self, cell: NotebookNode, deadline: float) -> int:
        limit = self.setup_timeout if _lossbook_meta(cell).get("grader_setup") else self.timeout
        return max(1, min(int(limit), int(deadline - monotonic()) + 1))

    def _run(self, index: int, deadline: float) -> None:
        cell = self.nb.cells[index]
        not_run = _lossbook_meta(cell).get("not_run")
        if not_run:
            cell.outputs = [_error(_lossbook_meta(cell).get("ename", "NotRun"), not_run)]
            return
        setup = bool(_lossbook_meta(cell).get("grader_setup"))
        timeout = self._timeout_for(cell, deadline)
        self.timeout_func = lambda _cell: timeout
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"the cell ran longer than {timeout} s and was interrupted",
            "traceback": [
                f"CellTimeoutError: the cell ran longer than {timeout} s and was interrupted"
            ],
        }
        try:
            self.execute_cell(cell, index, store_history=not setup)
        except DeadKernelError:
            raise _KernelLost(index, "KernelDied", self._death_message(timeout)) from None
        except CellTimeoutError:
            raise _KernelLost(
                index,
                "CellTimeoutError",
                f"the cell ran longer than {timeout} s and ignored the interrupt: its kernel "
                "was stopped, and grading went on in a new one",
            ) from None
        finally:
            self._kill_strays()
        if any(
            o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs
        ):
            _note(
                self,
                self._resources_for_notes,
                cell_label(self.nb.cells, index),
                f"ran longer than {timeout} s: interrupted",
            )

    def _death_message(self, timeout: int) -> str:
        status = None
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            status = process.poll()
        detail = f" (exit status {status})" if status is not None else ""
        return (
            f"the kernel died while running this cell{detail}: grading went on in a new "
            "kernel after re-running the cells before it"
        )

    def _replay(self, ran: list[int], deadline: float) -> None:
        """Re-run, in a fresh kernel, the cells that ran before it was lost; keep their outputs.

        Cells that were interrupted for running too long are not re-run: they would only run
        out of time again.
        """
        for index in ran:
            original = self.nb.cells[index]
            if any(output.get("ename") == "CellTimeoutError" for output in original.outputs):
                continue
            try:
                self._run_copy(original, index, deadline)
            finally:
                self.nb.cells[index] = original

    def _run_copy(self, original: NotebookNode, index: int, deadline: float) -> None:
        replica = copy.deepcopy(original)
        setup = bool(_lossbook_meta(original).get("grader_setup"))
        timeout = self._timeout_for(original, deadline)
        self.timeout_func = lambda _cell: timeout
        try:
            self.execute_cell(replica, index, store_history=not setup)
        except (DeadKernelError, CellTimeoutError):
            raise _KernelLost(
                index, "KernelDied", "the kernel was lost again while re-running this cell"
            ) from None
        finally:
            self._kill_strays()

    def _kill_strays(self) -> None:
        kill = getattr(self.km, "kill_strays", None)
        if kill is not None:
            killed = kill()
            if killed:
                self.log.info("killed %d processes left behind by a cell", killed)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if hasattr(km, "seal_key"):
            km.seal_key = self._seal_key
        return km

    # Output: capped per cell as it arrives; no widget state.
    def _budget(self, cell_index: int) -> OutputBudget:
        if cell_index not in self._budgets:
            self._budgets[cell_index] = OutputBudget(self.max_output_bytes, self.max_image_bytes)
        return self._budgets[cell_index]

    def output(self, outs, msg, display_id, cell_index):
        if self.clear_before_next_output:
            self._budgets.pop(cell_index, None)
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or seal.MIME in out.get("data", {}):
            return out
        outs.remove(out)
        kept = self._budget(cell_index).admit(out)
        if kept is None and display_id:
            # Keep the slot, so that a later update of this display finds it.
            kept = nbformat.v4.new_output("display_data", data={"text/plain": ""})
        if kept is not None:
            outs.append(kept)
        return kept

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not outs:
            self._budgets.pop(cell_index, None)

    def _update_display_id(self, display_id, msg):
        data = msg.get("content", {}).get("data", {})
        probe = nbformat.v4.new_output("display_data", data=data)
        if (
            output_bytes(probe) <= self.max_output_bytes
            and output_bytes(probe, images=True) <= self.max_image_bytes
        ):
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        index = kwargs["cell_index"]
        budget = self._budgets.pop(index, None)
        note = budget.note() if budget is not None else None
        if note is not None:
            kwargs["cell"].outputs.append(note)
            cut = []
            if budget.text_total > budget.text_kept:
                cut.append(f"printed {budget.text_total} bytes: cut to {budget.text_kept}")
            if budget.images_dropped:
                cut.append(f"{budget.images_dropped} bytes of images left out")
            _note(self, self._resources_for_notes, cell_label(self.nb.cells, index), "; ".join(cut))


# -- scoring --------------------------------------------------------------------------------


def check_names() -> set[str]:
    """The checks the grader's first cell seals (every public ``check_*`` of lossbook.checks)."""
    import lossbook.checks as grading

    return {name for name in grading.__all__ if name.startswith("check_")}


def sealed_spans(source: str, names: set[str]) -> tuple[list[tuple[int, int]], bool]:
    """Where a passing test cell must show seals: statement spans, and whether at least one.

    Each top-level statement that calls a check must show a seal on one of its lines. A check
    called inside a ``for`` or ``with`` block also always runs, so the cell needs at least one
    seal; a check under ``if``, ``while``, ``try``, a function or a lambda may legitimately not
    run, and requires nothing.
    """
    tree = _parse(source)
    if tree is None:
        return [], False
    conditional = (
        ast.If,
        ast.IfExp,
        ast.While,
        ast.Try,
        ast.BoolOp,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.Lambda,
        ast.ClassDef,
        ast.comprehension,
    )

    def is_check(node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) in names

    def always_checks(node: ast.AST) -> bool:
        if is_check(node):
            return True
        if isinstance(node, conditional):
            return False
        return any(always_checks(child) for child in ast.iter_child_nodes(node))

    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign)) and always_checks(node)
    ]
    return spans, always_checks(tree)


class VerifySeals(NbGraderPreprocessor):
    """Fail passing test cells whose checks did not visibly run; then remove seals and setup cell.

    With ``all_or_nothing`` (default), ``execute_result`` outputs of test cells become plain
    displays: nbgrader would otherwise read a number shown by the cell as partial credit, and a
    learner's function can show one.
    """

    all_or_nothing = Bool(
        True, help="Score test cells by errors alone, never by a shown value."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        key = resources.get("lossbook", {}).get("seal_key")
        mac = hmac.new(bytes.fromhex(key), digestmod="sha256") if key else None
        used: set[tuple[str, int]] = set()

        def seal_lines(cell: NotebookNode) -> list[int]:
            lines = []
            for output in cell.get("outputs", []):
                record = output.get("data", {}).get(seal.MIME)
                if mac is None or not isinstance(record, dict):
                    continue
                try:
                    session, number, line = (
                        str(record["session"]),
                        int(record["n"]),
                        int(record["line"]),
                    )
                    tag = mac.copy()
                    tag.update(seal.payload(session, number, line))
                    valid = hmac.compare_digest(tag.hexdigest(), str(record["mac"]))
                except (KeyError, TypeError, ValueError):
                    valid = False
                if valid and (session, number) not in used:
                    used.add((session, number))
                    lines.append(line)
            return lines

        setup = next((cell for cell in nb.cells if _lossbook_meta(cell).get("grader_setup")), None)
        setup_failure = None
        if setup is None:
            setup_failure = "the grader's first cell is missing"
        elif 0 not in seal_lines(setup):
            errors = [
                f"{o.get('ename')}: {o.get('evalue')}"
                for o in setup.get("outputs", [])
                if o.get("output_type") == "error"
            ]
            setup_failure = "the grader's first cell failed" + (
                f" ({errors[0]})" if errors else " (no seal)"
            )
            _note(self, resources, "grader setup", setup_failure, human=True)
        names = check_names()
        for index, cell in enumerate(nb.cells):
            if not _is_test_cell(cell):
                continue
            if self.all_or_nothing:
                for output in cell.outputs:
                    if output.output_type == "execute_result":
                        output.output_type = "display_data"
                        output.pop("execution_count", None)
            if utils.has_failed(cell):
                continue
            if setup_failure:
                cell.outputs.append(_error("GraderSetupError", setup_failure))
                continue
            spans, any_check = sealed_spans(cell.source, names)
            lines = seal_lines(cell)
            missing = [
                span for span in spans if not any(span[0] <= line <= span[1] for line in lines)
            ]
            if missing or (any_check and not lines):
                line = missing[0][0] if missing else 1
                cell.outputs.append(
                    _error(
                        "GradingIntegrityError",
                        f"line {line} of this test cell finished without the course's check "
                        "confirming a pass (was a check replaced or skipped?): scored 0",
                    )
                )
                _note(
                    self,
                    resources,
                    cell_label(nb.cells, index),
                    "passed without the checks' seal (a check was replaced or skipped): scored 0",
                    human=True,
                )
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if seal.MIME not in o.get("data", {})]
                cell.metadata.pop("lossbook", None)
        nb.cells = [cell for cell in nb.cells if cell is not setup]
        return nb, resources


class LimitOutputBytes(NbGraderPreprocessor):
    """Cut each code cell's outputs to ``max_bytes`` of text and ``max_image_bytes`` of images."""

    max_bytes = Integer(100_000, help="Bytes of text output kept per cell.").tag(config=True)
    max_image_bytes = Integer(2_000_000, help="Bytes of images kept per cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cap_cell_outputs(cell, self.max_bytes, self.max_image_bytes)
        return cell, resources


class RecordNotes(NbGraderPreprocessor):
    """Store the notes of this notebook in its metadata (``lossbook.grading_notes``)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        notes = [
            asdict(note)
            for note in _NOTES.get((info["assignment"], info["student"]), [])
            if note.notebook == info["notebook"]
        ]
        nb.metadata["lossbook"] = {"grading_notes": notes}
        return nb, resources


# -- feedback -------------------------------------------------------------------------------


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
