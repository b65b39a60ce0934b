"""Every data set the course makes: small, seeded, built in memory, never downloaded.

A flat module of functions, one per data set, each returning ``(X, y)`` tensors:

- :func:`classification_data`: points around ``C`` centres on a circle, class indices;
- :func:`binary_data`: the same with two classes and float 0/1 labels, as BCE expects;
- :func:`gaussian_blobs`: ``counts[c]`` points of class ``c``, for imbalanced data sets;
- real data that ships inside scikit-learn, split into training and held-out parts
  (:class:`Split`): :func:`digits` (10 classes), :func:`breast_cancer` (binary),
  :func:`diabetes` (regression).

The same seed gives the same tensors on every machine: every learner sees the numbers the
solutions show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def classification_data(
    n: int = 300, num_classes: int = 3, *, seed: int = 0, spread: float = 0.8
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)``: ``n`` points in 2-D around ``num_classes`` centres on a circle of radius 3.

    Point ``i`` has class ``i mod C``, so the classes are as balanced as ``n`` allows; its
    coordinates are its class centre (angle ``2πc / C``) plus Gaussian noise of standard
    deviation ``spread``. Rows are shuffled. With the default ``spread`` a linear model can
    reach about 95%.

    Returns:
        ``X``, float32 ``(n, 2)``, and ``y``, class indices ``torch.long`` ``(n,)``.

    Example:
        >>> X, y = classification_data()
        >>> X.shape, y.shape, y.dtype
        (torch.Size([300, 2]), torch.Size([300]), torch.int64)
    """
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % num_classes
    angles = 2 * torch.pi * y.to(torch.float32) / num_classes
    centres = 3.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    X = centres + spread * torch.randn(n, 2, generator=generator)
    order = torch.randperm(n, generator=generator)
    return X[order], y[order]


def binary_data(
    n: int = 200, *, seed: int = 0, spread: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)``: two clusters in 2-D; ``y`` is float 0./1. of shape ``(n,)`` as BCE expects.

    The two-class :func:`classification_data`, with its labels as floats.

    Example:
        >>> X, y = binary_data()
        >>> X.shape, y.shape, y.dtype
        (torch.Size([200, 2]), torch.Size([200]), torch.float32)
    """
    X, y = classification_data(n, 2, seed=seed, spread=spread)
    return X, y.to(torch.float32)


def gaussian_blobs(
    counts: list[int] | tuple[int, ...], *, spread: float = 1.0, radius: float = 2.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)``: ``counts[c]`` points of class ``c`` around ``C = len(counts)`` centres.

    Class ``c``'s centre sits at angle ``2πc / C`` on a circle of ``radius``; each
    point adds Gaussian noise of standard deviation ``spread`` to both
    coordinates, so neighbouring classes overlap more as ``spread`` grows.
    Unequal ``counts`` make an imbalanced data set. Rows are shuffled.

    Args:
        counts: points per class, ``C ≥ 2`` positive integers.
        spread: standard deviation of the noise.
        radius: radius of the circle of centres.
        seed: seed of the noise and the shuffle.

    Returns:
        ``X``, float32 ``(N, 2)``, and ``y``, class indices int64 ``(N,)``, ``N = Σ counts``.

    Example:
        >>> X, y = gaussian_blobs([30, 3, 2])
        >>> X.shape, X.dtype, y.shape, y.dtype
        (torch.Size([35, 2]), torch.float32, torch.Size([35]), torch.int64)
        >>> torch.bincount(y).tolist()
        [30, 3, 2]
    """
    sizes = [int(n) for n in counts]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"counts={sizes}: give at least two classes, each with at least one point."
        )
    generator = torch.Generator().manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    angles = 2 * math.pi * y.double() / len(sizes)
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    noise = torch.randn(len(y), 2, generator=generator, dtype=torch.float64)
    X = (centres + spread * noise).float()
    order = torch.randperm(len(y), generator=generator)
    return X[order], y[order]


# ---------------------------------------------------------------------------
# Real data: three data sets that ship inside scikit-learn (nothing is downloaded), split
# once into a training part and a held-out part, as tensors the course's losses expect.


@dataclass(frozen=True)
class Split:
    """A data set split into a training part and a held-out part.

    Attributes:
        X_train, y_train: the training inputs ``(N_train, D)`` float32 and targets ``(N_train,)``.
        X_test, y_test: the held-out inputs and targets, never used to fit anything.
        feature_names: one name per column of ``X``.
        target_names: the class names (classification) or a one-element description (regression).
        description: what one row is, in a sentence.
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    description: str

    def __repr__(self) -> str:
        return (
            f"Split({self.description}: X_train {tuple(self.X_train.shape)} "
            f"{self.X_train.dtype}, y_train {tuple(self.y_train.shape)} {self.y_train.dtype}, "
            f"X_test {tuple(self.X_test.shape)}, y_test {tuple(self.y_test.shape)})"
        )


def _split_bunch(
    bunch,
    *,
    y_dtype: torch.dtype,
    test_fraction: float,
    seed: int,
    stratify: bool,
    description: str,
    target_names: tuple[str, ...] | None = None,
) -> Split:
    """Shuffle and split a scikit-learn data set (a ``Bunch``) into a :class:`Split` of tensors."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(
            f"test_fraction={test_fraction}: give the held-out share as a number in (0, 1), "
            f"e.g. 0.25."
        )
    X_train, X_test, y_train, y_test = train_test_split(
        bunch.data,
        bunch.target,
        test_size=test_fraction,
        random_state=seed,
        stratify=bunch.target if stratify else None,
    )
    return Split(
        torch.as_tensor(X_train, dtype=torch.float32),
        torch.as_tensor(y_train, dtype=y_dtype),
        torch.as_tensor(X_test, dtype=torch.float32),
        torch.as_tensor(y_test, dtype=y_dtype),
        feature_names=tuple(str(name) for name in bunch.feature_names),
        target_names=target_names or tuple(str(name) for name in bunch.target_names),
        description=description,
    )


def digits(*, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's handwritten digits: 1,797 images of 8×8 pixels, 10 classes.

    Each row of ``X`` is one image, its 64 pixels read row by row, each an ink level from 0
    to 16; ``y`` holds class indices 0–9 (``torch.long``), as ``cross_entropy`` expects. The
    split is stratified: both parts keep the classes' proportions.

    Example:
        >>> data = digits()
        >>> data.X_train.shape, data.y_train.dtype, data.X_test.shape
        (torch.Size([1347, 64]), torch.int64, torch.Size([450, 64]))
        >>> data.X_train.reshape(-1, 8, 8).shape  # back to images
        torch.Size([1347, 8, 8])

    Reference: scikit-learn, ``sklearn.datasets.load_digits`` (UCI optical digits, test part).
    """
    from sklearn.datasets import load_digits

    return _split_bunch(
        load_digits(),
        y_dtype=torch.long,
        test_fraction=test_fraction,
        seed=seed,
        stratify=True,
        description="8×8 images of handwritten digits",
    )


def breast_cancer(*, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's Wisconsin breast-cancer data: 569 tumours, 30 measurements, 2 classes.

    ``y`` is float 0./1. of shape ``(N,)``, as the BCE losses expect; in scikit-learn's
    coding **1 means benign** and 0 malignant (``target_names`` says so). The 30 features have
    very different scales (areas in the hundreds, smoothness around 0.1). Stratified split.

    Example:
        >>> data = breast_cancer()
        >>> data.X_train.shape, data.y_train.dtype, data.target_names
        (torch.Size([426, 30]), torch.float32, ('malignant', 'benign'))

    Reference: scikit-learn, ``sklearn.datasets.load_breast_cancer`` (UCI, Wolberg et al. 1995).
    """
    from sklearn.datasets import load_breast_cancer

    return _split_bunch(
        load_breast_cancer(),
        y_dtype=torch.float32,
        test_fraction=test_fraction,
        seed=seed,
        stratify=True,
        description="breast tumours, malignant (0) or benign (1)",
    )


def diabetes(*, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's diabetes data: 442 patients, 10 baseline measurements, one number to predict.

    ``y`` is a float32 ``(N,)`` measure of disease progression one year later, in raw units
    (tens to hundreds). The features arrive already centred and scaled by scikit-learn (each
    column has mean 0 and sum of squares 1 over all 442 rows); the target does not.

    Example:
        >>> data = diabetes()
        >>> data.X_train.shape, data.y_train.dtype
        (torch.Size([331, 10]), torch.float32)

    Reference: scikit-learn, ``sklearn.datasets.load_diabetes`` (Efron et al., "Least Angle
    Regression", 2004).
    """
    from sklearn.datasets import load_diabetes

    return _split_bunch(
        load_diabetes(),
        y_dtype=torch.float32,
        test_fraction=test_fraction,
        seed=seed,
        stratify=False,
        description="diabetes patients and their disease progression",
        target_names=("disease progression after one year",),
    )
