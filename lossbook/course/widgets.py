"""Every interactive figure of the course: sliders that redraw a plot in the browser at once.

Usage in a chapter (the widget is the last expression of the cell)::

    from lossbook.course import widgets
    widgets.regression_penalties()          # sliders delta, beta, residual

    w = widgets.cross_entropy_pipeline(logits=(2.0, 1.0, 0.1), target=0)
    w.set(temperature=2.0)                  # move a slider from code
    w.values["loss"], w.values["probs"]     # the numbers the figure shows

Every widget is a :class:`LossWidget` made from:

1. :class:`Slider` specs (name, range, step, start value);
2. a matplotlib figure built with :mod:`lossbook.course.plots` and an
   ``update(state) -> values`` function that computes the numbers with
   :mod:`lossbook.functional` and moves the figure's animated artists: the
   kernel's side, ``.values``, ``.set(...)`` and the static PNG;
3. a ``kind`` drawn by the browser module ``static/widgets.js`` on a canvas,
   with ``setup``: what the kernel computed once for it (data, curves, and for
   widgets that fit a model a table of ``update``'s numbers over the slider's
   grid). Numbers in closed form come from ``static/lossmath.js``, which
   ``tests/test_widget_math.py`` proves equal to lossbook in Chromium.

Live or static
--------------
:func:`is_live` is False under nbgrader (``NBGRADER_EXECUTION``), when
``LOSSBOOK_STATIC`` is set, and outside an IPython kernel (plain Python,
pytest). Then a widget renders one PNG and creates no widget model at all: no
comms, nothing to slow grading. ``.set(...)`` still works: it recomputes the
values and redraws the PNG. Live, the displayed bundle holds the anywidget
view (:class:`CanvasView`) plus the PNG (``text/html`` with alt text,
``image/png``, ``text/plain``) for front ends without a widget manager
(nbviewer, GitHub, nbgrader feedback).

Why the browser draws
---------------------
A kernel round trip per slider step (ipywidgets comm, lossbook's numbers,
matplotlib blit, PNG into an ``ipywidgets.Image``) cannot follow the hand:
``bench/bench_browser.py`` measures that old design and this one in the same
JupyterLab page. On the course's shared 2-core build machine (load average
about 12 during the run, other jobs competing for both cores), key press to
frame: canvas widgets p50 6–11 ms (all nine: p50 8.0, p95 40.5 ms, their
own drawing code p95 2–13 ms; the rest is layout, paint and waiting for a
core), the old
design p50 120 / p95 233 ms, and a PNG swap with no computing at all p50
136 / p95 359 ms: the round trip alone misses a 60 Hz frame. A 29-step
mouse drag at 33 ms: every step drawn on canvas (261/261 over the nine
widgets), 10 of 29 with the round trip. The canvas is drawn synchronously
in the input event; after the frame the slider values go to the kernel
(``model.set`` + ``save_changes``: the kernel never echoes an older step
back), which only stores them and recomputes ``.values`` and the PNG when
asked for them.

DOM hooks for browser tests: the root has class ``lossbook-widget``, each
slider row ``lossbook-slider-<name>`` (a range ``<input>`` and an
``<output class="lossbook-readout">``), the canvas ``lossbook-plot``, the
numbers ``lossbook-values``; the root fires a ``lossbook:drawn`` event after
each draw.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pathlib import Path

import anywidget
import numpy as np
import torch
import traitlets
from matplotlib.figure import Figure

import lossbook.functional as F
from lossbook.course._threads import one_torch_thread as _one_torch_thread
from lossbook.course import plots
from lossbook.losses.pipeline import cross_entropy_steps

# --------------------------------------------------------------------------- mode


_forced_live: bool | None = None


def is_live() -> bool:
    """True when widgets should be interactive: inside a kernel, not grading, not forced static.

    False when ``NBGRADER_EXECUTION`` is set (nbgrader autograde/validate),
    when ``LOSSBOOK_STATIC`` is set to anything but ``""``/``"0"``, or when no
    IPython kernel is running (plain ``python``, pytest). :func:`force_live`
    overrides all of these (tests, benchmarks).

    Example:
        >>> is_live()  # doctests run outside a kernel
        False
    """
    if _forced_live is not None:
        return _forced_live
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    if os.environ.get("LOSSBOOK_STATIC", "") not in ("", "0"):
        return False
    # Only a kernel has imported IPython; importing it here would cost ~0.2 s for nothing.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class _ModeOverride:
    """Restores the previous mode when used as a context manager."""

    def __init__(self, previous: bool | None) -> None:
        self.previous = previous

    def __enter__(self) -> _ModeOverride:
        return self

    def __exit__(self, *exc_info) -> None:
        global _forced_live
        _forced_live = self.previous


def force_live(live: bool | None = True) -> _ModeOverride:
    """Force live (``True``), static (``False``) or automatic (``None``) mode.

    Works as a call (stays in effect) or as a context manager (restores the
    previous mode on exit)::

        with widgets.force_live():
            w = widgets.neg_log_curve()   # a browser view (anywidget), synced with the kernel

    Example:
        >>> with force_live():
        ...     is_live()
        True
        >>> is_live()
        False
    """
    global _forced_live
    previous, _forced_live = _forced_live, live
    return _ModeOverride(previous)


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True)
class Slider:
    """One slider: its name (the key in ``.sliders``, ``.set`` and ``.values``) and range.

    Attributes:
        name: identifier, e.g. ``"delta"``, ``"logit_0"``.
        min, max, step: the range; ``.set`` rejects values outside ``[min, max]``.
        value: where it starts.
        description: the text beside the slider (math welcome: ``"δ"``, ``"p"``).
    """

    name: str
    min: float
    max: float
    step: float
    value: float
    description: str = ""


STATIC = Path(__file__).resolve().parent / "static"
"""Where the browser side lives: ``lossmath.js``, ``widgets.js``, ``widgets.css``."""

_LOSSMATH_IMPORT = 'import * as lossmath from "./lossmath.js";'


def browser_module(static: Path = STATIC) -> str:
    """The widgets' ES module as one self-contained text: ``widgets.js`` with ``lossmath.js`` inlined.

    ``widgets.js`` imports ``./lossmath.js`` as a namespace; a module given to
    anywidget as text (and saved in a notebook's widget state) cannot import
    a neighbour, so its import line becomes ``const lossmath = {...}`` built
    from ``lossmath.js``'s own exports. No other import is allowed: the page
    must not fetch anything (no CDN).

    Example:
        >>> module = browser_module()
        >>> [line for line in module.splitlines() if line.startswith("import")]
        []
    """
    lossmath = (static / "lossmath.js").read_text()
    widgets_js = (static / "widgets.js").read_text()
    names = [
        line.split()[2].split("(")[0]
        for line in lossmath.splitlines()
        if line.startswith("export function ")
    ]
    body = lossmath.replace("export function ", "function ")
    if any(line.startswith("export ") for line in body.splitlines()):
        raise ValueError(
            f"{static / 'lossmath.js'} may export functions only (export function ...)"
        )
    inlined = f"const lossmath = (() => {{\n{body}\nreturn {{ {', '.join(names)} }};\n}})();"
    if widgets_js.count(_LOSSMATH_IMPORT) != 1:
        raise ValueError(
            f"{static / 'widgets.js'} must import lossmath exactly once as: {_LOSSMATH_IMPORT}"
        )
    module = widgets_js.replace(_LOSSMATH_IMPORT, inlined)
    if any(line.startswith("import ") for line in module.splitlines()):
        raise ValueError("the widgets' ES module may import nothing but ./lossmath.js")
    return module


class CanvasView(anywidget.AnyWidget):
    """The browser half of a live :class:`LossWidget`: sliders and a canvas, drawn in the page.

    Synced traits: ``kind`` (which figure ``widgets.js`` draws), ``title``,
    ``alt``, ``sliders`` (the :class:`Slider` specs as dicts), ``state``
    (slider name → value, written by both sides), ``setup`` (what the kernel
    computed once for the figure) and ``pinned`` (``{"state", "values"}``: the
    kernel's numbers after ``LossWidget.set``, shown while the sliders stay
    there, for a value between the grid points a table holds).
    """

    _esm = browser_module()
    _css = (STATIC / "widgets.css").read_text()
    kind = traitlets.Unicode().tag(sync=True)
    title = traitlets.Unicode().tag(sync=True)
    alt = traitlets.Unicode().tag(sync=True)
    sliders = traitlets.List().tag(sync=True)
    state = traitlets.Dict().tag(sync=True)
    setup = traitlets.Dict().tag(sync=True)
    pinned = traitlets.Dict().tag(sync=True)


def _browser_style() -> dict:
    """The course's colours, legend names and dashed lines, for ``widgets.js``."""
    return {
        "color": dict(plots.COLORS),
        "label": dict(plots.LABELS),
        "dash": {name: "dashed" for name, style in plots.LINESTYLES.items() if style == "--"},
        "classColor": list(plots.CLASS_COLORS),
    }


def slider_grid(spec: Slider) -> list[float]:
    """Every value the slider can take, as the browser's range input writes them.

    A range input snaps to ``min + k·step`` and prints it in decimal, so the
    values are rounded to the step's decimals (``0.1 + 2·0.05`` is ``0.2``).

    Example:
        >>> slider_grid(Slider("p", 0.1, 0.3, 0.05, 0.1))
        [0.1, 0.15, 0.2, 0.25, 0.3]
    """
    count = round((spec.max - spec.min) / spec.step) + 1
    digits = _decimals(spec.step)
    return [round(spec.min + k * spec.step, digits) for k in range(count)]


class LossWidget:
    """Sliders, a figure and the numbers it shows: drawn by the browser, computed by lossbook.

    The kernel side computes ``.values`` with ``update(state)`` (which also
    moves the matplotlib figure's animated artists) and renders the static
    PNG; both are recomputed lazily, after the sliders moved, when asked for.
    Live, a :class:`CanvasView` draws the same numbers in the page on every
    slider step and sends the slider values back.

    Attributes:
        kind: the widget's name in :data:`WIDGETS`; picks the browser's figure.
        figure: the matplotlib figure of the static PNG (updated in place).
        sliders: slider name → :class:`Slider` spec.
        title: one line stating what the widget answers.
        alt: alt text for the static PNG and the canvas.
        live: whether this widget has a browser view.
        data: the data set behind the figure, by name (numpy arrays; empty for
            widgets that plot formulas). Arrays a slider changes are kept current.

    Example:
        >>> w = neg_log_curve()          # outside a kernel: static, no browser view
        >>> w.live, list(w.sliders), sorted(w.values)
        (False, ['p'], ['grad', 'loss', 'p'])
        >>> round(w.set(p=0.5).values["loss"], 4)
        0.6931
    """

    def __init__(
        self,
        *,
        kind: str,
        figure: Figure,
        sliders: Sequence[Slider],
        update: Callable[[Mapping[str, float]], dict],
        title: str,
        alt: str,
        data: Mapping[str, np.ndarray] | None = None,
        setup: Mapping | None = None,
        table: bool = False,
    ) -> None:
        self.kind = kind
        self.figure = figure
        self.data = dict(data or {})
        self.title = title
        self.alt = alt
        self.live = is_live()
        self.sliders = {spec.name: spec for spec in sliders}
        self._state = {spec.name: float(spec.value) for spec in sliders}
        self._update = update
        self._animated = plots.animated_artists(figure)
        self._background = None
        self._table = table
        self._stale = True
        self._computed: dict = {}
        self._png = b""
        self._refresh()
        self._view = self._build_view(dict(setup or {})) if self.live else None

    # ----------------------------------------------------------------- public

    @property
    def values(self) -> dict:
        """The current numbers: slider values and what was computed from them (a copy)."""
        self._refresh()
        merged = {**self._state, **self._computed}
        return {k: list(v) if isinstance(v, list) else v for k, v in merged.items()}

    @property
    def state(self) -> dict[str, float]:
        """The current slider values (a copy)."""
        return dict(self._state)

    @property
    def view(self) -> CanvasView | None:
        """The browser view (None in static mode)."""
        return self._view

    def set(self, **slider_values: float) -> LossWidget:
        """Move one or more sliders, recompute ``.values`` and redraw; returns ``self``.

        Works in both modes; live, the browser's sliders and plot move too.
        Raises ``ValueError`` for an unknown slider or a value outside its range.
        """
        for name, value in slider_values.items():
            if name not in self.sliders:
                known = ", ".join(self.sliders)
                raise ValueError(f"this widget has no slider {name!r}; its sliders are: {known}.")
            spec = self.sliders[name]
            if not spec.min <= value <= spec.max:
                raise ValueError(
                    f"{name}={value} is outside the slider's range [{spec.min}, {spec.max}]; "
                    f"pick a value in that range."
                )
        self._state.update({name: float(value) for name, value in slider_values.items()})
        self._stale = True
        self._refresh()
        if self._view is not None:
            # One message for the whole call; a table's widget shows the kernel's own
            # numbers, exact between its grid points too.
            with self._view.hold_sync():
                if self._table:
                    self._view.pinned = {"state": dict(self._state), "values": self._computed}
                self._view.state = dict(self._state)
        return self

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        self._refresh()
        return self._png

    def text(self) -> str:
        """The title and the current numbers as one line of plain text."""
        return f"{self.title} ({_format_values(self.values)})"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = plots.png_bundle(self.png(), f"{self.alt} Now: {_format_values(self.values)}.")
        if self._view is not None:
            view = self._view._repr_mimebundle_()
            if isinstance(view, tuple):  # anywidget returns (data, metadata)
                view = view[0]
            bundle = {**bundle, **{k: v for k, v in view.items() if k != "text/plain"}}
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)

    def __repr__(self) -> str:
        return f"<LossWidget {self.text()}>"

    # ----------------------------------------------------------------- internals

    def _refresh(self) -> None:
        """Recompute the numbers and the PNG if the sliders moved since the last time."""
        if not self._stale:
            return
        with _one_torch_thread():
            self._computed = dict(self._update(self._state))
        self._png = self._render()
        self._stale = False

    def _render(self) -> bytes:
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()  # draws every artist except the animated ones
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        return plots.encode_png(canvas, level=1)

    def _grid_table(self) -> dict:
        """``update``'s numbers at every value of the (only) slider: what the browser looks up."""
        ((name, spec),) = self.sliders.items()
        grid = slider_grid(spec)
        rows = []
        with _one_torch_thread():
            for value in grid:
                rows.append(self._update({**self._state, name: value}))
            # Leave the figure's artists where the current state puts them.
            self._computed = dict(self._update(self._state))
        self._png = self._render()
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        return {"slider": name, "min": spec.min, "step": spec.step, "columns": columns}

    def _on_browser_state(self, change) -> None:
        """The learner moved a slider: keep its value; the numbers follow when asked for."""
        for name, value in change.new.items():
            if name in self.sliders and self._state[name] != value:
                self._state[name] = float(value)
                self._stale = True

    def _build_view(self, setup: dict) -> CanvasView:
        setup["style"] = _browser_style()
        if self._table:
            setup["table"] = self._grid_table()
        view = CanvasView(
            kind=self.kind,
            title=self.title,
            alt=self.alt,
            sliders=[
                {
                    "name": spec.name,
                    "min": spec.min,
                    "max": spec.max,
                    "step": spec.step,
                    "value": spec.value,
                    "description": spec.description or spec.name,
                }
                for spec in self.sliders.values()
            ],
            state=dict(self._state),
            setup=setup,
        )
        view.observe(self._on_browser_state, names="state")
        return view


def _single_threaded(build: Callable[..., LossWidget]) -> Callable[..., LossWidget]:
    """Build a widget (its precomputed curves included) under :func:`_one_torch_thread`."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> LossWidget:
        with _one_torch_thread():
            return build(*args, **kwargs)

    return wrapper


def _decimals(step: float) -> int:
    """Digits after the point that show a multiple of ``step`` exactly (0.05 → 2)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _format_number(value) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format_number(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _format_values(values: Mapping) -> str:
    return ", ".join(f"{name} = {_format_number(value)}" for name, value in values.items())


def _scalar(tensor: torch.Tensor) -> float:
    return float(tensor.detach())


def _value_and_grad(
    loss_fn: Callable[[torch.Tensor], torch.Tensor], at: float
) -> tuple[float, float]:
    """``loss_fn(x)`` and ``d loss_fn / dx`` at the scalar ``x = at`` (float64, autograd)."""
    x = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(x)
    (grad,) = torch.autograd.grad(loss, x)
    return _scalar(loss), _scalar(grad)


def _elementwise_grad(
    loss_fn: Callable[[torch.Tensor], torch.Tensor], at: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per-element loss and its derivative on a grid (the loss is element-wise)."""
    x = at.detach().clone().requires_grad_(True)
    loss = loss_fn(x)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach().numpy(), grad.numpy()


def _move(dot, x: float, y: float) -> None:
    dot.set_data([x], [y])


# --------------------------------------------------------------------------- the course's widgets


@_single_threaded
def accuracy_landscape(seed: int = 0) -> LossWidget:
    """Why we train on cross-entropy, not accuracy: accuracy is flat, CE slopes.

    A 1-D logistic classifier ``p = σ(k·(x − w))`` (``k = 2``) with threshold
    ``w`` on 40 fixed points (``seed``): class 0 around −1, class 1 around +1.
    Left: accuracy(w), a staircase whose gradient is zero almost everywhere.
    Right: mean BCE-with-logits(w), smooth, with its tangent at ``w``.

    Slider: ``w`` (the threshold, −3 … 3).
    Values: ``w``, ``accuracy``, ``ce_loss``, ``accuracy_grad`` (central
    difference with step 1e-3: 0 between steps), ``ce_grad`` (autograd).
    Data: ``x`` (40,), ``labels`` (40,) 0/1.

    Example:
        >>> w = accuracy_landscape()
        >>> w.set(w=0.5).values["accuracy_grad"]
        0.0
    """
    rng = np.random.default_rng(seed)
    n_per_class = 20
    x = np.concatenate([rng.normal(-1.0, 1.0, n_per_class), rng.normal(1.0, 1.0, n_per_class)])
    labels = np.repeat([0.0, 1.0], n_per_class)
    x_t, labels_t = torch.tensor(x), torch.tensor(labels)
    slope = 2.0

    def accuracy(w: np.ndarray | float) -> np.ndarray:
        predictions = x[None, :] > np.asarray(w, dtype=float).reshape(-1, 1)
        return (predictions == labels.astype(bool)).mean(axis=1)

    def ce(w: torch.Tensor) -> torch.Tensor:
        logits = slope * (x_t[None, :] - w.reshape(-1, 1))
        per_point = F.binary_cross_entropy_with_logits(
            logits, labels_t.expand_as(logits), reduction="none"
        )
        return per_point.mean(dim=1)

    w_grid = np.linspace(-3.0, 3.0, 601)
    accuracy_curve = accuracy(w_grid)
    ce_curve = ce(torch.tensor(w_grid)).numpy()

    figure, (ax_acc, ax_ce) = plots.new_figure(2)
    ax_acc.plot(w_grid, accuracy_curve, color=plots.color("accuracy"), label="accuracy")
    for cls, marker_style in ((0, "|"), (1, "|")):
        ax_acc.plot(
            x[labels == cls],
            np.full(n_per_class, 0.27 + 0.03 * cls),
            marker_style,
            color=plots.CLASS_COLORS[cls],
            markersize=8,
            label=f"class {cls} points",
        )
    ax_acc.legend(frameon=False, loc="upper left")
    ax_ce.plot(w_grid, ce_curve, color=plots.color("ce"), label="cross-entropy")
    plots.style_axes(
        ax_acc,
        xlabel="threshold w",
        ylabel="accuracy",
        title="Accuracy is flat: zero gradient between steps",
        ylim=(0.25, 1.0),
    )
    plots.style_axes(
        ax_ce,
        xlabel="threshold w",
        ylabel="mean cross-entropy",
        title="Cross-entropy slopes: a gradient to follow",
        ylim=(0.0, float(ce_curve.max()) * 1.05),
    )
    acc_dot = plots.marker(ax_acc, 0.0, 0.0, "accuracy")
    ce_dot = plots.marker(ax_ce, 0.0, 0.0, "ce")
    (tangent,) = ax_ce.plot(
        [], [], ":", color=plots.color("accuracy"), linewidth=2.5, animated=True, label="tangent"
    )
    ax_ce.legend(frameon=False, loc="upper center")

    def update(state: Mapping[str, float]) -> dict:
        w = state["w"]
        step = 1e-3
        acc_here, acc_right, acc_left = accuracy([w, w + step, w - step])
        ce_loss, ce_grad = _value_and_grad(lambda t: ce(t)[0], w)
        _move(acc_dot, w, acc_here)
        _move(ce_dot, w, ce_loss)
        span = np.array([w - 0.8, w + 0.8])
        tangent.set_data(span, ce_loss + ce_grad * (span - w))
        return {
            "accuracy": float(acc_here),
            "ce_loss": ce_loss,
            "accuracy_grad": float(acc_right - acc_left) / (2 * step),
            "ce_grad": ce_grad,
        }

    return LossWidget(
        kind="accuracy_landscape",
        figure=figure,
        sliders=[Slider("w", -3.0, 3.0, 0.01, -1.5, "threshold w")],
        setup={
            "x": x.tolist(),
            "labels": labels.tolist(),
            "w_grid": w_grid.tolist(),
            "accuracy_curve": accuracy_curve.tolist(),
            "ce_curve": ce_curve.tolist(),
            "ce_max": float(ce_curve.max()),
        },
        table=True,
        update=update,
        title="Accuracy gives gradient descent nothing to follow; cross-entropy does",
        data={"x": x, "labels": labels},
        alt=(
            "Left: accuracy against the threshold w is a staircase, flat between data points. "
            "Right: mean cross-entropy against w is a smooth valley whose slope points to its "
            "minimum."
        ),
    )


@_single_threaded
def regression_penalties(delta: float = 1.0, beta: float = 1.0) -> LossWidget:
    """MSE, MAE, Huber(δ) and Smooth L1(β) against the residual, and their gradients.

    Left: per-element loss vs residual ``r = ŷ − y`` (target 0). Right:
    ``∂loss/∂ŷ``: MSE's grows with ``r`` (``2r``), MAE's is ±1, Huber's is
    capped at ±δ, Smooth L1's at ±1 (Huber = β · Smooth L1 with δ = β).

    Sliders: ``delta`` (Huber δ), ``beta`` (Smooth L1 β), ``residual`` (the markers).
    Values: ``residual``, ``delta``, ``beta``, ``mse``, ``l1``, ``huber``,
    ``smooth_l1`` and ``mse_grad``, ``l1_grad``, ``huber_grad``, ``smooth_l1_grad``.

    Example:
        >>> w = regression_penalties().set(residual=3.0, delta=1.0)
        >>> w.values["mse"], w.values["huber"], w.values["huber_grad"]
        (9.0, 2.5, 1.0)
    """
    _check_in_slider_range("delta", delta, 0.1, 3.0)
    _check_in_slider_range("beta", beta, 0.1, 3.0)

    def losses(d: float, b: float) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        return {
            "mse": lambda x: F.mse_loss(x, torch.zeros_like(x), reduction="none"),
            "l1": lambda x: F.l1_loss(x, torch.zeros_like(x), reduction="none"),
            "huber": lambda x: F.huber_loss(x, torch.zeros_like(x), reduction="none", delta=d),
            "smooth_l1": lambda x: F.smooth_l1_loss(
                x, torch.zeros_like(x), reduction="none", beta=b
            ),
        }

    residuals = torch.linspace(-4.0, 4.0, 401, dtype=torch.float64)
    curves = {name: _elementwise_grad(fn, residuals) for name, fn in losses(delta, beta).items()}
    r = residuals.numpy()
    reshaped = ("huber", "smooth_l1")

    figure, (ax_loss, ax_grad) = plots.new_figure(2)
    loss_lines = plots.penalty_curves(
        ax_loss, r, {n: c[0] for n, c in curves.items()}, animated=reshaped
    )
    grad_lines = plots.penalty_curves(
        ax_grad, r, {n: c[1] for n, c in curves.items()}, animated=reshaped, legend=False
    )
    plots.style_axes(
        ax_loss,
        xlabel="residual  ŷ − y",
        ylabel="loss",
        title="Far from the target MSE grows quadratically, the others linearly",
        ylim=(0, 5),
    )
    plots.style_axes(
        ax_grad,
        xlabel="residual  ŷ − y",
        ylabel="gradient  ∂loss/∂ŷ",
        title="MSE's gradient grows without bound; Huber's stops at ±δ",
        ylim=(-4.5, 4.5),
    )
    # Smooth L1's dot is smaller: with β = δ = 1 it sits exactly on Huber's.
    sizes = {"smooth_l1": 5.0}
    loss_dots = {n: plots.marker(ax_loss, 0.0, 0.0, n, size=sizes.get(n, 8.0)) for n in curves}
    grad_dots = {n: plots.marker(ax_grad, 0.0, 0.0, n, size=sizes.get(n, 8.0)) for n in curves}
    shape_of_curves = {"delta": delta, "beta": beta}

    def update(state: Mapping[str, float]) -> dict:
        d, b, residual = state["delta"], state["beta"], state["residual"]
        loss_fns = losses(d, b)
        if (d, b) != (shape_of_curves["delta"], shape_of_curves["beta"]):
            for name in reshaped:
                penalty, gradient = _elementwise_grad(loss_fns[name], residuals)
                loss_lines[name].set_ydata(penalty)
                grad_lines[name].set_ydata(gradient)
            shape_of_curves.update(delta=d, beta=b)
        values = {}
        for name, loss_fn in loss_fns.items():
            loss, grad = _value_and_grad(loss_fn, residual)
            _move(loss_dots[name], residual, loss)
            _move(grad_dots[name], residual, grad)
            values[name], values[f"{name}_grad"] = loss, grad
        return values

    return LossWidget(
        kind="regression_penalties",
        figure=figure,
        sliders=[
            Slider("delta", 0.1, 3.0, 0.05, delta, "Huber δ"),
            Slider("beta", 0.1, 3.0, 0.05, beta, "Smooth L1 β"),
            Slider("residual", -4.0, 4.0, 0.05, 2.0, "residual ŷ − y"),
        ],
        update=update,
        title="What happens to each loss and its gradient as the residual grows?",
        alt=(
            "Left: MSE is a parabola; MAE a V; Huber and Smooth L1 are quadratic near zero and "
            "linear beyond δ (β). Right: their gradients: MSE's is a straight line through zero, "
            "MAE's is ±1, Huber's is capped at ±δ and Smooth L1's at ±1."
        ),
    )


def _check_in_slider_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside the slider's range [{low}, {high}].")


def _fit_l1_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The least-absolute-deviations line, exactly.

    An L1 fit of a line is a linear program whose optimum is attained at a
    vertex: a line through two of the data points. So try every pair.
    """
    i, j = np.triu_indices(x.size, k=1)
    distinct = x[i] != x[j]
    i, j = i[distinct], j[distinct]
    slopes = (y[j] - y[i]) / (x[j] - x[i])
    intercepts = y[i] - slopes * x[i]
    total = np.abs(y[None, :] - slopes[:, None] * x[None, :] - intercepts[:, None]).sum(axis=1)
    best = int(np.argmin(total))
    return float(slopes[best]), float(intercepts[best])


def _fit_huber_line(
    design: np.ndarray, y: np.ndarray, delta: float, start: np.ndarray, iterations: int = 60
) -> np.ndarray:
    """Huber regression by iteratively reweighted least squares.

    Huber's loss is a weighted square with weight ``min(1, δ/|r|)``; solving
    the weighted least squares with the weights of the previous fit decreases
    the loss every step (a majorize-minimize algorithm), so it converges.
    """
    coef = start
    for _ in range(iterations):
        residuals = y - design @ coef
        weights = np.minimum(1.0, delta / np.maximum(np.abs(residuals), 1e-12))
        weighted = design * weights[:, None]
        new_coef = np.linalg.solve(design.T @ weighted, weighted.T @ y)
        if np.max(np.abs(new_coef - coef)) < 1e-12:
            return new_coef
        coef = new_coef
    return coef


@_single_threaded
def outlier_fit(n_points: int = 20, seed: int = 0, delta: float = 1.0) -> LossWidget:
    """Move one outlier and watch the MSE line chase it while L1 and Huber hold.

    ``n_points`` points near the line ``y = 0.5x + 1`` (noise σ = 0.4,
    ``seed``); the last one is the outlier. Fits: MSE in closed form (least
    squares), L1 exactly (the best line through two data points), Huber(``delta``)
    by iteratively reweighted least squares.

    Slider: ``outlier_y`` (−10 … 25).
    Values: ``outlier_y``, ``{mse,l1,huber}_slope``, ``{mse,l1,huber}_intercept``
    and ``{mse,l1,huber}_loss`` (each fit's own loss, mean over the points).
    Data: ``x``, ``y`` (``n_points``,), ``y[-1]`` being the outlier.

    Example:
        >>> w = outlier_fit().set(outlier_y=25.0)
        >>> round(w.values["mse_slope"], 2), round(w.values["huber_slope"], 2)
        (0.89, 0.52)
    """
    if not 3 <= n_points <= 100:
        raise ValueError(f"n_points={n_points}: use between 3 and 100 points.")
    if delta <= 0:
        raise ValueError(f"delta={delta}: Huber's δ must be positive.")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 10.0, n_points))
    y = 0.5 * x + 1.0 + rng.normal(0.0, 0.4, n_points)
    design = np.stack([x, np.ones_like(x)], axis=1)
    # Least squares is linear in y: precompute the map y -> (slope, intercept).
    least_squares = np.linalg.pinv(design)
    x_line = np.array([-0.5, 10.5])

    figure, (ax,) = plots.new_figure(width=7.2, height=4.2)
    ax.plot(x[:-1], y[:-1], "o", color=plots.color("data"), label="data")
    outlier_dot = plots.marker(ax, x[-1], y[-1], "data", size=10)
    lines = {}
    for name in ("mse", "l1", "huber"):
        (lines[name],) = ax.plot(
            [], [], color=plots.color(name), label=f"{plots.label(name)} fit", animated=True
        )
    ax.legend(frameon=False, loc="upper left")
    plots.style_axes(
        ax,
        xlabel="x",
        ylabel="y",
        title="One outlier drags the MSE line; L1 and Huber barely move",
        xlim=(-0.5, 10.5),
        ylim=(-11.0, 26.0),
    )
    y_t = torch.tensor(y)

    def update(state: Mapping[str, float]) -> dict:
        y[-1] = y_t[-1] = state["outlier_y"]
        mse_coef = least_squares @ y
        fits = {
            "mse": mse_coef,
            "l1": np.array(_fit_l1_line(x, y)),
            "huber": _fit_huber_line(design, y, delta, start=mse_coef),
        }
        loss_fns = {
            "mse": F.mse_loss,
            "l1": F.l1_loss,
            "huber": lambda pred, target: F.huber_loss(pred, target, delta=delta),
        }
        values = {}
        for name, (slope, intercept) in fits.items():
            lines[name].set_data(x_line, slope * x_line + intercept)
            prediction = torch.tensor(design @ np.array([slope, intercept]))
            values[f"{name}_slope"] = float(slope)
            values[f"{name}_intercept"] = float(intercept)
            values[f"{name}_loss"] = _scalar(loss_fns[name](prediction, y_t))
        _move(outlier_dot, x[-1], y[-1])
        return values

    return LossWidget(
        kind="outlier_fit",
        figure=figure,
        sliders=[Slider("outlier_y", -10.0, 25.0, 0.1, 20.0, "outlier y")],
        setup={"x": x.tolist(), "y": y.tolist()},
        table=True,
        update=update,
        title="How far does one outlier pull each loss's best line?",
        data={"x": x, "y": y},
        alt=(
            f"{n_points} points on a line, the last one an outlier far above it. The MSE fit "
            "tilts towards the outlier; the L1 and Huber fits stay with the other points."
        ),
    )


@_single_threaded
def bce_penalty() -> LossWidget:
    """BCE's penalty, and where ``BCELoss(sigmoid(z))`` saturates but BCE-with-logits does not.

    Left: BCE vs predicted probability for target 1 (``−log p``) and target 0
    (``−log(1 − p)``). Right: loss vs logit for target 1 in float32. Below
    z ≈ −88.7, ``sigmoid(z)`` underflows to exactly 0, so BCE on it is
    ``−max(log 0, −100) = 100`` (torch clamps the log at −100) with gradient 0:
    the loss stops telling the model how wrong it is. BCE with logits computes
    ``log σ(z)`` without forming ``σ(z)`` and keeps growing like ``−z``.

    Slider: ``logit`` (−120 … 10).
    Values: ``logit``, ``prob`` (σ(logit), float32), ``bce``, ``bce_with_logits``
    (target 1), ``bce_grad``, ``bce_with_logits_grad`` (∂loss/∂logit).

    Example:
        >>> w = bce_penalty().set(logit=-110.0)
        >>> w.values["bce"], w.values["bce_with_logits"]
        (100.0, 110.0)
    """
    probs = torch.linspace(1e-3, 1 - 1e-3, 400, dtype=torch.float64)
    ones = torch.ones_like(probs)
    bce_target_1 = F.binary_cross_entropy(probs, ones, reduction="none").numpy()
    bce_target_0 = F.binary_cross_entropy(probs, 0 * ones, reduction="none").numpy()

    def bce_of_logit(logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(F.sigmoid(logits), torch.ones_like(logits), reduction="none")

    def bce_with_logits(logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")

    logits = torch.linspace(-120.0, 10.0, 521, dtype=torch.float32)
    figure, (ax_prob, ax_logit) = plots.new_figure(2)
    p = probs.numpy()
    ax_prob.plot(p, bce_target_1, color=plots.color("bce"), label="target 1:  −log p")
    ax_prob.plot(p, bce_target_0, "--", color=plots.color("bce"), label="target 0:  −log(1 − p)")
    ax_prob.legend(frameon=False, loc="upper center")
    plots.penalty_curves(
        ax_logit,
        logits.numpy(),
        {"bce": bce_of_logit(logits).numpy(), "bce_with_logits": bce_with_logits(logits).numpy()},
        labels={"bce": "BCELoss(sigmoid(z))", "bce_with_logits": "BCEWithLogitsLoss(z)"},
    )
    plots.style_axes(
        ax_prob,
        xlabel="predicted probability p",
        ylabel="BCE",
        title="Confident and wrong costs the most",
        xlim=(0, 1),
        ylim=(0, 7),
    )
    plots.style_axes(
        ax_logit,
        xlabel="logit z (target 1, float32)",
        ylabel="loss",
        title="Once σ(z) underflows, BCE on it is stuck at 100",
        xlim=(-120, 10),
        ylim=(0, 125),
    )
    dot_1 = plots.marker(ax_prob, 0.5, 0.0, "bce")
    dot_0 = plots.marker(ax_prob, 0.5, 0.0, "bce", size=6)
    dot_bce = plots.marker(ax_logit, 0.0, 0.0, "bce")
    dot_logits = plots.marker(ax_logit, 0.0, 0.0, "bce_with_logits", size=6)

    def float32_value_and_grad(loss_fn, at: float) -> tuple[float, float]:
        z = torch.tensor([at], dtype=torch.float32, requires_grad=True)
        loss = loss_fn(z)
        (grad,) = torch.autograd.grad(loss.sum(), z)
        return _scalar(loss[0]), _scalar(grad[0])

    def update(state: Mapping[str, float]) -> dict:
        z = state["logit"]
        prob = _scalar(F.sigmoid(torch.tensor(z, dtype=torch.float32)))
        bce, bce_grad = float32_value_and_grad(bce_of_logit, z)
        with_logits, with_logits_grad = float32_value_and_grad(bce_with_logits, z)
        # The probability panel stops where −log p leaves the axes anyway.
        shown = min(max(prob, 1e-3), 1 - 1e-3)
        _move(dot_1, shown, -math.log(shown))
        _move(dot_0, shown, -math.log1p(-shown))
        _move(dot_bce, z, bce)
        _move(dot_logits, z, with_logits)
        return {
            "prob": prob,
            "bce": bce,
            "bce_with_logits": with_logits,
            "bce_grad": bce_grad,
            "bce_with_logits_grad": with_logits_grad,
        }

    return LossWidget(
        kind="bce_penalty",
        figure=figure,
        sliders=[Slider("logit", -120.0, 10.0, 0.5, -2.0, "logit z")],
        setup={
            "probs": p.tolist(),
            "bce_target_1": bce_target_1.tolist(),
            "bce_target_0": bce_target_0.tolist(),
            "logits": logits.tolist(),
            "bce_of_logit": bce_of_logit(logits).tolist(),
            "bce_with_logits": bce_with_logits(logits).tolist(),
        },
        table=True,
        update=update,
        title="Why pass logits, not probabilities, to binary cross-entropy?",
        alt=(
            "Left: BCE against the predicted probability, −log p for target 1 and −log(1 − p) for "
            "target 0, both growing without bound at the wrong end. Right: for target 1 in "
            "float32, BCE on sigmoid(z) follows −z down to about z = −88.7, where sigmoid "
            "underflows to 0, and is 100 from there on; BCE with logits keeps growing linearly."
        ),
    )


def _fit_weighted_logistic(
    x: np.ndarray, labels: np.ndarray, pos_weight: float, iterations: int = 30
) -> np.ndarray:
    """(w, b) minimising mean BCE-with-logits(w·x + b, labels, pos_weight), by Newton's method.

    With ``pos_weight`` a positive example counts ``pos_weight`` times, so this
    is logistic regression with sample weights ``pos_weight`` (positives) and 1
    (negatives); its loss is convex, and Newton converges in a few steps.
    """
    design = np.stack([x, np.ones_like(x)], axis=1)
    sample_weight = np.where(labels == 1, pos_weight, 1.0)
    coef = np.zeros(2)
    for _ in range(iterations):
        probs = 1.0 / (1.0 + np.exp(-(design @ coef)))
        gradient = design.T @ (sample_weight * (probs - labels))
        curvature = sample_weight * probs * (1.0 - probs)
        hessian = design.T @ (design * curvature[:, None])
        step = np.linalg.solve(hessian, gradient)
        coef = coef - step
        if np.max(np.abs(step)) < 1e-12:
            break
    return coef


@_single_threaded
def pos_weight_explorer(positive_fraction: float = 0.1, seed: int = 0) -> LossWidget:
    """``pos_weight`` on imbalanced data: who the loss listens to, and what the model does.

    200 points, ``positive_fraction`` of them positive: negatives around
    x = −1, positives around x = +1 (σ = 1, ``seed``). Left: the positives'
    share of the total BCE loss and of the gradient's magnitude, at the start of
    training (all logits 0) and at the fitted model. Right: the data and the
    logistic fit ``σ(w·x + b)`` under BCE-with-logits(``pos_weight``), with its
    decision threshold. ``pos_weight = n_neg / n_pos`` balances the shares at
    the start.

    Slider: ``pos_weight`` (0.1 … 30).
    Values: ``pos_weight``, ``balancing_pos_weight`` (n_neg / n_pos),
    ``positive_loss_share``, ``positive_grad_share`` (at the start),
    ``positive_loss_share_fitted``, ``slope`` and ``intercept`` of the fit,
    ``threshold`` (x where p = 0.5), ``recall``,
    ``precision`` (0 when nothing is predicted positive).
    Data: ``x`` (200,), ``labels`` (200,) 0/1, negatives first.

    Example:
        >>> w = pos_weight_explorer(positive_fraction=0.1)
        >>> w.values["balancing_pos_weight"]
        9.0
        >>> round(w.set(pos_weight=9.0).values["positive_loss_share"], 12)
        0.5
    """
    if not 0 < positive_fraction < 1:
        raise ValueError(f"positive_fraction={positive_fraction}: use a fraction in (0, 1).")
    n_total = 200
    n_pos = max(1, round(positive_fraction * n_total))
    n_neg = n_total - n_pos
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-1.0, 1.0, n_neg), rng.normal(1.0, 1.0, n_pos)])
    labels = np.concatenate([np.zeros(n_neg), np.ones(n_pos)])
    x_t, labels_t = torch.tensor(x), torch.tensor(labels)
    is_pos = labels == 1

    def positive_shares(logits: torch.Tensor, pos_weight: float) -> tuple[float, float]:
        logits = logits.detach().clone().requires_grad_(True)
        loss = F.binary_cross_entropy_with_logits(
            logits,
            labels_t,
            pos_weight=torch.tensor(pos_weight, dtype=torch.float64),
            reduction="none",
        )
        (grad,) = torch.autograd.grad(loss.sum(), logits)
        loss, grad = loss.detach().numpy(), grad.abs().numpy()
        return float(loss[is_pos].sum() / loss.sum()), float(grad[is_pos].sum() / grad.sum())

    figure, (ax_share, ax_fit) = plots.new_figure(2)
    share_bars = plots.bars(
        ax_share,
        ["loss, start", "gradient, start", "loss, fitted"],
        [0.5, 0.5, 0.5],
        colors=plots.CLASS_COLORS[1],
    )
    ax_share.axhline(0.5, color=plots.color("accuracy"), linewidth=1, linestyle=":")
    plots.style_axes(
        ax_share,
        xlabel="",
        ylabel="positives' share",
        title="pos_weight = n_neg/n_pos gives positives half",
        ylim=(0, 1),
    )
    jitter = rng.uniform(-0.06, 0.06, n_total)
    for cls in (0, 1):
        ax_fit.plot(
            x[labels == cls],
            cls + jitter[labels == cls],
            "o",
            color=plots.CLASS_COLORS[cls],
            markersize=4,
            alpha=0.6,
            label=f"{'positive' if cls else 'negative'} (n={n_pos if cls else n_neg})",
        )
    x_grid = np.linspace(-4.5, 4.5, 200)
    (prob_curve,) = ax_fit.plot(
        [], [], color=plots.color("bce_with_logits"), label="fitted p(x)", animated=True
    )
    (threshold_line,) = ax_fit.plot(
        [],
        [],
        "--",
        color=plots.color("accuracy"),
        linewidth=1.2,
        label="threshold p = 0.5",
        animated=True,
    )
    ax_fit.legend(frameon=False, loc="center left", fontsize=8)
    plots.style_axes(
        ax_fit,
        xlabel="feature x",
        ylabel="label / predicted probability",
        title="More pos_weight: threshold moves left, recall rises",
        xlim=(-4.5, 4.5),
        ylim=(-0.15, 1.15),
    )

    def update(state: Mapping[str, float]) -> dict:
        pos_weight = state["pos_weight"]
        loss_share, grad_share = positive_shares(
            torch.zeros(n_total, dtype=torch.float64), pos_weight
        )
        slope, intercept = _fit_weighted_logistic(x, labels, pos_weight)
        fitted_share, _ = positive_shares(slope * x_t + intercept, pos_weight)
        threshold = -intercept / slope
        predicted = x * slope + intercept > 0
        true_positives = int(np.sum(predicted & is_pos))
        plots.set_bar_heights(share_bars, [loss_share, grad_share, fitted_share])
        prob_curve.set_data(x_grid, 1.0 / (1.0 + np.exp(-(slope * x_grid + intercept))))
        threshold_line.set_data([threshold, threshold], [-0.15, 1.15])
        return {
            "balancing_pos_weight": n_neg / n_pos,
            "positive_loss_share": loss_share,
            "positive_grad_share": grad_share,
            "positive_loss_share_fitted": fitted_share,
            "slope": float(slope),
            "intercept": float(intercept),
            "threshold": float(threshold),
            "recall": true_positives / n_pos,
            "precision": true_positives / max(int(predicted.sum()), 1),
        }

    return LossWidget(
        kind="pos_weight_explorer",
        figure=figure,
        sliders=[Slider("pos_weight", 0.1, 30.0, 0.1, 1.0, "pos_weight")],
        setup={
            "x": x.tolist(),
            "labels": labels.tolist(),
            "jitter": jitter.tolist(),
            "n_pos": n_pos,
            "n_neg": n_neg,
        },
        table=True,
        update=update,
        title=f"With {n_pos} positives among {n_total} points, how much should each count?",
        data={"x": x, "labels": labels},
        alt=(
            f"Left: the positives' share of the loss and gradient, {n_pos} positives against "
            f"{n_neg} negatives. Right: the data and a fitted logistic curve whose threshold moves "
            "towards the negatives as pos_weight grows."
        ),
    )


def _check_logits_and_target(logits: Sequence[float], target: int) -> torch.Tensor:
    logits_t = torch.tensor([float(z) for z in logits], dtype=torch.float64)
    n_classes = logits_t.numel()
    if not 2 <= n_classes <= 6:
        raise ValueError(f"got {n_classes} logits; pass between 2 and 6 (one per class).")
    if not (-5.0 <= float(logits_t.min()) and float(logits_t.max()) <= 5.0):
        raise ValueError(f"logits {list(logits)} leave the sliders' range [-5, 5].")
    if not 0 <= target < n_classes:
        raise ValueError(
            f"target={target} is not a class index for {n_classes} classes; use 0 … {n_classes - 1}."
        )
    return logits_t


@_single_threaded
def cross_entropy_pipeline(
    logits: Sequence[float] = (2.0, 1.0, 0.1), target: int = 0
) -> LossWidget:
    """Logits → softmax(z / T) → −log p[target], and the gradient ``softmax − one_hot``.

    Panels: the logits, the probabilities (target class outlined, ``−log p``
    written above it), and the gradient of the loss with respect to the scaled
    logits ``z / T`` (``softmax − one_hot``; with respect to ``z`` itself it is
    that divided by T). Computed with :func:`lossbook.losses.pipeline.cross_entropy_steps`.

    Sliders: ``logit_0`` … ``logit_{C−1}`` (−5 … 5), ``temperature`` (0.1 … 5).
    Values: ``logit_i``, ``temperature``, ``probs`` (list), ``loss``, ``grad`` (list).

    Example:
        >>> w = cross_entropy_pipeline(logits=(0.0, 0.0), target=0)
        >>> w.values["probs"], w.values["grad"]
        ([0.5, 0.5], [-0.5, 0.5])
    """
    logits_t = _check_logits_and_target(logits, target)
    n_classes = logits_t.numel()
    names = [f"class {c}" + (" (target)" if c == target else "") for c in range(n_classes)]
    figure, (ax_logits, ax_probs, ax_grad) = plots.new_figure(3)
    logit_bars = plots.bars(ax_logits, names, logits_t.tolist())
    prob_bars = plots.bars(ax_probs, names, [0.0] * n_classes)
    grad_bars = plots.bars(ax_grad, names, [0.0] * n_classes)
    for container in (prob_bars, logit_bars):
        container.patches[target].set_edgecolor(plots.color("accuracy"))
        container.patches[target].set_linewidth(2)
    # Centred over the first or last bar, the label would cross the axes' edge:
    # align it with that bar's outer edge instead (bars are 0.7 wide). Its white
    # box keeps it readable where it then overhangs a neighbouring bar.
    anchor = "left" if target == 0 else "right" if target == n_classes - 1 else "center"
    text_x = target + {"left": -0.35, "right": 0.35, "center": 0.0}[anchor]
    loss_text = ax_probs.text(
        text_x,
        0.0,
        "",
        ha=anchor,
        va="bottom",
        fontsize=10,
        animated=True,
        color=plots.color("ce"),
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0},
    )
    for ax in (ax_logits, ax_grad):
        ax.axhline(0.0, color=plots.color("accuracy"), linewidth=0.8)
    plots.style_axes(
        ax_logits, xlabel="", ylabel="logit z", title="Logits: any real number", ylim=(-5, 5)
    )
    plots.style_axes(
        ax_probs, xlabel="", ylabel="softmax(z / T)", title="Probabilities sum to 1", ylim=(0, 1.12)
    )
    plots.style_axes(
        ax_grad,
        xlabel="",
        ylabel="∂loss/∂(z / T)",
        title="Gradient: softmax − one_hot",
        ylim=(-1, 1),
    )
    for ax in (ax_logits, ax_probs, ax_grad):
        ax.tick_params(axis="x", labelsize=8)
    target_t = torch.tensor([target])

    def update(state: Mapping[str, float]) -> dict:
        temperature = state["temperature"]
        current = torch.tensor([state[f"logit_{c}"] for c in range(n_classes)], dtype=torch.float64)
        steps = cross_entropy_steps(current[None, :] / temperature, target_t)
        probs = steps.probs[0].tolist()
        loss = _scalar(steps.loss)
        grad = steps.grad[0].tolist()
        plots.set_bar_heights(logit_bars, current.tolist())
        plots.set_bar_heights(prob_bars, probs)
        plots.set_bar_heights(grad_bars, grad)
        loss_text.set_position((text_x, probs[target] + 0.01))
        loss_text.set_text(f"−log p = {loss:.3f}")
        return {"probs": probs, "loss": loss, "grad": grad}

    return LossWidget(
        kind="cross_entropy_pipeline",
        figure=figure,
        setup={"names": names, "target": target},
        sliders=[
            *(
                Slider(f"logit_{c}", -5.0, 5.0, 0.1, float(logits_t[c]), f"logit z{c}")
                for c in range(n_classes)
            ),
            Slider("temperature", 0.1, 5.0, 0.05, 1.0, "temperature T"),
        ],
        update=update,
        title="How do logits and temperature shape the probabilities, the loss and its gradient?",
        alt=(
            f"Three bar charts over {n_classes} classes: the logits, their softmax probabilities "
            f"with −log p of the target class {target}, and the gradient softmax − one_hot, "
            "negative only for the target."
        ),
    )


@_single_threaded
def neg_log_curve() -> LossWidget:
    """The −log p penalty: gentle near p = 1, steep near p = 0.

    Slider: ``p`` (probability given to the true class, 0.01 … 1).
    Values: ``p``, ``loss`` (−log p, computed as BCE with target 1), ``grad`` (∂loss/∂p = −1/p).

    Example:
        >>> w = neg_log_curve().set(p=0.25)
        >>> round(w.values["loss"], 4), w.values["grad"]
        (1.3863, -4.0)
    """

    def neg_log(p: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(p, torch.ones_like(p), reduction="none")

    probs = torch.linspace(0.005, 1.0, 400, dtype=torch.float64)
    figure, (ax,) = plots.new_figure(width=6.4, height=3.8)
    ax.plot(probs.numpy(), neg_log(probs).numpy(), color=plots.color("nll"), label="−log p")
    dot = plots.marker(ax, 0.5, 0.0, "nll")
    (tangent,) = ax.plot(
        [], [], ":", color=plots.color("accuracy"), linewidth=2.5, animated=True, label="tangent"
    )
    ax.legend(frameon=False)
    plots.style_axes(
        ax,
        xlabel="probability of the true class p",
        ylabel="loss  −log p",
        title="Near 0 when right, steep when confidently wrong",
        xlim=(0, 1.02),
        ylim=(0, 5.5),
    )

    def update(state: Mapping[str, float]) -> dict:
        p = state["p"]
        loss, grad = _value_and_grad(neg_log, p)
        _move(dot, p, loss)
        span = np.array([max(p - 0.15, 1e-3), min(p + 0.15, 1.02)])
        tangent.set_data(span, loss + grad * (span - p))
        return {"loss": loss, "grad": grad}

    return LossWidget(
        kind="neg_log_curve",
        figure=figure,
        sliders=[Slider("p", 0.01, 1.0, 0.01, 0.5, "p(true class)")],
        update=update,
        title="How much does −log p charge for each probability of the true class?",
        alt="The curve −log p falls from about 5.3 at p = 0.005 to 0 at p = 1, steepest near 0.",
    )


@_single_threaded
def label_smoothing_explorer(
    logits: Sequence[float] = (2.0, 1.0, 0.1), target: int = 0
) -> LossWidget:
    """Label smoothing: the target distribution it trains towards, and the loss.

    The smoothed target puts ``ε/C`` on every class and ``1 − ε + ε/C`` on the
    target (torch's definition: ε is spread over all C classes, not C − 1).
    Left: one-hot and smoothed target beside the model's probabilities. Right:
    the loss against ε, with and without smoothing.

    Slider: ``epsilon`` (0 … 0.5).
    Values: ``epsilon``, ``target_distribution`` (list), ``loss`` (smoothed),
    ``loss_without_smoothing``.

    Example:
        >>> w = label_smoothing_explorer(logits=(1.0, 1.0, 1.0, 1.0), target=0).set(epsilon=0.4)
        >>> [round(q, 6) for q in w.values["target_distribution"]]
        [0.7, 0.1, 0.1, 0.1]
    """
    logits_t = _check_logits_and_target(logits, target)[None, :]
    n_classes = logits_t.shape[1]
    target_t = torch.tensor([target])
    probs = F.softmax(logits_t, dim=1)[0].tolist()
    one_hot = [1.0 if c == target else 0.0 for c in range(n_classes)]
    plain_loss = _scalar(F.cross_entropy(logits_t, target_t))
    epsilons = np.linspace(0.0, 0.5, 51)
    smoothed_curve = [
        _scalar(F.cross_entropy(logits_t, target_t, label_smoothing=float(e))) for e in epsilons
    ]

    figure, (ax_dist, ax_loss) = plots.new_figure(2)
    names = [f"class {c}" for c in range(n_classes)]
    width = 0.27
    plots.bars(
        ax_dist,
        names,
        one_hot,
        colors="none",
        animated=False,
        width=width,
        offset=-width,
        label="one-hot target",
    )
    for patch in ax_dist.patches:
        patch.set_edgecolor(plots.color("accuracy"))
    smoothed_bars = plots.bars(
        ax_dist,
        names,
        one_hot,
        colors=plots.color("ce_smoothed"),
        width=width,
        label="smoothed target",
    )
    plots.bars(
        ax_dist,
        names,
        probs,
        colors=plots.color("ce"),
        animated=False,
        width=width,
        offset=width,
        label="model's probs",
    )
    ax_dist.legend(frameon=False, fontsize=8)
    plots.style_axes(
        ax_dist,
        xlabel="",
        ylabel="probability",
        title="Smoothing moves ε of the target's mass to all C classes",
        ylim=(0, 1.05),
    )
    ax_loss.plot(epsilons, smoothed_curve, color=plots.color("ce_smoothed"), label="with smoothing")
    ax_loss.axhline(plain_loss, color=plots.color("ce"), label="without smoothing")
    dot = plots.marker(ax_loss, 0.0, plain_loss, "ce_smoothed")
    ax_loss.legend(frameon=False)
    span = max(smoothed_curve + [plain_loss]) - min(smoothed_curve + [plain_loss])
    plots.style_axes(
        ax_loss,
        xlabel="smoothing ε",
        ylabel="cross-entropy",
        title="A confident model pays more as ε grows",
        xlim=(0, 0.5),
        ylim=(
            min(smoothed_curve + [plain_loss]) - 0.1 * span - 0.05,
            max(smoothed_curve + [plain_loss]) + 0.1 * span + 0.05,
        ),
    )

    def update(state: Mapping[str, float]) -> dict:
        epsilon = state["epsilon"]
        steps = cross_entropy_steps(logits_t, target_t, label_smoothing=epsilon)
        distribution = steps.target_dist[0].tolist()
        loss = _scalar(steps.loss)
        plots.set_bar_heights(smoothed_bars, distribution)
        _move(dot, epsilon, loss)
        return {
            "target_distribution": distribution,
            "loss": loss,
            "loss_without_smoothing": plain_loss,
        }

    return LossWidget(
        kind="label_smoothing_explorer",
        figure=figure,
        sliders=[Slider("epsilon", 0.0, 0.5, 0.01, 0.1, "smoothing ε")],
        setup={"logits": logits_t[0].tolist(), "target": target},
        update=update,
        title="What target does label smoothing train towards, and what does it cost?",
        alt=(
            f"Left: for {n_classes} classes, the one-hot target, the smoothed target (ε/C on each "
            "class plus 1 − ε on the target) and the model's probabilities. Right: the smoothed "
            "loss against ε next to the unsmoothed loss."
        ),
    )


FOCAL_PROBES = (0.1, 0.5, 0.9, 0.99)
"""The p_t values at which :func:`focal_gamma_explorer` reports the down-weighting."""


@_single_threaded
def focal_gamma_explorer(gamma: float = 2.0, alpha: float | None = None) -> LossWidget:
    """Focal loss: ``(1 − p_t)^γ`` turns down the loss of examples already right.

    Left: focal loss vs ``p_t`` next to cross-entropy (γ = 0). Right: the
    modulating factor, measured as focal / CE, equal to ``(1 − p_t)^γ`` (times
    α when set). With ``alpha`` given, an ``alpha`` slider weights the
    positive class as in torchvision's ``sigmoid_focal_loss``; the curves are
    for a positive example with logit ``log(p_t / (1 − p_t))``.

    Sliders: ``gamma`` (0 … 5), and ``alpha`` (0 … 1) when given.
    Values: ``gamma`` (``alpha``), and for p_t in :data:`FOCAL_PROBES`:
    ``factor_at_<p_t>`` and ``focal_at_<p_t>``.

    Example:
        >>> w = focal_gamma_explorer(gamma=2.0)
        >>> round(w.values["factor_at_0.9"], 6)
        0.01
    """
    _check_in_slider_range("gamma", gamma, 0.0, 5.0)
    if alpha is not None:
        _check_in_slider_range("alpha", alpha, 0.0, 1.0)
    p_t = torch.linspace(0.01, 0.999, 300, dtype=torch.float64)
    probes = torch.tensor(FOCAL_PROBES, dtype=torch.float64)

    def losses(p: torch.Tensor, g: float, a: float) -> tuple[torch.Tensor, torch.Tensor]:
        logit = torch.log(p) - torch.log1p(-p)
        ones = torch.ones_like(p)
        ce = F.binary_cross_entropy_with_logits(logit, ones, reduction="none")
        focal = F.sigmoid_focal_loss(logit, ones, alpha=a, gamma=g, reduction="none")
        return ce, focal

    no_alpha = -1.0
    ce_curve, focal_curve = losses(p_t, gamma, alpha if alpha is not None else no_alpha)
    figure, (ax_loss, ax_factor) = plots.new_figure(2)
    grid = p_t.numpy()
    lines = plots.penalty_curves(
        ax_loss,
        grid,
        {"bce": ce_curve.numpy(), "focal": focal_curve.numpy()},
        labels={"bce": "cross-entropy (γ = 0)", "focal": "focal loss"},
        animated=("focal",),
    )
    (factor_line,) = ax_factor.plot(
        grid,
        (focal_curve / ce_curve).numpy(),
        color=plots.color("focal"),
        animated=True,
        label="focal / CE",
    )
    probe_dots = plots.marker(ax_factor, 0.0, 0.0, "focal")
    probe_dots.set_data(list(FOCAL_PROBES), [0.0] * len(FOCAL_PROBES))
    ax_factor.legend(frameon=False)
    plots.style_axes(
        ax_loss,
        xlabel="p_t, probability of the true label",
        ylabel="loss",
        title="Focal loss is near 0 for easy examples",
        xlim=(0, 1),
        ylim=(0, 4.7),
    )
    plots.style_axes(
        ax_factor,
        xlabel="p_t, probability of the true label",
        ylabel="focal / CE = (1 − p_t)^γ" if alpha is None else "focal / CE = α·(1 − p_t)^γ",
        title="How much each example still counts",
        xlim=(0, 1),
        ylim=(0, 1.05),
    )

    def update(state: Mapping[str, float]) -> dict:
        g = state["gamma"]
        a = state.get("alpha", no_alpha)
        ce_now, focal_now = losses(p_t, g, a)
        lines["focal"].set_ydata(focal_now.numpy())
        factor_line.set_ydata((focal_now / ce_now).numpy())
        ce_probe, focal_probe = losses(probes, g, a)
        factors = (focal_probe / ce_probe).tolist()
        probe_dots.set_ydata(factors)
        values = {}
        for p, factor, focal in zip(FOCAL_PROBES, factors, focal_probe.tolist(), strict=True):
            values[f"factor_at_{p}"] = factor
            values[f"focal_at_{p}"] = focal
        return values

    sliders = [Slider("gamma", 0.0, 5.0, 0.1, gamma, "focusing γ")]
    if alpha is not None:
        sliders.append(Slider("alpha", 0.0, 1.0, 0.05, alpha, "α (positives)"))
    return LossWidget(
        kind="focal_gamma_explorer",
        figure=figure,
        sliders=sliders,
        setup={"probes": list(FOCAL_PROBES)},
        update=update,
        title="How strongly does γ turn down the examples the model already gets right?",
        alt=(
            "Left: cross-entropy and focal loss against p_t; the focal curve drops to nearly 0 "
            "well before p_t = 1. Right: the factor (1 − p_t)^γ, 1 at p_t = 0 and falling faster "
            "for larger γ."
        ),
    )


WIDGETS: dict[str, Callable[..., LossWidget]] = {
    "accuracy_landscape": accuracy_landscape,
    "regression_penalties": regression_penalties,
    "outlier_fit": outlier_fit,
    "bce_penalty": bce_penalty,
    "pos_weight_explorer": pos_weight_explorer,
    "cross_entropy_pipeline": cross_entropy_pipeline,
    "neg_log_curve": neg_log_curve,
    "label_smoothing_explorer": label_smoothing_explorer,
    "focal_gamma_explorer": focal_gamma_explorer,
}
"""Every widget of the course by name (tests and the benchmark iterate over it)."""

__all__ = [
    "FOCAL_PROBES",
    "CanvasView",
    "LossWidget",
    "Slider",
    "WIDGETS",
    "force_live",
    "is_live",
    *WIDGETS,
]
