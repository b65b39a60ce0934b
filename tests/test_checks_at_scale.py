"""Chapter 9's checks: every correct way passes, each crafted mistake is named."""

import pytest
import torch

from lossbook.checks.at_scale import (
    check_chunked_cross_entropy,
    check_online_logsumexp,
    split_columns,
)
from lossbook.checks.errors import GradingError


def running(chunks, *, safe=True, rescale=True, subtract_max=True):
    running_max = torch.full_like(chunks[0][:, 0], float("-inf"))
    running_sum = torch.zeros_like(running_max)
    for chunk in chunks:
        new_max = torch.maximum(running_max, chunk.max(dim=1).values)
        if not subtract_max:
            new_max = torch.zeros_like(new_max)
        shift = torch.where(new_max == float("-inf"), 0.0, new_max) if safe else new_max
        old = running_sum * torch.exp(running_max - shift) if rescale else running_sum
        running_sum = old + torch.exp(chunk - shift[:, None]).sum(dim=1)
        running_max = new_max
    return running_max + torch.log(running_sum)


def by_logaddexp(chunks):
    lse = torch.full_like(chunks[0][:, 0], float("-inf"))
    for chunk in chunks:
        lse = torch.logaddexp(lse, torch.logsumexp(chunk, dim=1))
    return lse


@pytest.mark.parametrize("fn", [running, by_logaddexp])
@pytest.mark.parametrize("seed", [0, 100])
def test_correct_online_logsumexps_pass(fn, seed):
    check_online_logsumexp(fn, seed=seed)


@pytest.mark.parametrize(
    "fn, key",
    [
        (lambda c: running(c, safe=False), "online_lse_masked_chunk_nan"),
        (lambda c: running(c, rescale=False), "online_lse_no_rescale"),
        (lambda c: sum(torch.logsumexp(x, dim=1) for x in c), "sum_of_chunk_lse"),
        (
            lambda c: torch.stack([torch.logsumexp(x, 1) for x in c]).max(0).values,
            "max_of_chunk_lse",
        ),
        (lambda c: torch.log(sum(x.exp().sum(1) for x in c)), "online_lse_no_max_subtraction"),
    ],
)
def test_online_logsumexp_mistakes_are_named(fn, key):
    with pytest.raises(GradingError) as caught:
        check_online_logsumexp(fn)
    assert caught.value.mistake is not None and caught.value.mistake.key == key, str(caught.value)


def test_split_columns_keeps_every_column_in_order():
    logits = torch.arange(14.0).reshape(2, 7)
    assert torch.equal(torch.cat(split_columns(logits, 3), dim=1), logits)


def chunked(hidden, weight, target, chunk_size, *, returned="mean"):
    lse = torch.full((hidden.shape[0],), float("-inf"), dtype=hidden.dtype)
    for block in torch.split(weight, chunk_size):
        lse = torch.logaddexp(lse, torch.logsumexp(hidden @ block.T, dim=1))
    target_logit = (hidden * weight[target]).sum(dim=1)
    losses = {
        "mean": lse - target_logit,
        "sum": lse - target_logit,
        "picks": -target_logit,
        "sign": target_logit - lse,
    }[returned]
    return losses.sum() if returned == "sum" else losses.mean()


def test_chunked_cross_entropy_passes_and_mistakes_are_named():
    check_chunked_cross_entropy(chunked, seed=0)
    check_chunked_cross_entropy(chunked, seed=100)
    for returned, key in [
        ("sum", "chunked_ce_sum_instead_of_mean"),
        ("picks", "picks_logit_unnormalised"),
        ("sign", "chunked_ce_missing_minus"),
    ]:
        with pytest.raises(GradingError) as caught:
            check_chunked_cross_entropy(lambda *a, r=returned: chunked(*a, returned=r))
        assert caught.value.mistake.key == key


def test_making_the_whole_matrix_is_named_in_both_exercises():
    from lossbook.checks.at_scale import check_one_chunk_at_a_time

    check_one_chunk_at_a_time(running, exercise="online_logsumexp")
    check_one_chunk_at_a_time(by_logaddexp, exercise="online_logsumexp")
    check_one_chunk_at_a_time(chunked)
    whole = [
        (lambda c: torch.logsumexp(torch.cat(list(c), dim=1), dim=1), "online_logsumexp"),
        (lambda h, w, y, c: torch.nn.functional.cross_entropy(h @ w.T, y), "chunked"),
    ]
    for fn, exercise in whole:
        with pytest.raises(GradingError) as caught:
            check_one_chunk_at_a_time(fn, exercise=exercise)
        assert caught.value.mistake.key == "whole_logit_matrix"
