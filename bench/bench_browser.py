"""How fast do the widgets answer a slider, seen from the browser? JupyterLab + Chromium.

The browser half of the widget benchmark (``bench/bench_widgets.py`` times
the kernel side). It starts JupyterLab on localhost (live kernel), opens one
notebook in headless Chromium (``tests/browser.py``) that shows, in the same
page and the same run:

- **new**: every widget of :data:`lossbook.course.widgets.WIDGETS`, drawn by
  its ES module on a canvas, sliders in the page;
- **old**: the design the course had before (kept here only, as the
  baseline): ipywidgets sliders whose every step is a kernel round trip, the
  kernel computing :func:`~lossbook.course.widgets.regression_penalties` with
  lossbook, blitting its matplotlib figure and sending a PNG to an
  ``ipywidgets.Image``; and the floor of that design, a PNG swap with no
  computing at all.

It measures, in the page:

- **step → frame**: for one arrow-key press on a slider, the time from the
  ``keydown`` event to the first animation frame that shows the step (new:
  the canvas was drawn, the widget fired ``lossbook:drawn``; old: the new
  PNG has loaded). ``--steps`` presses per widget, spread over its sliders,
  each waiting for the previous frame; p50 / p95 / max.
- **drag**: ``--drag-steps`` key presses in a row every ``--key-interval-ms``
  (keyboard auto-repeat), then a mouse drag of as many moves every
  ``--mouse-interval-ms``, each move at least one slider step. Each value
  the slider passes through is a step; a step is drawn when an animation
  frame shows it. Every step drawn means ``drawn == steps``. Keyboard steps
  that arrive within one frame show only the later one (the screen cannot
  show both); the mouse at 33 ms gives every step a frame of its own. Also:
  the time from the last input to the final frame.

Targets: step → frame p95 <= 16 ms (one 60 Hz frame) for every widget; every
step of a 29-step mouse drag at 33 ms drawn. Times are wall-clock on whatever
machine this runs on; the load average is printed, because on a shared
2-core machine the kernel, the server and Chromium wait for a core.

Run: ``.venv/bin/python bench/bench_browser.py [--steps 24] [--drag-steps 29]
[--widgets NAME ...] [--no-old]``. Exit code 0; the numbers are the report.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lossbook.course import widgets  # noqa: E402  (after the sys.path entry above)
from tests import browser  # noqa: E402

STEP_TARGET_MS = 16.0
OLD_DESIGN = "old: kernel round trip"
PNG_SWAP = "old: PNG swap, no compute"

# The course's widgets before they drew in the browser, reduced to one widget:
# ipywidgets sliders observed in the kernel, lossbook computing the numbers and
# blitting the matplotlib figure (a static LossWidget does exactly that on .set),
# a PNG into an Image and the numbers into an HTML, every step.
OLD_DESIGN_CELL = """\
import ipywidgets as _ipywidgets

with widgets.force_live(False):
    _old = widgets.regression_penalties()


def _old_numbers():
    return "".join(
        f"<code>{name} = {widgets._format_number(value)}</code>&emsp;"
        for name, value in _old.values.items()
    )


_old_image = _ipywidgets.Image(value=_old.png(), format="png")
_old_image.add_class("lossbook-plot")
_old_values = _ipywidgets.HTML(_old_numbers())
_old_values.add_class("lossbook-values")
_old_sliders = []
for _spec in _old.sliders.values():
    _slider = _ipywidgets.FloatSlider(
        value=_spec.value, min=_spec.min, max=_spec.max, step=_spec.step,
        description=_spec.description, continuous_update=True,
        readout_format=f".{widgets._decimals(_spec.step)}f",
        layout=_ipywidgets.Layout(width="420px"), style={"description_width": "110px"},
    )
    _slider.add_class(f"lossbook-slider-{_spec.name}")

    def _step(change, name=_spec.name):
        _old.set(**{name: change.new})
        _old_image.value = _old.png()
        _old_values.value = _old_numbers()

    _slider.observe(_step, names="value")
    _old_sliders.append(_slider)
_old_box = _ipywidgets.VBox([*_old_sliders, _old_image, _old_values])
_old_box.add_class("lossbook-roundtrip")
_old_box
"""

# The old design's floor: the same messages and DOM, no computing or drawing.
PNG_SWAP_CELL = """\
_pngs = [_old.set(residual=-2.5 + 0.05 * i).png() for i in range(101)]
_old.set(residual=2.0)
_swap_slider = _ipywidgets.FloatSlider(
    value=0.5, min=0.0, max=1.0, step=0.01, description="x", continuous_update=True,
    readout_format=".2f", layout=_ipywidgets.Layout(width="420px"),
    style={"description_width": "110px"},
)
_swap_slider.add_class("lossbook-slider-x")
_swap_image = _ipywidgets.Image(value=_pngs[50], format="png")
_swap_image.add_class("lossbook-plot")
_swap_numbers = _ipywidgets.HTML("<code>x = 0.5</code>")
_swap_numbers.add_class("lossbook-values")


def _swap(change):
    _swap_image.value = _pngs[round(change.new * 100)]
    _swap_numbers.value = f"<code>x = {widgets._format_number(change.new)}</code>"


_swap_slider.observe(_swap, names="value")
_swap_box = _ipywidgets.VBox([_swap_slider, _swap_image, _swap_numbers])
_swap_box.add_class("lossbook-roundtrip")
_swap_box
"""

# Installed in the page: timestamps of every input and of every frame that shows a step.
_RECORDER_JS = """() => {
    const record = {
        keys: [], moves: [], frames: [], values: [], srcs: [], numbers: [], draws: [],
    };
    document.addEventListener('keydown', (event) => record.keys.push(event.timeStamp), true);
    document.addEventListener('pointermove', (event) => {
        if (event.buttons) { record.moves.push(event.timeStamp); }
    }, true);
    const sliderOf = (node) => [...node.closest('[class*="lossbook-slider-"]').classList]
        .find((c) => c.startsWith('lossbook-slider-')).slice('lossbook-slider-'.length);

    // New: the canvas is drawn in the input event; the next animation frame shows the
    // last state drawn before it.
    document.querySelectorAll('.lossbook-widget').forEach((root, widget) => {
        let pending = null;
        root.addEventListener('lossbook:drawn', (event) => {
            record.draws.push({widget, ms: event.detail.ms});
            const scheduled = pending !== null;
            pending = event.detail.state;
            if (!scheduled) {
                requestAnimationFrame(() => {
                    record.frames.push({design: 'new', widget, t: performance.now(), state: pending});
                    pending = null;
                });
            }
        });
        root.addEventListener('input', (event) => record.values.push({
            design: 'new', widget, slider: sliderOf(event.target), t: performance.now(),
            value: event.target.valueAsNumber,
        }), true);
    });

    // Old: a frame after the kernel's PNG has loaded; the numbers that belong to it are
    // the first that appear after its src was set (the kernel sends the image first).
    document.querySelectorAll('.lossbook-roundtrip').forEach((root, widget) => {
        const img = root.querySelector('img.lossbook-plot');
        new MutationObserver(() => record.srcs.push({widget, t: performance.now(), src: img.src}))
            .observe(img, {attributes: true, attributeFilter: ['src']});
        const numbers = root.querySelector('.lossbook-values');
        new MutationObserver(() => record.numbers.push({
            widget, t: performance.now(), text: numbers.textContent,
        })).observe(numbers, {childList: true, characterData: true, subtree: true});
        img.addEventListener('load', () => {
            const src = img.currentSrc;
            requestAnimationFrame(() => record.frames.push(
                {design: 'old', widget, t: performance.now(), src}));
        });
        root.querySelectorAll('.widget-readout').forEach((readout) => {
            new MutationObserver(() => record.values.push({
                design: 'old', widget, slider: sliderOf(readout), t: performance.now(),
                value: Number(readout.textContent.replace('\\u2212', '-')),
            })).observe(readout, {childList: true, characterData: true, subtree: true});
        });
    });
    window.lossbookBench = record;
}"""
_RESET_JS = """() => {
    for (const list of Object.values(window.lossbookBench)) { list.length = 0; }
}"""
_READ_JS = "() => JSON.parse(JSON.stringify(window.lossbookBench))"


@dataclass
class Target:
    """One widget on the page: its design, index among its design's roots, slider specs."""

    name: str
    design: str  # "new" | "old"
    index: int
    specs: dict[str, widgets.Slider]

    def root(self, page):
        selector = ".lossbook-widget" if self.design == "new" else ".lossbook-roundtrip"
        return page.locator(selector).nth(self.index)

    def knob(self, page, slider: str):
        part = "input[type=range]" if self.design == "new" else ".noUi-handle"
        return self.root(page).locator(f".lossbook-slider-{slider} {part}")

    def readout(self, page, slider: str) -> float:
        part = ".lossbook-readout" if self.design == "new" else ".widget-readout"
        # textContent: innerText is empty while JupyterLab skips rendering an off-screen cell.
        text = self.root(page).locator(f".lossbook-slider-{slider} {part}").text_content()
        return browser.readout_value(text.strip())

    def frames(self, record: dict) -> list[dict]:
        return [
            f for f in record["frames"] if f["design"] == self.design and f["widget"] == self.index
        ]


@dataclass
class Drag:
    steps: int
    drawn: int
    input_interval_ms: float
    last_input_to_frame_ms: float


def slider_specs(name: str) -> dict[str, widgets.Slider]:
    if name == PNG_SWAP:
        return {"x": widgets.Slider("x", 0.0, 1.0, 0.01, 0.5, "x")}
    factory = widgets.WIDGETS["regression_penalties" if name == OLD_DESIGN else name]
    built = factory(**browser.WIDGET_ARGUMENTS.get(name, {}))
    return dict(built.sliders)


def room(spec: widgets.Slider, value: float, steps: float) -> int:
    """+1 when ``steps`` steps up from ``value`` stay in range, else -1."""
    return 1 if value + steps * spec.step <= spec.max + 1e-9 else -1


def shown_value(numbers: str, slider: str) -> float | None:
    """The slider's value as the numbers under an old widget's plot print it."""
    value = browser.parse_values(numbers).get(slider)
    return None if value is None else float(value)


def frame_value(target: Target, record: dict, frame: dict, slider: str) -> float | None:
    """The value of ``slider`` that a frame shows."""
    if target.design == "new":
        return frame["state"][slider]
    set_at = next(
        (
            s["t"]
            for s in record["srcs"]
            if s["widget"] == target.index and s["src"] == frame["src"]
        ),
        None,
    )
    if set_at is None:
        return None
    later = [n for n in record["numbers"] if n["widget"] == target.index and n["t"] >= set_at]
    return shown_value(later[0]["text"], slider) if later else None


def wait_for_frame(page, target: Target, after: float, timeout_s: float = 20.0) -> dict | None:
    """The first frame of ``target`` later than page time ``after``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frames = [f for f in target.frames(page.evaluate(_READ_JS)) if f["t"] > after]
        if frames:
            return frames[0]
        time.sleep(0.005)
    return None


def settle(page, target: Target, quiet_s: float = 0.3) -> None:
    """Wait until no frame of ``target`` came for ``quiet_s`` (the kernel is idle again)."""
    deadline = time.monotonic() + 30
    count = -1
    while time.monotonic() < deadline:
        frames = len(target.frames(page.evaluate(_READ_JS)))
        if frames == count:
            return
        count = frames
        time.sleep(quiet_s)


def measure_steps(page, target: Target, steps: int) -> tuple[list[float], list[float]]:
    """``steps`` single key presses, spread over the sliders, one frame at a time.

    Returns the step → frame times and (new design) the time the widget's
    own drawing code took for each step, both in ms.
    """
    per_slider = -(-steps // len(target.specs))
    times, draws = [], []
    for slider, spec in target.specs.items():
        half = max(1, per_slider // 2)
        value = target.readout(page, slider)
        keys = ["ArrowRight", "ArrowLeft"][:: room(spec, value, half)]
        plan = [keys[0]] * half + [keys[1]] * (per_slider - half)
        knob = target.knob(page, slider)
        knob.scroll_into_view_if_needed()
        knob.focus()
        settle(page, target)
        for key in plan:
            page.evaluate(_RESET_JS)
            page.keyboard.press(key)
            pressed = page.evaluate(_READ_JS)["keys"][0]
            frame = wait_for_frame(page, target, pressed)
            if frame is None:
                raise RuntimeError(f"{target.name}.{slider}: no frame within 20 s of {key}")
            times.append(frame["t"] - pressed)
            draws += [
                d["ms"] for d in page.evaluate(_READ_JS)["draws"] if d["widget"] == target.index
            ]
            if target.design == "old":
                settle(page, target, quiet_s=0.1)  # every step starts from an idle kernel
    return times, draws


def drag_summary(page, target: Target, slider: str, spec: widgets.Slider) -> Drag:
    """Steps the slider went through, how many a frame showed, after the input ended."""
    settle(page, target)
    record = page.evaluate(_READ_JS)

    def grid(value: float) -> int:
        return round((value - spec.min) / spec.step)

    passed = {
        grid(v["value"])
        for v in record["values"]
        if v["design"] == target.design and v["widget"] == target.index and v["slider"] == slider
    }
    frames = target.frames(record)
    drawn = {
        grid(value)
        for value in (frame_value(target, record, f, slider) for f in frames)
        if value is not None
    }
    inputs = sorted(record["keys"]) or sorted(record["moves"])
    intervals = [later - earlier for earlier, later in zip(inputs, inputs[1:], strict=False)]
    final = max((f["t"] for f in frames), default=float("nan"))
    return Drag(
        len(passed),
        len(passed & drawn),
        statistics.mean(intervals) if intervals else float("nan"),
        final - inputs[-1] if inputs else float("nan"),
    )


def key_drag(page, target: Target, steps: int, interval_ms: float) -> Drag:
    slider, spec = next(iter(target.specs.items()))
    key = "ArrowRight" if room(spec, target.readout(page, slider), steps) > 0 else "ArrowLeft"
    knob = target.knob(page, slider)
    knob.scroll_into_view_if_needed()
    knob.focus()
    settle(page, target)
    page.evaluate(_RESET_JS)
    due = time.perf_counter()
    for _ in range(steps):
        page.keyboard.press(key)
        due += interval_ms / 1000
        time.sleep(max(0.0, due - time.perf_counter()))
    return drag_summary(page, target, slider, spec)


def mouse_drag(page, target: Target, steps: int, interval_ms: float) -> Drag:
    """Drag the first slider's thumb by ``steps`` moves of at least one slider step each."""
    slider, spec = next(iter(target.specs.items()))
    knob = target.knob(page, slider)
    knob.scroll_into_view_if_needed()
    settle(page, target)
    value = target.readout(page, slider)
    if target.design == "new":
        handle = browser.WidgetHandle(page, target.index)
        px_per_step = handle.pixels_per_step(slider, spec.step, spec.min, spec.max)
        x, y = handle.thumb_position(slider, value, spec.min, spec.max)
    else:
        track = target.root(page).locator(f".lossbook-slider-{slider} .noUi-target").bounding_box()
        px_per_step = track["width"] / ((spec.max - spec.min) / spec.step)
        box = knob.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    dx = max(1.0, px_per_step) * 1.01  # past the middle between two steps
    direction = room(spec, value, steps * dx / px_per_step)
    page.mouse.move(x, y)
    page.evaluate(_RESET_JS)
    page.mouse.down()
    due = time.perf_counter()
    for move in range(1, steps + 1):
        page.mouse.move(x + direction * move * dx, y)
        due += interval_ms / 1000
        time.sleep(max(0.0, due - time.perf_counter()))
    page.mouse.up()
    return drag_summary(page, target, slider, spec)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24, help="key presses per widget (>= 20)")
    parser.add_argument("--drag-steps", type=int, default=29)
    parser.add_argument("--key-interval-ms", type=float, default=33.0)
    parser.add_argument("--mouse-interval-ms", type=float, default=33.0)
    parser.add_argument("--widgets", nargs="*", default=list(widgets.WIDGETS))
    parser.add_argument("--no-old", action="store_true", help="skip the old design's baselines")
    args = parser.parse_args()

    targets = [
        Target(name, "new", index, slider_specs(name)) for index, name in enumerate(args.widgets)
    ]
    if not args.no_old:
        targets += [
            Target(name, "old", index, slider_specs(name))
            for index, name in enumerate([OLD_DESIGN, PNG_SWAP])
        ]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lossbook-bench-browser-") as scratch:
        base = Path(scratch)
        root = base / "root"
        root.mkdir()
        browser.write_widgets_notebook(
            root / "widgets.ipynb",
            args.widgets,
            extra_cells=[] if args.no_old else [OLD_DESIGN_CELL, PNG_SWAP_CELL],
        )
        with (
            browser.jupyter_lab(root, base / "state") as lab,
            browser.chromium(base / "profile") as context,
        ):
            notebook = browser.NotebookPage(context, lab, "widgets.ipynb", "bench")
            notebook.start_run_all()
            state = notebook.wait_until_run()
            if state.errors or state.numbered != state.cells:
                raise RuntimeError(f"the widgets notebook did not run cleanly: {state}")
            page = notebook.page
            page.evaluate(_RECORDER_JS)
            for target in targets:
                steps, draws = measure_steps(page, target, args.steps)
                keys = key_drag(page, target, args.drag_steps, args.key_interval_ms)
                mouse = mouse_drag(page, target, args.drag_steps, args.mouse_interval_ms)
                rows.append((target, steps, draws, keys, mouse))
                print(f"  measured {target.design}: {target.name}", flush=True)
            errors = notebook.page_errors + notebook.console_errors
            notebook.close()

    header = (
        f"{'widget':<28}{'n':>4}{'p50':>7}{'p95':>7}{'max':>7}{'draw p95':>9}"
        f"{'keys drawn':>12}{'every':>7}{'tail':>7}{'mouse drawn':>13}{'every':>7}{'tail':>7}"
    )
    print()
    print(
        "step → frame in ms (p50/p95/max; draw p95: the widget's own drawing code per step); "
        "drags: steps drawn / steps passed, mean input "
        f"interval, last input → final frame (ms). Targets: p95 <= {STEP_TARGET_MS:.0f} ms, "
        "every mouse step drawn."
    )
    print(header)
    print("-" * len(header))
    previous = "new"
    for target, steps, draws, keys, mouse in rows:
        if target.design != previous:
            print("-" * len(header))
            previous = target.design
        print(
            f"{target.name:<28}{len(steps):>4}"
            f"{percentile(steps, 0.5):>7.1f}{percentile(steps, 0.95):>7.1f}{max(steps):>7.1f}"
            f"{percentile(draws, 0.95) if draws else float('nan'):>9.1f}"
            f"{f'{keys.drawn}/{keys.steps}':>12}{keys.input_interval_ms:>7.0f}"
            f"{keys.last_input_to_frame_ms:>7.0f}"
            f"{f'{mouse.drawn}/{mouse.steps}':>13}{mouse.input_interval_ms:>7.0f}"
            f"{mouse.last_input_to_frame_ms:>7.0f}"
        )
    for design in ("new", "old"):
        every = [t for target, steps, *_ in rows if target.design == design for t in steps]
        mice = [row[-1] for row in rows if row[0].design == design]
        if every:
            print(
                f"{'all ' + design:<28}{len(every):>4}{percentile(every, 0.5):>7.1f}"
                f"{percentile(every, 0.95):>7.1f}{max(every):>7.1f}"
                f"{'':>35}{f'{sum(m.drawn for m in mice)}/{sum(m.steps for m in mice)}':>13}"
            )
    print(f"page errors: {errors or 'none'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
