"""Kernel side of the grader's seal: proof, per run, that a test cell's checks really passed.

During autograding the grader adds one read-only cell before the submission's first cell. It runs
:func:`install`, which

1. imports :mod:`lossbook.checks` (so every reference a check uses is captured before any of
   the learner's code runs; the working folder is kept off ``sys.path`` while it does, so a
   learner's ``torch.py`` cannot stand in for torch);
2. reads the run's secret key from the file the grader wrote for this kernel, and deletes it;
3. wraps every public ``check_*`` of :mod:`lossbook.checks`: each call that returns (passes)
   displays a small seal, ``HMAC(key, session:n:line)``, with the line of the test cell that
   made the call;
4. makes the kernel reap its children at once and lowers the priority of any process it forks,
   so that the processes a cell leaves behind (a fork bomb's) can be killed by the grader after
   the cell and do not count against the sandbox's process limit, nor starve the kernel.

After the run, :class:`lossbook.grader.preprocessors.VerifySeals` accepts a passing test cell
only if every top-level statement that calls a check has a valid, unused seal on its line. A
learner's cell that rebinds ``check_close``, replaces IPython's ``run_cell``, adds an AST
transformer that deletes the checks, or copies a seal it saw printed earlier yields no valid
seal, and the test cell scores 0.

The key lives only in OpenSSL's HMAC state, not in a Python ``bytes`` object; still, code in the
same process that finds that state through the wrapper's closure can forge a seal. The seal
raises the bar from "rebind a name" to "reverse-engineer the grader"; the batch command also
flags such code for a human. Outside a grading run (no key file) :func:`install` only imports
the checks.

A check that fails (raises :class:`~lossbook.checks.errors.GradingError`) displays a sealed
*finding* instead (MIME type :data:`FINDING_MIME`): which check, the named mistake it matched (its
stable key, or ``"unrecognised"``), and expected vs got on the smallest failing case, taken from the
error's fields, authenticated by ``HMAC(key, session:n:line:body)``. The grader
(:class:`lossbook.grader.preprocessors.RecordFindings`) verifies it, adds the exercise (it knows
which test cell showed it) and keeps it in the graded notebook's metadata; a record a learner's
code displays, alters or replays fails verification, is ignored and flagged. Only the outermost
check call reports: a check a learner's function calls from inside a check neither seals nor
records anything. A finding never holds source code, so nothing of a hidden test leaks.
"""

from __future__ import annotations

import functools
import hmac
import importlib
import itertools
import json
import math
import os
import secrets
import signal
import sys
from collections.abc import Callable
from typing import Any

MIME = "application/vnd.lossbook.seal+json"
FINDING_MIME = "application/vnd.lossbook.finding+json"
KEY_FILE_VARIABLE = "LOSSBOOK_SEAL_FILE"
UNRECOGNISED = "unrecognised"
MAX_VALUES = 64
"""Numbers kept of an expected or got value (flattened): enough to tell a factor or a sign."""
MAX_TEXT = 300


def payload(session: str, number: int, line: int) -> bytes:
    """The bytes a seal authenticates; the grader rebuilds them to check one."""
    return f"{session}:{number}:{line}".encode()


def finding_payload(session: str, number: int, line: int, body: dict) -> bytes:
    """The bytes a finding authenticates: its place in the run and its body, canonical JSON.

    Example:
        >>> finding_payload("s", 3, 2, {"got": 2.0, "check": "check_close"})
        b's:3:2:{"check":"check_close","got":2.0}'
    """
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return f"{session}:{number}:{line}:".encode() + text.encode()


def plain(value: Any) -> Any:
    """A value as JSON the grader can store: numbers (inf/NaN as strings), flat lists, short text.

    Tensors and nested sequences are flattened to at most :data:`MAX_VALUES` numbers.

    Example:
        >>> plain([[1, 2], [3, float("nan")]])
        [1.0, 2.0, 3.0, 'nan']
        >>> plain(None), plain(True), plain(float("-inf"))
        (None, True, '-inf')
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if hasattr(value, "detach") and hasattr(value, "tolist"):
        value = value.detach().tolist()
    if isinstance(value, list | tuple):
        flat: list = []
        stack = [iter(value)]
        while stack and len(flat) < MAX_VALUES:
            item = next(stack[-1], _END)
            if item is _END:
                stack.pop()
            elif isinstance(item, list | tuple):
                stack.append(iter(item))
            else:
                flat.append(plain(item))
        return flat
    return str(value)[:MAX_TEXT]


_END = object()


def finding_body(check_name: str, error: BaseException) -> dict:
    """What a failed check found, from the fields of its ``GradingError`` (no source code)."""
    mistake = getattr(error, "mistake", None)
    key = getattr(mistake, "key", None)
    case = getattr(error, "case", None)
    return {
        "check": str(getattr(error, "check", None) or check_name)[:MAX_TEXT],
        "mistake": str(key)[:MAX_TEXT] if key else UNRECOGNISED,
        "mistake_name": str(getattr(mistake, "name", ""))[:MAX_TEXT],
        "case": None if case is None else str(case)[:MAX_TEXT],
        "expected": plain(getattr(error, "expected", None)),
        "got": plain(getattr(error, "got", None)),
    }


def install() -> list[str]:
    """Import the checks with their references captured, seal them, and return their names."""
    key_file = os.environ.pop(KEY_FILE_VARIABLE, None)
    _import_checks()
    if not key_file:
        return []
    with open(key_file) as handle:
        key = bytes.fromhex(handle.read().strip())
    os.unlink(key_file)
    # Children are reaped at once: the grader kills what a cell leaves running (a fork bomb's
    # children), and unreaped zombies would still count against the sandbox's process limit.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # A child forked from the kernel yields the CPU to it, so a fork bomb cannot starve the
    # kernel of the time it needs to hit the process limit and get on with the next cell.
    os.register_at_fork(after_in_child=_yield_cpu)
    mac = hmac.new(key, digestmod="sha256")
    del key
    session = secrets.token_hex(8)
    counter = itertools.count()
    from IPython.display import publish_display_data

    def emit(line: int) -> None:
        number = next(counter)
        tag = mac.copy()
        tag.update(payload(session, number, line))
        publish_display_data(
            {
                MIME: {"session": session, "n": number, "line": line, "mac": tag.hexdigest()},
                "text/plain": "lossbook check passed",
            },
        )

    def emit_finding(line: int, check_name: str, error: BaseException) -> None:
        number = next(counter)
        body = finding_body(check_name, error)
        tag = mac.copy()
        tag.update(finding_payload(session, number, line, body))
        publish_display_data(
            {
                FINDING_MIME: {
                    "session": session,
                    "n": number,
                    "line": line,
                    "body": body,
                    "mac": tag.hexdigest(),
                },
                "text/plain": "lossbook check failed",
            },
        )

    import lossbook.checks as grading
    from lossbook.checks.errors import GradingError

    reporter = _Reporter(emit, emit_finding, GradingError, sys._getframe)
    sealed_names = []
    for name in grading.__all__:
        original = getattr(grading, name)
        if not name.startswith("check_") or not callable(original):
            continue
        sealed = reporter.seal(name, original)
        setattr(grading, name, sealed)
        # Also where the check is defined, so that a module's own calls go through the seal.
        home = sys.modules.get(getattr(original, "__module__", ""), None)
        if home is not None and getattr(home, name, None) is original:
            setattr(home, name, sealed)
        sealed_names.append(name)
    emit(0)
    return sealed_names


def _yield_cpu() -> None:
    os.nice(19)


def _import_checks() -> None:
    """Import :mod:`lossbook.checks` (and torch) with the working folder off ``sys.path``."""
    saved = list(sys.path)
    cwd = os.getcwd()
    sys.path[:] = [path for path in sys.path if path not in ("", ".", cwd)]
    try:
        importlib.import_module("lossbook.checks")
    finally:
        sys.path[:] = saved


class _Reporter:
    """Wraps checks so that the outermost call reports: a seal when it passes, a finding when not.

    A check called while another runs (from a learner's function under test, or from a check
    built on another) reports nothing: only the call the test cell makes speaks for the cell.
    """

    def __init__(
        self,
        emit: Callable[[int], None],
        emit_finding: Callable[[int, str, BaseException], None],
        failure: type[BaseException],
        getframe: Callable[[int], Any],
    ) -> None:
        self.emit, self.emit_finding, self.failure, self.getframe = (
            emit,
            emit_finding,
            failure,
            getframe,
        )
        self.depth = 0

    def seal(self, name: str, check: Callable[..., Any]) -> Callable[..., Any]:
        reporter = self

        @functools.wraps(check)
        def sealed(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # IPython and pytest hide this frame
            if reporter.depth:
                return check(*args, **kwargs)
            line = reporter.getframe(1).f_lineno
            reporter.depth += 1
            try:
                result = check(*args, **kwargs)
            except reporter.failure as error:
                reporter.depth -= 1
                reporter.emit_finding(line, name, error)
                raise
            except BaseException:
                reporter.depth -= 1
                raise
            reporter.depth -= 1
            reporter.emit(line)
            return result

        return sealed
