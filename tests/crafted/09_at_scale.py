"""Crafted wrong submissions for chapter 09 (cross-entropy at scale): one misconception each.

Every submission fills every answer cell; only the cell named in its student id holds the
mistake, so exactly the checks of that behaviour lose their points.
"""

from tests.course import Crafted

GIB = "logits_gib = {expression}\n"

ONLINE = """\
def online_logsumexp(chunks):
    running_max = torch.full_like(chunks[0][:, 0], float("-inf"))
    running_sum = torch.zeros_like(running_max)
    for chunk in chunks:
        new_max = torch.maximum(running_max, chunk.max(dim=1).values)
        shift = {shift}
        running_sum = {rescaled} + torch.exp(chunk - shift[:, None]).sum(dim=1)
        running_max = new_max
    return running_max + torch.log(running_sum)
"""
SAFE_SHIFT = "torch.where(new_max == float('-inf'), torch.zeros_like(new_max), new_max)"
RESCALED = "running_sum * torch.exp(running_max - shift)"

SUM_OF_LSE = """\
def online_logsumexp(chunks):
    return sum(torch.logsumexp(chunk, dim=1) for chunk in chunks)
"""

CHUNKED = """\
def chunked_cross_entropy(hidden, weight, target, chunk_size):
    lse = hidden.new_full((hidden.shape[0],), float("-inf"))
    for block in torch.split(weight, chunk_size):
        lse = torch.logaddexp(lse, torch.logsumexp(hidden @ block.T, dim=1))
    target_logit = (hidden * weight[target]).sum(dim=1)
    return {returned}
"""

RIGHT = {
    "logits_gib_answer": GIB.format(expression="8 * 2048 * 128_256 * 4 / 2**30"),
    "online_lse_answer": ONLINE.format(shift=SAFE_SHIFT, rescaled=RESCALED),
    "chunked_ce_answer": CHUNKED.format(returned="(lse - target_logit).mean()"),
}


def submission(**wrong: str) -> dict[str, str]:
    """The right answers, with the given answer cells replaced."""
    return {**RIGHT, **wrong}


CRAFTED = [
    Crafted(
        student="gib_in_decimal_gigabytes",
        answers=submission(logits_gib_answer=GIB.format(expression="8 * 2048 * 128_256 * 4 / 1e9")),
        failing={"logits_gib_check"},
        feedback=["GB (10**9 bytes) instead of GiB (2**30 bytes)"],
    ),
    Crafted(
        student="gib_forgot_bytes_per_float",
        answers=submission(logits_gib_answer=GIB.format(expression="8 * 2048 * 128_256 / 2**30")),
        failing={"logits_gib_check"},
        feedback=["a float32 takes 4 bytes"],
    ),
    Crafted(
        student="online_lse_no_rescale",
        answers=submission(
            online_lse_answer=ONLINE.format(shift=SAFE_SHIFT, rescaled="running_sum")
        ),
        failing={"online_lse_values"},
        feedback=["the running sum is not rescaled", "multiply the running sum by exp(m − m')"],
    ),
    Crafted(
        student="online_lse_nan_on_masked_chunk",
        answers=submission(online_lse_answer=ONLINE.format(shift="new_max", rescaled=RESCALED)),
        failing={"online_lse_values"},
        feedback=["NaN after a chunk of -inf"],
    ),
    Crafted(
        student="online_lse_sum_of_chunk_lse",
        answers=submission(online_lse_answer=SUM_OF_LSE),
        failing={"online_lse_values"},
        feedback=["the sum of the chunks' log-sum-exps", "torch.logaddexp"],
    ),
    Crafted(
        student="chunked_ce_picks_the_logit",
        answers=submission(chunked_ce_answer=CHUNKED.format(returned="(-target_logit).mean()")),
        failing={"chunked_ce_values"},
        feedback=["picking the logit without normalising"],
    ),
    Crafted(
        student="chunked_ce_sum_instead_of_mean",
        answers=submission(chunked_ce_answer=CHUNKED.format(returned="(lse - target_logit).sum()")),
        failing={"chunked_ce_values"},
        feedback=["sum instead of mean"],
    ),
]
