"""The real data sets: scikit-learn's bundled ones, split into training and held-out parts."""

import pytest
import torch

from lossbook.course.data import breast_cancer, diabetes, digits


@pytest.mark.parametrize("load", [digits, breast_cancer, diabetes])
def test_a_split_is_disjoint_complete_and_reproducible(load):
    data, again, other = load(), load(), load(seed=1)
    full = {digits: 1797, breast_cancer: 569, diabetes: 442}[load]
    assert len(data.X_train) + len(data.X_test) == full
    assert len(data.X_test) == pytest.approx(0.25 * full, abs=1)
    # Every row of the data set lands in exactly one part: the two parts together hold the
    # same multiset of rows as the whole (sorted rows compared).
    rows = torch.cat([data.X_train, data.X_test])
    whole = torch.cat([other.X_train, other.X_test])
    assert torch.equal(torch.unique(rows, dim=0), torch.unique(whole, dim=0))
    assert data.X_train.shape[1] == data.X_test.shape[1] == len(data.feature_names)
    assert len(data.y_train) == len(data.X_train) and len(data.y_test) == len(data.X_test)
    assert torch.equal(data.X_train, again.X_train) and torch.equal(data.y_test, again.y_test)
    assert not torch.equal(data.X_train, other.X_train)
    assert data.X_train.dtype == torch.float32
    assert all(isinstance(name, str) and type(name) is str for name in data.feature_names)


def test_classification_targets_have_the_dtypes_the_losses_expect():
    assert digits().y_train.dtype == torch.long
    cancer = breast_cancer()
    assert cancer.y_train.dtype == torch.float32
    assert set(cancer.y_train.unique().tolist()) == {0.0, 1.0}
    assert cancer.target_names == ("malignant", "benign")


@pytest.mark.parametrize("load", [digits, breast_cancer])
def test_stratified_splits_keep_the_class_proportions(load):
    data = load()
    train = torch.bincount(data.y_train.long()) / len(data.y_train)
    test = torch.bincount(data.y_test.long()) / len(data.y_test)
    assert (train - test).abs().max() < 0.02


def test_a_bad_test_fraction_says_what_to_pass():
    with pytest.raises(ValueError, match=r"test_fraction=1.5: give the held-out share"):
        digits(test_fraction=1.5)
