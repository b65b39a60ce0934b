"""Rules on how the loss weighs the batch: reductions and class balance."""

from __future__ import annotations


import torch

from lossbook.losses._validation import shape_of
from lossbook.course.diagnose.rules import (
    BINARY_LOSSES,
    CLASS_LOSSES,
    IMBALANCE_MIN_LABELS,
    IMBALANCE_SHARE,
    Issue,
    LossCall,
    _is_binary,
    rule,
)


# ---------------------------------------------------------------------------
# Reductions and class balance


@rule("kl-batchmean", "KLDivLoss with reduction='mean'", "warning", losses=frozenset({"kl_div"}))
def _kl_batchmean(call: LossCall) -> Issue | None:
    out = call.out
    if call.reduction != "mean" or out.dim() == 0:
        return None
    batch = out.shape[0]
    factor = out.numel() / batch if batch else 1.0
    return Issue(
        f"reduction='mean' averages over all {out.numel()} elements, not over the {batch} "
        f"samples, so the value is the KL divergence divided by a further {factor:g} (the size "
        f"of each distribution). It is not the KL divergence, and its scale changes with C.",
        "use reduction='batchmean' (nn.KLDivLoss(reduction='batchmean')), which matches the math.",
    )


@rule("reduction-sum", "reduction='sum' makes the loss grow with the batch", "note")
def _reduction_sum(call: LossCall) -> Issue | None:
    if call.reduction != "sum":
        return None
    count = call.out.shape[0] if call.out.dim() else 1
    return Issue(
        f"reduction='sum' adds the {count} per-sample losses instead of averaging them, so the "
        f"loss and its gradients scale with the batch size: doubling the batch doubles the step, "
        f"and a learning rate tuned for 'mean' is {count} times too large.",
        "use the default reduction='mean' unless you divide by the batch size yourself (or tune "
        "the learning rate for the sum).",
    )


@rule("reduction-none", "reduction='none' returns one loss per element", "note", after_call=True)
def _reduction_none(call: LossCall) -> Issue | None:
    if call.reduction != "none":
        return None
    shape = shape_of(call.result) if call.ran_cleanly() else "the per-element shape"
    weighted = ""
    fix = "reduce before backward: loss.mean() (or a masked or weighted average of your own)."
    if isinstance(call.options.get("weight"), torch.Tensor) and call.name in CLASS_LOSSES:
        weighted = (
            " With class weights, reduction='mean' divides by the sum of the weights "
            "of the targets, so loss.mean() gives a different value."
        )
        fix = (
            "reduce before backward: loss.sum() / weight[target].sum() matches "
            "reduction='mean'; loss.mean() does not."
        )
    return Issue(
        f"the loss is a tensor of shape {shape}, not a number. loss.backward() on it raises "
        f"'grad can be implicitly created only for scalar outputs'.{weighted}",
        fix,
    )


def _tensor_text(values: list[float]) -> str:
    return "torch.tensor([" + ", ".join(f"{v:.3g}" for v in values) + "])"


@rule(
    "class-imbalance",
    "Heavy class imbalance without weights",
    "warning",
    losses=CLASS_LOSSES | BINARY_LOSSES,
)
def _class_imbalance(call: LossCall) -> Issue | None:
    if call.name in CLASS_LOSSES:
        return _class_imbalance_indices(call)
    return _class_imbalance_binary(call)


def _class_imbalance_indices(call: LossCall) -> Issue | None:
    if call.options.get("weight") is not None or not call.index_target:
        return None
    tgt = call.tgt
    labels = tgt[tgt != call.options.get("ignore_index", -100)].long()
    num_classes = call.num_classes
    if labels.numel() < IMBALANCE_MIN_LABELS or num_classes < 2:
        return None
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        return None  # class-index-out-of-range explains these labels first
    counts = torch.bincount(labels.flatten().cpu(), minlength=num_classes)
    majority = int(counts.argmax())
    share = float(counts[majority]) / labels.numel()
    if share < IMBALANCE_SHARE:
        return None
    weights = (labels.numel() / (num_classes * counts.clamp(min=1).double())).tolist()
    absent = [c for c in range(num_classes) if counts[c] == 0]
    absent_text = (
        f" Classes {absent} do not occur in this batch, so their weight here is only a placeholder."
        if absent
        else ""
    )
    return Issue(
        f"class {majority} makes up {share:.0%} of the {labels.numel()} labels and no class "
        f"weights are set. A model that always predicts class {majority} already scores well on "
        f"this loss, so it may never learn the rare classes (balanced accuracy stays near "
        f"1/C = {1 / num_classes:.2g}).{absent_text}",
        f"weight the classes by inverse frequency, N / (C · count): here "
        f"weight={_tensor_text(weights)}; pass it as nn.CrossEntropyLoss(weight=weight). "
        f"Compute it from the whole training set's counts (torch.bincount(labels, minlength=C)), "
        f"not one batch; or resample with a WeightedRandomSampler.",
    )


def _class_imbalance_binary(call: LossCall) -> Issue | None:
    if call.options.get("pos_weight") is not None or call.options.get("weight") is not None:
        return None
    tgt = call.tgt
    if tgt.numel() < IMBALANCE_MIN_LABELS or not _is_binary(tgt):
        return None
    positives = tgt.double()
    share = float(positives.mean())
    if max(share, 1 - share) < IMBALANCE_SHARE:
        return None
    columns = tgt.shape[-1] if tgt.dim() >= 2 else 1
    per_column = positives.reshape(-1, columns)
    n_pos = per_column.sum(dim=0)
    n_neg = per_column.shape[0] - n_pos
    pos_weight = (n_neg / n_pos.clamp(min=1)).tolist()
    pos_weight_text = _tensor_text(pos_weight)
    missing = (
        " (a column with no positives in this batch gets a placeholder)"
        if bool((n_pos == 0).any())
        else ""
    )
    where = (
        "nn.BCEWithLogitsLoss(pos_weight=pos_weight)"
        if call.name != "binary_cross_entropy"
        else "nn.BCEWithLogitsLoss(pos_weight=pos_weight) on the logits (BCELoss has no pos_weight)"
    )
    return Issue(
        f"only {share:.0%} of the {tgt.numel()} targets are positive (1) and no pos_weight is "
        f"set. Predicting 'always {int(share >= 0.5)}' already scores well, so the model may "
        f"never learn the rare {'positives' if share < 0.5 else 'negatives'}.",
        f"weight the positives by negatives / positives: here pos_weight={pos_weight_text}"
        f"{missing}; use {where}. Compute it from the whole training set, not one batch.",
    )
