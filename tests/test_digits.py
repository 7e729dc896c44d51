"""The digits loader of Section 1: scaling, a deterministic split, provenance, bad input."""

import math

import numpy as np
import pytest
import torch

from course_utils import provenance
from course_utils.datasets.digits import DATA_SOURCE_NAME, DATA_SOURCE_ORIGIN, load_digits


@pytest.fixture(autouse=True)
def fresh_provenance(monkeypatch):
    # the recorded sources live in a module-level dict; give each test an empty one
    monkeypatch.setattr(provenance, "_sources", {})


def test_arrays_are_float32_images_in_unit_range_with_int64_labels():
    digits = load_digits()
    for x, y in ((digits.x_train, digits.y_train), (digits.x_valid, digits.y_valid)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.ndim == 2 and x.shape[1] == 64 and len(x) == len(y)
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert set(np.unique(y)) <= set(range(10))
    # the raw ink counts 0..16 become multiples of 1/16, and both ends occur
    everything = np.concatenate([digits.x_train, digits.x_valid])
    assert everything.min() == 0.0 and everything.max() == 1.0
    assert np.allclose(everything * 16, np.round(everything * 16))
    assert digits.x_train[0].reshape(digits.image_shape).shape == (8, 8)
    assert digits.classes == tuple(range(10))


def test_split_sizes_follow_the_fraction_and_cover_every_image_once():
    digits = load_digits(valid_fraction=0.25)
    assert len(digits.y_valid) == round(1797 * 0.25)
    assert len(digits.y_train) + len(digits.y_valid) == 1797
    both = np.concatenate([digits.train_index, digits.valid_index])
    assert np.array_equal(np.sort(both), np.arange(1797))


def test_split_matches_the_original_data():
    from sklearn.datasets import load_digits as sklearn_load_digits

    raw = sklearn_load_digits()
    digits = load_digits()
    assert np.allclose(digits.x_valid, raw.data[digits.valid_index] / 16)
    assert np.array_equal(digits.y_train, raw.target[digits.train_index])


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert np.array_equal(a.valid_index, b.valid_index)
    assert np.array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.valid_index, c.valid_index)


def test_every_class_is_in_both_sets():
    digits = load_digits()
    assert set(digits.y_train) == set(range(10)) == set(digits.y_valid)


def test_loading_records_the_data_in_the_provenance():
    load_digits()
    load_digits(seed=3)  # loading twice names the data once
    (source,) = provenance.data_sources()
    assert source.name == DATA_SOURCE_NAME
    assert source.origin == DATA_SOURCE_ORIGIN
    assert "load_digits()" in source.origin
    assert source.items == 1797
    assert source.stand_in_for is None


def test_as_tensors_keeps_dtypes_and_values():
    digits = load_digits()
    x_train, y_train, x_valid, y_valid = digits.as_tensors()
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert x_valid.shape == (len(digits.y_valid), 64)
    assert torch.equal(y_valid, torch.from_numpy(digits.y_valid))


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, math.nan, 0.0001, 0.9999])
def test_fraction_outside_the_open_interval_or_leaving_a_set_empty_is_refused(fraction):
    with pytest.raises(ValueError, match="valid_fraction") as caught:
        load_digits(valid_fraction=fraction)
    assert "expected" in str(caught.value) or "between 0 and 1" in str(caught.value)
    assert provenance.data_sources() == []  # nothing loaded, nothing recorded


def test_the_error_names_the_value_it_found():
    with pytest.raises(ValueError, match=r"between 0 and 1 \(exclusive\), got 1\.5"):
        load_digits(valid_fraction=1.5)


@pytest.mark.parametrize("fraction", ["0.2", None, True])
def test_fraction_that_is_not_a_number_is_a_type_error(fraction):
    with pytest.raises(TypeError, match="valid_fraction must be a number"):
        load_digits(valid_fraction=fraction)


@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), (0.5, TypeError), ("0", TypeError), (True, TypeError)]
)
def test_bad_seed_is_refused(seed, error):
    with pytest.raises(error, match="seed must be"):
        load_digits(seed=seed)
