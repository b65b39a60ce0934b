"""Autograde: the checks' sealed findings verified, and kept in the graded notebook's metadata.

Each failing check displays a sealed finding (:mod:`lossbook.checks.seal`). This step, which runs
after :class:`~lossbook.grader.preprocessors.VerifySeals`, keeps a finding only if its HMAC is
valid for this run's key, it was not seen before (no replay), and it sits in a test cell that
failed; it adds the exercise (the test cell's grade id and the answer cell it checks, which the
grader knows and the kernel is not asked). Kept findings go to ``nb.metadata.lossbook.findings``;
every finding output is removed from the cells. A record that fails verification is ignored and
noted for a human; an erased record only means "no record" (the cell still fails, and is listed
in ``failures`` with its error's name).
"""

from __future__ import annotations

import hmac

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from lossbook.checks import seal
from lossbook.grader.cells import cell_label, exercise_of, grade_id, is_test_cell
from lossbook.grader.notes import add_note, grader_metadata
from lossbook.grader.preprocessors.sandboxed_execute import SEAL_KEY


def verified_body(record: object, mac: hmac.HMAC | None) -> tuple[str, int, int, dict] | None:
    """``(session, n, line, body)`` of a finding whose HMAC is valid, else None."""
    if mac is None or not isinstance(record, dict) or not isinstance(record.get("body"), dict):
        return None
    try:
        session, number, line = str(record["session"]), int(record["n"]), int(record["line"])
        tag = mac.copy()
        tag.update(seal.finding_payload(session, number, line, record["body"]))
        valid = hmac.compare_digest(tag.hexdigest(), str(record["mac"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (session, number, line, dict(record["body"])) if valid else None


def _error_name(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return str(output.get("ename", "Error"))[:80]
    return "Error"


class RecordFindings(NbGraderPreprocessor):
    """Verify the sealed findings of failed test cells; store them; drop every finding output."""

    def preprocess(self, nb, resources):
        key = resources.get("lossbook", {}).get(SEAL_KEY)
        mac = hmac.new(bytes.fromhex(key), digestmod="sha256") if key else None
        seen: set[tuple[str, int]] = set()
        findings, failures = [], []
        notebook = resources.get("nbgrader", {}).get("notebook", "?")
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            records = [o for o in cell.outputs if seal.FINDING_MIME in o.get("data", {})]
            cell.outputs = [o for o in cell.outputs if seal.FINDING_MIME not in o.get("data", {})]
            failed_test = is_test_cell(cell) and utils.has_failed(cell)
            kept = 0
            for output in records:
                verified = verified_body(output.data[seal.FINDING_MIME], mac)
                if verified is None or verified[:2] in seen:
                    add_note(
                        nb,
                        resources,
                        cell_label(nb.cells, index),
                        "a forged, altered or replayed grader record was ignored",
                        human=True,
                        log=self.log,
                    )
                    continue
                seen.add(verified[:2])
                if not failed_test or kept:
                    continue  # a check the learner ran in their own cell, or a second one
                kept += 1
                findings.append(
                    {
                        "notebook": notebook,
                        "cell": grade_id(cell),
                        "exercise": exercise_of(nb.cells, index),
                        "line": verified[2],
                        **verified[3],
                    }
                )
            if failed_test and not kept:
                failures.append(
                    {
                        "notebook": notebook,
                        "cell": grade_id(cell),
                        "exercise": exercise_of(nb.cells, index),
                        "error": _error_name(cell),
                    }
                )
        meta = grader_metadata(nb)
        meta["findings"] = findings
        meta["failures"] = failures
        return nb, resources
