"""What autograd keeps between the forward and the backward pass, measured.

The memory a loss needs while training is mostly what autograd *saves* for the backward pass:
the tensors each operation stores to compute its gradient later. :func:`saved_tensors` records
them (through ``torch.autograd.graph.saved_tensors_hooks``) while a function runs, so a notebook
can show that ``F.cross_entropy(h @ W.T, y)`` keeps an ``(N, V)`` tensor and a chunked version
does not. Tensors that share storage are counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class SavedTensor:
    """One tensor autograd saved: its shape, dtype, size in bytes and storage address."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    nbytes: int
    storage: int


@dataclass(frozen=True)
class SavedReport:
    """What one call saved for backward; ``result`` is the function's return value."""

    result: Any
    tensors: tuple[SavedTensor, ...]

    @property
    def total_bytes(self) -> int:
        return sum(tensor.nbytes for tensor in self.tensors)

    def bytes_beyond(self, *inputs: torch.Tensor) -> int:
        """Bytes saved besides the given tensors (e.g. the inputs, which exist anyway).

        Example:
            >>> x = torch.randn(3, 4, requires_grad=True)
            >>> report = saved_tensors(lambda x: (x * x).exp().sum(), x)
            >>> report.total_bytes, report.bytes_beyond(x)  # x itself, and exp's output
            (96, 48)
        """
        known = {tensor.untyped_storage().data_ptr() for tensor in inputs}
        return sum(t.nbytes for t in self.tensors if t.storage not in known)

    def largest(self) -> SavedTensor | None:
        return max(self.tensors, key=lambda tensor: tensor.nbytes, default=None)

    def __str__(self) -> str:
        shapes = ", ".join(f"{t.shape}" for t in sorted(self.tensors, key=lambda t: -t.nbytes))
        return f"{len(self.tensors)} tensors, {self.total_bytes / 2**20:.3g} MiB: {shapes}"


def saved_tensors(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> SavedReport:
    """Run ``fn(*args, **kwargs)`` and report the distinct tensors autograd saved for backward.

    Example:
        >>> x = torch.randn(3, 4, requires_grad=True)
        >>> report = saved_tensors(lambda x: (x.exp() * 2).sum(), x)
        >>> [t.shape for t in report.tensors]  # exp saves its output for the backward
        [(3, 4)]
        >>> report.total_bytes
        48
    """
    seen: dict[tuple, SavedTensor] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key not in seen:
            seen[key] = SavedTensor(
                tuple(tensor.shape), tensor.dtype, storage.nbytes(), storage.data_ptr()
            )
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = fn(*args, **kwargs)
    return SavedReport(result, tuple(seen.values()))
