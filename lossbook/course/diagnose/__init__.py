"""The pitfalls clinic: find the usual mistakes in a loss call and say how to fix each one.

``diagnose(loss_fn, output, target)`` looks at a loss call the way a teaching
assistant would. It knows what each loss expects (logits or probabilities,
class indices or class probabilities, which shapes and dtypes), compares that
with what it was given, and reports every likely mistake in plain words, with
the fix. It never raises on bad tensors: it runs the loss inside ``try`` and,
when torch raises, explains torch's message.

Each check is a small function in :data:`RULES`, registered with an id, a title
and a severity, in a module of its family:

- :mod:`~lossbook.course.diagnose.inputs`: the call itself (tensors, loss object,
  devices, dtypes, NaN in the inputs);
- :mod:`~lossbook.course.diagnose.shapes`: targets and shapes (``(N, 1)`` vs ``(N,)``,
  one-hot or float targets, class indices out of range);
- :mod:`~lossbook.course.diagnose.activations`: logits, probabilities and
  log-probabilities (double softmax, logits into ``BCELoss``);
- :mod:`~lossbook.course.diagnose.balance`: reductions and class imbalance;
- :mod:`~lossbook.course.diagnose.numerics`: a NaN or infinite loss or gradient;
- :mod:`~lossbook.course.diagnose.torch_errors`: torch's errors in plain words.

:mod:`~lossbook.course.diagnose.report` holds what a diagnosis returns,
:mod:`~lossbook.course.diagnose.rules` the registry and what a rule sees, and
:mod:`~lossbook.course.diagnose.run` builds the call and runs the rules. Every
rule has a severity:

- ``"error"``: the call raises, or its value is not the loss you meant;
- ``"warning"``: very likely a mistake, but legitimate uses exist;
- ``"note"``: the call is correct, with a consequence worth knowing.

Example:
    >>> import torch
    >>> from torch import nn
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]])
    >>> target = torch.tensor([0, 1])
    >>> diagnose(nn.CrossEntropyLoss(), logits, target).ok
    True
    >>> report = diagnose(nn.CrossEntropyLoss(), logits.softmax(dim=1), target)
    >>> report.ids
    ('double-softmax',)
    >>> round(report.loss_value.item(), 4)  # the loss can no longer approach 0
    0.7566

Reference: the catalogue of mistakes in the course notes (``COURSE.md``), and
the input contracts in the documentation of each ``torch.nn`` loss.
"""

# The families register their rules as they are imported: this order is the order they run in
# (a later rule may look at what an earlier one found, e.g. non-finite-input before
# non-finite-loss).
from lossbook.course.diagnose import inputs
from lossbook.course.diagnose import shapes
from lossbook.course.diagnose import activations
from lossbook.course.diagnose import balance
from lossbook.course.diagnose import numerics
from lossbook.course.diagnose import torch_errors
from lossbook.course.diagnose.report import SEVERITIES, Diagnosis, Finding
from lossbook.course.diagnose.rules import RULES, Issue, LossCall, Rule, rule
from lossbook.course.diagnose.run import diagnose
from lossbook.course.diagnose.torch_errors import explain_torch_error

__all__ = [
    "RULES",
    "SEVERITIES",
    "Diagnosis",
    "Finding",
    "Issue",
    "LossCall",
    "Rule",
    "activations",
    "balance",
    "diagnose",
    "explain_torch_error",
    "inputs",
    "numerics",
    "rule",
    "shapes",
    "torch_errors",
]
