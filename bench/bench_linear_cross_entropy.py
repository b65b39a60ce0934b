"""Linear cross-entropy at large vocabularies: materialized vs torch's chunked path vs lossbook's.

For each vocabulary size V, three ways to compute the loss of N hidden states
(D features) against a (V, D) output layer, forward and backward:

- ``materialized``: ``F.cross_entropy(h @ W.T, y)``, the (N, V) logits in memory;
- ``torch chunked``: ``F.linear_cross_entropy(h, W, y, options=nn.LinearCrossEntropyOptions())``;
- ``lossbook``: ``lossbook.functional.linear_cross_entropy(h, W, y)`` (default blocks).

Each (implementation, V) runs in a fresh subprocess: after the set-up (tensors, and
one small warm-up call), the process's peak-RSS counter is reset
(``/proc/self/clear_refs``) and read (``resource.getrusage().ru_maxrss``); the first
full-size forward + backward then gives the **peak extra memory** (high-water mark
minus that baseline, gradients included), and ``--repeats`` more runs give the
**time** (median). Targets (issue 14): lossbook's peak ≤ 1/8 of materialized; its
time ≤ 1.0× materialized, and ≥ 5× faster than torch's chunked path.

    python bench/bench_linear_cross_entropy.py            # N=1024, D=128, V = 8k, 32k, 128k
    python bench/bench_linear_cross_entropy.py --threads 2 --vocab 8192

Timed runs stop early once they have taken ``--budget`` seconds (the table says how
many ran): torch's chunked path at V = 128k takes minutes on a busy CPU.

The default is one intra-op thread: on a CPU shared with other jobs, torch's
thread pool waits on busy cores for every small operation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

IMPLEMENTATIONS = ("materialized", "torch chunked", "lossbook")
TARGETS = {"memory": 1 / 8, "time": 1.0, "speedup_vs_torch_chunked": 5.0}


def _loss_function(name: str):
    import torch
    import torch.nn.functional as F

    import lossbook.functional as LF

    if name == "materialized":
        return lambda h, w, y: F.cross_entropy(h @ w.T, y)
    if name == "torch chunked":
        options = torch.nn.LinearCrossEntropyOptions()
        return lambda h, w, y: F.linear_cross_entropy(h, w, y, options=options)
    if name == "lossbook":
        return lambda h, w, y: LF.linear_cross_entropy(h, w, y)
    raise ValueError(f"unknown implementation {name!r}; one of {IMPLEMENTATIONS}")


def _inputs(num_rows: int, features: int, vocab: int, seed: int = 0):
    import torch

    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(num_rows, features, generator=generator).requires_grad_()
    weight = (torch.randn(vocab, features, generator=generator) / features**0.5).requires_grad_()
    target = torch.randint(vocab, (num_rows,), generator=generator)
    return hidden, weight, target


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak_rss() -> None:
    """Make the high-water mark the current RSS (Linux: "5" to clear_refs resets it)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measure(
    name: str, num_rows: int, features: int, vocab: int, repeats: int, threads: int, budget: float
):
    """In this (fresh) process: peak extra MiB of the first run, then the median time."""
    import torch

    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    loss_fn = _loss_function(name)
    loss_fn(*_inputs(64, features, 512)).backward()  # load the kernels, outside the peak
    hidden, weight, target = _inputs(num_rows, features, vocab)

    def run() -> float:
        hidden.grad = weight.grad = None
        start = time.perf_counter()
        loss_fn(hidden, weight, target).backward()
        return time.perf_counter() - start

    _reset_peak_rss()
    baseline = _peak_rss_mib()
    first = run()
    peak_extra = _peak_rss_mib() - baseline
    # Up to `repeats` timed runs, fewer when one takes long (at least one; else the first).
    times: list[float] = []
    while len(times) < repeats and (not times or sum(times) + first < budget):
        times.append(run())
    return {
        "peak_extra_mib": peak_extra,
        "seconds": statistics.median(times or [first]),
        "runs": len(times) or 1,
    }


def _in_subprocess(name: str, args: argparse.Namespace, vocab: int) -> dict:
    command = [
        sys.executable, __file__, "--child", name, "--rows", str(args.rows),
        "--features", str(args.features), "--vocab", str(vocab),
        "--repeats", str(args.repeats), "--threads", str(args.threads),
        "--budget", str(args.budget),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1024, help="N, hidden states per batch")
    parser.add_argument("--features", type=int, default=128, help="D, features per state")
    parser.add_argument("--vocab", type=int, nargs="+", default=[8192, 32768, 131072])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds of timed runs per measurement (≥ 1 run)"
    )
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        vocab = args.vocab[0]
        result = measure(
            args.child, args.rows, args.features, vocab, args.repeats, args.threads, args.budget
        )
        print(json.dumps(result))
        return

    print(
        f"N={args.rows} D={args.features} float32, fwd+bwd, {args.threads} thread(s), time = "
        f"median of up to {args.repeats} runs (fewer past {args.budget:.0f} s), memory = peak "
        f"RSS above the set-up (fresh process, first run)"
    )
    header = (
        f"{'V':>7}  {'implementation':<14} {'peak MiB':>9} {'time s':>8} {'runs':>4}   "
        f"{'mem/mat':>8} {'time/mat':>8} {'torch/lb':>8}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for vocab in args.vocab:
        results = {name: _in_subprocess(name, args, vocab) for name in IMPLEMENTATIONS}
        materialized = results["materialized"]
        for name, result in results.items():
            ratios = ""
            if name == "lossbook":
                memory_ratio = result["peak_extra_mib"] / materialized["peak_extra_mib"]
                time_ratio = result["seconds"] / materialized["seconds"]
                speedup = results["torch chunked"]["seconds"] / result["seconds"]
                ratios = f"{memory_ratio:8.3f} {time_ratio:8.2f} {speedup:8.1f}"
                summary.append((vocab, memory_ratio, time_ratio, speedup))
            print(
                f"{vocab:>7}  {name:<14} {result['peak_extra_mib']:9.1f} "
                f"{result['seconds']:8.2f} {result['runs']:4d}   {ratios}",
                flush=True,
            )
    print()
    print(
        f"targets: mem/mat <= {TARGETS['memory']:.3f}, time/mat <= {TARGETS['time']:.1f}, "
        f"torch chunked / lossbook >= {TARGETS['speedup_vs_torch_chunked']:.0f}"
    )
    for vocab, memory_ratio, time_ratio, speedup in summary:
        met = [
            memory_ratio <= TARGETS["memory"],
            time_ratio <= TARGETS["time"],
            speedup >= TARGETS["speedup_vs_torch_chunked"],
        ]
        verdict = ", ".join(
            f"{what} {'met' if ok else 'MISSED'}"
            for what, ok in zip(("memory", "time", "vs torch chunked"), met, strict=True)
        )
        print(f"V={vocab}: {verdict}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
