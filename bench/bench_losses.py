"""How much does readability cost? lossbook's losses against torch's fused kernels, on this CPU.

Each case times one forward + backward pass (the loss, then ``loss.backward()``
into the input's gradient) of ``lossbook.functional.<name>`` and of
``torch.nn.functional.<name>`` on the same tensors. The two are timed
alternately in one process (ours, torch, ours, torch, ...) so that frequency
changes and other load on a shared machine hit both alike; the figures are
medians, and the ratio is ours / torch. The target is a ratio of at most 2.0.

Cases: ``cross_entropy`` at 4096 × 1000 and 512 × 32000 (class-index targets),
``mse_loss`` and ``binary_cross_entropy_with_logits`` at 10⁶ elements. With
``--mse-variants`` it also times the ways of writing MSE's square and mean
that ``lossbook.losses.regression.mse_loss`` chose between.

A loss whose module is missing is reported as such and skipped, so the script
runs while the package is being written.

Run: ``.venv/bin/python bench/bench_losses.py [--repeats 30] [--threads N] [--only mse]
[--mse-variants]``. On a shared machine, ``--threads 1`` gives steadier figures.
Exit code 0; the numbers are the report.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as torch_F

TARGET_RATIO = 2.0
FAMILY = {
    "cross_entropy": "lossbook.losses.classification",
    "binary_cross_entropy_with_logits": "lossbook.losses.binary",
    "mse_loss": "lossbook.losses.regression",
}


@dataclass
class Case:
    label: str
    name: str
    make_inputs: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def class_indices(n: int, c: int) -> Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]:
    def make(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        logits = torch.randn(n, c, generator=generator) * 3
        return logits, torch.randint(0, c, (n,), generator=generator)

    return make


def regression_pair(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(1_000_000, generator=generator), torch.randn(1_000_000, generator=generator)


def binary_pair(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.randn(1_000_000, generator=generator) * 3
    return logits, torch.randint(0, 2, (1_000_000,), generator=generator).float()


CASES = [
    Case("cross_entropy 4096×1000", "cross_entropy", class_indices(4096, 1000)),
    Case("cross_entropy 512×32000", "cross_entropy", class_indices(512, 32000)),
    Case("mse_loss 1e6", "mse_loss", regression_pair),
    Case("bce_with_logits 1e6", "binary_cross_entropy_with_logits", binary_pair),
]


def lossbook_losses() -> dict[str, Callable | str]:
    """Each benchmarked loss from lossbook.functional, or why it is unavailable.

    If ``lossbook.functional`` cannot be imported yet (a family module is still
    being written), each loss is taken from its own family module instead.
    """
    try:
        functional = importlib.import_module("lossbook.functional")
        return {name: getattr(functional, name) for name in FAMILY}
    except ImportError as error:
        print(f"lossbook.functional does not import ({error}); using the family modules.")
    found: dict[str, Callable | str] = {}
    for name, module in FAMILY.items():
        try:
            found[name] = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            found[name] = f"not available: {error}"
    return found


def forward_backward(loss_fn: Callable, input: torch.Tensor, target: torch.Tensor) -> float:
    """Seconds for one loss + backward; the input's gradient is reset first, outside the timing."""
    input.grad = None
    start = time.perf_counter()
    loss_fn(input, target).backward()
    return time.perf_counter() - start


def time_alternately(
    contenders: dict[str, Callable], input: torch.Tensor, target: torch.Tensor, repeats: int
) -> dict[str, float]:
    """Median seconds per contender, timed in turn within each repetition after two warm-ups."""
    times: dict[str, list[float]] = {label: [] for label in contenders}
    for repetition in range(repeats + 2):
        for label, loss_fn in contenders.items():
            elapsed = forward_backward(loss_fn, input, target)
            if repetition >= 2:
                times[label].append(elapsed)
    return {label: statistics.median(samples) for label, samples in times.items()}


def check_same_value(
    ours: Callable, theirs: Callable, input: torch.Tensor, target: torch.Tensor
) -> None:
    """Time only what computes the same thing: values and gradients agree to float32 tolerance."""
    inputs = [input.detach().clone().requires_grad_(True) for _ in range(2)]
    values = [fn(x, target) for fn, x in zip((ours, theirs), inputs, strict=True)]
    for value in values:
        value.backward()
    torch.testing.assert_close(values[0], values[1], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(inputs[0].grad, inputs[1].grad, rtol=1e-5, atol=1e-8)


def run_cases(repeats: int, only: str | None) -> None:
    ours_by_name = lossbook_losses()
    print(f"{'case':28s} {'lossbook':>10s} {'torch':>10s} {'ratio':>7s}")
    for case in CASES:
        if only is not None and only not in case.label:
            continue
        ours = ours_by_name[case.name]
        if isinstance(ours, str):
            print(f"{case.label:28s} skipped: lossbook's {case.name} is {ours}")
            continue
        input, target = case.make_inputs(torch.Generator().manual_seed(0))
        theirs = getattr(torch_F, case.name)
        check_same_value(ours, theirs, input, target)
        input.requires_grad_(True)
        medians = time_alternately({"ours": ours, "torch": theirs}, input, target, repeats)
        ratio = medians["ours"] / medians["torch"]
        verdict = "ok" if ratio <= TARGET_RATIO else f"over the {TARGET_RATIO} target"
        print(
            f"{case.label:28s} {medians['ours'] * 1e3:8.2f}ms {medians['torch'] * 1e3:8.2f}ms "
            f"{ratio:7.2f}  {verdict}"
        )


def run_mse_variants(repeats: int) -> None:
    """MSE's element-wise square and its mean, written four ways, against torch's fused kernel."""
    from lossbook.losses._reduction import apply_reduction

    def mse_pow_mean(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((input - target) ** 2).mean()

    def mse_square_mean(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.square(input - target).mean()

    def mse_product_mean(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = input - target
        return (error * error).mean()

    def mse_product_sum_over_n(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = input - target
        squared = error * error
        # Sum's backward expands the scalar gradient as a view; mean's materialises N copies.
        return squared.sum() / squared.numel()

    def mse_product_apply_reduction(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = input - target
        return apply_reduction(error * error, "mean")

    contenders = {
        "(error ** 2).mean()": mse_pow_mean,
        "torch.square(error).mean()": mse_square_mean,
        "(error * error).mean()": mse_product_mean,
        "(error * error).sum() / N": mse_product_sum_over_n,
        "apply_reduction(error*error)": mse_product_apply_reduction,
        "torch mse_loss": torch_F.mse_loss,
    }
    input, target = regression_pair(torch.Generator().manual_seed(0))
    input.requires_grad_(True)
    medians = time_alternately(contenders, input, target, repeats)
    print("\nmse_loss at 1e6 elements, forward + backward, written different ways:")
    for label, seconds in medians.items():
        print(
            f"  {label:30s} {seconds * 1e3:8.2f}ms  ratio {seconds / medians['torch mse_loss']:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed repetitions per contender")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--only", default=None, help="run the cases whose label contains this")
    parser.add_argument(
        "--mse-variants",
        action="store_true",
        help="also time the ways of writing MSE that mse_loss chose between",
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average {load}, "
        f"median of {args.repeats} forward+backward passes each\n"
    )
    run_cases(args.repeats, args.only)
    if args.mse_variants:
        run_mse_variants(args.repeats)


if __name__ == "__main__":
    main()
