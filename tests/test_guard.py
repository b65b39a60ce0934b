"""The guard: a learner's cell that patches the course's training helpers, or any module a check
uses, cannot change a check's verdict. A wrong answer still fails, a right one still passes.

A learner's cell is simulated as in tests/test_grading.py: patches made with ``monkeypatch``
after :mod:`lossbook.checks` is imported, which is when the notebook's read-only setup cell
imports it. The checks are the objects captured before any patch, as a test cell holds them.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import lossbook.checks as G
from lossbook.checks import _guard
from lossbook.course import training
from lossbook.course.data import classification_data, gaussian_blobs
from lossbook.course.training import History

REPO = Path(__file__).resolve().parents[1]
DATA = classification_data(n=90)
COUNTS = [90, 6, 4]
IMBALANCED = gaussian_blobs([200, 10, 10], spread=1.3)
IMBALANCED_COUNTS = [200, 10, 10]
CHECKS = {name: getattr(G, name) for name in G.__all__ if name.startswith("check_")}


def failure(check, *args, **kwargs) -> G.GradingError:
    with pytest.raises(G.GradingError) as caught:
        check(*args, **kwargs)
    return caught.value


def linear3() -> nn.Module:
    return nn.Linear(2, 3)


def double_softmax() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1))


def constant_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A loss that teaches nothing: its gradient is 0, so the model never learns."""
    return (output * 0.0).sum()


def inverse_frequency(counts: list[int]) -> torch.Tensor:
    counts_tensor = torch.tensor(counts, dtype=torch.float32)
    return counts_tensor.sum() / (len(counts) * counts_tensor)


class Oracle(nn.Module):
    """A 'trained model' that outputs the right answer's one-hot: what a cheat would hand back."""

    def __init__(self, target: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.logits = 10.0 * nn.functional.one_hot(target, num_classes).float()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.logits


def cheating_fit(model, loss_fn, data, **options) -> History:
    inputs, target = data
    return History(loss=[0.0], accuracy=[1.0], balanced_accuracy=[1.0], model=Oracle(target, 3))


def nothing_wrong(*args, **kwargs) -> SimpleNamespace:
    return SimpleNamespace(
        findings=[], loss_value=torch.tensor(0.0), loss_name="CrossEntropyLoss", call_summary=""
    )


def assert_true_verdicts() -> None:
    """Every training check gives its true verdict: right answers pass, wrong ones fail."""
    # check_trains
    assert CHECKS["check_trains"](linear3, nn.CrossEntropyLoss(), DATA, steps=40, min_accuracy=0.9)
    error = failure(
        CHECKS["check_trains"], linear3, constant_loss, DATA, steps=40, min_accuracy=0.9
    )
    assert "it barely moved" in str(error) and error.check == "check_trains"
    # check_diagnosis
    CHECKS["check_diagnosis"](linear3, nn.CrossEntropyLoss(), DATA)
    error = failure(CHECKS["check_diagnosis"], double_softmax(), nn.CrossEntropyLoss(), DATA)
    assert "double-softmax" in str(error)
    # check_classification_loss
    CHECKS["check_classification_loss"](nn.CrossEntropyLoss(), 3)
    error = failure(
        CHECKS["check_classification_loss"],
        lambda z, y: nn.functional.cross_entropy(z.softmax(dim=1), y),
        3,
    )
    assert error.mistake is G.MISTAKES["softmax_twice"]
    error = failure(CHECKS["check_classification_loss"], nn.MSELoss(), 3)
    assert error.mistake is G.MSE_ON_CLASS_INDICES
    # check_class_weights
    CHECKS["check_class_weights"](nn.CrossEntropyLoss(weight=inverse_frequency(COUNTS)), COUNTS)
    error = failure(CHECKS["check_class_weights"], nn.CrossEntropyLoss(), COUNTS)
    assert error.mistake is G.IGNORING_CLASS_IMBALANCE
    # check_balanced_accuracy
    weighted = nn.CrossEntropyLoss(weight=inverse_frequency(IMBALANCED_COUNTS))
    budget = dict(steps=100, optimizer="adam", min_balanced_accuracy=0.8)
    assert CHECKS["check_balanced_accuracy"](linear3, weighted, IMBALANCED, **budget) >= 0.8
    error = failure(
        CHECKS["check_balanced_accuracy"], linear3, nn.CrossEntropyLoss(), IMBALANCED, **budget
    )
    assert error.mistake is G.IGNORING_CLASS_IMBALANCE
    # and a check of values, for good measure
    CHECKS["check_close"](lambda p, t: ((p - t) ** 2).mean(), "mse_loss")
    error = failure(CHECKS["check_close"], lambda p, t: ((p - t) ** 2).sum(), "mse_loss")
    assert error.mistake is G.MISTAKES["sum_instead_of_mean"]


def test_true_verdicts_without_patches():
    assert_true_verdicts()


@pytest.fixture
def patched_training_helpers(monkeypatch):
    """A learner's cell that rewrites the course's training helpers to pass everything."""
    modules = [training, sys.modules["lossbook.checks.training"]]
    for module in modules:
        if hasattr(module, "fit"):
            monkeypatch.setattr(module, "fit", cheating_fit)
        monkeypatch.setattr(module, "accuracies", lambda predicted, labels: (1.0, 1.0))
        monkeypatch.setattr(module, "predicted_labels", lambda output: torch.zeros(0))
        monkeypatch.setattr(module, "class_labels", lambda output, target: None)
        monkeypatch.setattr(
            module, "class_influence", lambda loss_fn, num_classes: torch.arange(num_classes, 0, -1)
        )
        monkeypatch.setattr(module, "diagnose", nothing_wrong)
    monkeypatch.setattr(sys.modules["lossbook.course.diagnose"], "diagnose", nothing_wrong)
    # The optimizers do nothing, the model has no parameters, argmax lies: a right answer
    # would fail if the check trained with these.
    monkeypatch.setattr(torch.optim.SGD, "step", lambda self, closure=None: None)
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, closure=None: None)
    monkeypatch.setattr(torch.Tensor, "argmax", lambda self, *args, **kwargs: torch.zeros(1))
    monkeypatch.setattr(torch, "bincount", lambda *args, **kwargs: torch.ones(3))
    monkeypatch.setattr(History, "series", lambda self, *args, **kwargs: {})
    return monkeypatch


def test_patched_training_helpers_change_no_verdict(patched_training_helpers):
    assert training.fit is cheating_fit  # the learner's world is as the learner left it
    assert_true_verdicts()
    assert training.fit is cheating_fit and torch.optim.SGD.step(None) is None


def _sabotaged(name: str):
    def sabotaged(*args, **kwargs):
        raise RuntimeError(f"{name} was patched by the learner")

    return sabotaged


@pytest.fixture
def every_lossbook_function_patched(monkeypatch):
    """Every function, method and property of every lossbook module the checks loaded, broken.

    Not the guard's own module: code that rewrites the guard is the sandbox's business.
    """
    patched = 0
    for name in sorted(sys.modules):
        module = sys.modules[name]
        if not name.startswith("lossbook.") or name == "lossbook.checks._guard" or not module:
            continue
        for key, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and key != "__getattr__":
                monkeypatch.setattr(module, key, _sabotaged(f"{name}.{key}"))
                patched += 1
            elif isinstance(value, type) and value.__module__ == name:
                for attribute, member in list(vars(value).items()):
                    if attribute.startswith("__"):
                        continue
                    if isinstance(member, types.FunctionType):
                        monkeypatch.setattr(value, attribute, _sabotaged(f"{key}.{attribute}"))
                        patched += 1
                    elif isinstance(member, property):
                        monkeypatch.setattr(
                            value, attribute, property(_sabotaged(f"{key}.{attribute}"))
                        )
                        patched += 1
    assert patched > 300  # the losses, the course tools and the checks, all of them
    return monkeypatch


def test_every_module_the_checks_use_is_guarded(every_lossbook_function_patched):
    with pytest.raises(RuntimeError, match="patched by the learner"):
        training.fit(linear3, nn.CrossEntropyLoss(), DATA, steps=1)
    assert_true_verdicts()


def test_the_snapshot_holds_every_module_the_training_checks_rely_on():
    saved = {id(owner) for owner, _, _ in _guard._GUARD._saved}
    for name in (
        "lossbook.course.training",
        "lossbook.course.diagnose",
        "lossbook.course.data",
        "lossbook.checks.training",
        "lossbook.checks.values",
        "lossbook.checks.mistakes",
        "lossbook.losses.classification",
        "torch.optim",
        "copy",
    ):
        assert id(sys.modules[name]) in saved, name
    for cls in (History, G.Case, G.Mistake, torch.optim.Adam, nn.Module):
        assert id(cls) in saved, cls


IMPORT_ORDER_SCRIPT = """
import sys
import torch
from torch import nn
{imports}
import lossbook.course.training as training
from lossbook.course.data import classification_data
from lossbook.course.training import History

def cheating_fit(model, loss_fn, data, **options):
    return History(loss=[0.0], accuracy=[1.0], balanced_accuracy=[1.0], model=nn.Identity())

training.fit = cheating_fit
training.accuracies = lambda predicted, labels: (1.0, 1.0)
torch.optim.SGD.step = lambda self, closure=None: None
checks_training = sys.modules["lossbook.checks.training"]
checks_training.fit = cheating_fit
checks_training.accuracies = training.accuracies
data = classification_data(n=60)
right = G.check_trains(lambda: nn.Linear(2, 3), nn.CrossEntropyLoss(), data, steps=40,
                       min_accuracy=0.9)
try:
    G.check_trains(lambda: nn.Linear(2, 3), lambda o, t: (o * 0).sum(), data, steps=40,
                   min_accuracy=0.9)
except G.GradingError as error:
    print("wrong fails:", error.check)
print("right passes:", right >= 0.9)
print("learner's fit kept:", training.fit is cheating_fit)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "imports",
    [
        "import lossbook.checks as G",
        "import lossbook.course.training\nimport lossbook.course.diagnose\nimport lossbook.checks as G",
    ],
    ids=["checks-first", "course-tools-first"],
)
def test_the_verdict_does_not_depend_on_the_import_order(imports):
    script = IMPORT_ORDER_SCRIPT.format(imports=imports)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "wrong fails: check_trains",
        "right passes: True",
        "learner's fit kept: True",
    ]


def test_every_check_is_guarded():
    for name, check in CHECKS.items():
        assert inspect.unwrap(check) is not check, f"{name} is not wrapped by guarded"
        assert check.__code__ is _guard.guarded(lambda: None).__code__, name


def test_torch_wrapping_an_optimizer_step_is_not_a_learner_patch(monkeypatch):
    """torch.optim wraps SGD.step in a profiling hook at the first SGD built: that is not undone."""
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)  # torch's one-time rebinding
    assert not [c for c in _guard._GUARD._changes() if c[0] is torch.optim.SGD]
    learner_step = torch.optim.Optimizer.profile_hook_step(lambda self, closure=None: None)
    monkeypatch.setattr(torch.optim.SGD, "step", learner_step)  # torch's wrapper, around a cheat
    assert [c[1] for c in _guard._GUARD._changes() if c[0] is torch.optim.SGD] == ["step"]
