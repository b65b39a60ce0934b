"""lossbook.checks: each misconception is named, right answers pass, and patching changes nothing.

Every crafted wrong implementation below is what a learner with that
misconception writes; the test asserts the feedback names exactly that
mistake (by its registry name) and that the right implementation passes.
"""

from __future__ import annotations

import builtins
import copy
import sys
import traceback

import pytest
import torch
import torch.nn.functional as F

import lossbook.functional as lb_F
import lossbook.checks as G
from lossbook.checks import _guard, values
from lossbook.course.data import binary_data, classification_data
from lossbook.course.training import accuracies, fit, predicted_labels
from lossbook.checks import mistakes
from lossbook.checks.mistakes import MISTAKES, REFERENCES


def failure(check, *args, **kwargs) -> str:
    """The message of the GradingError that ``check(*args, **kwargs)`` must raise."""
    with pytest.raises(G.GradingError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


def named(key: str) -> str:
    return f"known mistake: {MISTAKES[key].name}."


def rows(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.arange(target.shape[0]), target


# ---------------------------------------------------------------------------
# Learner implementations: right ones, and one per misconception.


def mse(pred, target):
    return ((pred - target) ** 2).mean()


def l1(pred, target):
    return (pred - target).abs().mean()


def huber(pred, target, delta=1.0):
    r = (pred - target).abs()
    return torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).mean()


def smooth_l1(pred, target, beta=1.0):
    r = (pred - target).abs()
    return torch.where(r < beta, 0.5 * r**2 / beta, r - 0.5 * beta).mean()


def bce_with_logits(logits, target):
    return (logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))).mean()


def bce(probs, target):
    return -(
        target * probs.log().clamp(min=-100) + (1 - target) * (1 - probs).log().clamp(min=-100)
    ).mean()


def cross_entropy(logits, target, label_smoothing=0.0, weight=None):
    return F.cross_entropy(logits, target, label_smoothing=label_smoothing, weight=weight)


def nll(log_probs, target, weight=None):
    w = torch.ones(log_probs.shape[1]) if weight is None else weight
    picked = -log_probs[torch.arange(len(target)), target] * w[target]
    return picked.sum() / w[target].sum()


def softmax(logits):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)


def log_softmax(logits):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def logsumexp(logits):
    m = logits.amax(dim=-1, keepdim=True)
    return (m + (logits - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)


def log_softmax_ce(logits, target):
    return -log_softmax(logits)[rows(logits, target)].mean()


def naive_ce(logits, target):
    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[rows(logits, target)].mean()


THREE_CLASSES = [case for case in G.MULTICLASS_CASES if case.args[0].shape[1] == 3]
THREE_CLASSES_LOG_PROBS = [case for case in G.LOG_PROB_CASES if case.args[0].shape[1] == 3]

WRONG = [
    # (reference, wrong implementation, kwargs, the mistake it must be named as)
    ("mse_loss", lambda pred, target: ((pred - target) ** 2).sum(), {}, "sum_instead_of_mean"),
    ("mse_loss", lambda pred, target: (pred - target).mean(), {}, "missing_square"),
    ("mse_loss", lambda pred, target: (pred - target).abs().mean(), {}, "mae_instead_of_mse"),
    (
        "mse_loss",
        lambda pred, target: ((pred - target) ** 2).mean().sqrt(),
        {},
        "rmse_instead_of_mse",
    ),
    ("mse_loss", lambda pred, target: 0.5 * ((pred - target) ** 2).mean(), {}, "half_mse"),
    ("mse_loss", lambda pred, target: (pred - target) ** 2, {}, "no_reduction"),
    (
        "mse_loss",
        lambda pred, target: ((pred.unsqueeze(-1) - target) ** 2).mean(),
        {},
        "pairwise_broadcast",
    ),
    ("l1_loss", lambda pred, target: (pred - target).mean(), {}, "missing_abs"),
    ("l1_loss", lambda pred, target: ((pred - target) ** 2).mean(), {}, "mse_instead_of_mae"),
    ("l1_loss", lambda pred, target: (pred - target).abs().sum(), {}, "sum_instead_of_mean"),
    (
        "huber_loss",
        lambda p, t, delta=1.0: torch.where(
            (p - t).abs() <= delta, (p - t) ** 2, delta * ((p - t).abs() - 0.5 * delta)
        ).mean(),
        {"delta": 2.0},
        "huber_missing_half",
    ),
    (
        "huber_loss",
        lambda p, t, delta=1.0: torch.where(
            (p - t).abs() <= delta, 0.5 * (p - t) ** 2, delta * (p - t).abs()
        ).mean(),
        {"delta": 2.0},
        "huber_missing_offset",
    ),
    (
        "huber_loss",
        lambda p, t, delta=1.0: torch.where(
            (p - t).abs() > delta, 0.5 * (p - t) ** 2, delta * ((p - t).abs() - 0.5 * delta)
        ).mean(),
        {"delta": 2.0},
        "huber_swapped_branches",
    ),
    (
        "huber_loss",
        lambda p, t, delta=1.0: smooth_l1(p, t, beta=delta),
        {"delta": 2.0},
        "smooth_l1_instead_of_huber",
    ),
    (
        "smooth_l1_loss",
        lambda p, t, beta=1.0: huber(p, t, delta=beta),
        {"beta": 0.5},
        "huber_instead_of_smooth_l1",
    ),
    (
        "smooth_l1_loss",
        lambda p, t, beta=1.0: torch.where(
            (p - t).abs() < beta, 0.5 * (p - t) ** 2, (p - t).abs() - 0.5 * beta
        ).mean(),
        {"beta": 0.5},
        "smooth_l1_missing_beta",
    ),
    ("binary_cross_entropy_with_logits", lambda z, y: -bce_with_logits(z, y), {}, "missing_minus"),
    (
        "binary_cross_entropy_with_logits",
        lambda z, y: bce_with_logits(torch.sigmoid(z), y),
        {},
        "sigmoid_before_with_logits",
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda z, y: bce_with_logits(z, 1 - y),
        {},
        "flipped_labels",
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda z, y: -(y * z.log() + (1 - y) * (1 - z).log()).mean(),
        {},
        "bce_on_logits",
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda z, y: -(y * torch.sigmoid(z).log() + (1 - y) * (1 - torch.sigmoid(z)).log()).mean(),
        {},
        "unstable_log_sigmoid",
    ),
    (
        "binary_cross_entropy",
        lambda p, y: -(y * p.log() + (1 - y) * (1 - p).log()).mean(),
        {},
        "unclamped_log",
    ),
    ("binary_cross_entropy", lambda p, y: bce(torch.sigmoid(p), y), {}, "sigmoid_on_probabilities"),
    ("binary_cross_entropy", lambda p, y: bce(p, y).sum() * y.numel(), {}, "sum_instead_of_mean"),
    (
        "cross_entropy",
        lambda z, y: F.cross_entropy(z, y, reduction="sum"),
        {},
        "sum_instead_of_mean",
    ),
    ("cross_entropy", lambda z, y: -F.cross_entropy(z, y), {}, "missing_minus"),
    ("cross_entropy", lambda z, y: F.cross_entropy(z.softmax(dim=1), y), {}, "softmax_twice"),
    ("cross_entropy", lambda z, y: -z[rows(z, y)].mean(), {}, "picks_logit"),
    ("cross_entropy", lambda z, y: -z.log()[rows(z, y)].mean(), {}, "log_of_logits"),
    ("cross_entropy", naive_ce, {}, "no_max_subtraction"),
    (
        "cross_entropy",
        lambda z, y: -z.softmax(dim=1).log()[rows(z, y)].mean(),
        {},
        "log_of_softmax",
    ),
    (
        "cross_entropy",
        lambda z, y: -(y * z.log_softmax(dim=1)).sum(dim=1).mean(),
        {},
        "one_hot_vs_index",
    ),
    (
        "cross_entropy",
        lambda z, y, label_smoothing=0.0: F.cross_entropy(z, y),
        {"label_smoothing": 0.2},
        "label_smoothing_ignored",
    ),
    (
        "cross_entropy",
        lambda z, y, weight=None: (F.cross_entropy(z, y, reduction="none") * weight[y]).mean(),
        {"weight": torch.tensor([1.0, 3.0, 0.5]), "cases": THREE_CLASSES},
        "weights_in_plain_mean",
    ),
    (
        "cross_entropy",
        lambda z, y, weight=None: F.cross_entropy(z, y),
        {"weight": torch.tensor([1.0, 3.0, 0.5]), "cases": THREE_CLASSES},
        "weights_ignored",
    ),
    ("nll_loss", lambda lp, y: lp[rows(lp, y)].mean(), {}, "missing_minus"),
    ("nll_loss", lambda lp, y: -lp[rows(lp, y)].sum(), {}, "sum_instead_of_mean"),
    (
        "nll_loss",
        lambda lp, y, weight=None: (-lp[rows(lp, y)] * weight[y]).mean(),
        {"weight": torch.tensor([1.0, 3.0, 0.5]), "cases": THREE_CLASSES_LOG_PROBS},
        "nll_weights_in_plain_mean",
    ),
    ("softmax", lambda z: z.softmax(dim=0), {}, "softmax_wrong_dim"),
    (
        "softmax",
        lambda z: (z - z.max()).exp() / (z - z.max()).exp().sum(),
        {},
        "softmax_whole_tensor",
    ),
    ("softmax", lambda z: z.exp() / z.exp().sum(dim=-1, keepdim=True), {}, "softmax_overflow"),
    ("softmax", lambda z: z / z.sum(dim=-1, keepdim=True), {}, "softmax_no_exp"),
    ("log_softmax", lambda z: z.log_softmax(dim=0), {}, "log_softmax_wrong_dim"),
    (
        "log_softmax",
        lambda z: z - z.exp().sum(dim=-1, keepdim=True).log(),
        {},
        "log_softmax_overflow",
    ),
    ("log_softmax", lambda z: softmax(z).log(), {}, "log_softmax_log_of_softmax"),
    ("log_softmax", lambda z: -log_softmax(z), {}, "log_softmax_negated"),
    ("logsumexp", lambda z: z.exp().sum(dim=-1).log(), {}, "logsumexp_overflow"),
    ("logsumexp", lambda z: z.amax(dim=-1), {}, "logsumexp_max_only"),
    (
        "logsumexp",
        lambda z: (z - z.amax(dim=-1, keepdim=True)).exp().sum(dim=-1).log(),
        {},
        "logsumexp_missing_max",
    ),
    ("sigmoid", lambda z: 1 / (1 + z.exp()), {}, "sigmoid_sign"),
    ("log_sigmoid", lambda z: torch.sigmoid(z).log(), {}, "naive_log_sigmoid"),
]


@pytest.mark.parametrize(
    ("reference", "wrong", "kwargs", "key"), WRONG, ids=[f"{r}-{k}" for r, _, _, k in WRONG]
)
def test_each_misconception_is_named(reference, wrong, kwargs, key):
    options = dict(kwargs)
    cases = options.pop("cases", None)
    message = failure(G.check_close, wrong, reference, cases, kwargs=options)
    assert named(key) in message
    assert MISTAKES[key].fix in message
    assert "expected:" in message or "raised" in message


def test_label_smoothing_over_c_minus_1_is_named():
    def smoothed(logits, target, label_smoothing=0.0):
        log_probs = logits.log_softmax(dim=1)
        num_classes = logits.shape[1]
        q = torch.full_like(log_probs, label_smoothing / (num_classes - 1))
        q[rows(logits, target)] = 1 - label_smoothing
        return -(q * log_probs).sum(dim=1).mean()

    message = failure(G.check_close, smoothed, "cross_entropy", kwargs={"label_smoothing": 0.1})
    assert named("label_smoothing_c_minus_1") in message
    assert "label_smoothing = 0.1" in message  # the message shows every argument of the call


RIGHT = [
    ("mse_loss", mse, {}),
    ("l1_loss", l1, {}),
    ("huber_loss", huber, {"delta": 2.0}),
    ("smooth_l1_loss", smooth_l1, {"beta": 0.5}),
    ("binary_cross_entropy_with_logits", bce_with_logits, {}),
    ("binary_cross_entropy", bce, {}),
    ("cross_entropy", cross_entropy, {"label_smoothing": 0.1}),
    (
        "cross_entropy",
        cross_entropy,
        {"weight": torch.tensor([1.0, 3.0, 0.5]), "cases": THREE_CLASSES},
    ),
    ("nll_loss", nll, {"weight": torch.tensor([1.0, 3.0, 0.5]), "cases": THREE_CLASSES_LOG_PROBS}),
    ("nll_loss", nll, {}),
    ("softmax", softmax, {}),
    ("log_softmax", log_softmax, {}),
    ("logsumexp", logsumexp, {}),
    ("sigmoid", torch.sigmoid, {}),
    ("log_sigmoid", F.logsigmoid, {}),
]


@pytest.mark.parametrize(("reference", "right", "kwargs"), RIGHT, ids=[r for r, _, _ in RIGHT])
def test_right_implementations_pass(reference, right, kwargs):
    options = dict(kwargs)
    cases = options.pop("cases", None)
    G.check_close(right, reference, cases, kwargs=options)


def test_cross_entropy_helper_matches_torch():
    """The cross-entropy the variants feed their log-probabilities to is lossbook's, equal to torch's."""
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    target = torch.tensor([0, 3, 1, -100, 2, 3])
    probs = torch.softmax(torch.randn(6, 4, dtype=torch.float64), dim=1)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    for options in (
        {},
        {"weight": weight},
        {"label_smoothing": 0.2},
        {"weight": weight, "label_smoothing": 0.2},
        {"reduction": "sum", "label_smoothing": 0.1},
        {"reduction": "none", "weight": weight, "label_smoothing": 0.3},
    ):
        for y in (target, probs):
            expected = F.cross_entropy(logits, y, **options)
            got = mistakes._cross_entropy_on(torch.log_softmax(logits, dim=1), y, options)
            assert torch.allclose(got, expected, rtol=1e-12, atol=1e-12), options


# ---------------------------------------------------------------------------
# Matching is strict: no coincidences, the smallest failing case, readable messages.


def test_a_coincidence_on_one_case_names_nothing():
    """2.25 is the sum-instead-of-mean value on the small case, but only there."""
    message = failure(G.check_close, lambda pred, target: torch.tensor(2.25), "mse_loss")
    assert "known mistake" not in message
    assert "expected: 1.0" in message and "got:      2.25" in message


def test_smallest_failing_case_is_reported():
    def right_on_small_inputs(pred, target):
        loss = ((pred - target) ** 2).mean()
        return loss if pred.numel() < 8 else loss + 1

    message = failure(G.check_close, right_on_small_inputs, "mse_loss")
    assert "random: N=8" in message
    assert "N=32" not in message and "small: N=4" not in message


def test_cases_are_sorted_smallest_first_whatever_the_order_given():
    cases = list(reversed(G.REGRESSION_CASES))
    message = failure(G.check_close, lambda p, t: ((p - t) ** 2).sum(), "mse_loss", cases)
    assert "small: N=4" in message  # N=1 passes: the sum of one element is its mean


def test_message_shows_expected_and_got_and_never_the_test_source():
    message = failure(G.check_close, lambda pred, target: (pred - target).mean(), "mse_loss")
    assert "pred = [2.5, 0.5, 2.0, 8.0]" in message
    assert "target = [3.0, -0.5, 2.0, 7.0]" in message
    assert "expected: 0.5625" in message
    assert "got:      0.375" in message
    assert "check_close" not in message and "lambda" not in message and "assert" not in message


def test_large_outputs_show_shape_and_first_difference():
    message = failure(
        G.check_close, lambda z: z.softmax(dim=-1) * 1.01, "softmax", G.LOGIT_CASES[-1:]
    )
    assert "a tensor of shape (16, 10)" in message
    assert "first difference at index [0, 0]" in message


def test_a_raising_function_is_reported_with_the_confusion():
    def one_hot_only(logits, target):
        return -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()

    message = failure(G.check_close, one_hot_only, "cross_entropy", G.MULTICLASS_CASES[1:2])
    assert "raised RuntimeError" in message
    assert "size of tensor" in message
    assert named("one_hot_vs_index").replace(
        "known mistake", "looks like a known mistake"
    ) in message.replace("This looks like a known mistake", "looks like a known mistake")
    assert "Traceback" not in message


def test_probability_targets_used_as_indices_are_recognised():
    def indices_only(logits, target):
        return -logits.log_softmax(dim=1)[torch.arange(len(target)), target].mean()

    message = failure(
        G.check_close, indices_only, "cross_entropy", G.multiclass_cases(target="one_hot")
    )
    assert "raised IndexError" in message
    assert MISTAKES["one_hot_vs_index"].name in message


def test_missing_return_and_wrong_shape_are_explained():
    assert "is a `return` missing?" in failure(G.check_close, lambda pred, target: None, "mse_loss")
    message = failure(
        G.check_close, lambda pred, target: ((pred - target) ** 2).mean().reshape(1), "mse"
    )
    assert "expected shape () (a single number), got shape (1,)" in message


def test_broadcast_warning_is_shown():
    message = failure(
        G.check_close, lambda pred, target: F.mse_loss(pred.unsqueeze(-1), target), "mse"
    )
    assert "Your function warned: UserWarning" in message
    assert named("pairwise_broadcast") in message


def test_the_error_hides_grading_frames_and_chained_exceptions():
    with pytest.raises(G.GradingError) as caught:
        G.check_close(lambda pred, target: 1 / 0, "mse_loss")
    error = caught.value
    assert error.__suppress_context__
    grading_frames = [
        frame
        for frame, _ in traceback.walk_tb(error.__traceback__)
        if frame.f_globals.get("__name__", "").startswith("lossbook.checks")
    ]
    assert len(grading_frames) == 1  # the checks' internals are cut off
    assert grading_frames[0].f_locals.get("__tracebackhide__") is True
    assert "ZeroDivisionError: division by zero" in str(error)


def test_unknown_reference_is_an_author_error():
    with pytest.raises(ValueError, match="unknown reference 'mse_los'"):
        G.check_close(mse, "mse_los")


def test_torch_functions_resolve_to_the_captured_originals():
    G.check_close(mse, F.mse_loss)
    G.check_close(mse, lb_F.mse_loss, G.REGRESSION_CASES)
    assert "sum instead of mean" in failure(
        G.check_close, lambda p, t: ((p - t) ** 2).sum(), F.mse_loss
    )


def test_a_learner_mutating_its_inputs_does_not_change_the_cases():
    def in_place(pred, target):
        pred.sub_(target)
        return (pred**2).mean()

    G.check_close(in_place, "mse_loss")
    assert G.REGRESSION_CASES[1].args[0].tolist() == [2.5, 0.5, 2.0, 8.0]


# ---------------------------------------------------------------------------
# Patching torch, lossbook or builtins after import changes nothing.


def lying_in_grading(original, lie):
    """``original``, except that it returns ``lie(...)`` when called from lossbook.checks."""

    def patched(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("lossbook"):
            return lie(*args, **kwargs)
        return original(*args, **kwargs)

    return patched


def always_true(*args, **kwargs):
    return True


def everything_zero(*args, **kwargs):
    return torch.tensor(0.0)


def wrong_mse(pred, target):
    return ((pred - target) ** 2).sum()


@pytest.fixture
def patched_world(monkeypatch):
    """A learner's cell that patches everything a naive grader would rely on."""
    monkeypatch.setattr(F, "mse_loss", wrong_mse)
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", everything_zero)
    monkeypatch.setattr(torch, "allclose", always_true)
    monkeypatch.setattr(torch, "isclose", lambda a, b, **kw: torch.ones_like(a, dtype=torch.bool))
    monkeypatch.setattr(torch.testing, "assert_close", lambda *a, **k: None)
    monkeypatch.setattr(lb_F, "mse_loss", wrong_mse)
    monkeypatch.setattr(sys.modules["lossbook.losses.regression"], "mse_loss", wrong_mse)
    monkeypatch.setattr(
        sys.modules["lossbook.losses.classification"], "cross_entropy", everything_zero
    )
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: [0.0] * self.numel())
    monkeypatch.setattr(builtins, "abs", lying_in_grading(builtins.abs, lambda x: 0.0))
    monkeypatch.setattr(builtins, "float", lying_in_grading(builtins.float, lambda x=0.0: 0.0))
    monkeypatch.setattr(builtins, "isinstance", lying_in_grading(builtins.isinstance, always_true))
    monkeypatch.setattr(values, "_close", always_true)
    monkeypatch.setattr(values, "_agree", always_true)
    return monkeypatch


def test_patching_after_import_cannot_pass_a_wrong_answer(patched_world):
    message = failure(G.check_close, wrong_mse, "mse_loss")
    assert named("sum_instead_of_mean") in message
    assert "expected: 0.5625" in message
    assert "got:      2.25" in message
    failure(G.check_close, wrong_mse, F.mse_loss)  # F.mse_loss is the patched one: resolved by name
    failure(G.check_close, lambda z, y: torch.tensor(0.0), "cross_entropy")
    failure(
        G.check_value,
        2.25,
        what="the MSE",
        reference="mse",
        inputs=([2.5, 0.5, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0]),
    )
    failure(G.check_grad, wrong_mse, "mse_loss")
    # The learner's world is as the learner left it.
    assert (
        torch.allclose is always_true and F.mse_loss is wrong_mse and values._close is always_true
    )


def test_patching_after_import_cannot_fail_a_right_answer(patched_world):
    G.check_close(mse, "mse_loss")
    G.check_close(log_softmax_ce, "cross_entropy")
    G.check_grad(mse, "mse_loss")
    G.check_value(
        0.5625,
        what="the MSE",
        reference="mse",
        inputs=([2.5, 0.5, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0]),
    )
    G.check_fixed(mse, G.REGRESSION_CASES[:2], [1.0, 0.5625])


def test_patches_made_during_the_call_do_not_leak_into_the_verdict():
    def sneaky(pred, target):
        torch.allclose = always_true
        values._agree = always_true
        return torch.tensor(0.0)

    original_allclose, original_agree = torch.allclose, values._agree
    try:
        failure(G.check_close, sneaky, "mse_loss")
        assert values._agree is always_true  # left as the learner set it
    finally:
        torch.allclose, values._agree = original_allclose, original_agree
    assert changes_not_made_by_torch() == []


def changes_not_made_by_torch():
    """The guard's changed bindings, less the one torch makes itself: importing
    ``torch._dynamo`` (the first optimizer another test builds) rebinds
    ``torch.manual_seed`` to a wrapper of the original."""
    return [
        change
        for change in _guard._GUARD._changes()
        if not (
            change[0] is torch and change[1] == "manual_seed" and "torch._dynamo" in sys.modules
        )
    ]


def test_checks_leave_no_binding_changed():
    G.check_close(mse, "mse_loss")
    failure(G.check_close, wrong_mse, "mse_loss")
    G.check_grad(mse, "mse_loss")
    G.check_finite(cross_entropy, reference="cross_entropy")
    G.check_no_torch_loss(mse, torch.ones(3), torch.zeros(3))
    assert changes_not_made_by_torch() == []


# ---------------------------------------------------------------------------
# Values fixed at release time.


def test_release_values_round_trip_through_check_fixed():
    values = G.release_values("mse_loss", G.REGRESSION_CASES)
    assert values[1] == 0.5625
    literal = eval(repr(values))  # what the author pastes into the hidden cell
    G.check_fixed(mse, G.REGRESSION_CASES, literal)
    message = failure(G.check_fixed, wrong_mse, G.REGRESSION_CASES, literal, reference="mse")
    assert named("sum_instead_of_mean") in message
    message = failure(G.check_fixed, wrong_mse, G.REGRESSION_CASES, literal)
    assert "expected: 0.5625" in message and "known mistake" not in message


def test_fixed_values_do_not_depend_on_the_kernel(monkeypatch):
    values = G.release_values("softmax", G.LOGIT_CASES[:2])
    monkeypatch.setattr(sys.modules["lossbook.losses.activations"], "softmax", lambda z, dim=-1: z)
    G.check_close(softmax, cases=G.LOGIT_CASES[:2], fixed=values)
    G.check_close(softmax, fixed=list(zip(G.LOGIT_CASES[:2], values, strict=True)))
    with pytest.raises(ValueError, match="2 values for 3 cases"):
        G.check_close(softmax, cases=G.LOGIT_CASES[:3], fixed=values)


# ---------------------------------------------------------------------------
# Numbers computed by hand.


MSE_INPUTS = ([2.5, 0.5, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])


@pytest.mark.parametrize(
    ("answer", "key"),
    [
        (2.25, "sum_instead_of_mean"),
        (0.375, "missing_square"),
        (0.625, "mae_instead_of_mse"),
        (0.75, "rmse_instead_of_mse"),
        (0.28125, "half_mse"),
    ],
)
def test_check_value_names_the_mistake(answer, key):
    message = failure(
        G.check_value, answer, what="the MSE", reference="mse_loss", inputs=MSE_INPUTS
    )
    assert named(key) in message
    assert "0.5625" not in message  # not revealed by default


@pytest.mark.parametrize(
    "answer", [0.5625, 0.562, 0.563, torch.tensor(0.5625), torch.tensor([0.5625])]
)
def test_check_value_accepts_three_significant_digits(answer):
    G.check_value(answer, what="the MSE", reference="mse_loss", inputs=MSE_INPUTS)


def test_check_value_explains_unusable_answers():
    assert "no answer yet" in failure(G.check_value, ..., 0.5625, what="the MSE")
    assert "without quotes" in failure(G.check_value, "0.5625", 0.5625, what="the MSE")
    assert "write one number" in failure(G.check_value, [0.5, 0.6], 0.5625, what="the MSE")
    assert "at least 4 significant digits" in failure(G.check_value, 0.56, 0.5625, what="the MSE")
    assert "expected: 0.5625" in failure(G.check_value, 0.7, 0.5625, what="the MSE", reveal=True)


def test_check_value_with_cross_entropy_inputs():
    logits, target = [[2.0, 1.0, 0.1]], [0]
    expected = F.cross_entropy(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(target)
    ).item()
    G.check_value(expected, what="the loss", reference="cross_entropy", inputs=(logits, target))
    message = failure(
        G.check_value, -expected, what="the loss", reference="ce", inputs=(logits, target)
    )
    assert named("missing_minus") in message
    assert named("picks_logit") in failure(
        G.check_value, -2.0, what="the loss", reference="ce", inputs=(logits, target)
    )


def test_check_value_with_class_weights():
    logits, target, weight = [[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], [0, 2], [1.0, 1.0, 3.0]
    per_sample = F.cross_entropy(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(target), reduction="none"
    )
    weighted = per_sample * torch.tensor([1.0, 3.0], dtype=torch.float64)
    options = {"weight": torch.tensor(weight)}  # float32: converted like the inputs
    G.check_value(
        weighted.sum().item() / 4,
        what="the loss",
        reference="ce",
        inputs=(logits, target),
        kwargs=options,
    )
    message = failure(
        G.check_value,
        weighted.mean().item(),
        what="the loss",
        reference="ce",
        inputs=(logits, target),
        kwargs={"weight": weight},
    )
    assert named("weights_in_plain_mean") in message


def test_check_value_with_explicit_mistakes():
    mistakes = {"sum_instead_of_mean": 2.25, "forgot to square the 0.5": 0.25}
    assert named("sum_instead_of_mean") in failure(
        G.check_value, 2.25, 0.5625, what="x", mistakes=mistakes
    )
    assert "known mistake: forgot to square the 0.5." in failure(
        G.check_value, 0.25, 0.5625, what="x", mistakes=mistakes
    )


# ---------------------------------------------------------------------------
# Gradients.


def test_check_grad_passes_right_and_names_sum():
    G.check_grad(mse, "mse_loss")
    G.check_grad(cross_entropy, "cross_entropy")
    message = failure(G.check_grad, wrong_mse, "mse_loss")
    assert "the gradient of wrong_mse(pred, target) is not right." in message
    assert "d/dpred" in message
    assert named("sum_instead_of_mean") in message


GRADIENT_INVISIBLE = {"huber_missing_offset", "unclamped_log"}  # same gradient where defined


@pytest.mark.parametrize(
    ("reference", "wrong", "kwargs", "key"),
    [item for item in WRONG if item[3] not in GRADIENT_INVISIBLE],
    ids=[f"{r}-{k}" for r, _, _, k in WRONG if k not in GRADIENT_INVISIBLE],
)
def test_each_misconception_is_named_from_gradients(reference, wrong, kwargs, key):
    options = dict(kwargs)
    cases = options.pop("cases", None)
    message = failure(G.check_grad, wrong, reference, cases, kwargs=options)
    assert named(key) in message


@pytest.mark.parametrize(("reference", "right", "kwargs"), RIGHT, ids=[r for r, _, _ in RIGHT])
def test_right_implementations_have_right_and_finite_gradients(reference, right, kwargs):
    options = dict(kwargs)
    cases = options.pop("cases", None)
    G.check_grad(right, reference, cases, kwargs=options)
    extreme = None if cases is None else [case for case in cases if case.extreme]
    G.check_finite(right, extreme, reference=reference, kwargs=options)


def test_gradients_are_not_compared_at_kinks():
    """max(z, 0) − z·y + log(1 + e^−|z|) is BCE, but autograd's subgradients at z = 0 differ."""
    G.check_grad(bce_with_logits, "bce_with_logits")
    with pytest.raises(ValueError, match="kink"):
        G.check_grad(bce_with_logits, "bce_with_logits", G.BINARY_CASES[1:2])


def test_check_grad_names_softmax_applied_twice():
    message = failure(
        G.check_grad, lambda z, y: F.cross_entropy(z.softmax(dim=1), y), "cross_entropy"
    )
    assert named("softmax_twice") in message


def test_check_grad_explains_a_disconnected_output():
    message = failure(
        G.check_grad, lambda pred, target: torch.tensor(mse(pred, target).item()), "mse"
    )
    assert "not connected to the input" in message


def test_check_grad_of_both_arguments():
    G.check_grad(mse, "mse_loss", wrt=(0, 1))
    message = failure(
        G.check_grad, lambda p, t: ((p - t.detach()) ** 2).mean(), "mse_loss", wrt=(0, 1)
    )
    assert "d/dtarget" in message


# ---------------------------------------------------------------------------
# No ready-made loss.


def test_check_no_torch_loss_returns_the_result():
    result = G.check_no_torch_loss(mse, torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]))
    assert result.item() == 2.5
    assert sys.getprofile() is None


@pytest.mark.parametrize(
    "cheat",
    [
        lambda p, t: F.mse_loss(p, t),
        lambda p, t: torch.nn.MSELoss()(p, t),
        lambda p, t: lb_F.mse_loss(p, t),
        lambda p, t: torch._C._nn.mse_loss(p, t),
        lambda p, t: F.huber_loss(p, t),
    ],
    ids=["functional", "module", "lossbook", "kernel", "another-loss"],
)
def test_check_no_torch_loss_catches_every_route(cheat):
    message = failure(G.check_no_torch_loss, cheat, torch.ones(3), torch.zeros(3))
    assert "a ready-made loss that this exercise asks you to write yourself" in message
    assert sys.getprofile() is None


def test_check_no_torch_loss_catches_an_alias_taken_before_the_check():
    from torch.nn.functional import mse_loss as my_loss

    def disguised(pred, target):
        return my_loss(pred, target)

    assert "calls torch.nn.functional.mse_loss" in failure(
        G.check_no_torch_loss, disguised, torch.ones(3), torch.zeros(3)
    )


def test_check_no_torch_loss_with_extra_forbidden_functions():
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    G.check_no_torch_loss(naive_ce, logits, target, forbid=("log_softmax", "softmax", "logsumexp"))
    message = failure(
        G.check_no_torch_loss,
        lambda z, y: -z.log_softmax(dim=1)[rows(z, y)].mean(),
        logits,
        target,
        forbid=("log_softmax",),
    )
    assert "Tensor.log_softmax" in message
    assert "calls torch.nn.functional.log_softmax" in failure(
        G.check_no_torch_loss,
        lambda z, y: -F.log_softmax(z, dim=1)[rows(z, y)].mean(),
        logits,
        target,
        forbid=("log_softmax",),
    )


# ---------------------------------------------------------------------------
# Stability.


def test_check_finite_passes_a_stable_loss_and_names_overflow():
    G.check_finite(cross_entropy, reference="cross_entropy")
    G.check_finite(bce_with_logits, reference="bce_with_logits")
    message = failure(G.check_finite, naive_ce, reference="cross_entropy")
    assert (
        "on extreme inputs" in message and "logits = [[10000.0, -10000.0, 0.0, 10000.0]" in message
    )
    assert named("no_max_subtraction") in message


def test_check_finite_catches_nan_gradients_behind_torch_where():
    def softplus_by_cases(z, y):
        # Both branches are computed; exp(-z) overflows where the other branch is chosen.
        loss = torch.where(z > 0, z + torch.log1p(torch.exp(-z)), torch.log1p(torch.exp(z))) - z * y
        return loss.mean()

    message = failure(G.check_finite, softplus_by_cases, reference="bce_with_logits")
    assert "its gradient is not" in message and "torch.where" in message


def test_check_finite_without_reference():
    G.check_finite(log_softmax, G.LOGIT_CASES)
    message = failure(
        G.check_finite, lambda z: z.exp() / z.exp().sum(dim=-1, keepdim=True), G.LOGIT_CASES
    )
    assert "nan" in message and "subtract the max" in message


# ---------------------------------------------------------------------------
# Training.


def test_check_trains_returns_a_reproducible_accuracy():
    data = classification_data(n=150)
    model = torch.nn.Linear(2, 3)
    state = torch.get_rng_state()
    first = G.check_trains(
        lambda: torch.nn.Linear(2, 3), torch.nn.CrossEntropyLoss(), data, steps=60, min_accuracy=0.9
    )
    second = G.check_trains(
        model, torch.nn.CrossEntropyLoss(), data, steps=60, min_accuracy=0.9, seed=1
    )
    third = G.check_trains(
        lambda: torch.nn.Linear(2, 3), torch.nn.CrossEntropyLoss(), data, steps=60, min_accuracy=0.9
    )
    assert first == third and first >= 0.9 and second >= 0.9
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_check_trains_is_the_course_training_loop(optimizer):
    """check_trains runs lossbook.course.training.fit: torch.optim's updates, fit's predicted class."""
    X, y = classification_data(n=90)
    torch.manual_seed(3)
    model = torch.nn.Linear(2, 3)
    accuracy = G.check_trains(
        model, F.cross_entropy, (X, y), steps=25, min_accuracy=0.0, lr=0.01, optimizer=optimizer
    )
    history = fit(model, F.cross_entropy, (X, y), steps=25, lr=0.01, optimizer=optimizer)
    with torch.no_grad():
        assert accuracy == accuracies(predicted_labels(history.model(X)), y)[0]
    reference = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]
    trained = copy.deepcopy(model)
    opt = reference(trained.parameters(), lr=0.01)
    for _ in range(25):
        opt.zero_grad()
        F.cross_entropy(trained(X), y).backward()
        opt.step()
    expected = (trained(X).argmax(dim=1) == y).sum().item() / len(y)
    assert accuracy == expected
    assert 0.3 < accuracy < 1.0  # mid-training: a different update would change it


def test_check_trains_trains_on_through_an_infinite_loss_as_fit_does():
    """One treatment of a loss that stops being finite: check_trains reports fit's step."""
    data = classification_data(n=60)
    history = fit(lambda: torch.nn.Linear(2, 3), _inf_then_finite(), data, steps=5)
    assert history.diverged_at == 1 and len(history.loss) == 5
    message = failure(
        G.check_trains,
        lambda: torch.nn.Linear(2, 3),
        _inf_then_finite(),
        data,
        steps=5,
        min_accuracy=1.0,
    )
    assert "The loss became inf at step 1, and ended at" in message


def _inf_then_finite():
    """A loss that is +inf at its first call (gradients flow through the finite part), finite after."""
    calls = []

    def loss(output, target):
        calls.append(1)
        value = F.cross_entropy(output, target)
        return value + float("inf") if len(calls) == 1 else value

    return loss


def test_check_trains_reports_a_broadcasting_bug():
    message = failure(
        G.check_trains,
        lambda: torch.nn.Linear(2, 1),
        lambda output, target: F.mse_loss(torch.sigmoid(output), target),
        binary_data(n=100),
        steps=30,
        min_accuracy=0.9,
        lr=0.5,
    )
    assert "expects at least 90%" in message
    assert "model output (100, 1) float32, target (100,) float32" in message
    assert "A warning was raised during training: UserWarning" in message


def test_check_trains_reports_a_loss_that_becomes_nan():
    def exploding(output, target):
        return -(output.exp()[torch.arange(len(target)), target]).log().mean() * 1e3

    message = failure(
        G.check_trains,
        lambda: torch.nn.Linear(2, 3),
        exploding,
        classification_data(n=60),
        steps=50,
        min_accuracy=0.99,
        lr=10.0,
    )
    assert "The loss became" in message


def test_check_trains_reports_errors_and_wrong_loss_shapes():
    data = binary_data(n=40)
    message = failure(
        G.check_trains,
        lambda: torch.nn.Linear(2, 1),
        F.binary_cross_entropy_with_logits,
        data,
        steps=5,
        min_accuracy=0.5,
    )
    assert message.startswith("Training the model failed: ValueError")
    message = failure(
        G.check_trains,
        lambda: torch.nn.Linear(2, 1),
        lambda out, y: F.mse_loss(out.squeeze(-1), y, reduction="none"),
        data,
        steps=5,
        min_accuracy=0.5,
    )
    assert "the loss must be one number" in message


# ---------------------------------------------------------------------------
# Cases.


def test_cases_are_seeded_and_sorted():
    for cases in (
        G.regression_cases(),
        G.binary_cases(),
        G.binary_cases(probs=True),
        G.multiclass_cases(),
        G.multiclass_cases(target="probs"),
        G.LOGIT_CASES,
    ):
        sizes = [case.size for case in cases]
        assert sizes == sorted(sizes)
        assert any(case.extreme for case in cases)
    again = G.multiclass_cases()
    for one, other in zip(G.MULTICLASS_CASES, again, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(one.args, other.args, strict=True))
    extreme = [case for case in G.BINARY_CASES if case.extreme]
    assert max(case.args[0].abs().max().item() for case in extreme) == 1e4
    probabilities = [case.args[0] for case in G.PROBABILITY_CASES if case.extreme]
    assert any(((p == 0) | (p == 1)).any() for p in probabilities)


def test_every_reference_and_its_mistakes_run_on_its_cases():
    """A variant either applies (gives a tensor) or says it does not (None); none crash."""
    for reference in REFERENCES.values():
        for case in reference.cases:
            reference.fn(*case.args)
            for key in reference.mistakes:
                mistake = MISTAKES[key]
                result = mistake.variant(reference.fn, case.args, {})
                assert result is None or isinstance(result, torch.Tensor), (reference.name, key)


def test_overflowing_softplus_bce_is_named_for_what_it_computes():
    def bce(logits, target):
        return ((1 - target) * logits + torch.log(1 + torch.exp(-logits))).mean()

    with pytest.raises(AssertionError, match="exp overflows"):
        G.check_finite(bce, reference="binary_cross_entropy_with_logits")


def test_branching_on_the_label_is_named_soft_targets_as_hard():
    def bce(logits, target):
        positive = torch.nn.functional.logsigmoid(logits)
        negative = torch.nn.functional.logsigmoid(-logits)
        return -torch.where(target == 1, positive, negative).mean()

    soft = [(torch.tensor([0.3, -1.2, 2.0]), torch.tensor([0.7, 0.2, 1.0]))]
    with pytest.raises(AssertionError, match="soft targets treated as 0"):
        G.check_close(bce, "binary_cross_entropy_with_logits", soft)
