"""Crafted wrong submissions for 06_beyond: one misconception each, named in the feedback.

Every submission answers every answer cell: the solution's answer everywhere except the one
cell that holds the misconception, so only the checks that this mistake breaks may fail.
"""

from tests.course import ROOT, Crafted, read

SOLUTION = ROOT / "solutions" / "06_beyond" / "beyond.ipynb"


def _solution_answers() -> dict[str, str]:
    answers = {}
    for cell in read(SOLUTION).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
    return answers


CORRECT = _solution_answers()

FOCAL_VALUE_CELLS = {"focal_loss_values", "focal_loss_alpha_gamma", "focal_loss_grad"}
# focal_loss_stable also compares the values at logits of ±1e4 with torchvision's.
FOCAL_ALL_VALUES = FOCAL_VALUE_CELLS | {"focal_loss_stable"}
TRIPLET_VALUE_CELLS = {
    "triplet_margin_loss_values",
    "triplet_margin_loss_margin",
    "triplet_margin_loss_grad",
}

_FOCAL_PROLOGUE = (
    "def focal_loss(logits, targets, alpha=0.25, gamma=2.0):\n"
    "    probs = torch.sigmoid(logits)\n"
    "    p_t = probs * targets + (1 - probs) * (1 - targets)\n"
)
_STABLE_CE = "    ce = -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits))\n"
_ALPHA_T = "    alpha_t = alpha * targets + (1 - alpha) * (1 - targets) if alpha >= 0 else 1.0\n"


def _focal(body: str, ce: str = _STABLE_CE) -> dict[str, str]:
    """The solution with ``focal_loss`` replaced by the prologue, ``ce`` and ``body``."""
    return {**CORRECT, "focal_loss_answer": _FOCAL_PROLOGUE + ce + body}


def _triplet(body: str) -> dict[str, str]:
    """The solution with ``triplet_margin_loss`` replaced by one whose body is ``body``."""
    return {
        **CORRECT,
        "triplet_margin_loss_answer": (
            "def triplet_margin_loss(anchor, positive, negative, margin=1.0):\n"
            "    eps = 1e-6\n" + body
        ),
    }


_DISTANCES = (
    "    d_ap = ((anchor - positive + eps) ** 2).sum(dim=-1).sqrt()\n"
    "    d_an = ((anchor - negative + eps) ** 2).sum(dim=-1).sqrt()\n"
)

CRAFTED = [
    Crafted(
        student="focal_alpha_wrong_class",
        answers=_focal(
            "    alpha_t = alpha * (1 - targets) + (1 - alpha) * targets if alpha >= 0 else 1.0\n"
            "    return alpha_t * (1 - p_t) ** gamma * ce\n"
        ),
        failing=FOCAL_ALL_VALUES,
        feedback=["alpha applied to the wrong class"],
    ),
    Crafted(
        student="focal_missing_modulation",
        answers=_focal(_ALPHA_T + "    return alpha_t * ce\n"),
        # At logits of ±1e4 p_t is exactly 0 or 1: the missing factor is 1 or multiplies a 0.
        failing=FOCAL_VALUE_CELLS,
        feedback=["missing (1 − p_t)^γ factor"],
    ),
    Crafted(
        student="focal_p_instead_of_p_t",
        answers=_focal(_ALPHA_T + "    return alpha_t * (1 - probs) ** gamma * ce\n"),
        failing=FOCAL_ALL_VALUES,
        feedback=["(1 − p)^γ instead of (1 − p_t)^γ"],
    ),
    Crafted(
        student="focal_log_of_sigmoid",
        answers=_focal(
            _ALPHA_T + "    return alpha_t * (1 - p_t) ** gamma * ce\n",
            ce="    ce = -(targets * probs.log() + (1 - targets) * (1 - probs).log())\n",
        ),
        failing={"focal_loss_stable"},
        feedback=["log(0) for large logits"],
    ),
    Crafted(
        student="focal_reduced_to_mean",
        answers=_focal(_ALPHA_T + "    return (alpha_t * (1 - p_t) ** gamma * ce).mean()\n"),
        failing=FOCAL_ALL_VALUES | {"focal_loss_is_bce_at_gamma_0"},
        feedback=["reduced to one number"],
    ),
    Crafted(
        student="focal_ready_made_bce",
        answers=_focal(
            _ALPHA_T + "    return alpha_t * (1 - p_t) ** gamma * ce\n",
            ce="    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')\n",
        ),
        failing={"focal_loss_no_torch_loss"},
        feedback=["binary_cross_entropy_with_logits, a ready-made loss"],
    ),
    Crafted(
        student="triplet_squared_distance",
        answers=_triplet(
            "    d_ap = ((anchor - positive + eps) ** 2).sum(dim=-1)\n"
            "    d_an = ((anchor - negative + eps) ** 2).sum(dim=-1)\n"
            "    return (margin + d_ap - d_an).clamp(min=0).mean()\n"
        ),
        failing=TRIPLET_VALUE_CELLS,
        feedback=["squared distance instead of distance"],
    ),
    Crafted(
        student="triplet_no_hinge",
        answers=_triplet(_DISTANCES + "    return (margin + d_ap - d_an).mean()\n"),
        failing=TRIPLET_VALUE_CELLS,
        feedback=["hinge without max(0, ·)"],
    ),
    Crafted(
        student="triplet_no_eps",
        answers=_triplet(
            "    d_ap = ((anchor - positive) ** 2).sum(dim=-1).sqrt()\n"
            "    d_an = ((anchor - negative) ** 2).sum(dim=-1).sqrt()\n"
            "    return (margin + d_ap - d_an).clamp(min=0).mean()\n"
        ),
        # The values differ from torch's by about eps: only the gradient at anchor == positive shows it.
        failing={"triplet_margin_loss_grad"},
        feedback=["distance without torch's eps"],
    ),
    Crafted(
        student="triplet_swapped",
        answers=_triplet(_DISTANCES + "    return (margin + d_an - d_ap).clamp(min=0).mean()\n"),
        failing=TRIPLET_VALUE_CELLS,
        feedback=["positive and negative swapped"],
    ),
    Crafted(
        student="triplet_sum_instead_of_mean",
        answers=_triplet(_DISTANCES + "    return (margin + d_ap - d_an).clamp(min=0).sum()\n"),
        failing=TRIPLET_VALUE_CELLS,
        feedback=["sum instead of mean"],
    ),
    Crafted(
        student="triplet_pairwise_distance",
        answers=_triplet(
            "    d_ap = F.pairwise_distance(anchor, positive)\n"
            "    d_an = F.pairwise_distance(anchor, negative)\n"
            "    return (margin + d_ap - d_an).clamp(min=0).mean()\n"
        ),
        failing={"triplet_margin_loss_no_torch_loss"},
        feedback=["pairwise_distance"],
    ),
]
