"""lossbook: PyTorch's loss functions, readable and proven equal to torch, and the course built on them.

Four layers, one folder each; a module imports only from its own layer and the ones below:

1. :mod:`lossbook.losses` — the losses, from tensor primitives, and the cross-entropy pipeline;
   :mod:`lossbook.functional` is their face (torch's names and parameters).
2. :mod:`lossbook.course` — what the chapters use: training, ``diagnose``, plots, widgets, data.
3. :mod:`lossbook.checks` — what a notebook's test cells import: checks that name the mistake.
4. :mod:`lossbook.grader` — the instructor's side: nbgrader preprocessors, sandbox, batch grading.

This file imports nothing, so ``import lossbook.functional`` loads only the losses.
"""

__version__ = "0.1.0"
