"""Rules on what the loss returned: a NaN or infinite loss, NaN or infinite gradients."""

from __future__ import annotations

import warnings

import torch

from lossbook.course.diagnose.rules import (
    CLASS_LOSSES,
    Issue,
    LossCall,
    _all_finite,
    _scalar_text,
    rule,
)


# ---------------------------------------------------------------------------
# Rules that look at what the loss returned


@rule("non-finite-loss", "The loss is NaN or infinite", "error", after_call=True)
def _non_finite_loss(call: LossCall) -> Issue | None:
    if not call.ran_cleanly() or _all_finite(call.result.detach()):
        return None
    if any(f.severity == "error" for f in call.findings):
        return None  # an error found earlier (NaN input, a log-prob target...) explains it
    value = "NaN" if bool(call.result.isnan().any()) else "infinite"
    if call.name in CLASS_LOSSES and call.index_target and call.reduction == "mean":
        tgt = call.tgt
        ignore_index = call.options.get("ignore_index", -100)
        if bool((tgt == ignore_index).all()):
            return Issue(
                f"the loss is NaN because every target equals ignore_index={ignore_index}: the "
                f"mean over zero labelled samples is 0/0.",
                "skip batches with no labelled samples (if (target != ignore_index).any(): ...), "
                "or use reduction='sum' divided by max(count, 1).",
            )
        weight = call.options.get("weight")
        if isinstance(weight, torch.Tensor):
            used = tgt[tgt != ignore_index]
            if float(weight.detach()[used.long()].sum()) == 0:
                return Issue(
                    "the loss is NaN because every class in this batch has weight 0: the "
                    "weighted mean divides by the sum of the targets' weights, here 0.",
                    "give every class that can occur a positive weight.",
                )
    return Issue(
        f"the loss is {value} although output and target are finite: something inside the loss "
        f"overflows or takes log(0) (a -inf log-probability at the target class, probabilities of "
        f"exactly 0 or 1 in a hand-written log, a division by zero).",
        "compute from logits with the built-in losses (cross_entropy, "
        "binary_cross_entropy_with_logits), which use stable identities; clamp probabilities "
        "before a log; find the operation with torch.autograd.set_detect_anomaly(True).",
    )


def _gradients(call: LossCall) -> tuple[list[str], list[torch.Tensor | None]]:
    """Gradients of the loss, without touching any ``.grad``: ``torch.autograd.grad`` returns them.

    With a model whose graph produced ``output``, the gradients are those of its
    parameters (the graph is kept for the caller's own backward). Otherwise they
    are the gradients with respect to a leaf copy of ``output``.
    """
    named = []
    if call.model is not None and call.output.requires_grad:
        named = [(n, p) for n, p in call.model.named_parameters() if p.requires_grad]
    if named:
        try:
            with torch.enable_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss = call.loss_fn(call.output, call.target)
                total = loss.sum() if loss.dim() else loss
                grads = torch.autograd.grad(
                    total, [p for _, p in named], retain_graph=True, allow_unused=True
                )
            return [n for n, _ in named], list(grads)
        except RuntimeError:
            pass  # the graph was already freed by a backward(); fall back to the output's gradient
    leaf = call.out.clone().requires_grad_(True)
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = call.loss_fn(leaf, call.target)
        total = loss.sum() if loss.dim() else loss
        if not total.requires_grad:
            return [], []
        (grad,) = torch.autograd.grad(total, [leaf], allow_unused=True)
    return ["output"], [grad]


@rule("non-finite-gradient", "The gradient is NaN or infinite", "error", after_call=True)
def _non_finite_gradient(call: LossCall) -> Issue | None:
    if call.model is None and not call.output.requires_grad:
        return None
    if not call.ran_cleanly() or not call.output.is_floating_point():
        return None
    if not _all_finite(call.result.detach()) or call.found("non-finite-input"):
        return None
    names, grads = _gradients(call)
    bad = [n for n, g in zip(names, grads, strict=True) if g is not None and not _all_finite(g)]
    if not bad:
        return None
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return Issue(
        f"the loss is finite ({_scalar_text(call.result.detach().sum()) or 'a tensor'}), but the "
        f"gradient of {shown} holds NaN or infinity. One optimizer step would write NaN into the "
        f"weights. Typical causes: sqrt, norm or pow with a fractional exponent at exactly 0 "
        f"(infinite slope), log of a value that reaches 0, or torch.where with a NaN in the "
        f"branch it did not pick.",
        "guard the operation (sqrt(x + eps), norm of x + eps, clamp before log, compute both "
        "torch.where branches on safe inputs); locate it with "
        "torch.autograd.set_detect_anomaly(True); torch.nn.utils.clip_grad_norm_ does not fix NaN.",
    )
