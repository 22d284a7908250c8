"""Small data sets built into the package: the toy problems of the papers the
package implements, and seeded generators of the regression problems that the
examples, benchmarks and tests are made of.

Nothing is downloaded: every data set is written out here or generated from a
formula with a seed.  The generators draw their random numbers in a fixed,
documented order, so that one ``RandomState`` handed to successive calls
continues its stream (a test set drawn after the training set, say) and the
data of a seed never change.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "make_curve",
    "make_single_index",
    "make_neuron_teacher",
    "make_wiggly_curve",
    "load_jin_montufar",
    "load_boursier_orthogonal",
]


def _sin2(x):
    return np.sin(2 * x)


def make_curve(n_samples=100, *, target=None, x_range=(-2.0, 2.0), noise=0.3, sampling="uniform",
               sort=False, random_state=None):
    """A 1-D regression problem: a function of ``x`` plus Gaussian noise.

    ``x`` lies in ``x_range``: drawn uniformly (``sampling='uniform'``, in the
    order drawn unless ``sort``) or evenly spaced with both ends included
    (``sampling='grid'``); ``y = target(x) + noise * N(0, 1)``.

    The random numbers are drawn in this order: the ``n_samples`` values of
    ``x`` (``'uniform'`` only), then the ``n_samples`` noise values (only if
    ``noise`` is not 0).  A ``RandomState`` passed to two calls therefore gives
    two independent samples of the same problem, e.g. a training and a test set.

    Parameters
    ----------
    n_samples : int, default=100
    target : callable, default=None
        Maps a 1-D array of inputs to the noiseless outputs; ``None`` is
        ``sin(2 x)``.
    x_range : (float, float), default=(-2.0, 2.0)
        The interval of the inputs.
    noise : float, default=0.3
        Standard deviation of the Gaussian noise; ``0`` draws none.
    sampling : {'uniform', 'grid'}, default='uniform'
        Random uniform inputs or an evenly spaced grid (``numpy.linspace``).
    sort : bool, default=False
        Sort uniform inputs increasingly before the outputs are computed (a
        grid is sorted already).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.datasets import make_curve
    >>> rng = np.random.RandomState(0)
    >>> X, y = make_curve(100, noise=0.3, random_state=rng)
    >>> X_test, y_test = make_curve(1000, noise=0.3, random_state=rng)  # continues the stream
    >>> X.shape, y.shape, X_test.shape
    ((100, 1), (100,), (1000, 1))
    >>> X, y = make_curve(5, target=np.abs, x_range=(-1, 1), noise=0, sampling="grid")
    >>> X[:, 0].tolist(), y.tolist()
    ([-1.0, -0.5, 0.0, 0.5, 1.0], [1.0, 0.5, 0.0, 0.5, 1.0])
    """
    if sampling not in ("uniform", "grid"):
        raise ValueError(f"sampling must be 'uniform' or 'grid', got {sampling!r}.")
    rng = check_random_state(random_state)
    low, high = x_range
    if sampling == "grid":
        x = np.linspace(low, high, n_samples)
    else:
        x = rng.uniform(low, high, n_samples)
        if sort:
            x = np.sort(x)
    y = (_sin2 if target is None else target)(x)
    if noise:
        y = y + noise * rng.standard_normal(n_samples)
    return x.reshape(-1, 1), y


def make_single_index(n_samples=100, n_features=10, *, target=None, direction=None, noise=0.1,
                      random_state=None):
    """Gaussian inputs labelled through one direction: ``y = target(X @ u) + noise``.

    The rows of ``X`` are standard normal in ``n_features`` dimensions and the
    outputs depend on them only through the projection on the unit vector
    ``u`` (a single-index model, the simplest teacher that a network of any
    width can fit).

    The random numbers are drawn in this order: ``u`` (a standard normal
    vector, normalised, so uniform on the sphere; only when ``direction`` is
    None), ``X`` row by row, then the noise (only if ``noise`` is not 0).

    Parameters
    ----------
    n_samples : int, default=100
    n_features : int, default=10
    target : callable, default=None
        Maps the 1-D array ``X @ u`` to the noiseless outputs; ``None`` is
        ``sin(2 t)``.
    direction : array-like of shape (n_features,), default=None
        ``u``, used as given; ``None`` draws a random unit vector.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise; ``0`` draws none.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.datasets import make_single_index
    >>> X, y = make_single_index(200, 3, random_state=0)
    >>> X.shape, y.shape
    ((200, 3), (200,))
    >>> X, y = make_single_index(4, 2, target=np.abs, direction=[1.0, 0.0], noise=0, random_state=0)
    >>> bool(np.all(y == np.abs(X[:, 0])))
    True
    """
    rng = check_random_state(random_state)
    if direction is None:
        u = rng.standard_normal(n_features)
        u /= np.linalg.norm(u)
    else:
        u = np.asarray(direction, dtype=float)
    X = rng.standard_normal((n_samples, n_features))
    y = (_sin2 if target is None else target)(X @ u)
    if noise:
        y = y + noise * rng.standard_normal(n_samples)
    return X, y


def make_neuron_teacher(n_samples=4, n_features=4, *, return_teacher=False, random_state=None):
    """One ReLU neuron as the teacher, on inputs centred on its direction.

    The "centred" data of Chistikov, Englert & Lazic (NeurIPS 2023): a unit
    vector ``mu`` uniform on the sphere, inputs ``x_i ~ N(mu, I / d)``
    (``d = n_features``), redrawn together with ``mu`` until every ``x_i``
    makes an acute angle with ``mu``, and labels ``y_i = relu(mu . x_i)`` (no
    noise).  So every label is positive and the teacher ``v* = mu`` is active
    on every input.  A draw is accepted with probability
    ``Phi(sqrt(d))^n_samples`` (``Phi`` the standard normal distribution
    function): about 0.91 for ``d = n = 4``.

    Each attempt draws ``mu`` (``d`` standard normal numbers), then the inputs
    row by row.

    Parameters
    ----------
    n_samples : int, default=4
    n_features : int, default=4
    return_teacher : bool, default=False
        Also return ``mu``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    teacher : ndarray of shape (n_features,)
        The unit vector ``mu``; only with ``return_teacher=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.datasets import make_neuron_teacher
    >>> X, y, mu = make_neuron_teacher(4, 4, return_teacher=True, random_state=0)
    >>> X.shape, bool(np.all(y > 0)), bool(np.allclose(y, X @ mu))
    ((4, 4), True, True)
    """
    rng = check_random_state(random_state)
    d = n_features
    while True:
        mu = rng.standard_normal(d)
        mu /= np.linalg.norm(mu)
        X = mu + rng.standard_normal((n_samples, d)) / np.sqrt(d)
        if np.all(X @ mu > 0):
            y = np.maximum(X @ mu, 0.0)
            return (X, y, mu) if return_teacher else (X, y)


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
