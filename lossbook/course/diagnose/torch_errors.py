"""What torch's loss errors mean in plain words, and the rule that explains an error the call raised."""

from __future__ import annotations

import re


from lossbook.losses._validation import LossInputError
from lossbook.course.diagnose.report import first_line
from lossbook.course.diagnose.rules import (
    Issue,
    LossCall,
    rule,
)


_TORCH_MESSAGES: tuple[tuple[str, str, str], ...] = (
    (
        r"expected scalar type Long|expected target dtype to be Long|target.*Long or Byte",
        "the loss needs class indices as torch.long integers, and the target has another dtype "
        "(usually float labels).",
        "convert the labels with target.long().",
    ),
    (
        r"Found dtype Long but expected Float|can't be cast to the desired output type Long"
        r"|Found dtype .* but expected",
        "the target's dtype does not match the output's: regression and binary losses need float "
        "targets of the output's dtype.",
        "convert with target.to(output.dtype) (target.float()).",
    ),
    (
        r"Expected floating point type for target with class probabilities",
        "torch took the target for class probabilities (its shape matches the output's) but it is "
        "an integer tensor. Usually the output has lost its class dimension, or the target is "
        "one-hot stored as integers.",
        "give the output shape (N, C) and the target shape (N,) of class indices, or convert "
        "one-hot labels with target.argmax(dim=1).",
    ),
    (
        r"out of bounds|device-side assert|t >= 0 && t < n_classes|n_classes|target out of range",
        "a class index in the target is negative or >= C, the number of classes the output has. On "
        "a GPU this shows up as 'device-side assert triggered', and the GPU stays unusable until "
        "you restart the process.",
        "check target.min() and target.max() against output.shape[1]: labels must run from 0 to "
        "C - 1 (subtract 1 if they start at 1, and set ignore_index for padding values).",
    ),
    (
        r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)",
        "the output and the target have a different number of samples.",
        "make sure both come from the same batch (slice both or neither).",
    ),
    (
        r"0D or 1D target tensor expected|multi-target not supported|only batches of spatial targets",
        "the target has one dimension too many for class indices: an (N, 1) column, a one-hot (N, "
        "C) matrix, or a mask with a channel dimension.",
        "use target.squeeze(1) for a column or channel, or target.argmax(dim=1) for one-hot labels.",
    ),
    (
        r"Expected 2D|Expected 1D or 2D|Expected 3D|Expected target size|For 1D input, 1D target"
        r"|Expected non-empty vector or matrix|tensor has no dimensions",
        "the output does not have the layout the loss expects: (N, C) for a batch, with classes in "
        "dim 1 ((N, C, d1, ...) for sequences and images).",
        "reshape the output to (N, C), or move the classes to dim 1 with output.movedim(-1, 1).",
    ),
    (
        r"all elements of input should be between 0 and 1",
        "BCELoss takes probabilities, and the output holds values outside [0, 1]: logits.",
        "use nn.BCEWithLogitsLoss on the logits.",
    ),
    (
        r"must match the size of tensor|must be the same as input size|Using a target size"
        r"|target size .* different",
        "the output and target shapes do not match, and cannot be lined up element by element.",
        "reshape so that output.shape == target.shape (often output.squeeze(-1)).",
    ),
    (
        r"same device|is not on the expected device",
        "the tensors of the call are on different devices (CPU and GPU).",
        "move them together: target.to(output.device), loss_fn.to(output.device).",
    ),
    (
        r"does not require grad",
        "the loss does not depend on anything that requires grad: the output was detached or "
        "computed under torch.no_grad().",
        "compute the output outside torch.no_grad() and do not detach it.",
    ),
    (
        r"only for scalar outputs",
        "backward() was called on a tensor of losses (reduction='none').",
        "reduce first: loss.mean().backward().",
    ),
    (
        r"with a bool tensor is not supported",
        "the loss does arithmetic on a bool tensor (a mask used as a target or output).",
        "convert it with .float().",
    ),
    (
        r"doesn't match the broadcast shape",
        "a tensor option of the loss (weight or pos_weight) has more elements than the output, so "
        "the result cannot keep the output's shape.",
        "give weight the output's shape (or one that broadcasts to it) and pos_weight one entry "
        "per class, i.e. per column of the output.",
    ),
    (
        r"not implemented for '(Half|BFloat16)'",
        "this loss has no half-precision kernel on this device.",
        "compute the loss in float32: loss_fn(output.float(), target) (autocast does this for you).",
    ),
    (
        r"Integral inputs not supported",
        "the loss computes with floats, and one of the inputs is an integer tensor.",
        "convert it with .float().",
    ),
    (
        r"not implemented for '(Long|Int|Bool|Byte)'",
        "the output has an integer dtype (argmax or rounded predictions); losses need floats.",
        "pass the raw float output (logits) of the model.",
    ),
    (
        r"weight tensor should be defined either for all",
        "the class-weight vector has a different length from the number of classes.",
        "give weight exactly C entries, one per class (output.shape[1]).",
    ),
)


def explain_torch_error(message: str) -> tuple[str, str] | None:
    """Plain words and a fix for a message torch raises from a loss, or ``None`` if unknown.

    Example:
        >>> explain_torch_error("Target 7 is out of bounds.")[1].split(":")[0]
        'check target.min() and target.max() against output.shape[1]'
    """
    for pattern, meaning, fix in _TORCH_MESSAGES:
        if re.search(pattern, message, flags=re.IGNORECASE):
            return meaning, fix
    return None


@rule("torch-error", "The loss call raised", "error", after_call=True)
def _torch_error(call: LossCall) -> Issue | None:
    if call.exception is None:
        return None
    if any(f.severity == "error" for f in call.findings):
        return None  # a specific rule has already explained why torch raised
    said = f"{type(call.exception).__name__}: {first_line(str(call.exception))}"
    if isinstance(call.exception, LossInputError):
        # lossbook's own checks already say, in plain words, what was wrong and what to do.
        return Issue(f"{call.label} raised {said}", "follow the advice at the end of the message.")
    explained = explain_torch_error(str(call.exception))
    if explained is None:
        return Issue(
            f"{call.label} raised {said}",
            "read the last line of the message: it names the argument torch rejected; compare "
            "output.shape, output.dtype, target.shape and target.dtype with the loss's "
            "documentation.",
        )
    meaning, fix = explained
    return Issue(f"{call.label} raised {said}. In plain words: {meaning}", fix)
