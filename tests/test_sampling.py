"""Seeded class-stratified subsampling (``pedrank.core.sampling``), used by PARC and N-LEEP."""

from __future__ import annotations

import numpy as np

from pedrank.core._validation import encode_labels
from pedrank.core.sampling import stratified_subsample


def test_stratified_subsample_quotas():
    enc = encode_labels(np.repeat([0, 1, 2], [50, 30, 20]))
    keep = stratified_subsample(enc, 10, random_state=0)
    assert np.bincount(enc.codes[keep]).tolist() == [5, 3, 2]
    enc = encode_labels(np.repeat(["a", "b", "c"], 5))
    keep = stratified_subsample(enc, 7, random_state=0)
    counts = np.bincount(enc.codes[keep])
    assert counts.sum() == 7 and counts.min() >= 2 and len(np.unique(keep)) == 7
    # every class keeps a sample even when its proportional share rounds to 0
    enc = encode_labels(np.repeat([0, 1], [98, 2]))
    keep = stratified_subsample(enc, 10, random_state=0)
    assert np.bincount(enc.codes[keep]).tolist() == [9, 1]


def test_same_seed_same_rows_other_seed_other_rows():
    enc = encode_labels(np.repeat([0, 1, 2], [400, 300, 300]))
    a = stratified_subsample(enc, 100, random_state=1)
    assert np.array_equal(a, stratified_subsample(enc, 100, random_state=1))
    assert not np.array_equal(a, stratified_subsample(enc, 100, random_state=2))
    assert np.all(np.diff(a) > 0)  # sorted, no repeats
