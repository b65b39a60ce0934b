"""lossbook.course.plots: the palette, the figure helpers, the PNG writer and the static figures."""

import ast
import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lossbook.course import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


# --------------------------------------------------------------------------- palette


def test_every_colour_is_okabe_ito_or_the_neutral_grey():
    allowed = {*plots.OKABE_ITO.values(), plots.COLORS["data"]}
    assert set(plots.COLORS.values()) <= allowed
    assert all(re.fullmatch(r"#[0-9A-F]{6}", hex_code) for hex_code in plots.COLORS.values())


@pytest.mark.parametrize("group", plots.SHOWN_TOGETHER)
def test_losses_that_share_a_figure_have_distinct_colours(group):
    colours = [plots.color(name) for name in group]
    assert len(set(colours)) == len(colours), dict(zip(group, colours, strict=True))


@pytest.mark.parametrize("name", sorted(plots.COLORS))
def test_every_loss_has_a_legend_label(name):
    assert plots.label(name)


def test_torch_names_and_aliases_resolve_to_the_same_colour():
    assert plots.color("mae") == plots.color("l1") == plots.color("l1_loss")
    assert plots.color("binary_cross_entropy_with_logits") == plots.color("bce_with_logits")
    assert plots.color("cross_entropy") == plots.color("ce")
    assert all(alias_target in plots.COLORS for alias_target in plots.ALIASES.values())


def test_unknown_loss_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="no course colour for 'msee'.*mse"):
        plots.color("msee")


# --------------------------------------------------------------------------- figures


def test_new_figure_sizes_and_axes():
    figure, axes = plots.new_figure(3, 2)
    assert len(axes) == 6
    assert figure.get_size_inches().tolist() == [plots.FIGSIZE[0], 2 * plots.FIGSIZE[1]]
    assert figure.dpi == plots.DPI
    # Laptop-readable: at most about 1000 px wide at the course DPI.
    assert figure.get_figwidth() * figure.dpi <= 1000


def test_axes_stay_inside_the_figure_with_room_for_labels():
    figure, axes = plots.new_figure(3)
    for ax in axes:
        box = ax.get_position()
        assert box.x0 * figure.get_figwidth() >= 0.7  # inches left for the y label
        assert box.y0 * figure.get_figheight() >= 0.55  # inches below for the x label
        assert box.x1 <= 1 and box.y1 <= 1
    lefts = [ax.get_position().x0 for ax in axes]
    assert lefts == sorted(lefts) and len(set(lefts)) == 3


def test_style_axes_labels_and_wraps_a_long_title():
    figure, (ax,) = plots.new_figure(width=4.0)
    top_before = ax.get_position().y1
    plots.style_axes(
        ax,
        xlabel="residual",
        ylabel="loss",
        title="A finding long enough that it cannot fit on one line of a narrow panel",
        ylim=(0, 3),
    )
    assert ax.get_xlabel() == "residual" and ax.get_ylabel() == "loss"
    assert "\n" in ax.get_title()
    assert ax.get_position().y1 < top_before  # the margin grew for the second line
    assert ax.get_ylim() == (0, 3)


def test_penalty_curves_use_course_colours_and_styles():
    figure, (ax,) = plots.new_figure()
    x = np.linspace(-1, 1, 5)
    lines = plots.penalty_curves(
        ax, x, {"mse": x**2, "smooth_l1": np.abs(x)}, animated=("smooth_l1",)
    )
    assert lines["mse"].get_color() == plots.COLORS["mse"]
    assert lines["smooth_l1"].get_linestyle() == "--"
    assert not lines["mse"].get_animated() and lines["smooth_l1"].get_animated()
    np.testing.assert_array_equal(lines["mse"].get_ydata(), x**2)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["MSE", "Smooth L1"]
    assert plots.animated_artists(figure) == [lines["smooth_l1"]]


def test_bars_move_in_place():
    figure, (ax,) = plots.new_figure()
    container = plots.bars(ax, ["a", "b"], [0.2, 0.8])
    plots.set_bar_heights(container, [0.5, -0.25])
    assert [patch.get_height() for patch in container.patches] == [0.5, -0.25]
    assert all(patch.get_animated() for patch in container.patches)
    with pytest.raises(ValueError):
        plots.set_bar_heights(container, [0.5])


# --------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("level", [1, 6])
def test_encode_png_round_trips_the_canvas_exactly(level):
    figure, (ax,) = plots.new_figure()
    ax.plot([0, 1], [0, 1], color=plots.COLORS["ce"])
    figure.canvas.draw()
    png = plots.encode_png(figure.canvas, level=level)
    assert png.startswith(PNG_SIGNATURE)
    np.testing.assert_array_equal(decode(png), np.asarray(figure.canvas.buffer_rgba()))


def test_figure_png_includes_animated_artists():
    figure, (ax,) = plots.new_figure()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    without_marker = plots.figure_png(figure)
    plots.marker(ax, 0.5, 0.5, "mse", size=20)
    with_marker = decode(plots.figure_png(figure))
    assert (decode(without_marker) != with_marker).any()
    # The marker's colour is in the image: blue #0072B2.
    assert (with_marker[..., :3] == (0x00, 0x72, 0xB2)).all(axis=-1).sum() > 50


def test_static_figure_bundle_has_png_alt_text_and_plain_text():
    figure, (ax,) = plots.new_figure()
    ax.plot([0, 1], [1, 0])
    static = plots.StaticFigure(figure, alt='A line "falling" <down>')
    bundle = static._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    assert bundle["text/plain"] == 'A line "falling" <down>'
    assert 'alt="A line &quot;falling&quot; &lt;down&gt;"' in bundle["text/html"]
    assert bundle["image/png"] in bundle["text/html"]


@pytest.mark.parametrize("module", ["lossbook/course/plots.py", "lossbook/course/widgets.py"])
def test_plotting_never_imports_pyplot(module):
    # pyplot keeps every figure alive in a global registry and, under the inline
    # backend, shows each one a second time after the cell.
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    assert "matplotlib.figure" in imported or "lossbook" in imported
    assert not any("pyplot" in name for name in imported)


# --------------------------------------------------------------------------- static figures


def test_loss_curves_colours_styles_and_values():
    history = {
        "train ce": [2.0, 1.0, 0.5],
        "val ce": [2.1, 1.2, 0.9],
        "val accuracy": [0.3, 0.6, 0.8],
    }
    static = plots.loss_curves(history, title="CE falls, accuracy rises")
    ax_loss, ax_metric = static.figure.axes
    train, val = ax_loss.get_lines()
    assert train.get_color() == val.get_color() == plots.COLORS["ce"]
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert [line.get_label() for line in ax_metric.get_lines()] == ["val accuracy"]
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    assert ax_loss.get_xlabel() == "epoch" and ax_loss.get_ylabel() == "loss"
    assert ax_loss.get_title() == "CE falls, accuracy rises"
    assert static.values == {"train ce": 0.5, "val ce": 0.9, "val accuracy": 0.8}
    assert "val ce ends at 0.9" in static.alt
    assert static.png().startswith(PNG_SIGNATURE)


def test_loss_curves_without_metrics_is_one_panel():
    static = plots.loss_curves({"mse": [1.0, 0.2]}, title="MSE falls", xlabel="step")
    (ax,) = static.figure.axes
    assert ax.get_xlabel() == "step"
    assert ax.get_lines()[0].get_color() == plots.COLORS["mse"]


def test_penalty_figure_draws_losses_and_gradients(tmp_path):
    x = np.linspace(-2, 2, 9)
    static = plots.penalty_figure(
        x,
        {"mse": x**2, "l1": np.abs(x)},
        {"mse": 2 * x, "l1": np.sign(x)},
        title="MSE grows faster",
        gradient_title="MSE's gradient grows",
        alt="Two penalty curves and their gradients.",
    )
    ax_loss, ax_grad = static.figure.axes
    np.testing.assert_array_equal(ax_grad.get_lines()[0].get_ydata(), 2 * x)
    assert [line.get_color() for line in ax_loss.get_lines()] == [
        plots.COLORS["mse"],
        plots.COLORS["l1"],
    ]
    assert ax_grad.get_ylabel().startswith("gradient") and ax_loss.get_title() == "MSE grows faster"
    path = tmp_path / "penalty.png"
    static.save(str(path))
    assert path.read_bytes() == static.png()


def test_reliability_diagram_by_hand():
    # Bin [0.2, 0.4): probs 0.3, 0.3, labels 0, 1 -> conf 0.3, freq 0.5, |gap| 0.2, weight 2/5.
    # Bin [0.8, 1.0]: probs 0.9, 1.0, 0.8 -> conf 0.9, labels 1, 1, 0 -> freq 2/3, weight 3/5.
    static = plots.reliability_diagram([0.3, 0.3, 0.9, 1.0, 0.8], [0, 1, 1, 1, 0], n_bins=5)
    expected = 2 / 5 * 0.2 + 3 / 5 * abs(2 / 3 - 0.9)
    assert static.values["ece"] == pytest.approx(expected, rel=1e-12)
    assert static.values["bin_count"] == [0, 2, 0, 0, 3]
    assert static.values["bin_frequency"][4] == pytest.approx(2 / 3, rel=1e-12)
    assert np.isnan(static.values["bin_confidence"][0])
    assert f"{expected:.3f}" in static.figure.axes[0].get_title()


def test_reliability_diagram_matches_a_loop_on_random_data():
    rng = np.random.default_rng(3)
    probs = rng.uniform(0, 1, 500)
    labels = (rng.uniform(0, 1, 500) < probs**2).astype(int)
    n_bins = 8
    ece = 0.0
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        inside = (probs >= low) & ((probs < high) if b < n_bins - 1 else (probs <= high))
        if inside.any():
            ece += inside.mean() * abs(labels[inside].mean() - probs[inside].mean())
    static = plots.reliability_diagram(probs, labels, n_bins=n_bins)
    assert static.values["ece"] == pytest.approx(ece, rel=1e-12)
    assert sum(static.values["bin_count"]) == 500


def test_perfectly_calibrated_bins_have_zero_ece():
    static = plots.reliability_diagram([0.25] * 4 + [0.75] * 4, [1, 0, 0, 0, 1, 1, 1, 0], n_bins=2)
    assert static.values["ece"] == 0.0


@pytest.mark.parametrize(
    ("probs", "labels", "message"),
    [
        ([0.2, 0.4], [1], "probs has 2 values but labels has 1"),
        ([1.5], [1], "probabilities in \\[0, 1\\]"),
        ([], [], "non-empty"),
    ],
)
def test_reliability_diagram_rejects_bad_input(probs, labels, message):
    with pytest.raises(ValueError, match=message):
        plots.reliability_diagram(probs, labels)
