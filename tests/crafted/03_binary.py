"""Crafted wrong submissions for chapter 03 (binary cross-entropy): one misconception each.

Every submission fills every answer cell; only the cell named in its student id
holds the mistake, so exactly the checks of that behaviour lose their points.
"""

from tests.course import Crafted

HAND = "bce_by_hand = {value}\n"

BCE = """\
def bce_with_logits(logits, target):
{body}
"""

POS_WEIGHT = """\
def pos_weight_for(target):
{body}
"""

STABLE = "    loss = -(target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits))\n"

GRAD = """\
def bce_with_logits_grad(logits, target):
    return {body}
"""

RIGHT = {
    "bce_by_hand_answer": HAND.format(value="(-math.log(1 - 0.8) - math.log(0.5)) / 2"),
    "bce_with_logits_answer": BCE.format(body=STABLE + "    return loss.mean()"),
    "bce_grad_derivation_answer": GRAD.format(
        body="(torch.sigmoid(logits) - target) / logits.numel()"
    ),
    "pos_weight_for_answer": POS_WEIGHT.format(
        body="    n_pos = target.sum(dim=0)\n    return (target.shape[0] - n_pos) / n_pos"
    ),
}

# Every check of bce_with_logits except the one that forbids ready-made losses.
ALL_BCE_VALUES = {"bce_values", "bce_grad", "bce_multilabel", "bce_soft_targets", "bce_extreme"}


def submission(**wrong: str) -> dict[str, str]:
    """The right answers, with the given answer cells replaced."""
    return {**RIGHT, **wrong}


CRAFTED = [
    Crafted(
        student="hand_sum_instead_of_mean",
        answers=submission(
            bce_by_hand_answer=HAND.format(value="-math.log(1 - 0.8) - math.log(0.5)")
        ),
        failing={"bce_by_hand_check"},
        feedback=["sum instead of mean"],
    ),
    Crafted(
        student="hand_flipped_labels",
        answers=submission(
            bce_by_hand_answer=HAND.format(value="(-math.log(0.8) - math.log(1 - 0.5)) / 2")
        ),
        failing={"bce_by_hand_check"},
        feedback=["labels flipped", "Pair the target with log p"],
    ),
    Crafted(
        # The stable formula, fed sigmoid(z) instead of z: BCEWithLogits(sigmoid(z)).
        student="bce_sigmoid_before_with_logits",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body=(
                    "    probs = torch.sigmoid(logits)\n"
                    "    loss = probs.clamp(min=0) - probs * target + torch.log1p(torch.exp(-probs.abs()))\n"
                    "    return loss.mean()"
                )
            )
        ),
        failing=ALL_BCE_VALUES,
        feedback=["sigmoid applied before a with-logits loss", "Pass the raw logits"],
    ),
    Crafted(
        # Right wherever sigmoid(z) is not rounded to 0 or 1: only the extreme logits lose points.
        student="bce_naive_log_sigmoid",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body=(
                    "    probs = torch.sigmoid(logits)\n"
                    "    return -(target * torch.log(probs) + (1 - target) * torch.log(1 - probs)).mean()"
                )
            )
        ),
        failing={"bce_extreme"},
        feedback=["returns nan on extreme inputs", "log(0) for large logits"],
    ),
    Crafted(
        # (1 - y) z + log(1 + exp(-z)): no log(0), but exp(-z) overflows for very negative z.
        student="bce_exp_overflow",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body=(
                    "    return ((1 - target) * logits + torch.log(1 + torch.exp(-logits))).mean()"
                )
            )
        ),
        failing={"bce_extreme"},
        feedback=["returns inf on extreme inputs", "log(1 + exp(−|z|))"],
    ),
    Crafted(
        student="bce_missing_minus",
        answers=submission(
            bce_with_logits_answer=BCE.format(body=STABLE + "    return -loss.mean()")
        ),
        failing=ALL_BCE_VALUES,
        feedback=["missing minus sign"],
    ),
    Crafted(
        student="bce_sum_instead_of_mean",
        answers=submission(
            bce_with_logits_answer=BCE.format(body=STABLE + "    return loss.sum()")
        ),
        failing=ALL_BCE_VALUES,
        feedback=["sum instead of mean (missing 1/N)"],
    ),
    Crafted(
        # Raw logits used as probabilities: log of a negative number is NaN.
        student="bce_on_logits",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body=(
                    "    return -(target * torch.log(logits) + (1 - target) * torch.log(1 - logits)).mean()"
                )
            )
        ),
        failing=ALL_BCE_VALUES,
        feedback=["logits used as probabilities"],
    ),
    Crafted(
        # torch.where on the label: right for 0/1 targets, a soft target is treated as 0.
        student="bce_hard_targets_only",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body=(
                    "    log_sigmoid = torch.nn.functional.logsigmoid\n"
                    "    return torch.where(target == 1, -log_sigmoid(logits), -log_sigmoid(-logits)).mean()"
                )
            )
        ),
        failing={"bce_soft_targets"},
        feedback=["soft targets"],
    ),
    Crafted(
        student="bce_calls_torch",
        answers=submission(
            bce_with_logits_answer=BCE.format(
                body="    return torch.nn.BCEWithLogitsLoss()(logits, target)"
            )
        ),
        failing={"bce_no_torch_loss"},
        feedback=["a ready-made loss that this exercise asks you to write yourself"],
    ),
    Crafted(
        student="pos_weight_inverted",
        answers=submission(
            pos_weight_for_answer=POS_WEIGHT.format(
                body="    n_pos = target.sum(dim=0)\n    return n_pos / (target.shape[0] - n_pos)"
            )
        ),
        failing={"pos_weight_for_values", "pos_weight_for_per_label"},
        feedback=["pos_weight_for(target) is not right"],
    ),
    Crafted(
        # Counts over every element: right for (N,), one number instead of one per label for (N, L).
        student="pos_weight_not_per_label",
        answers=submission(
            pos_weight_for_answer=POS_WEIGHT.format(
                body="    n_pos = target.sum()\n    return (target.numel() - n_pos) / n_pos"
            )
        ),
        failing={"pos_weight_for_per_label"},
        feedback=["expected shape (2,)"],
    ),
    Crafted(
        student="bce_grad_missing_mean",
        answers=submission(
            bce_grad_derivation_answer=GRAD.format(body="torch.sigmoid(logits) - target")
        ),
        failing={"bce_grad_derivation"},
        feedback=["missing 1/N", "divide each entry by their number"],
    ),
    Crafted(
        student="bce_grad_sign_flipped",
        answers=submission(
            bce_grad_derivation_answer=GRAD.format(
                body="(target - torch.sigmoid(logits)) / logits.numel()"
            )
        ),
        failing={"bce_grad_derivation"},
        feedback=["sign flipped"],
    ),
    Crafted(
        student="bce_grad_with_respect_to_p",
        answers=submission(
            bce_grad_derivation_answer=GRAD.format(
                body="(-target / torch.sigmoid(logits) + (1 - target) / (1 - torch.sigmoid(logits)))"
                " / logits.numel()"
            )
        ),
        failing={"bce_grad_derivation"},
        feedback=["the derivative with respect to p = σ(z), not z", "chain rule"],
    ),
]
