"""Connectionist Temporal Classification (CTC): a loss for unaligned sequences.

A speech or handwriting model emits one distribution over C symbols per
time step (T steps) but the transcript is shorter (S labels) and nobody says
which step produced which label. CTC adds a *blank* symbol and sums the
probability of every alignment: a length-T path of symbols that becomes the
target once repeated symbols are merged and blanks are removed
(``a a - b`` → ``ab``; ``a - a`` → ``aa``). The loss is ``−log`` of that sum,
computed in O(T·S) by the forward (alpha) recursion instead of enumerating
the ``C^T`` paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import check_ctc_arguments, check_reduction


def ctc_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | Sequence[int],
    target_lengths: torch.Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> torch.Tensor:
    """CTC loss: ``−log`` of the total probability of all alignments of each target.

    For sequence ``n`` with input length ``T_n`` and target ``l`` of length
    ``L_n``, let ``l'`` be the target with blanks interleaved,
    ``l' = (−, l_1, −, l_2, …, l_L, −)`` (length ``2L + 1``), and
    ``y_t(c) = log_probs[t, n, c]``. The forward variables are

    - ``α_0(0) = y_0(−)``, ``α_0(1) = y_0(l_1)``, every other ``α_0(s) = −∞``;
    - ``α_t(s) = logsumexp(α_{t−1}(s), α_{t−1}(s−1), α_{t−1}(s−2)) + y_t(l'_s)``,
      where the ``s − 2`` term (skipping a blank) is only allowed when
      ``l'_s ≠ l'_{s−2}``: a repeated label needs a blank between its copies.

    ``loss_n = −logsumexp(α_{T_n−1}(2L_n), α_{T_n−1}(2L_n − 1))`` (just the
    first term when ``L_n = 0``; ``loss_n = 0`` if ``T_n = L_n = 0``). A target
    that no alignment can produce (``T_n < L_n`` + the number of repeats) has
    ``loss_n = ∞``; ``zero_infinity=True`` replaces it, and its gradient, by 0.

    Reduction: ``"mean"`` divides each ``loss_n`` by its target length (at
    least 1) and then averages over the batch, ``(1/N) Σ_n loss_n / max(L_n, 1)``;
    ``"sum"`` is ``Σ_n loss_n``.

    Gradient: autograd's, the exact derivative ``∂loss/∂y_t(c) = −γ_t(c)``
    (minus the posterior probability that step t emits c), and 0 for steps
    ``t ≥ T_n``. torch's hand-written backward returns ``exp(y_t(c)) − γ_t(c)``
    instead, the gradient with respect to the logits when
    ``log_probs = log_softmax(logits)``. Its entries sum to 0 over c, so
    ``log_softmax``'s backward passes it on unchanged: gradients with respect
    to the logits agree with torch's, gradients with respect to ``log_probs``
    themselves differ by ``exp(log_probs)`` (on steps ``t < T_n``). Infinite
    losses get gradient 0 here (torch's is NaN without ``zero_infinity``).

    Stricter than torch: targets must be integers in ``[0, C)`` other than
    ``blank`` (torch casts float targets, and reads out-of-range ones from
    arbitrary memory), and empty ``log_probs`` are refused, as torch does.

    Args:
        log_probs: ``(T, N, C)``, or ``(T, C)`` for one unbatched sequence:
            log-probabilities (``log_softmax`` over C) per time step.
        targets: class indices, not containing ``blank``; either padded
            ``(N, S)`` with ``S ≥ max L_n`` (padding values are ignored), or
            1-D: all targets concatenated, ``sum(target_lengths)`` entries.
        input_lengths: ``(N,)`` (or ``()`` unbatched), each ``≤ T``; a tensor
            or a tuple/list of ints.
        target_lengths: ``(N,)`` (or ``()`` unbatched); tensor, tuple or list.
        blank: the blank's class index.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        zero_infinity: replace infinite losses (impossible alignments) by 0.

    Returns:
        ``(N,)`` for ``"none"`` (``()`` unbatched), else a scalar.

    Example:
        Two steps, symbols {blank, "a"}, each with probability 1/2. The target
        "a" has three alignments, ``aa``, ``-a`` and ``a-``, each of
        probability 1/4, so the loss is ``−log(3/4)``:

        >>> log_probs = torch.full((2, 1, 2), 0.5).log()
        >>> ctc_loss(log_probs, torch.tensor([[1]]), (2,), (1,), reduction="sum")
        tensor(0.2877)
        >>> -torch.tensor(3 / 4).log()
        tensor(0.2877)

    Reference: ``torch.nn.CTCLoss``; Graves et al., *Connectionist Temporal
    Classification* (ICML 2006), eqs. 6–8. Sibling: with ``T = L`` and no
    label repeated back to back, the only alignment is the target itself and
    CTC reduces to the sum over steps of ``nll_loss``.
    """
    check_reduction(reduction)
    device = log_probs.device
    input_lengths = torch.as_tensor(input_lengths, device=device).reshape(-1)
    target_lengths = torch.as_tensor(target_lengths, device=device).reshape(-1)
    check_ctc_arguments(log_probs, targets, input_lengths, target_lengths, blank)
    is_batched = log_probs.dim() == 3
    batch_log_probs = log_probs if is_batched else log_probs.unsqueeze(1)
    if not is_batched and targets.dim() == 1:
        targets = targets.unsqueeze(0)
    input_lengths, target_lengths = input_lengths.long(), target_lengths.long()

    labels = _padded_targets(targets.to(device).long(), target_lengths, blank)
    nll = _ctc_negative_log_likelihood(
        batch_log_probs, labels, input_lengths, target_lengths, blank
    )
    if zero_infinity:
        nll = torch.where(nll == float("inf"), 0.0, nll)
    if reduction == "mean":  # per target label first, then over the batch
        nll = nll / target_lengths.clamp_min(1).to(nll.dtype)
    loss = apply_reduction(nll, reduction)
    return loss if is_batched or reduction != "none" else loss.squeeze(0)


def _padded_targets(
    targets: torch.Tensor, target_lengths: torch.Tensor, blank: int
) -> torch.Tensor:
    """``(N, max L)`` labels, from padded or concatenated targets; padding becomes ``blank``.

    The padding never influences the loss (the alpha recursion only moves
    forward and stops at ``2L``), but it must be a valid index to gather with.
    """
    longest = int(target_lengths.max()) if target_lengths.numel() else 0
    positions = torch.arange(longest, device=targets.device)
    in_target = positions < target_lengths.unsqueeze(1)
    if targets.dim() == 2:
        return torch.where(in_target, targets[:, :longest], blank)
    if targets.numel() == 0:  # every target is empty
        return torch.full(in_target.shape, blank, dtype=torch.long, device=targets.device)
    # Concatenated: target n starts where targets 0..n-1 end. Positions past its end may
    # run off the concatenation: clamped to stay valid, then replaced by blank.
    starts = target_lengths.cumsum(0) - target_lengths
    flat_index = (starts.unsqueeze(1) + positions).clamp_max(targets.numel() - 1)
    return torch.where(in_target, targets[flat_index], blank)


def _ctc_negative_log_likelihood(
    log_probs: torch.Tensor,
    labels: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
) -> torch.Tensor:
    """``−log p(l | x)`` per sequence, ``(N,)``: the alpha recursion over ``(N, 2S + 1)`` states."""
    time_steps, batch_size, _ = log_probs.shape
    max_target_length = labels.shape[1]
    num_states = 2 * max_target_length + 1
    # l' = (blank, l_1, blank, l_2, ..., l_S, blank): labels at odd states, blanks at even.
    extended = torch.full((batch_size, num_states), blank, dtype=torch.long, device=labels.device)
    extended[:, 1::2] = labels
    can_skip = torch.zeros_like(extended, dtype=torch.bool)
    can_skip[:, 2:] = extended[:, 2:] != extended[:, :-2]
    # y_t(l'_s) for every t, n, s: (T, N, 2S + 1).
    emissions = log_probs.gather(2, extended.unsqueeze(0).expand(time_steps, -1, -1))

    # A virtual step t = -1 with all probability in state 0: one recursion step from
    # it gives exactly the initial alpha_0 (only states 0 and 1 reachable).
    alpha = torch.full_like(emissions[0], float("-inf"))
    alpha[:, 0] = 0.0
    alphas = [alpha]
    for t in range(time_steps):
        stay = alpha
        advance = _shift_states(alpha, 1)
        skip = torch.where(can_skip, _shift_states(alpha, 2), float("-inf"))
        alpha = _log_sum_exp(torch.stack([stay, advance, skip]), dim=0) + emissions[t]
        alphas.append(alpha)

    # alphas[T_n] is alpha after the input's last step T_n - 1 (alphas[0] is the virtual start).
    batch = torch.arange(batch_size, device=log_probs.device)
    final_alpha = torch.stack(alphas)[input_lengths, batch]
    ends_in_blank = final_alpha[batch, 2 * target_lengths]
    ends_in_label = torch.where(
        target_lengths > 0, final_alpha[batch, (2 * target_lengths - 1).clamp_min(0)], float("-inf")
    )
    return -_log_sum_exp(torch.stack([ends_in_blank, ends_in_label]), dim=0)


def _shift_states(alpha: torch.Tensor, by: int) -> torch.Tensor:
    """``α(s − by)`` at state ``s``: shifted right along the states, ``−∞`` where ``s < by``."""
    unreachable = alpha.new_full((alpha.shape[0], by), float("-inf"))
    return torch.cat([unreachable, alpha[:, :-by]], dim=1)[:, : alpha.shape[1]]


def _log_sum_exp(terms: torch.Tensor, dim: int) -> torch.Tensor:
    """``log Σ exp(terms)`` along ``dim``; ``−∞`` terms are fine, all ``−∞`` gives ``−∞``, no NaN.

    ``log Σ exp(x_i) = m + log Σ exp(x_i − m)`` with ``m = max x_i`` keeps every
    exponent ≤ 0. Two cases would produce NaN, and are routed around:
    ``m = −∞`` (all terms ``−∞``: ``−∞ − (−∞)`` is NaN, so shift by 0 instead),
    and the gradient of ``log 0`` (``∞ · 0``: take the log of 1 there and
    select ``−∞``, so the gradient into that branch is exactly 0).
    """
    max_term = terms.amax(dim=dim, keepdim=True).detach()
    shift = torch.where(max_term == float("-inf"), 0.0, max_term)
    sum_exp = (terms - shift).exp().sum(dim=dim)
    positive = sum_exp > 0
    log_sum = torch.where(positive, torch.where(positive, sum_exp, 1.0).log(), float("-inf"))
    return log_sum + shift.squeeze(dim)


__all__ = ["ctc_loss"]
