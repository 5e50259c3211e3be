"""NCE: Negative Conditional Entropy (Tran et al., ICCV 2019).

Reference
---------
Anh T. Tran, Cuong V. Nguyen, Tal Hassner. "Transferability and Hardness of
Supervised Classification Tasks." ICCV 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from pedrank.core._validation import check_probabilities, encode_labels
from pedrank.core.metrics._registry import register

__all__ = ["nce"]


@register(
    "nce",
    input="source_probs",
    reference="Tran et al., ICCV 2019 (NCE)",
    cost="O(N Z)",
)
def nce(source_probs: Any, y: Any) -> float:
    r"""Negative conditional entropy of target labels given source predictions.

    The source model's hard prediction of each target sample is
    :math:`z_i = \arg\max_z \theta(x_i)_z`. With the empirical joint
    distribution :math:`P(y, z) = \#\{i: y_i = y, z_i = z\} / N` and
    :math:`P(z) = \sum_y P(y, z)`,

    .. math::

        \mathrm{NCE} = -H(Y \mid Z)
            = \sum_{y, z:\, P(y, z) > 0} P(y, z) \log \frac{P(y, z)}{P(z)} .

    Parameters
    ----------
    source_probs : array-like, shape (N, Z)
        Softmax outputs of the *source* classifier on the target samples (rows
        sum to 1 within 1e-3). Only their argmax is used; ties go to the lowest
        source-class index (``numpy.argmax``).
    y : array-like, shape (N,)
        Target labels of any sortable type (at least two classes).

    Returns
    -------
    float
        ``-H(Y|Z)`` in nats, in ``[-log C, 0]``; 0 when the source prediction
        determines the target label. Higher is better.

    Raises
    ------
    ValueError
        If ``source_probs`` is not a finite N x Z row-stochastic matrix, or the
        labels do not match its rows / have fewer than two classes.

    Notes
    -----
    Cost O(N Z) for the argmax; the contingency table is built sparse, so
    memory is O(N + Z) whatever the number of target and source classes.

    References
    ----------
    Tran, Nguyen, Hassner. "Transferability and Hardness of Supervised
    Classification Tasks." ICCV 2019.
    """
    theta = check_probabilities(source_probs)
    enc = encode_labels(y, theta.shape[0])
    n, n_source = theta.shape
    z = np.argmax(theta, axis=1)
    # Sparse C x Z contingency table: duplicates are summed on conversion.
    counts = sparse.coo_matrix(
        (np.ones(n), (enc.codes, z)), shape=(enc.n_classes, n_source)
    ).tocsc()
    counts.sum_duplicates()
    n_z = np.asarray(counts.sum(axis=0)).ravel()  # samples predicted as each z
    # Column index of every stored cell, to look up its P(z).
    cols = np.repeat(np.arange(n_source), np.diff(counts.indptr))
    n_yz = counts.data
    return float(np.sum(n_yz * np.log(n_yz / n_z[cols])) / n)
