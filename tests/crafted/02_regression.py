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

FINITE_DIFFERENCE = """\
def finite_difference(f, x, h=1e-6):
    flat = x.detach().clone().reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = h
        grad[i] = ({above} - {below}) / {divisor}
    return grad.reshape(x.shape)
"""
ABOVE = "f((flat + step).reshape(x.shape))"
BELOW = "f((flat - step).reshape(x.shape))"
HUBER_DERIVATIVE = """\
def huber_derivative(residual, delta=1.0):
    return {body}
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
    "finite_difference_answer": FINITE_DIFFERENCE.format(
        above=ABOVE, below=BELOW, divisor="(2 * h)"
    ),
    "huber_derivative_answer": HUBER_DERIVATIVE.format(
        body="torch.where(residual.abs() <= delta, residual, delta * torch.sign(residual))"
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
    Crafted(
        # Right, with another subgradient at r = 0 (1 instead of torch's 0): full marks.
        student="mae_where_subgradient",
        answers=submission(
            mae_answer=MAE.format(
                body="torch.where(pred - target >= 0, pred - target, target - pred).mean()"
            )
        ),
        failing=set(),
        feedback=[],
    ),
    Crafted(
        student="finite_difference_divides_by_h",
        answers=submission(
            finite_difference_answer=FINITE_DIFFERENCE.format(above=ABOVE, below=BELOW, divisor="h")
        ),
        failing={"finite_difference_values"},
        feedback=["divided by h instead of 2h"],
    ),
    Crafted(
        student="finite_difference_one_sided",
        answers=submission(
            finite_difference_answer=FINITE_DIFFERENCE.format(
                above=ABOVE, below="f(x)", divisor="h"
            )
        ),
        failing={"finite_difference_values"},
        feedback=["one-sided", "central difference"],
    ),
    Crafted(
        student="finite_difference_all_at_once",
        answers=submission(
            finite_difference_answer=FINITE_DIFFERENCE.format(
                above="f(x + h)", below="f(x - h)", divisor="(2 * h)"
            )
        ),
        failing={"finite_difference_values"},
        feedback=["every element moved at once"],
    ),
    Crafted(
        student="huber_derivative_quadratic_everywhere",
        answers=submission(huber_derivative_answer=HUBER_DERIVATIVE.format(body="residual")),
        failing={"huber_derivative_values"},
        feedback=["the quadratic piece everywhere"],
    ),
    Crafted(
        student="huber_derivative_without_sign",
        answers=submission(
            huber_derivative_answer=HUBER_DERIVATIVE.format(
                body="torch.where(residual.abs() <= delta, residual, delta + 0 * residual)"
            )
        ),
        failing={"huber_derivative_values"},
        feedback=["the sign of the linear piece lost"],
    ),
]
