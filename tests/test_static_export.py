"""Every widget has a static figure that a plain HTML export shows.

nbgrader's feedback, GitHub's viewer and ``jupyter nbconvert --to html`` run no widget manager:
what they show of a widget is the static part of its output. Each chapter is executed as a grader
would (``LOSSBOOK_STATIC=1``), exported with nbconvert's HTML exporter, and every cell that shows a
widget must come out as an ``<img>`` holding a PNG, with alt text.
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from tests.course import ASSIGNMENTS, ROOT, notebook_names, read, shows_a_widget

IMAGE = re.compile(r"<img\b[^>]*>", re.S)


# The chapters whose source shows a widget (read from the notebooks, so a new one is included).
NOTEBOOKS = [
    (a, n)
    for a in ASSIGNMENTS
    for n in notebook_names(a)
    if any(shows_a_widget(cell) for cell in read(ROOT / "solutions" / a / n).cells)
]


def executed(assignment: str, name: str, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("LOSSBOOK_STATIC", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = read(ROOT / "solutions" / assignment / name)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "solutions" / assignment)}},
    ).execute()
    return nb


def exported_html(nb: nbformat.NotebookNode, cell) -> str:
    """The HTML nbconvert makes of a notebook holding just this one cell."""
    single = copy.deepcopy(nb)
    single.cells = [copy.deepcopy(cell)]
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(single)
    return body


def images_in_outputs(html: str) -> list[str]:
    """The <img> tags of the output area (the input area shows code, never an image)."""
    outputs = html.split('class="output_wrapper"', 1)
    return IMAGE.findall(outputs[1]) if len(outputs) == 2 else []


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS)
def test_every_widget_shows_a_static_png_in_an_html_export(assignment, name, monkeypatch):
    nb = executed(assignment, name, monkeypatch)
    widget_cells = [cell for cell in nb.cells if shows_a_widget(cell)]
    problems = []
    for cell in widget_cells:
        images = images_in_outputs(exported_html(nb, cell))
        first_line = cell.source.splitlines()[0]
        pngs = [tag for tag in images if "data:image/png;base64," in tag]
        if not pngs:
            problems.append(f"{first_line!r}: no PNG <img> in the exported output")
        elif not all(re.search(r'alt="[^"]{10,}"', tag) for tag in pngs):
            problems.append(f"{first_line!r}: the <img> has no alt text")
    assert not problems, "\n".join(problems)


def test_the_widget_chapters_are_found():
    assert {"01_why_losses", "02_regression", "04_cross_entropy"} <= {a for a, _ in NOTEBOOKS}


def test_images_in_outputs_ignores_the_input_area():
    html = '<div class="input"><img src="x"></div><div class="output_wrapper"><img alt="a" src="y"></div>'
    assert images_in_outputs(html) == ['<img alt="a" src="y">']
    assert images_in_outputs('<div class="input"><img src="x"></div>') == []


def test_shows_a_widget():
    assert shows_a_widget(nbformat.v4.new_code_cell("widgets.bce_penalty()"))
    assert not shows_a_widget(nbformat.v4.new_markdown_cell("see widgets.bce_penalty"))
    assert not shows_a_widget(nbformat.v4.new_code_cell("print(widgets.FOCAL_PROBES)"))
