"""Keep a learner's monkeypatches out of a check's verdict.

A learner's cell can rebind anything: ``torch.nn.functional.mse_loss``,
``torch.allclose``, ``torch.Tensor.mean``, ``builtins.abs``, or
``lossbook.functional``'s losses. If a check computed its expected value or
compared numbers through a patched name, a wrong answer could pass.

When :mod:`lossbook.checks` is imported (the notebook's first, read-only
cell), :func:`take_snapshot` records the namespaces a check relies on: the
torch and standard-library modules listed in ``_MODULES`` (imported here if
nothing has imported them yet), every ``lossbook`` module loaded by then
(everything the checks import, since the snapshot is taken last and no module
of lossbook imports lazily: the course tools a training check runs, such as
``lossbook.course.training.fit``, are among them whatever the import order),
and the classes whose methods a check calls (``torch.Tensor``, the
optimizers, ``torch.nn.Module``, and every class lossbook defines). Each
public check then runs under :func:`guarded`: on entry, every binding that
differs from the snapshot is put back to the original; the learner's function
is called through :func:`as_student`, with the learner's bindings in place for
just that call (including any it makes during the call); on exit the
learner's bindings are restored, so the notebook carries on as the learner left it.

This guards against patching, not against a hostile process: code that edits
this module's closures or the interpreter itself is the sandbox's business.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

_MISSING = object()
_setattr = builtins.setattr
_id = builtins.id
_delattr = builtins.delattr
_vars = builtins.vars
_isinstance = builtins.isinstance
_type = builtins.type

# Modules whose bindings the checks use directly, through lossbook's losses, or
# through the course's training loop (copy.deepcopy, torch.optim).
# Not ``warnings``: catch_warnings rebinds its attributes while a check runs.
_MODULES = (
    "builtins",
    "copy",
    "math",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.modules.loss",
    "torch.nn.modules.module",
    "torch.testing",
    "torch.autograd",
    "torch.random",
    "torch._C._nn",
    "torch.linalg",
    "torch.special",
    "torch.optim",
    "torch.optim.optimizer",
    "torch.optim.sgd",
    "torch.optim.adam",
)
# Classes: a patch may add a key that shadows a base class's method
# (torch.Tensor.mean lives on torch._C.TensorBase, which cannot be patched).
_CLASSES = (
    torch.Tensor,
    torch.nn.Module,
    torch.optim.Optimizer,
    torch.optim.SGD,
    torch.optim.Adam,
)

F = TypeVar("F", bound=Callable[..., Any])

# torch.optim wraps an optimizer class's ``step`` in a profiling hook once, when the first
# optimizer of that class is built: the code of that wrapper, to tell torch's own rebinding
# from a learner's.
_PROFILE_WRAPPER_CODE = torch.optim.Optimizer.profile_hook_step(lambda *args: None).__code__


def _wrapped_by_torch(current: Any, original: Any) -> bool:
    """``current`` is torch's profiling wrapper around ``original`` itself, not a learner's patch."""
    closure = getattr(current, "__closure__", None) or ()
    return getattr(current, "__code__", None) is _PROFILE_WRAPPER_CODE and any(
        cell.cell_contents is original for cell in closure
    )


class _Guard:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, dict[str, Any], bool]] = []
        self._student: list[tuple[Any, str, Any]] = []
        self._depth = 0

    def take_snapshot(self) -> None:
        modules = [importlib.import_module(name) for name in _MODULES]
        modules += [
            sys.modules[name]
            for name in sorted(sys.modules)
            if (name == "lossbook" or name.startswith("lossbook.")) and sys.modules[name]
        ]
        saved = [(module, dict(_vars(module)), False) for module in modules]
        for cls in (*_CLASSES, *_lossbook_classes(modules)):
            saved.append((cls, dict(_vars(cls)), True))
        self._saved = saved

    def _changes(self) -> list[tuple[Any, str, Any]]:
        """Every binding that differs from the snapshot, as ``(owner, key, current value)``."""
        changes = []
        for owner, original, is_class in self._saved:
            current = _vars(owner)
            now = current.get
            changed = [key for key, value in original.items() if now(key, _MISSING) is not value]
            if is_class:
                for key in [k for k in changed if _wrapped_by_torch(now(k, _MISSING), original[k])]:
                    original[key] = current[key]  # torch's own wrapper becomes the original
                    changed.remove(key)
            changes.extend((owner, key, now(key, _MISSING)) for key in changed)
            if is_class:
                changes.extend(
                    (owner, key, current[key]) for key in current.keys() - original.keys()
                )
        return changes

    def _restore_originals(self, changes: list[tuple[Any, str, Any]]) -> None:
        originals = {_id(owner): original for owner, original, _ in self._saved}
        for owner, key, _ in changes:
            _bind(owner, key, originals[_id(owner)].get(key, _MISSING))

    def enter(self) -> None:
        if self._depth == 0:
            self._student = self._changes()
            self._restore_originals(self._student)
        self._depth += 1

    def exit(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            for owner, key, value in self._student:
                _bind(owner, key, value)

    def learner_value(self, owner: Any, key: str) -> Any:
        """What ``owner.key`` is bound to in the learner's world (the snapshot's value if unpatched)."""
        if self._depth == 0:
            return getattr(owner, key, None)  # outside a check, the world is the learner's
        for changed_owner, changed_key, value in self._student:
            if changed_owner is owner and changed_key == key:
                return None if value is _MISSING else value
        return getattr(owner, key, None)

    def call_as_student(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._depth == 0:
            return fn(*args, **kwargs)
        for owner, key, value in self._student:
            _bind(owner, key, value)
        try:
            return fn(*args, **kwargs)
        finally:
            # Whatever the call patched becomes part of the learner's state.
            self._student = self._changes()
            self._restore_originals(self._student)


def _lossbook_classes(modules: list[Any]) -> list[type]:
    """The classes lossbook defines (``Case``, ``Mistake``, ``History``...): a patched method or
    property of one (say ``Case.args``) could feed a check degenerate inputs."""
    found = []
    for module in modules:
        name = getattr(module, "__name__", "")
        if name != "lossbook" and not name.startswith("lossbook."):
            continue
        found += [
            value
            for value in _vars(module).values()
            if _isinstance(value, _type) and value.__module__ == name
        ]
    return found


def _bind(owner: Any, key: str, value: Any) -> None:
    if _isinstance(owner, _type):
        if value is _MISSING:
            _delattr(owner, key)
        else:
            _setattr(owner, key, value)
        return
    namespace = _vars(owner)
    if value is _MISSING:
        namespace.pop(key, None)
    else:
        namespace[key] = value


_GUARD = _Guard()


def take_snapshot() -> None:
    """Record the current bindings as the originals. Called once, by ``lossbook.checks``."""
    _GUARD.take_snapshot()


def guarded(check: F) -> F:
    """Run ``check`` with every snapshotted binding at its original value."""
    guard = _GUARD

    @functools.wraps(check)
    def run_guarded(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest hides this frame; IPython hides all but the last
        guard.enter()
        try:
            return check(*args, **kwargs)
        except AssertionError as failure:
            # The message is the whole story: a traceback through the checks would only
            # bury it (and the learner cannot act on it).
            raise failure.with_traceback(None) from None
        finally:
            guard.exit()

    return cast(F, run_guarded)


def learner_value(owner: Any, key: str) -> Any:
    """What ``owner.key`` is in the learner's world, even while a check has undone the patches."""
    return _GUARD.learner_value(owner, key)


def as_student(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``fn`` with the learner's own bindings in place."""
    return _GUARD.call_as_student(fn, *args, **kwargs)
