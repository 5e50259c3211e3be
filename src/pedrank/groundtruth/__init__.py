"""Ground truth: transfer accuracies (published and measured) and the protocol
that measures them (:mod:`pedrank.groundtruth.protocol`).

The tables API is re-exported here (``pedrank.groundtruth.load(name)`` ...).
"""

from pedrank.groundtruth.tables import (
    available,
    load,
    load_file,
    metadata,
    replicates,
    replicates_file,
)

__all__ = ["available", "load", "load_file", "metadata", "replicates", "replicates_file"]
