"""The browser widgets' own numbers (lossbook/course/static/lossmath.js) equal lossbook's.

The widgets that follow a formula draw from ``lossmath.js`` in the page, while
``widget.values`` in the kernel comes from :mod:`lossbook.functional`. Here
every function of ``lossmath.js`` runs in headless Chromium (the module is
imported on its own, as ``widgets.js`` imports it) on a dense grid per widget,
at least 10,000 points with the slider grids, the kinks and both ends of every
range, and must match lossbook to 1e-12 relative (exactly where one side is 0).
"""

from __future__ import annotations

import functools
import itertools
import json
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import lossbook.functional as F
from lossbook.course import widgets
from lossbook.losses.pipeline import cross_entropy_steps
from tests import browser

pytestmark = pytest.mark.slow

RTOL = 1e-12
MIN_POINTS = 10_000
ORIGIN = "http://lossbook.test"


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Iterator:
    """A page that imported lossmath.js as an ES module (served from memory, no network)."""
    profile = tmp_path_factory.mktemp("chromium-math")
    files = {
        "/index.html": (
            "text/html",
            '<script type="module">import * as m from "./lossmath.js"; window.lossmath = m;'
            "</script>",
        ),
        "/lossmath.js": ("text/javascript", (widgets.STATIC / "lossmath.js").read_text()),
    }

    def serve(route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path not in files:
            route.abort()
            return
        content_type, body = files[path]
        route.fulfill(status=200, content_type=content_type, body=body)

    try:
        with browser.chromium(profile) as context:
            tab = context.new_page()
            tab.route(f"{ORIGIN}/**", serve)
            tab.goto(f"{ORIGIN}/index.html")
            tab.wait_for_function("window.lossmath !== undefined", timeout=10_000)
            yield tab
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def in_browser(page, function: str, rows: list[list]) -> list:
    """``lossmath[function](...row)`` for every row, evaluated in the page.

    Rows go in and results come out as one JSON text each way: Playwright's own
    serialisation of nested values costs seconds for 10,000 rows.
    """
    script = (
        "([name, rows]) => JSON.stringify("
        "JSON.parse(rows).map((row) => window.lossmath[name](...row)))"
    )
    return json.loads(page.evaluate(script, [function, json.dumps(rows, default=float)]))


def assert_close(got, expected, what: str, *, terms: float = 0.0) -> None:
    """Equal to ``RTOL`` relative; for a difference of terms of size ``terms``, relative to them.

    The cross-entropy's loss ``log Σ e^(z − max)`` (a sum that starts at 1) and
    gradient ``p − one_hot`` cancel terms of size 1: one rounding of those
    terms, in whichever order torch sums them, is 1e-16 of 1, not of the result.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL * terms, err_msg=what)


def grid(spec: widgets.Slider) -> np.ndarray:
    return np.array(widgets.slider_grid(spec))


@functools.cache
def spec_of(name: str, slider: str) -> widgets.Slider:
    return widgets.WIDGETS[name]().sliders[slider]


def value_and_grad(loss_fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise loss and its autograd derivative on a float64 grid."""
    tensor = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(tensor)
    (grad,) = torch.autograd.grad(loss.sum(), tensor)
    return loss.detach().numpy(), grad.numpy()


def test_the_math_module_imports_nothing_and_widgets_js_only_it():
    def imports(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.lstrip().startswith("import")]

    assert imports((widgets.STATIC / "lossmath.js").read_text()) == []
    module = widgets.browser_module()
    assert imports(module) == [] and "export default" in module
    assert "import(" not in module and "http" not in module, "the module may load nothing"


def test_regression_penalties(page):
    residual_spec = spec_of("regression_penalties", "residual")
    shapes = grid(spec_of("regression_penalties", "delta"))
    pairs = [(0.1, 0.1), (3.0, 3.0), (0.1, 3.0), (3.0, 0.1), (1.0, 1.0), (0.55, 2.35)]
    rng = np.random.default_rng(0)
    pairs += [tuple(rng.choice(shapes, 2)) for _ in range(4)]
    total = 0
    for delta, beta in pairs:
        kinks = [0.0, delta, -delta, beta, -beta]
        # Next to each kink; next to 0 at 1e-12, not at a subnormal the slider never reaches
        # (there autograd's ½·q underflows to 0 where the closed form does not).
        near = [np.nextafter(k, side) for k in kinks[1:] for side in (-np.inf, np.inf)]
        near += [-1e-12, 1e-12]
        residuals = np.unique(
            np.concatenate([grid(residual_spec), np.linspace(-4, 4, 1001), kinks, near])
        )
        got = in_browser(page, "regressionPoint", [[r, delta, beta] for r in residuals])
        references = {
            "mse": lambda x: F.mse_loss(x, torch.zeros_like(x), reduction="none"),
            "l1": lambda x: F.l1_loss(x, torch.zeros_like(x), reduction="none"),
            "huber": lambda x, d=delta: F.huber_loss(
                x, torch.zeros_like(x), reduction="none", delta=d
            ),
            "smooth_l1": lambda x, b=beta: F.smooth_l1_loss(
                x, torch.zeros_like(x), reduction="none", beta=b
            ),
        }
        for name, loss_fn in references.items():
            loss, gradient = value_and_grad(loss_fn, residuals)
            what = f"{name}, delta={delta}, beta={beta}"
            assert_close([point[name] for point in got], loss, what)
            assert_close([point[f"{name}_grad"] for point in got], gradient, f"{what}, gradient")
        total += len(residuals)
    assert total >= MIN_POINTS


def test_neg_log_curve(page):
    spec = spec_of("neg_log_curve", "p")
    probs = np.unique(
        np.concatenate(
            [grid(spec), np.linspace(spec.min, spec.max, 10_001), [np.nextafter(1.0, 0.0)]]
        )
    )
    got = in_browser(page, "negLogPoint", [[p] for p in probs])
    loss, gradient = value_and_grad(
        lambda p: F.binary_cross_entropy(p, torch.ones_like(p), reduction="none"), probs
    )
    assert_close([point["loss"] for point in got], loss, "-log p")
    assert_close([point["grad"] for point in got], gradient, "d(-log p)/dp")
    assert len(probs) >= MIN_POINTS


def random_logits(rng, rows: int, classes: int, spec: widgets.Slider) -> np.ndarray:
    """Logits on the slider grid, uniform, and the corners of the range."""
    on_grid = rng.choice(grid(spec), (rows, classes))
    corners = np.array(list(itertools.product([spec.min, spec.max], repeat=classes)))
    return np.concatenate([on_grid, rng.uniform(spec.min, spec.max, (rows, classes)), corners])


def test_cross_entropy_pipeline(page):
    logit_spec = spec_of("cross_entropy_pipeline", "logit_0")
    temperatures = grid(spec_of("cross_entropy_pipeline", "temperature"))
    rng = np.random.default_rng(1)
    total = 0
    for classes in range(2, 7):
        logits = random_logits(rng, 500, classes, logit_spec)
        temperature = rng.choice(temperatures, len(logits))
        temperature[: len(temperatures)] = temperatures  # every grid value, ends included
        target = rng.integers(0, classes, len(logits))
        rows = [[list(z), t, int(c)] for z, t, c in zip(logits, temperature, target, strict=True)]
        got = in_browser(page, "crossEntropyPipelinePoint", rows)
        # Row by row as the widget computes one sample (reduction="none" is "mean" over one).
        steps = cross_entropy_steps(
            torch.tensor(logits) / torch.tensor(temperature)[:, None],
            torch.tensor(target),
            reduction="none",
        )
        what = f"{classes} classes"
        assert_close([p["probs"] for p in got], steps.probs, f"{what}: probs")
        assert_close([p["loss"] for p in got], steps.per_sample, f"{what}: loss", terms=1.0)
        assert_close([p["grad"] for p in got], steps.grad, f"{what}: grad", terms=1.0)
        total += len(rows) * classes
    assert total >= MIN_POINTS


def test_label_smoothing_explorer(page):
    epsilons = grid(spec_of("label_smoothing_explorer", "epsilon"))
    logit_spec = widgets.Slider("logit", -5.0, 5.0, 0.1, 0.0)
    rng = np.random.default_rng(2)
    total = 0
    for classes in range(2, 7):
        logits = random_logits(rng, 20, classes, logit_spec)
        target = rng.integers(0, classes, len(logits))
        chosen = [*epsilons, *rng.uniform(0, 0.5, 3)]
        rows = [
            [list(z), int(c), float(epsilon)]
            for epsilon in chosen
            for z, c in zip(logits, target, strict=True)
        ]
        got = in_browser(page, "labelSmoothingPoint", rows)
        logits_t, target_t = torch.tensor(logits), torch.tensor(target)
        plain = F.cross_entropy(logits_t, target_t, reduction="none")
        for index, epsilon in enumerate(chosen):
            chunk = got[index * len(logits) : (index + 1) * len(logits)]
            steps = cross_entropy_steps(
                logits_t, target_t, label_smoothing=float(epsilon), reduction="none"
            )
            what = f"C={classes}, epsilon={epsilon}"
            assert_close([p["target_distribution"] for p in chunk], steps.target_dist, what)
            assert_close([p["loss"] for p in chunk], steps.per_sample, f"{what}: loss", terms=1.0)
            assert_close(
                [p["loss_without_smoothing"] for p in chunk], plain, f"{what}: plain", terms=1.0
            )
        total += len(rows)
    assert total >= MIN_POINTS


@pytest.mark.parametrize("alpha", [None, 0.0, 0.25, 1.0])
def test_focal_gamma_explorer(page, alpha):
    gammas = grid(spec_of("focal_gamma_explorer", "gamma"))
    p_t = np.unique(
        np.concatenate(
            [
                np.linspace(0.01, 0.999, 300),  # the curves the widget draws
                widgets.FOCAL_PROBES,
                np.linspace(1e-4, 1 - 1e-4, 200),
            ]
        )
    )
    rows = [[p, g, -1.0 if alpha is None else alpha] for g in gammas for p in p_t]
    got = in_browser(page, "focalPoint", rows)
    logit = torch.log(torch.tensor(p_t)) - torch.log1p(-torch.tensor(p_t))
    ones = torch.ones_like(logit)
    ce = F.binary_cross_entropy_with_logits(logit, ones, reduction="none").numpy()
    for index, gamma in enumerate(gammas):
        focal = F.sigmoid_focal_loss(
            logit,
            ones,
            alpha=-1.0 if alpha is None else alpha,
            gamma=float(gamma),
            reduction="none",
        ).numpy()
        chunk = got[index * len(p_t) : (index + 1) * len(p_t)]
        assert_close([p["ce"] for p in chunk], ce, f"ce, gamma={gamma}")
        assert_close([p["focal"] for p in chunk], focal, f"focal, gamma={gamma}, alpha={alpha}")
    assert len(rows) >= MIN_POINTS


def test_numbers_print_as_python_prints_them(page):
    rng = np.random.default_rng(3)
    numbers = [0.0, -0.0, 1.0, -2.5, 9.0, 0.1, 1e-5, 12345.678, 99995.0, 1e300, 0.00012345]
    numbers += list(rng.normal(0, 1, 300) * 10.0 ** rng.integers(-8, 8, 300))
    got = in_browser(page, "formatG4", [[x] for x in numbers])
    assert got == [format(x, ".4g") for x in numbers]
    lists = in_browser(page, "formatNumber", [[[0.5, -1e-7, 3.0]]])
    assert lists == [widgets._format_number([0.5, -1e-7, 3.0])]
