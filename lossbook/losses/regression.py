"""Regression losses: how far a real-valued prediction lies from its target.

Each loss is a penalty on the error ``d = input − target``, applied element by
element, then reduced by :func:`lossbook.losses._reduction.apply_reduction`:

- ``l1_loss`` (MAE, ``|d|``) and ``mse_loss`` (``d²``): the two ends;
- ``huber_loss`` and ``smooth_l1_loss``: quadratic near 0, linear far away;
- ``poisson_nll_loss`` and ``gaussian_nll_loss``: negative log-likelihoods,
  for counts and for predictions that come with a variance.

Parameters that follow torch's deprecated ``size_average``/``reduce`` are
keyword-only here: a positional ``reduction`` lands on ``size_average`` in
torch, so refusing it is the only way a call cannot mean two different things.
"""

from __future__ import annotations

import math

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    LossInputError,
    check_broadcastable,
    check_elementwise_weight,
    check_floating,
    check_reduction,
    check_same_shape,
    check_some_floating,
    check_threshold,
    shape_of,
)


def l1_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean absolute error: robust to outliers, its gradient has the same size everywhere.

    Unreduced: ``l_i = w_i·|x_i − y_i|`` (``w_i = 1`` without ``weight``).
    ``"mean"``: ``Σ l_i / N``, or ``Σ w_i|x_i − y_i| / Σ w_i`` with ``weight``;
    ``"sum"``: ``Σ l_i``.

    Args:
        input: predictions, any shape.
        target: same shape as ``input``. Other shapes broadcast with a warning,
            as in torch: ``(N, 1)`` against ``(N,)`` gives ``(N, N)``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        weight: one weight per element, exactly ``input``'s shape.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and target.

    Example:
        >>> l1_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.0, 1.0]))
        tensor(1.6667)

    Reference: ``torch.nn.functional.l1_loss``; ``nn.L1Loss``.

    Note: L1 is :func:`smooth_l1_loss` with ``beta=0``, the limit of its
    quadratic zone shrinking to nothing.
    """
    check_reduction(reduction)
    check_same_shape(input, target, "l1_loss", strict=False)
    check_elementwise_weight(weight, input, "l1_loss")
    loss = (input - target).abs()
    return _reduce_weighted(loss, weight, reduction)


def mse_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error: the default regression loss; large errors dominate it.

    Unreduced: ``l_i = w_i·(x_i − y_i)²`` (``w_i = 1`` without ``weight``).
    ``"mean"``: ``Σ l_i / N``, or ``Σ w_i(x_i − y_i)² / Σ w_i`` with ``weight``;
    ``"sum"``: ``Σ l_i``.

    Args:
        input: predictions, any shape.
        target: same shape as ``input``. Other shapes broadcast with a warning,
            as in torch: ``(N, 1)`` against ``(N,)`` gives ``(N, N)``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        weight: one weight per element, exactly ``input``'s shape.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and target.

    Example:
        >>> mse_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.0, 1.0]))
        tensor(4.3333)

    Reference: ``torch.nn.functional.mse_loss``; ``nn.MSELoss``.

    Note: :func:`huber_loss` is ``½·`` MSE's element-wise loss for errors below δ.
    """
    check_reduction(reduction)
    check_same_shape(input, target, "mse_loss", strict=False)
    check_some_floating(input, target, "mse_loss")
    check_elementwise_weight(weight, input, "mse_loss")
    error = input - target
    # error * error, not error ** 2: the same number, with a cheaper backward pass
    # (bench/bench_losses.py measures it).
    loss = error * error
    return _reduce_weighted(loss, weight, reduction)


def huber_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Huber loss: squared for small errors, linear for large ones (robust regression).

    Unreduced, with ``d_i = |x_i − y_i|``::

        l_i = ½ d_i²             if d_i < δ
        l_i = δ·(d_i − ½δ)       otherwise

    times ``w_i`` with ``weight``. ``"mean"``: ``Σ l_i / N``, **also with**
    ``weight`` (torch 2.13 divides by N here, unlike l1/mse, which divide by
    ``Σ w_i``); ``"sum"``: ``Σ l_i``. The gradient is the error itself, clipped
    to ``[−δ, δ]``.

    Args:
        input: predictions, any shape.
        target: same shape as ``input``. Other shapes broadcast with a warning, as in torch.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        delta: where the loss turns from quadratic to linear; ``> 0``.
        weight: one weight per element, exactly ``input``'s shape.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and
        target, in ``input``'s dtype (as torch does, even for a wider target dtype).

    Example:
        >>> huber_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])

    Reference: Huber, "Robust Estimation of a Location Parameter" (1964);
    ``torch.nn.functional.huber_loss``.

    Note: Huber with ``delta=β`` is ``β·`` :func:`smooth_l1_loss` with that β;
    at ``delta=1`` they are equal. As δ → ∞ it becomes ``½·`` MSE's element-wise loss.
    """
    check_reduction(reduction)
    check_same_shape(input, target, "huber_loss", strict=False)
    check_floating(input, "input", "huber_loss")
    check_threshold(
        delta,
        "delta",
        "huber_loss",
        meaning="the error size where the loss turns from quadratic to linear (try 1.0)",
    )
    check_elementwise_weight(weight, input, "huber_loss")
    loss = _huber(input - target, delta)
    # torch's kernel writes the loss in input's dtype, even when target's dtype is wider.
    loss = loss.to(input.dtype)
    if weight is not None:
        loss = loss * weight
    return apply_reduction(loss, reduction)


def smooth_l1_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    reduction: str = "mean",
    beta: float = 1.0,
) -> torch.Tensor:
    """Smooth L1: L1 with the kink at 0 rounded off over ``|d| < β`` (Fast R-CNN box regression).

    Unreduced, with ``d_i = |x_i − y_i|``::

        l_i = ½ d_i² / β        if d_i < β
        l_i = d_i − ½β          otherwise

    ``"mean"``: ``Σ l_i / N``; ``"sum"``: ``Σ l_i``. The gradient is ``d/β``
    inside the zone and ``±1`` outside: never larger than 1.

    Args:
        input: predictions, any shape.
        target: same shape as ``input``. Other shapes broadcast with a warning, as in torch.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        beta: width of the quadratic zone; ``≥ 0``, and ``0`` gives exactly :func:`l1_loss`.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and target.

    Example:
        >>> smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
        >>> smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.zeros(2), beta=2.0, reduction="none")
        tensor([0.0625, 2.0000])

    Reference: Girshick, "Fast R-CNN" (2015); ``torch.nn.functional.smooth_l1_loss``.

    Note: ``smooth_l1_loss(beta=β) = huber_loss(delta=β) / β``; as β → 0 it tends to
    :func:`l1_loss`, while Huber tends to 0.
    """
    check_reduction(reduction)
    check_same_shape(input, target, "smooth_l1_loss", strict=False)
    check_some_floating(input, target, "smooth_l1_loss")
    check_threshold(
        beta,
        "beta",
        "smooth_l1_loss",
        allow_zero=True,
        meaning="the width of the quadratic zone around 0 (0 gives l1_loss; try 1.0)",
    )
    error = input - target
    if beta == 0:
        # A zone of width 0 is L1 exactly (and Huber / β would be 0/0 there).
        return apply_reduction(error.abs(), reduction)
    loss = _huber(error, beta) / beta
    return apply_reduction(loss, reduction)


def poisson_nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    log_input: bool = True,
    full: bool = False,
    *,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> torch.Tensor:
    """Negative log-likelihood of counts ``y`` under a Poisson distribution with rate ``λ``.

    Unreduced, dropping the constant ``log(y!)``::

        l_i = exp(x_i) − y_i·x_i                 log_input=True  (x = log λ)
        l_i = x_i − y_i·log(x_i + eps)           log_input=False (x = λ)

    With ``full=True`` Stirling's approximation of ``log(y!)``,
    ``y·log y − y + ½·log(2πy)``, is added where ``y > 1`` (for ``y ∈ {0, 1}``,
    ``log(y!) = 0``). ``"mean"``: ``Σ l_i / N``; ``"sum"``: ``Σ l_i``.

    Args:
        input: ``log λ`` (``log_input=True``, any real number: the usual choice for a
            model's raw output) or ``λ ≥ 0``; any shape.
        target: counts ``y ≥ 0``, broadcastable with ``input`` (no shape warning, as in torch).
        log_input: whether ``input`` is ``log λ``.
        full: add the Stirling term, making the loss a true negative log-likelihood.
        eps: keeps ``log(λ + eps)`` finite at ``λ = 0`` when ``log_input=False``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input and target.

    Example:
        >>> poisson_nll_loss(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]), reduction="none")
        tensor([1.0000, 0.7183])

    Reference: ``torch.nn.functional.poisson_nll_loss``; ``nn.PoissonNLLLoss``.

    Note: like :func:`gaussian_nll_loss`, a likelihood loss: it is minimised at
    ``λ = y`` but its minimum is not 0.
    """
    check_reduction(reduction)
    check_broadcastable(input, target, "poisson_nll_loss")
    if log_input:
        loss = torch.exp(input) - target * input
    else:
        loss = input - target * torch.log(input + eps)
    if full:
        stirling = target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return apply_reduction(loss, reduction)


def gaussian_nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    var: torch.Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> torch.Tensor:
    """Negative log-likelihood of ``target`` under a Gaussian with mean ``input`` and variance ``var``.

    For a model that predicts its own uncertainty. Unreduced, with
    ``σ²_i = max(var_i, eps)``::

        l_i = ½·(log σ²_i + (x_i − y_i)² / σ²_i)   (+ ½·log 2π with full=True)

    ``"mean"``: ``Σ l_i / N``; ``"sum"``: ``Σ l_i``. The clamp at ``eps`` applies
    to the value only: as in torch, the gradient reaches ``var`` as if unclamped.

    Args:
        input: predicted means, any shape, e.g. ``(N, D)``.
        target: observed values, broadcastable with ``input``.
        var: variances ``≥ 0``: a float for all elements; a tensor of ``input``'s
            shape (one per prediction); ``input``'s shape without its last dimension
            (one per sample, e.g. ``(N,)`` for ``(N, D)``); or ``input``'s number of
            dimensions with exactly one dimension of size 1 where ``input``'s differs
            (e.g. ``(N, 1)``).
        full: add the constant ``½·log 2π``.
        eps: lower clamp on ``var``, so that ``log σ²`` and ``1/σ²`` stay finite.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        A scalar, or with ``reduction="none"`` the broadcast shape of input, target and var.

    Example:
        >>> gaussian_nll_loss(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 2.0]), 1.0,
        ...                   reduction="none")
        tensor([0.5000, 0.0000])

    Reference: Nix & Weigend, "Estimating the mean and variance of the target
    probability distribution" (1994); ``torch.nn.functional.gaussian_nll_loss``.

    Note: with a fixed ``var = 1`` the loss is ``½·`` :func:`mse_loss`'s element-wise loss;
    like :func:`poisson_nll_loss` its minimum is not 0.
    """
    check_reduction(reduction)
    check_broadcastable(input, target, "gaussian_nll_loss")
    var = _variance_like_input(var, input)
    # torch clamps a copy of var in place under no_grad: the loss sees max(var, eps), and
    # the gradient reaches var as if the clamp were not there.
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return apply_reduction(loss, reduction)


def _huber(error: torch.Tensor, delta: float) -> torch.Tensor:
    """Element-wise Huber loss of ``error``: ``½d²`` for ``|d| < δ``, ``δ·(|d| − ½δ)`` beyond."""
    abs_error = error.abs()
    quadratic = torch.clamp(abs_error, max=delta)
    linear = abs_error - quadratic
    # ½q² + δ·linear, with δ written as q (they are equal wherever linear > 0): one formula
    # for both pieces, finite at delta=inf, and no NaN gradient from an unused branch
    # (torch.where would multiply the discarded branch's inf by a zero gradient).
    return quadratic * (0.5 * quadratic + linear)


def _reduce_weighted(
    loss: torch.Tensor, weight: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """l1/mse reduction: with ``weight`` the mean is ``Σ w_i l_i / Σ w_i``, as in torch."""
    if weight is None:
        return apply_reduction(loss, reduction)
    return apply_reduction(loss * weight, reduction, divisor=weight.sum())


def _variance_like_input(var: torch.Tensor | float, input: torch.Tensor) -> torch.Tensor:
    """``var`` as a tensor that broadcasts against ``input``, checked as torch checks it.

    The messages start with torch's own ("var has negative entry/entries",
    "var is of incorrect size") and then say what to change.
    """
    loss = "gaussian_nll_loss"
    if isinstance(var, float):
        if var < 0:
            raise LossInputError(
                f"{loss}: var has negative entry/entries: var={var!r}, but a variance is ≥ 0."
            )
        return var * torch.ones_like(input)
    if not isinstance(var, torch.Tensor):
        raise TypeError(
            f"{loss}: var must be a float or a tensor, but it is {type(var).__name__} {var!r}. "
            f"Pass a float (e.g. var=1.0) or a tensor of variances."
        )
    if torch.any(var < 0):
        raise LossInputError(
            f"{loss}: var has negative entry/entries (the smallest is {var.min().item():.4g}), "
            f"but a variance is ≥ 0. If the model predicts it, make it positive with "
            f"F.softplus(raw) or raw.exp()."
        )
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        # One variance per sample, shared by the sample's last-dimension entries.
        return var.unsqueeze(-1)
    # torch's test for "one dimension of var is 1 where input's is not": over the dimensions
    # where the sizes differ, var's sizes add up to 1.
    if var.dim() == input.dim():
        var_sizes_that_differ = [v for x, v in zip(input.shape, var.shape, strict=True) if x != v]
        if sum(var_sizes_that_differ) == 1:
            return var
    raise LossInputError(
        f"{loss}: var is of incorrect size: var has shape {shape_of(var)} and input has shape "
        f"{shape_of(input)}. var must have input's shape (one variance per prediction), "
        f"{shape_of(torch.empty(input.shape[:-1]))} (one per sample), or input's shape with "
        f"exactly one dimension replaced by 1. A single shared variance can be a float."
    )


__all__ = [
    "l1_loss",
    "mse_loss",
    "huber_loss",
    "smooth_l1_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]
