"""lossbook.course.widgets: static and live modes, the numbers each widget shows, and its display.

Static mode is what pytest gets by default (no kernel). Live mode is forced
with ``force_live()``: the anywidget view then talks to a dummy comm, so its
traits, observers and messages are real without a front end (the front end's
messages are played with ``view.set_state``, as ipywidgets does on a comm
message). The browser side is tested in tests/test_widget_math.py (its
numbers) and tests/test_browser.py (JupyterLab + Chromium).
"""

import base64
import io
import time
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from ipywidgets.widgets import widget as widget_module
from PIL import Image

from lossbook.course import widgets
from tests.focal_reference import sigmoid_focal_loss as reference_focal_loss

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STATIC_CPU_LIMIT_S = 0.6
"""The target is 0.3 s (bench/bench_widgets.py measures it); doubled here for a shared CI core."""


def far_value(spec: widgets.Slider, current: float) -> float:
    """The end of the slider's range farther from ``current``."""
    return spec.min if current - spec.min > spec.max - current else spec.max


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def widget_count() -> int:
    return len(widget_module._instances)


@pytest.fixture
def fake_kernel(monkeypatch):
    """Make ``is_live`` see an IPython kernel, as in a notebook."""
    import IPython

    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("LOSSBOOK_STATIC", raising=False)


@pytest.fixture(autouse=True)
def automatic_mode():
    widgets.force_live(None)
    yield
    widgets.force_live(None)


# --------------------------------------------------------------------------- mode


def test_not_live_without_a_kernel(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("LOSSBOOK_STATIC", raising=False)
    assert widgets.is_live() is False


def test_live_in_a_kernel(fake_kernel):
    assert widgets.is_live() is True


def test_not_live_under_nbgrader(fake_kernel, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets.is_live() is False


@pytest.mark.parametrize(("value", "live"), [("1", False), ("yes", False), ("0", True), ("", True)])
def test_lossbook_static_switch(fake_kernel, monkeypatch, value, live):
    monkeypatch.setenv("LOSSBOOK_STATIC", value)
    assert widgets.is_live() is live


def test_force_live_overrides_and_restores(fake_kernel):
    with widgets.force_live(False):
        assert widgets.is_live() is False
        with widgets.force_live(True):
            assert widgets.is_live() is True
        assert widgets.is_live() is False
    assert widgets.is_live() is True
    widgets.force_live(False)
    assert widgets.is_live() is False


def test_nbgrader_in_a_kernel_creates_no_ipywidgets(fake_kernel, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    before = widget_count()
    built = widgets.neg_log_curve()
    assert widget_count() == before
    assert built.view is None and not built.live


# --------------------------------------------------------------------------- static mode, every widget


@pytest.fixture(scope="module")
def static_widgets():
    """One static instance per widget, built once (tests reset the sliders they move)."""
    return {}


def static(cache, name):
    if name not in cache:
        cache[name] = widgets.WIDGETS[name]()
    return cache[name]


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_static_build_is_quick_and_opens_nothing(name):
    before = widget_count()
    built = widgets.WIDGETS[name]()
    # Timed on a second build: the first pays one-time imports and font loading.
    cpu = time.process_time()
    widgets.WIDGETS[name]()
    cpu = time.process_time() - cpu
    assert cpu < STATIC_CPU_LIMIT_S, f"{name} took {cpu:.2f} s of CPU to build statically"
    assert widget_count() == before  # no widget model, so no comms and no observers
    assert built.view is None and not built.live
    assert built.png().startswith(PNG_SIGNATURE)
    width, height = pixels(built.png()).shape[1::-1]
    assert 600 <= width <= 1000 and 300 <= height <= 500
    assert set(built.state) <= set(built.values)
    assert all(ax.get_xlabel() or ax.get_ylabel() for ax in built.figure.axes)
    assert all(ax.get_title() for ax in built.figure.axes)


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_every_slider_changes_its_value_and_the_picture(static_widgets, name):
    built = static(static_widgets, name)
    for slider, spec in built.sliders.items():
        before_png, before_values = built.png(), built.values
        target = far_value(spec, built.state[slider])
        built.set(**{slider: target})
        assert built.values[slider] == target
        assert built.values != before_values
        assert (pixels(built.png()) != pixels(before_png)).any(), f"{name}: {slider} drew nothing"
        built.set(**{slider: spec.value})
        # Back to the start: the same numbers and the same picture (the update is a pure function).
        assert built.png() == before_png
        assert built.values == before_values


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_static_bundle_has_png_and_text_but_no_widget_view(static_widgets, name):
    built = static(static_widgets, name)
    bundle = built._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == built.png()
    assert built.alt in bundle["text/plain"]


def test_set_rejects_unknown_sliders_and_values_out_of_range():
    built = widgets.neg_log_curve()
    with pytest.raises(ValueError, match="no slider 'q'; its sliders are: p"):
        built.set(q=0.5)
    with pytest.raises(ValueError, match=r"p=1.5 is outside the slider's range \[0.01, 1.0\]"):
        built.set(p=1.5)
    assert built.values["p"] == 0.5


@pytest.mark.parametrize(
    ("factory", "arguments", "message"),
    [
        ("regression_penalties", {"delta": 5.0}, r"delta=5.0 is outside the slider's range"),
        ("outlier_fit", {"n_points": 2}, "use between 3 and 100 points"),
        ("outlier_fit", {"delta": 0.0}, "Huber's δ must be positive"),
        ("pos_weight_explorer", {"positive_fraction": 1.5}, r"use a fraction in \(0, 1\)"),
        ("focal_gamma_explorer", {"gamma": -1.0}, r"gamma=-1.0 is outside the slider's range"),
        ("label_smoothing_explorer", {"logits": (1.0,)}, "got 1 logits; pass between 2 and 6"),
        ("cross_entropy_pipeline", {"logits": (9.0, 0.0)}, r"leave the sliders' range \[-5, 5\]"),
    ],
)
def test_bad_arguments_say_what_to_pass(factory, arguments, message):
    with pytest.raises(ValueError, match=message):
        widgets.WIDGETS[factory](**arguments)


# --------------------------------------------------------------------------- the numbers of each widget


def test_accuracy_landscape_has_flat_accuracy_and_sloped_cross_entropy():
    built = widgets.accuracy_landscape()
    x, labels = built.data["x"], built.data["labels"]
    for w in (-2.0, -0.55, 0.3, 1.7):
        values = built.set(w=w).values
        assert values["accuracy"] == np.mean((x > w) == labels.astype(bool))
        logits = torch.tensor(2.0 * (x - w))
        ce = torch_F.binary_cross_entropy_with_logits(logits, torch.tensor(labels))
        assert values["ce_loss"] == pytest.approx(ce.item(), rel=1e-12)
        if np.min(np.abs(x - w)) > 1e-3:
            assert values["accuracy_grad"] == 0.0
        step = 1e-5
        slope = (
            built.set(w=w + step).values["ce_loss"] - built.set(w=w - step).values["ce_loss"]
        ) / (2 * step)
        assert values["ce_grad"] == pytest.approx(slope, rel=1e-6)
        assert values["ce_grad"] != 0.0


def test_regression_penalties_match_torch_values_and_gradients():
    built = widgets.regression_penalties()
    for residual, delta, beta in [
        (2.5, 1.0, 1.0),
        (-0.3, 0.5, 2.0),
        (1.2, 3.0, 0.1),
        (0.0, 1.0, 1.0),
    ]:
        values = built.set(residual=residual, delta=delta, beta=beta).values
        target = torch.zeros((), dtype=torch.float64)
        for name, loss_name, options in [
            ("mse", "mse_loss", {}),
            ("l1", "l1_loss", {}),
            ("huber", "huber_loss", {"delta": delta}),
            ("smooth_l1", "smooth_l1_loss", {"beta": beta}),
        ]:
            x = torch.tensor(residual, dtype=torch.float64, requires_grad=True)
            loss = getattr(torch_F, loss_name)(x, target, **options)
            loss.backward()
            assert values[name] == pytest.approx(loss.item(), rel=1e-12, abs=1e-15), name
            assert values[f"{name}_grad"] == pytest.approx(x.grad.item(), rel=1e-12, abs=1e-15), (
                name
            )
    # The lesson of the widget: far out, MSE's gradient keeps growing, Huber's is capped at δ.
    far = built.set(residual=4.0, delta=1.5).values
    assert far["mse_grad"] == 8.0 and far["huber_grad"] == 1.5 and far["l1_grad"] == 1.0


def test_outlier_fit_lines_are_each_loss_minimum():
    built = widgets.outlier_fit()
    x, y = built.data["x"], built.data["y"]
    values = built.set(outlier_y=22.0).values
    assert y[-1] == 22.0
    slope, intercept = np.polyfit(x, y, 1)
    assert values["mse_slope"] == pytest.approx(slope, rel=1e-10)
    assert values["mse_intercept"] == pytest.approx(intercept, rel=1e-10)

    def loss_at(name, params):
        prediction = torch.tensor(params[0] * x + params[1], dtype=torch.float64)
        target = torch.tensor(y)
        return {
            "mse": torch_F.mse_loss,
            "l1": torch_F.l1_loss,
            "huber": torch_F.huber_loss,
        }[name](prediction, target)

    # Huber: the gradient of torch's loss with respect to (slope, intercept) vanishes.
    params = torch.tensor(
        [values["huber_slope"], values["huber_intercept"]], dtype=torch.float64, requires_grad=True
    )
    design = torch.tensor(np.stack([x, np.ones_like(x)], axis=1))
    torch_F.huber_loss(design @ params, torch.tensor(y)).backward()
    assert params.grad.abs().max().item() < 1e-9
    # L1: no nearby line has a smaller mean absolute error.
    best = np.array([values["l1_slope"], values["l1_intercept"]])
    rng = np.random.default_rng(0)
    best_loss = loss_at("l1", best).item()
    for offset in rng.normal(0, 0.05, (300, 2)):
        assert loss_at("l1", best + offset).item() >= best_loss - 1e-12
    for name in ("mse", "l1", "huber"):
        own = [values[f"{name}_slope"], values[f"{name}_intercept"]]
        assert values[f"{name}_loss"] == pytest.approx(loss_at(name, own).item(), rel=1e-12)
    # The lesson: the outlier tilts the MSE line much more than the robust ones.
    assert values["mse_slope"] - 0.5 > 3 * abs(values["huber_slope"] - 0.5)
    assert values["mse_slope"] - 0.5 > 3 * abs(values["l1_slope"] - 0.5)


def test_bce_penalty_matches_torch_in_float32():
    built = widgets.bce_penalty()
    for logit in (-110.0, -88.0, -2.0, 0.0, 5.5):
        values = built.set(logit=logit).values
        z = torch.tensor([logit], requires_grad=True)
        bce = torch_F.binary_cross_entropy(torch.sigmoid(z), torch.ones(1))
        (bce_grad,) = torch.autograd.grad(bce, z)
        z = torch.tensor([logit], requires_grad=True)
        with_logits = torch_F.binary_cross_entropy_with_logits(z, torch.ones(1))
        (with_logits_grad,) = torch.autograd.grad(with_logits, z)
        assert values["prob"] == torch.sigmoid(torch.tensor(logit)).item()
        assert values["bce"] == pytest.approx(bce.item(), rel=1e-6)
        assert values["bce_with_logits"] == pytest.approx(with_logits.item(), rel=1e-6)
        assert values["bce_grad"] == pytest.approx(bce_grad.item(), rel=1e-5, abs=1e-7)
        assert values["bce_with_logits_grad"] == pytest.approx(with_logits_grad.item(), rel=1e-5)
    saturated = built.set(logit=-110.0).values
    assert saturated["bce"] == 100.0 and saturated["bce_grad"] == 0.0
    assert saturated["bce_with_logits"] == pytest.approx(110.0, rel=1e-6)


def test_pos_weight_explorer_shares_fit_and_recall():
    built = widgets.pos_weight_explorer(positive_fraction=0.1)
    x, labels = built.data["x"], built.data["labels"]
    n_pos, n_neg = int(labels.sum()), int((1 - labels).sum())
    assert (n_pos, n_neg) == (20, 180)
    assert built.values["balancing_pos_weight"] == 9.0
    recalls, thresholds = [], []
    for pos_weight in (0.5, 1.0, 9.0, 25.0):
        values = built.set(pos_weight=pos_weight).values
        share = pos_weight * n_pos / (pos_weight * n_pos + n_neg)
        assert values["positive_loss_share"] == pytest.approx(share, rel=1e-12)
        assert values["positive_grad_share"] == pytest.approx(share, rel=1e-12)
        # The fitted (w, b) minimise torch's weighted BCE: its gradient vanishes.
        params = torch.tensor(
            [values["slope"], values["intercept"]], dtype=torch.float64, requires_grad=True
        )
        loss = torch_F.binary_cross_entropy_with_logits(
            params[0] * torch.tensor(x) + params[1],
            torch.tensor(labels),
            pos_weight=torch.tensor(pos_weight, dtype=torch.float64),
        )
        loss.backward()
        assert params.grad.abs().max().item() < 1e-10
        threshold = values["threshold"]
        assert threshold == pytest.approx(-values["intercept"] / values["slope"], rel=1e-12)
        predicted = x > threshold
        assert values["recall"] == np.sum(predicted & (labels == 1)) / n_pos
        assert values["precision"] == np.sum(predicted & (labels == 1)) / max(predicted.sum(), 1)
        recalls.append(values["recall"])
        thresholds.append(threshold)
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0]
    assert thresholds == sorted(thresholds, reverse=True)


@pytest.mark.parametrize(("logits", "target"), [((2.0, 1.0, 0.1), 0), ((0.5, -1.0, 3.0, 0.0), 2)])
def test_cross_entropy_pipeline_matches_torch(logits, target):
    built = widgets.cross_entropy_pipeline(logits=logits, target=target)
    assert (
        list(built.sliders)
        == list(built.state)
        == [
            *(f"logit_{c}" for c in range(len(logits))),
            "temperature",
        ]
    )
    for temperature in (0.3, 1.0, 2.5):
        values = built.set(temperature=temperature, logit_1=-2.0).values
        current = torch.tensor(
            [values[f"logit_{c}"] for c in range(len(logits))], dtype=torch.float64
        )
        scaled = (current / temperature).requires_grad_(True)
        loss = torch_F.cross_entropy(scaled[None, :], torch.tensor([target]))
        (grad,) = torch.autograd.grad(loss, scaled)
        np.testing.assert_allclose(
            values["probs"], torch.softmax(current / temperature, dim=0), rtol=1e-12
        )
        assert values["loss"] == pytest.approx(loss.item(), rel=1e-12)
        np.testing.assert_allclose(values["grad"], grad, rtol=1e-10, atol=1e-15)
        assert values["loss"] == pytest.approx(-np.log(values["probs"][target]), rel=1e-12)


def test_cross_entropy_pipeline_rejects_a_bad_target():
    with pytest.raises(ValueError, match="target=3 is not a class index for 3 classes"):
        widgets.cross_entropy_pipeline(target=3)


def test_neg_log_curve_is_minus_log_p_with_gradient_minus_one_over_p():
    built = widgets.neg_log_curve()
    for p in (0.01, 0.2, 0.5, 0.99):
        values = built.set(p=p).values
        assert values["loss"] == pytest.approx(-np.log(p), rel=1e-12)
        assert values["grad"] == pytest.approx(-1 / p, rel=1e-12)


def test_label_smoothing_spreads_epsilon_over_all_classes():
    logits, target = (2.0, 1.0, 0.1, -0.5), 1
    built = widgets.label_smoothing_explorer(logits=logits, target=target)
    logits_t = torch.tensor([logits], dtype=torch.float64)
    for epsilon in (0.0, 0.1, 0.45):
        values = built.set(epsilon=epsilon).values
        expected = [epsilon / 4 + (1 - epsilon) * (c == target) for c in range(4)]
        np.testing.assert_allclose(values["target_distribution"], expected, rtol=1e-12)
        smoothed = torch_F.cross_entropy(logits_t, torch.tensor([target]), label_smoothing=epsilon)
        as_probabilities = torch_F.cross_entropy(
            logits_t, torch.tensor([expected], dtype=torch.float64)
        )
        assert values["loss"] == pytest.approx(smoothed.item(), rel=1e-12)
        assert values["loss"] == pytest.approx(as_probabilities.item(), rel=1e-12)
        plain = torch_F.cross_entropy(logits_t, torch.tensor([target]))
        assert values["loss_without_smoothing"] == pytest.approx(plain.item(), rel=1e-12)


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_focal_explorer_factor_is_one_minus_p_t_to_the_gamma(alpha):
    built = widgets.focal_gamma_explorer(alpha=alpha)
    assert ("alpha" in built.state) is (alpha is not None)
    for gamma in (0.0, 1.0, 2.0, 5.0):
        values = built.set(gamma=gamma).values
        for p_t in widgets.FOCAL_PROBES:
            weight = 1.0 if alpha is None else alpha
            assert values[f"factor_at_{p_t}"] == pytest.approx(
                weight * (1 - p_t) ** gamma, rel=1e-9
            )
            logit = torch.tensor([np.log(p_t / (1 - p_t))], dtype=torch.float64)
            reference = reference_focal_loss(
                logit,
                torch.ones(1, dtype=torch.float64),
                alpha=-1 if alpha is None else alpha,
                gamma=gamma,
            )
            assert values[f"focal_at_{p_t}"] == pytest.approx(reference.item(), rel=1e-9)


# --------------------------------------------------------------------------- live mode


@pytest.fixture(scope="module")
def live_widgets():
    with widgets.force_live(True):
        return {name: factory() for name, factory in widgets.WIDGETS.items()}


@pytest.fixture
def sent(live_widgets, monkeypatch):
    """The comm messages each live widget's view sends from now on, by widget name."""
    messages = {name: [] for name in live_widgets}
    for name, built in live_widgets.items():
        monkeypatch.setattr(
            built.view.comm, "send", lambda *a, _n=name, **k: messages[_n].append(k["data"])
        )
    return messages


def from_browser(built: widgets.LossWidget, **slider_values: float) -> None:
    """What the front end does when the learner moves sliders: a comm message with the state."""
    built.view.set_state({"state": {**built.view.state, **slider_values}})


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_live_view_is_a_canvas_anywidget_with_specs_and_state(live_widgets, name):
    built = live_widgets[name]
    view = built.view
    assert built.live and isinstance(view, widgets.CanvasView)
    assert view.kind == name == built.kind
    assert [s["name"] for s in view.sliders] == list(built.sliders) == list(view.state)
    for spec in view.sliders:
        slider = built.sliders[spec["name"]]
        assert (spec["min"], spec["max"], spec["step"], spec["value"]) == (
            slider.min,
            slider.max,
            slider.step,
            slider.value,
        )
    assert view.state == built.state
    assert view.setup["style"]["color"]["mse"] == "#0072B2"
    assert view.title == built.title and view.alt == built.alt


def test_the_browser_module_is_self_contained_and_suppresses_lab_shortcuts():
    module = widgets.CanvasView._esm
    assert module == widgets.browser_module()
    assert not [line for line in module.splitlines() if line.startswith("import")]
    assert "data-lm-suppress-shortcuts" in module
    assert "save_changes()" in module
    assert "lossbook-values" in widgets.CanvasView._css


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_a_browser_step_reaches_values_and_png_without_an_echo_back(live_widgets, sent, name):
    built = live_widgets[name]
    slider, spec = next(iter(built.sliders.items()))
    before_png, before_values = built.png(), built.values
    target = far_value(spec, built.state[slider])
    from_browser(built, **{slider: target})
    assert built.values[slider] == target
    assert built.values != before_values
    assert built.png() != before_png
    # The kernel answers a step with at most an echo of that very step: never an
    # older state that would roll the learner's drag back.
    assert all(m["state"]["state"] == built.view.state for m in sent[name]), sent[name]
    assert all(m["method"] == "echo_update" for m in sent[name])
    from_browser(built, **{slider: spec.value})
    assert built.values == before_values and built.png() == before_png


def test_browser_steps_are_only_stored_until_values_are_asked_for(live_widgets):
    built = live_widgets["regression_penalties"]
    calls = []
    original = built._update
    built._update = lambda state: calls.append(dict(state)) or original(state)
    try:
        for residual in np.arange(-2.0, 2.0, 0.25):
            from_browser(built, residual=float(residual))
        assert calls == []  # a drag costs the kernel nothing but storing the values
        assert built.values["residual"] == 1.75
        assert len(calls) == 1
        built.values  # noqa: B018 (nothing moved: nothing recomputed)
        assert len(calls) == 1
    finally:
        built._update = original
        built.set(residual=2.0)


@pytest.mark.parametrize("name", list(widgets.WIDGETS))
def test_set_moves_the_browser_view_in_one_message(live_widgets, sent, name):
    built = live_widgets[name]
    slider, spec = next(iter(built.sliders.items()))
    target = far_value(spec, spec.value)
    built.set(**{slider: target})
    assert built.view.state[slider] == target
    (message,) = sent[name]
    assert message["method"] == "update"
    assert message["state"]["state"] == built.state
    if "table" in built.view.setup:
        # Widgets that look their numbers up show the kernel's own after .set().
        pinned = message["state"]["pinned"]
        assert pinned["state"] == built.state
        assert {**pinned["state"], **pinned["values"]} == built.values
    built.set(**{slider: spec.value})


TABLE_WIDGETS = ["accuracy_landscape", "outlier_fit", "bce_penalty", "pos_weight_explorer"]


@pytest.mark.parametrize("name", TABLE_WIDGETS)
def test_a_table_holds_the_kernels_values_at_every_slider_step(live_widgets, name):
    built = live_widgets[name]
    table = built.view.setup["table"]
    ((slider, spec),) = built.sliders.items()
    grid = widgets.slider_grid(spec)
    assert table["slider"] == slider and len(grid) == round((spec.max - spec.min) / spec.step) + 1
    assert grid[0] == spec.min and grid[-1] == spec.max
    columns = table["columns"]
    assert all(len(column) == len(grid) for column in columns.values())
    rng = np.random.default_rng(0)
    for index in {0, len(grid) - 1, *rng.integers(0, len(grid), 6).tolist()}:
        values = built.set(**{slider: grid[index]}).values
        assert {key: column[index] for key, column in columns.items()} == {
            key: value for key, value in values.items() if key != slider
        }
    built.set(**{slider: spec.value})


def test_slider_grid_is_what_a_range_input_writes():
    assert widgets.slider_grid(widgets.Slider("t", 0.1, 5.0, 0.05, 1.0))[:3] == [0.1, 0.15, 0.2]
    assert widgets.slider_grid(widgets.Slider("z", -120.0, 10.0, 0.5, 0.0))[-1] == 10.0
    assert len(widgets.slider_grid(widgets.Slider("w", -3.0, 3.0, 0.01, 0.0))) == 601


def test_live_bundle_has_widget_view_png_fallback_and_text(live_widgets):
    built = live_widgets["neg_log_curve"]
    bundle = built._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == built.view.model_id
    assert base64.b64decode(bundle["image/png"]) == built.png()
    assert 'alt="' in bundle["text/html"]
    assert "−log p" in bundle["text/plain"] and "loss = " in bundle["text/plain"]


def test_the_png_in_the_bundle_follows_the_browser(live_widgets):
    built = live_widgets["neg_log_curve"]
    start = built._repr_mimebundle_()["image/png"]
    from_browser(built, p=0.9)
    moved = built._repr_mimebundle_()
    assert moved["image/png"] != start and "p = 0.9" in moved["text/plain"]
    from_browser(built, p=0.5)


def test_displaying_a_widget_sends_its_bundle(live_widgets, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    built = live_widgets["focal_gamma_explorer"]
    built._ipython_display_()
    ((bundle, raw),) = shown
    assert raw is True
    assert set(bundle) == {
        "application/vnd.jupyter.widget-view+json",
        "text/html",
        "image/png",
        "text/plain",
    }


def test_browser_module_refuses_imports_it_cannot_inline(tmp_path):
    (tmp_path / "lossmath.js").write_text((widgets.STATIC / "lossmath.js").read_text())
    (tmp_path / "widgets.js").write_text("export default {};\n")
    with pytest.raises(ValueError, match="must import lossmath exactly once"):
        widgets.browser_module(tmp_path)
    (tmp_path / "widgets.js").write_text(
        'import * as lossmath from "./lossmath.js";\nimport x from "https://cdn.example/x.js";\n'
    )
    with pytest.raises(ValueError, match="may import nothing but ./lossmath.js"):
        widgets.browser_module(tmp_path)
    (tmp_path / "lossmath.js").write_text("export const TWO = 2;\n")
    with pytest.raises(ValueError, match="may export functions only"):
        widgets.browser_module(tmp_path)
