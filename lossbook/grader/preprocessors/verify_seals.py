"""Autograde: a passing test cell must show the checks' seal for each check it calls."""

from __future__ import annotations

import ast
import hmac

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

import lossbook.checks
from lossbook.checks import seal
from lossbook.grader.cells import cell_label, error_output, grader_meta, is_test_cell, parse_source
from lossbook.grader.notes import GRADER_KEY, add_note
from lossbook.grader.preprocessors.sandboxed_execute import SEAL_KEY


def check_names() -> set[str]:
    """The checks the grader's first cell seals (every public ``check_*`` of lossbook.checks)."""
    return {name for name in lossbook.checks.__all__ if name.startswith("check_")}


def sealed_spans(source: str, names: set[str]) -> tuple[list[tuple[int, int]], bool]:
    """Where a passing test cell must show seals: statement spans, and whether at least one.

    Each top-level statement that calls a check must show a seal on one of its lines. A check
    called inside a ``for`` or ``with`` block also always runs, so the cell needs at least one
    seal; a check under ``if``, ``while``, ``try``, a function or a lambda may legitimately not
    run, and requires nothing.
    """
    tree = parse_source(source)
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
        key = resources.get("lossbook", {}).get(SEAL_KEY)
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

        setup = next((cell for cell in nb.cells if grader_meta(cell).get("grader_setup")), None)
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
            add_note(nb, resources, "grader setup", setup_failure, human=True, log=self.log)
        names = check_names()
        for index, cell in enumerate(nb.cells):
            if not is_test_cell(cell):
                continue
            if self.all_or_nothing:
                for output in cell.outputs:
                    if output.output_type == "execute_result":
                        output.output_type = "display_data"
                        output.pop("execution_count", None)
            if utils.has_failed(cell):
                continue
            if setup_failure:
                cell.outputs.append(error_output("GraderSetupError", setup_failure))
                continue
            spans, any_check = sealed_spans(cell.source, names)
            lines = seal_lines(cell)
            missing = [
                span for span in spans if not any(span[0] <= line <= span[1] for line in lines)
            ]
            if missing or (any_check and not lines):
                line = missing[0][0] if missing else 1
                cell.outputs.append(
                    error_output(
                        "GradingIntegrityError",
                        f"line {line} of this test cell finished without the course's check "
                        "confirming a pass (was a check replaced or skipped?): scored 0",
                    )
                )
                add_note(
                    nb,
                    resources,
                    cell_label(nb.cells, index),
                    "passed without the checks' seal (a check was replaced or skipped): scored 0",
                    human=True,
                    log=self.log,
                )
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if seal.MIME not in o.get("data", {})]
                cell.metadata.pop(GRADER_KEY, None)
        nb.cells = [cell for cell in nb.cells if cell is not setup]
        return nb, resources
