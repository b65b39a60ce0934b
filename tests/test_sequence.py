"""CTC loss: alignments enumerated by hand and by brute force, torch parity, gradients."""

from __future__ import annotations

import inspect
import itertools
import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import lossbook.functional as lb_F
from lossbook.losses._validation import ClassIndexError, LossInputError
from tests.parity import TOLERANCES, assert_gradcheck, assert_same_loss

INF = float("inf")

# Three steps over the symbols (blank, a, b); each row sums to 1.
STEP_PROBS = torch.tensor([[0.5, 0.3, 0.2], [0.2, 0.4, 0.4], [0.1, 0.2, 0.7]], dtype=torch.float64)


def unbatched_ctc(log_probs: torch.Tensor, target: list[int], **kwargs) -> torch.Tensor:
    return lb_F.ctc_loss(
        log_probs,
        torch.tensor(target, dtype=torch.long),
        (log_probs.shape[0],),
        (len(target),),
        **kwargs,
    )


def brute_force_probability(probs: torch.Tensor, target: list[int], blank: int) -> float:
    """Σ over every length-T path that collapses to ``target`` of Π_t probs[t, path_t]."""
    time_steps, num_classes = probs.shape
    total = 0.0
    for path in itertools.product(range(num_classes), repeat=time_steps):
        merged = [symbol for i, symbol in enumerate(path) if i == 0 or symbol != path[i - 1]]
        if [symbol for symbol in merged if symbol != blank] == target:
            total += math.prod(probs[t, symbol].item() for t, symbol in enumerate(path))
    return total


def random_ctc_case(
    seed: int,
    *,
    time_steps: int,
    batch_size: int,
    num_classes: int,
    max_target: int,
    blank: int = 0,
    dtype: torch.dtype = torch.float64,
):
    """Logits (T, N, C), padded targets (N, S) padded with -1, and lengths (some 0, some < T)."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn((time_steps, batch_size, num_classes), generator=generator, dtype=dtype)
    labels = [c for c in range(num_classes) if c != blank]
    index = torch.randint(0, len(labels), (batch_size, max_target), generator=generator)
    targets = torch.tensor(labels)[index]
    target_lengths = torch.randint(0, max_target + 1, (batch_size,), generator=generator)
    input_lengths = torch.randint(0, time_steps + 1, (batch_size,), generator=generator)
    input_lengths[0] = time_steps
    positions = torch.arange(max_target)
    targets = torch.where(positions < target_lengths.unsqueeze(1), targets, -1)
    return logits, targets, input_lengths, target_lengths


def concatenated(targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    rows = zip(targets, target_lengths.tolist(), strict=True)
    return torch.cat([row[:length] for row, length in rows])


# --- hand-computed values ---------------------------------------------------


def test_target_ab_sums_five_alignments_by_hand():
    """The length-3 paths that collapse to "ab": aab, abb, -ab, a-b, ab-."""
    p = STEP_PROBS
    blank, a, b = 0, 1, 2
    alignments = [(a, a, b), (a, b, b), (blank, a, b), (a, blank, b), (a, b, blank)]
    aab, abb, _ab = 0.3 * 0.4 * 0.7, 0.3 * 0.4 * 0.7, 0.5 * 0.4 * 0.7
    a_b, ab_ = 0.3 * 0.2 * 0.7, 0.3 * 0.4 * 0.1
    by_hand = aab + abb + _ab + a_b + ab_
    assert by_hand == pytest.approx(0.362, abs=1e-15)
    assert sum(math.prod(p[t, s].item() for t, s in enumerate(al)) for al in alignments) == (
        pytest.approx(by_hand, rel=1e-15)
    )
    loss = unbatched_ctc(p.log(), [a, b], reduction="none")
    assert loss.shape == ()
    assert loss.item() == pytest.approx(-math.log(0.362), rel=1e-14)
    # "mean" divides by the target length, 2
    assert unbatched_ctc(p.log(), [a, b]).item() == pytest.approx(-math.log(0.362) / 2, rel=1e-14)


def test_repeated_label_needs_a_blank_between_copies():
    p = STEP_PROBS
    # "aa" in three steps: only a-a
    assert unbatched_ctc(p.log(), [1, 1], reduction="sum").item() == pytest.approx(
        -math.log(0.3 * 0.2 * 0.2), rel=1e-14
    )
    # ... and no alignment at all in two steps: infinite loss, or 0 with zero_infinity
    assert unbatched_ctc(p[:2].log(), [1, 1], reduction="sum").item() == INF
    assert unbatched_ctc(p[:2].log(), [1, 1], reduction="sum", zero_infinity=True).item() == 0


def test_empty_target_is_all_blanks():
    p = STEP_PROBS
    assert unbatched_ctc(p.log(), [], reduction="sum").item() == pytest.approx(
        -math.log(0.5 * 0.2 * 0.1), rel=1e-14
    )
    # "mean" divides an empty target's loss by max(0, 1) = 1
    assert unbatched_ctc(p.log(), []).item() == pytest.approx(-math.log(0.5 * 0.2 * 0.1), rel=1e-14)


def test_zero_input_length():
    """No time steps: the empty target has probability 1, any other target 0."""
    log_probs = STEP_PROBS.log().unsqueeze(1).expand(3, 2, 3)
    loss = lb_F.ctc_loss(log_probs, torch.tensor([[1], [1]]), (0, 0), (0, 1), reduction="none")
    assert loss.tolist() == [0.0, INF]


def test_blank_can_be_any_class():
    p = STEP_PROBS
    # blank = 2 ("b" above), labels a = 1 and 0: paths for "1 0" are the "ab" paths relabelled
    relabelled = p[:, [2, 1, 0]]  # column c of p is now class 2 - c
    loss = unbatched_ctc(relabelled.log(), [1, 0], blank=2, reduction="sum")
    assert loss.item() == pytest.approx(-math.log(0.362), rel=1e-14)


def test_one_step_per_label_is_a_sum_of_nll_losses():
    """T = L and no label repeated back to back: the only alignment is the target itself."""
    generator = torch.Generator().manual_seed(14)
    log_probs = torch.randn((6, 5), generator=generator, dtype=torch.float64).log_softmax(-1)
    target = torch.tensor([3, 1, 4, 1, 2, 4])
    loss = lb_F.ctc_loss(log_probs, target, (6,), (6,), reduction="sum")
    expected = torch_F.nll_loss(log_probs, target, reduction="sum")
    torch.testing.assert_close(loss, expected, **TOLERANCES[torch.float64])


def test_signature_is_torchs():
    expected = inspect.signature(torch_F.ctc_loss).parameters.values()
    ours = inspect.signature(lb_F.ctc_loss).parameters.values()
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in expected
    ]


# --- brute force over all alignments -----------------------------------------


@given(
    time_steps=st.integers(min_value=1, max_value=5),
    num_classes=st.integers(min_value=2, max_value=3),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    data=st.data(),
)
def test_equals_minus_log_of_the_sum_over_all_alignments(time_steps, num_classes, seed, data):
    blank = data.draw(st.integers(min_value=0, max_value=num_classes - 1), label="blank")
    labels = [c for c in range(num_classes) if c != blank]
    target = data.draw(st.lists(st.sampled_from(labels), max_size=3), label="target")
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.randn((time_steps, num_classes), generator=generator, dtype=torch.float64)
    log_probs = log_probs.log_softmax(-1)
    probability = brute_force_probability(log_probs.exp(), target, blank)
    loss = unbatched_ctc(log_probs, target, blank=blank, reduction="sum").item()
    if probability == 0:
        assert loss == INF
    else:
        assert loss == pytest.approx(-math.log(probability), rel=1e-12, abs=1e-13)
        assert loss >= 0


# --- parity with torch -------------------------------------------------------

PARITY_CASES = [
    # (seed, T, N, C, S, blank)
    (0, 6, 3, 4, 3, 0),
    (1, 12, 4, 6, 5, 0),
    (2, 1, 2, 3, 1, 0),
    (3, 9, 3, 5, 4, 4),
    (4, 7, 5, 3, 3, 1),
    (5, 20, 2, 8, 9, 0),
]


@pytest.mark.parametrize("case", PARITY_CASES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_parity_padded_and_concatenated(case, reduction, zero_infinity, dtype):
    seed, time_steps, batch_size, num_classes, max_target, blank = case
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        seed,
        time_steps=time_steps,
        batch_size=batch_size,
        num_classes=num_classes,
        max_target=max_target,
        blank=blank,
        dtype=dtype,
    )
    log_probs = logits.log_softmax(-1)
    options = {"blank": blank, "reduction": reduction, "zero_infinity": zero_infinity}
    for form in (targets, concatenated(targets, target_lengths)):
        assert_same_loss(
            "ctc_loss", log_probs, form, input_lengths, target_lengths, grad=False, **options
        )
    assert_same_gradient_through_log_softmax(
        logits, targets, input_lengths, target_lengths, **options
    )


def assert_same_gradient_through_log_softmax(logits, *args, **kwargs) -> None:
    """Gradients w.r.t. the logits agree with torch's (those w.r.t. log_probs do not, see below).

    Sequences with an infinite loss are left out unless ``zero_infinity``:
    torch's gradient for them is NaN, lossbook's 0 (tested separately).
    """
    ours_logits = logits.detach().clone().requires_grad_(True)
    torch_logits = logits.detach().clone().requires_grad_(True)
    ours = lb_F.ctc_loss(ours_logits.log_softmax(-1), *args, **kwargs)
    expected = torch_F.ctc_loss(torch_logits.log_softmax(-1), *args, **kwargs)
    weights = torch.linspace(0.5, 1.5, expected.numel(), dtype=expected.dtype)
    weights = weights.reshape(expected.shape)
    (ours_grad,) = torch.autograd.grad(ours, ours_logits, weights)
    (torch_grad,) = torch.autograd.grad(expected, torch_logits, weights)
    assert torch.isfinite(ours_grad).all()
    if logits.dim() == 2:  # unbatched: one sequence, (T, C)
        ours_grad, torch_grad = ours_grad.unsqueeze(1), torch_grad.unsqueeze(1)
    finite = ~torch_grad.isnan().any(dim=2).any(dim=0)
    assert finite.any()
    tolerance = TOLERANCES[expected.dtype]
    torch.testing.assert_close(ours_grad[:, finite], torch_grad[:, finite], **tolerance)


@pytest.mark.parametrize("lengths_as", [tuple, list, torch.tensor])
def test_lengths_as_tensors_tuples_or_lists(lengths_as):
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        6, time_steps=8, batch_size=3, num_classes=5, max_target=3
    )
    il, tl = lengths_as(input_lengths.tolist()), lengths_as(target_lengths.tolist())
    assert_same_loss("ctc_loss", logits.log_softmax(-1), targets, il, tl, grad=False)
    assert_same_loss(
        "ctc_loss",
        logits.log_softmax(-1),
        concatenated(targets, target_lengths),
        il,
        tl,
        reduction="none",
        grad=False,
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    "lengths",
    [(torch.tensor(7), torch.tensor(3)), (torch.tensor([7]), torch.tensor([3])), ((7,), (3,))],
)
@pytest.mark.parametrize("padded", [False, True])
def test_parity_unbatched(reduction, lengths, padded):
    logits = torch.randn((7, 4), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    targets = torch.tensor([[1, 3, 3, 0, 0]]) if padded else torch.tensor([1, 3, 3])
    value = assert_same_loss(
        "ctc_loss", logits.log_softmax(-1), targets, *lengths, reduction=reduction, grad=False
    )
    assert value.shape == ()
    assert_same_gradient_through_log_softmax(logits, targets, *lengths, reduction=reduction)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_parity_long_sequences(dtype):
    """T = 150: every path probability underflows in linear space; log space does not care."""
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        8, time_steps=150, batch_size=3, num_classes=6, max_target=40, dtype=dtype
    )
    value = assert_same_loss(
        "ctc_loss",
        logits.log_softmax(-1),
        targets,
        input_lengths,
        target_lengths,
        reduction="none",
        zero_infinity=True,
        grad=False,
    )
    assert value[0] > 104  # exp(−loss) < 1e-45: the probability itself underflows float32
    assert_same_gradient_through_log_softmax(
        logits, targets, input_lengths, target_lengths, zero_infinity=True
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_parity_extreme_logits(dtype):
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        9, time_steps=10, batch_size=4, num_classes=5, max_target=3, dtype=dtype
    )
    logits = logits * 1e3
    args = (targets, input_lengths, target_lengths)
    assert_same_loss("ctc_loss", logits.log_softmax(-1), *args, reduction="none", grad=False)
    if dtype == torch.float64:
        assert_same_gradient_through_log_softmax(logits, *args, zero_infinity=True)
        return
    # In float32 torch's gradient exp(y) − exp(log αβ + loss − y) loses about 4e-5 to
    # cancellation when the loss is in the thousands; autograd's does not. Both are
    # compared with the float64 gradient (on which lossbook and torch agree, above).
    exact = ctc_logit_gradient(lb_F.ctc_loss, logits.double(), *args)
    ours = ctc_logit_gradient(lb_F.ctc_loss, logits, *args)
    torch.testing.assert_close(ours.double(), exact, rtol=1e-5, atol=1e-8)


def ctc_logit_gradient(loss_fn, logits, *args) -> torch.Tensor:
    logits = logits.detach().clone().requires_grad_(True)
    loss = loss_fn(logits.log_softmax(-1), *args, zero_infinity=True)
    return torch.autograd.grad(loss, logits)[0]


def test_zero_probabilities_give_finite_gradients():
    """log_probs of -inf (probability exactly 0): values match torch, gradients stay finite."""
    one_hot_path = torch.tensor([1, 0, 2, 2])  # a - b b: the only possible path, it reads "ab"
    log_probs = torch_F.one_hot(one_hot_path, 3).double().log().unsqueeze(1).requires_grad_(True)
    targets, lengths = torch.tensor([[1, 2], [2, 1]]), (4, 4)
    log_probs_2 = log_probs.expand(4, 2, 3)
    expected = torch_F.ctc_loss(log_probs_2, targets, lengths, (2, 2), reduction="none")
    loss = lb_F.ctc_loss(log_probs_2, targets, lengths, (2, 2), reduction="none")
    assert loss.tolist() == expected.tolist() == [0.0, INF]
    kept = lb_F.ctc_loss(log_probs_2, targets, lengths, (2, 2), zero_infinity=True, reduction="sum")
    (grad,) = torch.autograd.grad(kept, log_probs)
    assert torch.isfinite(grad).all()


# --- gradients ---------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_torch_gradient_wrt_log_probs_is_ours_plus_exp_log_probs(reduction):
    """torch's backward returns exp(y) − γ (the logit gradient); the exact derivative is −γ."""
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        10, time_steps=6, batch_size=3, num_classes=4, max_target=2
    )
    input_lengths = torch.tensor([6, 4, 5])  # all alignments possible: no NaN in torch's gradient
    args = (targets, input_lengths, target_lengths)
    ours_lp = logits.log_softmax(-1).detach().requires_grad_(True)
    torch_lp = ours_lp.detach().clone().requires_grad_(True)
    (ours_grad,) = torch.autograd.grad(lb_F.ctc_loss(ours_lp, *args, reduction=reduction), ours_lp)
    torch_loss = torch_F.ctc_loss(torch_lp, *args, reduction=reduction)
    (torch_grad,) = torch.autograd.grad(torch_loss, torch_lp)
    per_sequence = torch.ones(3, dtype=torch.float64)
    if reduction == "mean":
        per_sequence = 1 / (3 * target_lengths.clamp_min(1).double())
    valid_steps = torch.arange(6).unsqueeze(1) < input_lengths  # (T, N)
    exp_term = ours_lp.detach().exp() * (valid_steps * per_sequence).unsqueeze(-1)
    torch.testing.assert_close(torch_grad, ours_grad + exp_term, **TOLERANCES[torch.float64])
    assert (ours_grad[~valid_steps] == 0).all()  # steps past a sequence's end get no gradient


def test_infinite_losses_get_zero_gradient_never_nan():
    generator = torch.Generator().manual_seed(11)
    logits = torch.randn((3, 2, 4), generator=generator, dtype=torch.float64)
    targets = torch.tensor([[1, 1, 1], [2, 3, 0]])  # "111" needs 5 steps; "23" fits in 3
    args = (targets, (3, 3), (3, 2))
    for zero_infinity in (False, True):
        log_probs = logits.log_softmax(-1).detach().requires_grad_(True)
        loss = lb_F.ctc_loss(log_probs, *args, reduction="none", zero_infinity=zero_infinity)
        assert loss[0].item() == (0.0 if zero_infinity else INF)
        (grad,) = torch.autograd.grad(loss.sum(), log_probs)
        # sequence 0 gets exactly zero (torch: NaN unless zero_infinity), sequence 1 its own
        assert torch.isfinite(grad).all()
        assert (grad[:, 0] == 0).all()
        alone = lb_F.ctc_loss(log_probs[:, 1], targets[1, :2], (3,), (2,), reduction="sum")
        (grad_alone,) = torch.autograd.grad(alone, log_probs)
        torch.testing.assert_close(grad[:, 1], grad_alone[:, 1], rtol=0, atol=0)
    torch_lp = logits.log_softmax(-1).detach().requires_grad_(True)
    torch_loss = torch_F.ctc_loss(torch_lp, *args, reduction="sum")
    (torch_grad,) = torch.autograd.grad(torch_loss, torch_lp)
    assert torch_grad[:, 0].isnan().all()


def test_gradcheck_batched():
    logits, targets, input_lengths, target_lengths = random_ctc_case(
        12, time_steps=5, batch_size=3, num_classes=3, max_target=2
    )
    # log_probs need not be normalised: the gradient is the exact one for any input
    assert_gradcheck("ctc_loss", logits, targets, input_lengths, target_lengths, zero_infinity=True)
    assert_gradcheck(
        "ctc_loss",
        logits.log_softmax(-1),
        concatenated(targets, target_lengths),
        input_lengths,
        target_lengths,
        reduction="sum",
        zero_infinity=True,
    )


def test_gradcheck_unbatched_with_repeats():
    logits = torch.randn((5, 3), generator=torch.Generator().manual_seed(13), dtype=torch.float64)
    assert_gradcheck("ctc_loss", logits, torch.tensor([2, 2, 1]), (5,), (3,), reduction="none")


# --- bad input ---------------------------------------------------------------


def test_errors_name_the_problem():
    log_probs = torch.randn(6, 2, 4).log_softmax(-1)
    targets, lengths = torch.tensor([[1, 2], [3, 3]]), (6, 6)

    def ctc(*args, **kwargs):
        return lb_F.ctc_loss(*args, **kwargs)

    with pytest.raises(LossInputError, match=r"blank=4.*\[0, 3\]"):
        ctc(log_probs, targets, lengths, (2, 2), blank=4)
    with pytest.raises(LossInputError, match="input_lengths contains 7.*T=6"):
        ctc(log_probs, targets, (7, 6), (2, 2))
    with pytest.raises(LossInputError, match="target_lengths has 3 entries.*N=2"):
        ctc(log_probs, targets, lengths, (2, 2, 2))
    with pytest.raises(LossInputError, match="input_lengths contains -1"):
        ctc(log_probs, targets, (-1, 6), (2, 2))
    with pytest.raises(LossInputError, match="input_lengths has dtype torch.float32"):
        ctc(log_probs, targets, torch.tensor([6.0, 6.0]), (2, 2))
    with pytest.raises(LossInputError, match=r"S at least the longest target length \(3\)"):
        ctc(log_probs, targets, lengths, (3, 2))
    with pytest.raises(LossInputError, match=r"sum\(target_lengths\) = 4 entries.*has 3"):
        ctc(log_probs, torch.tensor([1, 2, 3]), lengths, (2, 2))
    with pytest.raises(LossInputError, match=r"targets has dtype torch.float32.*targets.long\(\)"):
        ctc(log_probs, targets.float(), lengths, (2, 2))
    with pytest.raises(ClassIndexError, match="class index 4.*C=4"):
        ctc(log_probs, torch.tensor([[1, 4], [3, 3]]), lengths, (2, 2))
    with pytest.raises(LossInputError, match="blank index 0"):
        ctc(log_probs, torch.tensor([[1, 0], [3, 3]]), lengths, (2, 2))
    with pytest.raises(LossInputError, match=r"\(N, T, C\).*transpose"):
        ctc(log_probs.unsqueeze(0), targets, lengths, (2, 2))
    with pytest.raises(LossInputError, match="must not be empty"):
        ctc(log_probs[:, :0], targets[:0], (), ())
    with pytest.raises(LossInputError, match="reduction='batchmean'"):
        ctc(log_probs, targets, lengths, (2, 2), reduction="batchmean")


def test_padding_values_are_ignored():
    log_probs = torch.randn(6, 2, 4, dtype=torch.float64).log_softmax(-1)
    padded_with_junk = torch.tensor([[1, 2, -100], [3, 77, 5]])
    padded_with_blank = torch.tensor([[1, 2, 0], [3, 0, 0]])
    torch.testing.assert_close(
        lb_F.ctc_loss(log_probs, padded_with_junk, (6, 5), (2, 1), reduction="none"),
        lb_F.ctc_loss(log_probs, padded_with_blank, (6, 5), (2, 1), reduction="none"),
        rtol=0,
        atol=0,
    )
