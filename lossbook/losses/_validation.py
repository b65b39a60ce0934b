"""Input checks shared by every loss, with messages that name the mistake and the fix.

Each check raises (or warns) with three things a learner needs: what was
received, what the loss expects, and what to change. The messages are at least
as specific as torch's own and clearer where torch's are cryptic
("Found dtype Long but expected Float").

Errors are :class:`LossInputError` (a ``ValueError`` and a ``RuntimeError``, so
code written against either of torch's exception types still catches it);
a class index out of range is also an ``IndexError``, as in torch.
"""

from __future__ import annotations

import warnings
from itertools import zip_longest

import torch

REDUCTIONS = ("none", "mean", "sum")


class LossInputError(ValueError, RuntimeError):
    """A loss was called with input it cannot use; the message says how to fix it."""


class ClassIndexError(LossInputError, IndexError):
    """A class-index target lies outside ``[0, C)``."""


def format_shape(dims: tuple[int, ...]) -> str:
    """``(4, 3)`` rather than ``torch.Size([4, 3])``: shorter, and what learners write."""
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def shape_of(tensor: torch.Tensor) -> str:
    """A tensor's shape as :func:`format_shape` writes it."""
    return format_shape(tuple(tensor.shape))


def _shape_without(shape: torch.Size, dim: int) -> str:
    """``shape`` with dimension ``dim`` left out (``tensor.select(dim, 0)`` fails on an empty one)."""
    return format_shape(tuple(shape[:dim]) + tuple(shape[dim + 1 :]))


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape ``shapes`` broadcast to, or None if they don't.

    Plain Python on purpose: ``torch.broadcast_shapes`` imports sympy on its
    first call (about a second), which every first loss call would pay.
    """
    result: list[int] = []
    for sizes in zip_longest(*(reversed(tuple(s)) for s in shapes), fillvalue=1):
        larger = {size for size in sizes if size != 1}
        if len(larger) > 1:
            return None
        result.append(larger.pop() if larger else 1)
    return tuple(reversed(result))


def check_reduction(reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    """Raise unless ``reduction`` is one of ``allowed``, listing the valid ones."""
    if reduction not in allowed:
        valid = ", ".join(repr(r) for r in allowed)
        raise LossInputError(
            f"reduction={reduction!r} is not a valid reduction; use one of {valid}."
        )


def check_floating(tensor: torch.Tensor, name: str, loss: str) -> None:
    """Raise unless ``tensor`` has a floating dtype (losses are computed in float)."""
    if not tensor.is_floating_point():
        raise LossInputError(
            f"{loss}: {name} has dtype {tensor.dtype}, but it must be floating point "
            f"(torch.float32 or torch.float64). Convert it with {name}.float()."
        )


def check_binary_target(input: torch.Tensor, target: torch.Tensor, loss: str) -> None:
    """BCE-style losses take float targets in [0, 1] with the input's dtype.

    The common mistake is an integer (long) label tensor, natural for
    classification but not what these losses take.
    """
    if not target.is_floating_point():
        raise LossInputError(
            f"{loss}: target has dtype {target.dtype}, but binary losses take float "
            f"targets (0.0 / 1.0, or soft labels in [0, 1]) with the same dtype as input "
            f"({input.dtype}). Convert them with target.to(input.dtype), e.g. target.float(). "
            f"(Integer class indices are what cross_entropy and nll_loss take.)"
        )


def check_same_shape(
    input: torch.Tensor,
    target: torch.Tensor,
    loss: str,
    *,
    strict: bool,
) -> None:
    """Element-wise losses compare ``input[i]`` with ``target[i]``: shapes must match.

    ``strict=True`` raises (torch raises for BCE and BCE-with-logits);
    ``strict=False`` warns and lets the shapes broadcast (torch does that for
    l1/mse/huber/smooth-L1). The warning names the usual cause: a model output
    of shape ``(N, 1)`` against a target of shape ``(N,)``, which broadcasts to
    ``(N, N)`` and compares every prediction with every target.
    """
    if input.shape == target.shape:
        return
    hint = _shape_hint(input, target)
    if strict:
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)} but target has shape "
            f"{shape_of(target)}; they must be the same. {hint}"
        )
    shape = broadcast_shape(input.shape, target.shape)
    if shape is None:
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)} and target has shape "
            f"{shape_of(target)}; they must be the same (or broadcastable). {hint}"
        )
    broadcast = format_shape(tuple(shape))
    warnings.warn(
        f"{loss}: input has shape {shape_of(input)} but target has shape {shape_of(target)}; "
        f"they broadcast to {broadcast}, which compares every prediction with every target "
        f"and is almost always a bug. {hint}",
        UserWarning,
        stacklevel=3,
    )


def _shape_hint(input: torch.Tensor, target: torch.Tensor) -> str:
    if (
        input.dim() == target.dim() + 1
        and input.shape[-1] == 1
        and input.shape[:-1] == target.shape
    ):
        return "The model returns one column per sample: use input.squeeze(-1) (or target.unsqueeze(-1))."
    if (
        target.dim() == input.dim() + 1
        and target.shape[-1] == 1
        and target.shape[:-1] == input.shape
    ):
        return "The target has an extra trailing dimension of 1: use target.squeeze(-1)."
    return "Reshape one of them so that input[i] lines up with target[i]."


def check_class_index_target(
    input: torch.Tensor,
    target: torch.Tensor,
    loss: str,
    *,
    ignore_index: int | None,
    class_dim: int,
    accepts_probabilities: bool,
) -> None:
    """Check a class-index target against an input whose ``class_dim`` has C classes.

    Class indices have an integer dtype, one dimension fewer than the input
    (``(N,)`` for an ``(N, C)`` input, ``()`` for an unbatched ``(C,)`` input),
    and values in ``[0, C)`` or equal to ``ignore_index`` (``None`` for losses
    that ignore no target, such as ``multi_margin_loss``).
    """
    num_classes = input.shape[class_dim]
    if target.is_floating_point():
        if target.shape == input.shape:
            if accepts_probabilities:
                return  # class probabilities: checked by the caller
            raise LossInputError(
                f"{loss}: target is a float tensor of shape {shape_of(target)}, like one-hot "
                f"labels or class probabilities, but {loss} takes class indices: an integer "
                f"(torch.long) tensor of shape {_shape_without(target.shape, class_dim)} with "
                f"values in [0, {num_classes}). Use target.argmax(dim={class_dim}) for one-hot "
                f"labels, or cross_entropy, which accepts both forms."
            )
        forms = (
            f"class indices (an integer tensor of shape {_shape_without(input.shape, class_dim)} "
            f"with values in [0, {num_classes}); convert with target.long()) or class "
            f"probabilities (a float tensor of shape {shape_of(input)}, e.g. one-hot labels)"
        )
        raise LossInputError(
            f"{loss}: target is a float tensor of shape {shape_of(target)}. For an input of "
            f"shape {shape_of(input)} the target must be "
            + (
                f"either {forms}."
                if accepts_probabilities
                else f"class indices: an integer (torch.long) tensor of shape "
                f"{_shape_without(input.shape, class_dim)} with values in [0, {num_classes}); "
                f"convert with target.long()."
            )
        )
    if target.dtype == torch.bool or target.is_complex():
        raise LossInputError(
            f"{loss}: target has dtype {target.dtype}; class indices must be an integer "
            f"tensor. Convert it with target.long()."
        )
    expected_shape = input.shape[:class_dim] + input.shape[class_dim + 1 :]
    if target.shape != expected_shape:
        hint = ""
        if target.dim() == len(expected_shape) + 1 and target.shape[-1] == 1:
            hint = " The target has an extra dimension of size 1: use target.squeeze(-1)."
        elif target.shape == input.shape:
            hint = (
                " It has the input's shape, like one-hot labels: use "
                f"target.argmax(dim={class_dim}) to get class indices."
            )
        raise LossInputError(
            f"{loss}: input of shape {shape_of(input)} (C={num_classes} classes along "
            f"dim {class_dim}) needs a class-index target of shape "
            f"{format_shape(tuple(expected_shape))}, but target has shape "
            f"{shape_of(target)}.{hint}"
        )
    if target.numel() == 0:
        return
    used = target if ignore_index is None else target[target != ignore_index]
    if used.numel() == 0:
        return
    low, high = int(used.min()), int(used.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ClassIndexError(
            f"{loss}: target contains class index {bad}, but input has C={num_classes} "
            f"classes, so indices must lie in [0, {num_classes - 1}]"
            + ("" if ignore_index is None else f" (or equal ignore_index={ignore_index})")
            + ". Check that the model's last layer has "
            "one output per class and that labels start at 0 (subtract 1 if they start at 1)."
        )


def check_probabilities(input: torch.Tensor, loss: str) -> None:
    """``binary_cross_entropy`` takes probabilities; values outside [0, 1] are logits."""
    if input.numel() == 0:
        return
    low, high = float(input.min()), float(input.max())
    if not (0.0 <= low and high <= 1.0):
        raise LossInputError(
            f"{loss}: input must hold probabilities in [0, 1], but its values range over "
            f"[{low:.4g}, {high:.4g}]. These look like logits (raw model outputs): use "
            f"binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss), which applies the "
            f"sigmoid itself and is numerically stable, instead of adding a sigmoid."
        )


def check_weight(weight: torch.Tensor | None, size: int, loss: str, what: str = "class") -> None:
    """A per-class weight vector has one entry per class."""
    if weight is None:
        return
    if weight.dim() != 1 or weight.numel() != size:
        raise LossInputError(
            f"{loss}: weight has shape {shape_of(weight)}, but it must be a 1-D tensor with "
            f"one entry per {what} ({size})."
        )


def check_class_dim(input: torch.Tensor, loss: str, *, max_dim: int | None = None) -> None:
    """Classification losses need a class dimension: ``(C,)``, ``(N, C)`` (or more dims if allowed)."""
    if input.dim() == 0 or (max_dim is not None and input.dim() > max_dim):
        allowed = "(C,) or (N, C)" if max_dim == 2 else "(C,), (N, C) or (N, C, d1, ..., dK)"
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)}, but it must have shape {allowed}: "
            f"one score per class, for one sample or for a batch of N samples."
            + (" Flatten the extra dimensions into the batch first." if input.dim() else "")
        )


def check_margin_scores(input: torch.Tensor, loss: str) -> None:
    """The multi-class hinges take ``(N, C)`` or ``(C,)`` scores with ``C ≥ 1`` (a 0-d input: C = 1).

    As in torch, a 0-d input is one sample with one class, and an empty batch
    ``(0, C)`` is fine, but no classes at all is not.
    """
    if input.dim() > 2:
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)}, but it must have shape (C,) or (N, C): "
            f"one score per class, for one sample or for a batch of N samples. Flatten the "
            f"extra dimensions into the batch first."
        )
    if input.dim() > 0 and input.shape[-1] == 0:
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)}: no classes (C = 0), but each sample "
            f"needs a score for at least one class (torch: 'Expected non-empty vector or "
            f"matrix'). Check the size of the model's last layer: one output per class."
        )


def check_label_smoothing(label_smoothing: float, loss: str) -> None:
    """Label smoothing moves a fraction ε of the target's mass to the uniform distribution: 0 ≤ ε ≤ 1."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise LossInputError(
            f"{loss}: label_smoothing={label_smoothing!r}, but it must lie in [0, 1]: it is the "
            f"fraction ε of the target's mass spread evenly over the C classes (0 turns it off; "
            f"0.1 is a common choice)."
        )


def check_multilabel_target(input: torch.Tensor, target: torch.Tensor, loss: str) -> None:
    """``multilabel_margin_loss`` takes class indices padded with -1, shaped like the input."""
    if target.is_floating_point() or target.dtype == torch.bool:
        raise LossInputError(
            f"{loss}: target has dtype {target.dtype}, but {loss} takes the class indices of each "
            f"sample's labels, padded with -1 (e.g. [3, 0, -1, -1]: classes 3 and 0), as a "
            f"torch.long tensor. For multi-hot 0/1 targets use multilabel_soft_margin_loss or "
            f"binary_cross_entropy_with_logits instead."
        )
    if target.shape != input.shape:
        raise LossInputError(
            f"{loss}: input has shape {shape_of(input)} but target has shape {shape_of(target)}; "
            f"they must be the same: one slot per class holding class indices, padded with -1."
        )
    if target.numel() == 0:
        return
    num_classes = input.shape[-1]
    low, high = int(target.min()), int(target.max())
    if low < -1 or high >= num_classes:
        bad = low if low < -1 else high
        raise ClassIndexError(
            f"{loss}: target contains {bad}, but with C={num_classes} classes each entry must be "
            f"a class index in [0, {num_classes - 1}] or the padding value -1."
        )


def check_some_floating(input: torch.Tensor, target: torch.Tensor, loss: str) -> None:
    """A regression loss compares real numbers: input or target must be floating point."""
    if input.is_floating_point() or target.is_floating_point():
        return
    raise LossInputError(
        f"{loss}: input and target have dtypes {input.dtype} and {target.dtype}, but at least "
        f"one of them must be floating point (torch.float32 or torch.float64). Convert the "
        f"predictions with input.float(). If these are class indices, {loss} treats them as "
        f"ordered numbers: a classification loss such as cross_entropy is probably what you want."
    )


def check_elementwise_weight(weight: torch.Tensor | None, input: torch.Tensor, loss: str) -> None:
    """A per-element weight (l1, mse, huber) has exactly the input's shape; torch does not broadcast it."""
    if weight is None or weight.shape == input.shape:
        return
    raise LossInputError(
        f"{loss}: weight has shape {shape_of(weight)} but input has shape {shape_of(input)}. "
        f"Weights and input must have the same size: weight holds one weight per element of "
        f"input (torch does not broadcast it). To weight whole samples, expand a per-sample "
        f"weight w of shape (N,) first, e.g. w[:, None].expand_as(input) for an (N, D) input."
    )


def check_threshold(
    value: float, name: str, loss: str, *, meaning: str, allow_zero: bool = False
) -> None:
    """A threshold (huber's δ, smooth L1's β) must be > 0, or ≥ 0 where 0 has a meaning."""
    valid = value >= 0 if allow_zero else value > 0
    if valid:
        return
    bound = "≥ 0" if allow_zero else "> 0"
    raise LossInputError(f"{loss}: {name}={value!r}, but it must be {bound}: it is {meaning}.")


def check_same_dtype(input: torch.Tensor, target: torch.Tensor, loss: str) -> None:
    """``binary_cross_entropy`` takes a target of the input's dtype, as in torch (no promotion)."""
    if target.dtype != input.dtype:
        raise LossInputError(
            f"{loss}: input has dtype {input.dtype} but target has dtype {target.dtype}; they "
            f"must be the same. Convert the target with target.to(input.dtype)."
        )


def check_probability_target(target: torch.Tensor, loss: str) -> None:
    """``binary_cross_entropy`` takes targets in [0, 1]: hard 0/1 labels or soft labels."""
    if target.numel() == 0:
        return
    low, high = (float(v) for v in torch.aminmax(target.detach()))
    if not (0.0 <= low and high <= 1.0):
        raise LossInputError(
            f"{loss}: target must hold probabilities in [0, 1] (0/1 labels or soft labels), but "
            f"its values range over [{low:.4g}, {high:.4g}]. Labels in {{-1, 1}} become {{0, 1}} "
            f"with (target + 1) / 2; for class indices 0..C-1 use cross_entropy instead."
        )


def check_broadcasts_to_input(
    input: torch.Tensor, other: torch.Tensor | None, name: str, loss: str
) -> None:
    """``other`` (a weight, or a target torch broadcasts) must broadcast to the input's shape.

    Torch multiplies it into the per-element loss in place, so a shape that would
    enlarge the loss raises there too; the common case is a ``(N, 1)`` tensor
    against an ``(N,)`` input, which would broadcast to ``(N, N)``.
    """
    if other is None:
        return
    if broadcast_shape(other.shape, input.shape) == tuple(input.shape):
        return
    if name == "target":
        hint = _shape_hint(input, other)
    elif input.dim() > 0:
        hint = (
            f"Use the input's shape, or one that broadcasts to it such as "
            f"({input.shape[-1]},): one {name} per class along the last dimension."
        )
    else:
        hint = "The input is a single number, so use a single number (shape ())."
    raise LossInputError(
        f"{loss}: {name} has shape {shape_of(other)}, which does not broadcast to the input's "
        f"shape {shape_of(input)}. {hint}"
    )


def check_same_ndim(loss: str, **tensors: torch.Tensor) -> None:
    """Losses that pair up rows of several tensors need them to have the same number of dims."""
    dims = {name: tensor.dim() for name, tensor in tensors.items()}
    if len(set(dims.values())) > 1:
        listed = ", ".join(f"{name} {shape_of(t)}" for name, t in tensors.items())
        raise LossInputError(
            f"{loss}: the inputs must have the same number of dimensions, but got {listed}. "
            f"Add or remove the batch dimension (unsqueeze(0) / squeeze(0)) so that they match."
        )


def check_shapes_broadcast(loss: str, **tensors: torch.Tensor) -> None:
    """Raise, naming every shape, unless the named tensors (two or more) broadcast together."""
    if broadcast_shape(*(tensor.shape for tensor in tensors.values())) is None:
        listed = ", ".join(f"{name} {shape_of(t)}" for name, t in tensors.items())
        raise LossInputError(
            f"{loss}: the shapes {listed} do not broadcast against each other; give them the "
            f"same shape (one entry per pair or triplet)."
        )


def check_positive(value: float, name: str, loss: str) -> None:
    """Raise unless a hyperparameter such as a triplet margin is > 0."""
    if not value > 0:
        raise LossInputError(f"{loss}: {name} must be greater than 0, got {value!r}.")


def check_sign_target(target: torch.Tensor, loss: str, *, other_values: str) -> None:
    """Pair losses label pairs with 1 (similar / first ranks higher) or -1 (dissimilar / second).

    Other values are accepted, as in torch, with a warning: they usually come
    from 0/1 labels, and ``other_values`` says what the loss then computes.
    """
    if target.dtype == torch.bool or target.is_complex():
        raise LossInputError(
            f"{loss}: target has dtype {target.dtype}, but it must hold the numbers 1 and -1. "
            f"Convert 0/1 labels with 2 * target.float() - 1."
        )
    if target.numel() == 0:
        return
    others = target[(target != 1) & (target != -1)]
    if others.numel():
        warnings.warn(
            f"{loss}: target contains {others[0].item()!r}, but targets must be 1 or -1; "
            f"{other_values}. Convert 0/1 labels with 2 * target - 1.",
            UserWarning,
            stacklevel=3,
        )


def check_ctc_arguments(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
) -> None:
    """CTC's contract: ``log_probs`` (T, N, C) or (T, C); padded or concatenated targets.

    ``input_lengths`` and ``target_lengths`` are tensors here (the caller turns
    lists and tuples into tensors first).
    """
    loss = "ctc_loss"
    check_floating(log_probs, "log_probs", loss)
    if log_probs.dim() not in (2, 3):
        raise LossInputError(
            f"{loss}: log_probs has shape {shape_of(log_probs)}, but it must be (T, N, C) "
            f"(time, batch, classes) or (T, C) for one unbatched sequence. A batch-first "
            f"(N, T, C) tensor needs log_probs.transpose(0, 1)."
        )
    if log_probs.numel() == 0:
        raise LossInputError(
            f"{loss}: log_probs has shape {shape_of(log_probs)}; it must not be empty "
            f"(torch rejects it too)."
        )
    time_steps, num_classes = log_probs.shape[0], log_probs.shape[-1]
    batch_size = log_probs.shape[1] if log_probs.dim() == 3 else 1
    if not 0 <= blank < num_classes:
        raise LossInputError(
            f"{loss}: blank={blank}, but log_probs has C={num_classes} classes, so blank must "
            f"lie in [0, {num_classes - 1}]. Reserve one output of the model for the blank."
        )
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if lengths.is_floating_point() or lengths.dtype == torch.bool or lengths.is_complex():
            raise LossInputError(
                f"{loss}: {name} has dtype {lengths.dtype}, but lengths are whole numbers: "
                f"pass a torch.long tensor or a tuple of ints."
            )
        if lengths.numel() != batch_size:
            raise LossInputError(
                f"{loss}: {name} has {lengths.numel()} entries, but the batch has N={batch_size} "
                f"sequences (log_probs has shape {shape_of(log_probs)}); give one length per "
                f"sequence."
            )
        if batch_size and int(lengths.min()) < 0:
            raise LossInputError(
                f"{loss}: {name} contains {int(lengths.min())}; lengths must be >= 0."
            )
    if batch_size and int(input_lengths.max()) > time_steps:
        raise LossInputError(
            f"{loss}: input_lengths contains {int(input_lengths.max())}, but log_probs has only "
            f"T={time_steps} time steps; each input length must be at most T."
        )
    if targets.is_floating_point() or targets.dtype == torch.bool or targets.is_complex():
        raise LossInputError(
            f"{loss}: targets has dtype {targets.dtype}, but it must hold class indices: "
            f"convert it with targets.long()."
        )
    total = int(target_lengths.sum())
    if targets.dim() == 1:
        if targets.numel() != total:
            raise LossInputError(
                f"{loss}: 1-D targets are the target sequences concatenated, so they must have "
                f"sum(target_lengths) = {total} entries, but targets has {targets.numel()}. "
                f"For padded targets pass a 2-D (N, S) tensor."
            )
        used = targets
    elif targets.dim() == 2:
        longest = int(target_lengths.max()) if batch_size else 0
        if targets.shape[0] != batch_size or targets.shape[1] < longest:
            raise LossInputError(
                f"{loss}: padded targets must have shape (N, S) with N={batch_size} and S at least "
                f"the longest target length ({longest}), but targets has shape "
                f"{shape_of(targets)}."
            )
        positions = torch.arange(targets.shape[1], device=targets.device)
        used = targets[positions < target_lengths.reshape(-1, 1).to(targets.device)]
    else:
        raise LossInputError(
            f"{loss}: targets has shape {shape_of(targets)}, but it must be (N, S) (padded) or "
            f"1-D (the target sequences concatenated)."
        )
    if used.numel() == 0:
        return
    low, high = int(used.min()), int(used.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ClassIndexError(
            f"{loss}: targets contain class index {bad}, but log_probs has C={num_classes} "
            f"classes, so indices must lie in [0, {num_classes - 1}]."
        )
    if bool((used == blank).any()):
        raise LossInputError(
            f"{loss}: targets contain the blank index {blank}. The blank is not a label: "
            f"number the real labels so that none equals blank (e.g. labels 1..C-1 with "
            f"blank=0, by adding 1 to 0-based labels)."
        )


def check_broadcastable(input: torch.Tensor, target: torch.Tensor, loss: str) -> None:
    """Raise unless ``input`` and ``target`` broadcast (losses that broadcast without a warning)."""
    if broadcast_shape(input.shape, target.shape) is None:
        raise LossInputError(
            f"{loss}: input of shape {shape_of(input)} and target of shape {shape_of(target)} "
            f"do not broadcast; give them the same shape. {_shape_hint(input, target)}"
        )
