"""The limit kernels of the networks as scikit-learn kernel objects, for
:class:`~sklearn.gaussian_process.GaussianProcessRegressor` and
:class:`~sklearn.kernel_ridge.KernelRidge`.

:class:`RandomFeatureKernel` is the kernel of a random ReLU layer with Gaussian
weights and biases, in any dimension: ``K(x, y) = E[relu(<w, x> + b) relu(<w,
y> + b)]`` with ``w ~ N(0, sigma_w^2 I)``, ``b ~ N(0, sigma_b^2)``.  It is what
the Gram matrix of :class:`~sklearn_shallowrelu.ReLURandomFeatures` (with
``init=Gaussian(sigma_w, sigma_b)``) tends to as the width grows, so ridge on
the features tends to kernel ridge with it (doc/theory.md, section 1).

Its scales are hyperparameters with analytic gradients, so a Gaussian process
fits them by maximising the marginal likelihood.  With ``a = (sigma_w x,
sigma_b)`` and ``c = (sigma_w y, sigma_b)``, ``P = <a, c>``, ``N = |a|^2 |c|^2``
and ``S = sqrt(N - P^2)``::

    K = (S + (pi - theta) P) / (2 pi),        cos(theta) = P / sqrt(N),

(half the degree-1 arc-cosine kernel of Cho and Saul) and, since ``dtheta/dP
= -1/S`` and ``dtheta/dN = P / (2 N S)``, ``dK/dP = (pi - theta) / (2 pi)``
and ``dK/dN = S / (4 pi N)``, neither of which divides by ``S`` (``x`` and
``y`` on one ray).  ``P`` and ``N`` are quadratic in the scales, which gives
the gradients in ``log(sigma_w)`` and ``log(sigma_b)``.
"""

import numpy as np
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from .init import Gaussian

__all__ = ["RandomFeatureKernel"]


class RandomFeatureKernel(Kernel):
    """The kernel of a random ReLU layer with Gaussian weights and biases.

    ``K(x, y) = E[relu(<w, x> + b) relu(<w, y> + b)]``, ``w ~ N(0, sigma_w^2
    I)``, ``b ~ N(0, sigma_b^2)``: the infinite-width limit of the Gram matrix
    of :class:`~sklearn_shallowrelu.ReLURandomFeatures` with
    ``init=Gaussian(sigma_w, sigma_b)`` (the same formula as
    :meth:`sklearn_shallowrelu.init.Gaussian.kernel`).  Not stationary: it
    grows like ``|x| |y|`` far from the origin.

    Parameters
    ----------
    sigma_w : float, default=1.0
        Standard deviation of the weights.
    sigma_b : float, default=1.0
        Standard deviation of the biases.
    sigma_w_bounds, sigma_b_bounds : pair of floats >= 0 or "fixed", default=(1e-5, 1e5)
        The range searched by a Gaussian process (``"fixed"``: not fitted).

    References
    ----------
    .. [1] Y. Cho and L. K. Saul, "Kernel methods for deep learning",
       Advances in Neural Information Processing Systems 22 (2009).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from sklearn_shallowrelu.kernels import RandomFeatureKernel
    >>> X = np.linspace(-2, 2, 30)[:, None]
    >>> gp = GaussianProcessRegressor(RandomFeatureKernel(), alpha=1e-2).fit(X, np.abs(X[:, 0]))
    >>> bool(gp.kernel_.sigma_b < 1e-3)  # |x| bends at 0: the bias scale the likelihood picks vanishes
    True
    """

    def __init__(self, sigma_w=1.0, sigma_b=1.0, sigma_w_bounds=(1e-5, 1e5), sigma_b_bounds=(1e-5, 1e5)):
        self.sigma_w = sigma_w
        self.sigma_b = sigma_b
        self.sigma_w_bounds = sigma_w_bounds
        self.sigma_b_bounds = sigma_b_bounds

    @property
    def hyperparameter_sigma_w(self):
        return Hyperparameter("sigma_w", "numeric", self.sigma_w_bounds)

    @property
    def hyperparameter_sigma_b(self):
        return Hyperparameter("sigma_b", "numeric", self.sigma_b_bounds)

    def __call__(self, X, Y=None, eval_gradient=False):
        """The kernel matrix ``K(X, Y)`` and, with ``eval_gradient``, its gradient
        in the log-hyperparameters (``Y`` must then be None).

        Parameters
        ----------
        X : ndarray of shape (n_samples_X, n_features)
        Y : ndarray of shape (n_samples_Y, n_features), default=None
            None: ``Y = X``.
        eval_gradient : bool, default=False

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims)
            The derivatives in ``log(sigma_b)`` and ``log(sigma_w)`` (the order
            of ``theta``; those not fixed), with ``eval_gradient=True`` only.
        """
        X = np.atleast_2d(X)
        if eval_gradient and Y is not None:
            raise ValueError("The gradient can only be evaluated when Y is None.")
        Y = X if Y is None else np.atleast_2d(Y)
        K = Gaussian(self.sigma_w, self.sigma_b).kernel(X, Y)
        if not eval_gradient:
            return K
        sw2, sb2 = self.sigma_w**2, self.sigma_b**2
        xx = np.sum(X * X, axis=1)
        na = sw2 * xx + sb2  # |a|^2 per point
        P = sw2 * (X @ X.T) + sb2
        N = np.outer(na, na)
        S = np.sqrt(np.maximum(N - P * P, 0.0))
        theta = np.arccos(np.clip(P / np.sqrt(N), -1.0, 1.0))
        dK_dP, dK_dN = (np.pi - theta) / (2 * np.pi), S / (4 * np.pi * N)
        grads = []  # in the order of theta: the hyperparameters by name, sigma_b first
        if not self.hyperparameter_sigma_b.fixed:
            grads.append(dK_dP * 2 * sb2 + dK_dN * 2 * sb2 * (na[:, None] + na[None, :]))
        if not self.hyperparameter_sigma_w.fixed:  # d/dlog(sigma_w): P and |a|^2 scale their x-parts by 2
            dna = 2 * sw2 * xx
            grads.append(dK_dP * 2 * sw2 * (X @ X.T) + dK_dN * (np.outer(dna, na) + np.outer(na, dna)))
        return K, (np.stack(grads, axis=2) if grads else np.empty((len(X), len(X), 0)))

    def diag(self, X):
        """``K(x, x) = (sigma_w^2 |x|^2 + sigma_b^2) / 2`` for each row of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X = np.atleast_2d(X)
        return 0.5 * (self.sigma_w**2 * np.sum(X * X, axis=1) + self.sigma_b**2)

    def is_stationary(self):
        """False: the kernel depends on where ``x`` and ``y`` are, not only on ``x - y``."""
        return False

    def __repr__(self):
        return f"RandomFeatureKernel(sigma_w={self.sigma_w:.3g}, sigma_b={self.sigma_b:.3g})"
