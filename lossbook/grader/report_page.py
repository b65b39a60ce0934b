"""The class report as one self-contained HTML page: figures as embedded PNGs, no script, no CDN.

Figures are drawn with matplotlib's object API (``Figure`` + Agg canvas, no pyplot state), in the
course's colour-blind-safe palette (Okabe–Ito). The page's CSS fits a laptop screen and prints on
A4 (tables do not split across pages, links print their target).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from lossbook.grader.report import AssignmentReport, ClassView, Group

FULL, PARTIAL, ZERO, BLUE = "#009E73", "#E69F00", "#D55E00", "#0072B2"
DPI = 80

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 2px solid #ddd; }
h3 { margin-top: 1.4em; } .meta { color: #555; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; break-inside: avoid; }
th, td { border-bottom: 1px solid #e2e2e2; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; border-left: 3px solid #ccc; padding: .4em .6em; margin: .3em 0;
      white-space: pre-wrap; font-size: .85em; max-height: 14em; overflow: auto; }
img { max-width: 100%; height: auto; } .bar { display: inline-block; height: .8em; background: #0072B2; }
.ok { color: #007a5a; } .none { color: #777; font-style: italic; }
@media print {
  body { max-width: none; font-size: 11pt; } h2 { break-before: auto; }
  a[href]::after { content: " (" attr(href) ")"; font-size: .8em; color: #555; word-break: break-all; }
  pre { max-height: none; overflow: visible; }
}
"""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(figure: Figure, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{_png(figure)}">'


def _e(text: object) -> str:
    return html.escape(str(text))


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "–"


# -- figures --------------------------------------------------------------------------------------


def score_histograms(report: AssignmentReport) -> str:
    """Small multiples: one score histogram per exercise, bars coloured zero / partial / full."""
    items = report.exercises
    columns = min(4, max(len(items), 1))
    rows = max(1, math.ceil(len(items) / columns))
    figure = Figure(figsize=(3.1 * columns, 2.3 * rows), dpi=DPI)
    # Fixed margins: constrained layout would measure every tick label, seconds per chapter.
    figure.subplots_adjust(
        left=0.06,
        right=0.98,
        bottom=0.5 / (2.3 * rows) + 0.02,
        top=1 - 0.35 / (2.3 * rows),
        hspace=0.75,
        wspace=0.3,
    )
    for position, item in enumerate(items, 1):
        axes = figure.add_subplot(rows, columns, position)
        points = item.exercise.points
        values = sorted(set(item.scores) | {0.0, points})
        counts = [sum(score == value for score in item.scores) for value in values]
        colours = [ZERO if v <= 0 else FULL if v >= points else PARTIAL for v in values]
        width = 0.8 * min((b - a for a, b in zip(values, values[1:], strict=False)), default=1)
        axes.bar(values, counts, width=width, color=colours)
        axes.set_title(item.exercise.key[:40], fontsize=9)
        axes.set_xticks([0, points], [0, f"{points:g}"], fontsize=7)
        axes.set_yticks([0, max(counts)], [0, max(counts)], fontsize=7)
        axes.set_xlabel("score (points)", fontsize=8, labelpad=1)
    alt = "; ".join(
        f"{item.exercise.key}: {item.full} full, {item.partial} partial, {item.zero} zero"
        for item in items
    )
    return _img(figure, f"Score distribution per exercise. {alt}")


def mistake_bars(report: AssignmentReport, top: int = 12) -> str | None:
    """The most common misconceptions of the assignment, as horizontal bars (None if none)."""
    bars = sorted(
        (
            (len(group.students), f"{group.label} ({item.exercise.key})")
            for item in report.exercises
            for group in item.mistakes
        ),
        key=lambda bar: -bar[0],
    )[:top]
    if not bars:
        return None
    height = 0.35 * len(bars) + 0.9
    figure = Figure(figsize=(10, height), dpi=DPI)
    figure.subplots_adjust(left=0.45, right=0.97, bottom=0.5 / height, top=1 - 0.35 / height)
    axes = figure.add_subplot()
    counts, labels = zip(*reversed(bars), strict=True)
    axes.barh(range(len(bars)), counts, color=BLUE)
    short = [label if len(label) <= 60 else label[:59] + "…" for label in labels]
    axes.set_yticks(range(len(bars)), short, fontsize=8)
    axes.set_xlabel("students")
    axes.set_title("Most common misconceptions", fontsize=10)
    alt = "; ".join(f"{label}: {count} students" for count, label in bars)
    return _img(figure, f"Most common misconceptions. {alt}")


def matrix_figure(view: ClassView) -> str | None:
    """The student × misconception matrix as a heat map (chapters in which each was seen)."""
    if not view.mistakes or not view.students:
        return None
    data = [
        [len(view.matrix.get((student, key), [])) for key, _ in view.mistakes]
        for student in view.students
    ]
    height = min(0.12 * len(view.students) + 1.8, 30)
    width = max(6, 0.32 * len(view.mistakes) + 2.5)
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(left=0.9 / width, right=0.88, bottom=2.2 / height, top=1 - 0.2 / height)
    axes = figure.add_subplot()
    image = axes.imshow(data, aspect="auto", cmap="Blues", interpolation="nearest", vmin=0)
    axes.set_xticks(range(len(view.mistakes)), [key for key, _ in view.mistakes], rotation=90)
    axes.tick_params(labelsize=7)
    if len(view.students) <= 60:
        axes.set_yticks(range(len(view.students)), view.students)
    else:
        axes.set_ylabel(f"{len(view.students)} students (rows, in the CSV's order)")
    figure.colorbar(image, ax=axes, label="chapters where seen", fraction=0.04, pad=0.02)
    return _img(
        figure,
        f"Student by misconception matrix: {len(view.students)} students, "
        f"{len(view.mistakes)} misconceptions; darker means seen in more chapters",
    )


# -- pages ----------------------------------------------------------------------------------------


def _page(title: str, body: list[str]) -> str:
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f'\n<p class="meta">Written by <code>python -m lossbook report</code>, {generated}.</p>'
        + "\n</body></html>\n"
    )


def _section_cell(group: Group, link_template: str) -> str:
    if group.section is None:
        return '<span class="none">no section found</span>'
    return f'<a href="{_e(group.section.link(link_template))}">{_e(group.section.describe())}</a>'


def _examples(group: Group) -> str:
    return "".join(f"<pre>{_e(example)}</pre>" for example in group.examples) or (
        '<span class="none">no answer cell</span>'
    )


def _group_rows(groups: list[Group], total: int, link_template: str | None) -> str:
    rows = []
    for rank, group in enumerate(groups, 1):
        section = f"<td>{_section_cell(group, link_template)}</td>" if link_template else ""
        rows.append(
            f"<tr><td class=n>{rank}</td><td>{_e(group.label)}<br><code>{_e(group.key)}</code></td>"
            f"<td class=n>{len(group.students)}</td><td class=n>{_share(len(group.students), total)}"
            f"</td>{section}<td>{_examples(group)}</td></tr>"
        )
    return "".join(rows)


def assignment_page(report: AssignmentReport) -> str:
    """The whole report of one assignment."""
    total = len(report.students)
    body = [
        f"<h1>What did the class get wrong? {_e(report.assignment)}</h1>",
        f'<p class="meta">{total} submissions; {len(report.humans)} need a human. Students are '
        "counted once per exercise; examples are the shortest answers, comments removed.</p>",
    ]
    top = sorted(
        ((group, item) for item in report.exercises for group in item.mistakes),
        key=lambda pair: (-len(pair[0].students), pair[0].key),
    )[:10]
    body.append("<h2>At a glance: what to re-teach</h2>")
    if top:
        body.append(
            "<table><tr><th>#</th><th>misconception</th><th>exercise</th><th>students</th>"
            "<th>share</th><th>where it is taught</th></tr>"
            + "".join(
                f"<tr><td class=n>{rank}</td><td>{_e(group.label)}</td>"
                f"<td><code>{_e(item.exercise.key)}</code></td>"
                f"<td class=n>{len(group.students)}</td>"
                f"<td class=n>{_share(len(group.students), total)}</td>"
                f"<td>{_section_cell(group, report.link_template)}</td></tr>"
                for rank, (group, item) in enumerate(top, 1)
            )
            + "</table>"
        )
        body.append(mistake_bars(report) or "")
    else:
        body.append('<p class="ok">No named misconception was found.</p>')
    body.append("<h2>Scores per exercise</h2>")
    body.append(
        "<table><tr><th>exercise</th><th>points</th><th>full</th><th>partial</th><th>zero</th>"
        "<th>median time of its tests</th></tr>"
        + "".join(
            f"<tr><td><code>{_e(item.exercise.key)}</code></td>"
            f"<td class=n>{item.exercise.points:g}</td>"
            f"<td class=n>{item.full} ({_share(item.full, total)})</td>"
            f"<td class=n>{item.partial} ({_share(item.partial, total)})</td>"
            f"<td class=n>{item.zero} ({_share(item.zero, total)})</td>"
            f"<td class=n>{'–' if item.median_seconds is None else f'{item.median_seconds:.2f} s'}"
            "</td></tr>"
            for item in report.exercises
        )
        + "</table>"
    )
    body.append(score_histograms(report))
    for item in report.exercises:
        where = item.exercise.section
        heading = f" — {_e(where.describe())}" if where else ""
        body.append(f"<h2>Exercise <code>{_e(item.exercise.key)}</code>{heading}</h2>")
        body.append(
            f'<p class="meta">tests: {", ".join(f"<code>{_e(t)}</code>" for t in item.exercise.tests)}'
            f"; full {item.full}, partial {item.partial}, zero {item.zero} of {total}.</p>"
        )
        if item.mistakes:
            body.append(
                "<h3>Misconceptions</h3><table><tr><th>#</th><th>misconception</th>"
                "<th>students</th><th>share</th><th>where it is taught</th><th>what students "
                "wrote</th></tr>" + _group_rows(item.mistakes, total, report.link_template)
            )
            body.append("</table>")
        if item.unrecognised:
            body.append(
                "<h3>Failures no misconception explains, by signature</h3><table><tr><th>#</th>"
                "<th>signature (answer vs expected, smallest failing case)</th><th>students</th>"
                "<th>share</th><th>what students wrote</th></tr>"
                + _group_rows(item.unrecognised, total, None)
                + "</table>"
            )
        if not item.mistakes and not item.unrecognised:
            body.append('<p class="ok">No failed check recorded.</p>')
    body.append("<h2>Submissions that need a human</h2>")
    if report.humans:
        body.append(
            "<table><tr><th>student</th><th>why</th></tr>"
            + "".join(
                f"<tr><td>{_e(student)}</td><td>{'<br>'.join(_e(r) for r in reasons)}</td></tr>"
                for student, reasons in report.humans
            )
            + "</table>"
        )
    else:
        body.append('<p class="ok">None.</p>')
    return _page(f"Class report: {report.assignment}", body)


def class_page(view: ClassView) -> str:
    """The view across assignments: the matrix, and the misconceptions that persist."""
    body = [
        "<h1>Across chapters: who holds which misconception</h1>",
        f'<p class="meta">{len(view.students)} students, {len(view.assignments)} assignments '
        f"({', '.join(_e(a) for a in view.assignments)}). The full matrix is in all.csv.</p>",
        "<h2>Misconceptions that persist</h2>",
    ]
    rows = [row for row in view.persisting() if len(row[2]) >= 2]
    if rows:
        body.append(
            "<table><tr><th>misconception</th><th>seen in</th><th>students who showed it in two "
            "or more chapters</th></tr>"
            + "".join(
                f"<tr><td>{_e(name)}<br><code>{_e(key)}</code></td><td>{_e(', '.join(where))}</td>"
                f"<td class=n>{len(again)}</td></tr>"
                for key, name, where, again in rows
            )
            + "</table>"
        )
    else:
        body.append('<p class="ok">No misconception was found in more than one chapter.</p>')
    body.append("<h2>Student × misconception</h2>")
    body.append(matrix_figure(view) or '<p class="ok">Nothing to show.</p>')
    return _page("Class report: across chapters", body)
