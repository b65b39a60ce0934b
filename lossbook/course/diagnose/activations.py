"""Rules on logits, probabilities and log-probabilities: double softmax, logits into BCELoss, NLLLoss on logits."""

from __future__ import annotations

import math

import torch

from lossbook.losses._validation import shape_of
from lossbook.course.diagnose.rules import (
    BINARY_LOSSES,
    REGRESSION_LOSSES,
    SQUASHED_LOGITS_MIN_COUNT,
    Issue,
    LossCall,
    _all_finite,
    _as_float,
    _in_unit_interval,
    _is_binary,
    _is_distribution,
    _is_integer_valued,
    _made_by,
    _tolerance,
    rule,
)


# ---------------------------------------------------------------------------
# Logits, probabilities, log-probabilities


def _floor_text(num_classes: int) -> str:
    floor = math.log(math.e + num_classes - 1) - 1
    return (
        f"even a perfect prediction (probability 1 on the right class) scores "
        f"log(e + C - 1) - 1 = {floor:.4f} with C={num_classes}, never 0"
    )


@rule(
    "double-softmax",
    "Softmax (or sigmoid) applied before cross-entropy",
    "warning",
    losses=frozenset({"cross_entropy"}),
)
def _double_softmax(call: LossCall) -> Issue | None:
    out = call.out
    if out.dim() == 0 or not out.is_floating_point() or call.num_classes < 2:
        return None
    if not (call.index_target or call.probability_target):
        return None
    fix = (
        "pass the raw logits (remove the softmax / nn.Softmax at the end of the model); "
        "cross_entropy applies log_softmax itself. Use softmax only to report probabilities."
    )
    if _made_by(call.output, "Sigmoid"):
        return Issue(
            f"output comes straight from a sigmoid, so it holds probabilities in (0, 1), not "
            f"logits. {call.label} applies log_softmax to it anyway: the scores are squashed "
            f"into a narrow range, so {_floor_text(call.num_classes)}, and the gradients shrink.",
            fix.replace("softmax / nn.Softmax", "sigmoid / nn.Sigmoid"),
        )
    over_class_dim = _is_distribution(out, call.class_dim)
    other_dims = [d for d in range(out.dim()) if d != call.class_dim and _is_distribution(out, d)]
    if not over_class_dim and not other_dims and not _made_by(call.output, "Softmax"):
        return None
    if over_class_dim:
        where = "sum to 1 along the class dimension"
    elif other_dims:
        where = (
            f"sum to 1 along dim {other_dims[0]}, which is not the class dim "
            f"({call.class_dim}): a softmax over the wrong dimension"
        )
    else:
        where = "come straight from a softmax"
    return Issue(
        f"output values are non-negative and {where}: softmax has already been applied. "
        f"{call.label} expects logits and applies log_softmax itself, so this computes "
        f"cross-entropy of softmax(softmax(logits)): {_floor_text(call.num_classes)}, and the "
        f"gradients shrink, so training stalls.",
        fix,
    )


@rule(
    "sigmoid-before-with-logits",
    "Sigmoid applied before a with-logits loss",
    "warning",
    losses=frozenset({"binary_cross_entropy_with_logits"}),
)
def _sigmoid_before_with_logits(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0 or not _all_finite(out):
        return None
    squashed = _made_by(call.output, "Sigmoid") or _made_by(call.output, "Softmax")
    if not squashed:
        inside = bool(((out > 0) & (out < 1)).any())
        if out.numel() < SQUASHED_LOGITS_MIN_COUNT or not inside or not _in_unit_interval(out):
            return None
    low, high = math.log1p(math.exp(-1)), math.log1p(math.e)
    return Issue(
        f"every output value lies in [0, 1] ({float(out.min()):.3g} to {float(out.max()):.3g}): "
        f"these are probabilities, not logits. {call.label} applies the sigmoid itself, so each "
        f"sample's loss is confined to [log(1 + e^-1), log(1 + e)] = [{low:.4f}, {high:.4f}]: it "
        f"can never reach 0, and the gradients shrink.",
        "remove the sigmoid (nn.Sigmoid) before the loss and pass the raw logits; apply "
        "torch.sigmoid only to report probabilities. (To keep the sigmoid, use nn.BCELoss, which "
        "is less stable.)",
    )


def _log_normaliser(call: LossCall, dim: int) -> torch.Tensor:
    return torch.logsumexp(_as_float(call.out), dim=dim)


def _is_log_distribution(call: LossCall, dim: int) -> bool:
    log_sum = _log_normaliser(call, dim)
    finite = log_sum[torch.isfinite(log_sum)]
    return finite.numel() == log_sum.numel() and float(finite.abs().max()) <= _tolerance(call.out)


def _nll_input_checkable(call: LossCall) -> bool:
    out = call.out
    return (
        out.dim() >= 1
        and out.is_floating_point()
        and out.numel() > 0
        and not bool(out.isnan().any())
        and not bool((out == math.inf).any())
        and (call.index_target or call.probability_target)
    )


@rule(
    "nll-given-probabilities",
    "NLLLoss given probabilities",
    "error",
    losses=frozenset({"nll_loss"}),
)
def _nll_given_probabilities(call: LossCall) -> Issue | None:
    if not _nll_input_checkable(call) or _is_log_distribution(call, call.class_dim):
        return None
    if not _is_distribution(call.out, call.class_dim):
        return None
    return Issue(
        "output values are in [0, 1] and sum to 1 along the class dimension: probabilities. "
        "NLLLoss does not take a log; it returns -output[i, target[i]], here -p, which lies in "
        "[-1, 0]: the loss is negative and its gradient does not grow when the model is "
        "confidently wrong.",
        "feed log-probabilities: model ends in nn.LogSoftmax(dim=1) instead of nn.Softmax, or "
        "drop the softmax and use nn.CrossEntropyLoss on the logits (= log_softmax + NLLLoss). "
        "torch.log(probs) works but underflows to -inf for tiny probabilities.",
    )


@rule("nll-given-logits", "NLLLoss given raw logits", "error", losses=frozenset({"nll_loss"}))
def _nll_given_logits(call: LossCall) -> Issue | None:
    if not _nll_input_checkable(call) or _is_log_distribution(call, call.class_dim):
        return None
    if _is_distribution(call.out, call.class_dim):
        return None  # probabilities: nll-given-probabilities explains them
    out = call.out
    other_dims = [
        d for d in range(out.dim()) if d != call.class_dim and _is_log_distribution(call, d)
    ]
    if other_dims:
        return Issue(
            f"output is log-probabilities over dim {other_dims[0]}, but the classes are dim "
            f"{call.class_dim}: log_softmax was applied along the wrong dimension.",
            f"use log_softmax(dim={call.class_dim}) (nn.LogSoftmax(dim={call.class_dim})).",
        )
    largest = float(out.max())
    evidence = (
        f"it has positive values (up to {largest:.3g}), and log-probabilities are never above 0"
        if largest > _tolerance(out)
        else "exp(output) does not sum to 1 along the class dimension"
    )
    return Issue(
        f"output is not log-probabilities: {evidence}. NLLLoss only picks -output[i, target[i]]; "
        f"on raw logits that is -logit, unbounded below, so the loss goes negative and training "
        f"just inflates the target logit without ever comparing it to the other classes.",
        "apply log_softmax first (nn.LogSoftmax(dim=1) as the model's last layer), or pass the "
        "logits to nn.CrossEntropyLoss, which is log_softmax followed by NLLLoss.",
    )


@rule(
    "bce-given-logits", "BCELoss given logits", "error", losses=frozenset({"binary_cross_entropy"})
)
def _bce_given_logits(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0:
        return None
    finite = out[torch.isfinite(out)]
    if finite.numel() == 0 or _in_unit_interval(finite):
        return None
    return Issue(
        f"output values range over [{float(finite.min()):.4g}, {float(finite.max()):.4g}], but "
        f"{call.label} takes probabilities in [0, 1]: these look like logits (raw scores). torch "
        f"raises 'all elements of input should be between 0 and 1'.",
        "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits: it applies "
        "the sigmoid itself and is numerically stable. Adding torch.sigmoid before BCELoss also "
        "works but is less stable.",
    )


@rule("binary-target-range", "Binary target outside [0, 1]", "error", losses=BINARY_LOSSES)
def _binary_target_range(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if not tgt.is_floating_point() or tgt.numel() == 0 or not _all_finite(tgt):
        return None
    if _in_unit_interval(tgt):
        return None
    values = tgt.unique()
    low, high = float(tgt.min()), float(tgt.max())
    if values.numel() == 2 and low == -1 and high == 1:
        fix = "map -1/+1 labels to 0/1: target = (target + 1) / 2."
    elif high == 255 and _is_integer_valued(tgt):
        fix = "the mask is stored as 0 … 255: use target / 255 (or target > 127 as float)."
    else:
        fix = "targets must be 0/1 labels or probabilities in [0, 1]: fix the labels' encoding."
    return Issue(
        f"target values range over [{low:.4g}, {high:.4g}], but binary cross-entropy takes 0/1 "
        f"labels (or probabilities) in [0, 1]. torch does not check: the loss silently becomes "
        f"meaningless and can go below 0.",
        fix,
    )


@rule(
    "regression-on-class-indices",
    "Regression loss on class labels",
    "warning",
    losses=REGRESSION_LOSSES,
)
def _regression_on_class_indices(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if not out.is_floating_point() or not _is_integer_valued(tgt) or tgt.numel() == 0:
        return None
    if (
        out.dim() == tgt.dim() + 1
        and out.dim() >= 2
        and out.shape[1] > 1
        and (out.shape[:1] + out.shape[2:] == tgt.shape)
    ):
        return Issue(
            f"output has {out.shape[1]} columns per sample (shape {shape_of(out)}) and target "
            f"holds one integer per sample (shape {shape_of(tgt)}): class scores and class "
            f"labels. {call.label} is a regression loss: it treats the labels as numbers on a "
            f"line (class 2 'between' 1 and 3) and compares them with every column.",
            "this is classification: use nn.CrossEntropyLoss on the logits with target.long().",
        )
    if out.shape != tgt.shape:
        return None
    levels = tgt.unique()
    if not 2 <= levels.numel() <= 10 or float(levels.min()) < 0:
        return None
    if tgt.numel() < SQUASHED_LOGITS_MIN_COUNT or tgt.numel() < 2 * levels.numel():
        return None
    severity = "note" if tgt.is_floating_point() else "warning"
    shown = ", ".join(f"{v:g}" for v in levels.tolist())
    if levels.numel() == 2 and _is_binary(tgt):
        return Issue(
            f"target holds only the labels 0 and 1: a binary classification. {call.label} on 0/1 "
            f"labels gives weak gradients when the model is confidently wrong.",
            "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits with "
            "float 0/1 targets.",
            severity,
        )
    return Issue(
        f"target holds {levels.numel()} distinct whole numbers ({shown}). If they are categories, "
        f"{call.label} wrongly treats them as ordered, equally spaced numbers. If they are real "
        f"quantities (ratings, counts), regression is right: ignore this.",
        "for categories, use nn.CrossEntropyLoss with C outputs and target.long(); for "
        "quantities, make it explicit with target.float().",
        severity,
    )


@rule(
    "kl-input-not-log-probs",
    "KLDivLoss input is not log-probabilities",
    "error",
    losses=frozenset({"kl_div"}),
)
def _kl_input_not_log_probs(call: LossCall) -> Issue | None:
    out = call.out
    if not out.is_floating_point() or out.numel() == 0:
        return None
    finite = out[torch.isfinite(out)]
    if finite.numel() == 0 or float(finite.max()) <= _tolerance(out):
        return None
    looks_like = (
        "probabilities (non-negative, summing to 1)"
        if out.dim() >= 1 and _is_distribution(out, -1)
        else "raw scores"
    )
    return Issue(
        f"input has positive values (up to {float(finite.max()):.3g}): these are {looks_like}, "
        f"not log-probabilities. {call.label} expects its input (the model's distribution) as "
        f"log-probabilities, which are all <= 0; with probabilities the value is not the KL "
        f"divergence and can be negative.",
        "pass log_softmax(logits, dim=-1) as input (or probs.log(), less stable); the target "
        "stays probabilities unless log_target=True.",
    )


@rule(
    "kl-target-form",
    "KLDivLoss target does not match log_target",
    "error",
    losses=frozenset({"kl_div"}),
)
def _kl_target_form(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if not tgt.is_floating_point() or tgt.numel() == 0:
        return None
    finite = tgt[torch.isfinite(tgt)]
    if finite.numel() == 0:
        return None
    tol = _tolerance(tgt)
    if call.options.get("log_target", False):
        if float(finite.max()) <= tol:
            return None
        return Issue(
            f"log_target=True, but target has positive values (up to {float(finite.max()):.3g}); "
            f"log-probabilities are never above 0, so these look like probabilities.",
            "set log_target=False to pass probabilities, or pass target.log().",
        )
    if float(finite.min()) >= -tol:
        return None
    return Issue(
        f"target has negative values (down to {float(finite.min()):.3g}), but with "
        f"log_target=False (the default) the target must be probabilities; these look like "
        f"log-probabilities. The loss comes out NaN or wrong.",
        "pass log_target=True (nn.KLDivLoss(reduction='batchmean', log_target=True)), or "
        "target.exp().",
    )
