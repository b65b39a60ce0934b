"""lossbook.course.diagnose: every rule fires on its mistake and stays silent once the mistake is fixed."""

from __future__ import annotations

import ast
import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import lossbook.functional as lb_F
from lossbook.course.diagnose import RULES, Diagnosis, diagnose, explain_torch_error


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def logits(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=generator(seed))


def balanced_labels(count: int, num_classes: int, seed: int = 0) -> torch.Tensor:
    """Every class equally often (up to one), in random order: no imbalance to report."""
    return (torch.arange(count) % num_classes)[torch.randperm(count, generator=generator(seed))]


def binary_labels(count: int, seed: int = 0) -> torch.Tensor:
    return balanced_labels(count, 2, seed).float()


@dataclass
class Call:
    criterion: Any
    output: Any
    target: Any
    model: nn.Module | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def diagnose(self) -> Diagnosis:
        return diagnose(self.criterion, self.output, self.target, self.model, **self.options)


class RootModel(nn.Module):
    """A linear layer followed by sqrt, started at exactly 0 where sqrt has infinite slope."""

    def __init__(self, eps: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.eps = eps
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.linear(x) + self.eps).sqrt().squeeze(-1)


def root_model_call(eps: float) -> Call:
    model = RootModel(eps)
    return Call(nn.MSELoss(), model(logits(4, 2)), torch.ones(4), model=model)


def rmse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((output - target) ** 2).mean().sqrt()


def smoothed_rmse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((output - target) ** 2).mean().add(1e-12).sqrt()


def detached_output_call(detach: bool) -> Call:
    model = nn.Linear(3, 1)
    x = logits(8, 3)
    if detach:
        with torch.no_grad():
            output = model(x).squeeze(-1)
    else:
        output = model(x).squeeze(-1)
    return Call(nn.MSELoss(), output, logits(8, seed=1), model=model)


Z = logits(6, 3)
Y = torch.tensor([0, 1, 2, 1, 0, 2])
ONE_HOT = torch.eye(3)[Y]
IMBALANCED = torch.tensor([0] * 27 + [1, 1, 2])
BINARY_IMBALANCED = torch.tensor([0.0] * 27 + [1.0, 1.0, 1.0])

# (rule id, what the case shows, the faulty call, the same call with the mistake fixed)
CASES: list[tuple[str, str, Callable[[], Call], Callable[[], Call]]] = [
    (
        "not-a-tensor",
        "list output",
        lambda: Call(nn.MSELoss(), [0.5, 1.0], torch.tensor([0.4, 1.2])),
        lambda: Call(nn.MSELoss(), torch.tensor([0.5, 1.0]), torch.tensor([0.4, 1.2])),
    ),
    (
        "criterion-not-instantiated",
        "class instead of object",
        lambda: Call(nn.CrossEntropyLoss, Z, Y),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "device-mismatch",
        "weight on another device",
        lambda: Call(nn.CrossEntropyLoss(weight=torch.ones(3, device="meta")), Z, Y),
        lambda: Call(nn.CrossEntropyLoss(weight=torch.ones(3)), Z, Y),
    ),
    (
        "output-not-float",
        "argmax predictions",
        lambda: Call(nn.CrossEntropyLoss(), Z.argmax(dim=1), Y),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "output-not-float",
        "rounded regression output",
        lambda: Call(nn.MSELoss(), logits(6).round().long(), logits(6, seed=1)),
        lambda: Call(nn.MSELoss(), logits(6), logits(6, seed=1)),
    ),
    (
        "output-detached",
        "output computed under no_grad",
        lambda: detached_output_call(detach=True),
        lambda: detached_output_call(detach=False),
    ),
    (
        "non-finite-input",
        "NaN in the output",
        lambda: Call(
            nn.MSELoss(), torch.tensor([0.5, math.nan, 1.0]), torch.tensor([0.4, 0.9, 1.2])
        ),
        lambda: Call(nn.MSELoss(), torch.tensor([0.5, 0.7, 1.0]), torch.tensor([0.4, 0.9, 1.2])),
    ),
    (
        "non-finite-input",
        "NaN marking missing targets",
        lambda: Call(
            nn.L1Loss(), torch.tensor([0.5, 0.7, 1.0]), torch.tensor([0.4, math.nan, 1.2])
        ),
        lambda: Call(nn.L1Loss(), torch.tensor([0.5, 1.0]), torch.tensor([0.4, 1.2])),
    ),
    (
        "input-shape",
        "one logit per sample given to cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), logits(6), Y.clamp(max=1)),
        lambda: Call(nn.CrossEntropyLoss(), logits(6, 2), Y.clamp(max=1)),
    ),
    (
        "input-shape",
        "1-D logits and float 0/1 labels: one CE for the whole batch",
        lambda: Call(nn.CrossEntropyLoss(), logits(6), Y.clamp(max=1).float()),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), Y.clamp(max=1).float()),
    ),
    (
        "input-shape",
        "(N, L, C) where (N, C, L) is expected",
        lambda: Call(nn.CrossEntropyLoss(), logits(2, 5, 3), balanced_labels(10, 3).reshape(2, 5)),
        lambda: Call(
            nn.CrossEntropyLoss(),
            logits(2, 5, 3).movedim(-1, 1),
            balanced_labels(10, 3).reshape(2, 5),
        ),
    ),
    (
        "input-shape",
        "(N, L, C) probabilities, classes last",
        lambda: Call(nn.CrossEntropyLoss(), logits(2, 5, 3), logits(2, 5, 3, seed=1).softmax(-1)),
        lambda: Call(
            nn.CrossEntropyLoss(),
            logits(2, 5, 3).movedim(-1, 1),
            logits(2, 5, 3, seed=1).softmax(-1).movedim(-1, 1),
        ),
    ),
    (
        "single-class-output",
        "one output column with cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), logits(6, 1), torch.zeros(6, dtype=torch.long)),
        lambda: Call(nn.CrossEntropyLoss(), logits(6, 2), Y.clamp(max=1)),
    ),
    (
        "column-vs-vector",
        "MSE on (N, 1) against (N,)",
        lambda: Call(nn.MSELoss(), logits(6, 1), logits(6, seed=1)),
        lambda: Call(nn.MSELoss(), logits(6, 1).squeeze(-1), logits(6, seed=1)),
    ),
    (
        "column-vs-vector",
        "BCE with logits on (N, 1) against (N,)",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6, 1), binary_labels(6)),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6, 1).squeeze(-1), binary_labels(6)),
    ),
    (
        "column-vs-vector",
        "L1 with the target as the column",
        lambda: Call(nn.L1Loss(), logits(6), logits(6, 1, seed=1)),
        lambda: Call(nn.L1Loss(), logits(6), logits(6, 1, seed=1).squeeze(-1)),
    ),
    (
        "column-vs-vector",
        "class indices as an (N, 1) column",
        lambda: Call(nn.CrossEntropyLoss(), Z, Y.unsqueeze(1)),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "column-vs-vector",
        "segmentation mask with a channel dimension",
        lambda: Call(
            nn.CrossEntropyLoss(), logits(2, 3, 4, 4), balanced_labels(32, 3).reshape(2, 1, 4, 4)
        ),
        lambda: Call(
            nn.CrossEntropyLoss(), logits(2, 3, 4, 4), balanced_labels(32, 3).reshape(2, 4, 4)
        ),
    ),
    (
        "shape-mismatch",
        "shapes that cannot broadcast",
        lambda: Call(nn.MSELoss(), logits(6, 3), logits(6, 2, seed=1)),
        lambda: Call(nn.MSELoss(), logits(6, 2), logits(6, 2, seed=1)),
    ),
    (
        "shape-mismatch",
        "shapes that broadcast silently",
        lambda: Call(nn.SmoothL1Loss(), logits(4, 3), logits(3, seed=1)),
        lambda: Call(nn.SmoothL1Loss(), logits(4, 3), logits(4, 3, seed=1)),
    ),
    (
        "shape-mismatch",
        "batch sizes differ",
        lambda: Call(nn.CrossEntropyLoss(), Z, torch.tensor([0, 1, 2, 1, 0])),
        lambda: Call(nn.CrossEntropyLoss(), Z[:5], torch.tensor([0, 1, 2, 1, 0])),
    ),
    (
        "target-dtype",
        "float class indices",
        lambda: Call(nn.CrossEntropyLoss(), Z, Y.float()),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "target-dtype",
        "int32 class indices to NLLLoss",
        lambda: Call(nn.NLLLoss(), Z.log_softmax(1), Y.int()),
        lambda: Call(nn.NLLLoss(), Z.log_softmax(1), Y),
    ),
    (
        "target-dtype",
        "long labels to BCEWithLogitsLoss",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6).long()),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6)),
    ),
    (
        "target-dtype",
        "long labels to BCELoss",
        lambda: Call(nn.BCELoss(), logits(6).sigmoid(), binary_labels(6).long()),
        lambda: Call(nn.BCELoss(), logits(6).sigmoid(), binary_labels(6)),
    ),
    (
        "one-hot-target",
        "one-hot to cross-entropy (works; a note)",
        lambda: Call(nn.CrossEntropyLoss(), Z, ONE_HOT),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "one-hot-target",
        "one-hot to NLLLoss (raises)",
        lambda: Call(nn.NLLLoss(), Z.log_softmax(1), ONE_HOT),
        lambda: Call(nn.NLLLoss(), Z.log_softmax(1), Y),
    ),
    (
        "one-hot-target",
        "integer one-hot to cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), Z, ONE_HOT.long()),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "target-not-distribution",
        "multi-hot labels with cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), Z, (ONE_HOT + ONE_HOT.roll(1, dims=1))),
        lambda: Call(nn.BCEWithLogitsLoss(), Z, (ONE_HOT + ONE_HOT.roll(1, dims=1))),
    ),
    (
        "target-not-distribution",
        "unnormalised scores as class probabilities",
        lambda: Call(nn.CrossEntropyLoss(), Z, logits(6, 3, seed=1).exp()),
        lambda: Call(nn.CrossEntropyLoss(), Z, logits(6, 3, seed=1).softmax(dim=1)),
    ),
    (
        "class-index-out-of-range",
        "labels start at 1",
        lambda: Call(nn.CrossEntropyLoss(), Z, Y + 1),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "class-index-out-of-range",
        "-1 padding without ignore_index",
        lambda: Call(nn.CrossEntropyLoss(), Z, torch.tensor([0, 1, -1, 2, -1, 1])),
        lambda: Call(nn.CrossEntropyLoss(ignore_index=-1), Z, torch.tensor([0, 1, -1, 2, -1, 1])),
    ),
    (
        "class-index-out-of-range",
        "too few outputs for the labels",
        lambda: Call(nn.CrossEntropyLoss(), Z[:, :2], Y),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "double-softmax",
        "probabilities given to cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), Z.softmax(dim=1), Y),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "double-softmax",
        "softmax over the batch dimension, seen through autograd",
        lambda: Call(nn.CrossEntropyLoss(), Z.clone().requires_grad_().softmax(dim=0), Y),
        lambda: Call(nn.CrossEntropyLoss(), Z.clone().requires_grad_(), Y),
    ),
    (
        "double-softmax",
        "sigmoid before cross-entropy",
        lambda: Call(nn.CrossEntropyLoss(), Z.clone().requires_grad_().sigmoid(), Y),
        lambda: Call(nn.CrossEntropyLoss(), Z.clone().requires_grad_().log_softmax(dim=1), Y),
    ),
    (
        "sigmoid-before-with-logits",
        "probabilities to BCEWithLogitsLoss",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(10).sigmoid(), binary_labels(10)),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(10), binary_labels(10)),
    ),
    (
        "sigmoid-before-with-logits",
        "a small batch, seen through autograd",
        lambda: Call(
            nn.BCEWithLogitsLoss(), logits(4).requires_grad_().sigmoid(), binary_labels(4)
        ),
        lambda: Call(nn.BCELoss(), logits(4).requires_grad_().sigmoid(), binary_labels(4)),
    ),
    (
        "nll-given-probabilities",
        "softmax before NLLLoss",
        lambda: Call(nn.NLLLoss(), Z.softmax(dim=1), Y),
        lambda: Call(nn.NLLLoss(), Z.log_softmax(dim=1), Y),
    ),
    (
        "nll-given-logits",
        "raw logits to NLLLoss",
        lambda: Call(nn.NLLLoss(), Z, Y),
        lambda: Call(nn.NLLLoss(), Z.log_softmax(dim=1), Y),
    ),
    (
        "nll-given-logits",
        "log_softmax over the wrong dimension",
        lambda: Call(nn.NLLLoss(), Z.log_softmax(dim=0), Y),
        lambda: Call(nn.NLLLoss(), Z.log_softmax(dim=1), Y),
    ),
    (
        "bce-given-logits",
        "logits to BCELoss",
        lambda: Call(nn.BCELoss(), logits(6), binary_labels(6)),
        lambda: Call(nn.BCELoss(), logits(6).sigmoid(), binary_labels(6)),
    ),
    (
        "binary-target-range",
        "-1/+1 labels",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6) * 2 - 1),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6)),
    ),
    (
        "binary-target-range",
        "a 0..255 mask",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6) * 255),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(6), binary_labels(6)),
    ),
    (
        "regression-on-class-indices",
        "MSE between class scores and labels",
        lambda: Call(nn.MSELoss(), logits(6, 3), Y),
        lambda: Call(nn.CrossEntropyLoss(), logits(6, 3), Y),
    ),
    (
        "regression-on-class-indices",
        "MSE on a few integer levels",
        lambda: Call(nn.MSELoss(), logits(12), balanced_labels(12, 4)),
        lambda: Call(nn.MSELoss(), logits(12), logits(12, seed=1)),
    ),
    (
        "regression-on-class-indices",
        "MSE on 0/1 labels",
        lambda: Call(nn.MSELoss(), logits(12), binary_labels(12)),
        lambda: Call(nn.BCEWithLogitsLoss(), logits(12), binary_labels(12)),
    ),
    (
        "kl-input-not-log-probs",
        "probabilities as KLDivLoss input",
        lambda: Call(nn.KLDivLoss(reduction="batchmean"), Z.softmax(1), Z.softmax(0)),
        lambda: Call(nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), Z.softmax(1)),
    ),
    (
        "kl-target-form",
        "log-probability target without log_target",
        lambda: Call(
            nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), Z.flip(0).log_softmax(1)
        ),
        lambda: Call(
            nn.KLDivLoss(reduction="batchmean", log_target=True),
            Z.log_softmax(1),
            Z.flip(0).log_softmax(1),
        ),
    ),
    (
        "kl-target-form",
        "probability target with log_target=True",
        lambda: Call(
            nn.KLDivLoss(reduction="batchmean", log_target=True),
            Z.log_softmax(1),
            Z.flip(0).softmax(1),
        ),
        lambda: Call(nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), Z.flip(0).softmax(1)),
    ),
    (
        "kl-batchmean",
        "KLDivLoss with its default reduction",
        lambda: Call(nn.KLDivLoss(), Z.log_softmax(1), Z.flip(0).softmax(1)),
        lambda: Call(nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), Z.flip(0).softmax(1)),
    ),
    (
        "reduction-sum",
        "reduction='sum'",
        lambda: Call(nn.CrossEntropyLoss(reduction="sum"), Z, Y),
        lambda: Call(nn.CrossEntropyLoss(), Z, Y),
    ),
    (
        "reduction-none",
        "reduction='none'",
        lambda: Call(torch_F.mse_loss, logits(6), logits(6, seed=1), options={"reduction": "none"}),
        lambda: Call(torch_F.mse_loss, logits(6), logits(6, seed=1)),
    ),
    (
        "class-imbalance",
        "90% of the labels in one class",
        lambda: Call(nn.CrossEntropyLoss(), logits(30, 3), IMBALANCED),
        lambda: Call(
            nn.CrossEntropyLoss(weight=torch.tensor([0.37, 5.0, 10.0])), logits(30, 3), IMBALANCED
        ),
    ),
    (
        "class-imbalance",
        "10% positives without pos_weight",
        lambda: Call(nn.BCEWithLogitsLoss(), logits(30), BINARY_IMBALANCED),
        lambda: Call(
            nn.BCEWithLogitsLoss(pos_weight=torch.tensor(9.0)), logits(30), BINARY_IMBALANCED
        ),
    ),
    (
        "non-finite-loss",
        "every target ignored",
        lambda: Call(nn.CrossEntropyLoss(), Z, torch.full((6,), -100)),
        lambda: Call(nn.CrossEntropyLoss(), Z, torch.tensor([0, -100, 2, -100, 1, -100])),
    ),
    (
        "non-finite-loss",
        "every class in the batch has weight 0",
        lambda: Call(nn.CrossEntropyLoss(weight=torch.tensor([0.0, 0.0, 1.0])), Z[:4], Y[:4] % 2),
        lambda: Call(nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 1.0])), Z[:4], Y[:4] % 2),
    ),
    (
        "non-finite-loss",
        "a hand-written loss that takes log(0)",
        lambda: Call(
            lambda p, t: -(t * p.log()).sum(), torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])
        ),
        lambda: Call(
            lambda p, t: -(t * p.clamp(min=1e-7).log()).sum(),
            torch.tensor([0.0, 1.0]),
            torch.tensor([1.0, 0.0]),
        ),
    ),
    (
        "non-finite-gradient",
        "RMSE at a perfect fit: sqrt'(0) is infinite",
        lambda: Call(rmse, logits(4).requires_grad_(), logits(4).clone()),
        lambda: Call(smoothed_rmse, logits(4).requires_grad_(), logits(4).clone()),
    ),
    (
        "non-finite-gradient",
        "a model whose sqrt starts at 0",
        lambda: root_model_call(eps=0.0),
        lambda: root_model_call(eps=1e-2),
    ),
    (
        "torch-error",
        "a class-weight vector of the wrong length",
        lambda: Call(nn.CrossEntropyLoss(weight=torch.ones(4)), Z, Y),
        lambda: Call(nn.CrossEntropyLoss(weight=torch.ones(3)), Z, Y),
    ),
]
CASE_IDS = [f"{rule_id}: {what}" for rule_id, what, _, _ in CASES]


def test_every_rule_is_tested_both_ways():
    assert {rule_id for rule_id, *_ in CASES} == set(RULES)


@pytest.mark.parametrize(("rule_id", "what", "faulty", "fixed"), CASES, ids=CASE_IDS)
def test_rule_fires_on_the_mistake(rule_id, what, faulty, fixed):
    report = faulty().diagnose()
    assert rule_id in report.ids, str(report)
    assert report.skipped_rules == []
    finding = next(f for f in report.findings if f.id == rule_id)
    assert finding.message and finding.fix and finding.title == RULES[rule_id].title


@pytest.mark.parametrize(("rule_id", "what", "faulty", "fixed"), CASES, ids=CASE_IDS)
def test_fixed_call_is_clean(rule_id, what, faulty, fixed):
    report = fixed().diagnose()
    assert report.findings == [], str(report)
    assert report.ok and report.skipped_rules == [] and report.torch_error is None


def test_problems_make_the_report_not_ok_but_notes_do_not():
    assert not diagnose(nn.CrossEntropyLoss(), Z.softmax(1), Y).ok
    note_only = diagnose(nn.CrossEntropyLoss(), Z, ONE_HOT)
    assert note_only.ids == ("one-hot-target",) and note_only.findings[0].severity == "note"
    assert note_only.ok
    assert "No problems found (1 note)" in str(note_only)


# ---------------------------------------------------------------------------
# Fully correct setups: no finding at all


def correct_setups() -> list[tuple[str, Call]]:
    soft = logits(6, 3, seed=1).softmax(dim=1)
    segmentation = balanced_labels(2 * 4 * 4, 3).reshape(2, 4, 4)
    padded = torch.tensor([0, 1, -100, 2, 1, -100])
    return [
        ("CE with logits and class indices", Call(nn.CrossEntropyLoss(), Z, Y)),
        ("CE with class probabilities", Call(nn.CrossEntropyLoss(), Z, soft)),
        (
            "CE with class probabilities and label smoothing",
            Call(nn.CrossEntropyLoss(label_smoothing=0.1), Z, soft),
        ),
        (
            "CE with indices, label smoothing and weights",
            Call(
                nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]), label_smoothing=0.2), Z, Y
            ),
        ),
        ("CE with ignored padding", Call(nn.CrossEntropyLoss(), Z, padded)),
        ("CE on images", Call(nn.CrossEntropyLoss(), logits(2, 3, 4, 4), segmentation)),
        ("CE on one unbatched sample", Call(nn.CrossEntropyLoss(), logits(3), torch.tensor(2))),
        (
            "CE with -inf for masked classes",
            Call(
                nn.CrossEntropyLoss(), Z.masked_fill(ONE_HOT.roll(1, dims=1).bool(), -math.inf), Y
            ),
        ),
        ("CE with uint8 labels", Call(nn.CrossEntropyLoss(), Z, Y.to(torch.uint8))),
        (
            "BCEWithLogits with pos_weight on imbalanced data",
            Call(nn.BCEWithLogitsLoss(pos_weight=torch.tensor(9.0)), logits(30), BINARY_IMBALANCED),
        ),
        (
            "multi-label BCEWithLogits",
            Call(nn.BCEWithLogitsLoss(), Z, ONE_HOT + ONE_HOT.roll(1, 1)),
        ),
        ("BCE after sigmoid", Call(nn.BCELoss(), logits(8).sigmoid(), binary_labels(8))),
        (
            "BCEWithLogits from a zero-initialised model",
            Call(nn.BCEWithLogitsLoss(), torch.zeros(12), binary_labels(12)),
        ),
        ("MSE regression with float targets", Call(nn.MSELoss(), logits(16), logits(16, seed=1))),
        ("Huber regression", Call(nn.HuberLoss(delta=0.5), logits(8, 2), logits(8, 2, seed=1))),
        (
            "L1 regression on ratings-like values",
            Call(nn.L1Loss(), logits(6), torch.tensor([1.5, 3.0, 4.5, 2.0, 5.0, 3.5])),
        ),
        ("NLL after log_softmax", Call(nn.NLLLoss(), Z.log_softmax(dim=1), Y)),
        (
            "KLDiv with log-probs and batchmean",
            Call(nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), soft),
        ),
        (
            "functional cross_entropy with options",
            Call(torch_F.cross_entropy, Z, Y, options={"label_smoothing": 0.1}),
        ),
        (
            "a partial of cross_entropy with weights on imbalanced data",
            Call(
                functools.partial(torch_F.cross_entropy, weight=torch.tensor([0.37, 5.0, 10.0])),
                logits(30, 3),
                IMBALANCED,
            ),
        ),
        ("lossbook's cross_entropy", Call(lb_F.cross_entropy, Z, Y)),
        ("lossbook's nll_loss", Call(lb_F.nll_loss, Z.log_softmax(1), Y)),
        (
            "lossbook's binary_cross_entropy_with_logits with pos_weight",
            Call(
                lb_F.binary_cross_entropy_with_logits,
                logits(30),
                BINARY_IMBALANCED,
                options={"pos_weight": torch.tensor(9.0)},
            ),
        ),
        (
            "lossbook's kl_div",
            Call(lb_F.kl_div, Z.log_softmax(1), soft, options={"reduction": "batchmean"}),
        ),
        ("a name string", Call("CrossEntropyLoss", Z, Y)),
        ("a model whose output carries the graph", detached_output_call(detach=False)),
    ]


SETUPS = correct_setups()


@pytest.mark.parametrize("call", [c for _, c in SETUPS], ids=[n for n, _ in SETUPS])
def test_correct_setup_has_no_findings(call):
    report = call.diagnose()
    assert report.findings == [], str(report)
    assert report.ok and report.skipped_rules == [] and report.torch_error is None
    assert report.loss_value is not None and bool(torch.isfinite(report.loss_value).all())
    assert str(report).startswith(f"{report.loss_name}: No problems found.")


# ---------------------------------------------------------------------------
# Random correct usage


seeds = st.integers(0, 2**31 - 1)


@given(
    count=st.integers(1, 40),
    num_classes=st.integers(2, 12),
    seed=seeds,
    scale=st.floats(0.01, 20.0),
    smoothing=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_random_cross_entropy_usage_has_no_findings(count, num_classes, seed, scale, smoothing):
    output = logits(count, num_classes, seed=seed) * scale
    target = balanced_labels(count, num_classes, seed)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    assert diagnose(loss_fn, output, target).findings == []
    soft = logits(count, num_classes, seed=seed + 1).softmax(dim=1)
    assert diagnose(loss_fn, output, soft).findings == []
    assert diagnose(nn.NLLLoss(), output.log_softmax(dim=1), target).findings == []


@given(count=st.integers(24, 64), seed=seeds, scale=st.floats(0.1, 20.0))
def test_random_binary_usage_has_no_findings(count, seed, scale):
    output = logits(count, seed=seed) * scale
    target = binary_labels(count, seed)
    assert diagnose(nn.BCEWithLogitsLoss(), output, target).findings == []
    assert diagnose(nn.BCELoss(), output.sigmoid(), target).findings == []


@given(
    shape=st.sampled_from([(1,), (7,), (5, 2), (3, 2, 2)]),
    seed=seeds,
    loss_fn=st.sampled_from([nn.MSELoss(), nn.L1Loss(), nn.SmoothL1Loss(), nn.HuberLoss()]),
)
def test_random_regression_usage_has_no_findings(shape, seed, loss_fn):
    output, target = logits(*shape, seed=seed), logits(*shape, seed=seed + 1) * 3 + 1
    assert diagnose(loss_fn, output, target).findings == []


@given(
    count=st.integers(1, 16), num_classes=st.integers(1, 10), seed=seeds, log_target=st.booleans()
)
def test_random_kl_usage_has_no_findings(count, num_classes, seed, log_target):
    log_probs = logits(count, num_classes, seed=seed).log_softmax(dim=1)
    reference = logits(count, num_classes, seed=seed + 1).log_softmax(dim=1)
    target = reference if log_target else reference.exp()
    loss_fn = nn.KLDivLoss(reduction="batchmean", log_target=log_target)
    assert diagnose(loss_fn, log_probs, target).findings == []


# ---------------------------------------------------------------------------
# Never raise on bad input; explain every error torch raises


LOSS_OBJECTS = [
    nn.CrossEntropyLoss(),
    nn.NLLLoss(),
    nn.BCELoss(),
    nn.BCEWithLogitsLoss(),
    nn.MSELoss(),
    nn.L1Loss(),
    nn.SmoothL1Loss(),
    nn.HuberLoss(),
    nn.KLDivLoss(reduction="batchmean"),
]
SHAPES = [(), (4,), (5,), (4, 1), (4, 3), (4, 3, 2), (2, 4), (3,)]
DTYPES = [torch.float32, torch.float64, torch.long, torch.int32, torch.bool]


def make_tensor(shape: tuple[int, ...], dtype: torch.dtype, kind: str, seed: int) -> torch.Tensor:
    values = {
        "normal": logits(*shape, seed=seed),
        "unit": torch.rand(shape, generator=generator(seed)),
        "labels": torch.randint(-1, 5, shape, generator=generator(seed)).float(),
    }[kind]
    return values.to(dtype)


@given(
    loss_fn=st.sampled_from(LOSS_OBJECTS),
    output_shape=st.sampled_from(SHAPES),
    target_shape=st.sampled_from(SHAPES),
    output_dtype=st.sampled_from(DTYPES),
    target_dtype=st.sampled_from(DTYPES),
    output_kind=st.sampled_from(["normal", "unit", "labels"]),
    target_kind=st.sampled_from(["normal", "unit", "labels"]),
    seed=seeds,
)
def test_any_input_is_diagnosed_and_every_torch_error_explained(
    loss_fn, output_shape, target_shape, output_dtype, target_dtype, output_kind, target_kind, seed
):
    output = make_tensor(output_shape, output_dtype, output_kind, seed)
    target = make_tensor(target_shape, target_dtype, target_kind, seed + 1)
    report = diagnose(loss_fn, output, target)
    assert report.skipped_rules == []
    str(report), report._repr_html_(), report._repr_markdown_()
    if report.torch_error is not None:
        assert not report.ok
        generic = [f for f in report.findings if f.id == "torch-error"]
        assert all("In plain words" in f.message for f in generic), str(report)


TORCH_MESSAGES = [
    ("expected scalar type Long but found Float", "torch.long"),
    ("expected target dtype to be Long or Byte, but got Float", "torch.long"),
    ("Found dtype Long but expected Float", "float targets"),
    ("Expected floating point type for target with class probabilities, got Long", "one-hot"),
    ("Target 5 is out of bounds.", "negative or >= C"),
    ("CUDA error: device-side assert triggered", "restart the process"),
    ("Expected input batch_size (4) to match target batch_size (5).", "number of samples"),
    ("0D or 1D target tensor expected, multi-target not supported", "one dimension too many"),
    ("Expected 2D (unbatched) or 3D (batched) input to conv1d", "(N, C)"),
    ("all elements of input should be between 0 and 1", "BCELoss takes probabilities"),
    (
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        "shapes do not match",
    ),
    (
        "Expected all tensors to be on the same device, but found cuda:0 and cpu",
        "different devices",
    ),
    ("element 0 of tensors does not require grad and does not have a grad_fn", "no_grad"),
    ("grad can be implicitly created only for scalar outputs", "reduction='none'"),
    ("\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'", "integer dtype"),
    ("weight tensor should be defined either for all 3 classes or no classes", "different length"),
]


@pytest.mark.parametrize(("message", "meaning"), TORCH_MESSAGES, ids=[m for m, _ in TORCH_MESSAGES])
def test_torch_messages_are_explained_in_plain_words(message, meaning):
    explained = explain_torch_error(message)
    assert explained is not None and meaning in explained[0]

    def raising_loss(output, target):
        raise RuntimeError(message)

    report = diagnose(raising_loss, Z, Y)
    assert report.ids == ("torch-error",)
    assert meaning in report.findings[0].message and message in report.findings[0].message
    assert report.torch_error == f"RuntimeError: {message}"


def test_unknown_errors_are_reported_verbatim():
    assert explain_torch_error("something entirely different") is None

    def raising_loss(output, target):
        raise ValueError("something entirely different")

    report = diagnose(raising_loss, Z, Y)
    assert report.ids == ("torch-error",)
    assert "ValueError: something entirely different" in report.findings[0].message


def test_lossbook_errors_pass_their_own_advice_through():
    report = diagnose(lb_F.cross_entropy, Z, Y, weight=torch.ones(4))
    assert report.ids == ("torch-error",)
    assert "LossInputError" in report.findings[0].message


def test_a_loss_that_returns_no_tensor_is_reported():
    report = diagnose(lambda output, target: float((output - target).abs().mean()), Z, ONE_HOT)
    assert report.ids == ("torch-error",) and "float, not a tensor" in report.torch_error


# ---------------------------------------------------------------------------
# What the messages say


def test_out_of_range_names_the_value_and_the_number_of_classes():
    message = diagnose(nn.CrossEntropyLoss(), Z, Y + 1).findings[0].message
    assert "class index 3" in message and "C=3" in message and "[0, 2]" in message
    assert "start at 1" in message


def test_out_of_range_ignores_the_ignore_index():
    target = torch.tensor([0, 7, 2, 7, 1, 7])
    assert diagnose(nn.CrossEntropyLoss(ignore_index=7), Z, target).findings == []
    message = diagnose(nn.CrossEntropyLoss(), Z, target).findings[0].message
    assert (
        "class index 7" in message
        and "out_features=8" in diagnose(nn.CrossEntropyLoss(), Z, target).findings[0].fix
    )


def test_imbalance_shows_inverse_frequency_weights():
    counts = torch.bincount(IMBALANCED, minlength=3).double()
    expected = IMBALANCED.numel() / (3 * counts)
    fix = diagnose(nn.CrossEntropyLoss(), logits(30, 3), IMBALANCED).findings[0].fix
    assert "weight=torch.tensor([" + ", ".join(f"{w:.3g}" for w in expected.tolist()) + "])" in fix
    binary_fix = diagnose(nn.BCEWithLogitsLoss(), logits(30), BINARY_IMBALANCED).findings[0].fix
    negatives, positives = 27, 3
    assert f"pos_weight=torch.tensor([{negatives / positives:.3g}])" in binary_fix


def test_imbalance_needs_enough_labels_and_a_large_majority():
    few = torch.tensor([0] * 17 + [1, 2])
    assert diagnose(nn.CrossEntropyLoss(), logits(19, 3), few).findings == []
    moderate = torch.tensor([0] * 23 + [1] * 4 + [2] * 3)  # 77% in class 0
    assert diagnose(nn.CrossEntropyLoss(), logits(30, 3), moderate).findings == []


def test_column_vs_vector_shows_the_broadcast_and_both_values():
    output, target = logits(6, 1), logits(6, seed=1)
    message = diagnose(nn.MSELoss(), output, target).findings[0].message
    with pytest.warns(UserWarning):
        wrong = torch_F.mse_loss(output, target)
    right = torch_F.mse_loss(output.squeeze(-1), target)
    assert "(6, 6)" in message
    assert f"gives {wrong.item():.4g} instead of {right.item():.4g}" in message


def test_column_vs_vector_is_harmless_for_a_single_sample():
    assert diagnose(nn.MSELoss(), logits(1, 1), logits(1, seed=1)).findings == []
    assert "column-vs-vector" in diagnose(nn.BCEWithLogitsLoss(), logits(1, 1), torch.ones(1)).ids


@pytest.mark.parametrize("num_classes", [2, 3, 10])
def test_double_softmax_states_the_floor_of_the_loss(num_classes):
    output = logits(4, num_classes).softmax(dim=1)
    target = torch.zeros(4, dtype=torch.long)
    message = diagnose(nn.CrossEntropyLoss(), output, target).findings[0].message
    perfect = torch.eye(num_classes)[:1]
    floor = torch_F.cross_entropy(perfect, torch.tensor([0])).item()
    assert f"= {floor:.4f} with C={num_classes}" in message


def test_sigmoid_before_with_logits_states_the_range_of_the_loss():
    report = diagnose(nn.BCEWithLogitsLoss(), logits(10).sigmoid(), binary_labels(10))
    message = report.findings[0].message
    low = torch_F.binary_cross_entropy_with_logits(torch.tensor(1.0), torch.tensor(1.0)).item()
    high = torch_F.binary_cross_entropy_with_logits(torch.tensor(1.0), torch.tensor(0.0)).item()
    assert f"[{low:.4f}, {high:.4f}]" in message


def test_sigmoid_before_with_logits_needs_evidence_in_a_small_batch():
    assert diagnose(nn.BCEWithLogitsLoss(), logits(4).sigmoid(), binary_labels(4)).findings == []


def test_one_hot_with_weights_shows_the_two_means():
    weight = torch.tensor([1.0, 2.0, 3.0])
    finding = diagnose(nn.CrossEntropyLoss(weight=weight), Z, ONE_HOT).findings[0]
    as_probs = torch_F.cross_entropy(Z, ONE_HOT, weight=weight).item()
    as_indices = torch_F.cross_entropy(Z, Y, weight=weight).item()
    assert finding.severity == "warning"
    assert f"{as_probs:.4g} with one-hot, {as_indices:.4g} with indices" in finding.message


def test_severities_by_consequence():
    def severity(report: Diagnosis, rule_id: str) -> str:
        return next(f.severity for f in report.findings if f.id == rule_id)

    assert severity(diagnose(nn.NLLLoss(), Z.log_softmax(1), ONE_HOT), "one-hot-target") == "error"
    levels = balanced_labels(12, 4)
    assert (
        severity(diagnose(nn.MSELoss(), logits(12), levels), "regression-on-class-indices")
        == "warning"
    )
    assert (
        severity(diagnose(nn.MSELoss(), logits(12), levels.float()), "regression-on-class-indices")
        == "note"
    )


def test_findings_are_sorted_errors_first():
    report = diagnose(nn.KLDivLoss(reduction="sum"), Z.softmax(1), Z.softmax(1))
    assert report.ids == ("kl-input-not-log-probs", "reduction-sum")
    ranks = [("error", "warning", "note").index(f.severity) for f in report.findings]
    assert ranks == sorted(ranks)


def test_reduction_none_with_class_weights_explains_the_weighted_mean():
    weight = torch.tensor([1.0, 2.0, 3.0])
    fix = diagnose(nn.CrossEntropyLoss(weight=weight, reduction="none"), Z, Y).findings[0].fix
    per_sample = torch_F.cross_entropy(Z, Y, weight=weight, reduction="none")
    torch.testing.assert_close(
        per_sample.sum() / weight[Y].sum(),
        torch_F.cross_entropy(Z, Y, weight=weight),
        rtol=1e-6,
        atol=0,
    )
    assert "loss.sum() / weight[target].sum()" in fix


# ---------------------------------------------------------------------------
# Gradients: checked without touching the caller's model


def test_gradient_check_leaves_grads_and_graph_alone():
    model = RootModel(eps=0.0)
    x = logits(4, 2)
    output = model(x)
    earlier = [torch.full_like(p, 0.25) for p in model.parameters()]
    for parameter, grad in zip(model.parameters(), earlier, strict=True):
        parameter.grad = grad.clone()
    report = diagnose(nn.MSELoss(), output, torch.ones(4), model=model)
    assert "non-finite-gradient" in report.ids
    assert "linear.weight" in report.findings[0].message
    for parameter, grad in zip(model.parameters(), earlier, strict=True):
        assert torch.equal(parameter.grad, grad)
    fresh = nn.Linear(3, 1)
    fresh_output = fresh(logits(5, 3)).squeeze(-1)
    assert diagnose(nn.MSELoss(), fresh_output, logits(5), model=fresh).findings == []
    assert all(p.grad is None for p in fresh.parameters())
    torch_F.mse_loss(fresh_output, logits(5)).backward()  # the caller's graph is still there
    assert all(p.grad is not None for p in fresh.parameters())


def test_gradient_check_falls_back_when_the_graph_is_gone():
    model = RootModel(eps=0.0)
    output = model(logits(4, 2))
    output.sum().backward()  # frees the graph
    report = diagnose(rmse, output, output.detach().clone(), model=model)
    assert "non-finite-gradient" in report.ids and "output" in report.findings[0].message


# ---------------------------------------------------------------------------
# Ways to name the loss


@pytest.mark.parametrize(
    "criterion",
    [
        nn.CrossEntropyLoss(),
        torch_F.cross_entropy,
        lb_F.cross_entropy,
        "cross_entropy",
        "CrossEntropyLoss",
        "nn.CrossEntropyLoss",
        "F.cross_entropy",
        "ce",
        functools.partial(torch_F.cross_entropy, label_smoothing=0.1),
    ],
)
def test_every_way_of_naming_cross_entropy_is_recognised(criterion):
    assert diagnose(criterion, Z.softmax(dim=1), Y).ids == ("double-softmax",)


def test_options_of_a_functional_are_read():
    assert diagnose(torch_F.kl_div, Z.log_softmax(1), Z.softmax(1)).ids == ("kl-batchmean",)
    assert diagnose("kl_div", Z.log_softmax(1), Z.softmax(1), reduction="batchmean").ok
    assert (
        "class-imbalance" not in diagnose("ce", logits(30, 3), IMBALANCED, weight=torch.ones(3)).ids
    )


@pytest.mark.parametrize(
    ("name", "loss"),
    [
        ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"),
        ("bce", "binary_cross_entropy"),
        ("MSE", "mse_loss"),
        ("mae", "l1_loss"),
        ("smooth_l1", "smooth_l1_loss"),
        ("nll", "nll_loss"),
        ("KLDivLoss", "kl_div"),
        ("HuberLoss", "huber_loss"),
    ],
)
def test_names_resolve_to_torch_functionals(name, loss):
    assert diagnose(name, logits(4, 2).sigmoid(), torch.rand(4, 2)).loss_name == f"F.{loss}"


def test_usage_errors_of_diagnose_itself_raise():
    with pytest.raises(ValueError, match="does not know a loss called 'hinge'"):
        diagnose("hinge", Z, Y)
    with pytest.raises(TypeError, match="constructor"):
        diagnose(nn.CrossEntropyLoss(), Z, Y, weight=torch.ones(3))
    with pytest.raises(TypeError, match="three tensors"):
        diagnose(nn.TripletMarginLoss(), Z, Z)
    with pytest.raises(TypeError, match="criterion must be"):
        diagnose(42, Z, Y)


def test_unknown_callables_get_the_general_rules():
    report = diagnose(
        lambda output, target: ((output - target) ** 2).mean(),
        logits(4),
        torch.tensor([0.0, math.inf, 1.0, 2.0]),
    )
    assert report.ids == ("non-finite-input",)
    assert (
        diagnose(
            lambda output, target: ((output - target) ** 2).mean(), logits(4), logits(4, seed=1)
        ).findings
        == []
    )


# ---------------------------------------------------------------------------
# The report


def test_report_renders_as_text_markdown_and_html():
    report = diagnose(lambda output, target: torch_F.nll_loss(output, target), Z, Y.float())
    text = str(report)
    assert text.startswith("<lambda>: 1 problem found.")
    assert "[error] The loss call raised (torch-error)" in text and "Fix:" in text
    assert "output (6, 3) float32, target (6,) float32; the call raised: RuntimeError" in text
    assert "**error: The loss call raised** (`torch-error`)" in report._repr_markdown_()
    html_text = report._repr_html_()
    assert "&lt;lambda&gt;" in html_text and "<lambda>" not in html_text


def test_clean_report_says_so_and_shows_the_loss():
    report = diagnose(nn.CrossEntropyLoss(), Z, Y)
    value = torch_F.cross_entropy(Z, Y).item()
    assert str(report) == (
        f"nn.CrossEntropyLoss: No problems found.\n"
        f"  output (6, 3) float32, target (6,) int64; loss = {value:.6g}"
    )
    assert "No problems found" in report._repr_markdown_()
    assert "No problems found" in report._repr_html_()


def test_diagnose_imports_only_torch_and_loss_modules():
    package = Path(__file__).parents[1] / "lossbook" / "course" / "diagnose"
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert {m.split(".")[0] for m in outside} == {"torch", "lossbook"}
    assert {
        m
        for m in outside
        if m.startswith("lossbook") and not m.startswith("lossbook.course.diagnose")
    } <= {
        "lossbook.losses._validation",
        "lossbook.losses.activations",
        "lossbook.losses._reduction",
        "lossbook.losses.registry",
    }


def test_rules_run_in_the_order_of_their_families():
    """inputs, shapes, activations, balance, numerics, torch errors: later rules read earlier findings."""
    assert list(RULES) == [
        "not-a-tensor",
        "criterion-not-instantiated",
        "device-mismatch",
        "output-not-float",
        "output-detached",
        "non-finite-input",
        "input-shape",
        "single-class-output",
        "column-vs-vector",
        "shape-mismatch",
        "target-dtype",
        "one-hot-target",
        "target-not-distribution",
        "class-index-out-of-range",
        "double-softmax",
        "sigmoid-before-with-logits",
        "nll-given-probabilities",
        "nll-given-logits",
        "bce-given-logits",
        "binary-target-range",
        "regression-on-class-indices",
        "kl-input-not-log-probs",
        "kl-target-form",
        "kl-batchmean",
        "reduction-sum",
        "reduction-none",
        "class-imbalance",
        "non-finite-loss",
        "non-finite-gradient",
        "torch-error",
    ]
    families = {rule_id: RULES[rule_id].check.__module__.rsplit(".", 1)[1] for rule_id in RULES}
    assert families["double-softmax"] == "activations"
    assert families["class-imbalance"] == "balance"
    assert families["non-finite-loss"] == "numerics"
    assert families["column-vs-vector"] == "shapes"


def test_loss_names_come_from_the_registry():
    from lossbook.losses.registry import LOSSES

    for loss in LOSSES:
        if len(loss.tensors) == 2 and loss.name != "sigmoid_focal_loss":
            assert diagnose(loss.name, Z, Y).loss_name == f"F.{loss.name}"
            for alias in loss.aliases:
                assert diagnose(alias, Z, Y).loss_name == f"F.{loss.name}", alias


def test_double_softmax_over_the_wrong_dimension_says_so():
    message = diagnose(nn.CrossEntropyLoss(), Z.softmax(dim=0), Y).findings[0].message
    assert "sum to 1 along dim 0, which is not the class dim (1)" in message


def test_a_nan_loss_already_explained_is_not_reported_twice():
    report = diagnose(nn.KLDivLoss(reduction="batchmean"), Z.log_softmax(1), Z.log_softmax(1))
    assert report.ids == ("kl-target-form",)
    assert math.isnan(report.loss_value.item())
