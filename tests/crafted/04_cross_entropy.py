"""Crafted wrong submissions for 04_cross_entropy: one misconception each, named in the feedback.

Every submission answers every answer cell: the solution's answer everywhere except the one
cell that holds the misconception, so only the checks that this mistake breaks may fail.
"""

from tests.course import ROOT, Crafted, read

SOLUTION = ROOT / "solutions" / "04_cross_entropy" / "cross_entropy.ipynb"


def _solution_answers() -> dict[str, str]:
    answers = {}
    for cell in read(SOLUTION).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
    return answers


CORRECT = _solution_answers()

CE_CELLS = {"cross_entropy_values", "cross_entropy_grad", "cross_entropy_stable"}


def _cross_entropy(body: str) -> dict[str, str]:
    """The solution with ``cross_entropy`` replaced by one whose body is ``body``."""
    return {**CORRECT, "cross_entropy_answer": "def cross_entropy(logits, target):\n" + body}


CRAFTED = [
    Crafted(
        student="missing_minus",
        answers=_cross_entropy(
            "    log_probs = log_softmax(logits)\n"
            "    return log_probs[torch.arange(len(target)), target].mean()\n"
        ),
        failing=CE_CELLS,
        feedback=["missing minus sign"],
    ),
    Crafted(
        student="softmax_twice",
        answers=_cross_entropy(
            "    log_probs = log_softmax(softmax(logits))\n"
            "    return -log_probs[torch.arange(len(target)), target].mean()\n"
        ),
        failing=CE_CELLS,
        feedback=["softmax applied twice"],
    ),
    Crafted(
        student="picks_logit",
        answers=_cross_entropy("    return -logits[torch.arange(len(target)), target].mean()\n"),
        failing=CE_CELLS,
        feedback=["picking the logit without normalising"],
    ),
    Crafted(
        student="log_of_logits",
        answers=_cross_entropy(
            "    return -logits.log()[torch.arange(len(target)), target].mean()\n"
        ),
        failing=CE_CELLS,
        feedback=["log of the logits"],
    ),
    Crafted(
        student="one_hot_vs_index",
        answers=_cross_entropy("    return -(target * log_softmax(logits)).sum(dim=1).mean()\n"),
        failing=CE_CELLS | {"cross_entropy_no_torch_loss"},
        feedback=["class indices vs one-hot confusion"],
    ),
    Crafted(
        student="sum_instead_of_mean",
        answers=_cross_entropy(
            "    log_probs = log_softmax(logits)\n"
            "    return -log_probs[torch.arange(len(target)), target].sum()\n"
        ),
        failing=CE_CELLS,
        feedback=["sum instead of mean"],
    ),
    Crafted(
        student="softmax_no_max_subtraction",
        answers={
            **CORRECT,
            "softmax_answer": (
                "def softmax(logits):\n"
                "    exps = logits.exp()\n"
                "    return exps / exps.sum(dim=-1, keepdim=True)\n"
            ),
        },
        failing={"softmax_stable"},
        feedback=["no max-subtraction"],
    ),
    Crafted(
        student="log_softmax_no_max_subtraction",
        answers={
            **CORRECT,
            "log_softmax_answer": (
                "def log_softmax(logits):\n"
                "    return logits - logits.exp().sum(dim=-1, keepdim=True).log()\n"
            ),
        },
        # cross_entropy is built on log_softmax, so it overflows too.
        failing={"log_softmax_stable", "cross_entropy_stable"},
        feedback=["no max-subtraction"],
    ),
    Crafted(
        student="smoothing_over_c_minus_1",
        answers={
            **CORRECT,
            "cross_entropy_smooth_answer": (
                "def cross_entropy_smooth(logits, target, label_smoothing=0.0):\n"
                "    num_classes = logits.shape[-1]\n"
                "    log_probs = log_softmax(logits)\n"
                "    smoothed = torch.full_like(log_probs, label_smoothing / (num_classes - 1))\n"
                "    smoothed[torch.arange(len(target)), target] = 1 - label_smoothing\n"
                "    return -(smoothed * log_probs).sum(dim=-1).mean()\n"
            ),
        },
        failing={"cross_entropy_smooth_values"},
        feedback=["label smoothing spread over C − 1 classes"],
    ),
    Crafted(
        student="double_softmax_not_fixed",
        answers={
            **CORRECT,
            "make_model_answer": (
                "def make_model():\n"
                "    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, C), nn.Softmax(dim=1))\n"
            ),
        },
        failing={"make_model_logits", "make_model_trains"},
        feedback=["softmax applied twice"],
    ),
    Crafted(
        student="grad_ratio_upside_down",
        answers={
            **CORRECT,
            "grad_ratio_answer": CORRECT["grad_ratio_answer"].replace(
                "grad_ratio = buggy_grad_norm / fixed_grad_norm",
                "grad_ratio = fixed_grad_norm / buggy_grad_norm",
            ),
        },
        failing={"grad_ratio_value"},
        feedback=["the ratio upside down"],
    ),
    Crafted(
        student="ce_grad_one_hot_left_out",
        answers={
            **CORRECT,
            "cross_entropy_grad_derivation_answer": (
                "def cross_entropy_grad(logits, target):\n"
                "    return torch.softmax(logits, dim=-1) / logits.shape[0]\n"
            ),
        },
        failing={"cross_entropy_grad_derivation"},
        feedback=["the one-hot term left out"],
    ),
    Crafted(
        student="ce_grad_mean_over_every_element",
        answers={
            **CORRECT,
            "cross_entropy_grad_derivation_answer": (
                "def cross_entropy_grad(logits, target):\n"
                "    one_hot = torch.zeros_like(logits)\n"
                "    one_hot[torch.arange(len(target)), target] = 1.0\n"
                "    return (torch.softmax(logits, dim=-1) - one_hot) / logits.numel()\n"
            ),
        },
        failing={"cross_entropy_grad_derivation"},
        feedback=["divided by N·C instead of N"],
    ),
    Crafted(
        student="ce_grad_sum_not_mean",
        answers={
            **CORRECT,
            "cross_entropy_grad_derivation_answer": (
                "def cross_entropy_grad(logits, target):\n"
                "    one_hot = torch.zeros_like(logits)\n"
                "    one_hot[torch.arange(len(target)), target] = 1.0\n"
                "    return torch.softmax(logits, dim=-1) - one_hot\n"
            ),
        },
        failing={"cross_entropy_grad_derivation"},
        feedback=["missing 1/N"],
    ),
]
