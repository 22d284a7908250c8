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

:class:`InitializationKernel` is the same pair of kernels for every built-in
initialisation, in 1-D, where each knows its knots ``c = -b / w``:
``K1(x, y) = E[relu(w x + b) relu(w y + b)]`` from its cumulative moments
(``Initialization.kernel``), and ``K0(x, y)``, the probability that a unit is
active at both points, from its knot distribution: a unit with ``w > 0`` is
active right of its knot, one with ``w < 0`` left of it, and the built-in
initialisations give both signs the same knot distribution (``(w, b)`` and
``(-w, -b)`` are equally likely), so ``K0 = (F(min(x, y)) + 1 - F(max(x, y)))
/ 2`` with ``F`` the knots' distribution function.
"""

from numbers import Real

import numpy as np
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from .init import Gaussian, _quad_with_breaks, check_init

__all__ = ["RandomFeatureKernel", "TangentKernel", "InitializationKernel"]


class _NetworkKernel(Kernel):
    """What every kernel here shares: the checks of a call, the layout of its
    gradient, non-stationarity."""

    @staticmethod
    def _inputs(X, Y, eval_gradient, dtype=None):
        X = np.atleast_2d(np.asarray(X, dtype=dtype))
        if eval_gradient and Y is not None:
            raise ValueError("The gradient can only be evaluated when Y is None.")
        return X, (X if Y is None else np.atleast_2d(np.asarray(Y, dtype=dtype)))

    @staticmethod
    def _with_gradient(K, grads):
        return K, (np.stack(grads, axis=2) if grads else np.empty(K.shape + (0,)))

    def is_stationary(self):
        """False: the kernel depends on where ``x`` and ``y`` are, not only on ``x - y``."""
        return False


class _OutputLayer:
    """The output layer's part of a tangent kernel, on top of the hidden layer's
    ``K1``: ``output_variance K0(x, y) (x . y + 1) + [output_bias]``, with ``K0``
    the probability that a unit is active at both points."""

    @property
    def hyperparameter_output_variance(self):
        return Hyperparameter("output_variance", "numeric", self.output_variance_bounds)

    def _with_output_layer(self, K1, K0, lin):
        """``K`` and its gradient in ``log(output_variance)`` (a list: empty when fixed)."""
        term = self.output_variance * K0 * lin
        K = K1 + term + (1.0 if self.output_bias else 0.0)
        return K, ([] if self.hyperparameter_output_variance.fixed else [term])

    def _output_layer_diag(self, K1, squares):
        """``K(x, x)`` from ``K1(x, x)`` and ``|x|^2`` (``K0(x, x) = 1/2``)."""
        return K1 + 0.5 * self.output_variance * (squares + 1.0) + (1.0 if self.output_bias else 0.0)


class _GaussianScales(_NetworkKernel):
    """What the kernels of Gaussian weights share: the hyperparameters
    ``sigma_w`` and ``sigma_b`` and their gradients."""

    @property
    def hyperparameter_sigma_w(self):
        return Hyperparameter("sigma_w", "numeric", self.sigma_w_bounds)

    @property
    def hyperparameter_sigma_b(self):
        return Hyperparameter("sigma_b", "numeric", self.sigma_b_bounds)

    def _scale_gradients(self, X, term):
        """``term(geometry, scale)`` in ``log(sigma_b)`` then ``log(sigma_w)`` (theta's order), unless fixed."""
        g = _Geometry(X, self.sigma_w, self.sigma_b)
        return [term(g, scale) for name, scale in (("sigma_b", "b"), ("sigma_w", "w"))
                if not getattr(self, f"hyperparameter_{name}").fixed]

    def _random_feature_diag(self, X):
        """``K1(x, x) = (sigma_w^2 |x|^2 + sigma_b^2) / 2`` for each row of ``X``."""
        X = np.atleast_2d(X)
        return 0.5 * (self.sigma_w**2 * np.sum(X * X, axis=1) + self.sigma_b**2)


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


class TangentKernel(_OutputLayer, _GaussianScales):
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
        k, variance = _start_scales(estimator)
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
        K, grads = self._with_output_layer(K1, K0, lin)
        if not eval_gradient:
            return K
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
        return self._output_layer_diag(self._random_feature_diag(X), np.sum(X * X, axis=1))

    def __repr__(self):
        return (f"TangentKernel(sigma_w={self.sigma_w:.3g}, sigma_b={self.sigma_b:.3g}, "
                f"output_variance={self.output_variance:.3g}, output_bias={self.output_bias})")


class InitializationKernel(_OutputLayer, _NetworkKernel):
    """The random-feature or tangent kernel of any built-in initialisation, in 1-D.

    ``K(x, y) = s^2 K1(x, y) + output_variance * K0(x, y) (x y + 1) +
    [output_bias]`` with ``K1(x, y) = E[relu(w x + b) relu(w y + b)]`` and
    ``K0(x, y) = P(w x + b > 0, w y + b > 0)`` for the hidden weights and
    biases of ``init``, scaled by ``s = init_scale``.  With the defaults
    (``output_variance=0``, no output bias) it is the random-feature kernel
    ``K1``; :meth:`from_estimator` gives the tangent kernel of a network in
    the NTK parametrisation (:class:`TangentKernel` for a Gaussian ``init``
    in any dimension is the same kernel, in closed form).

    Parameters
    ----------
    init : str or Initialization, default='gaussian'
        A built-in initialisation with a 1-D knot distribution (a
        ``'uniform_knots'`` one bound to data).
    output_variance : float, default=0.0
        ``V = E[v^2]`` of the output weights at the start (the hidden
        weights' share of the tangent kernel).
    output_bias : bool, default=False
        Whether a trained output bias adds 1.
    init_scale : float, default=1.0
        The network's ``init_scale`` on the hidden weights and biases.
    output_variance_bounds : pair of float or 'fixed', default=(1e-5, 1e5)
        Bounds of ``output_variance`` for a Gaussian process's fit.

    See Also
    --------
    TangentKernel : The closed form for Gaussian weights in any dimension.

    References
    ----------
    .. [1] A. Jacot, F. Gabriel and C. Hongler, "Neural tangent kernel:
       convergence and generalization in neural networks", Advances in Neural
       Information Processing Systems 31 (NeurIPS 2018).
       https://arxiv.org/abs/1806.07572

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.init import Gaussian, Uniform
    >>> from sklearn_shallowrelu.kernels import InitializationKernel, TangentKernel
    >>> x = np.linspace(-2, 2, 5).reshape(-1, 1)
    >>> K = InitializationKernel(Gaussian(1.0, 0.5), output_variance=0.3, output_bias=True)(x)
    >>> bool(np.allclose(K, TangentKernel(1.0, 0.5, 0.3, True)(x)))
    True
    >>> InitializationKernel(Uniform(1.0, 2.0))(x).shape
    (5, 5)
    """

    def __init__(self, init="gaussian", output_variance=0.0, output_bias=False, init_scale=1.0,
                 output_variance_bounds=(1e-5, 1e5)):
        self.init = init
        self.output_variance = output_variance
        self.output_bias = output_bias
        self.init_scale = init_scale
        self.output_variance_bounds = output_variance_bounds

    @classmethod
    def from_estimator(cls, estimator):
        """The tangent kernel at the start of a 1-D ``ShallowReLURegressor`` in the NTK parametrisation.

        Parameters
        ----------
        estimator : ShallowReLURegressor
            ``parametrization='ntk'``, ``output_init`` in ``{'auto',
            'antisymmetric', 'zero'}`` (output weights uniform on ``[-1, 1]``,
            or zero), any built-in ``init`` with a 1-D knot distribution.

        Returns
        -------
        InitializationKernel
        """
        if estimator.parametrization != "ntk" or estimator.output_init not in ("auto", "antisymmetric", "zero"):
            raise NotImplementedError(
                "The tangent kernel is fixed as the width grows for parametrization='ntk' with output_init in "
                f"{{'auto', 'antisymmetric', 'zero'}}; got parametrization={estimator.parametrization!r}, "
                f"output_init={estimator.output_init!r}.")
        k, variance = _start_scales(estimator)
        return cls(estimator.init, variance, bool(estimator.fit_intercept), init_scale=k,
                   output_variance_bounds="fixed")

    def _init(self):
        init = check_init(self.init)
        if not isinstance(self.init_scale, Real) or not self.init_scale > 0:
            raise ValueError(f"init_scale must be a positive number; got {self.init_scale!r}.")
        return init

    def __call__(self, X, Y=None, eval_gradient=False):
        """The kernel matrix ``K(X, Y)`` and, with ``eval_gradient``, its gradient
        in ``log(output_variance)`` (``Y`` must then be None).

        Parameters
        ----------
        X : ndarray of shape (n_samples_X, 1)
        Y : ndarray of shape (n_samples_Y, 1), default=None
        eval_gradient : bool, default=False

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims)
            Empty (``n_dims = 0``) when ``output_variance`` is fixed.
        """
        X, Y = self._inputs(X, Y, eval_gradient, dtype=np.float64)
        if X.shape[1] != 1 or Y.shape[1] != 1:
            raise ValueError(f"InitializationKernel is the 1-D closed form; got inputs with {X.shape[1]} and "
                             f"{Y.shape[1]} features. TangentKernel and RandomFeatureKernel (Gaussian weights) "
                             "take any number.")
        init = self._init()
        x, y = X[:, 0], Y[:, 0]
        K1 = self.init_scale**2 * init.kernel(x, y)
        K0 = self._both_active(init, x, y)
        K, grads = self._with_output_layer(K1, K0, np.outer(x, y) + 1.0)
        return self._with_gradient(K, grads) if eval_gradient else K

    @staticmethod
    def _both_active(init, x, y):
        """``K0 = (F(min) + 1 - F(max)) / 2``, ``F`` the knots' distribution function."""
        lo, hi = np.minimum.outer(x, y), np.maximum.outer(x, y)
        points, inverse = np.unique(np.concatenate([lo.ravel(), hi.ravel()]), return_inverse=True)
        F = _knot_cdf(init, points)[inverse]
        return 0.5 * (F[: lo.size].reshape(lo.shape) + 1.0 - F[lo.size :].reshape(hi.shape))

    def diag(self, X):
        """``K(x, x)``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, 1)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        x = X[:, 0]
        init = self._init()
        K1 = self.init_scale**2 * np.array([init.kernel(np.array([v]))[0, 0] for v in x])
        # both active at x = x: the unit is active there, probability 1/2 for symmetric inits
        return self._output_layer_diag(K1, x * x)

    def __repr__(self):
        return (f"InitializationKernel(init={self.init!r}, output_variance={self.output_variance:.3g}, "
                f"output_bias={self.output_bias}, init_scale={self.init_scale:.3g})")


def _start_scales(estimator):
    """``init_scale`` and ``V = E[v^2]`` at the start of an NTK network: its output weights
    are uniform on ``[-1, 1]`` times ``init_scale`` (``V = init_scale^2 / 3``), or zero."""
    k = float(estimator.init_scale)
    return k, (0.0 if estimator.output_init == "zero" else k * k / 3.0)


def _knot_cdf(init, points):
    """``P(c <= u)`` for the knots ``c = -b / w`` of ``init`` at sorted ``points``: its
    closed form for a Gaussian init (a Cauchy law), else quadrature of the knot density
    between consecutive points, split at the density's breakpoints."""
    if isinstance(init, Gaussian):
        return 0.5 + np.arctan(points * init.sigma_w / init.sigma_b) / np.pi
    breaks = [p for p in init.breakpoints() if np.isfinite(p)]
    density = lambda c: float(init.knot_density(np.array(c)))  # noqa: E731
    edges = np.concatenate([[-np.inf], points])
    pieces = np.array([_quad_with_breaks(density, a, b, breaks) for a, b in zip(edges[:-1], edges[1:])])
    return np.minimum(np.cumsum(pieces), 1.0)


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

