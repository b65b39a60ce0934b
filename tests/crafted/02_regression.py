"""Crafted wrong submissions for chapter 02 (regression): one misconception each.

Every submission fills every answer cell; only the cell named in its student id
holds the mistake, so exactly the checks of that behaviour lose their points.
"""

from tests.course import Crafted

HAND = "mse_by_hand = {value}\n"

MSE = "def mse(pred, target):\n    return {body}\n"
MAE = "def mae(pred, target):\n    return {body}\n"
HUBER = """\
def huber(pred, target, delta=1.0):
    residual = pred - target
    absolute = residual.abs()
    return torch.where({condition}, {quadratic}, {linear}).mean()
"""

RIGHT = {
    "mse_by_hand_answer": HAND.format(value=0.5625),
    "mse_answer": MSE.format(body="((pred - target) ** 2).mean()"),
    "mae_answer": MAE.format(body="(pred - target).abs().mean()"),
    "huber_answer": HUBER.format(
        condition="absolute <= delta",
        quadratic="0.5 * residual**2",
        linear="delta * (absolute - 0.5 * delta)",
    ),
}


def submission(**wrong: str) -> dict[str, str]:
    """The right answers, with the given answer cells replaced."""
    return {**RIGHT, **wrong}


CRAFTED = [
    Crafted(
        student="hand_sum_instead_of_mean",
        answers=submission(mse_by_hand_answer=HAND.format(value=2.25)),
        failing={"mse_by_hand_check"},
        feedback=["sum instead of mean", "Divide by the number of elements"],
    ),
    Crafted(
        student="hand_missing_square",
        answers=submission(mse_by_hand_answer=HAND.format(value=0.375)),
        failing={"mse_by_hand_check"},
        feedback=["missing square"],
    ),
    Crafted(
        student="mse_missing_one_over_n",
        answers=submission(mse_answer=MSE.format(body="((pred - target) ** 2).sum()")),
        failing={"mse_values", "mse_grad"},
        feedback=["sum instead of mean (missing 1/N)"],
    ),
    Crafted(
        student="mse_missing_square",
        answers=submission(mse_answer=MSE.format(body="(pred - target).mean()")),
        failing={"mse_values", "mse_grad"},
        feedback=["missing square", "Square each difference"],
    ),
    Crafted(
        student="mse_calls_torch",
        answers=submission(mse_answer=MSE.format(body="torch.nn.MSELoss()(pred, target)")),
        failing={"mse_no_torch_loss"},
        feedback=["a ready-made loss that this exercise asks you to write yourself"],
    ),
    Crafted(
        student="mae_missing_abs",
        answers=submission(mae_answer=MAE.format(body="(pred - target).mean()")),
        failing={"mae_values", "mae_grad"},
        feedback=["missing absolute value"],
    ),
    Crafted(
        student="mae_sum_instead_of_mean",
        answers=submission(mae_answer=MAE.format(body="(pred - target).abs().sum()")),
        failing={"mae_values", "mae_grad"},
        feedback=["sum instead of mean"],
    ),
    Crafted(
        student="huber_swapped_branches",
        answers=submission(
            huber_answer=HUBER.format(
                condition="absolute > delta",
                quadratic="0.5 * residual**2",
                linear="delta * (absolute - 0.5 * delta)",
            )
        ),
        failing={"huber_values", "huber_delta", "huber_grad"},
        feedback=["Huber's two pieces swapped"],
    ),
    Crafted(
        # Smooth L1 with beta = delta: right at delta = 1, off by the factor delta elsewhere.
        student="huber_delta_scaling",
        answers=submission(
            huber_answer=HUBER.format(
                condition="absolute <= delta",
                quadratic="0.5 * residual**2 / delta",
                linear="absolute - 0.5 * delta",
            )
        ),
        failing={"huber_delta", "huber_grad"},
        feedback=["smooth L1 instead of Huber"],
    ),
    Crafted(
        # The linear piece's gradient is still right: only the values lose their points.
        student="huber_missing_offset",
        answers=submission(
            huber_answer=HUBER.format(
                condition="absolute <= delta",
                quadratic="0.5 * residual**2",
                linear="delta * absolute",
            )
        ),
        failing={"huber_values", "huber_delta"},
        feedback=["missing −½δ in Huber's linear part"],
    ),
]
