"""Cross-entropy of a linear layer's logits, computed without ever holding all of them.

A language model's last layer turns each of N hidden states ``h_i`` (D numbers)
into V logits ``z_i = W h_i + b``, one per vocabulary entry, and the loss is
``cross_entropy(z, y)``. With V = 128k the logit matrix (N, V) is the largest
tensor in training: N = 8192 tokens of float32 logits take 4 GiB, and
``log_softmax`` and its gradient take as much again each.

:func:`linear_cross_entropy` computes the same loss and gradients one block of
rows at a time (``batch_chunk_size`` rows), each in blocks of ``vocab_chunk_size``
vocabulary entries:

1. **Online log-sum-exp.** For each block ``z = h_B W_Vᵀ + b_V`` the row-wise
   ``log Σ exp`` of the block (``torch.logsumexp``: max-subtraction inside) is
   merged into a running value::

       lse ← log(e^lse + e^lse_block) = m + log(e^(lse − m) + e^(lse_block − m)),  m = max(lse, lse_block)

   the max-subtraction trick again, applied to two numbers (``torch.logaddexp``).
   After the last vocabulary block ``lse_i = log Σ_c exp z_ic`` exactly.
2. **Loss.** ``−log p_iy = lse_i − z_iy``; the target's logit ``z_iy = h_i·W_y + b_y``
   is a dot product. With label smoothing and class weights
   ``l_i = Σ_c a_ic (lse_i − z_ic)``, ``a_ic`` the smoothed, weighted target.
3. **Gradient.** ``∂l_i/∂z_ic = A_i p_ic − a_ic`` with ``p_ic = exp(z_ic − lse_i)``
   and ``A_i = Σ_c a_ic``; each block of it is multiplied into ``∂h`` and ``∂W``
   (``∂h_B += G W_V``, ``∂W_V += Gᵀ h_B``). With ``"mean"`` or ``"sum"`` every row
   gets the same incoming gradient, so the forward pass computes the gradient for
   an incoming 1 while the block of rows is still in the buffer, and the backward
   pass only scales it: three matrix products in all, as for the materialized loss.
   With ``"none"`` the backward pass recomputes each block of rows' logits (four).

Autograd saves ``h``, ``W``, ``b``, the target, ``lse`` (N numbers) and the
precomputed gradients: nothing of size N × V. The most held at once is one block
of rows' logits, ``batch_chunk_size × V``, plus one block-sized temporary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lossbook.losses._reduction import apply_reduction
from lossbook.losses._validation import (
    ClassIndexError,
    LossInputError,
    check_label_smoothing,
    check_reduction,
    format_shape,
    shape_of,
)

LOSS = "linear_cross_entropy"


@dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """Block sizes of :func:`linear_cross_entropy`: rows of the batch × entries of the vocabulary.

    The logits of ``batch_chunk_size`` rows (all V of them, in blocks of
    ``vocab_chunk_size`` columns) are held at once, in one buffer reused for every
    block of rows, plus a temporary the size of one block. The defaults, 128 rows and
    4096 columns, were picked by measurement on a 2-core CPU
    (``bench/bench_linear_cross_entropy.py``): large enough for the matrix products
    to run at speed, small enough to stay far below the (N, V) logits.
    ``torch.nn.LinearCrossEntropyOptions`` is accepted too; its ``batch_chunk_size`` is used.
    """

    batch_chunk_size: int | None = None
    """Rows of the batch per block; None: :data:`DEFAULT_BATCH_CHUNK`."""
    vocab_chunk_size: int | None = None
    """Vocabulary entries (classes) per block; None: :data:`DEFAULT_VOCAB_CHUNK`."""


DEFAULT_BATCH_CHUNK = 128
DEFAULT_VOCAB_CHUNK = 4096


def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
) -> torch.Tensor:
    """Cross-entropy of the logits ``input @ linear_weight.T + linear_bias``, never materialized.

    Equal to ``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``
    in value and gradient, with memory for one block of rows' logits instead of all
    N × V (see the module docstring for how). Use it for a classifier with a
    huge number of classes: a language model's vocabulary head.

    With ``z_i = W h_i + b``, ``lse_i = log Σ_c exp z_ic``, ``w`` the class
    weights (ones if not given) and ``ε = label_smoothing``, per row:

    - **class indices** ``y_i``: ``l_i = (1 − ε)·w_{y_i}·(lse_i − z_{i,y_i}) + (ε/V)·Σ_c w_c·(lse_i − z_ic)``
      (0 where ``y_i == ignore_index``); ``"mean"`` is ``Σ_i l_i / Σ_i w_{y_i}`` over
      the rows not ignored, as in :func:`~lossbook.losses.classification.cross_entropy`.
    - **class probabilities** ``q_i`` (float, the logits' shape):
      ``l_i = Σ_c w_c·((1 − ε) q_ic + ε/V)·(lse_i − z_ic)``; ``"mean"`` divides by the number of rows.

    Args:
        input: hidden states ``h``, ``(N, D)``, or ``(D,)`` for one sample.
        linear_weight: ``W``, ``(V, D)``: one row per class. ``(V, d1, …, dK, D)``
            gives logits ``(N, V, d1, …, dK)`` (one softmax over V per position),
            as in torch; that needs a batched input.
        target: class indices (``torch.long``), ``(N,)`` / ``()`` or ``(N, d1, …, dK)``,
            in ``[0, V)`` or equal to ``ignore_index``; or class probabilities
            shaped like the logits, ``(N, V, d1, …, dK)``.
        linear_bias: ``b``, ``(V,)`` (``(V, d1, …, dK)`` with a K-dimensional weight).
        weight: ``(V,)`` rescaling weight per class (not differentiable, as in torch).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        ignore_index: a class index to skip; None means -100 for class indices
            (torch's convention). Not allowed with class probabilities.
        label_smoothing: ε in ``[0, 1]``, spread over all V classes.
        options: block sizes, :class:`LinearCrossEntropyOptions` (or torch's
            ``nn.LinearCrossEntropyOptions``). Unlike torch, where ``options=None``
            means the materialized reference path, lossbook always works in blocks;
            None means the default block sizes.

    Returns:
        A scalar, or with ``reduction="none"`` the target's shape (without the class
        dimension for class probabilities).

    Example:
        >>> h = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> y = torch.tensor([2, 1])
        >>> linear_cross_entropy(h, W, y, reduction="none")
        tensor([0.8620, 0.7586])
        >>> from lossbook.losses.classification import cross_entropy
        >>> cross_entropy(h @ W.T, y, reduction="none")  # the same, from the (N, V) logits
        tensor([0.8620, 0.7586])
        >>> small_blocks = LinearCrossEntropyOptions(batch_chunk_size=1, vocab_chunk_size=2)
        >>> linear_cross_entropy(h, W, y, options=small_blocks)  # (0.8620 + 0.7586) / 2
        tensor(0.8103)

    Reference: ``torch.nn.functional.linear_cross_entropy`` (torch 2.13);
    Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models" (Cut
    Cross-Entropy, ICLR 2025); Milakov & Gimelshein, "Online normalizer calculation
    for softmax" (2018) for the online log-sum-exp.

    See also: :func:`~lossbook.losses.classification.cross_entropy` (the same loss
    from logits); the online log-sum-exp is :func:`~lossbook.losses.activations.log_softmax`'s
    max-subtraction trick applied block by block.
    """
    check_reduction(reduction)
    check_label_smoothing(label_smoothing, LOSS)
    batch_chunk, vocab_chunk = _chunk_sizes(options)
    logits_shape = _check_shapes(input, linear_weight, linear_bias)
    has_probabilities = target.shape == logits_shape and target.is_floating_point()
    if has_probabilities and ignore_index is not None:
        raise LossInputError(
            f"{LOSS}: ignore_index={ignore_index} applies to class-index targets only, but "
            f"target holds class probabilities (shape {shape_of(target)}). To leave rows "
            f"out, drop them from the batch and leave ignore_index=None."
        )
    ignore_index = -100 if ignore_index is None else ignore_index
    num_classes = linear_weight.shape[0]
    _check_target(target, logits_shape, has_probabilities, ignore_index, input.dtype)
    _check_class_weight(weight, num_classes, input.dtype)

    # Rows (samples × positions) and, for a K-dimensional weight, one (V, D) matrix per position.
    batched = input.dim() == 2
    hidden = input if batched else input.unsqueeze(0)
    positions = math.prod(linear_weight.shape[1:-1])
    if positions == 1:
        # The (V, D) weight itself, not a view of it: a view's backward would copy its
        # (V, D) gradient into a fresh tensor.
        weights = [linear_weight.reshape(num_classes, -1)]
        biases = None if linear_bias is None else [linear_bias.reshape(num_classes)]
    else:
        weights = linear_weight.reshape(num_classes, positions, -1).unbind(1)
        biases = None if linear_bias is None else linear_bias.reshape(num_classes, -1).unbind(1)
    if has_probabilities:
        targets = (target if batched else target.unsqueeze(0)).reshape(
            hidden.shape[0], num_classes, positions
        )
    else:
        targets = (target if batched else target.unsqueeze(0)).reshape(hidden.shape[0], positions)

    losses, divisors = [], []
    for k in range(positions):
        position_target = targets[:, :, k] if has_probabilities else targets[:, k]
        losses.append(
            _LinearCrossEntropy.apply(
                hidden,
                weights[k],
                None if biases is None else biases[k],
                position_target,
                weight,
                ignore_index,
                label_smoothing,
                batch_chunk,
                vocab_chunk,
                reduction != "none",
            )
        )
        divisors.append(_mean_divisor(position_target, weight, ignore_index, has_probabilities))
    loss = losses[0] if positions == 1 else torch.stack(losses, dim=-1)
    loss = loss.reshape(logits_shape[:1] + logits_shape[2:]) if batched else loss.reshape(())
    return apply_reduction(loss, reduction, divisor=sum(divisors))


def _mean_divisor(
    target: torch.Tensor,
    class_weight: torch.Tensor | None,
    ignore_index: int,
    has_probabilities: bool,
) -> torch.Tensor | int:
    """What ``"mean"`` divides by: the rows (probabilities), or ``Σ_i w_{y_i}`` over kept rows."""
    if has_probabilities:
        return target.shape[0]
    kept = target != ignore_index
    if class_weight is None:
        return kept.sum()
    return class_weight[target.masked_fill(~kept, 0)].masked_fill(~kept, 0).sum()


class _LinearCrossEntropy(torch.autograd.Function):
    """Per-row loss ``l_i`` of ``(M, D)`` rows against a ``(V, D)`` weight, one row block at a time.

    For each block of rows the logits are computed vocabulary block by vocabulary block
    into one reused ``(batch_chunk, V)`` buffer, with the online log-sum-exp; then, when
    ``precompute`` is set, the gradient of ``Σ_i l_i`` is taken from that buffer at once
    (three matrix products in all, like the materialized loss). The backward pass scales
    it by the incoming gradient when that is the same for every row (``"mean"`` and
    ``"sum"``); otherwise (``"none"``) it recomputes each row block's logits.

    Saves ``h``, ``W``, ``b``, the target and ``lse`` (M numbers), and the precomputed
    gradients (the inputs' shapes). Not twice differentiable.
    """

    @staticmethod
    def forward(
        ctx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        target: torch.Tensor,
        class_weight: torch.Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        batch_chunk: int,
        vocab_chunk: int,
        precompute: bool,
    ) -> torch.Tensor:
        coefficients = _TargetCoefficients(
            target, class_weight, ignore_index, label_smoothing, weight.shape[0], hidden.dtype
        )
        blocks = _RowBlocks(hidden, weight, bias, batch_chunk, vocab_chunk)
        needs = ctx.needs_input_grad[:4] if precompute else (False,) * 4
        grads = _Gradients(hidden, weight, bias, target, needs)
        lse = hidden.new_empty(hidden.shape[0])
        # Σ_c a_ic z_ic: from the blocks for probabilities, by dot products for indices.
        target_logit_sum = hidden.new_zeros(hidden.shape[0])
        for rows in blocks.row_slices():
            chunks = blocks.logits(rows)
            if coefficients.probabilities is not None:
                for columns, logits in chunks:
                    block = coefficients.dense_block(rows, columns)
                    target_logit_sum[rows] += (logits * block).sum(dim=1)
            lse[rows], shifts = _online_log_sum_exp(chunks)
            if any(needs):
                # Upstream gradient 1 on every row; backward multiplies by the real one.
                ones = hidden.new_ones(rows.stop - rows.start)
                grads.add_block(chunks, shifts, rows, lse[rows], ones, coefficients, blocks)
        if coefficients.probabilities is None:
            target_logit_sum = coefficients.index_logit_sum(hidden, weight, bias)
        loss = coefficients.total * lse - target_logit_sum
        # Rows with no target mass (ignored) lose exactly 0, even with infinite logits.
        loss = loss.masked_fill(coefficients.total == 0, 0.0)

        ctx.save_for_backward(hidden, weight, bias, target, class_weight, lse)
        ctx.settings = (ignore_index, label_smoothing, batch_chunk, vocab_chunk)
        ctx.precomputed = grads if any(needs) else None
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss: torch.Tensor):
        hidden, weight, bias, target, class_weight, lse = ctx.saved_tensors
        ignore_index, label_smoothing, batch_chunk, vocab_chunk = ctx.settings
        coefficients = _TargetCoefficients(
            target, class_weight, ignore_index, label_smoothing, weight.shape[0], hidden.dtype
        )
        # Rows with no target mass lose exactly 0 (forward): no gradient either, even where
        # the incoming one is inf (a mean over no rows divides by 0).
        grad_loss = grad_loss.masked_fill(coefficients.total == 0, 0.0)
        precomputed, ctx.precomputed = ctx.precomputed, None  # usable once (retain_graph)
        # "mean" and "sum" send the same gradient to every row that has a loss.
        active = grad_loss[coefficients.total != 0]
        if precomputed is not None and bool((active == active[:1]).all()):
            scale = active[0] if active.numel() else active.new_zeros(())
            return (*precomputed.release(scale), *[None] * 6)
        grads = _Gradients(hidden, weight, bias, target, ctx.needs_input_grad[:4])
        blocks = _RowBlocks(hidden, weight, bias, batch_chunk, vocab_chunk)
        for rows in blocks.row_slices():
            chunks = blocks.logits(rows)
            _, shifts = _online_log_sum_exp(chunks)
            grads.add_block(chunks, shifts, rows, lse[rows], grad_loss[rows], coefficients, blocks)
        return (*grads.release(), *[None] * 6)


class _RowBlocks:
    """The logits ``z = h Wᵀ + b`` of one block of rows at a time, in one reused buffer.

    The buffer is ``(vocabulary blocks, batch_chunk, vocab_chunk)``: each vocabulary
    block of logits is a contiguous matrix that ``addmm`` writes in place, so that no
    block allocates (fresh large allocations cost page faults on every block).
    """

    def __init__(self, hidden, weight, bias, batch_chunk: int, vocab_chunk: int) -> None:
        self.hidden, self.weight, self.bias = hidden, weight, bias
        self.batch_chunk = min(batch_chunk, max(hidden.shape[0], 1))
        self.vocab_chunk = min(vocab_chunk, weight.shape[0])
        self.column_slices = [
            slice(start, min(start + self.vocab_chunk, weight.shape[0]))
            for start in range(0, weight.shape[0], self.vocab_chunk)
        ]
        self.buffer = hidden.new_empty(
            (len(self.column_slices), self.batch_chunk * self.vocab_chunk)
        )

    def row_slices(self) -> list[slice]:
        num_rows = self.hidden.shape[0]
        return [
            slice(start, min(start + self.batch_chunk, num_rows))
            for start in range(0, num_rows, self.batch_chunk)
        ]

    def block_logits(self, rows: slice, columns: slice) -> torch.Tensor:
        """One block of logits in a fresh tensor (outside the buffer)."""
        logits = self.hidden[rows] @ self.weight[columns].T
        return logits if self.bias is None else logits + self.bias[columns]

    def logits(self, rows: slice) -> list[tuple[slice, torch.Tensor]]:
        """``[(columns, z[rows, columns])]`` for every vocabulary block, written into the buffer."""
        num_rows = rows.stop - rows.start
        chunks = []
        for index, columns in enumerate(self.column_slices):
            width = columns.stop - columns.start
            out = self.buffer[index, : num_rows * width].view(num_rows, width)
            if self.bias is None:
                torch.mm(self.hidden[rows], self.weight[columns].T, out=out)
            else:
                torch.addmm(self.bias[columns], self.hidden[rows], self.weight[columns].T, out=out)
            chunks.append((columns, out))
        return chunks


def _online_log_sum_exp(
    chunks: list[tuple[slice, torch.Tensor]],
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``log Σ_c exp z_c`` per row, merged block by block: ``lse ← log(e^lse + e^lse_block)``.

    Each block's ``lse_block = m + log Σ exp(z − m)`` with ``m`` its row maximum;
    ``torch.logaddexp`` merges it into the running value by the same max-subtraction
    trick, applied to two numbers. The blocks are left holding ``exp(z − m)`` (in place:
    the gradient needs ``p = exp(z − m) · exp(m − lse)``, one pass instead of three).

    Returns:
        ``(lse, shifts)``: ``(rows,)`` and each block's ``m``, ``(rows, 1)``.
    """
    lse, shifts = None, []
    for _, logits in chunks:
        row_max = logits.amax(dim=1, keepdim=True)
        # A row of −inf logits: shift by 0, so that exp gives 0 rather than exp(nan).
        shift = row_max.masked_fill(row_max == -math.inf, 0.0)
        block = logits.sub_(shift).exp_().sum(dim=1).log_().add_(shift.squeeze(1))
        lse = block if lse is None else torch.logaddexp(lse, block)
        shifts.append(shift)
    return lse, shifts


class _Gradients:
    """The gradients of ``h``, ``W``, ``b`` and a probability target, accumulated block by block."""

    def __init__(self, hidden, weight, bias, target, needs: tuple[bool, ...]) -> None:
        self.hidden, self.weight = hidden, weight
        tensors = (hidden, weight, bias, target)
        self.grads = [
            torch.zeros_like(t) if need and t is not None else None
            for t, need in zip(tensors, needs, strict=True)
        ]

    def add_block(self, chunks, shifts, rows, lse_rows, grad_rows, coefficients, blocks) -> None:
        """Add one row block's contribution, from blocks holding ``exp(z − shift)`` (overwritten).

        ``∂l_i/∂z_ic = A_i p_ic − a_ic`` with ``p_ic = exp(z_ic − shift_i) · exp(shift_i − lse_i)``,
        times ``g_i``.
        """
        grad_hidden, grad_weight, grad_bias, grad_target = self.grads
        scaled_total = (grad_rows * coefficients.total[rows])[:, None]
        for (columns, exp_logits), shift in zip(chunks, shifts, strict=True):
            if grad_target is not None:
                # ∂l_i/∂q_ic = −(1 − ε) w_c log p_ic, from the logits (recomputed: rare).
                log_probs = blocks.block_logits(rows, columns) - lse_rows[:, None]
                grad_target[rows, columns] = (
                    coefficients.probability_scale(columns) * log_probs * -grad_rows[:, None]
                )
            grad_logits = exp_logits.mul_(torch.exp(shift - lse_rows[:, None]) * scaled_total)
            coefficients.subtract_from(grad_logits, grad_rows, rows, columns)
            if grad_hidden is not None:
                grad_hidden[rows].addmm_(grad_logits, self.weight[columns])
            if grad_weight is not None:
                grad_weight[columns].addmm_(grad_logits.T, self.hidden[rows])
            if grad_bias is not None:
                grad_bias[columns] += grad_logits.sum(dim=0)

    def release(self, scale: torch.Tensor | None = None) -> list[torch.Tensor | None]:
        """The gradients, multiplied in place by ``scale`` if given, handed over for good.

        Dropping this object's references lets autograd adopt them as ``.grad``
        without a copy (it copies a gradient that something else still holds).
        """
        grads, self.grads = self.grads, []
        if scale is not None:
            for grad in grads:
                if grad is not None:
                    grad.mul_(scale)
        return grads


class _TargetCoefficients:
    """The smoothed, weighted target ``a_ic`` and its row sums ``A_i``, without an (M, V) tensor.

    Class indices: ``a_ic = (1 − ε) w_{y_i} [c = y_i] + (ε/V) w_c`` (0 on ignored rows).
    Probabilities: ``a_ic = w_c ((1 − ε) q_ic + ε/V)``.
    """

    def __init__(
        self,
        target: torch.Tensor,
        class_weight: torch.Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        num_classes: int,
        dtype: torch.dtype,
    ) -> None:
        self.class_weight = class_weight
        self.keep = 1.0 - label_smoothing
        self.smooth = label_smoothing / num_classes
        weight_sum = num_classes if class_weight is None else class_weight.sum()
        if target.is_floating_point():
            self.probabilities = target
            weighted_mass = target.sum(1) if class_weight is None else target @ class_weight
            self.total = self.keep * weighted_mass + self.smooth * weight_sum
            return
        self.probabilities = None
        self.kept = target != ignore_index
        self.index = target.masked_fill(~self.kept, 0).long()
        # In the loss's dtype: a Python float times a bool tensor would be float32.
        self.kept_mass = kept = self.kept.to(dtype)
        target_weight = kept if class_weight is None else class_weight[self.index] * kept
        self.target_weight = target_weight
        self.total = self.keep * target_weight + (self.smooth * weight_sum) * kept

    def dense_block(self, rows: slice, columns: slice) -> torch.Tensor:
        """``a`` on one block (probabilities only)."""
        block = self.keep * self.probabilities[rows, columns] + self.smooth
        return block if self.class_weight is None else block * self.class_weight[columns]

    def probability_scale(self, columns: slice) -> torch.Tensor | float:
        """``∂a_ic/∂q_ic = (1 − ε) w_c`` on the block's columns."""
        if self.class_weight is None:
            return self.keep
        return self.keep * self.class_weight[columns]

    def index_logit_sum(
        self, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """``Σ_c a_ic z_ic`` for class indices: ``z_iy = h_i·W_y + b_y``, ``Σ_c w_c z_ic = h_i·(wᵀW) + wᵀb``."""
        target_logit = (hidden * weight[self.index]).sum(dim=1)
        if bias is not None:
            target_logit = target_logit + bias[self.index]
        total = self.keep * self.target_weight * target_logit
        if self.smooth:
            class_weight = (
                hidden.new_ones(weight.shape[0]) if self.class_weight is None else self.class_weight
            )
            smoothed = hidden @ (class_weight @ weight)
            if bias is not None:
                smoothed = smoothed + class_weight @ bias
            total = total + self.smooth * self.kept_mass * smoothed
        return total

    def subtract_from(
        self, grad_logits: torch.Tensor, grad_rows: torch.Tensor, rows: slice, columns: slice
    ) -> None:
        """``grad_logits −= g_i a_ic`` on one block, in place (``grad_rows``: g on ``rows``)."""
        if self.probabilities is not None:
            grad_logits.sub_(self.dense_block(rows, columns) * grad_rows[:, None])
            return
        if self.smooth:
            smooth_weight = (
                grad_logits.new_full((grad_logits.shape[1],), self.smooth)
                if self.class_weight is None
                else self.smooth * self.class_weight[columns]
            )
            grad_logits.addr_(grad_rows * self.kept_mass[rows], smooth_weight, alpha=-1.0)
        # The target's own column, for rows whose target lies in this block of classes.
        index = self.index[rows] - columns.start
        in_block = self.kept[rows] & (index >= 0) & (index < grad_logits.shape[1])
        block_rows = in_block.nonzero().squeeze(1)
        scale = (self.keep * self.target_weight[rows] * grad_rows)[block_rows]
        grad_logits.index_put_(
            (block_rows, index[block_rows]), -scale.to(grad_logits.dtype), accumulate=True
        )


def _chunk_sizes(options: object | None) -> tuple[int, int]:
    """``(batch_chunk, vocab_chunk)`` from lossbook's or torch's options, checked."""
    if options is None:
        return DEFAULT_BATCH_CHUNK, DEFAULT_VOCAB_CHUNK
    if not hasattr(options, "batch_chunk_size"):
        raise LossInputError(
            f"{LOSS}: options must be a LinearCrossEntropyOptions (lossbook's or torch's), not "
            f"{type(options).__name__}."
        )
    given = (options.batch_chunk_size, getattr(options, "vocab_chunk_size", None))
    sizes = tuple(
        default if size is None else size
        for size, default in zip(given, (DEFAULT_BATCH_CHUNK, DEFAULT_VOCAB_CHUNK), strict=True)
    )
    for name, size in zip(("batch_chunk_size", "vocab_chunk_size"), sizes, strict=True):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise LossInputError(f"{LOSS}: {name}={size!r}, but it must be a positive integer.")
    return sizes


def _check_shapes(
    input: torch.Tensor, linear_weight: torch.Tensor, linear_bias: torch.Tensor | None
) -> tuple[int, ...]:
    """Check the layer's shapes as torch does; return the logits' shape ``(N, V, d1, …, dK)``."""
    if input.dim() not in (1, 2):
        raise LossInputError(
            f"{LOSS}: input has shape {shape_of(input)}, but it must be (N, D) hidden states, or "
            f"(D,) for one sample. Flatten the batch and sequence dimensions first: "
            f"input.reshape(-1, input.shape[-1]) (and target.reshape(-1))."
        )
    if linear_weight.dim() < 2:
        raise LossInputError(
            f"{LOSS}: linear_weight has shape {shape_of(linear_weight)}, but it must be (V, D): "
            f"one row of D weights per class (nn.Linear(D, V).weight)."
        )
    for name, tensor in (("input", input), ("linear_weight", linear_weight)):
        if not tensor.is_floating_point():
            raise LossInputError(
                f"{LOSS}: {name} has dtype {tensor.dtype}, but it must be floating point."
            )
    if input.dtype != linear_weight.dtype:
        raise LossInputError(
            f"{LOSS}: input is {input.dtype} but linear_weight is {linear_weight.dtype}; "
            f"convert one so that both have the same dtype."
        )
    in_features = input.shape[-1]
    if linear_weight.shape[-1] != in_features:
        raise LossInputError(
            f"{LOSS}: input has D={in_features} features (shape {shape_of(input)}) but "
            f"linear_weight has {linear_weight.shape[-1]} per class (shape "
            f"{shape_of(linear_weight)}): expected equal input and linear_weight last "
            f"dimensions (in_features). Is linear_weight transposed? It must be (V, D)."
        )
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if num_classes == 0:
        raise LossInputError(f"{LOSS}: linear_weight has no rows: there are no classes (V = 0).")
    if out_features and input.dim() == 1:
        raise LossInputError(
            f"{LOSS}: a K-dimensional loss, defined by linear_weight shape "
            f"{shape_of(linear_weight)}, requires batched input (N, {in_features}), but input "
            f"has shape {shape_of(input)}: use input.unsqueeze(0)."
        )
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise LossInputError(
            f"{LOSS}: expected linear_bias shape {format_shape((num_classes, *out_features))} "
            f"(one entry per class), got {shape_of(linear_bias)}."
        )
    if linear_bias is not None and linear_bias.dtype != input.dtype:
        raise LossInputError(
            f"{LOSS}: linear_bias has dtype {linear_bias.dtype}, not {input.dtype}."
        )
    return (*input.shape[:-1], num_classes, *out_features)


def _check_target(
    target: torch.Tensor,
    logits_shape: tuple[int, ...],
    has_probabilities: bool,
    ignore_index: int,
    dtype: torch.dtype,
) -> None:
    """Class indices shaped like the logits without V, in range; or probabilities of their shape."""
    if has_probabilities:
        if target.dtype != dtype:
            raise LossInputError(
                f"{LOSS}: target (class probabilities) has dtype {target.dtype}, not {dtype}."
            )
        return
    index_shape = logits_shape[:1] + logits_shape[2:] if len(logits_shape) > 1 else ()
    if target.is_floating_point() or target.dtype == torch.bool or target.is_complex():
        raise LossInputError(
            f"{LOSS}: target has dtype {target.dtype} and shape {shape_of(target)}. It must "
            f"hold class indices (torch.long, shape {format_shape(index_shape)}) or class "
            f"probabilities (float, the logits' shape {format_shape(logits_shape)})."
        )
    if tuple(target.shape) != index_shape:
        raise LossInputError(
            f"{LOSS}: the logits have shape {format_shape(logits_shape)} (V="
            f"{logits_shape[1] if len(logits_shape) > 1 else logits_shape[0]} classes), so a "
            f"class-index target must have shape {format_shape(index_shape)}, but target has "
            f"shape {shape_of(target)}."
        )
    num_classes = logits_shape[1] if len(logits_shape) > 1 else logits_shape[0]
    used = target[target != ignore_index]
    if used.numel() and (int(used.min()) < 0 or int(used.max()) >= num_classes):
        bad = int(used.min()) if int(used.min()) < 0 else int(used.max())
        raise ClassIndexError(
            f"{LOSS}: target contains class index {bad}, but linear_weight has V={num_classes} "
            f"rows (classes), so indices must lie in [0, {num_classes - 1}] (or equal "
            f"ignore_index={ignore_index})."
        )


def _check_class_weight(weight: torch.Tensor | None, num_classes: int, dtype: torch.dtype) -> None:
    if weight is None:
        return
    if weight.shape != (num_classes,):
        raise LossInputError(
            f"{LOSS}: weight has shape {shape_of(weight)}, but it must be a 1-D tensor with one "
            f"entry per class ({num_classes})."
        )
    if weight.dtype != dtype:
        raise LossInputError(f"{LOSS}: weight has dtype {weight.dtype}, not {dtype}.")
    if weight.requires_grad and torch.is_grad_enabled():
        raise LossInputError(
            f"{LOSS}: weight requires grad, but the loss is not differentiable with respect to "
            f"the class weights (as in torch): pass weight.detach()."
        )


__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]
