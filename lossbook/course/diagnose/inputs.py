"""Rules that look at the call itself: tensors, loss object, devices, dtypes, NaN in the inputs."""

from __future__ import annotations

import math

import torch

from lossbook.course.diagnose.rules import (
    CLASS_LOSSES,
    Issue,
    LossCall,
    rule,
)


# ---------------------------------------------------------------------------
# Rules that look at the call itself


@rule("not-a-tensor", "Output or target is not a tensor", "error")
def _not_a_tensor(call: LossCall) -> Issue | None:
    for role in ("output", "target"):
        value = getattr(call, role)
        if isinstance(value, torch.Tensor):
            continue
        kind = type(value).__name__
        if type(value).__module__.startswith("numpy"):
            fix = (
                f"convert it with torch.from_numpy({role}) (and .float() or .long() as the "
                f"loss needs)."
            )
        else:
            fix = f"convert it with torch.tensor({role}) or torch.as_tensor({role})."
        return Issue(f"{role} is a {kind}, not a torch.Tensor; losses only take tensors.", fix)
    return None


@rule("criterion-not-instantiated", "Loss class passed instead of a loss object", "error")
def _criterion_not_instantiated(call: LossCall) -> Issue | None:
    if not call.criterion_was_class:
        return None
    return Issue(
        f"{call.label} is a class, not a loss: `loss_fn = {call.label}` without parentheses makes "
        f"`loss_fn(output, target)` build a new loss object (with output and target taken as its "
        f"options) instead of computing a loss. diagnose() created one with default options to "
        f"check the rest.",
        f"instantiate it first: loss_fn = {call.label}() (options go in the parentheses), then "
        f"loss = loss_fn(output, target).",
    )


@rule("device-mismatch", "Tensors on different devices", "error")
def _device_mismatch(call: LossCall) -> Issue | None:
    placed = {"output": call.output.device, "target": call.target.device}
    for option in ("weight", "pos_weight"):
        value = call.options.get(option)
        if isinstance(value, torch.Tensor):
            placed[option] = value.device
    if len(set(placed.values())) <= 1:
        return None
    where = ", ".join(f"{role} on {device}" for role, device in placed.items())
    return Issue(
        f"The loss gets {where}. torch computes on one device at a time and raises 'Expected all "
        f"tensors to be on the same device'.",
        f"move everything to the output's device: target = target.to(output.device); for a loss "
        f"object with weights, loss_fn.to(output.device) (or create the weight tensor with "
        f"device={str(call.output.device)!r}).",
    )


@rule("output-not-float", "Output has an integer dtype", "error")
def _output_not_float(call: LossCall) -> Issue | None:
    if call.output.is_floating_point() or call.output.is_complex():
        return None
    if call.name in CLASS_LOSSES:
        cause = "class predictions such as logits.argmax(dim=1)"
        fix = "pass the raw logits (the model's float output, before argmax) to the loss."
    else:
        cause = "predictions that were rounded, thresholded or cast with .long()"
        fix = "pass the model's float output itself; round only when you report a metric."
    return Issue(
        f"output has dtype {call.output.dtype}. Losses compute in floating point and need the "
        f"model's raw float output; an integer tensor ({cause}) has no gradient, so nothing could "
        f"learn from it even where torch accepts it.",
        fix,
    )


@rule("output-detached", "Output is cut off from the model's graph", "error")
def _output_detached(call: LossCall) -> Issue | None:
    if call.model is None or call.output.requires_grad:
        return None
    if not any(p.requires_grad for p in call.model.parameters()):
        return None
    return Issue(
        "output does not require grad although the model has trainable parameters, so the loss "
        "does not depend on them: loss.backward() raises 'element 0 of tensors does not require "
        "grad and does not have a grad_fn' and the model never changes.",
        "compute output = model(x) outside torch.no_grad() / torch.inference_mode(), and do not "
        "call .detach(), .item(), .numpy() or torch.tensor(...) on it before the loss.",
    )


@rule("non-finite-input", "NaN or infinity in the output or target", "error")
def _non_finite_input(call: LossCall) -> Issue | None:
    # -inf is a legitimate log-probability (a masked class), so log-prob inputs may hold it.
    allows_minus_inf = call.name in CLASS_LOSSES or call.name == "kl_div"
    problems = []
    tensors = [("output", call.out), ("target", call.tgt)]
    tensors += [
        (o, call.options[o])
        for o in ("weight", "pos_weight")
        if isinstance(call.options.get(o), torch.Tensor)
    ]
    for role, tensor in tensors:
        if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.device.type == "meta":
            continue  # a meta tensor has a shape but no values
        nans = int(tensor.isnan().sum())
        plus_inf = int((tensor == math.inf).sum())
        minus_inf = int((tensor == -math.inf).sum())
        if role == "output" and allows_minus_inf:
            minus_inf = 0
        if nans + plus_inf + minus_inf:
            parts = [
                f"{count} {what}"
                for count, what in ((nans, "NaN"), (plus_inf, "+inf"), (minus_inf, "-inf"))
                if count
            ]
            problems.append(f"{role} holds {' and '.join(parts)} (of {tensor.numel()} values)")
    if not problems:
        return None
    fixes = []
    if any(p.startswith("target") for p in problems):
        fixes.append(
            "If NaN marks a missing label, leave those elements out: mask = "
            "~target.isnan(); loss_fn(output[mask], target[mask]); otherwise fix the "
            "data loading."
        )
    if any(not p.startswith("target") for p in problems):
        fixes.append(
            "Find where the first NaN appears: run the forward pass under "
            "torch.autograd.set_detect_anomaly(True), lower the learning rate, and "
            "replace hand-written log(probs) or x / y with their stable forms "
            "(logits-based losses, log_softmax, a clamp on the denominator)."
        )
    fix = " ".join(fixes)
    return Issue(
        "; ".join(problems) + ". A single NaN makes the loss and every gradient NaN, and the "
        "optimizer then writes NaN into the weights.",
        fix,
    )
