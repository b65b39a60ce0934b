"""The learner code a loss-function exercise has no business running, found by reading its syntax.

:func:`suspicious_code` lists patches of torch/lossbook/builtins, rebound checks, interpreter and
OS modules, frame and closure access, ``exec``/``eval``; nothing is blocked, a person reads the
list (:class:`~lossbook.grader.preprocessors.FlagSuspiciousCode` notes it for a human).
"""

from __future__ import annotations

import ast
import re

from lossbook.grader.cells import parse_source

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


def module_aliases(cells: list) -> dict[str, str]:
    """Local names bound to watched modules anywhere in the notebook (``F`` -> torch.nn.functional)."""
    aliases = {name: name for name in _WATCHED_MODULES}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tree = parse_source(cell.source)
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
    tree = parse_source(source)
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
