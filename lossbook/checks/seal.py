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
"""

from __future__ import annotations

import functools
import hmac
import importlib
import itertools
import os
import secrets
import signal
import sys
from collections.abc import Callable
from typing import Any

MIME = "application/vnd.lossbook.seal+json"
KEY_FILE_VARIABLE = "LOSSBOOK_SEAL_FILE"


def payload(session: str, number: int, line: int) -> bytes:
    """The bytes a seal authenticates; the grader rebuilds them to check one."""
    return f"{session}:{number}:{line}".encode()


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

    import lossbook.checks as grading
    import lossbook.checks.checks as checks

    sealed_names = []
    for name in grading.__all__:
        original = getattr(grading, name)
        if not name.startswith("check_") or not callable(original):
            continue
        sealed = _sealed(original, emit, sys._getframe)
        setattr(grading, name, sealed)
        if getattr(checks, name, None) is original:
            setattr(checks, name, sealed)
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


def _sealed(
    check: Callable[..., Any], emit: Callable[[int], None], getframe: Callable[[int], Any]
) -> Callable[..., Any]:
    @functools.wraps(check)
    def sealed(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # IPython and pytest hide this frame
        result = check(*args, **kwargs)
        emit(getframe(1).f_lineno)
        return result

    return sealed
