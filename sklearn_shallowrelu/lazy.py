"""The lazy-training (kernel) limit of wide shallow networks, in any input dimension.

A network trained in the lazy regime moves its function along a fixed kernel:
ridge on ``n`` random ReLU features tends, as ``n`` grows, to kernel ridge
regression with :class:`~sklearn_shallowrelu.kernels.RandomFeatureKernel`, and
gradient descent on both layers of a network in the NTK parametrisation tends
to kernel gradient descent with
:class:`~sklearn_shallowrelu.kernels.TangentKernel`.  :class:`KernelLimitRegressor`
computes those limits exactly on the data, from one ``m x m`` kernel matrix: a
linear solve for ridge, one eigendecomposition for interpolation and for any
number of gradient steps.

The algebra (the weighted, centred kernel).  With ``p = w / sum(w)``, ``C = I -
1 p^T`` (the identity without an intercept) and ``B = diag(sqrt(p)) C``, the
random-feature design ``A`` of :mod:`._design` satisfies ``A A^T -> B K B^T``
as the width grows, and its targets are ``b = B y``.  So with ``B K B^T = Q
diag(lam) Q^T``, every training path of the output layer from zero is a
filter ``g(lam)`` of that one spectrum, and the function it reaches is::

    f(x) = K(x, X) a + c,   a = B^T Q diag(g(lam)) Q^T b,   c = p^T (y - K a)

(``c = 0`` without an intercept): ``g = 1 / (lam + mu)`` for ridge with ``mu =
alpha / sum(w)``, ``g = 1 / lam`` for the interpolant and ``g = (1 - (1 - eta
(lam + mu))^t) / (lam + mu)`` (``eta t`` where that vanishes) after ``t``
gradient steps of size ``eta``.  A direction ``q`` with ``B K B^T q = 0``
contributes the function ``K(., X) B^T q``, whose RKHS norm is ``q^T B K B^T
q = 0``: nothing, so the eigenvalues at the level of rounding are dropped.
"""

import time
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.gaussian_process.kernels import Kernel
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._atomic import atomic_fit
from ._descent import auto_step, is_stable, stability_limit
from ._design import unit_weights
from ._memory import require_memory, working_memory_bytes
from ._solvers import gd_filter
from .init import Gaussian, check_init
from .kernels import InitializationKernel, RandomFeatureKernel, TangentKernel

__all__ = ["KernelLimitRegressor"]

#: Peak memory of a fit, in ``m x m`` float64 arrays.  Evaluating the package's
#: closed-form kernels holds about five (the result and the angle's temporaries;
#: tracemalloc measured 5.0 for ``RandomFeatureKernel`` and ``TangentKernel`` at
#: m = 2000); the solve holds ``K``, its weighted centred copy and the
#: eigensolver's copy and eigenvectors, four.
_FIT_SQUARES = 5

#: Temporaries of one kernel evaluation per entry of its result (see above): the
#: rows of a prediction's block ``K(x, X)`` are sized by it.
_KERNEL_TEMPORARIES = 5

#: The rank rule of the package's spectra (``_solvers._rank_cut``): eigenvalues
#: of the ``m x m`` weighted centred kernel at most ``RANK_RTOL_ULPS m eps
#: lam_max`` are rounding, not signal.  A symmetric eigensolver's backward error
#: is a few ``eps ||K||`` per entry, which moves an eigenvalue by at most about
#: ``m eps lam_max``; the factor 10 keeps the rounding of the kernel's own
#: evaluation below the line too.
RANK_RTOL_ULPS = 10

_MEMORY_FIX = (
    "Use fewer samples, or approximate the kernel with a low-rank map: "
    "sklearn.kernel_approximation.Nystroem(kernel=...) followed by a linear model, or a finite "
    "RandomFeatureReLURegressor, whose memory grows like the width."
)


class KernelLimitRegressor(RegressorMixin, BaseEstimator):
    """The lazy-training (kernel) limit of a wide shallow network, in any dimension.

    Ridge on ``n`` random ReLU features, or gradient descent on a network whose
    tangent kernel stays fixed as ``n`` grows (the lazy regime, Jacot et al.
    [1]_, Lee et al. [2]_), tends to the same training path run in function
    space with a fixed kernel ``K``.  This estimator computes that limit
    exactly on the data, from the ``m x m`` kernel matrix:

    - ``n_steps=None``, ``alpha > 0`` (kernel ridge): ``f`` minimises ``sum_i
      w_i (f(x_i) - y_i)^2 + alpha |f|_H^2`` (plus an unpenalised constant
      with ``fit_intercept``), the limit of
      ``RandomFeatureReLURegressor(solver='ridge', alpha=alpha)`` (same
      ``alpha``, scikit-learn's ``Ridge`` units).  Without intercept and with
      unit weights it is ``KernelRidge(alpha=alpha)`` and the mean of
      ``GaussianProcessRegressor(kernel, alpha=alpha)``.
    - ``n_steps=None``, ``alpha=0``: the interpolant of least RKHS norm (the
      limit of gradient descent run to the end); for a singular kernel matrix,
      the pseudo-inverse solution.
    - ``n_steps=t``: the function after ``t`` full-batch gradient steps of size
      ``learning_rate`` from the zero function on the package's loss ``L =
      sum_i w_i (f(x_i) - y_i)^2 / (2 sum_i w_i)`` (plus ``alpha |f|_H^2 / (2
      sum_i w_i)``), i.e. ``f_{s+1}(X) = f_s(X) - eta K P (f_s(X) - y)`` with
      ``P = diag(w) / sum(w)``; at a new point ``f_t(x) = K(x, X) a_t``.  Exact
      for any ``t`` (``10^9`` included) from one eigendecomposition.

    The kernel of a network comes from :meth:`from_estimator`.

    Conventions.  ``alpha`` is scikit-learn's ``Ridge`` penalty, which the
    descents read in loss units as ``mu = alpha / sum(w)``, as
    :class:`~sklearn_shallowrelu.RandomFeatureReLURegressor` does; its
    gradient-descent step is the network's: the Hessian of ``L`` in the
    output weights has the same nonzero eigenvalues as the matrix ``B K B^T``
    of the module docstring, so the stability limit is ``2 / (lam_max + mu)``
    in both, and a step above it raises ``ValueError``.  With
    ``fit_intercept=True`` the constant is unpenalised and, during gradient
    descent, kept at its optimum for the current function (as the
    random-feature network keeps its output bias): the descent then runs on
    the weighted, centred kernel.  A network whose output bias is trained by
    gradient descent like the other weights instead has it in its tangent
    kernel (``TangentKernel(output_bias=True)``, a constant 1) and maps to
    ``fit_intercept=False``.

    Parameters
    ----------
    kernel : Kernel or None, default=None
        A scikit-learn kernel (a
        :class:`sklearn.gaussian_process.kernels.Kernel`); ``None`` is
        :class:`~sklearn_shallowrelu.kernels.RandomFeatureKernel` with unit
        scales, the limit of ``RandomFeatureReLURegressor(init='gaussian')``.
        Its hyperparameters are used as given (not fitted).
    alpha : float >= 0 or None, default=None
        The ridge penalty in ``Ridge`` units.  ``None``: 1.0 without
        ``n_steps`` (kernel ridge, as ``KernelRidge`` and the random-feature
        network's ridge), 0.0 with it (plain gradient descent).  0 without
        ``n_steps`` interpolates.  With ``n_steps`` it is the descent's ridge
        term.
    n_steps : int or None, default=None
        ``None``: the converged fit (kernel ridge, or the interpolant for
        ``alpha=0``).  An integer: the limit of that many gradient steps.
    learning_rate : 'auto' or float, default='auto'
        Step of the gradient descent (``n_steps`` set).  ``'auto'`` is ``1 /
        (lam_max + mu)``, half the stability limit, the limit of the
        random-feature network's ``'auto'`` step.
    fit_intercept : bool, default=True
        Whether to add an unpenalised constant (kept at its optimum along a
        descent).
    verbose : int, default=0
        1 prints which path ran, the rank and the time.

    Attributes
    ----------
    kernel_ : Kernel
        The kernel used (a clone of ``kernel``, or the default).
    spline_ : SmoothingSplineEquivalent or None
        On 1-D inputs, ridge and interpolation with a random-feature kernel
        (``RandomFeatureKernel``, or ``InitializationKernel`` without the
        tangent kernel's extra terms) are the smoothing spline of the
        initialisation: the fit is that spline, by the exact ``O(m)`` engine
        (1e5 samples in well under a second), and ``X_fit_``, ``dual_coef_``,
        ``intercept_``, ``eigenvalues_`` and ``rank_`` are None.  None
        otherwise.
    X_fit_ : ndarray of shape (n_samples, n_features_in_)
        The training inputs, in their dtype (float32 is kept).
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The coefficients ``a`` of ``f(x) = K(x, X_fit_) a + intercept_``, in
        float64 (those of a near-interpolant cancel one another, which float32
        would not resolve).
    intercept_ : float or ndarray of shape (n_targets,)
        The constant (0 without ``fit_intercept``).
    alpha_ : float
        The penalty used, ``alpha`` with ``None`` resolved.
    learning_rate_ : float or None
        The step used (``n_steps`` set), else None.
    eigenvalues_ : ndarray of shape (n_samples,) or None
        The eigenvalues of the weighted centred kernel matrix ``B K B^T``, in
        decreasing order, rounding-level negatives set to zero; None for
        ridge, which is a Cholesky solve (unless that failed).  The largest is
        the ``lam_max`` of the stability limit.
    rank_ : int or None
        The number of eigenvalues above ``10 m eps lam_max`` (the package's
        rank rule); the rest are treated as zero.  None when
        ``eigenvalues_`` is.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Names of the input features, when ``X`` has string column names.

    See Also
    --------
    sklearn_shallowrelu.kernels.RandomFeatureKernel : The kernel of a random ReLU layer.
    sklearn_shallowrelu.kernels.TangentKernel : The neural tangent kernel of a two-layer network.
    RandomFeatureReLURegressor : The finite-width network whose ridge and descent this is the limit of.
    ShallowReLURegressor : The network whose lazy (NTK) training this is the limit of.
    SmoothingSplineEquivalent : The same limit in 1-D, as a spline, in ``O(m)``.
    sklearn.kernel_ridge.KernelRidge : Kernel ridge without intercept or descent.

    Notes
    -----
    Memory: a fit holds about five ``m x m`` float64 arrays at its peak (the
    kernel's evaluation, then the kernel, its centred copy and the
    eigensolver's two), predicted before anything is allocated; what exceeds
    the memory available raises ``MemoryError``.  Time: ``O(m^3)``, a few
    thousand samples.  Prediction forms ``K(x, X)`` in row blocks within
    scikit-learn's ``working_memory``.

    The degree-1 arc-cosine kernel of Cho and Saul [3]_ is twice
    :class:`~sklearn_shallowrelu.kernels.RandomFeatureKernel`, and its
    degree-0 version is the hidden-layer part of the tangent kernel.

    References
    ----------
    .. [1] A. Jacot, F. Gabriel and C. Hongler, "Neural tangent kernel:
       convergence and generalization in neural networks", Advances in Neural
       Information Processing Systems 31 (2018).
       https://arxiv.org/abs/1806.07572
    .. [2] J. Lee, L. Xiao, S. S. Schoenholz, Y. Bahri, R. Novak, J.
       Sohl-Dickstein and J. Pennington, "Wide neural networks of any depth
       evolve as linear models under gradient descent", Advances in Neural
       Information Processing Systems 32 (2019).
       https://arxiv.org/abs/1902.06720
    .. [3] Y. Cho and L. K. Saul, "Kernel methods for deep learning",
       Advances in Neural Information Processing Systems 22 (2009).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import RandomFeatureReLURegressor
    >>> from sklearn_shallowrelu.lazy import KernelLimitRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (40, 3))
    >>> y = np.sin(2 * X[:, 0]) * X[:, 1]
    >>> net = RandomFeatureReLURegressor(n_hidden=20000, alpha=0.1, random_state=0).fit(X, y)
    >>> limit = KernelLimitRegressor.from_estimator(net).fit(X, y)
    >>> bool(np.max(np.abs(net.predict(X) - limit.predict(X))) < 0.02)
    True
    >>> gd = KernelLimitRegressor(n_steps=10**9).fit(X, y)  # gradient descent run (nearly) to the end
    >>> bool(np.max(np.abs(gd.predict(X) - y)) < 1e-3)
    True
    """

    _parameter_constraints = {
        "kernel": [Kernel, None],
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "n_steps": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, kernel=None, alpha=None, n_steps=None, learning_rate="auto", fit_intercept=True, verbose=0):
        self.kernel = kernel
        self.alpha = alpha
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.fit_intercept = fit_intercept
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Compute the limit function on the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 is kept, anything else becomes float64).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Training targets; each column is fitted independently with the
            same kernel.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors; None weighs the
            samples equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        m = X.shape[0]
        # Weights relative to the largest: their sum cannot overflow (as in ._design).
        unit, top = unit_weights(sw)
        total = float(np.sum(unit))
        p = unit / total
        alpha = (1.0 if self.n_steps is None else 0.0) if self.alpha is None else float(self.alpha)
        mu = alpha / top / total  # alpha / sum(w) without forming sum(w)
        if not np.isfinite(mu):
            raise ValueError(
                f"alpha / sum(sample_weight) = {alpha:.3g} / {total * top:.3g} overflows; scale alpha and "
                "sample_weight down together (the fit depends only on their ratio)."
            )
        kernel = RandomFeatureKernel() if self.kernel is None else clone(self.kernel)
        self.spline_ = self._spline_engine(kernel, X, y, sw, alpha)
        if self.spline_ is not None:
            if self.verbose:
                print(f"[KernelLimitRegressor] {'interpolation' if alpha == 0 else 'kernel ridge'} on {m} samples "
                      "by the O(m) spline engine (SmoothingSplineEquivalent)", flush=True)
            self.kernel_, self.X_fit_, self.alpha_, self.learning_rate_ = kernel, None, alpha, None
            self.dual_coef_ = self.eigenvalues_ = self.rank_ = None
            self.intercept_ = None
            return self
        require_memory(8 * _FIT_SQUARES * m * m, f"The {m} x {m} kernel matrix and its eigendecomposition",
                       _MEMORY_FIX)
        started = time.perf_counter()
        K = np.asarray(kernel(X.astype(np.float64)), dtype=np.float64)
        if not np.all(np.isfinite(K)):
            raise ValueError(f"The kernel {kernel!r} is not finite on these inputs; standardize X.")
        sol = _Solution(K, Y, p, mu, self.fit_intercept)
        eta = None
        if self.n_steps is None and mu > 0:
            what = "kernel ridge"
            coords = sol.ridge()
        else:
            sol.eigen()
            if self.n_steps is None:
                what = "the minimum-norm interpolant"
                coords = sol.filtered(np.where(sol.keep, 1.0 / np.where(sol.keep, sol.lam, 1.0), 0.0))
            else:
                eta = self._step(sol.lam_max + mu)
                what = f"{self.n_steps} gradient steps of size {eta:.4g}"
                coords = sol.filtered(np.where(sol.keep, gd_filter(sol.lam, eta, mu, [self.n_steps])[0], 0.0))
        a, c = sol.coefficients(coords)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(c))):
            raise ValueError(
                f"The fit is not finite (alpha={alpha:.3g}, overflow in the data?); rescale y or use a larger alpha."
            )
        if self.verbose:
            rank = "" if sol.rank is None else f", rank {sol.rank} of {m}"
            print(f"[KernelLimitRegressor] {what} on {m} samples{rank}: {time.perf_counter() - started:.2f} s",
                  flush=True)
        single = np.ndim(y) == 1
        self.kernel_ = kernel
        self.X_fit_ = X
        self.dual_coef_ = a[:, 0] if single else a
        self.intercept_ = float(c[0]) if single else c
        self.alpha_ = alpha
        self.learning_rate_ = eta
        self.eigenvalues_ = sol.eigenvalues
        self.rank_ = sol.rank
        return self

    def _spline_engine(self, kernel, X, y, sw, alpha):
        """In 1-D the random-feature kernel's ridge (and interpolant) is a smoothing spline:
        fit it by the exact ``O(m)`` engine of :class:`SmoothingSplineEquivalent`, or return
        None where that does not apply (several features, the descent, a tangent kernel,
        fewer than three distinct inputs)."""
        from .spline import SmoothingSplineEquivalent

        if X.shape[1] != 1 or self.n_steps is not None:
            return None
        if isinstance(kernel, RandomFeatureKernel):
            init, scale = Gaussian(kernel.sigma_w, kernel.sigma_b), 1.0
        elif isinstance(kernel, InitializationKernel) and kernel.output_variance == 0 and not kernel.output_bias:
            init, scale = check_init(kernel.init), float(kernel.init_scale)
        else:
            return None
        if len(np.unique(X[sw > 0, 0])) < 3:
            return None
        # the kernel s^2 K1 with alpha is K1 with alpha / s^2: the same function
        spline = SmoothingSplineEquivalent(init=init, alpha=alpha / scale**2,
                                           affine="free_constant" if self.fit_intercept else "penalized")
        return spline.fit(X, y, sample_weight=sw)

    def _step(self, curvature):
        """The step for ``curvature = lam_max + mu``, refused above the stability limit."""
        if self.learning_rate == "auto":
            return auto_step(curvature)
        eta = float(self.learning_rate)
        if not is_stable(eta, curvature):
            limit = stability_limit(curvature)
            raise ValueError(
                f"learning_rate={eta:.4g} exceeds the stability limit 2/lambda_max = {limit:.4g} of gradient "
                f"descent with this kernel on this data (lambda_max = {curvature:.4g}, the top eigenvalue of the "
                "weighted centred kernel matrix plus alpha / sum(w); loss convention sum w r^2 / (2 sum w)): "
                f"the iterates would diverge. Use learning_rate='auto' or a value below {limit:.4g}."
            )
        return eta

    # -------------------------------------------------------------- predict
    def predict(self, X):
        """The limit function ``K(x, X_fit_) dual_coef_ + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, in the dtype of ``X`` (float32 or float64).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        if self.spline_ is not None:
            return self.spline_.predict(X)
        a = self.dual_coef_.reshape(len(self.dual_coef_), -1)
        train = self.X_fit_.astype(np.float64)
        out = np.empty((X.shape[0], a.shape[1]), dtype=np.float64)
        # rows of K(x, X) whose evaluation (with its temporaries) fits in working_memory
        rows = max(1, working_memory_bytes() // (8 * _KERNEL_TEMPORARIES * max(1, len(train))))
        for block in gen_batches(X.shape[0], rows):
            out[block] = np.asarray(self.kernel_(X[block].astype(np.float64), train), dtype=np.float64) @ a
        out += np.atleast_1d(self.intercept_)
        out = out.astype(X.dtype, copy=False)
        return out[:, 0] if self.dual_coef_.ndim == 1 else out

    # ----------------------------------------------------------- mapping
    @classmethod
    def from_estimator(cls, estimator, **params):
        """The lazy-training limit of a network as its width grows.

        ``RandomFeatureReLURegressor`` with a Gaussian ``init`` (in any input
        dimension): the kernel is ``RandomFeatureKernel`` with the init's
        scales (for another built-in ``init``, on 1-D inputs,
        ``InitializationKernel``); ridge keeps its ``alpha``; gradient descent keeps its ridge
        term and becomes ``n_steps`` steps of ``learning_rate`` (the fitted
        ``n_iter_`` and ``learning_rate_`` when the network is fitted, else
        ``max_iter`` and its ``learning_rate``, ``'auto'`` included);
        ``fit_intercept`` is kept (the output bias at its optimum, as the
        network keeps it).

        ``ShallowReLURegressor`` trained by full-batch gradient descent in the
        NTK parametrisation (output scale ``1 / sqrt(n)``, whose tangent kernel
        stays fixed as the width grows), with a Gaussian ``init``, ReLU, no
        weight decay, a float ``learning_rate`` and an output that is zero at
        the start (``output_init='antisymmetric'`` or ``'zero'``): the kernel is
        ``TangentKernel.from_estimator(estimator)``, or for another built-in
        ``init`` on 1-D inputs ``InitializationKernel.from_estimator(estimator)``
        (its output bias, trained like the other weights, is the kernel's
        constant, so
        ``fit_intercept=False``), ``n_steps`` the fitted ``n_iter_`` (else
        ``max_iter``) and the step the same.  In the standard parametrisation
        (output scale 1) the limit is that of a step proportional to
        ``1 / n_hidden``: the output weights' gradients add up to ``n_hidden``
        times the random-feature kernel and the hidden layer's and output
        bias's moves vanish, so the kernel is ``RandomFeatureKernel`` with the
        step ``learning_rate * n_hidden`` (a network of another width with the
        same ``learning_rate * n_hidden`` has the same limit).

        Parameters
        ----------
        estimator : RandomFeatureReLURegressor or ShallowReLURegressor
            The network to map, fitted or not (only its parameters, and
            ``n_iter_`` and ``learning_rate_`` when fitted, are read).
        **params : dict
            Overrides of the mapped parameters (e.g. ``alpha=0.0``).

        Returns
        -------
        KernelLimitRegressor
            The limit estimator, unfitted.

        Raises
        ------
        TypeError
            If ``estimator`` is neither of these classes.
        ValueError
            For settings without a closed-form fixed kernel or a
            deterministic limit: another ``init``, parametrisation,
            activation, solver or output start, weight decay, or a number of
            steps decided by a stopping rule.

        Examples
        --------
        >>> from sklearn_shallowrelu import RandomFeatureReLURegressor
        >>> from sklearn_shallowrelu.init import Gaussian
        >>> from sklearn_shallowrelu.lazy import KernelLimitRegressor
        >>> net = RandomFeatureReLURegressor(init=Gaussian(2.0, 0.5), solver="gd", learning_rate=0.5, max_iter=300)
        >>> KernelLimitRegressor.from_estimator(net)
        KernelLimitRegressor(alpha=0.0,
                             kernel=RandomFeatureKernel(sigma_w=2, sigma_b=0.5),
                             learning_rate=0.5, n_steps=300)
        """
        from .random_features import RandomFeatureReLURegressor, resolve_alpha
        from .shallow import ShallowReLURegressor

        if isinstance(estimator, RandomFeatureReLURegressor):
            mapped = _random_feature_limit(estimator, resolve_alpha)
        elif isinstance(estimator, ShallowReLURegressor):
            mapped = _tangent_limit(estimator)
        else:
            raise TypeError(
                "from_estimator maps a RandomFeatureReLURegressor or a ShallowReLURegressor; got "
                f"{type(estimator).__name__}."
            )
        mapped.update(params)
        return cls(**mapped)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _random_feature_kernel(estimator, what, scale=1.0):
    """The random-feature kernel of the estimator's init: ``RandomFeatureKernel`` for a
    Gaussian one (any dimension), else ``InitializationKernel`` (1-D), or a ValueError
    that says why there is none."""
    init = check_init(estimator.init)
    if isinstance(init, Gaussian):
        return RandomFeatureKernel(scale * init.sigma_w, scale * init.sigma_b)
    _check_knots_1d(init, what, estimator)
    return InitializationKernel(estimator.init, init_scale=scale)


def _check_knots_1d(init, what, estimator):
    try:
        init.knot_density(np.zeros(1))
    except NotImplementedError:
        raise ValueError(
            f"{what} has a closed-form kernel for a Gaussian init in any dimension and, on 1-D inputs, for "
            f"the built-in initialisations with a knot distribution; got init={estimator.init!r}, which has "
            "none.") from None


def _steps_of(estimator):
    """``(n_steps, learning_rate)`` of a descent: the fitted ones, else the parameters."""
    fitted = getattr(estimator, "n_iter_", None) is not None
    if not fitted and estimator.tol is not None:
        raise ValueError(
            f"tol={estimator.tol!r} stops the descent when the loss stalls, so the number of steps is known only "
            "after fitting: fit the network first (its n_iter_ is then used), or set tol=None."
        )
    if fitted:
        return int(estimator.n_iter_), float(estimator.learning_rate_)
    return int(estimator.max_iter), estimator.learning_rate


def _random_feature_limit(estimator, resolve_alpha):
    """The parameters of the limit of a :class:`RandomFeatureReLURegressor`."""
    mapped = {"kernel": _random_feature_kernel(estimator, "RandomFeatureReLURegressor"),
              "fit_intercept": bool(estimator.fit_intercept)}
    if estimator.solver == "ridge":
        mapped["alpha"] = resolve_alpha(estimator.alpha, "ridge")
        return mapped
    if estimator.solver != "gd":
        raise ValueError(
            f"solver={estimator.solver!r}: mirror descent has no kernel limit (its limit is a non-quadratic "
            "penalty; in 1-D see SmoothingSplineEquivalent.from_estimator). solver='ridge' and solver='gd' "
            "(mirror descent with the quadratic potential) have one."
        )
    if estimator.early_stopping:
        raise ValueError(
            "early_stopping=True trains on a random part of the data and stops where a held-out loss says: "
            "no fixed limit. Map a network with early_stopping=False."
        )
    n_steps, eta = _steps_of(estimator)
    mapped.update(alpha=resolve_alpha(estimator.alpha, "gd"), n_steps=n_steps, learning_rate=eta)
    return mapped


#: The settings of ShallowReLURegressor whose gradient descent has a fixed tangent kernel and a
#: deterministic limit, as the messages name them.
_LAZY_SETTINGS = (
    "parametrization='ntk' (or 'standard' with a step proportional to 1 / n_hidden), activation='relu', "
    "init='gaussian' (any dimension) or a built-in init with a knot distribution (1-D inputs), output_init in "
    "{'antisymmetric', 'zero'}, solver='gd', alpha=0, a float learning_rate, early_stopping=False"
)


def _tangent_limit(estimator):
    """The parameters of the lazy limit of a :class:`ShallowReLURegressor`."""
    reasons = []
    if estimator.parametrization == "mean_field":
        reasons.append(
            "parametrization='mean_field': its tangent kernel vanishes as the width grows, and a step "
            "large enough to train moves the features (feature learning): no kernel limit")
    if estimator.activation != "relu":
        reasons.append(f"activation={estimator.activation!r}: the closed-form tangent kernel is that of ReLU")
    if estimator.output_init not in ("antisymmetric", "zero"):
        reasons.append(
            f"output_init={estimator.output_init!r}: the network starts from a random nonzero function, so its "
            "limit is random; 'antisymmetric' (paired units, zero output) and 'zero' start from zero")
    if estimator.solver != "gd":
        reasons.append(f"solver={estimator.solver!r}: the limit is that of full-batch gradient descent")
    if estimator.alpha > 0:
        reasons.append(
            f"alpha={estimator.alpha!r}: weight decay pulls the weights to zero, not to their start, which "
            "leaves the lazy regime")
    if isinstance(estimator.learning_rate, str):
        reasons.append(
            "learning_rate='auto': its step is estimated from the network's Hessian at the start and halved "
            "whenever a step raises the loss, so it is no fixed step of the limit; pass a float")
    if estimator.early_stopping:
        reasons.append("early_stopping=True: a random split and a data-driven stopping time")
    if reasons:
        raise ValueError(
            "ShallowReLURegressor has a lazy-training limit with a fixed tangent kernel only for "
            f"{_LAZY_SETTINGS}; here: " + "; ".join(reasons) + "."
        )
    init = check_init(estimator.init)
    if not isinstance(init, Gaussian):
        _check_knots_1d(init, "ShallowReLURegressor", estimator)
    n_steps, eta = _steps_of(estimator)
    if estimator.parametrization == "standard":
        # output scale 1: the output weights' gradients relu(w.x + b) add up to n K1, the hidden
        # weights' (v_k^2 ~ 1 / n) to O(1); a step eta = eta0 / n moves the function by eta0 K1 P r
        # and the rest (hidden layer, output bias) by O(1 / n): the random-feature limit
        kernel = _random_feature_kernel(estimator, "ShallowReLURegressor", float(estimator.init_scale))
        return {"kernel": kernel, "fit_intercept": False, "alpha": 0.0, "n_steps": n_steps,
                "learning_rate": float(eta) * estimator.n_hidden}
    kernel = (TangentKernel if isinstance(init, Gaussian) else InitializationKernel).from_estimator(estimator)
    return {"kernel": kernel, "fit_intercept": False, "alpha": 0.0, "n_steps": n_steps, "learning_rate": float(eta)}


class _Solution:
    """The weighted centred kernel of one fit and the coefficients of a filter of it.

    ``Ks = B K B^T`` with ``B = diag(sqrt(p)) C``, ``C = I - 1 p^T`` (identity
    without intercept), and ``b = B Y``; see the module docstring.
    """

    def __init__(self, K, Y, p, mu, fit_intercept):
        self.K, self.p, self.mu, self.fit_intercept = K, p, mu, fit_intercept
        self.s = np.sqrt(p)
        if fit_intercept:
            # C K C^T = K - r 1^T - 1 r^T + (p^T K p) 1 1^T with r = K p, entrywise: no m x m product
            self.r = K @ p
            self.y_mean = p @ Y
            Ks = K - self.r[:, None] - self.r[None, :] + float(p @ self.r)
        else:
            self.r, self.y_mean = None, np.zeros(Y.shape[1])
            Ks = K.copy()
        Ks *= self.s[:, None]
        Ks *= self.s[None, :]
        self.Ks = Ks
        self.b = self.s[:, None] * (Y - self.y_mean)
        self.eigenvalues = self.rank = None

    def ridge(self):
        """``(Ks + mu I)^{-1} b``: a Cholesky solve, or the eigenvalues when rounding
        makes the matrix numerically indefinite (``mu`` far below ``lam_max``)."""
        A = self.Ks.copy()
        A[np.diag_indices_from(A)] += self.mu
        try:
            return linalg.cho_solve(linalg.cho_factor(A, lower=True, overwrite_a=True, check_finite=False), self.b,
                                    check_finite=False)
        except linalg.LinAlgError:
            del A
            self.eigen()
            return self.filtered(1.0 / (self.lam + self.mu))

    def eigen(self):
        """Eigendecompose ``Ks`` (in place: it is not needed afterwards), descending."""
        lam, Q = linalg.eigh(self.Ks, overwrite_a=True, check_finite=False)
        self.Ks = None
        self.lam, self.Q = np.clip(lam[::-1], 0.0, None), Q[:, ::-1]
        self.lam_max = float(self.lam[0]) if self.lam.size else 0.0
        self.keep = self.lam > self.lam_max * RANK_RTOL_ULPS * self.lam.size * np.finfo(np.float64).eps
        self.eigenvalues, self.rank = self.lam, int(np.count_nonzero(self.keep))

    def filtered(self, g):
        """``Q diag(g) Q^T b``."""
        return self.Q @ (g[:, None] * (self.Q.T @ self.b))

    def coefficients(self, z):
        """``a = B^T z = C^T (sqrt(p) z)`` and the intercept ``c = p^T (Y - K a)``."""
        a = self.s[:, None] * z
        if not self.fit_intercept:
            return a, np.zeros(z.shape[1])
        # C^T = I - p 1^T.  Zero in exact arithmetic (b, hence z, is orthogonal to sqrt(p),
        # which spans part of the null space of Ks), kept so that sum(a) = 0 holds to rounding
        a -= np.outer(self.p, a.sum(axis=0))
        return a, self.y_mean - self.r @ a  # p^T K a = (K p)^T a
