"""How fast do the widgets answer a slider, seen from the browser? JupyterLab + Chromium.

The browser half of the widget benchmark (``bench/bench_widgets.py`` times
the kernel side). It starts JupyterLab on localhost (live kernel), opens a
notebook showing every widget of :data:`lossbook.course.widgets.WIDGETS` in headless
Chromium (``tests/browser.py``), and measures, in the page:

- **step → plot**: for one arrow-key press on a slider, the time from the
  ``keydown`` event to the first animation frame after the new plot image has
  loaded (``load`` on the ``lossbook-plot`` image, then ``requestAnimationFrame``).
  ``--steps`` presses per widget, spread over its sliders, each waiting for
  the previous plot; p50 / p95 / max, plus where the time goes: key → new
  ``src`` (kernel round trip), ``src`` → frame (decode and paint).
- **drag**: ``--drag-steps`` presses in a row every ``--key-interval-ms``
  (keyboard auto-repeat), then a mouse drag of as many moves every
  ``--mouse-interval-ms`` (a 60 Hz pointer). Each value the slider passes
  through is a step; a step is drawn when a plot frame shows it (the numbers
  under the plot name the slider value the frame belongs to). Every frame
  drawn means ``drawn == steps``. Also: the time from the last input to the
  final plot.

Targets: step → plot p95 <= 60 ms; every step of a 29-step drag drawn.
Times are wall-clock on whatever machine this runs on; the load average is
printed, because on a shared 2-core machine the kernel, the server and
Chromium wait for a core.

Run: ``.venv/bin/python bench/bench_browser.py [--steps 24] [--drag-steps 29]
[--widgets NAME ...]``. Exit code 0; the numbers are the report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lossbook.course import widgets  # noqa: E402  (after the sys.path entry above)
from tests import browser  # noqa: E402

STEP_TARGET_MS = 60.0

# Runs in the kernel: the wall time of every slider callback (compute, draw, encode,
# hand the PNG and the numbers to ipywidgets), one line per update, by widget title.
KERNEL_TIMER = """\
import json as _json
import time as _time

def _timed_slider_callback(callback, log_path):
    def timed(self, change):
        start = _time.perf_counter()
        callback(self, change)
        elapsed = (_time.perf_counter() - start) * 1e3
        with open(log_path, "a") as log:
            log.write(_json.dumps([self.title, elapsed]) + "\\n")
    return timed

widgets.LossWidget._on_slider = _timed_slider_callback(widgets.LossWidget._on_slider, {log!r})
"""

BASELINE = "baseline: PNG swap"
BASELINE_SLIDER = widgets.Slider("x", 0.0, 1.0, 0.01, 0.5, "x")
# The same DOM and the same messages as a lossbook widget (a PNG of the same size
# into an Image, the numbers into an HTML), but no computing, drawing or encoding:
# what Jupyter's round trip and the browser cost alone.
BASELINE_CELL = """\
import ipywidgets as _ipywidgets

_reference = widgets.regression_penalties()
# One picture per slider value: a value the kernel sees always changes the image.
_pngs = [_reference.set(residual=-2.5 + 0.05 * i).png() for i in range(101)]
_slider = _ipywidgets.FloatSlider(
    value=0.5, min=0.0, max=1.0, step=0.01, description="x", continuous_update=True,
    readout_format=".2f", layout=_ipywidgets.Layout(width="420px"),
    style={{"description_width": "110px"}},
)
_slider.add_class("lossbook-slider-x")
_image = _ipywidgets.Image(value=_pngs[0], format="png")
_image.add_class("lossbook-plot")
_numbers = _ipywidgets.HTML("<code>x = 0.5</code>")
_numbers.add_class("lossbook-values")

def _swap(change):
    _image.value = _pngs[round(change.new * 100)]
    _numbers.value = f"<code>x = {{change.new:.4g}}</code>"

_slider.observe(_swap, names="value")
_baseline = _ipywidgets.VBox([_slider, _image, _numbers])
_baseline.add_class("lossbook-widget")
_baseline
"""

# Installed in the page: timestamps of every keydown, plot src change and plot frame.
_RECORDER_JS = """() => {
    const record = {keys: [], moves: [], srcs: [], numbers: [], frames: [], values: []};
    document.addEventListener('keydown', (event) => record.keys.push(event.timeStamp), true);
    document.addEventListener('pointermove', (event) => {
        if (event.buttons) { record.moves.push(event.timeStamp); }
    }, true);
    document.querySelectorAll('.lossbook-widget').forEach((root, widget) => {
        const img = root.querySelector('img.lossbook-plot');
        new MutationObserver(() => record.srcs.push({widget, t: performance.now(), src: img.src}))
            .observe(img, {attributes: true, attributeFilter: ['src']});
        const numbers = root.querySelector('.lossbook-values');
        new MutationObserver(() => record.numbers.push({
            widget, t: performance.now(), text: numbers.textContent,
        })).observe(numbers, {childList: true, characterData: true, subtree: true});
        img.addEventListener('load', () => {
            const src = img.currentSrc;
            requestAnimationFrame(() => record.frames.push({widget, t: performance.now(), src}));
        });
        // The readout prints the slider's value at its step's precision (aria-valuenow
        // is rounded to one decimal).
        root.querySelectorAll('[class*="lossbook-slider-"]').forEach((sliderBox) => {
            const slider = [...sliderBox.classList]
                .find((c) => c.startsWith('lossbook-slider-')).slice('lossbook-slider-'.length);
            const readout = sliderBox.querySelector('.widget-readout');
            new MutationObserver(() => record.values.push({
                widget, slider, t: performance.now(),
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
class StepTimes:
    total: list[float]
    to_src: list[float]
    src_to_frame: list[float]
    kernel: list[float] = field(default_factory=list)


@dataclass
class Drag:
    steps: int
    drawn: int
    input_interval_ms: float
    last_input_to_plot_ms: float


def slider_specs(name: str) -> dict[str, widgets.Slider]:
    if name == BASELINE:
        return {BASELINE_SLIDER.name: BASELINE_SLIDER}
    factory = widgets.WIDGETS[name]
    with widgets.force_live(False):
        built = factory(**browser.WIDGET_ARGUMENTS.get(name, {}))
    return dict(built._specs)


def room(spec: widgets.Slider, value: float, steps: int) -> int:
    """+1 when ``steps`` steps up from ``value`` stay in range, else -1."""
    return 1 if value + steps * spec.step <= spec.max + 1e-9 else -1


def shown_value(numbers: str, slider: str) -> float | None:
    """The slider's value as the numbers under a plot print it."""
    for entry in numbers.replace("\u2003", "  ").split("  "):
        name, _, value = entry.strip().partition(" = ")
        if name == slider:
            return float(value)
    return None


def frame_numbers(record: dict, widget: int, frame: dict) -> str:
    """The numbers belonging to a plot frame.

    The kernel sends the new image, then the new numbers: the numbers that
    belong to an image are the first that appear after its ``src`` was set
    (the numbers on screen when the image loads may still be the previous ones).
    """
    set_at = next(
        (s["t"] for s in record["srcs"] if s["widget"] == widget and s["src"] == frame["src"]),
        None,
    )
    if set_at is None:
        return ""
    later = [n for n in record["numbers"] if n["widget"] == widget and n["t"] >= set_at]
    return later[0]["text"] if later else ""


def wait_for_frame(page, widget: int, after: float, timeout_s: float = 20.0) -> dict | None:
    """The first plot frame of ``widget`` later than page time ``after``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frames = [
            f for f in page.evaluate(_READ_JS)["frames"] if f["widget"] == widget and f["t"] > after
        ]
        if frames:
            return frames[0]
        time.sleep(0.01)
    return None


def measure_steps(page, index: int, name: str, steps: int) -> StepTimes:
    """``steps`` single key presses, spread over the widget's sliders, one plot at a time."""
    handle = browser.WidgetHandle(page, index)
    specs = slider_specs(name)
    per_slider = -(-steps // len(specs))
    times = StepTimes([], [], [])
    for slider, spec in specs.items():
        half = max(1, per_slider // 2)
        direction = room(spec, spec.value, half)
        keys = ["ArrowRight", "ArrowLeft"][::direction]
        plan = [keys[0]] * half + [keys[1]] * (per_slider - half)
        handle.handle(slider).scroll_into_view_if_needed()
        handle.handle(slider).focus()
        handle.wait_until_settled()
        for key in plan:
            page.evaluate(_RESET_JS)
            page.keyboard.press(key)
            record = page.evaluate(_READ_JS)
            pressed = record["keys"][0]
            frame = wait_for_frame(page, index, pressed)
            if frame is None:
                raise RuntimeError(f"{name}.{slider}: no plot frame within 20 s of {key}")
            record = page.evaluate(_READ_JS)
            src = next(s["t"] for s in record["srcs"] if s["widget"] == index and s["t"] > pressed)
            times.total.append(frame["t"] - pressed)
            times.to_src.append(src - pressed)
            times.src_to_frame.append(frame["t"] - src)
            # Let the kernel go idle: every step starts from rest.
            handle.wait_until_settled(quiet_ms=100)
    return times


def drag_summary(page, index: int, slider: str, spec: widgets.Slider) -> Drag:
    """Steps the slider went through, how many a plot frame showed, after the input ended."""
    handle = browser.WidgetHandle(page, index)
    handle.wait_until_settled(quiet_ms=300)
    record = page.evaluate(_READ_JS)

    def grid(value: float) -> int:
        return round((value - spec.min) / spec.step)

    passed = {
        grid(v["value"]) for v in record["values"] if v["widget"] == index and v["slider"] == slider
    }
    frames = [f for f in record["frames"] if f["widget"] == index]
    drawn = {
        grid(value)
        for value in (shown_value(frame_numbers(record, index, f), slider) for f in frames)
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


def key_drag(page, index: int, name: str, steps: int, interval_ms: float) -> Drag:
    handle = browser.WidgetHandle(page, index)
    slider, spec = next(iter(slider_specs(name).items()))
    value = browser.readout_value(handle.readout(slider))
    key = "ArrowRight" if room(spec, value, steps) > 0 else "ArrowLeft"
    handle.handle(slider).scroll_into_view_if_needed()
    handle.handle(slider).focus()
    handle.wait_until_settled()
    page.evaluate(_RESET_JS)
    due = time.perf_counter()
    for _ in range(steps):
        page.keyboard.press(key)
        due += interval_ms / 1000
        time.sleep(max(0.0, due - time.perf_counter()))
    return drag_summary(page, index, slider, spec)


def mouse_drag(page, index: int, name: str, steps: int, interval_ms: float) -> Drag:
    """Drag the first slider's handle by ``steps`` moves of at least one slider step each."""
    handle = browser.WidgetHandle(page, index)
    slider, spec = next(iter(slider_specs(name).items()))
    knob = handle.handle(slider)
    knob.scroll_into_view_if_needed()
    handle.wait_until_settled()
    track = handle.root.locator(f".lossbook-slider-{slider} .noUi-target").bounding_box()
    box = knob.bounding_box()
    px_per_step = track["width"] / ((spec.max - spec.min) / spec.step)
    dx = max(1.0, px_per_step)
    value = browser.readout_value(handle.readout(slider))
    steps_per_move = max(1, round(dx / px_per_step))
    direction = room(spec, value, steps * steps_per_move)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.evaluate(_RESET_JS)
    page.mouse.down()
    due = time.perf_counter()
    for move in range(1, steps + 1):
        page.mouse.move(x + direction * move * dx, y)
        due += interval_ms / 1000
        time.sleep(max(0.0, due - time.perf_counter()))
    page.mouse.up()
    return drag_summary(page, index, slider, spec)


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
    parser.add_argument("--mouse-interval-ms", type=float, default=16.0)
    parser.add_argument("--widgets", nargs="*", default=list(widgets.WIDGETS))
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lossbook-bench-browser-") as scratch:
        base = Path(scratch)
        root = base / "root"
        root.mkdir()
        kernel_log = base / "kernel_ms.jsonl"
        browser.write_widgets_notebook(
            root / "widgets.ipynb",
            args.widgets,
            setup=KERNEL_TIMER.format(log=str(kernel_log)),
            extra_cells=[BASELINE_CELL.format()],
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
            for index, name in enumerate([*args.widgets, BASELINE]):
                kernel_log.write_text("")
                steps = measure_steps(page, index, name, args.steps)
                steps.kernel = [
                    ms for _, ms in map(json.loads, kernel_log.read_text().splitlines())
                ]
                keys = key_drag(page, index, name, args.drag_steps, args.key_interval_ms)
                mouse = mouse_drag(page, index, name, args.drag_steps, args.mouse_interval_ms)
                rows.append((name, steps, keys, mouse))
                print(f"  measured {name}", flush=True)
            notebook.close()

    header = (
        f"{'widget':<26}{'n':>4}{'p50':>7}{'p95':>7}{'max':>7}{'→src':>7}{'kernel':>8}"
        f"{'src→frame':>10}"
        f"{'keys drawn':>12}{'every':>7}{'tail':>7}{'mouse drawn':>13}{'every':>7}{'tail':>7}"
    )
    print()
    print(
        f"step → plot in ms (p50/p95/max; medians: key → new src, of which the kernel's "
        f"callback, then src → frame); drags: steps "
        f"drawn / steps passed, mean input interval, last input → final plot (ms). Targets: "
        f"p95 <= {STEP_TARGET_MS:.0f} ms, every step drawn."
    )
    print(header)
    print("-" * len(header))
    for name, steps, keys, mouse in rows:
        if name == BASELINE:
            print("-" * len(header))
        print(
            f"{name:<26}{len(steps.total):>4}"
            f"{percentile(steps.total, 0.5):>7.0f}{percentile(steps.total, 0.95):>7.0f}"
            f"{max(steps.total):>7.0f}{statistics.median(steps.to_src):>7.0f}"
            f"{statistics.median(steps.kernel) if steps.kernel else float('nan'):>8.1f}"
            f"{statistics.median(steps.src_to_frame):>10.0f}"
            f"{f'{keys.drawn}/{keys.steps}':>12}{keys.input_interval_ms:>7.0f}"
            f"{keys.last_input_to_plot_ms:>7.0f}"
            f"{f'{mouse.drawn}/{mouse.steps}':>13}{mouse.input_interval_ms:>7.0f}"
            f"{mouse.last_input_to_plot_ms:>7.0f}"
        )
    every_total = [t for name, steps, _, _ in rows if name != BASELINE for t in steps.total]
    print(
        f"{'all lossbook widgets':<26}{len(every_total):>4}{percentile(every_total, 0.5):>7.0f}"
        f"{percentile(every_total, 0.95):>7.0f}{max(every_total):>7.0f}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
