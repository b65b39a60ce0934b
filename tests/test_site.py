"""The course website (``lossbook.course.site``) in a real browser, with the network cut.

The site is built from the released notebooks (two chapters with the most sliders, and in
:func:`test_full_site_builds_and_works_offline` all of them), served over HTTP on 127.0.0.1,
and every page is opened in headless Chromium where every request to another host is aborted
and recorded. It checks that

- no request left 127.0.0.1, none failed, and no page logged an error or raised;
- every widget of every page rendered (no "Error displaying widget"), MathJax typeset;
- every slider of every widget, moved with the mouse like a learner moves it, changes the
  widget's canvas, with no kernel anywhere;
- the pages show the release, not the solutions (no hidden tests, no solution code), exercise
  and check cells are labelled and show no traceback, and each page links JupyterLab, Binder
  and Colab.

The fast tests (not marked slow) check the pieces: how an executed release is presented,
the links, and that a build never empties a folder it did not make.

Screenshots of failures go to ``artifacts/site/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from lossbook.course import site
from tests import browser

REPO = browser.REPO
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "artifacts" / "site"
SUBSET = ("02_regression", "04_cross_entropy")
"""Chapters of the fast build: together they hold the most widgets and sliders."""

WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


# --------------------------------------------------------------------------- serving


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Offline:
    """What a browser context with every request off 127.0.0.1 aborted saw."""

    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def watch(self, page) -> None:
        page.on(
            "requestfailed",
            lambda request: self.failed.append(f"{request.url}: {request.failure}"),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.failed.append(f"{response.url}: HTTP {response.status}")
            ),
        )
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and self.console_errors.append(f"{page.url}: {message.text}")
            ),
        )
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))


@contextlib.contextmanager
def offline_browser(profile: Path) -> Iterator[tuple[object, Offline]]:
    seen = Offline()
    with browser.chromium(profile) as context:
        context.route("**/*", seen.route)
        yield context, seen


# --------------------------------------------------------------------------- pages


# Ready: every embedded widget view rendered (the manager fills the .widget-subarea next to
# each view script: WIDGET_VIEW) and MathJax typeset the page's math.
_WIDGETS_READY_JS = """(expected) => {
    const views = [...document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')];
    const rendered = views.filter((view) => {
        const area = view.parentElement.querySelector('.widget-subarea');
        return area && area.children.length > 0;
    });
    const mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.document;
    const typeset = !mathjax || document.querySelectorAll('mjx-container').length > 0
        || !document.body.textContent.includes('$');
    return views.length === expected && rendered.length === expected && typeset;
}"""


def open_page(context, seen: Offline, url: str, expected_widgets: int):
    """Open ``url``, wait until its widgets rendered, MathJax ran and the network is quiet."""
    page = context.new_page()
    seen.watch(page)
    page.goto(url, wait_until="load")
    try:
        page.wait_for_function(_WIDGETS_READY_JS, arg=expected_widgets, timeout=60_000, polling=200)
    except Exception as error:  # Playwright's TimeoutError, said with what the page holds
        raise AssertionError(
            f"{url}: not all of its {expected_widgets} widgets rendered, or its math was not "
            f"typeset, within 60 s; errors so far: {seen.console_errors + seen.page_errors}"
        ) from error
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.wait_for_load_state("networkidle")
    return page


def widget_views(page_html: str) -> int:
    """How many widgets a built page embeds (one view script per displayed widget)."""
    return page_html.count('<script type="application/vnd.jupyter.widget-view+json">')


# Canvas comparison, in the page. A pixel "differs" when a channel moved by more than
# PIXEL_TOLERANCE levels: once a canvas has been read back, Chromium may rasterise later frames
# on another path whose anti-aliasing differs by a level or two (measured: up to 8).
PIXEL_TOLERANCE = 16
MIN_CHANGED_PIXELS = 10
MAX_RESTORED_FRACTION = 5e-4
_SNAPSHOT_JS = """(root) => {
    root.lossbookReference = [...root.querySelectorAll('canvas')].map(
        (c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
}"""
_DIFFERING_PIXELS_JS = """([root, tolerance]) => {
    const canvases = [...root.querySelectorAll('canvas')];
    const reference = root.lossbookReference;
    let differing = 0;
    let total = 0;
    canvases.forEach((canvas, k) => {
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        total += pixels.length / 4;
        if (!reference[k] || reference[k].length !== pixels.length) {
            differing += pixels.length / 4;
            return;
        }
        for (let i = 0; i < pixels.length; i += 4) {
            for (let channel = 0; channel < 4; channel++) {
                if (Math.abs(pixels[i + channel] - reference[k][i + channel]) > tolerance) {
                    differing++;
                    break;
                }
            }
        }
    });
    return {differing, total};
}"""


_SET_VALUE_JS = """(input, value) => {
    input.value = value;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def drag(page, slider, low: float, high: float, value: float) -> None:
    """Drag ``slider``'s thumb with the mouse to the far side of its track, in steps."""
    box = slider.bounding_box()
    span = high - low if high > low else 1.0
    start = (value - low) / span
    end = 0.15 if start > 0.5 else 0.85
    y = box["y"] + box["height"] / 2
    # The thumb's centre travels the track less half a thumb (~16 px) at each end.
    track = max(box["width"] - 16, 1.0)
    page.mouse.move(box["x"] + 8 + start * track, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 8 + end * track, y, steps=8)
    page.mouse.up()


def move_every_slider(page, name: str) -> list[str]:
    """Drag every slider of every widget, one at a time from the page's initial values, and
    put it back; what did not redraw (or did not come back to the same pixels)."""
    problems = []
    widgets = page.locator(".lossbook-widget")
    for index in range(widgets.count()):
        root = widgets.nth(index)
        sliders = root.locator("input[type=range]")
        if root.locator("canvas").count() == 0 or sliders.count() == 0:
            problems.append(f"{name}: widget {index} has no canvas or no slider")
            continue
        for number in range(sliders.count()):
            slider = sliders.nth(number)
            slider.scroll_into_view_if_needed()
            label = f"{name}: widget {index} slider {number} ({slider.get_attribute('aria-label')})"
            root.evaluate(_SNAPSHOT_JS)
            before_value = slider.input_value()
            low, high = (float(slider.get_attribute(a) or d) for a, d in (("min", 0), ("max", 100)))
            drag(page, slider, low, high, float(before_value))
            moved_to = slider.input_value()
            if moved_to == before_value:
                problems.append(f"{label}: the drag did not move it from {before_value}")
                continue
            if not wait_for_canvas(page, root, changed=True):
                problems.append(f"{label}: moved {before_value} -> {moved_to}, canvas unchanged")
            # Back to where it was: the next slider starts from the page's own values.
            slider.evaluate(_SET_VALUE_JS, before_value)
            if not wait_for_canvas(page, root, changed=False):
                problems.append(f"{label}: back at {before_value}, the canvas is not as before")
    return problems


def wait_for_canvas(page, root, *, changed: bool, timeout_ms: int = 5_000) -> bool:
    """Wait until the widget's canvases differ from the snapshot (at least
    ``MIN_CHANGED_PIXELS``) or are back to it (at most ``MAX_RESTORED_FRACTION`` of the
    pixels differ); False on timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    condition = (
        f"differing >= {MIN_CHANGED_PIXELS}"
        if changed
        else f"differing <= total * {MAX_RESTORED_FRACTION}"
    )
    try:
        page.wait_for_function(
            f"""(arg) => {{
                const {{differing, total}} = ({_DIFFERING_PIXELS_JS})(arg);
                return {condition};
            }}""",
            arg=[root.element_handle(), PIXEL_TOLERANCE],
            timeout=timeout_ms,
            polling=100,
        )
    except PlaywrightTimeout:
        return False
    return True


def save_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="class")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    site.build_site(out, NOTEBOOKS, only=SUBSET)
    return out


@pytest.fixture(scope="class")
def visited(built, tmp_path_factory) -> Iterator[dict]:
    """Every page of the built site, opened offline; the pages stay open for the tests."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        with serve(built) as base, offline_browser(profile) as (context, seen):
            pages = {}
            for path in sorted(built.glob("*.html")):
                expected = widget_views(path.read_text())
                pages[path.name] = open_page(context, seen, f"{base}/{path.name}", expected)
            yield {"pages": pages, "seen": seen}
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# --------------------------------------------------------------------------- tests


def marked_lines(source: str, begin: str, end: str) -> list[str]:
    """The lines of ``source`` between nbgrader's ``### BEGIN <x>`` and ``### END <x>`` markers."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line or end in line:
            inside = begin in line
        elif inside:
            lines.append(line.strip())
    return lines


def page_text(page: str) -> str:
    """A page's text as a reader sees it (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.slow
class TestTwoChapters:
    """The fast build (``SUBSET``), opened once; its browser closes before the full build's."""

    def test_the_build_writes_an_index_and_a_page_per_chapter(self, built):
        assert sorted(p.name for p in built.glob("*.html")) == sorted(
            ["index.html", *(f"{chapter}.html" for chapter in SUBSET)]
        )
        index = (built / "index.html").read_text()
        for chapter in SUBSET:
            assert f'href="{chapter}.html"' in index
        for runtime in (
            "_static/require.js",
            "_static/html-manager/embed-amd.js",
            "_static/anywidget/index.js",
            "_static/mathjax/tex-chtml-full.js",
        ):
            assert (built / runtime).is_file(), runtime

    def test_pages_show_the_release_not_the_solutions(self, built):
        for chapter in SUBSET:
            page = (built / f"{chapter}.html").read_text()
            text = page_text(page)
            release_path = next((NOTEBOOKS / chapter).glob("*.ipynb"))
            release = "\n".join(c.source for c in nbformat.read(release_path, as_version=4).cells)
            solution = nbformat.read(REPO / "solutions" / chapter / release_path.name, as_version=4)
            withheld = [
                line
                for cell in solution.cells
                for markers in (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN", "END HIDDEN"))
                for line in marked_lines(cell.source, *markers)
                if len(line) > 20 and line not in release
            ]
            assert withheld, f"{chapter}: found no solution or hidden-test line to look for"
            shown = [line for line in withheld if line in text]
            assert not shown, f"{chapter}: the page shows withheld lines: {shown}"
            assert "YOUR CODE HERE" in text  # the exercise cells, as handed out
            assert "celltag_lossbook-exercise" in page and "celltag_lossbook-check" in page
            # Exercises are exercises: no traceback anywhere on the page.
            assert "Traceback (most recent call last)" not in text

    def test_pages_link_jupyterlab_binder_colab_and_the_notebook(self, built):
        for chapter in SUBSET:
            page = (built / f"{chapter}.html").read_text()
            release = next((NOTEBOOKS / chapter).glob("*.ipynb"))
            for link in site.launch_links(f"{chapter}/{release.name}"):
                assert f'href="{link.url}"' in page, link
            assert (
                built / "notebooks" / chapter / release.name
            ).read_bytes() == release.read_bytes()

    def test_no_request_leaves_the_host_and_nothing_fails(self, visited):
        seen = visited["seen"]
        assert visited["pages"], "no page opened"
        assert not seen.blocked, f"requests to other hosts: {seen.blocked}"
        assert not seen.failed, f"requests that failed: {seen.failed}"
        assert not seen.console_errors, f"console errors: {seen.console_errors}"
        assert not seen.page_errors, f"uncaught errors: {seen.page_errors}"

    def test_every_widget_renders_and_math_is_typeset(self, visited, built):
        for name, page in visited["pages"].items():
            expected = widget_views((built / name).read_text())
            if name != "index.html":
                assert expected > 0, f"{name} embeds no widget"
                assert page.locator("mjx-container").count() > 0, f"{name}: no typeset math"
                assert page.locator(".lossbook-widget").count() > 0, f"{name}: no lossbook widget"
            assert page.locator(".widget-error").count() == 0, name
            assert page.get_by_text("Error displaying widget").count() == 0, name

    def test_every_slider_redraws_its_canvas_without_a_kernel(self, visited):
        problems = []
        for name, page in visited["pages"].items():
            if name == "index.html":
                continue
            found = move_every_slider(page, name)
            if found:
                save_screenshot(page, name.removesuffix(".html"))
            problems += found
        assert not problems, "\n".join(problems)
        seen = visited["seen"]
        assert (
            not seen.blocked
            and not seen.failed
            and not seen.console_errors
            and not seen.page_errors
        )


@pytest.mark.slow
def test_full_site_builds_and_works_offline(tmp_path):
    """All chapters (``make site``): the build succeeds, every page loads offline and every
    slider of every chapter redraws its canvas."""
    out, problems = tmp_path / "site", []
    pages = site.build_site(out, NOTEBOOKS)
    assert len(pages) == len(list(NOTEBOOKS.glob("*/*.ipynb")))
    with serve(out) as base, offline_browser(tmp_path / "profile") as (context, seen):
        for path in sorted(out.glob("*.html")):
            page = open_page(context, seen, f"{base}/{path.name}", widget_views(path.read_text()))
            assert page.get_by_text("Error displaying widget").count() == 0, path.name
            assert page.locator(".widget-error").count() == 0, path.name
            if path.name != "index.html":
                problems += move_every_slider(page, path.name)
            page.close()
    assert not problems, "\n".join(problems)
    assert not seen.blocked, f"requests to other hosts: {seen.blocked}"
    assert not seen.failed, f"requests that failed: {seen.failed}"
    assert not seen.console_errors and not seen.page_errors, (seen.console_errors, seen.page_errors)


# --------------------------------------------------------------------------- fast: the pieces


def executed_cell(source: str, outputs=(), **metadata) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.outputs = list(outputs)
    return cell


def error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=["..."])


def test_present_as_released_labels_exercises_and_reports_only_real_failures():
    printed = nbformat.v4.new_output("stream", name="stdout", text="hello\n")
    nb = nbformat.v4.new_notebook(
        cells=[
            executed_cell("import torch\nlogits = torch.zeros(2)"),
            executed_cell(
                "# per_sample = ...\nraise NotImplementedError()",
                [printed, error("NotImplementedError", "")],
                nbgrader={"solution": True, "grade": False},
            ),
            executed_cell(
                "check(per_sample)",
                [error("GradingError", "wrong")],
                nbgrader={"grade": True, "solution": False},
            ),
            executed_cell(
                "print(per_sample)",
                [printed, error("NameError", "name 'per_sample' is not defined")],
            ),
            executed_cell("mse(logits)", [error("NotImplementedError", "")]),
            executed_cell("print(logits.foo)", [error("AttributeError", "no foo")]),
            executed_cell("print(logits)", [error("NameError", "name 'logits' is not defined")]),
            executed_cell(
                "1 / 0", [error("ZeroDivisionError", "division by zero")], tags=["raises-exception"]
            ),
        ]
    )
    problems = site.present_as_released(nb)

    assert [p.cell for p in problems] == [5, 6]
    assert [p.ename for p in problems] == ["AttributeError", "NameError"]
    exercise, check, waiting, unanswered = nb.cells[1:5]
    assert exercise.metadata.tags == ["lossbook-exercise"] and exercise.outputs == [printed]
    assert check.metadata.tags == ["lossbook-check"] and check.outputs == []
    for cell in (waiting, unanswered):
        assert [o.output_type for o in cell.outputs] == ["display_data"]
        assert site.AWAITS_ANSWER in cell.outputs[0].data["text/plain"]
    assert nb.cells[7].outputs[0].ename == "ZeroDivisionError"


def test_links_need_a_github_repository():
    with pytest.raises(site.SiteBuildError, match="github.com/<owner>/<name>"):
        site.launch_links("02_regression/regression.ipynb", "https://gitlab.com/a/b")
    links = site.launch_links("a b/c.ipynb", "https://github.com/o/r/", "dev")
    assert [link.kind for link in links] == ["lab", "binder", "colab", "download"]
    assert (
        links[2].url
        == "https://colab.research.google.com/github/o/r/blob/dev/notebooks/a%20b/c.ipynb"
    )


def test_the_build_refuses_to_empty_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(site.SiteBuildError, match="not built by lossbook.course.site"):
        site.prepare_output(tmp_path)
    assert (tmp_path / "precious.txt").exists()
    out = tmp_path / "site"
    site.prepare_output(out)
    (out / "old.html").write_text("from the last build")
    site.prepare_output(out)
    assert sorted(p.name for p in out.iterdir()) == [site.MARKER]


def test_an_unknown_chapter_is_named_with_the_known_ones():
    with pytest.raises(site.SiteBuildError, match="no such assignment.*02_regression"):
        site.find_chapters(NOTEBOOKS, only=["99_nothing"])
    chapters = site.find_chapters(NOTEBOOKS, only=["02_regression"])
    assert [c.page for c in chapters] == ["02_regression.html"]
    assert chapters[0].title.startswith("Chapter 2")


def test_the_kernel_runs_widgets_live():
    environment = site.kernel_environment(
        {"LOSSBOOK_STATIC": "1", "NBGRADER_EXECUTION": "1", "MPLBACKEND": "Agg", "HOME": "/h"}
    )
    assert environment == {"HOME": "/h"}


def test_cells_downstream_of_an_exercise_wait_and_downstream_of_a_bug_fail():
    nb = nbformat.v4.new_notebook(
        cells=[
            executed_cell("from lossbook.nowhere import helper", [error("ImportError", "no")]),
            executed_cell(
                "def standardize(X):\n    raise NotImplementedError()",
                nbgrader={"solution": True},
            ),
            executed_cell(
                "results = {}\nX = standardize(data)", [error("NotImplementedError", "")]
            ),
            executed_cell("Y = X + 1", [error("NameError", "name 'X' is not defined")]),
            executed_cell("best = 1 / len(results)", [error("ZeroDivisionError", "by zero")]),
            executed_cell("helper(Y)", [error("NameError", "name 'helper' is not defined")]),
            executed_cell("z = helper", [error("NameError", "name 'helper' is not defined")]),
        ]
    )
    problems = site.present_as_released(nb)
    # helper(Y) reads Y, which waits for the exercise: a note, not a failure.
    assert [(p.cell, p.ename) for p in problems] == [(0, "ImportError"), (6, "NameError")]
    for cell in nb.cells[2:6]:
        assert [o.output_type for o in cell.outputs] == ["display_data"], cell.source
