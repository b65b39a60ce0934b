"""What a diagnosis returns: its findings, and the report a notebook displays."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import torch

from lossbook.losses._validation import shape_of

SEVERITIES = ("error", "warning", "note")
"""How bad a finding is: an error, a warning (very likely a mistake), a note (worth knowing)."""


def first_line(text: str) -> str:
    r"""The first line of a message (of torch's, say), without surrounding blank lines.

    Example:
        >>> first_line("\n  Target 3 is out of bounds.\n(more)")
        'Target 3 is out of bounds.'
    """
    return text.strip().splitlines()[0] if text.strip() else text


# ---------------------------------------------------------------------------
# What a diagnosis returns


@dataclass(frozen=True)
class Finding:
    """One likely mistake: which rule found it, how bad it is, what it means and the fix."""

    id: str
    severity: str
    title: str
    message: str
    fix: str


@dataclass
class Diagnosis:
    """Everything :func:`diagnose` found in one loss call.

    ``loss_name`` says which loss was checked (``"nn.CrossEntropyLoss"``,
    ``"F.cross_entropy"``), ``call_summary`` the shapes and dtypes it got.
    ``findings`` lists the mistakes, errors first. ``ok`` is true when none of
    them is an error or a warning (notes only describe correct calls).
    ``loss_value`` is what the loss returned (detached), or ``None`` when it
    raised, in which case ``torch_error`` holds torch's message.
    ``skipped_rules`` names the rules that could not look at this input and why
    (a tensor on the ``meta`` device has no values to look at).
    """

    loss_name: str
    findings: list[Finding]
    loss_value: torch.Tensor | None = None
    torch_error: str | None = None
    skipped_rules: list[str] = field(default_factory=list)
    call_summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.findings)

    def _headline(self) -> str:
        problems = [f for f in self.findings if f.severity != "note"]
        notes = len(self.findings) - len(problems)
        if not problems:
            headline = "No problems found"
        else:
            headline = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found"
        if notes:
            headline += f" ({notes} note{'s' if notes != 1 else ''})"
        return f"{self.loss_name}: {headline}."

    def _loss_line(self) -> str:
        if self.torch_error is not None:
            return f"the call raised: {first_line(self.torch_error)}"
        if self.loss_value is None:
            return "the loss was not run"
        if self.loss_value.numel() == 1:
            return f"loss = {self.loss_value.item():.6g}"
        return f"loss: a tensor of shape {shape_of(self.loss_value)}"

    def __str__(self) -> str:
        lines = [self._headline(), f"  {self.call_summary}; {self._loss_line()}"]
        for finding in self.findings:
            lines.append("")
            lines.append(f"[{finding.severity}] {finding.title} ({finding.id})")
            lines.append(f"  {finding.message}")
            lines.append(f"  Fix: {finding.fix}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self._headline()}**", "", f"{self.call_summary}; {self._loss_line()}"]
        for finding in self.findings:
            lines += [
                "",
                f"- **{finding.severity}: {finding.title}** (`{finding.id}`)  ",
                f"  {finding.message}  ",
                f"  *Fix:* {finding.fix}",
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        escape = html.escape
        items = "".join(
            f"<li><b>{escape(f.severity)}: {escape(f.title)}</b> (<code>{escape(f.id)}</code>)"
            f"<br>{escape(f.message)}<br><i>Fix:</i> {escape(f.fix)}</li>"
            for f in self.findings
        )
        body = f"<ul>{items}</ul>" if items else ""
        return (
            f"<div><p><b>{escape(self._headline())}</b><br>"
            f"{escape(self.call_summary)}; {escape(self._loss_line())}</p>{body}</div>"
        )
