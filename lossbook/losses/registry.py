"""The one registry of lossbook's losses: every table of loss names is derived from it.

Each :class:`LossSpec` says what a loss is called (its functional name, its
``torch.nn`` class, the names learners type), which family it belongs to, which
tensors it takes and what its target holds. :data:`LOSSES` lists them in
torch's documentation order, then torchvision's ``sigmoid_focal_loss``;
:func:`spec` finds one by any of its names.

Example:
    >>> spec("nn.CrossEntropyLoss").name
    'cross_entropy'
    >>> spec("MAE").function is spec("l1_loss").function
    True
    >>> [s.name for s in LOSSES if s.family == "divergence"]
    ['kl_div']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

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

FAMILIES = ("regression", "binary", "classification", "divergence", "ranking", "sequence")
"""The loss families, one module of :mod:`lossbook.losses` each."""


@dataclass(frozen=True)
class LossSpec:
    """What the course needs to know about one loss, apart from its formula."""

    name: str
    """Functional name, as in ``torch.nn.functional`` (``"mse_loss"``)."""
    nn_class: str | None
    """``torch.nn`` class name (``"MSELoss"``); None where torch has no module (focal loss)."""
    family: str
    """One of :data:`FAMILIES`, whose module of :mod:`lossbook.losses` defines it (the chunked
    ``linear_cross_entropy``, a classification loss, has a module of its own)."""
    aliases: tuple[str, ...]
    """Other names for it: the ``nn`` class (bare and as ``nn.X``), short names, names in words."""
    tensors: tuple[str, ...]
    """The tensor arguments it requires, in order (``("input", "target")``)."""
    target_kind: str
    """What the target holds, in the course's words."""
    function: Callable
    """The lossbook implementation."""


def _spec(
    name: str,
    nn_class: str | None,
    family: str,
    tensors: tuple[str, ...],
    target_kind: str,
    function: Callable,
    *short_names: str,
) -> LossSpec:
    """A spec whose aliases are the ``nn`` class name, ``nn.<class>``, then ``short_names``."""
    module_names = () if nn_class is None else (nn_class, f"nn.{nn_class}")
    return LossSpec(
        name, nn_class, family, module_names + short_names, tensors, target_kind, function
    )


_PAIR = ("input", "target")
_SAME_SHAPE = "same shape as input"
_BINARY_LABELS = "0/1 (or soft) labels in [0, 1], same shape as input"

# fmt: off
LOSSES: tuple[LossSpec, ...] = (
    _spec("l1_loss", "L1Loss", "regression", _PAIR, _SAME_SHAPE, l1_loss,
          "l1", "mae", "mean absolute error", "absolute error"),
    _spec("mse_loss", "MSELoss", "regression", _PAIR, _SAME_SHAPE, mse_loss,
          "mse", "l2", "mean squared error", "squared error"),
    _spec("huber_loss", "HuberLoss", "regression", _PAIR, _SAME_SHAPE, huber_loss,
          "huber"),
    _spec("smooth_l1_loss", "SmoothL1Loss", "regression", _PAIR, _SAME_SHAPE, smooth_l1_loss,
          "smooth_l1", "smooth l1"),
    _spec("binary_cross_entropy", "BCELoss", "binary", _PAIR, _BINARY_LABELS,
          binary_cross_entropy,
          "bce", "binary cross entropy", "binary cross-entropy"),
    _spec("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", "binary", _PAIR,
          _BINARY_LABELS, binary_cross_entropy_with_logits,
          "bce_with_logits", "bce with logits", "sigmoid cross entropy"),
    _spec("nll_loss", "NLLLoss", "classification", _PAIR, "class indices",
          nll_loss,
          "nll", "negative log likelihood", "negative log-likelihood", "NLLLoss2d",
          "nll_loss2d", "nll_loss_nd"),
    _spec("cross_entropy", "CrossEntropyLoss", "classification", _PAIR,
          "class indices or class probabilities", cross_entropy,
          "ce", "cross entropy", "cross-entropy", "cross_entropy_loss",
          "categorical cross entropy", "softmax cross entropy"),
    _spec("kl_div", "KLDivLoss", "divergence", _PAIR,
          "probabilities (log-probabilities with log_target=True), broadcastable with input",
          kl_div,
          "kl", "kldiv", "kl divergence", "kl-divergence", "kullback-leibler"),
    _spec("poisson_nll_loss", "PoissonNLLLoss", "regression", _PAIR,
          "counts (non-negative), same shape as input", poisson_nll_loss,
          "poisson_nll", "poisson"),
    _spec("gaussian_nll_loss", "GaussianNLLLoss", "regression", ("input", "target", "var"),
          "same shape as input; var holds the predicted variances", gaussian_nll_loss,
          "gaussian_nll", "gaussian"),
    _spec("margin_ranking_loss", "MarginRankingLoss", "ranking", ("input1", "input2", "target"),
          "±1 labels: 1 where input1 should rank higher, −1 where input2 should",
          margin_ranking_loss,
          "margin_ranking"),
    _spec("hinge_embedding_loss", "HingeEmbeddingLoss", "ranking", _PAIR,
          "±1 labels: 1 for similar, −1 for dissimilar (input holds distances)",
          hinge_embedding_loss,
          "hinge_embedding"),
    _spec("soft_margin_loss", "SoftMarginLoss", "binary", _PAIR,
          "±1 labels, same shape as input", soft_margin_loss,
          "soft_margin"),
    _spec("multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss", "binary", _PAIR,
          "multi-hot 0/1 labels, (N, C) like input", multilabel_soft_margin_loss,
          "multilabel_soft_margin", "multi-label soft margin"),
    _spec("multilabel_margin_loss", "MultiLabelMarginLoss", "classification", _PAIR,
          "class indices padded with -1, same shape as input", multilabel_margin_loss,
          "multilabel_margin", "multi-label margin"),
    _spec("multi_margin_loss", "MultiMarginLoss", "classification", _PAIR, "class indices",
          multi_margin_loss,
          "multi_margin", "multi-class hinge", "multiclass hinge"),
    _spec("cosine_embedding_loss", "CosineEmbeddingLoss", "ranking",
          ("input1", "input2", "target"),
          "±1 labels: 1 for a similar pair, −1 for a dissimilar one", cosine_embedding_loss,
          "cosine_embedding", "cosine"),
    _spec("triplet_margin_loss", "TripletMarginLoss", "ranking",
          ("anchor", "positive", "negative"),
          "none: the positive and negative examples play the target", triplet_margin_loss,
          "triplet_margin", "triplet"),
    _spec("triplet_margin_with_distance_loss", "TripletMarginWithDistanceLoss", "ranking",
          ("anchor", "positive", "negative"),
          "none: the positive and negative examples play the target",
          triplet_margin_with_distance_loss,
          "triplet_margin_with_distance", "triplet with distance"),
    _spec("ctc_loss", "CTCLoss", "sequence",
          ("log_probs", "targets", "input_lengths", "target_lengths"),
          "label sequences (padded or concatenated), with their lengths", ctc_loss,
          "ctc", "connectionist temporal classification"),
    _spec("linear_cross_entropy", "LinearCrossEntropyLoss", "classification",
          ("input", "linear_weight", "target"),
          "class indices or class probabilities (of the logits' shape)", linear_cross_entropy,
          "linear_ce", "linear cross entropy", "chunked cross entropy", "cut cross entropy"),
    _spec("sigmoid_focal_loss", None, "binary", ("inputs", "targets"), _BINARY_LABELS,
          sigmoid_focal_loss,
          "focal", "focal_loss", "sigmoid_focal", "torchvision.ops.sigmoid_focal_loss"),
)
# fmt: on
"""Every loss, in torch's documentation order (``linear_cross_entropy``, new in torch 2.13,
after ``ctc_loss``), then torchvision's focal loss."""


def _compact(text: str) -> str:
    """A name reduced to what identifies it: ``"nn.CrossEntropyLoss"`` → ``"nncrossentropy"``.

    Lower case, letters and digits only, without a trailing "loss".
    """
    key = re.sub(r"[^0-9a-z]", "", text.lower())
    return key.removesuffix("loss") or key


def _index(specs: tuple[LossSpec, ...]) -> dict[str, LossSpec]:
    """Each name's and alias's compact form → its spec; raises if two specs share one."""
    index: dict[str, LossSpec] = {}
    for loss in specs:
        for text in (loss.name, *loss.aliases):
            key = _compact(text)
            if index.setdefault(key, loss) is not loss:
                raise ValueError(
                    f"{text!r} names both {index[key].name} and {loss.name}; "
                    f"aliases must be unique."
                )
    return index


_BY_NAME = {loss.name: loss for loss in LOSSES}
_BY_COMPACT_NAME = _index(LOSSES)


class UnknownLossError(KeyError, ValueError):
    """No loss has this name; the message lists the closest known names.

    A ``KeyError`` (a failed look-up) and a ``ValueError`` (a bad argument), so
    callers can catch either.
    """

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument, quotes and all.
        return str(self.args[0])


def spec(name: str) -> LossSpec:
    """The loss called ``name``: its functional name or any alias, whatever the case.

    Spaces, hyphens, underscores, a trailing "Loss" and a module prefix do not
    matter: ``"cross entropy"``, ``"CrossEntropyLoss"``, ``"torch.nn.CrossEntropyLoss"``
    and ``"F.cross_entropy"`` all name :func:`~lossbook.losses.classification.cross_entropy`.

    Raises:
        UnknownLossError: (a ``KeyError`` and a ``ValueError``) for an unknown name;
            the message suggests the closest known names.

    Example:
        >>> spec("BCEWithLogitsLoss").name
        'binary_cross_entropy_with_logits'
        >>> spec("torch.nn.functional.mse_loss").tensors
        ('input', 'target')
        >>> spec("cross entropy").target_kind
        'class indices or class probabilities'
        >>> spec("msee")
        Traceback (most recent call last):
        ...
        lossbook.losses.registry.UnknownLossError: unknown loss 'msee'; did you mean 'mse'? ...
    """
    if name in _BY_NAME:
        return _BY_NAME[name]
    for text in (name, name.rsplit(".", 1)[-1]):
        found = _BY_COMPACT_NAME.get(_compact(text))
        if found is not None:
            return found
    known = {text.lower(): text for loss in LOSSES for text in (loss.name, *loss.aliases)}
    close = difflib.get_close_matches(name.lower(), known, n=4, cutoff=0.6)
    suggestion = f"did you mean {', '.join(repr(known[c]) for c in close)}? " if close else ""
    raise UnknownLossError(
        f"unknown loss {name!r}; {suggestion}Known losses: "
        f"{', '.join(loss.name for loss in LOSSES)} (or their nn.*Loss class names)."
    )


def names(family: str | None = None) -> tuple[str, ...]:
    """The functional names of every loss, or of one family's, in :data:`LOSSES`' order.

    Example:
        >>> names("sequence")
        ('ctc_loss',)
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; families: {', '.join(FAMILIES)}.")
    return tuple(loss.name for loss in LOSSES if family is None or loss.family == family)


__all__ = ["FAMILIES", "LOSSES", "LossSpec", "UnknownLossError", "names", "spec"]
