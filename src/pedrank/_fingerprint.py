"""The one content fingerprint of in-memory data (arrays, lists of images, lists of texts).

Used as the data part of the feature-cache key (:mod:`pedrank.models.extract`) and as
:attr:`pedrank.datasets.ImageDataset.fingerprint`. Standard library and numpy only: this
module sits below every pedrank layer. (File digests live in :mod:`pedrank._fs`.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np


def _update(h: Any, part: Any) -> None:
    """Feed one array, list of texts or list of arrays into ``h``, shape and dtype included."""
    if isinstance(part, Sequence) and not isinstance(part, np.ndarray):
        if all(isinstance(s, str) for s in part):
            h.update(json.dumps(list(part)).encode())
            return
        h.update(f"list{len(part)}".encode())
        for item in part:  # images of different sizes: one header per item
            _update(h, np.asarray(item))
        return
    arr = np.ascontiguousarray(np.asarray(part))
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(repr(arr.tolist()).encode() if arr.dtype == object else arr.tobytes())


def data_fingerprint(inputs: Any, labels: Any) -> str:
    """A 20-hex-digit SHA-256 content hash of ``(inputs, labels)``.

    Arrays are hashed by dtype, shape and bytes; a list of texts by its JSON text; a list
    of arrays (images of different sizes) item by item. Equal content gives equal
    fingerprints; any change of a value, a label, a shape or a dtype changes it.

    Examples
    --------
    >>> import numpy as np
    >>> data_fingerprint(np.zeros((2, 3)), [0, 1]) == data_fingerprint(np.zeros((2, 3)), [0, 1])
    True
    >>> data_fingerprint(["a", "b"], [0, 1]) == data_fingerprint(["a", "c"], [0, 1])
    False
    """
    h = hashlib.sha256()
    _update(h, inputs)
    _update(h, labels)
    return h.hexdigest()[:20]


def subset_fingerprint(fingerprint: str, idx: np.ndarray) -> str:
    """The fingerprint of the rows ``idx`` of data whose fingerprint is ``fingerprint``.

    Derived from the parent's fingerprint and the positions, so a subset of a lazy
    dataset (image files, Arrow rows) is fingerprinted without reading its content.

    Examples
    --------
    >>> import numpy as np
    >>> a = subset_fingerprint("abc", np.array([0, 2], dtype=np.intp))
    >>> a == subset_fingerprint("abc", np.array([2, 0], dtype=np.intp))
    False
    """
    positions = np.asarray(idx, dtype=np.intp).tobytes()
    return hashlib.sha256(fingerprint.encode() + positions).hexdigest()[:20]


__all__ = ["data_fingerprint", "subset_fingerprint"]
