"""How fast do the course's widgets answer a slider? Python side, headless.

Since the widgets draw in the browser (``bench/bench_browser.py`` times the
page), the kernel no longer works per slider step. For every widget in
:data:`lossbook.course.widgets.WIDGETS`:

- static build: building the widget in static mode (new figure, first full
  draw, PNG), which is what a grader or a front end without widgets pays once;
- live build: with :func:`lossbook.course.widgets.force_live`, the same plus
  the browser view, with the tables of the widgets that fit a model (their
  numbers at every slider step, computed once);
- step: what one slider step coming from the browser costs the kernel (the
  comm message's ``set_state``: the values are stored, nothing computed);
- values + PNG: recomputing ``.values`` and the static PNG once asked for
  after a step (what the old design paid on every step), over ``--updates``
  changes spread over all sliders, each slider swept across its range.

Then (unless ``--no-paths``) the rendering paths for the static PNG, on one
widget:

- new figure per update;
- one reused figure, full redraw, fast PNG;
- one reused figure, cached background + animated artists (blitting), fast
  PNG: the path lossbook uses for the PNG in the output bundle;
- ipympl: the same figure on an ipympl canvas, full draw per update
  (``canvas.draw()`` encodes the diff image it would send);
- ipympl with blitting (``canvas.blit()``).

Times are wall-clock (what a learner waits for) and CPU time of this process
(what the work costs; on a shared machine wall time also holds the time spent
waiting for a core: the load average is printed).

Run: ``.venv/bin/python bench/bench_widgets.py [--updates 120] [--no-paths]``.
Exit code 0; the numbers are the report.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from lossbook.course import plots, widgets

TARGET_P95_MS = 15.0
STATIC_TARGET_MS = 300.0


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def sweep(spec: widgets.Slider, count: int) -> np.ndarray:
    """``count`` values going up and down the slider's range, never repeating a neighbour."""
    up = np.linspace(spec.min, spec.max, max(count // 2, 2))
    path = np.concatenate([up, up[::-1][1:-1]])
    return np.resize(path, count)


def bench_live(factory: Callable[[], widgets.LossWidget], updates: int) -> dict[str, float]:
    """Live widget: its build (tables included), a browser step, and values + PNG on demand."""
    with widgets.force_live(True):
        build_wall, build_cpu = timed(factory)
        widget = factory()
    names = list(widget.sliders)
    per_slider = -(-updates // len(names))
    plan = [(name, value) for name in names for value in sweep(widget.sliders[name], per_slider)]
    steps, refreshes, changed = [], [], 0
    for index, (name, value) in enumerate(plan):
        if index and plan[index - 1][0] != name:
            # Put the previous slider back, so that every sweep starts from the
            # widget's initial state (e.g. temperature does nothing once all
            # logits were swept to the same value).
            previous = plan[index - 1][0]
            widget.set(**{previous: widget.sliders[previous].value})
        before = widget.png()
        # What a comm message from the browser costs the kernel: store the state.
        message = {"state": {**widget.view.state, name: float(value)}}
        steps.append(timed(lambda message=message: widget.view.set_state(message))[0])
        # What reading .values or showing the PNG then costs, once.
        refreshes.append(timed(widget.png)[0])
        changed += widget.png() != before
    return {
        "build": build_wall,
        "build_cpu": build_cpu,
        "updates": len(plan),
        "step_p95": float(np.percentile(steps, 95)),
        "refresh_p50": float(np.percentile(refreshes, 50)),
        "refresh_p95": float(np.percentile(refreshes, 95)),
        "changed": changed / len(plan),
    }


def bench_static(
    factory: Callable[[], widgets.LossWidget], repeats: int = 3
) -> tuple[float, float]:
    with widgets.force_live(False):
        factory()  # warm caches (fonts, torch kernels) once
        times = [timed(factory) for _ in range(repeats)]
    return float(np.median([t[0] for t in times])), float(np.median([t[1] for t in times]))


def bench_paths(name: str, iterations: int) -> list[tuple[str, float, float, float]]:
    """p50/p95 wall and p50 CPU per update for each rendering path, on widget ``name``."""
    factory = widgets.WIDGETS[name]
    rows = []

    with widgets.force_live(False):
        widget = factory()
    spec = next(iter(widget.sliders.values()))
    values = sweep(spec, iterations)

    def measure(label: str, step: Callable[[float], object]) -> None:
        step(values[0])  # first call may build caches
        walls, cpus = zip(*(timed(lambda v=v: step(v)) for v in values), strict=True)
        rows.append(
            (
                label,
                float(np.percentile(walls, 50)),
                float(np.percentile(walls, 95)),
                float(np.median(cpus)),
            )
        )

    def new_figure(value: float) -> None:
        with widgets.force_live(False):
            factory().set(**{spec.name: value})

    measure("new figure per update (static build)", new_figure)

    def set_state(target: widgets.LossWidget, value: float) -> None:
        target._state[spec.name] = value
        target._update(target._state)

    with widgets.force_live(False):
        full = factory()
    for artist in full._animated:
        artist.set_animated(False)

    def full_redraw(value: float) -> None:
        set_state(full, value)
        full.figure.canvas.draw()
        plots.encode_png(full.figure.canvas)

    measure("reused figure, full redraw + PNG", full_redraw)

    with widgets.force_live(False):
        blit = factory()
    measure(
        "reused figure, blit + PNG (the kernel's PNG)",
        lambda value: blit.set(**{spec.name: value}).png(),
    )

    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    except ImportError:
        return rows

    with widgets.force_live(False):
        on_ipympl = factory()
    for artist in on_ipympl._animated:
        artist.set_animated(False)
    canvas = Canvas(on_ipympl.figure)
    FigureManager(canvas, 1)

    def ipympl_full(value: float) -> None:
        set_state(on_ipympl, value)
        canvas.draw()  # draws, then encodes and sends the diff PNG to the front end

    measure("ipympl, full draw per update", ipympl_full)

    with widgets.force_live(False):
        blitted = factory()
    blit_canvas = Canvas(blitted.figure)
    FigureManager(blit_canvas, 2)
    blit_canvas.draw()
    background = blit_canvas.copy_from_bbox(blitted.figure.bbox)

    def ipympl_blit(value: float) -> None:
        set_state(blitted, value)
        blit_canvas.restore_region(background)
        for artist in blitted._animated:
            blitted.figure.draw_artist(artist)
        blit_canvas.blit(blitted.figure.bbox)  # encodes and sends the diff PNG

    measure("ipympl, blit per update", ipympl_blit)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--updates", type=int, default=120, help="slider changes per widget (>= 100)"
    )
    parser.add_argument(
        "--no-paths", action="store_true", help="skip the rendering-path comparison"
    )
    parser.add_argument("--path-widget", default="regression_penalties")
    parser.add_argument("--path-iterations", type=int, default=20)
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    header = (
        f"{'widget':26s} {'static ms':>9s} {'(cpu)':>6s} {'live ms':>8s} {'(cpu)':>6s} | "
        f"{'n':>4s} {'step p95':>8s} {'values+png p50':>14s} {'p95':>6s} {'png changed':>11s}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, factory in widgets.WIDGETS.items():
        static_wall, static_cpu = bench_static(factory)
        live = bench_live(factory, args.updates)
        worst = max(worst, live["step_p95"])
        print(
            f"{name:26s} {static_wall:9.0f} {static_cpu:6.0f} {live['build']:8.0f} "
            f"{live['build_cpu']:6.0f} | {live['updates']:4d} {live['step_p95']:8.2f} "
            f"{live['refresh_p50']:14.1f} {live['refresh_p95']:6.1f} {live['changed']:11.0%}"
        )
    print(
        f"worst p95 of a browser step in the kernel: {worst:.2f} ms (target {TARGET_P95_MS:.0f} ms); "
        f"load average after: {os.getloadavg()[0]:.2f}"
    )

    if not args.no_paths:
        print(
            f"\nrendering paths, one update of {args.path_widget} ({args.path_iterations} updates each)"
        )
        print(f"{'path':44s} {'p50 ms':>7s} {'p95 ms':>7s} {'cpu p50':>7s}")
        for label, p50, p95, cpu in bench_paths(args.path_widget, args.path_iterations):
            print(f"{label:44s} {p50:7.1f} {p95:7.1f} {cpu:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
