"""Where the course teaches what: its sections (from the solutions' headings), and each mistake's.

A *section* is a markdown heading of a chapter's notebook. :func:`course_sections` reads them from
the instructor's notebooks (``solutions/<chapter>/<notebook>.ipynb``), so links follow the
notebooks as they are edited: a link is the notebook's path plus the heading's anchor, computed
the way JupyterLab and nbconvert compute it (the heading's text, spaces turned into ``-``).

:data:`TAUGHT_IN` says which section teaches each named mistake of the checks, by chapter and a
distinctive part of the heading's words (section numbers left out, so renumbering keeps it right);
``tests/test_report.py`` proves every mistake the checks can name resolves to exactly one heading.
A mistake without an entry, or a failure no mistake explains, points to the section of the exercise
itself (the nearest heading above its test cell).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import nbformat

import lossbook.checks
from lossbook.checks.mistakes import MISTAKES, Mistake
from lossbook.grader.cells import grade_id

TAUGHT_IN: dict[tuple[str, str], tuple[str, ...]] = {
    ("02_regression", "Mean squared error, step by step"): (
        "missing_square",
        "mae_instead_of_mse",
        "rmse_instead_of_mse",
        "half_mse",
    ),
    ("02_regression", "one number, or one per element"): (
        "sum_instead_of_mean",
        "mean_instead_of_sum",
        "no_reduction",
        "reduced_instead_of_none",
    ),
    ("02_regression", "Mean absolute error (L1)"): ("missing_abs", "mse_instead_of_mae"),
    ("02_regression", "quadratic near zero, linear beyond"): (
        "huber_missing_half",
        "huber_missing_offset",
        "huber_swapped_branches",
        "smooth_l1_instead_of_huber",
        "huber_instead_of_smooth_l1",
        "smooth_l1_missing_beta",
    ),
    ("03_binary", "From logits to probabilities: the sigmoid"): (
        "sigmoid_on_probabilities",
        "sigmoid_sign",
    ),
    ("03_binary", "one loss, two entrances"): (
        "sigmoid_before_with_logits",
        "flipped_labels",
        "soft_targets_as_hard",
    ),
    ("03_binary", "saturates"): ("unclamped_log",),
    ("03_binary", "The stable formula, step by step"): (
        "unstable_log_sigmoid",
        "bce_exp_overflow",
        "naive_log_sigmoid",
    ),
    ("04_cross_entropy", "The pipeline, one step at a time"): (
        "log_of_logits",
        "softmax_wrong_dim",
        "softmax_whole_tensor",
        "softmax_no_exp",
        "log_softmax_wrong_dim",
    ),
    ("04_cross_entropy", "Why subtract the max?"): (
        "no_max_subtraction",
        "log_of_softmax",
        "softmax_overflow",
        "log_softmax_overflow",
        "log_softmax_log_of_softmax",
        "logsumexp_overflow",
        "logsumexp_max_only",
        "logsumexp_missing_max",
    ),
    ("04_cross_entropy", "The −log p penalty"): ("missing_minus", "log_softmax_negated"),
    ("04_cross_entropy", "CrossEntropyLoss = LogSoftmax + NLLLoss"): ("picks_logit",),
    ("04_cross_entropy", "Three forms of target"): ("one_hot_vs_index", "nll_one_hot_vs_index"),
    ("04_cross_entropy", "Label smoothing"): (
        "label_smoothing_c_minus_1",
        "label_smoothing_ignored",
    ),
    ("04_cross_entropy", "Class weights"): (
        "weights_in_plain_mean",
        "weights_ignored",
        "nll_weights_in_plain_mean",
    ),
    ("04_cross_entropy", "double-softmax"): ("softmax_twice",),
    ("01_why_losses", "Choosing a loss by task"): ("bce_for_multiclass",),
    ("05_pitfalls", "MSE on class indices"): ("mse_on_class_indices",),
    ("05_pitfalls", "BCELoss on logits"): ("bce_on_logits",),
    ("05_pitfalls", "a silent broadcast"): ("pairwise_broadcast",),
    ("05_pitfalls", "Class imbalance"): ("ignoring_class_imbalance",),
    ("06_beyond", "Focal loss"): (
        "focal_alpha_wrong_class",
        "focal_missing_modulation",
        "focal_p_instead_of_p_t",
        "focal_p_t_to_the_gamma",
        "focal_alpha_ignored",
        "focal_unstable_log",
    ),
    ("06_beyond", "Triplet loss"): (
        "triplet_squared_distance",
        "triplet_no_hinge",
        "triplet_swapped",
        "triplet_distance_over_batch",
        "triplet_l1_distance",
        "triplet_no_eps_norm",
        "triplet_no_eps_sqrt",
    ),
    ("07_capstone", "When accuracy lies: balanced accuracy"): (
        "plain_accuracy",
        "precision_instead_of_recall",
        "absent_class_counted",
    ),
    ("07_capstone", "Imbalanced data"): ("weights_by_frequency",),
}
"""(chapter, words of the heading) -> the mistakes that section teaches."""


@dataclass(frozen=True)
class Section:
    """One heading of a chapter: where it is and how to link to it."""

    chapter: str
    notebook: str
    title: str
    level: int
    cell: int

    @property
    def anchor(self) -> str:
        """The heading's id in JupyterLab and nbconvert's HTML: its text, spaces as ``-``.

        Example:
            >>> Section("02_regression", "regression.ipynb", "4 · Mean `abs`", 2, 0).anchor
            '4-·-Mean-abs'
        """
        return _plain_text(self.title).replace(" ", "-")

    def link(self, template: str) -> str:
        """``template`` filled in (``{chapter}``, ``{notebook}``, ``{anchor}``, URL-quoted).

        Example:
            >>> section = Section("02_regression", "regression.ipynb", "4 · Mean", 2, 0)
            >>> section.link("../notebooks/{chapter}/{notebook}#{anchor}")
            '../notebooks/02_regression/regression.ipynb#4-%C2%B7-Mean'
        """
        return template.format(
            chapter=urllib.parse.quote(self.chapter),
            notebook=urllib.parse.quote(self.notebook),
            anchor=urllib.parse.quote(self.anchor, safe="-._~!,;:@"),
        )

    def describe(self) -> str:
        """The section for people: ``chapter 02_regression, "4 · Mean absolute error (L1)"``."""
        return f'{self.chapter}, "{_plain_text(self.title)}"'


def _plain_text(markdown: str) -> str:
    text = re.sub(r"`([^`]*)`", r"\1", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*)(.+?)\1", r"\2", text)
    return text.strip()


def _without_number(title: str) -> str:
    """``"12.1 · Softmax…"`` and ``"11. The…"`` -> the words alone."""
    return re.sub(r"^\s*\d+(\.\d+)*\.?\s*(·|—|-|:)?\s*", "", _plain_text(title))


@dataclass(frozen=True)
class CourseMap:
    """Every section of the course, and which one teaches each mistake and each exercise."""

    sections: tuple[Section, ...]
    exercises: dict[tuple[str, str], Section]
    """(chapter, grade id of an answer or test cell) -> the nearest section above it."""

    def find(self, chapter: str, words: str) -> list[Section]:
        """The sections of ``chapter`` whose heading (number left out) contains ``words``."""
        wanted = words.casefold()
        return [
            section
            for section in self.sections
            if section.chapter == chapter and wanted in _without_number(section.title).casefold()
        ]

    def for_mistake(self, key: str) -> Section | None:
        """The section that teaches mistake ``key`` (None if :data:`TAUGHT_IN` has none)."""
        for (chapter, words), keys in TAUGHT_IN.items():
            if key in keys:
                found = self.find(chapter, words)
                return found[0] if found else None
        return None

    def for_exercise(self, chapter: str, cell: str) -> Section | None:
        """The section an exercise's cell sits in."""
        return self.exercises.get((chapter, cell))

    def teaching(self, chapter: str, cell: str, mistake: str | None) -> Section | None:
        """What a learner who failed ``cell`` with ``mistake`` should review."""
        section = self.for_mistake(mistake) if mistake else None
        return section or self.for_exercise(chapter, cell)


def course_map(source: Path) -> CourseMap:
    """Read every heading of ``source/<chapter>/*.ipynb`` (the instructor's notebooks)."""
    sections: list[Section] = []
    exercises: dict[tuple[str, str], Section] = {}
    for path in sorted(Path(source).glob("*/*.ipynb")):
        chapter = path.parent.name
        notebook = nbformat.read(path, as_version=4)
        current: Section | None = None
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    match = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
                    if match:
                        current = Section(
                            chapter, path.name, match.group(2), len(match.group(1)), index
                        )
                        sections.append(current)
            own = grade_id(cell)
            if own and current is not None:
                exercises[(chapter, own)] = current
    return CourseMap(tuple(sections), exercises)


def every_mistake() -> dict[str, Mistake]:
    """Every mistake a check can name: the catalogue, and any other Mistake the checks export."""
    found = dict(MISTAKES)
    for name in lossbook.checks.__all__:
        value = getattr(lossbook.checks, name)
        if isinstance(value, Mistake):
            found.setdefault(value.key, value)
    return found
