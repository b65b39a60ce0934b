"""Rules on targets and shapes: (N, 1) against (N,), one-hot or float targets, class indices out of range."""

from __future__ import annotations


import torch

from lossbook.losses._validation import shape_of
from lossbook.course.diagnose.rules import (
    BINARY_LOSSES,
    CLASS_LOSSES,
    ELEMENTWISE_LOSSES,
    REGRESSION_LOSSES,
    STRICT_SHAPE_LOSSES,
    Issue,
    LossCall,
    _all_finite,
    _as_float,
    _dims,
    _is_binary,
    _is_distribution,
    _is_integer_valued,
    _quiet_loss,
    _scalar_text,
    rule,
)


# ---------------------------------------------------------------------------
# Shapes and dtypes


@rule(
    "input-shape", "Output does not have the layout the loss expects", "error", losses=CLASS_LOSSES
)
def _input_shape(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    loss = call.label
    if out.dim() == 0:
        return Issue(
            f"{loss} got a single number as output. It needs one score per class: shape (C,) "
            f"for one sample, (N, C) for a batch.",
            "pass the model's output before any .sum(), .mean() or indexing reduces it.",
        )
    if out.dim() == 1 and tgt.dim() >= 1 and tgt.shape != out.shape:
        return Issue(
            f"output has shape {shape_of(out)}, which {call.label} reads as ONE sample with "
            f"{out.shape[0]} classes, so the target must be one class index (shape ()) or "
            f"{out.shape[0]} class probabilities; target has shape {shape_of(tgt)}. torch raises "
            f"('For 1D input, 1D target must have size 1' or similar).",
            "for a batch, give the output shape (N, C) and the target shape (N,); for one "
            "sample, pass a 0-d target such as torch.tensor(2).",
        )
    if out.dim() == 1 and tgt.dim() == 1 and tgt.shape == out.shape and out.numel() > 1:
        if tgt.is_floating_point() and _is_distribution(tgt, 0):
            return None  # an unbatched (C,) input with class probabilities: legitimate
        count = out.shape[0]
        return Issue(
            f"output has shape {shape_of(out)}: one number per sample. {loss} reads a 1-D "
            f"output as ONE sample with {count} classes ('Expected 2D input' style errors), so "
            f"it either raises or, with a float target, silently computes a single loss for the "
            f"whole batch. It needs one score per class for each sample: shape ({count}, C).",
            "for two classes, either give the model 2 outputs (shape (N, 2)) and keep "
            f"{loss} with class indices, or keep 1 output and use nn.BCEWithLogitsLoss "
            "(F.binary_cross_entropy_with_logits) with float 0/1 targets of shape (N,).",
        )
    if out.dim() >= 3:
        classes_last = out.shape[:-1]
        index_like = not tgt.is_floating_point()
        if index_like and tgt.shape == classes_last and tgt.shape != call.index_shape:
            return _classes_last(call, "class-index target", f"target has shape {shape_of(tgt)}")
        if call.probability_target and not _is_distribution(tgt, 1) and _is_distribution(tgt, -1):
            return _classes_last(
                call, "class-probability target", "target sums to 1 along the last dim, not dim 1"
            )
    return None


def _classes_last(call: LossCall, form: str, evidence: str) -> Issue:
    out = call.out
    return Issue(
        f"output has shape {shape_of(out)} and {evidence}, so the classes are in the LAST "
        f"dimension ({out.shape[-1]} of them). {call.label} takes the class dimension at dim 1: "
        f"it reads this output as {out.shape[1]} classes over positions "
        f"{_dims(out.shape[2:])}, and raises or computes the wrong loss with a {form}.",
        "move the classes to dim 1 with output.movedim(-1, 1) (for (N, L, C): output.permute(0, "
        "2, 1)), or flatten both: loss_fn(output.reshape(-1, C), target.reshape(-1"
        + (", C)" if form == "class-probability target" else ")")
        + ").",
    )


@rule(
    "single-class-output",
    "Cross-entropy over a single class is always 0",
    "error",
    losses=frozenset({"cross_entropy"}),
)
def _single_class_output(call: LossCall) -> Issue | None:
    if call.output.dim() == 0 or call.num_classes != 1:
        return None
    return Issue(
        f"output has shape {shape_of(call.out)}: one class. Softmax over one class is always 1, "
        f"so the cross-entropy is exactly 0 for every input and its gradient is 0: the model "
        f"learns nothing.",
        "for a yes/no task keep the single output and use nn.BCEWithLogitsLoss "
        "(F.binary_cross_entropy_with_logits) with float 0/1 targets (output.squeeze(1)); or "
        "give the last layer 2 outputs and keep cross-entropy with class indices.",
    )


@rule("column-vs-vector", "Extra dimension of size 1, as in (N, 1) against (N,)", "error")
def _column_vs_vector(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if call.name in CLASS_LOSSES:
        return _class_target_column(call)
    if call.name not in ELEMENTWISE_LOSSES:
        return None
    extra = _extra_unit_dim(out, tgt)
    if extra == "output":
        fix = "drop the output's extra dimension: loss_fn(output.squeeze(-1), target)."
        fixed_output, fixed_target = out.squeeze(-1), tgt
    elif extra == "target":
        fix = "drop the target's extra dimension: loss_fn(output, target.squeeze(-1))."
        fixed_output, fixed_target = out, tgt.squeeze(-1)
    else:
        return None
    strict = call.name in STRICT_SHAPE_LOSSES
    if not strict and fixed_target.numel() <= 1:
        return None  # (1, 1) against (1,) broadcasts to the same single comparison
    head = (
        f"output has shape {shape_of(out)} and target {shape_of(tgt)}: the {extra} has an "
        f"extra dimension of size 1"
    )
    if strict:
        return Issue(
            f"{head}. {call.label} needs identical shapes and raises 'Target size ... must be the "
            f"same as input size'.",
            fix,
        )
    try:
        broadcast = _dims(torch.broadcast_shapes(out.shape, tgt.shape))
    except RuntimeError:
        return Issue(f"{head}. The two shapes cannot broadcast, so {call.label} raises.", fix)
    wrong = _scalar_text(_quiet_loss(call, out, tgt))
    right = _scalar_text(_quiet_loss(call, fixed_output, fixed_target))
    values = ""
    if wrong and right and wrong != right:
        values = f" Here that gives {wrong} instead of {right}."
    return Issue(
        f"{head}. They broadcast to {broadcast}, so every prediction is compared with every "
        f"target, not output[i] with target[i]; torch only warns.{values}",
        fix,
    )


def _extra_unit_dim(out: torch.Tensor, tgt: torch.Tensor) -> str | None:
    """Which of the two, if any, is the other with a trailing dimension of size 1 added."""
    if tgt.dim() >= 1 and out.dim() == tgt.dim() + 1 and out.shape == (*tgt.shape, 1):
        return "output"
    if out.dim() >= 1 and tgt.dim() == out.dim() + 1 and tgt.shape == (*out.shape, 1):
        return "target"
    return None


def _class_target_column(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if call.output.dim() < 2 or tgt.is_floating_point() or tgt.dim() != call.output.dim():
        return None
    if tgt.shape[1] != 1 or call.num_classes == 1:
        return None
    if tgt.shape[:1] + tgt.shape[2:] != call.index_shape:
        return None
    return Issue(
        f"target has shape {shape_of(tgt)}: class indices with an extra dimension of size 1 "
        f"(common when labels or masks are loaded as a column or a channel). {call.label} "
        f"needs class indices of shape {_dims(call.index_shape)} and raises '0D or 1D target "
        f"tensor expected, multi-target not supported' (or 'only batches of spatial targets "
        f"supported').",
        "drop the extra dimension: target.squeeze(1) (or target.view(-1) for a column of labels).",
    )


@rule("shape-mismatch", "Output and target shapes do not line up", "error")
def _shape_mismatch(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if call.name in CLASS_LOSSES:
        return _class_batch_mismatch(call)
    if call.name not in ELEMENTWISE_LOSSES or out.shape == tgt.shape:
        return None
    if _extra_unit_dim(out, tgt) is not None:
        return None  # column-vs-vector's case (harmless for a single sample)
    head = f"output has shape {shape_of(out)} but target has shape {shape_of(tgt)}"
    fix = "reshape one of them so that output[i] lines up with target[i] (same shape)."
    try:
        broadcast = torch.broadcast_shapes(out.shape, tgt.shape)
    except RuntimeError:
        return Issue(f"{head}; they cannot even broadcast, so {call.label} raises.", fix)
    if call.name in STRICT_SHAPE_LOSSES:
        return Issue(f"{head}; {call.label} needs identical shapes and raises.", fix)
    return Issue(
        f"{head}; they broadcast to {_dims(broadcast)}, so values are compared with the wrong "
        f"partners and the loss is not what you meant (torch only warns).",
        fix,
    )


def _class_batch_mismatch(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or tgt.is_floating_point() or tgt.dim() != out.dim() - 1:
        return None
    if tgt.shape == call.index_shape or tgt.shape == out.shape[:-1]:
        return None  # correct, or the classes-last layout that input-shape explains
    if tgt.shape[0] != out.shape[0]:
        return Issue(
            f"output has {out.shape[0]} samples (shape {shape_of(out)}) but target has "
            f"{tgt.shape[0]} labels (shape {shape_of(tgt)}). torch raises 'Expected input "
            f"batch_size ({out.shape[0]}) to match target batch_size ({tgt.shape[0]})'.",
            "make sure output and target come from the same batch: slice both or neither, and "
            "check the last, shorter batch of the DataLoader.",
        )
    return Issue(
        f"output has shape {shape_of(out)} ({call.num_classes} classes along dim 1), so class "
        f"indices must have shape {_dims(call.index_shape)}, but target has shape "
        f"{shape_of(tgt)}.",
        "resize the target (or the output) so that each position has one class index; for "
        "segmentation, make the output's spatial size match the mask's.",
    )


@rule(
    "target-dtype",
    "Target has the wrong dtype",
    "error",
    losses=CLASS_LOSSES | BINARY_LOSSES | REGRESSION_LOSSES | frozenset({"kl_div"}),
)
def _target_dtype(call: LossCall) -> Issue | None:
    tgt = call.tgt
    if call.name in CLASS_LOSSES:
        if call.output.dim() == 0 or tgt.shape != call.index_shape:
            return None
        if tgt.dtype in (torch.long, torch.uint8):
            return None
        said = (
            "torch raises 'expected target dtype to be Long or Byte' (older versions: "
            "'expected scalar type Long')"
        )
        if tgt.is_floating_point() and not _is_integer_valued(tgt):
            return Issue(
                f"target has dtype {tgt.dtype} and shape {shape_of(tgt)}, the shape of class "
                f"indices, but its values are not whole numbers. {call.label} takes either class "
                f"indices (integers, shape {_dims(call.index_shape)}) or class probabilities "
                f"(floats, shape {shape_of(call.out)}); {said}.",
                "for class labels use target.long(); for soft labels, give one probability per "
                "class: a float target with the output's shape.",
            )
        return Issue(
            f"target holds class indices with dtype {tgt.dtype}, but {call.label} needs them as "
            f"torch.long (int64); {said}.",
            "convert the labels with target.long() (best where the dataset builds them: "
            "torch.tensor(labels, dtype=torch.long)).",
        )
    if tgt.is_floating_point():
        return None
    if call.name in REGRESSION_LOSSES:
        if tgt.dtype != torch.bool:
            return None  # integer targets are promoted; regression-on-class-indices looks at them
        return Issue(
            f"target is a bool tensor (a mask?). {call.label} subtracts the target from the "
            f"output; torch rejects '-' on bool tensors for some losses and silently casts for "
            f"others.",
            "convert it with target.float(); if the bools are binary labels, use "
            "nn.BCEWithLogitsLoss on the logits instead.",
        )
    if call.name == "kl_div":
        return Issue(
            f"target has dtype {tgt.dtype}, but {call.label} compares two distributions: the "
            f"target must be float probabilities (or log-probabilities with log_target=True); "
            f"torch raises 'Integral inputs not supported'.",
            "for class labels, build the target distribution first (e.g. "
            "F.one_hot(labels, C).float()), or use nn.CrossEntropyLoss with the labels.",
        )
    return Issue(
        f"target has dtype {tgt.dtype}, but {call.label} takes float targets (0.0 / 1.0, or soft "
        f"labels in [0, 1]) and raises 'Found dtype Long but expected Float' (or 'result type "
        f"Float can't be cast to the desired output type Long').",
        "convert the labels with target.float() (target.to(output.dtype) for other precisions).",
    )


@rule(
    "one-hot-target", "One-hot target where class indices are expected", "note", losses=CLASS_LOSSES
)
def _one_hot_target(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or tgt.shape != out.shape or tgt.dtype == torch.bool:
        return None
    if not _is_binary(tgt) or not bool((tgt.sum(dim=1) == 1).all()):
        return None
    fix = f"convert to class indices with target.argmax(dim=1) (shape {_dims(call.index_shape)})."
    if not tgt.is_floating_point():
        return Issue(
            f"target is one-hot labels (shape {shape_of(tgt)}) with integer dtype {tgt.dtype}. "
            f"{call.label} takes class indices (one integer per sample), and raises on an "
            f"integer tensor of the output's shape.",
            fix,
            "error",
        )
    if call.name == "nll_loss":
        return Issue(
            f"target is one-hot labels (float, shape {shape_of(tgt)}). NLLLoss takes only class "
            f"indices and raises '0D or 1D target tensor expected, multi-target not supported' "
            f"(CrossEntropyLoss accepts class probabilities, NLLLoss does not).",
            fix,
            "error",
        )
    weight = call.options.get("weight")
    if isinstance(weight, torch.Tensor):
        with_indices = _scalar_text(_quiet_loss(call, out, tgt.argmax(dim=1)))
        as_probs = _scalar_text(_quiet_loss(call, out, tgt))
        differs = (
            f" Here: {as_probs} with one-hot, {with_indices} with indices."
            if with_indices and as_probs and call.reduction == "mean"
            else ""
        )
        return Issue(
            f"target is one-hot labels (float, shape {shape_of(tgt)}), which {call.label} reads "
            f"as class probabilities. With class weights the two forms give different means: "
            f"class indices divide by the sum of the weights of the targets, class probabilities "
            f"by N.{differs}",
            fix,
            "warning",
        )
    return Issue(
        f"target is one-hot labels (float, shape {shape_of(tgt)}). {call.label} accepts them as "
        f"class probabilities and computes the same loss, but class indices are the idiomatic "
        f"form: C times less memory, and they work with ignore_index, NLLLoss and accuracy code.",
        fix,
    )


@rule(
    "target-not-distribution",
    "Class-probability target rows do not sum to 1",
    "error",
    losses=frozenset({"cross_entropy"}),
)
def _target_not_distribution(call: LossCall) -> Issue | None:
    out, tgt = call.out, call.tgt
    if out.dim() < 2 or not call.probability_target or not _all_finite(tgt):
        return None
    if _is_distribution(tgt, 1) or _is_distribution(tgt, -1):
        return None  # correct, or the classes-last layout that input-shape explains
    sums = _as_float(tgt).sum(dim=1)
    if _is_binary(tgt) and float(sums.max()) >= 2:
        return Issue(
            f"target is multi-hot: some samples have {int(sums.max())} classes set to 1. "
            f"Cross-entropy's class probabilities must sum to 1 per sample (one class, or a soft "
            f"mix); several true labels per sample is a multi-label task.",
            "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits with "
            "this float target: one independent yes/no per class.",
        )
    low, high = float(tgt.min()), float(tgt.max())
    return Issue(
        f"target (shape {shape_of(tgt)}) is used as class probabilities, but its values lie in "
        f"[{low:.3g}, {high:.3g}] and its rows sum to between {float(sums.min()):.3g} and "
        f"{float(sums.max()):.3g}, not 1. The loss is then not a cross-entropy and can go below 0 "
        f"or reward the wrong class.",
        "normalise each row to a probability distribution (e.g. target / target.sum(dim=1, "
        "keepdim=True) for non-negative scores, or target.softmax(dim=1) for scores), or pass "
        "class indices.",
    )


@rule("class-index-out-of-range", "Class index out of range", "error", losses=CLASS_LOSSES)
def _class_index_out_of_range(call: LossCall) -> Issue | None:
    if not call.index_target:
        return None
    tgt = call.tgt
    ignore_index = call.options.get("ignore_index", -100)
    used = tgt[tgt != ignore_index]
    if used.numel() == 0:
        return None
    num_classes = call.num_classes
    bad = used[(used < 0) | (used >= num_classes)]
    if bad.numel() == 0:
        return None
    bad_values = sorted(int(v) for v in bad.unique()[:5])
    low, high = int(used.min()), int(used.max())
    if low >= 1 and high == num_classes:
        hint = " The labels run from 1 to C: they start at 1, torch counts from 0."
        fix = "subtract 1 from the labels: target - 1 (better: fix the dataset's label mapping)."
    elif -1 in bad_values and ignore_index != -1:
        hint = " -1 usually marks padding or unlabelled samples."
        fix = (
            "tell the loss to skip them: ignore_index=-1 "
            "(nn.CrossEntropyLoss(ignore_index=-1)), "
            "or drop those samples."
        )
    elif high >= num_classes:
        hint = (
            f" The labels go up to {high}, so the data has at least {high + 1} classes but the "
            f"model outputs {num_classes} scores."
        )
        fix = (
            f"give the model's last layer one output per class (out_features={high + 1}), or "
            f"remap the labels to 0 … {num_classes - 1}."
        )
    else:
        hint = " Negative labels are not classes."
        fix = "remap the labels to 0 … C-1, or set ignore_index to the value that marks 'no label'."
    shown = ", ".join(str(v) for v in bad_values)
    return Issue(
        f"target contains class index {shown}, but output has C={num_classes} classes, so indices "
        f"must lie in [0, {num_classes - 1}] (or equal ignore_index={ignore_index}).{hint} On the "
        f"CPU torch raises 'IndexError: Target {bad_values[-1]} is out of bounds'; on a GPU it "
        f"fails with 'device-side assert triggered' and the GPU stays unusable until you restart "
        f"the process.",
        fix,
    )
