"""Small data sets built into the package: the toy problems of the papers the
package implements, and a seeded 1-D regression problem for demos and tests.

Nothing is downloaded: every data set is written out here or generated from a
formula with a seed.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_wiggly_curve", "load_jin_montufar", "load_boursier_orthogonal"]


def make_wiggly_curve(n_samples=200, noise=0.3, random_state=0):
    """A 1-D regression problem whose smoothness varies along the axis.

    ``x`` is drawn from a mixture that is dense near 0 and sparse at the ends of
    ``[-3, 3]``, and ``y = sin(3 x) exp(-x^2 / 4) + 0.3 x + noise``: curved
    where the data are dense, nearly linear where they are sparse, the setting
    in which the curvature weight of an initialisation matters.

    Parameters
    ----------
    n_samples : int, default=200
    noise : float, default=0.3
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    X : ndarray of shape (n_samples, 1), sorted
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sklearn_shallowrelu.datasets import make_wiggly_curve
    >>> X, y = make_wiggly_curve(50)
    >>> X.shape, y.shape
    ((50, 1), (50,))
    """
    rng = check_random_state(random_state)
    dense = rng.standard_normal(n_samples)
    wide = rng.uniform(-3, 3, n_samples)
    x = np.where(rng.uniform(size=n_samples) < 0.6, dense, wide)
    x = np.sort(np.clip(x, -3, 3))
    y = np.sin(3 * x) * np.exp(-(x**2) / 4) + 0.3 * x + noise * rng.standard_normal(n_samples)
    return x.reshape(-1, 1), y


def load_jin_montufar():
    """The five points of Jin & Montufar (JMLR 2023), Figure 1.

    ``x = (-2, -1, 0, 1, 2)``, ``y = (1.5, 0.5, 1.5, 0.5, 1.5)``.

    Returns
    -------
    X : ndarray of shape (5, 1)
    y : ndarray of shape (5,)
    """
    return np.array([-2.0, -1.0, 0.0, 1.0, 2.0]).reshape(-1, 1), np.array([1.5, 0.5, 1.5, 0.5, 1.5])


def load_boursier_orthogonal():
    """The toy data of Boursier, Pillaud-Vivien & Flammarion (NeurIPS 2022).

    ``x = (-0.5, 2)``, ``y = (-1, 1)``: with a bias the augmented inputs
    ``(x, 1)`` are orthogonal.

    Returns
    -------
    X : ndarray of shape (2, 1)
    y : ndarray of shape (2,)
    """
    return np.array([[-0.5], [2.0]]), np.array([-1.0, 1.0])
