"""The course's static figures and its colours: one look for every chapter.

Every figure in the course, static or behind a slider, is built here, so a
loss has the same colour, the axes the same labels and the figures the same
size in every chapter:

- :data:`COLORS`: one colour per loss from the colour-blind-safe Okabe–Ito
  palette; :func:`color` resolves torch's names (``"mse_loss"``) and aliases
  (``"mae"``) to it.
- :func:`new_figure`: a figure (not a pyplot figure: nothing is displayed or
  kept alive behind the caller's back) sized for a laptop screen.
- Drawing helpers that take an ``ax`` and return the artists they made, so a
  widget can move them in place: :func:`penalty_curves`, :func:`marker`,
  :func:`bars`.
- Whole figures the notebooks show directly, as :class:`StaticFigure` (PNG plus
  alt text): :func:`loss_curves`, :func:`reliability_diagram`,
  :func:`penalty_figure`.

Figures are drawn with matplotlib's Agg renderer; pyplot is never imported.
"""

from __future__ import annotations

import base64
import html
import struct
import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
# colour-vision deficiency. Yellow (#F0E442) is left out: too faint as a line on white.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

COLORS: dict[str, str] = {
    # regression family: shown together in every regression figure
    "mse": OKABE_ITO["blue"],
    "l1": OKABE_ITO["vermillion"],
    "huber": OKABE_ITO["bluish_green"],
    "smooth_l1": OKABE_ITO["reddish_purple"],
    # binary family: BCE, its logits form and focal loss are compared side by side
    "bce": OKABE_ITO["orange"],
    "bce_with_logits": OKABE_ITO["sky_blue"],
    "focal": OKABE_ITO["reddish_purple"],
    # multi-class family: CE is compared with NLL, smoothed CE, KL and MSE
    "ce": OKABE_ITO["vermillion"],
    "nll": OKABE_ITO["orange"],
    "ce_smoothed": OKABE_ITO["sky_blue"],
    "kl": OKABE_ITO["bluish_green"],
    # what the losses are judged against
    "accuracy": OKABE_ITO["black"],
    "balanced_accuracy": OKABE_ITO["bluish_green"],
    "data": "#7F7F7F",
}
"""One colour per loss, the same in every chapter (hex strings).

Seven distinguishable colours cannot give twenty losses a colour each, so
colours repeat across families but never within a figure: every group in
:data:`SHOWN_TOGETHER` has distinct colours (the tests check it).
"""

ALIASES: dict[str, str] = {
    "mae": "l1",
    "l1_loss": "l1",
    "mse_loss": "mse",
    "huber_loss": "huber",
    "smooth_l1_loss": "smooth_l1",
    "binary_cross_entropy": "bce",
    "binary_cross_entropy_with_logits": "bce_with_logits",
    "sigmoid_focal_loss": "focal",
    "cross_entropy": "ce",
    "nll_loss": "nll",
    "kl_div": "kl",
}
"""Other names a loss goes by (torch's function names, "mae") → its :data:`COLORS` key."""

LABELS: dict[str, str] = {
    "mse": "MSE",
    "l1": "MAE (L1)",
    "huber": "Huber",
    "smooth_l1": "Smooth L1",
    "bce": "BCE",
    "bce_with_logits": "BCE with logits",
    "focal": "focal",
    "ce": "cross-entropy",
    "nll": "NLL",
    "ce_smoothed": "cross-entropy, smoothed",
    "kl": "KL divergence",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "data": "data",
}
"""How each loss is named in legends."""

SHOWN_TOGETHER: tuple[tuple[str, ...], ...] = (
    ("mse", "l1", "huber", "smooth_l1", "data"),
    ("bce", "bce_with_logits", "focal"),
    ("ce", "nll", "ce_smoothed", "kl", "mse", "accuracy"),
    ("ce", "bce", "focal", "accuracy"),
    ("ce", "mse", "accuracy", "balanced_accuracy"),
)
"""Groups of losses that share a figure somewhere in the course."""

LINESTYLES: dict[str, str] = {"smooth_l1": "--", "bce_with_logits": "--"}
"""Losses drawn dashed: each can lie exactly on a sibling (Smooth L1 on Huber when
β = δ = 1, BCE-with-logits on BCE wherever σ(z) does not underflow), and a dashed
line on a solid one shows both."""

CLASS_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
)
"""Colours for classes (bars, scatter points); index ``i`` is class ``i``."""

FIGSIZE = (9.6, 3.6)
"""Width and height in inches of a one-row figure: 960 × 360 px at :data:`DPI`,
fits a laptop screen beside the notebook's margins."""

DPI = 100

_STYLE = {
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
}


def color(loss: str) -> str:
    """The course colour of ``loss`` (a :data:`COLORS` key, an alias or torch's name).

    Example:
        >>> color("mse_loss") == color("mse") == "#0072B2"
        True
    """
    key = ALIASES.get(loss, loss)
    if key not in COLORS:
        known = ", ".join(sorted({*COLORS, *ALIASES}))
        raise KeyError(f"no course colour for {loss!r}; use one of: {known}.")
    return COLORS[key]


def label(loss: str) -> str:
    """The legend name of ``loss`` (same keys as :func:`color`)."""
    color(loss)  # raises the helpful KeyError for an unknown name
    return LABELS[ALIASES.get(loss, loss)]


def new_figure(
    ncols: int = 1,
    nrows: int = 1,
    *,
    width: float | None = None,
    height: float | None = None,
    suptitle: str | None = None,
) -> tuple[Figure, list[Axes]]:
    """A course-styled figure with ``nrows × ncols`` axes, and the axes as a flat list.

    The figure is a plain :class:`matplotlib.figure.Figure` on an Agg canvas,
    not a pyplot figure: displaying it is the caller's choice (return a
    :class:`StaticFigure`, or a widget). Default size :data:`FIGSIZE`, taller by
    ``FIGSIZE[1]`` per extra row. Margins are fixed in inches rather than
    computed by a layout engine: constrained layout re-measures every text on
    every draw, which costs more than the drawing itself.

    Example:
        >>> fig, axes = new_figure(2)
        >>> len(axes), fig.get_size_inches().tolist()
        (2, [9.6, 3.6])
    """
    import matplotlib

    fig_width = width or FIGSIZE[0]
    fig_height = height or FIGSIZE[1] * nrows
    top = 0.75 if suptitle else 0.45
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(fig_width, fig_height), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    axes_width = (fig_width - _LEFT - _RIGHT - _GAP * (ncols - 1)) / ncols
    axes_height = (fig_height - _BOTTOM - top - _VGAP * (nrows - 1)) / nrows
    figure.subplots_adjust(
        left=_LEFT / fig_width,
        right=1 - _RIGHT / fig_width,
        bottom=_BOTTOM / fig_height,
        top=1 - top / fig_height,
        wspace=_GAP / axes_width,
        hspace=_VGAP / axes_height,
    )
    if suptitle:
        figure.suptitle(suptitle, fontsize=12, fontweight="bold")
    return figure, axes


# Margins in inches: room for tick labels plus an axis label on the left and
# bottom, a title on top, and the next panel's y label between columns.
_LEFT, _RIGHT, _BOTTOM, _GAP, _VGAP = 0.8, 0.2, 0.62, 0.85, 0.9
_TOP_TWO_LINES = 0.7


def style_axes(
    ax: Axes,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Axes:
    """Label ``ax`` (every course axis has both labels) and fix its limits.

    Fixed limits matter for the widgets: a figure redrawn in place must not
    rescale while a slider moves.
    """
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        figure = ax.get_figure()
        width_inches = ax.get_position().width * figure.get_figwidth()
        # About 0.58 em per character of an 11 pt font; a longer title wraps,
        # and the figure's top margin grows to make room for the second line.
        wrapped = textwrap.fill(title, width=int(width_inches * 72 / (11 * 0.58)))
        if "\n" in wrapped:
            top_inches = _TOP_TWO_LINES + (0.3 if figure.get_suptitle() else 0.0)
            figure.subplots_adjust(top=1 - top_inches / figure.get_figheight())
        # An explicit y turns off matplotlib's automatic title placement, which
        # measures every tick label on every draw.
        ax.set_title(wrapped, y=1.0, pad=8)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    for name in ("top", "right"):
        ax.spines[name].set_visible(False)
    ax.grid(True, alpha=0.3)
    return ax


def penalty_curves(
    ax: Axes,
    x: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    animated: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    legend: bool = True,
) -> dict[str, Line2D]:
    """Draw one line per loss on ``ax`` in the course colours; return them by name.

    Args:
        ax: the axes to draw on.
        x: shape ``(K,)``, the horizontal grid (residual, probability, logit…).
        curves: loss name (a :func:`color` key) → values on ``x``, shape ``(K,)``.
        animated: names of curves a widget will redraw in place (a hyperparameter
            slider reshapes them); they are left out of the cached background.
        labels: legend text per name, overriding :data:`LABELS`.
        legend: add a legend.

    Returns:
        ``{name: Line2D}``; change a curve with ``line.set_ydata(...)``.
    """
    lines = {}
    for name, values in curves.items():
        text = (labels or {}).get(name) or label(name)
        (lines[name],) = ax.plot(
            x,
            np.asarray(values),
            LINESTYLES.get(ALIASES.get(name, name), "-"),
            color=color(name),
            label=text,
            animated=name in animated,
        )
    if legend:
        ax.legend(loc="best", frameon=False)
    return lines


def marker(ax: Axes, x: float, y: float, loss: str, *, size: float = 8.0) -> Line2D:
    """A dot at ``(x, y)`` in the colour of ``loss``, animated: a slider moves it.

    Move it with ``line.set_data([x], [y])``.
    """
    (dot,) = ax.plot(
        [x],
        [y],
        "o",
        color=color(loss),
        markersize=size,
        markeredgecolor="white",
        animated=True,
        zorder=3,  # above the curves and tangents it marks
    )
    return dot


def bars(
    ax: Axes,
    names: Sequence[str],
    heights: Sequence[float],
    *,
    colors: Sequence[str] | str | None = None,
    animated: bool = True,
    width: float = 0.7,
    offset: float = 0.0,
    label: str | None = None,
) -> BarContainer:
    """A bar per name (classes, or positives/negatives); animated unless told otherwise.

    Change the heights in place with :func:`set_bar_heights`.
    """
    positions = np.arange(len(names)) + offset
    container = ax.bar(
        positions,
        heights,
        width=width,
        color=colors if colors is not None else CLASS_COLORS[: len(names)],
        label=label,
    )
    ax.set_xticks(np.arange(len(names)), list(names))
    for patch in container.patches:
        patch.set_animated(animated)
    return container


def set_bar_heights(container: BarContainer, heights: Sequence[float]) -> None:
    """Change the heights of the bars in ``container`` (negative heights point down)."""
    for patch, height in zip(container.patches, heights, strict=True):
        patch.set_height(float(height))


def animated_artists(figure: Figure) -> list[Artist]:
    """Every artist of ``figure``'s axes marked animated, in drawing order (by zorder).

    Looks only at what a plot adds (lines, patches, texts, collections, images):
    ``figure.findobj`` would also walk every axis, which builds tick objects
    and costs more than the whole search.
    """
    found = [
        artist
        for ax in figure.axes
        for group in (ax.lines, ax.patches, ax.texts, ax.collections, ax.images)
        for artist in group
        if artist.get_animated()
    ]
    return sorted(found, key=lambda artist: artist.get_zorder())


def figure_png(figure: Figure) -> bytes:
    """Draw ``figure`` completely (animated artists included) and return PNG bytes."""
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else None
    canvas = canvas or FigureCanvasAgg(figure)
    canvas.draw()
    for artist in animated_artists(figure):
        figure.draw_artist(artist)
    return encode_png(canvas, level=6)


def encode_png(canvas: FigureCanvasAgg, *, level: int = 1) -> bytes:
    """PNG bytes of what ``canvas`` holds now (no redraw).

    A minimal PNG writer (RGBA, "Up" row filter, one zlib stream) instead of
    Pillow's: it takes about half of Pillow's time for the same size (measured
    in lossbook.course.widgets), and encoding is most of what a widget update costs.
    RGBA rather than RGB because Agg's buffer is RGBA: dropping alpha means a
    strided copy that costs more than compressing the constant alpha bytes.
    ``level`` is zlib's: 1 for frames during a drag, 6 for a PNG stored in a
    notebook.
    """
    rgba = np.asarray(canvas.buffer_rgba())
    height, width, _ = rgba.shape
    rows = rgba.reshape(height, width * 4)
    # Each PNG row starts with its filter type (2 = "Up": each byte minus the one
    # above, mod 256); line art is mostly identical rows, so this leaves zeros.
    filtered = np.empty((height, width * 4 + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(filtered, level)),
            _png_chunk(b"IEND", b""),
        )
    )


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, tag, data, CRC-32 of tag + data."""
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


@dataclass
class StaticFigure:
    """A finished figure and its alt text; shows itself as a PNG in a notebook.

    The display bundle holds ``text/html`` (the image with its ``alt``),
    ``image/png`` and ``text/plain`` (the alt text), so every front end
    (JupyterLab, nbviewer, GitHub, a terminal) shows something meaningful.

    Attributes:
        figure: the matplotlib figure.
        alt: one or two sentences saying what the figure shows and what it means.
        values: the numbers the figure was drawn from (e.g. the ECE).
    """

    figure: Figure
    alt: str
    values: dict = field(default_factory=dict)

    def png(self) -> bytes:
        """The figure as PNG bytes."""
        return figure_png(self.figure)

    def save(self, path: str) -> None:
        """Write the PNG to ``path``."""
        with open(path, "wb") as file:
            file.write(self.png())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return png_bundle(self.png(), self.alt)


def png_bundle(png: bytes, alt: str) -> dict[str, str]:
    """A display bundle for ``png``: ``text/html`` with alt text, ``image/png``, ``text/plain``."""
    data = base64.b64encode(png).decode("ascii")
    return {
        "text/html": f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"/>',
        "image/png": data,
        "text/plain": alt,
    }


def penalty_figure(
    x: np.ndarray,
    penalties: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    *,
    xlabel: str = "residual  ŷ − y",
    title: str,
    gradient_title: str,
    alt: str,
    ylim: tuple[float, float] | None = None,
    gradient_ylim: tuple[float, float] | None = None,
) -> StaticFigure:
    """Two panels: each loss's penalty curve over ``x``, and its gradient.

    Args:
        x: shape ``(K,)``.
        penalties: loss name → per-element loss on ``x``, shape ``(K,)``.
        gradients: loss name → d loss / d input on ``x``, shape ``(K,)``.
        title, gradient_title: panel titles; state the finding.
        alt: alt text for the figure.
    """
    figure, (ax_loss, ax_grad) = new_figure(2)
    penalty_curves(ax_loss, x, penalties)
    penalty_curves(ax_grad, x, gradients, legend=False)
    style_axes(ax_loss, xlabel=xlabel, ylabel="loss", title=title, ylim=ylim)
    style_axes(
        ax_grad,
        xlabel=xlabel,
        ylabel="gradient  ∂loss/∂ŷ",
        title=gradient_title,
        ylim=gradient_ylim,
    )
    return StaticFigure(figure, alt)


def loss_curves(
    history: Mapping[str, Sequence[float]],
    *,
    title: str,
    alt: str | None = None,
    xlabel: str = "epoch",
    metrics: Sequence[str] = ("accuracy",),
) -> StaticFigure:
    """Training curves: losses on the left, metrics (accuracy…) on the right.

    Args:
        history: series name → one value per epoch (or step). Names that are
            :func:`color` keys get the course colour ("mse", "ce", "ce_smoothed");
            a prefix "train "/"val " is allowed ("val ce" is drawn dashed), and so is
            "broken "/"fixed " ("broken ce" is drawn dotted: a bug beside its fix).
            Names in ``metrics`` (matched after the prefix) go to the right panel.
        title: the finding, e.g. "Focal loss keeps learning the rare class".
        alt: alt text; by default it lists the series and their last values.
        xlabel: what one step of the x-axis is.
        metrics: series names drawn on the right-hand panel, in [0, 1].

    Example:
        >>> fig = loss_curves({"train ce": [1.0, 0.5], "val ce": [1.1, 0.7],
        ...                    "val accuracy": [0.5, 0.8]}, title="It learns")
        >>> fig.values["val ce"]
        0.7
    """
    split = {name: name.split(" ", 1)[-1] for name in history}
    has_metrics = any(base in metrics for base in split.values())
    figure, axes = new_figure(2 if has_metrics else 1, width=None if has_metrics else 6.4)
    ax_loss = axes[0]
    for name, values in history.items():
        base = split[name]
        ax = axes[1] if base in metrics else ax_loss
        key = ALIASES.get(base, base)
        style = "--" if name.startswith("val ") else ":" if name.startswith("broken ") else "-"
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, style, color=COLORS.get(key), label=name)
    style_axes(ax_loss, xlabel=xlabel, ylabel="loss", title=title)
    ax_loss.legend(frameon=False)
    if has_metrics:
        style_axes(axes[1], xlabel=xlabel, ylabel="metric", title="metrics", ylim=(0.0, 1.02))
        axes[1].legend(frameon=False)
    last = {name: float(values[-1]) for name, values in history.items() if len(values)}
    summary = ", ".join(f"{name} ends at {value:.3g}" for name, value in last.items())
    return StaticFigure(figure, alt or f"{title}. Curves over {xlabel}s: {summary}.", last)


def reliability_diagram(
    probs: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    n_bins: int = 10,
    title: str | None = None,
    loss: str = "ce",
) -> StaticFigure:
    """Calibration: mean predicted probability vs observed frequency, per bin.

    Predictions are grouped into ``n_bins`` equal-width bins of predicted
    probability; a calibrated model's bars sit on the diagonal. The expected
    calibration error is ``ECE = Σ_b (n_b / N) |acc_b − conf_b|``.

    Args:
        probs: shape ``(N,)``, predicted probability of the positive class
            (or of the predicted class, with ``labels`` saying if it was right).
        labels: shape ``(N,)``, 1 where the event happened (or the prediction was right), else 0.
        n_bins: number of equal-width bins on [0, 1].
        title: the finding; by default it states the ECE.
        loss: whose colour the bars take.

    Returns:
        A :class:`StaticFigure` with ``values`` ``{"ece", "bin_confidence",
        "bin_frequency", "bin_count"}`` (empty bins hold NaN and count 0).

    Example:
        >>> fig = reliability_diagram([0.1, 0.1, 0.9, 0.9], [0, 0, 1, 1], n_bins=5)
        >>> round(fig.values["ece"], 6)
        0.1

    Reference: Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    """
    probs = np.asarray(probs, dtype=float).ravel()
    labels = np.asarray(labels, dtype=float).ravel()
    if probs.shape != labels.shape:
        raise ValueError(
            f"probs has {probs.size} values but labels has {labels.size}; pass one label per "
            f"prediction."
        )
    if probs.size == 0 or probs.min() < 0 or probs.max() > 1:
        raise ValueError(
            "probs must be a non-empty array of probabilities in [0, 1]; apply sigmoid/softmax "
            "to logits first."
        )
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Right-closed last bin so that p = 1.0 is counted.
    index = np.clip(np.digitize(probs, edges[1:-1], right=False), 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=probs, minlength=n_bins) / count
        frequency = np.bincount(index, weights=labels, minlength=n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] / probs.size * np.abs(frequency - confidence)[filled]))

    figure, (ax,) = new_figure(width=4.8, height=4.4)
    centers = (edges[:-1] + edges[1:]) / 2
    ax.bar(
        centers[filled],
        frequency[filled],
        width=1.0 / n_bins,
        color=color(loss),
        edgecolor="white",
        alpha=0.85,
        label="observed frequency",
    )
    ax.plot([0, 1], [0, 1], "--", color=COLORS["accuracy"], linewidth=1.2, label="calibrated")
    ax.plot(confidence[filled], frequency[filled], "o", color=COLORS["accuracy"], markersize=4)
    title = title or f"Expected calibration error {ece:.3f}"
    style_axes(
        ax,
        xlabel="predicted probability",
        ylabel="observed frequency",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(frameon=False, loc="upper left")
    alt = (
        f"Reliability diagram, {n_bins} bins over {probs.size} predictions: bars far from the "
        f"diagonal mean miscalibration; expected calibration error {ece:.3f}."
    )
    values = {
        "ece": ece,
        "bin_confidence": confidence.tolist(),
        "bin_frequency": frequency.tolist(),
        "bin_count": count.tolist(),
    }
    return StaticFigure(figure, alt, values)


def embedding_plot(
    anchor: Sequence[float] | np.ndarray,
    positive: Sequence[float] | np.ndarray,
    negatives: Sequence[Sequence[float]] | np.ndarray,
    *,
    margin: float = 1.0,
    title: str,
    alt: str | None = None,
) -> StaticFigure:
    """One triplet in a 2-D embedding space: where a negative must lie for the triplet loss to be 0.

    Around the anchor ``a``: a circle through the positive ``p`` (radius
    ``d(a, p)``) and a dashed one of radius ``d(a, p) + margin``, the shaded
    disc. A negative ``n`` inside the shaded disc costs
    ``max(0, margin + d(a, p) − d(a, n))`` (printed beside it); one outside
    costs nothing. A negative inside the inner circle is closer to the anchor
    than the positive is: a "hard" negative.

    Args:
        anchor, positive: shape ``(2,)``.
        negatives: shape ``(K, 2)``, one row per negative (labelled n1, n2, ...).
        margin: the triplet loss's margin, ``> 0``.
        title: the finding.
        alt: alt text; by default it lists each negative's distance and loss.

    Returns:
        A :class:`StaticFigure` with ``values`` ``{"d_ap", "d_an", "loss"}``: the
        positive's distance, and each negative's distance and triplet loss
        (``lossbook.functional.triplet_margin_loss``, torch's ``eps`` included).

    Example:
        >>> fig = embedding_plot([0, 0], [1, 0], [[3, 0], [0, 1.5]], title="n2 is too close")
        >>> [round(loss, 4) for loss in fig.values["loss"]]
        [0.0, 0.5]
    """
    # Imported here, not at the top: every other figure in this module is drawn without torch.
    import torch
    from matplotlib.patches import Circle

    from lossbook.functional import triplet_margin_loss
    from lossbook.losses.ranking import pairwise_distance

    a = np.asarray(anchor, dtype=float).reshape(2)
    p = np.asarray(positive, dtype=float).reshape(2)
    n = np.asarray(negatives, dtype=float).reshape(-1, 2)
    count = len(n)
    anchors = torch.tensor(np.tile(a, (count, 1)))
    positives = torch.tensor(np.tile(p, (count, 1)))
    negative_points = torch.tensor(n)
    d_ap = float(pairwise_distance(anchors[:1], positives[:1])[0])
    d_an = pairwise_distance(anchors, negative_points).tolist()
    losses = triplet_margin_loss(
        anchors, positives, negative_points, margin=margin, reduction="none"
    ).tolist()

    figure, (ax,) = new_figure(width=5.8, height=5.0)
    ax.add_patch(Circle(a, d_ap + margin, color=OKABE_ITO["sky_blue"], alpha=0.18, lw=0))
    ax.add_patch(
        Circle(
            a,
            d_ap + margin,
            fill=False,
            ls="--",
            color=OKABE_ITO["blue"],
            lw=1.5,
            label="d(a, p) + margin: negatives inside cost",
        )
    )
    ax.add_patch(Circle(a, d_ap, fill=False, color=COLORS["data"], lw=1.2, label="d(a, p)"))
    ax.plot(*a, "o", color=OKABE_ITO["black"], markersize=10, label="anchor a", zorder=3)
    ax.plot(*p, "o", color=OKABE_ITO["bluish_green"], markersize=10, label="positive p", zorder=3)
    ax.plot(
        n[:, 0],
        n[:, 1],
        "X",
        color=OKABE_ITO["vermillion"],
        markersize=11,
        label="negatives",
        zorder=3,
    )
    for index, (point, loss) in enumerate(zip(n, losses, strict=True), start=1):
        ax.annotate(
            f"n{index}: loss {loss:.2f}",
            point,
            xytext=(8, 6),
            textcoords="offset points",
            fontsize=9,
        )
    reach = d_ap + margin
    farthest = max(reach, float(np.abs(n - a).max(initial=0.0)))
    extent = 1.15 * farthest
    ax.set_aspect("equal")
    style_axes(
        ax,
        xlabel="embedding dimension 1",
        ylabel="embedding dimension 2",
        title=title,
        xlim=(a[0] - extent, a[0] + extent),
        ylim=(a[1] - extent, a[1] + extent),
    )
    ax.legend(frameon=False, loc="best", fontsize=8)
    summary = "; ".join(
        f"n{i}: distance {d:.2f}, loss {loss:.2f}"
        for i, (d, loss) in enumerate(zip(d_an, losses, strict=True), start=1)
    )
    alt = alt or (
        f"Anchor, positive at distance {d_ap:.2f} and {count} negatives in 2-D; the shaded disc "
        f"of radius d(a, p) + margin = {reach:.2f} is where a negative costs. {summary}."
    )
    return StaticFigure(figure, alt, {"d_ap": d_ap, "d_an": d_an, "loss": losses})


__all__ = [
    "COLORS",
    "ALIASES",
    "LABELS",
    "CLASS_COLORS",
    "LINESTYLES",
    "SHOWN_TOGETHER",
    "FIGSIZE",
    "StaticFigure",
    "animated_artists",
    "bars",
    "color",
    "embedding_plot",
    "encode_png",
    "figure_png",
    "label",
    "loss_curves",
    "marker",
    "new_figure",
    "penalty_curves",
    "penalty_figure",
    "png_bundle",
    "reliability_diagram",
    "set_bar_heights",
    "style_axes",
]


def confusion_matrix_figure(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> StaticFigure:
    """A confusion matrix as a heat map: row = true class, column = predicted class.

    Each cell prints its count; the diagonal holds the correct predictions. Colour is the
    share of the row (the class's recall on the diagonal), so rare and frequent classes are
    read on the same scale.

    Args:
        matrix: ``(C, C)`` counts, ``matrix[i, j]`` = samples of true class ``i`` predicted ``j``.
        class_names: ``C`` names, in class-index order.
        title: the finding; by default it states the accuracy.

    Returns:
        A :class:`StaticFigure` with ``values`` ``{"accuracy", "recall"}`` (per class).

    Example:
        >>> fig = confusion_matrix_figure([[3, 1], [0, 4]], ["cat", "dog"])
        >>> fig.values["accuracy"], fig.values["recall"]
        (0.875, [0.75, 1.0])
    """
    counts = np.asarray(matrix, dtype=float)
    size = len(class_names)
    if counts.shape != (size, size):
        raise ValueError(
            f"matrix has shape {counts.shape} but there are {size} class names: pass a (C, C) "
            f"matrix of counts with one name per class."
        )
    row_totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(row_totals > 0, counts / row_totals, 0.0)
    accuracy = float(np.trace(counts) / counts.sum()) if counts.sum() else float("nan")
    recall = [float(shares[i, i]) for i in range(size)]

    side = 1.2 + 0.42 * size
    figure, (ax,) = new_figure(width=side + 1.0, height=side + 0.6)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(size):
        for j in range(size):
            if counts[i, j]:
                dark = shares[i, j] > 0.55
                ax.text(
                    j,
                    i,
                    f"{counts[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(size), [str(name) for name in class_names])
    ax.set_yticks(range(size), [str(name) for name in class_names])
    style_axes(
        ax,
        xlabel="predicted class",
        ylabel="true class",
        title=title or f"Accuracy {accuracy:.1%}; off the diagonal: the mistakes",
    )
    ax.grid(False)
    alt = (
        f"Confusion matrix of {int(counts.sum())} predictions over {size} classes, accuracy "
        f"{accuracy:.1%}. Lowest recall: class {class_names[int(np.argmin(recall))]} "
        f"({min(recall):.0%})."
    )
    return StaticFigure(figure, alt, {"accuracy": accuracy, "recall": recall})


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    captions: Sequence[str],
    *,
    title: str,
    columns: int = 8,
) -> StaticFigure:
    """Small grey-scale images side by side, each with a caption (e.g. "true 3 → said 8").

    Args:
        images: ``K`` arrays of shape ``(H, W)`` (darker = more ink).
        captions: ``K`` short captions, one per image.
        title: the finding, e.g. "The 8 held-out digits the model gets most wrong".
        columns: images per row.

    Example:
        >>> fig = image_grid(np.zeros((3, 8, 8)), ["a", "b", "c"], title="three blanks")
        >>> fig.values["count"]
        3
    """
    pictures = [np.asarray(image, dtype=float) for image in images]
    if len(pictures) != len(captions) or not pictures:
        raise ValueError(
            f"got {len(pictures)} images and {len(captions)} captions: pass one caption per "
            f"image, and at least one image."
        )
    if any(picture.ndim != 2 for picture in pictures):
        raise ValueError("each image must be a 2-D (H, W) array; reshape flat rows first.")
    columns = max(1, min(columns, len(pictures)))
    rows = -(-len(pictures) // columns)
    figure, axes = new_figure(
        columns, rows, width=1.25 * columns + 0.4, height=1.5 * rows + 0.6, suptitle=title
    )
    for ax in axes:
        ax.axis("off")
    for ax, picture, caption in zip(
        axes, pictures, captions, strict=False
    ):  # spare axes stay blank
        ax.imshow(picture, cmap="gray_r", interpolation="nearest")
        ax.set_title(caption, fontsize=8, y=1.0, pad=3)
    alt = f"{title}: {len(pictures)} images, captioned " + "; ".join(captions) + "."
    return StaticFigure(figure, alt, {"count": len(pictures)})


def scaling_figure(
    x: Sequence[float],
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    xlabel: str,
    title: str,
) -> StaticFigure:
    """Side-by-side panels of measurements against one size, one line per implementation.

    Args:
        x: the sizes measured (e.g. vocabulary sizes), drawn on a log scale.
        panels: panel y-label → {implementation name → one value per size}.
        xlabel: what ``x`` is.
        title: the finding.

    Example:
        >>> fig = scaling_figure([1, 2], {"time (ms)": {"a": [1.0, 2.0], "b": [1.0, 1.5]}},
        ...                      xlabel="V", title="b grows slower")
        >>> fig.values["time (ms)"]["b"]
        [1.0, 1.5]
    """
    sizes = [float(value) for value in x]
    if not panels or any(
        len(values) != len(sizes) for lines in panels.values() for values in lines.values()
    ):
        raise ValueError(
            f"every line needs one value per size ({len(sizes)} sizes); check the lists passed."
        )
    figure, axes = new_figure(len(panels), suptitle=title)
    palette = [
        OKABE_ITO[name]
        for name in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple")
    ]
    for ax, (ylabel, lines) in zip(axes, panels.items(), strict=True):
        for colour, (name, values) in zip(palette, lines.items(), strict=False):
            ax.plot(sizes, values, "o-", color=colour, label=name)
        ax.set_xscale("log", base=2)
        style_axes(ax, xlabel=xlabel, ylabel=ylabel)
        ax.legend(frameon=False)
    alt = f"{title}. " + " ".join(
        f"{ylabel}: "
        + "; ".join(
            f"{name} from {values[0]:.3g} to {values[-1]:.3g}" for name, values in lines.items()
        )
        + "."
        for ylabel, lines in panels.items()
    )
    values = {
        ylabel: {name: list(v) for name, v in lines.items()} for ylabel, lines in panels.items()
    }
    return StaticFigure(figure, alt, values)
