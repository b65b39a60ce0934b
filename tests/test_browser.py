"""The course in a real browser: JupyterLab + Chromium, live widgets, keyboard on the sliders.

One JupyterLab server (live kernels: no ``LOSSBOOK_STATIC``) and one headless
Chromium serve the whole module (see ``tests/browser.py``). It checks that

- a notebook displaying every widget of :mod:`lossbook.course.widgets` runs without
  errors and shows live widgets, each with its sliders, canvas and numbers;
- on every slider of every widget, arrow keys move the value by its step,
  and a mouse drag of the thumb moves it too: the numbers follow, the
  canvas's pixels change, going back restores the very same pixels (the
  figure is a function of the slider values), and the kernel's
  ``widget.values`` follow (the notebook's first cell records them after each
  step the browser sends: ``browser.KERNEL_VALUES_SPY``), equal to what the
  page prints;
- the page raised no exception and logged no console error meanwhile;
- every course notebook in ``solutions/`` runs top to bottom from the Run
  menu without an error output or a console error, and its widgets display;
- the nbgrader JupyterLab extension is loaded (Validate button, Nbgrader menu).

Screenshots go to ``artifacts/browser/`` (git-ignored); the cross-entropy
pipeline widget's to ``tests/screenshots/cross_entropy_pipeline.png``, the
picture in the README.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from lossbook.course import widgets
from tests import browser

pytestmark = pytest.mark.slow

WIDGET_NAMES = list(widgets.WIDGETS)
COURSE_NOTEBOOKS = sorted(
    p.relative_to(browser.REPO / "solutions").as_posix()
    for p in (browser.REPO / "solutions").glob("*/*.ipynb")
)
KEY_PRESSES = 3
DRAG_MOVES = 12
WIDGETS_NOTEBOOK = "widgets.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[browser.Lab]:
    base = tmp_path_factory.mktemp("browser")
    root = base / "root"
    root.mkdir()
    browser.copy_course_notebooks(root)
    browser.write_widgets_notebook(
        root / WIDGETS_NOTEBOOK, WIDGET_NAMES, setup=browser.KERNEL_VALUES_SPY
    )
    with browser.jupyter_lab(root, base / "state") as server:
        yield server


@pytest.fixture(scope="module")
def context(lab, tmp_path_factory) -> Iterator:
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        with browser.chromium(profile) as browser_context:
            yield browser_context
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def widgets_page(lab, context) -> Iterator[browser.NotebookPage]:
    notebook = browser.NotebookPage(context, lab, WIDGETS_NOTEBOOK, workspace="widgets")
    try:
        with saving_page_on_failure(notebook, "widgets-notebook"):
            notebook.start_run_all()
            notebook.wait_until_run()
        yield notebook
    finally:
        notebook.close()


@pytest.fixture(scope="module")
def chapters_page(lab, context) -> Iterator[dict]:
    """One JupyterLab page for the chapters, opened by the first chapter's test."""
    holder: dict[str, browser.NotebookPage] = {}
    try:
        yield holder
    finally:
        if "page" in holder:
            holder["page"].close()


@contextlib.contextmanager
def saving_page_on_failure(notebook: browser.NotebookPage, name: str) -> Iterator[None]:
    """Keep a full-page screenshot in artifacts/browser/ when the block fails."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            notebook.screenshot(browser.ARTIFACTS / f"failure-{name}.png")
        raise


def slider_specs(name: str) -> dict[str, dict]:
    """Slider name → min, max, step, start value and readout format, as the kernel builds them."""
    widget = widgets.WIDGETS[name](**browser.WIDGET_ARGUMENTS.get(name, {}))
    return {
        slider_name: {
            "min": spec.min,
            "max": spec.max,
            "step": spec.step,
            "value": spec.value,
            "format": f".{widgets._decimals(spec.step)}f",
        }
        for slider_name, spec in widget.sliders.items()
    }


def test_widgets_notebook_runs_live(widgets_page):
    state = widgets_page.run_state
    assert widgets_page.error_texts() == []
    assert state.numbered == state.cells == len(WIDGET_NAMES) + 1, state
    assert widgets_page.widget_display_errors() == []
    page = widgets_page.page
    # Static mode would show a bare PNG: live widgets mean the kernel saw no LOSSBOOK_STATIC.
    assert page.locator(".lossbook-widget").count() == len(WIDGET_NAMES)
    for index, name in enumerate(WIDGET_NAMES):
        widget = browser.WidgetHandle(page, index)
        widget.root.scroll_into_view_if_needed()
        widget.wait_until_settled()
        assert widget.plot.evaluate("(canvas) => canvas.getBoundingClientRect().width") > 300
        assert widget.values.inner_text().strip(), name
        assert widget.slider_names() == list(slider_specs(name)), name
        for slider in widget.slider_names():
            assert widget.handle(slider).get_attribute("data-lm-suppress-shortcuts") == "true"
        shot = widget.root.screenshot(path=str(browser.ARTIFACTS / f"{name}.png"))
        if name == "cross_entropy_pipeline":
            browser.README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            browser.README_SCREENSHOT.write_bytes(shot)


def test_nbgrader_extension_is_loaded(widgets_page):
    page = widgets_page.page
    validate = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    assert validate.count() == 1
    assert validate.inner_text().strip() == "Validate"
    menus = [text.strip() for text in page.locator(".lm-MenuBar-item").all_inner_texts()]
    assert "Nbgrader" in menus


@pytest.mark.parametrize("name", WIDGET_NAMES)
def test_arrow_keys_move_every_slider_and_redraw(lab, widgets_page, name):
    widget = browser.WidgetHandle(widgets_page.page, WIDGET_NAMES.index(name))
    with saving_page_on_failure(widgets_page, f"{name}-keys"):
        for slider, spec in slider_specs(name).items():
            check_keys(lab, widget, name, slider, spec)


@pytest.mark.parametrize("name", WIDGET_NAMES)
def test_mouse_drags_every_slider_and_redraw(lab, widgets_page, name):
    widget = browser.WidgetHandle(widgets_page.page, WIDGET_NAMES.index(name))
    with saving_page_on_failure(widgets_page, f"{name}-mouse"):
        for slider, spec in slider_specs(name).items():
            check_mouse(lab, widget, name, slider, spec)


def assert_kernel_follows(lab, widget: browser.WidgetHandle, name: str, label: str) -> None:
    """The kernel's ``values`` reach what the page shows (the page prints 4 digits)."""
    shown = widget.shown_values()
    deadline = time.monotonic() + 30
    recorded = browser.kernel_values(lab.root, name)
    while recorded != shown and time.monotonic() < deadline:
        time.sleep(0.1)
        recorded = browser.kernel_values(lab.root, name)
    assert recorded == shown, f"{label}: the kernel's values do not follow the page"


def check_keys(lab, widget: browser.WidgetHandle, name: str, slider: str, spec: dict) -> None:
    def readout_of(value: float) -> str:
        return format(value, spec["format"])

    label = f"{name}.{slider}"
    shots = browser.ARTIFACTS / "sliders"
    widget.handle(slider).scroll_into_view_if_needed()
    widget.wait_until_settled()
    assert browser.readout_value(widget.readout(slider)) == pytest.approx(spec["value"]), label
    start_values = widget.values.inner_text()
    start_pixels = widget.plot_pixels(shots / f"{label}-start.png")

    # Towards the side with room for every press.
    direction = 1 if spec["value"] + KEY_PRESSES * spec["step"] <= spec["max"] else -1
    forward, back = ("ArrowRight", "ArrowLeft")[::direction]
    moved = browser.step_value(
        spec["value"], spec["step"], direction * KEY_PRESSES, spec["min"], spec["max"]
    )
    widget.press(slider, forward, KEY_PRESSES)
    widget.wait_until_settled(shows=f"{slider} = {browser.format_number(moved)}")
    assert browser.readout_value(widget.readout(slider)) == pytest.approx(moved), (
        f"{label}: {KEY_PRESSES} × {forward} should move the slider from "
        f"{readout_of(spec['value'])} to {readout_of(moved)}, one step ({spec['step']}) per key"
    )
    moved_values = widget.values.inner_text()
    assert moved_values != start_values, f"{label}: the numbers did not change"
    shown = widget.shown_values().get(slider)
    assert shown is not None, f"{label}: {slider} missing from the numbers: {moved_values!r}"
    assert float(shown) == pytest.approx(moved, rel=1e-3, abs=1e-9), label
    moved_pixels = widget.plot_pixels(shots / f"{label}-moved.png")
    assert browser.pixels_differ(start_pixels, moved_pixels) > 0, (
        f"{label}: the numbers changed but the canvas's pixels did not"
    )
    assert_kernel_follows(lab, widget, name, f"{label} after {forward}")

    widget.press(slider, back, KEY_PRESSES)
    widget.wait_until_settled(shows=f"{slider} = {browser.format_number(spec['value'])}")
    assert browser.readout_value(widget.readout(slider)) == pytest.approx(spec["value"]), label
    assert widget.values.inner_text() == start_values, f"{label}: numbers differ after going back"
    back_pixels = widget.plot_pixels(shots / f"{label}-back.png")
    differing = browser.pixels_differ(start_pixels, back_pixels)
    assert differing == 0, (
        f"{label}: back at the start value the canvas differs in {differing} pixels: "
        "the figure should depend on the slider values only"
    )
    assert_kernel_follows(lab, widget, name, f"{label} after {back}")


def check_mouse(lab, widget: browser.WidgetHandle, name: str, slider: str, spec: dict) -> None:
    """Drag the thumb by about DRAG_STEPS steps, see everything follow, then key back."""
    label = f"{name}.{slider}"
    low, high, step = spec["min"], spec["max"], spec["step"]
    widget.handle(slider).scroll_into_view_if_needed()
    widget.wait_until_settled()
    start = browser.readout_value(widget.readout(slider))
    start_values = widget.values.inner_text()
    start_pixels = widget.plot_pixels()
    px_per_step = widget.pixels_per_step(slider, step, low, high)
    # At least one step per move, a pixel at the least.
    dx = max(1.0, px_per_step)
    steps_per_move = dx / px_per_step
    direction = 1 if start + DRAG_MOVES * steps_per_move * step <= high else -1
    widget.drag(slider, start, low, high, direction * dx, DRAG_MOVES)
    widget.wait_until_settled()
    moved = browser.readout_value(widget.readout(slider))
    assert direction * (moved - start) >= step * DRAG_MOVES * 0.5, (
        f"{label}: a {DRAG_MOVES}-move mouse drag took the slider from {start} only to {moved}"
    )
    shown = widget.shown_values().get(slider)
    assert float(shown) == pytest.approx(moved, rel=1e-3, abs=1e-9), label
    assert widget.values.inner_text() != start_values, f"{label}: the numbers did not change"
    assert browser.pixels_differ(start_pixels, widget.plot_pixels()) > 0, (
        f"{label}: the mouse moved the slider but not the canvas's pixels"
    )
    assert_kernel_follows(lab, widget, name, f"{label} after a mouse drag")

    back = "ArrowLeft" if moved > start else "ArrowRight"
    widget.press(slider, back, round(abs(moved - start) / step), interval_s=0.01)
    widget.wait_until_settled(shows=f"{slider} = {browser.format_number(start)}")
    assert widget.values.inner_text() == start_values, f"{label}: numbers differ after going back"
    assert browser.pixels_differ(start_pixels, widget.plot_pixels()) == 0, label
    assert_kernel_follows(lab, widget, name, f"{label} back")


def test_no_errors_in_the_page_after_moving_every_slider(widgets_page):
    """Widget views and extensions raised nothing and logged no error in the browser console."""
    assert widgets_page.page_errors == []
    assert widgets_page.console_errors == []


@pytest.mark.parametrize("notebook", COURSE_NOTEBOOKS)
def test_course_notebook_runs_in_the_browser(lab, context, chapters_page, notebook):
    # One chapter at a time: on two cores, running them side by side is no faster.
    assignment = notebook.split("/")[0]
    if "page" in chapters_page:
        page = chapters_page["page"]
        page.open_next(notebook)
    else:
        page = chapters_page["page"] = browser.NotebookPage(context, lab, notebook, "chapters")
    with saving_page_on_failure(page, assignment):
        page.start_run_all()
        state = page.wait_until_run(timeout_s=300)
        errors = page.error_texts()
        assert errors == [], f"{notebook}: error output in the browser:\n" + "\n\n".join(errors)
        assert state.numbered == state.cells, f"{notebook}: not every cell ran: {state}"
        assert page.widget_display_errors() == []
        assert page.page_errors == []
        assert page.console_errors == []
        source = (browser.REPO / "solutions" / notebook).read_text()
        if "widgets." in source:
            assert page.page.locator(".lossbook-widget").count() > 0, (
                f"{notebook} uses lossbook.course.widgets but shows no live widget"
            )
        page.screenshot(browser.ARTIFACTS / f"{assignment}.png")


def test_stopping_the_server_ends_processes_in_other_sessions(tmp_path):
    """Kernels run in sessions of their own: a process-group kill alone would miss them."""
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    child_pid = int(parent.stdout.readline())
    assert browser.descendants(parent.pid) == [child_pid]
    browser.stop_process_tree(parent, grace_s=2)
    parent.stdout.close()
    assert parent.poll() is not None
    assert not browser.is_running(child_pid)
