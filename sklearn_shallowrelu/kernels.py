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

:class:`TangentKernel` is the neural tangent kernel of the two-layer network
with both layers trained in the NTK parametrisation (output scale
``1/sqrt(n)``), Gaussian hidden weights and biases and output weights of
variance ``V``: the gradients in the output weights give the random-feature
kernel ``K1``, those in the hidden weights and biases ``V K0(x, y) (<x, y> +
1)`` with ``K0 = E[relu'(<w, x> + b) relu'(<w, y> + b)] = (pi - theta) / (2
pi)`` (the degree-0 arc-cosine kernel, halved), and a trained output bias adds
1.  ``K0`` depends on the scales through ``theta`` only: ``dK0 = (dP - P dN /
(2 N)) / (2 pi S)``, zero for the pairs on one ray, whose angle no scale
changes.
"""

import numpy as np
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from .init import Gaussian, check_init

__all__ = ["RandomFeatureKernel", "TangentKernel"]


class _GaussianScales(Kernel):
    """What the kernels of Gaussian weights share: the hyperparameters
    ``sigma_w`` and ``sigma_b``, the checks of a call, non-stationarity."""

    @property
    def hyperparameter_sigma_w(self):
        return Hyperparameter("sigma_w", "numeric", self.sigma_w_bounds)

    @property
    def hyperparameter_sigma_b(self):
        return Hyperparameter("sigma_b", "numeric", self.sigma_b_bounds)

    @staticmethod
    def _inputs(X, Y, eval_gradient):
        X = np.atleast_2d(X)
        if eval_gradient and Y is not None:
            raise ValueError("The gradient can only be evaluated when Y is None.")
        return X, (X if Y is None else np.atleast_2d(Y))

    def _scale_gradients(self, X, term):
        """``term(geometry, scale)`` in ``log(sigma_b)`` then ``log(sigma_w)`` (theta's order), unless fixed."""
        g = _Geometry(X, self.sigma_w, self.sigma_b)
        return [term(g, scale) for name, scale in (("sigma_b", "b"), ("sigma_w", "w"))
                if not getattr(self, f"hyperparameter_{name}").fixed]

    @staticmethod
    def _with_gradient(K, grads):
        return K, (np.stack(grads, axis=2) if grads else np.empty(K.shape + (0,)))

    def _random_feature_diag(self, X):
        """``K1(x, x) = (sigma_w^2 |x|^2 + sigma_b^2) / 2`` for each row of ``X``."""
        X = np.atleast_2d(X)
        return 0.5 * (self.sigma_w**2 * np.sum(X * X, axis=1) + self.sigma_b**2)

    def is_stationary(self):
        """False: the kernel depends on where ``x`` and ``y`` are, not only on ``x - y``."""
        return False


class RandomFeatureKernel(_GaussianScales):
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

    Attributes
    ----------
    hyperparameters : list of Hyperparameter
        The scales a Gaussian process fits (``sigma_b``, ``sigma_w``, in this order).
    theta : ndarray
        Their logarithms (those not fixed), as scikit-learn's optimisers see them.

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
        X, Y = self._inputs(X, Y, eval_gradient)
        K = Gaussian(self.sigma_w, self.sigma_b).kernel(X, Y)
        if not eval_gradient:
            return K
        return self._with_gradient(K, self._scale_gradients(X, lambda g, scale: g.dK1(scale)))

    def diag(self, X):
        """``K(x, x) = (sigma_w^2 |x|^2 + sigma_b^2) / 2`` for each row of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._random_feature_diag(X)

    def __repr__(self):
        return f"RandomFeatureKernel(sigma_w={self.sigma_w:.3g}, sigma_b={self.sigma_b:.3g})"


class TangentKernel(_GaussianScales):
    """The neural tangent kernel of a two-layer ReLU network, both layers trained.

    For ``f(x) = sum_k v_k relu(<w_k, x> + b_k) / sqrt(n) + c`` with ``w_k ~
    N(0, sigma_w^2 I)``, ``b_k ~ N(0, sigma_b^2)`` and output weights of
    variance ``output_variance``, the tangent kernel ``<grad f(x), grad f(y)>``
    tends, as ``n`` grows, to::

        K1(x, y) + output_variance K0(x, y) (<x, y> + 1) + [output_bias]

    with ``K1`` the random-feature kernel (:class:`RandomFeatureKernel`) and
    ``K0 = (pi - theta) / (2 pi)`` on the same angle.  Gradient descent on
    such a network moves the function along this kernel (the lazy regime).

    Parameters
    ----------
    sigma_w, sigma_b : float, default=1.0
        Standard deviations of the hidden weights and biases.
    output_variance : float, default=1/3
        Variance of the output weights (``1/3``: uniform on ``[-1, 1]``).
    output_bias : bool, default=True
        Whether the output bias is trained (it adds a constant 1).
    sigma_w_bounds, sigma_b_bounds, output_variance_bounds : pair of floats or "fixed", default=(1e-5, 1e5)

    Attributes
    ----------
    hyperparameters : list of Hyperparameter
        The scales a Gaussian process fits (``output_variance``, ``sigma_b``, ``sigma_w``, in this order).
    theta : ndarray
        Their logarithms (those not fixed), as scikit-learn's optimisers see them.

    References
    ----------
    .. [1] A. Jacot, F. Gabriel and C. Hongler, "Neural tangent kernel:
       convergence and generalization in neural networks", Advances in Neural
       Information Processing Systems 31 (2018).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.kernels import TangentKernel
    >>> K = TangentKernel()(np.array([[0.0], [1.0]]))
    >>> bool(np.all(K > 0))
    True
    """

    def __init__(self, sigma_w=1.0, sigma_b=1.0, output_variance=1.0 / 3.0, output_bias=True,
                 sigma_w_bounds=(1e-5, 1e5), sigma_b_bounds=(1e-5, 1e5), output_variance_bounds=(1e-5, 1e5)):
        self.sigma_w = sigma_w
        self.sigma_b = sigma_b
        self.output_variance = output_variance
        self.output_bias = output_bias
        self.sigma_w_bounds = sigma_w_bounds
        self.sigma_b_bounds = sigma_b_bounds
        self.output_variance_bounds = output_variance_bounds

    @property
    def hyperparameter_output_variance(self):
        return Hyperparameter("output_variance", "numeric", self.output_variance_bounds)

    @classmethod
    def from_estimator(cls, estimator):
        """The tangent kernel at the start of a :class:`~sklearn_shallowrelu.ShallowReLURegressor`.

        Covered: ``parametrization='ntk'``, ``init='gaussian'`` (or a
        ``Gaussian``), ``output_init`` in ``{'auto', 'antisymmetric', 'zero'}``
        (output weights uniform on ``[-1, 1]``, or zero), any ``init_scale``.

        Parameters
        ----------
        estimator : ShallowReLURegressor
            Fitted or not: only its parameters are read.

        Returns
        -------
        TangentKernel

        Raises
        ------
        NotImplementedError
            For another parametrisation, initialisation or output start.
        """
        init = check_init(estimator.init)
        if estimator.parametrization != "ntk" or not isinstance(init, Gaussian) or \
                estimator.output_init not in ("auto", "antisymmetric", "zero"):
            raise NotImplementedError(
                "The tangent kernel has a closed form here for parametrization='ntk', init='gaussian' and "
                f"output_init in {{'auto', 'antisymmetric', 'zero'}}; got parametrization="
                f"{estimator.parametrization!r}, init={estimator.init!r}, output_init={estimator.output_init!r}.")
        k = float(estimator.init_scale)
        variance = 0.0 if estimator.output_init == "zero" else k * k / 3.0
        return cls(k * init.sigma_w, k * init.sigma_b, variance, bool(estimator.fit_intercept))

    def __call__(self, X, Y=None, eval_gradient=False):
        """The kernel matrix ``K(X, Y)`` and, with ``eval_gradient``, its gradient
        in the log-hyperparameters (``Y`` must then be None).

        Parameters
        ----------
        X : ndarray of shape (n_samples_X, n_features)
        Y : ndarray of shape (n_samples_Y, n_features), default=None
        eval_gradient : bool, default=False

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims)
            In ``log(output_variance)``, ``log(sigma_b)``, ``log(sigma_w)``
            (the order of ``theta``; those not fixed).
        """
        X, Y = self._inputs(X, Y, eval_gradient)
        K1 = Gaussian(self.sigma_w, self.sigma_b).kernel(X, Y)
        a = np.hstack([self.sigma_w * X, np.full((len(X), 1), self.sigma_b)])
        c = np.hstack([self.sigma_w * Y, np.full((len(Y), 1), self.sigma_b)])
        K0 = (np.pi - _angles(a, c)) / (2 * np.pi)
        lin = X @ Y.T + 1.0
        K = K1 + self.output_variance * K0 * lin + (1.0 if self.output_bias else 0.0)
        if not eval_gradient:
            return K
        grads = [] if self.hyperparameter_output_variance.fixed else [self.output_variance * K0 * lin]
        grads += self._scale_gradients(X, lambda g, scale: g.dK1(scale) + self.output_variance * lin * g.dK0(scale))
        return self._with_gradient(K, grads)

    def diag(self, X):
        """``K(x, x) = |a|^2 / 2 + output_variance (|x|^2 + 1) / 2 + [output_bias]``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X = np.atleast_2d(X)
        return (self._random_feature_diag(X) + 0.5 * self.output_variance * (np.sum(X * X, axis=1) + 1.0)
                + (1.0 if self.output_bias else 0.0))

    def __repr__(self):
        return (f"TangentKernel(sigma_w={self.sigma_w:.3g}, sigma_b={self.sigma_b:.3g}, "
                f"output_variance={self.output_variance:.3g}, output_bias={self.output_bias})")


class _Geometry:
    """The angle between ``a = (sigma_w x, sigma_b)`` and ``c = (sigma_w y,
    sigma_b)`` for all pairs of rows of ``X``, and the derivatives of the two
    arc-cosine kernels in the log-scales (see the module docstring)."""

    def __init__(self, X, sigma_w, sigma_b):
        self.X, self.sw2, self.sb2 = X, sigma_w**2, sigma_b**2
        self.xx = np.sum(X * X, axis=1)
        self.na = self.sw2 * self.xx + self.sb2  # |a|^2 per point
        self.G = X @ X.T
        self.P = self.sw2 * self.G + self.sb2
        self.N = np.outer(self.na, self.na)
        self.S = np.sqrt(np.maximum(self.N - self.P * self.P, 0.0))
        self.theta = np.arccos(np.clip(self.P / np.sqrt(self.N), -1.0, 1.0))

    def dPN(self, scale):
        """``(dP, dN)`` in ``log(sigma_w)`` (``scale='w'``) or ``log(sigma_b)`` (``'b'``)."""
        if scale == "w":
            dna = 2 * self.sw2 * self.xx
            return 2 * self.sw2 * self.G, np.outer(dna, self.na) + np.outer(self.na, dna)
        return np.full_like(self.P, 2 * self.sb2), 2 * self.sb2 * (self.na[:, None] + self.na[None, :])

    def dK1(self, scale):
        """The random-feature kernel's derivative: ``dK/dP = (pi - theta)/(2 pi)``, ``dK/dN = S/(4 pi N)``."""
        dP, dN = self.dPN(scale)
        return (np.pi - self.theta) / (2 * np.pi) * dP + self.S / (4 * np.pi * self.N) * dN

    def dK0(self, scale):
        """The derivative of ``K0 = (pi - theta)/(2 pi)``: ``(dP - P dN / (2 N)) / (2 pi S)``;
        0 for pairs on one ray (``S = 0``), whose angle no scale changes."""
        dP, dN = self.dPN(scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (dP - self.P * dN / (2 * self.N)) / (2 * np.pi * self.S)
        return np.where(self.S > 1e-12 * np.sqrt(self.N), out, 0.0)


def _angles(A, C):
    """The angles between the rows of ``A`` and of ``C``, as ``2 atan2(|a - c|, |a +
    c|)`` of the unit vectors (Kahan): accurate near 0 and pi, where ``arccos``
    of the cosine loses half the digits (``K0`` has slope ``-1 / (2 pi)`` in the
    angle, so that error would be ``1e-8`` on the diagonal).  Rows of ``A`` in
    blocks of about a million numbers."""
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    C = C / np.linalg.norm(C, axis=1, keepdims=True)
    out = np.empty((len(A), len(C)))
    rows = max(1, (1 << 20) // max(1, len(C) * A.shape[1]))
    for i in range(0, len(A), rows):
        a = A[i:i + rows, None, :]
        out[i:i + rows] = 2 * np.arctan2(np.linalg.norm(a - C[None], axis=2), np.linalg.norm(a + C[None], axis=2))
    return out

