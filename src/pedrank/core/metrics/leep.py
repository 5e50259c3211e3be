"""LEEP: Log Expected Empirical Prediction (Nguyen et al., ICML 2020).

Reference
---------
Cuong V. Nguyen, Tal Hassner, Matthias Seeger, Cedric Archambeau.
"LEEP: A New Measure to Evaluate Transferability of Learned Representations."
ICML 2020.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pedrank.core._linalg import class_sums
from pedrank.core._validation import check_probabilities, encode_labels
from pedrank.core.metrics._registry import register

__all__ = ["leep", "empirical_conditional"]


def _row_normalise(theta: np.ndarray) -> np.ndarray:
    # check_probabilities accepts rows summing to 1 within 1e-3 (float32 softmax
    # drift); renormalising makes the empirical joint below an exact distribution.
    theta /= theta.sum(axis=1, keepdims=True)
    return theta


def empirical_conditional(theta: np.ndarray, codes_enc: Any) -> np.ndarray:
    """Empirical conditional ``P(y | z)`` of target label given source class (C x Z).

    ``P(y, z) = (1/N) sum_{i: y_i = y} theta_iz``, ``P(z) = sum_y P(y, z)`` and
    ``P(y | z) = P(y, z) / P(z)``. A source class that receives no probability
    mass at all (``P(z) = 0``) gets ``P(y | z) = 0``: it multiplies
    ``theta_iz = 0`` for every sample, so its value never matters.
    """
    n = theta.shape[0]
    joint = class_sums(theta, codes_enc) / n  # C x Z, one pass, no C x N one-hot
    pz = joint.sum(axis=0)
    return np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)


@register(
    "leep",
    input="source_probs",
    reference="Nguyen et al., ICML 2020 (LEEP)",
    cost="O(N Z)",
)
def leep(source_probs: Any, y: Any) -> float:
    r"""Log Expected Empirical Prediction of a source classifier on a target task.

    With :math:`\theta(x_i)` the source model's softmax over its ``Z`` source
    classes,

    .. math::

        P(y, z) = \frac{1}{N} \sum_{i: y_i = y} \theta(x_i)_z, \quad
        P(y \mid z) = \frac{P(y, z)}{\sum_{y'} P(y', z)}, \\
        \mathrm{LEEP} = \frac{1}{N} \sum_{i=1}^N
            \log \sum_{z} P(y_i \mid z)\, \theta(x_i)_z .

    Parameters
    ----------
    source_probs : array-like, shape (N, Z)
        Softmax outputs of the *source* classifier on the target samples; rows
        must sum to 1 (within 1e-3; they are renormalised).
    y : array-like, shape (N,)
        Target labels of any sortable type (at least two classes).

    Returns
    -------
    float
        LEEP, a log-likelihood in ``(-inf, 0]``; higher is better. It is 0
        exactly when every sample's expected empirical prediction puts all its
        mass on the true label.

    Raises
    ------
    ValueError
        If ``source_probs`` is not a finite N x Z row-stochastic matrix, or the
        labels do not match its rows / have fewer than two classes.

    Notes
    -----
    Cost O(N Z) time and memory (the ``N x Z`` input itself); no ``N x C``
    one-hot or ``N x C`` prediction matrix is formed: the expected empirical
    prediction of the *true* label only is needed, a row-wise dot product of
    ``theta_i`` with ``P(y_i | .)``.

    References
    ----------
    Nguyen, Hassner, Seeger, Archambeau. "LEEP: A New Measure to Evaluate
    Transferability of Learned Representations." ICML 2020.
    """
    theta = _row_normalise(check_probabilities(source_probs))
    enc = encode_labels(y, theta.shape[0])
    cond = empirical_conditional(theta, enc)  # C x Z
    # EEP of the true label: sum_z theta_iz P(y_i | z). It is > 0 for every
    # sample because P(y_i | z) > 0 wherever theta_iz > 0, so the log is finite.
    eep = np.einsum("nz,nz->n", theta, cond[enc.codes])
    return float(np.mean(np.log(eep)))
