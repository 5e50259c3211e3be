"""Dataset fingerprints are part of the feature-cache key: pin them.

The values were recorded before TextDataset and the ``take`` sub-fingerprints moved onto
:mod:`pedrank._fingerprint` (one home for data fingerprints); they must not change.
"""

import doctest

import numpy as np

import pedrank._fingerprint as fp_module
from pedrank.datasets import ImageDataset, TextDataset


def test_text_dataset_fingerprints_are_unchanged():
    texts = TextDataset(["a b", "c"], np.array([0, 1]))
    assert texts.fingerprint == "c000ae203921f5ea86ec"
    assert texts.take(np.array([1, 0])).fingerprint == "5ea2b4deafcfb9882ea8"
    objects = TextDataset(["x", "y", "z"], np.array(["p", "q", "p"], dtype=object))
    assert objects.fingerprint == "5baeab7be3249319ccd6"


def test_image_subset_fingerprint_is_unchanged():
    images = ImageDataset(np.zeros((3, 4, 4, 3), np.uint8), np.array([0, 1, 0]), "im", "abc",
                          ("0", "1"))
    assert images.take(np.array([2, 0])).fingerprint == "563a67ac8b4377065159"


def test_fingerprint_examples_run():
    assert doctest.testmod(fp_module).failed == 0
