"""The oracle for ``sigmoid_focal_loss``: torchvision's definition, on torch's own BCE.

torchvision is not a dependency, so ``tests/parity.py`` compares lossbook's focal
loss with this transcription of ``torchvision.ops.sigmoid_focal_loss``. It is
built on ``torch.nn.functional.binary_cross_entropy_with_logits``, not on
lossbook's, so a mistake in lossbook's BCE-with-logits cannot hide here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> torch.Tensor:
    """torchvision's focal loss, line for line (Lin et al., 2017, arXiv:1708.02002)."""
    p = torch.sigmoid(inputs)
    ce_loss = torch_F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(
        f"Invalid Value for arg 'reduction': '{reduction} \n"
        f" Supported reduction modes: 'none', 'mean', 'sum'"
    )
