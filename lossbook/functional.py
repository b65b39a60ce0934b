"""Every loss in ``torch.nn.functional``, re-implemented from tensor primitives.

Same names, parameters, defaults and semantics as torch (without the
deprecated ``size_average``/``reduce``), so ``import lossbook.functional as F``
can stand in for ``import torch.nn.functional as F`` in any loss call. Each
function lives in the module of its family; this module only gathers them.

==========================  ==============================================
module                      losses
==========================  ==============================================
``regression``              l1, mse, huber, smooth_l1, poisson_nll, gaussian_nll
``binary``                  binary_cross_entropy(_with_logits), sigmoid_focal,
                            soft_margin, multilabel_soft_margin
``classification``          nll, cross_entropy, multi_margin, multilabel_margin
``divergence``              kl_div
``ranking``                 margin_ranking, hinge_embedding, cosine_embedding,
                            triplet_margin(_with_distance)
``sequence``                ctc
``linear_cross_entropy``    linear_cross_entropy: the cross-entropy of a linear
                            layer's logits, computed in blocks, never all N × V
==========================  ==============================================

The names and their ``nn`` classes, families and aliases are in :mod:`lossbook.losses.registry`.
"""

from lossbook.losses.activations import log_sigmoid, log_softmax, sigmoid, softmax
from lossbook.losses.binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    multilabel_soft_margin_loss,
    sigmoid_focal_loss,
    soft_margin_loss,
)
from lossbook.losses.classification import (
    cross_entropy,
    multi_margin_loss,
    multilabel_margin_loss,
    nll_loss,
)
from lossbook.losses.divergence import kl_div
from lossbook.losses.linear_cross_entropy import linear_cross_entropy
from lossbook.losses.registry import LOSSES as _SPECS
from lossbook.losses.ranking import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from lossbook.losses.regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from lossbook.losses.sequence import ctc_loss

__all__ = [
    # The 23 losses, in torch's documentation order, then torchvision's focal loss.
    "l1_loss",
    "mse_loss",
    "huber_loss",
    "smooth_l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "cross_entropy",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multilabel_margin_loss",
    "multi_margin_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "ctc_loss",
    "linear_cross_entropy",
    "sigmoid_focal_loss",
    # The activations they are built on.
    "log_softmax",
    "softmax",
    "log_sigmoid",
    "sigmoid",
]

LOSSES = tuple(loss.name for loss in _SPECS)
"""The names of the losses, in :data:`lossbook.losses.registry.LOSSES`' order."""
