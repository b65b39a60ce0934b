"""linear_cross_entropy: parity with the materialized loss and with torch's, memory, errors.

Parity is checked against ``F.cross_entropy(h @ W.T + b, y)`` and against
``F.linear_cross_entropy`` (torch's reference path and its chunked path), in
value and in the gradients of ``h``, ``W`` and ``b``: float64 to 1e-10, float32
to 1e-5 (relative, and absolute at the scale of the tensor's largest entry: the
blocks add the logits in another order than one big matrix product does).
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as torch_F

import lossbook.functional as lb_F
from lossbook.losses._validation import ClassIndexError, LossInputError
from lossbook.losses.linear_cross_entropy import (
    DEFAULT_BATCH_CHUNK,
    DEFAULT_VOCAB_CHUNK,
    LinearCrossEntropyOptions,
    linear_cross_entropy,
)

REDUCTIONS = ("none", "mean", "sum")


def _tolerance(dtype: torch.dtype, expected: torch.Tensor) -> dict[str, float]:
    if dtype == torch.float64:
        return {"rtol": 1e-10, "atol": 1e-12}
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    return {"rtol": 1e-5, "atol": max(1e-6, 1e-5 * scale)}


def _case(num_rows=13, features=6, num_classes=37, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(num_rows, features, generator=generator, dtype=dtype)
    weight = torch.randn(num_classes, features, generator=generator, dtype=dtype)
    bias = torch.randn(num_classes, generator=generator, dtype=dtype)
    target = torch.randint(num_classes, (num_rows,), generator=generator)
    if num_rows > 3:
        target[3] = -100  # one padding token
    return hidden, weight, bias, target


def _materialized(hidden, linear_weight, target, *, linear_bias=None, **kwargs):
    logits = hidden @ linear_weight.T
    if linear_bias is not None:
        logits = logits + linear_bias
    kwargs.pop("options", None)
    if kwargs.get("ignore_index") is None:
        kwargs.pop("ignore_index", None)
    return torch_F.cross_entropy(logits, target, **kwargs)


def _torch_linear_cross_entropy(*args, chunked: bool = False, **kwargs):
    kwargs.pop("options", None)
    if chunked:
        kwargs["options"] = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the chunked path falls back with a warning sometimes
        return torch_F.linear_cross_entropy(*args, **kwargs)


def assert_same(reference, hidden, linear_weight, target, **kwargs) -> torch.Tensor:
    """lossbook's value and gradients (h, W and the bias if given) equal ``reference``'s."""
    results = []
    for function in (linear_cross_entropy, reference):
        leaves = [
            hidden.detach().clone().requires_grad_(),
            linear_weight.detach().clone().requires_grad_(),
        ]
        call_kwargs = dict(kwargs)
        if kwargs.get("linear_bias") is not None:
            leaves.append(kwargs["linear_bias"].detach().clone().requires_grad_())
            call_kwargs["linear_bias"] = leaves[-1]
        loss = function(leaves[0], leaves[1], target, **call_kwargs)
        upstream = torch.linspace(0.5, 1.5, loss.numel(), dtype=torch.float64)
        grads = torch.autograd.grad(
            loss, leaves, upstream.reshape(loss.shape).to(loss.dtype), allow_unused=True
        )
        results.append((loss.detach(), *grads))
    for ours, expected in zip(*results, strict=True):
        torch.testing.assert_close(
            ours, expected, equal_nan=True, **_tolerance(hidden.dtype, expected)
        )
    return results[1][0]


REFERENCES = {
    "materialized": _materialized,
    "torch": _torch_linear_cross_entropy,
    "torch_chunked": lambda *a, **k: _torch_linear_cross_entropy(*a, chunked=True, **k),
}
BLOCKS = [
    pytest.param(LinearCrossEntropyOptions(4, 8), id="blocks-4x8-not-dividing"),
    pytest.param(LinearCrossEntropyOptions(1, 1), id="blocks-1x1"),
    pytest.param(LinearCrossEntropyOptions(13, 37), id="one-block"),
    pytest.param(None, id="default-blocks"),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reference", REFERENCES.values(), ids=REFERENCES.keys())
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", BLOCKS)
def test_parity_with_bias_and_ignore_index(options, reduction, reference, dtype):
    hidden, weight, bias, target = _case(dtype=dtype)
    assert_same(
        reference, hidden, weight, target, linear_bias=bias, reduction=reduction, options=options
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reference", ["materialized", "torch"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.1, 1.0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "class-weights"])
def test_parity_with_label_smoothing_and_class_weights(
    weighted, label_smoothing, reduction, reference, dtype
):
    hidden, weight, bias, target = _case(dtype=dtype)
    class_weight = torch.rand(37, generator=torch.Generator().manual_seed(1), dtype=dtype)
    assert_same(
        REFERENCES[reference],
        hidden,
        weight,
        target,
        linear_bias=bias,
        weight=class_weight if weighted else None,
        reduction=reduction,
        label_smoothing=label_smoothing,
        options=LinearCrossEntropyOptions(5, 10),
    )


@pytest.mark.parametrize(
    "options", [LinearCrossEntropyOptions(4, 9), LinearCrossEntropyOptions(3, 12)]
)
def test_blocks_that_divide_the_batch_and_the_vocabulary(options):
    hidden, weight, bias, target = _case(num_rows=12, num_classes=36)
    for reduction in REDUCTIONS:
        assert_same(
            _materialized, hidden, weight, target, linear_bias=bias, reduction=reduction,
            options=options, label_smoothing=0.2,
        )  # fmt: skip


def test_without_a_bias_and_with_a_custom_ignore_index():
    hidden, weight, _, target = _case()
    target[3] = target[5] = 2
    assert_same(_materialized, hidden, weight, target, ignore_index=2, label_smoothing=0.3)
    assert_same(_torch_linear_cross_entropy, hidden, weight, target, ignore_index=2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_one_unbatched_sample(reduction):
    hidden, weight, bias, target = _case(num_rows=1)
    value = assert_same(
        _materialized, hidden[0], weight, target[0], linear_bias=bias, reduction=reduction
    )
    assert value.shape == ()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch(reduction):
    """No rows: "mean" is NaN (0/0), "sum" 0, "none" empty; the gradients are zeros."""
    hidden, weight, bias, target = _case(num_rows=0)
    value = assert_same(
        _materialized, hidden, weight, target, linear_bias=bias, reduction=reduction,
        label_smoothing=0.1,
    )  # fmt: skip
    assert value.shape == ((0,) if reduction == "none" else ())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_target_ignored(reduction):
    """Σ w_{y_i} = 0: "mean" is NaN as in torch; each row's loss and every gradient is 0."""
    hidden, weight, bias, target = _case()
    ignored = torch.full_like(target, -100)
    value = assert_same(
        _materialized, hidden, weight, ignored, linear_bias=bias, reduction=reduction,
        label_smoothing=0.2,
    )  # fmt: skip
    if reduction == "mean":
        assert value.isnan()
    else:
        assert (value == 0).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_class_probability_targets(label_smoothing, reduction):
    """A float target of the logits' shape: −Σ_c q_c log p_c, its gradient in q too."""
    hidden, weight, bias, _ = _case()
    probs = torch.rand(13, 37, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    probs = probs.softmax(1).requires_grad_()
    ours = linear_cross_entropy(
        hidden, weight, probs, linear_bias=bias, reduction=reduction,
        label_smoothing=label_smoothing, options=LinearCrossEntropyOptions(4, 8),
    )  # fmt: skip
    expected = torch_F.cross_entropy(
        hidden @ weight.T + bias, probs, reduction=reduction, label_smoothing=label_smoothing
    )
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
    (ours_grad,) = torch.autograd.grad(ours.sum(), probs)
    (expected_grad,) = torch.autograd.grad(expected.sum(), probs)
    torch.testing.assert_close(ours_grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_a_k_dimensional_weight_gives_one_softmax_per_position():
    """W of shape (V, d1, D): logits (N, V, d1), as torch's reference path computes them."""
    generator = torch.Generator().manual_seed(3)
    hidden = torch.randn(5, 4, generator=generator, dtype=torch.float64)
    weight = torch.randn(6, 3, 4, generator=generator, dtype=torch.float64)
    bias = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    target = torch.randint(6, (5, 3), generator=generator)
    for reduction in REDUCTIONS:
        assert_same(
            _torch_linear_cross_entropy, hidden, weight, target, linear_bias=bias,
            reduction=reduction, options=LinearCrossEntropyOptions(2, 4),
        )  # fmt: skip


def test_large_logits_stay_finite():
    """The online log-sum-exp subtracts each block's max: logits of ±1e4 do not overflow."""
    hidden, weight, bias, target = _case(dtype=torch.float32)
    loss = assert_same(
        _materialized, 100 * hidden, 100 * weight, target, linear_bias=bias,
        options=LinearCrossEntropyOptions(4, 8),
    )  # fmt: skip
    assert torch.isfinite(loss)


def test_the_autograd_graph_saves_no_n_by_v_tensor():
    """Every tensor autograd keeps for the backward pass is smaller than the logits (N, V)."""
    num_rows, num_classes = 64, 200
    hidden, weight, bias, target = _case(num_rows=num_rows, features=8, num_classes=num_classes)
    leaves = [t.requires_grad_() for t in (hidden, weight, bias)]
    saved_shapes: list[tuple[int, ...]] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved_shapes.append(tuple(tensor.shape))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = linear_cross_entropy(
            hidden, weight, target, linear_bias=bias, label_smoothing=0.1,
            options=LinearCrossEntropyOptions(16, 32),
        )  # fmt: skip
    assert saved_shapes  # the hook sees what the graph saves
    assert max(map(_numel, saved_shapes)) < num_rows * num_classes
    assert (num_rows, num_classes) not in saved_shapes
    torch.autograd.grad(loss, leaves)  # and the backward pass works from them
    # The materialized loss, for contrast, saves the (N, V) logits: the hook would see them.
    saved_shapes.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        torch_F.cross_entropy(hidden @ weight.T + bias, target)
    assert (num_rows, num_classes) in saved_shapes


def _numel(shape: tuple[int, ...]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


def test_the_graph_holds_only_the_inputs_and_the_row_statistics():
    hidden, weight, bias, target = _case(num_rows=64, features=8, num_classes=200)
    hidden.requires_grad_()
    loss = linear_cross_entropy(hidden, weight, target, linear_bias=bias, reduction="none")
    node = loss.grad_fn
    while node is not None and "LinearCrossEntropy" not in type(node).__name__:
        node = node.next_functions[0][0]
    assert node is not None
    shapes = sorted(tuple(t.shape) for t in node.saved_tensors if t is not None)
    assert shapes == sorted([(64, 8), (200, 8), (200,), (64,), (64,)])


def test_the_precomputed_gradients_have_the_inputs_shapes():
    """With "mean" the forward pass keeps the gradients for an incoming 1: inputs' shapes only."""
    hidden, weight, bias, target = _case(num_rows=64, features=8, num_classes=200)
    for tensor in (hidden, weight, bias):
        tensor.requires_grad_()
    loss = linear_cross_entropy(hidden, weight, target, linear_bias=bias)
    node = loss.grad_fn
    while "LinearCrossEntropy" not in type(node).__name__:
        node = node.next_functions[0][0]
    shapes = [tuple(g.shape) for g in node.precomputed.grads if g is not None]
    assert shapes == [(64, 8), (200, 8), (200,)]


def test_a_second_backward_pass_recomputes_the_same_gradients():
    """The precomputed gradients serve one backward pass; retain_graph's second one recomputes."""
    hidden, weight, bias, target = _case()
    leaves = [t.requires_grad_() for t in (hidden, weight, bias)]
    loss = linear_cross_entropy(
        hidden, weight, target, linear_bias=bias, options=LinearCrossEntropyOptions(4, 8)
    )
    first = torch.autograd.grad(loss, leaves, retain_graph=True)
    second = torch.autograd.grad(2 * loss, leaves)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(2 * a, b, rtol=1e-12, atol=1e-14)


def test_a_loss_used_row_by_row_gets_the_row_gradients():
    """A reduced loss whose rows then get different gradients (here: none, then a weighted sum)."""
    hidden, weight, bias, target = _case()
    row_weights = torch.linspace(0.0, 2.0, 13, dtype=torch.float64)
    leaves = [t.detach().clone().requires_grad_() for t in (hidden, weight, bias)]
    loss = linear_cross_entropy(*leaves[:2], target, linear_bias=leaves[2], reduction="none")
    ours = torch.autograd.grad((loss * row_weights).sum(), leaves)
    expected_leaves = [t.detach().clone().requires_grad_() for t in (hidden, weight, bias)]
    logits = expected_leaves[0] @ expected_leaves[1].T + expected_leaves[2]
    expected_loss = torch_F.cross_entropy(logits, target, reduction="none")
    expected = torch.autograd.grad((expected_loss * row_weights).sum(), expected_leaves)
    for a, b in zip(ours, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_torchs_options_are_accepted():
    hidden, weight, bias, target = _case()
    options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=5)
    torch.testing.assert_close(
        linear_cross_entropy(hidden, weight, target, linear_bias=bias, options=options),
        _materialized(hidden, weight, target, linear_bias=bias),
        rtol=1e-10,
        atol=1e-12,
    )


def test_default_blocks_are_a_few_mebibytes():
    assert DEFAULT_BATCH_CHUNK * DEFAULT_VOCAB_CHUNK * 4 <= 8 * 2**20


def test_it_is_registered_and_in_functional():
    assert lb_F.linear_cross_entropy is linear_cross_entropy
    assert "linear_cross_entropy" in lb_F.LOSSES


# --- Bad input: torch rejects it too; lossbook says what to change.


def _rejected(*args, error=LossInputError, **kwargs) -> str:
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch_F.linear_cross_entropy(*args, **kwargs)
    with pytest.raises(error) as caught:
        linear_cross_entropy(*args, **kwargs)
    return str(caught.value)


def test_input_with_a_sequence_dimension_is_rejected():
    message = _rejected(
        torch.randn(2, 3, 4), torch.randn(5, 4), torch.zeros(2, 3, dtype=torch.long)
    )
    assert "(2, 3, 4)" in message and "reshape(-1, input.shape[-1])" in message


def test_a_transposed_weight_is_rejected():
    message = _rejected(torch.randn(2, 4), torch.randn(4, 5), torch.zeros(2, dtype=torch.long))
    assert "D=4" in message and "transposed" in message


def test_a_1d_weight_is_rejected():
    message = _rejected(torch.randn(2, 3), torch.randn(3), torch.zeros(2, dtype=torch.long))
    assert "(V, D)" in message


def test_a_bias_of_the_wrong_size_is_rejected():
    message = _rejected(
        torch.randn(2, 3), torch.randn(5, 3), torch.zeros(2, dtype=torch.long),
        linear_bias=torch.randn(3),
    )  # fmt: skip
    assert "(5,)" in message and "(3,)" in message


def test_a_class_index_out_of_range_is_rejected():
    message = _rejected(
        torch.randn(2, 3), torch.randn(5, 3), torch.tensor([0, 5]), error=ClassIndexError
    )
    assert "class index 5" in message and "V=5" in message


def test_a_target_of_the_wrong_shape_is_rejected():
    message = _rejected(torch.randn(2, 3), torch.randn(5, 3), torch.zeros(2, 1, dtype=torch.long))
    assert "(2,)" in message and "(2, 1)" in message


def test_ignore_index_with_probabilities_is_rejected():
    message = _rejected(torch.randn(2, 3), torch.randn(5, 3), torch.rand(2, 5), ignore_index=0)
    assert "class-index targets only" in message


def test_a_k_dimensional_weight_needs_a_batch():
    message = _rejected(torch.randn(3), torch.randn(2, 4, 3), torch.zeros(4, dtype=torch.long))
    assert "unsqueeze(0)" in message


def test_differentiable_class_weights_are_rejected():
    _rejected(
        torch.randn(2, 3, requires_grad=True), torch.randn(5, 3), torch.tensor([0, 1]),
        weight=torch.rand(5, requires_grad=True),
    )  # fmt: skip


@pytest.mark.parametrize("size", [0, -2, 1.5])
def test_block_sizes_must_be_positive_integers(size):
    hidden, weight, _, target = _case()
    with pytest.raises(LossInputError, match="positive integer"):
        linear_cross_entropy(
            hidden, weight, target, options=LinearCrossEntropyOptions(vocab_chunk_size=size)
        )


def test_label_smoothing_and_reduction_are_checked():
    hidden, weight, _, target = _case()
    with pytest.raises(LossInputError, match=r"label_smoothing=1\.5"):
        linear_cross_entropy(hidden, weight, target, label_smoothing=1.5)
    with pytest.raises(LossInputError, match="'batchmean'"):
        linear_cross_entropy(hidden, weight, target, reduction="batchmean")
