"""One torch thread for the course's tiny tensors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the caller's setting.

    The course's models, batches and widget curves hold a few hundred numbers:
    torch's thread pool only adds hand-off latency, and on a busy machine a lot
    of it (100 steps of a linear model on 300 points: 0.2 s on one thread, 3 s
    on two under load; log_sigmoid on 300 values: 4 µs against 24 ms).
    Switching costs about 5 µs, and the caller's own setting is restored.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
