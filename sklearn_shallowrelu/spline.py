"""The function-space limit of the random-feature networks in 1-D: a weighted
cubic smoothing spline that knows which network it stands for."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _exact1d, _solvers
from ._exact1d import fastchain
from ._exact1d.continuum import constant_between
from .init import INIT_NAMES, Initialization, check_init
from .potentials import POTENTIAL_NAMES, Potential, Quadratic, WidthScaled
from ._atomic import atomic_fit
from ._coverage import warn_if_limit_affine_on_data
from ._descent import auto_step, is_stable, stability_limit
from ._exact1d.bregman import bregman_fit, resolve_potential
from ._exact1d.network import pool_ties
from ._result import SplineModeResult
from ._validation import ParamsCheckedOnce, validate_xy_1d
from ._selection import Scores, minimise, penalty_scale, solve_df

__all__ = ["SmoothingSplineEquivalent"]


class SmoothingSplineEquivalent(ParamsCheckedOnce, RegressorMixin, BaseEstimator):
    """Infinite-width limit of ridge on random ReLU features, in 1-D.

    ``RandomFeatureReLURegressor(init=init, alpha=alpha, n_hidden=n)`` tends, as
    ``n`` grows, to kernel ridge regression with the kernel ``K(x, x') =
    E[relu(W x + B) relu(W x' + B)]`` of ``init`` and the same ``alpha``.  That
    fit minimises::

        sum_i w_i (y_i - f(x_i))^2 + alpha * (int f''(x)^2 / g(x) dx + affine penalty)

    with the curvature weight ``g`` of the initialisation (``doc/theory.md``,
    section 2; Heiss et al. [1]_, Jin and Montufar [2]_): a smoothing spline
    whose local stiffness is set by where the initialisation puts its knots.  With a constant ``g``
    (``init='rademacher_uniform'`` or ``'uniform_knots'``, inside its support)
    and ``affine='free'`` it is the classical cubic smoothing spline of
    :func:`scipy.interpolate.make_smoothing_spline` with ``lam = alpha / g``.

    The fit is exact and costs ``O(m)`` after sorting: the same banded solver
    as the networks' ``algorithm='knots'``, with the moments of the
    initialisation in place of the sampled knots.

    Parameters
    ----------
    init : str or Initialization, default='gaussian'
        An initialisation with a 1-D curvature weight: ``'gaussian'``,
        ``'rademacher_uniform'``, ``'uniform'``, ``'uniform_knots'``, ``'he'`` or
        such an object from :mod:`sklearn_shallowrelu.init`.
    alpha : float >= 0 or {'gcv', 'loo'}, default=1.0
        The ridge penalty of the network (scikit-learn's ``Ridge`` units), which
        is the smoothing parameter ``lam`` of the spline; 0 interpolates (the
        minimum-norm interpolant, the limit of gradient descent run to the end).  ``'gcv'`` or
        ``'loo'`` choose it by generalised cross-validation or exact
        leave-one-out: the global minimum over the whole range, from the affine
        fit to the interpolation limit (a ladder of quarter decades whose ends
        are set by the data, every local minimum then refined; ``doc/spline.md``).
    affine : {'free_constant', 'penalized', 'free'}, default='free_constant'
        The affine part of ``f``: ``'free_constant'`` is a network with an
        unpenalised output bias (``fit_intercept=True``), ``'penalized'`` a
        network without one, ``'free'`` a network with a skip connection (an
        unpenalised affine part; the classical spline when ``g`` is constant).
    n_steps : int or None, default=None
        ``None``: the ridge (kernel ridge) limit above.  An integer: the limit of
        ``n_steps`` steps of gradient descent on the output layer from zero
        (``RandomFeatureReLURegressor(solver='gd')``, loss ``sum w r^2 / (2 sum
        w) + alpha |v|^2 / (2 sum w)``), the exact spectral filter of the limit
        kernel on the data.  It needs the dense ``m x m`` kernel (``O(m^3)``, a
        few thousand distinct inputs) and ``affine`` in {'free_constant',
        'penalized'}; ``alpha`` is then the descent's ridge term (0 allowed).
    learning_rate : 'auto' or float, default='auto'
        Step of that descent; ``'auto'`` is ``1 / kappa_max``, the limit of the
        network's ``'auto'`` step.
    potential : str, Potential or None, default=None
        ``None`` (or the quadratic potential): the quadratic curvature penalty
        above.  Another potential ``phi`` (a ``WidthScaled`` one is unwrapped),
        with ``0 < phi''(0) < inf``: the limit of mirror descent with the
        width-scaled potential (Liang & Montufar [3]_; ``doc/theory.md`` section 4), the
        non-quadratic penalty ``int D_phi(alpha(c), 0) g(c) dc`` on the jump
        densities, solved by Newton's method on the dual with the banded solver
        for each step.  ``alpha=0`` is the interpolating limit of mirror descent
        from zero; ``alpha > 0`` adds the data-fit term (``sum w r^2 / 2``).
        Needs ``|w| = 1`` initialisations (``'rademacher_uniform'``,
        ``'uniform_knots'``); ``df_``, leverages and GCV are not defined.
    df : float or None, default=None
        Choose ``alpha`` so that the fit has these effective degrees of freedom
        (the trace of the smoother, to ``1e-8`` relative), as R's
        ``smooth.spline(df=)`` does.  It lies above those of the affine part
        (2 with ``affine='free'``, 1 with ``'free_constant'``, 0 with
        ``'penalized'``) and at most the number of distinct inputs
        (interpolation).  When set, a numeric ``alpha`` is not used;
        ``alpha='gcv'``/``'loo'``, ``n_steps`` and ``potential`` are refused.
    alpha_per_target : bool, default=True
        With ``alpha='gcv'``/``'loo'`` and several targets: choose one
        ``alpha`` per target (as scipy's ``make_smoothing_spline`` does per
        column; ``alpha_`` is then an array), or with False one for all,
        minimising the criterion summed over the targets.  Unlike scikit-learn's
        ``RidgeCV``, per target is the default: the columns of a multi-output
        ``y`` are usually different curves.
    verbose : int, default=0
        With ``alpha='gcv'``/``'loo'`` or ``df``: 1 prints the search's
        summary (the rungs evaluated and the choice per target), 2 and more
        also the criterion on every rung.  With a ``potential``: the number of
        iterations of its dual Newton method.

    Attributes
    ----------
    init_ : Initialization
        The initialisation, bound to the training data if it depends on it.
    alpha_ : float or ndarray of shape (n_targets,)
        The penalty used (chosen by ``'gcv'``/``'loo'`` or ``df``, else
        ``alpha``); one per target when chosen per target.
    lam_ : float or ndarray of shape (n_targets,)
        The same number as the smoothing parameter of the criterion above.
    lam_scipy_ : float, ndarray or None
        ``lam_ / g`` when ``g`` is constant on the data range and
        ``affine='free'``: the ``lam`` of ``make_smoothing_spline``; else None.
    df_ : float or ndarray of shape (n_targets,)
        Effective degrees of freedom, the trace of the smoother matrix (per
        target when ``alpha_`` is).
    leverages_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Diagonal of the smoother matrix, per training sample (zero weight: 0),
        per target when ``alpha_`` is.
        With a fixed ``alpha`` it and the three scores next to it are computed
        on first access (a compiled Kalman filter and smoother, in ``O(m)``,
        as for the classical smoothing spline [4]_).
    gcv_score_ : float or ndarray of shape (n_targets,)
        Weighted GCV score ``mean_w(residual^2) / (1 - df / n)^2`` at ``alpha_``
        (summed over the targets for one shared ``alpha_``, else per target).
    loo_score_ : float or ndarray of shape (n_targets,)
        Weighted mean of the exact leave-one-out squared errors at ``alpha_``
        (summed or per target, as ``gcv_score_``).
    cv_alphas_ : ndarray of shape (n_rungs,)
        The ladder of penalties the search scanned, decreasing (``'gcv'``/``'loo'``
        only); ``alpha_`` refines its best rung between the neighbours.
    cv_scores_ : ndarray of shape (n_rungs,) or (n_rungs, n_targets)
        The criterion on the ladder (per target when chosen per target).
    n_iter_ : int
        Newton iterations (non-quadratic ``potential`` only).
    learning_rate_ : float
        The step used (``n_steps`` set only).
    equivalent_alpha_ : float
        ``sum(w) / (learning_rate_ * n_steps)`` plus ``alpha``: the ridge level
        that early stopping roughly corresponds to (``n_steps`` set only; the
        best-fitting ridge level is typically 0.2 to 0.9 times it).
    X_fit_ : ndarray of shape (n_distinct,)
        The sorted distinct training inputs (ties are pooled).
    intercept_ : float or ndarray of shape (n_targets,)
        The free constant (zero unless ``affine='free_constant'``).
    curvature_grid_, curvature_weight_ : ndarray of shape (200,)
        ``g`` on a grid over the data range (computed when read).
    n_features_in_ : int
        Always 1.

    See Also
    --------
    RandomFeatureReLURegressor : The finite-width network this is the limit of.
    scipy.interpolate.make_smoothing_spline : The constant-weight special case.

    References
    ----------
    .. [1] J. Heiss, J. Teichmann and H. Wutte, "How implicit regularization
       of ReLU neural networks characterizes the learned function -- Part I:
       the 1-D case of two layers with random first layer", arXiv preprint,
       2019. https://arxiv.org/abs/1911.02903
    .. [2] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356
    .. [3] S. Liang and G. Montufar, "Implicit bias of mirror flow for shallow
       neural networks in univariate regression", International Conference
       on Learning Representations (ICLR 2025).
       https://arxiv.org/abs/2410.03988
    .. [4] M. F. Hutchinson and F. R. de Hoog, "Smoothing noisy data with
       spline functions", Numerische Mathematik, 47:99-106, 1985.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import SmoothingSplineEquivalent
    >>> x = np.linspace(-2, 2, 50)[:, None]
    >>> y = np.sin(2 * x[:, 0])
    >>> spline = SmoothingSplineEquivalent(init="gaussian", alpha=1e-3).fit(x, y)
    >>> bool(np.max(np.abs(spline.predict(x) - y)) < 0.05)
    True
    """

    _parameter_constraints = {
        "init": [StrOptions(set(INIT_NAMES)), Initialization],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"gcv", "loo"})],
        "affine": [StrOptions(set(_exact1d.AFFINE))],
        "n_steps": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "potential": [StrOptions(set(POTENTIAL_NAMES)), Potential, None],
        "df": [Interval(Real, 0, None, closed="neither"), None],
        "alpha_per_target": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, init="gaussian", alpha=1.0, affine="free_constant", n_steps=None, learning_rate="auto",
                 potential=None, df=None, alpha_per_target=True, verbose=0):
        self.init = init
        self.alpha = alpha
        self.df = df
        self.alpha_per_target = alpha_per_target
        self.verbose = verbose
        self.affine = affine
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.potential = potential

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Fit the limit spline.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Training inputs, one feature (tied inputs are pooled).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors; None weighs the
            samples equally.

        Returns
        -------
        self : object
            The fitted spline.
        """
        X, y = validate_xy_1d(self, X, y)
        X = _as_column(X)
        self.n_features_in_ = 1
        # unit weights without the checks of given ones (a tenth of a fit at 100 points)
        sw = np.ones(len(X)) if sample_weight is None else _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        init = check_init(self.init).bind(X)
        try:
            init.curvature_weight_parts(np.zeros(1))
        except NotImplementedError as exc:
            raise ValueError(f"init={self.init!r} has no 1-D curvature weight: {exc}") from None
        x = X[:, 0].astype(np.float64)
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        xs, Ym, weights, group = pool_ties(x, Y, sw, return_group=True)
        if len(xs) < 3:
            raise ValueError(
                f"SmoothingSplineEquivalent needs at least 3 distinct x values with positive weight; "
                f"got {len(xs)}."
            )
        if self.df is not None and (isinstance(self.alpha, str) or self.n_steps is not None
                                    or self.potential is not None):
            raise ValueError(
                "df chooses alpha for the ridge limit: it takes no alpha='gcv'/'loo' (a second rule), "
                f"no n_steps and no potential; got alpha={self.alpha!r}, n_steps={self.n_steps!r}, "
                f"potential={self.potential!r}."
            )
        if isinstance(self.alpha, Real) and self.df is None and (self.alpha > 0 or self.n_steps is not None):
            warn_if_limit_affine_on_data(init, xs, self.init)  # GCV/LOO adapt alpha to the scale
        extra = SplineModeResult()  # mode-specific fitted attributes, published once the fit has succeeded
        potential = None if self.potential is None else resolve_potential(self.potential)
        if isinstance(potential, Quadratic):
            potential = None  # the quadratic penalty of the default path
        if potential is not None:
            if not isinstance(self.alpha, Real) or self.n_steps is not None:
                raise ValueError(
                    "A non-quadratic potential takes a numeric alpha (0 interpolates) and no n_steps; "
                    f"got alpha={self.alpha!r}, n_steps={self.n_steps!r}."
                )
            sol = bregman_fit(init, xs, Ym, weights, potential, float(self.alpha), self.affine)
            extra.n_iter_ = int(max(sol.n_iter_))
            if self.verbose:
                print(f"[SmoothingSplineEquivalent] potential={potential!r}: the dual Newton method converged in "
                      f"{extra.n_iter_} iterations", flush=True)
            crit, lev, alpha = None, None, float(self.alpha)
        elif self.n_steps is not None:
            if not isinstance(self.alpha, Real) or self.affine == "free":
                raise ValueError(
                    "n_steps (the gradient-descent limit) takes a numeric alpha (the descent's ridge "
                    "term, 0 allowed) and affine in {'free_constant', 'penalized'}; got "
                    f"alpha={self.alpha!r}, affine={self.affine!r}."
                )
            fit = _GDLimit(init, xs, Ym, weights, float(self.alpha), self.affine, self.n_steps, self.learning_rate)
            extra.learning_rate_ = fit.eta
            extra.equivalent_alpha_ = float(weights.sum() / (fit.eta * self.n_steps) + self.alpha)
            crit = _Criteria(Y, sw, xs, Ym, weights, group, None, self.affine)
            sol, lev = fit, crit.share(fit.leverages)
            alpha = float(self.alpha)
        else:
            crit = _Criteria(Y, sw, xs, Ym, weights, group, _exact1d.Continuum(init), self.affine)
            if self.df is not None:
                alpha = crit.target(float(self.df))
                sol, lev = crit.fit(alpha)
                if self.verbose:
                    print(f"[SmoothingSplineEquivalent] df={self.df:g}: alpha={alpha:.6g}", flush=True)
            elif isinstance(self.alpha, str):
                alpha, extra.cv_alphas_, extra.cv_scores_ = crit.search(self.alpha, self.alpha_per_target)
                sol, lev = crit.fit(alpha)
                if self.verbose:
                    _report_search(self.alpha, alpha, extra.cv_alphas_, extra.cv_scores_, self.verbose)
            else:
                # the leverages cost about a solve: computed when first asked for
                alpha, lev = float(self.alpha), None
                sol = crit.solve(alpha, leverages=False)
        fitted, intercept = sol.fitted, sol.intercept
        interpolating = np.ndim(alpha) == 0 and alpha == 0 and self.n_steps is None and potential is None
        if interpolating and not np.all(np.abs(fitted - Ym) <= 1e-6 * max(1.0, float(np.max(np.abs(Ym))))):
            raise ValueError(
                "alpha=0 asks for an interpolant, and none exists here: the curvature weight of "
                f"{init!r} vanishes on part of the data range (no knots there, so the fit is "
                "linear across several data points). Use alpha > 0 or an initialisation whose knots "
                "cover the data."
            )
        if not np.all(np.isfinite(fitted)):
            raise ValueError(
                f"The spline fit is not finite at alpha={alpha!r} (overflow in the data?); "
                "rescale y or choose a larger alpha."
            )
        extra.publish(self)
        self.init_, self.alpha_, self.lam_ = init, alpha, np.copy(alpha) if np.ndim(alpha) else alpha
        self._solution = sol
        self.X_fit_ = xs
        self._criteria, self._leverages = crit, lev
        self._stats = self._refit = None  # what a pickle keeps instead (see __getstate__)
        self._single = np.ndim(y) == 1
        self.intercept_ = float(intercept[0]) if self._single else intercept.copy()
        self._free_affine = self.affine == "free"  # for lam_scipy_, computed when first asked for
        self._lam_scipy = None
        return self

    @property
    def lam_scipy_(self):
        """Scipy's ``lam``: ``lam_ / g`` where ``g`` is constant on the data, else None.

        Defined where the affine part was free and the curvature weight ``g``
        is constant on the data range; computed when first asked for (the
        check costs a tenth of a fit at 100 points).
        """
        if not hasattr(self, "X_fit_"):
            raise AttributeError("lam_scipy_ is set by fit.")
        if getattr(self, "_lam_scipy", None) is None:
            if not hasattr(self, "_free_affine"):  # pickled when fit set it
                return self.__dict__.get("lam_scipy_")
            g = _constant_weight(self.init_, self.X_fit_) if self._free_affine else None
            self._lam_scipy = (self.alpha_ / g if g else None,)  # scipy's lam where g is constant on the data
        return self._lam_scipy[0]

    @property
    def curvature_grid_(self):
        """200 points from the smallest to the largest training input."""
        if not hasattr(self, "X_fit_"):
            raise AttributeError("curvature_grid_ is set by fit.")
        return _curvature_grid(self.X_fit_)

    @property
    def curvature_weight_(self):
        """The curvature weight ``g`` of ``init_`` on ``curvature_grid_``."""
        grid = self.curvature_grid_  # raises before a fit
        return self.init_.curvature_weight(grid)

    # ------------------------------------------------- smoother statistics
    def _statistic(self, name):
        if not hasattr(self, "_solution"):
            raise AttributeError(f"{name} is set by fit.")
        stats = getattr(self, "_stats", None)
        if stats is not None:  # an unpickled model: computed when it was pickled
            if "error" in stats:
                raise np.linalg.LinAlgError(stats["error"])
            return stats[name]
        if self._criteria is None:
            raise AttributeError(f"{name} is not defined for a non-quadratic potential (a nonlinear smoother).")
        if self._leverages is None:
            self._leverages = self._criteria.fit(self.alpha_)[1]
        lev = self._leverages
        if name == "leverages_":
            return lev
        if name == "df_":
            return float(lev.sum()) if lev.ndim == 1 else lev.sum(axis=0)
        return getattr(self._criteria, name[:3])(self._solution, lev)

    @property
    def leverages_(self):
        """Diagonal of the smoother matrix per training sample.

        Computed on first access for a fixed ``alpha`` (about a solve).
        """
        return self._statistic("leverages_")

    @property
    def df_(self):
        """Effective degrees of freedom: the trace of the smoother."""
        return self._statistic("df_")

    @property
    def gcv_score_(self):
        """Weighted GCV score ``mean_w(residual^2) / (1 - df / n)^2``."""
        return self._statistic("gcv_score_")

    @property
    def loo_score_(self):
        """Weighted mean of the exact leave-one-out squared errors."""
        return self._statistic("loo_score_")

    # -------------------------------------------------------------- predict
    def _check_X(self, X):
        check_is_fitted(self)
        return _as_column(validate_data(self, X, dtype=[np.float64, np.float32], reset=False, ensure_2d=False))

    def _out(self, values, X):
        values = values.astype(X.dtype, copy=False)
        return values[:, 0] if self._single else values

    def predict(self, X):
        """The spline at ``X``.

        Outside the data it continues as the limit network does (linearly when
        the affine part is free).

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, in the dtype of ``X`` (float32 or float64).
        """
        X = self._check_X(X)
        return self._out(self._evaluate(X[:, 0].astype(np.float64), 0), X)

    def _evaluate(self, x, order):
        if getattr(self, "_solution", None) is None and getattr(self, "_refit", None) is not None:
            # unpickled: the states are rebuilt by the same solve that fit ran, so
            # the predictions are bit for bit those of the pickled model
            xs, Ym, weights = self._refit
            self._solution = _solve(xs, Ym, weights, _exact1d.Continuum(self.init_), self.alpha_, self.affine)
        return self._solution.evaluate(x, order)

    # ------------------------------------------------------------ pickling
    _STATISTICS = ("leverages_", "df_", "gcv_score_", "loo_score_")

    def __getstate__(self):
        """What a pickle keeps of a fitted model.

        The solver's states and multipliers (eight numbers per distinct input and
        target), the moments of the curvature weights (six) and the per-sample
        copies kept for the smoother statistics would make a pickle about 21
        times the size of ``x``.  A pickle keeps instead the pooled data (inputs,
        mean targets, weights), from which the first prediction after loading
        rebuilds the states by the same deterministic solve, and the smoother
        statistics, computed now if they were not yet (about a solve).
        """
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        if state.get("_criteria") is not None:
            try:
                state["_stats"] = {name: getattr(self, name) for name in self._STATISTICS}
            except np.linalg.LinAlgError as exc:  # raised again on access after loading, as it would be now
                state["_stats"] = {"error": str(exc)}
            crit = state["_criteria"]
            if isinstance(state.get("_solution"), (_exact1d.Fit, _PerTarget)):
                state["_refit"] = (crit.xs, crit.Ym, crit.weights)
            state["_criteria"], state["_leverages"] = None, None
        if state.get("_refit") is not None:
            state["_solution"] = None
        return state

    def predict_derivative(self, X, order=1):
        """First or second derivative of the spline at ``X``.

        The second derivative is ``g_+(x) a_+(x) + g_-(x) a_-(x)`` with linear
        ``a_+-`` between data points: the curvature weight times a piecewise-linear
        function (``doc/theory.md`` section 2).

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Inputs.
        order : {1, 2}, default=1
            Order of the derivative.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            The derivative at each input.

        Raises
        ------
        ValueError
            If ``order`` is neither 1 nor 2.
        """
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2; got {order!r}.")
        X = self._check_X(X)
        return self._out(self._evaluate(X[:, 0].astype(np.float64), order), X)

    def kernel(self, X, Y=None):
        """The limit kernel ``K(x, y)`` of the initialisation (penalised affine part).

        Parameters
        ----------
        X : array-like of shape (n, 1)
            First inputs.
        Y : array-like of shape (p, 1), default=None
            Second inputs; None means ``X``.

        Returns
        -------
        ndarray of shape (n, p)
            The kernel matrix ``K[i, j] = K(X_i, Y_j)``.
        """
        check_is_fitted(self)
        return self.init_.kernel(np.asarray(X, dtype=float), None if Y is None else np.asarray(Y, dtype=float))

    # ----------------------------------------------------------- mapping
    @classmethod
    def from_estimator(cls, estimator, **params):
        """The function-space limit of a random-feature network as its width grows.

        Maps ``init``, ``fit_intercept`` (to ``affine``) and the training of the
        output layer: ridge keeps its ``alpha``; gradient descent becomes the
        exact limit filter (``n_steps`` and ``learning_rate``: the fitted
        ``n_iter_`` and ``learning_rate_`` when the network is fitted, else
        ``max_iter`` and its ``learning_rate``), whose rough ridge level is
        reported as ``equivalent_alpha_`` after fitting; mirror descent with a
        width-scaled potential and no ridge term becomes its interpolating
        limit (``potential`` = the base potential, ``alpha=0``).

        Parameters
        ----------
        estimator : RandomFeatureReLURegressor
            The network to map, fitted or not.
        **params : dict
            Overrides of the mapped parameters (e.g. ``alpha='gcv'``).

        Returns
        -------
        SmoothingSplineEquivalent
            The limit estimator, unfitted.

        Raises
        ------
        TypeError
            If ``estimator`` is not a ``RandomFeatureReLURegressor``.
        ValueError
            For mirror descent whose limit is not implemented (an unscaled
            potential or a ridge term), unless ``alpha`` is among ``params``.

        Examples
        --------
        >>> from sklearn_shallowrelu import RandomFeatureReLURegressor, SmoothingSplineEquivalent
        >>> net = RandomFeatureReLURegressor(init="uniform", alpha=0.3, fit_intercept=False)
        >>> SmoothingSplineEquivalent.from_estimator(net)
        SmoothingSplineEquivalent(affine='penalized', alpha=0.3, init='uniform')
        """
        from .random_features import RandomFeatureReLURegressor

        if not isinstance(estimator, RandomFeatureReLURegressor):
            raise TypeError(
                f"from_estimator maps a RandomFeatureReLURegressor; got {type(estimator).__name__}."
            )
        mapped = {"init": estimator.init, "affine": _exact1d.network_affine(estimator.fit_intercept)}
        if estimator.solver == "ridge":
            mapped["alpha"] = 1.0 if estimator.alpha is None else estimator.alpha
        elif estimator.solver == "gd":
            fitted = getattr(estimator, "n_iter_", None) is not None
            mapped.update(
                alpha=estimator.alpha or 0.0,
                n_steps=int(estimator.n_iter_) if fitted else estimator.max_iter,
                learning_rate=float(estimator.learning_rate_) if fitted else estimator.learning_rate,
            )
        elif isinstance(estimator.potential, WidthScaled) and not estimator.alpha:
            # t -> infinity of mirror descent from zero: the Bregman projection
            mapped.update(alpha=0.0, potential=estimator.potential.base)
        elif "alpha" not in params:
            raise ValueError(
                f"solver={estimator.solver!r} with potential={estimator.potential!r} and alpha="
                f"{estimator.alpha!r}: only width-scaled potentials without ridge term have a limit "
                "implemented (the interpolating Bregman projection); an unscaled potential has the "
                "gradient-descent limit (doc/theory.md, section 3): pass n_steps and learning_rate explicitly."
            )
        mapped.update(params)
        return cls(**mapped)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        # x of shape (n,) or (n, 1), like IsotonicRegression; the tag stays off
        # because scikit-learn's checks then skip 2-D tests or index 1-D x as 2-D
        return tags


def _report_search(criterion, alpha, alphas, scores, verbose):
    """The search's rungs (``verbose >= 2``) and its choice per target."""
    name = "[SmoothingSplineEquivalent]"
    scores = np.reshape(scores, (len(alphas), -1))
    if verbose >= 2:
        for a, row in zip(alphas, scores):
            print(f"{name} alpha={a:.4g}; {criterion}=" + ", ".join(f"{v:.6g}" for v in row))
    chosen = np.atleast_1d(alpha)
    print(f"{name} {criterion} on {len(alphas)} rungs from alpha={alphas[0]:.3g} to {alphas[-1]:.3g}, then "
          f"refined: alpha=" + ", ".join(f"{a:.6g}" for a in chosen), flush=True)


def _curvature_grid(xs):
    """200 points from the smallest to the largest of the sorted ``xs`` (``curvature_grid_``)."""
    return np.linspace(xs[0], xs[-1], 200)


def _constant_weight(init, xs):
    """``g`` if the curvature weight is constant on ``[x_1, x_m]``, else None.

    The weights that are constant between breakpoints say so by their structure
    (:func:`._exact1d.continuum.constant_between`); smooth ones (those with a
    length scale, constant on part of the line for some) are looked at on
    ``curvature_grid_``.
    """
    parts = constant_between(init, xs[0], xs[-1])
    if parts is not None:
        return parts[0] + parts[1]
    if init.length_scale() is None:  # a breakpoint inside the data range: g jumps there
        return None
    g = init.curvature_weight(_curvature_grid(xs))
    g_min, g_max = float(g.min()), float(g.max())
    return float(g[0]) if g_max - g_min <= 1e-12 * g_max and g_max > 0 else None


def _as_column(X):
    if X.ndim == 1:
        return X[:, None]
    if X.ndim != 2 or X.shape[1] != 1:
        raise ValueError(
            f"SmoothingSplineEquivalent takes one input feature: x of shape (n_samples,) or "
            f"(n_samples, 1); got shape {X.shape}. For several features use "
            "RandomFeatureReLURegressor or ShallowReLURegressor."
        )
    return X


def _solve(xs, Ym, weights, measure, alpha, affine, leverages=False, scanner=None):
    """The engine's fit at one ``alpha``, or per column at ``alpha`` of shape (k,)."""
    if np.ndim(alpha) == 0:
        return _exact1d.solve(xs, Ym, weights, measure, float(alpha), affine, leverages, scanner=scanner)
    return _PerTarget([_exact1d.solve(xs, Ym[:, [j]], weights, measure, float(a), affine, leverages)
                       for j, a in enumerate(alpha)])


class _PerTarget:
    """The fits of the columns, each at its own ``alpha``, as one fit: ``fitted``
    and ``intercept`` side by side, ``leverages`` (m, k), ``evaluate``."""

    def __init__(self, fits):
        self.fits = fits
        self.fitted = np.hstack([f.fitted for f in fits])
        self.intercept = np.concatenate([f.intercept for f in fits])
        lev = [f.leverages for f in fits]
        self.leverages = None if any(v is None for v in lev) else np.column_stack(lev)

    def evaluate(self, x, order=0):
        return np.hstack([f.evaluate(x, order) for f in self.fits])


class _Criteria:
    """Fits at a given penalty and the cross-validation criteria, on pooled data,
    scored on the original samples (a tied sample's leverage is its share of
    its group's).  With one ``alpha`` for all columns the criteria are summed
    over the columns; with one per column (leverages of shape (n, k)) they are
    per column."""

    def __init__(self, Y, sw, xs, Ym, weights, group, measure, affine):
        self.Y, self.sw, self.xs, self.Ym, self.weights = Y, sw, xs, Ym, weights
        self.group, self.measure, self.affine = group, measure, affine
        self.n = int(np.count_nonzero(sw > 0))
        self._scanner = None

    def fit(self, alpha):
        """The fit at ``alpha`` and the samples' leverages."""
        if np.ndim(alpha) == 0 and self.affine != "free":
            # the leverages from the compiled criteria, built once for the search
            # (with a free affine part the fit brings its own from the same kernel);
            # where they fail, the engine's own (with its banded fallback)
            lev = self.scanner.criterion.leverages(float(alpha))
            if lev is not None:
                sol = self.solve(alpha, leverages=False)
                sol.leverages = lev
                return sol, self.share(lev)
        sol = self.solve(alpha, leverages=True)
        return sol, self.share(sol.leverages)

    def solve(self, alpha, leverages):
        # the search's kernel, where one was built, solves a free affine part
        return _solve(self.xs, self.Ym, self.weights, self.measure, alpha, self.affine, leverages, self._scanner)

    def share(self, pooled):
        """Per-sample leverages from those of the pooled points."""
        part = np.where(self.sw > 0, self.sw / self.weights[self.group], 0.0)
        return (part if pooled.ndim == 1 else part[:, None]) * pooled[self.group]

    def _columns(self, criterion, sol, lev):
        """The criterion of each column (k,) at leverages ``lev`` (n,) or (n, k)."""
        r2 = (self.Y - sol.fitted[self.group]) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):  # at interpolation: inf, never chosen
            if criterion == "gcv":
                rss = self.sw @ r2 / self.sw.sum()
                return rss / np.maximum(1.0 - lev.sum(axis=0) / self.n, 0.0) ** 2
            out = self.sw @ (r2 / np.maximum(1.0 - (lev if lev.ndim == 2 else lev[:, None]), 0.0) ** 2)
            return out / self.sw.sum()

    def _score(self, criterion, sol, lev):
        values = self._columns(criterion, sol, lev)
        return values if lev.ndim == 2 else float(np.sum(values))

    def gcv(self, sol, lev):
        """Weighted GCV: ``mean_w(residual^2) / (1 - df / n)^2``."""
        return self._score("gcv", sol, lev)

    def loo(self, sol, lev):
        """Weighted mean of the exact leave-one-out squared errors."""
        return self._score("loo", sol, lev)

    @property
    def scanner(self):
        """The problem's compiled criteria (:class:`._exact1d.fastchain.Scanner`), built once."""
        if self._scanner is None:
            self._scanner = fastchain.Scanner(self.xs, self.Ym, self.weights, self.measure.chain_moments(self.xs),
                                              self.affine, self.group, self.sw, self.Y)
        return self._scanner

    def scores(self, alphas, criterion):
        """The criterion per column at each of ``alphas``, with its monotone parts
        (:class:`._selection.Scores`), all in one compiled call
        (:meth:`._exact1d._search.Criterion.scores`); a singular fit (near
        interpolation over knot-free gaps) scores ``inf``."""
        return Scores(*self.scanner.criterion.scores(np.asarray(alphas, float), criterion == "loo", False))

    def df(self, alpha):
        """The degrees of freedom at ``alpha``."""
        return float(self.scores([alpha], "gcv").df[0])

    def scale(self):
        """The penalty scale of the data (:func:`._selection.penalty_scale`)."""
        return penalty_scale(self.weights, self.measure.kernel_diagonal(self.xs))

    def search(self, criterion, per_target):
        """Minimise the criterion over ``alpha`` (:func:`._selection.minimise`):
        per column, or summed over the columns for one shared value.

        Returns the chosen ``alpha`` (float, or (k,) per column), the ladder and
        the criterion on it ((n_rungs,), or (n_rungs, k) per column).
        """
        shared = not per_target or self.Y.shape[1] == 1
        best, _, grid, values = minimise(self.scanner.criterion, self.scale(), criterion == "loo", shared,
                                         len(self.xs))
        if not shared:
            return best, grid, values
        return float(best[0]), grid, values[:, 0]

    def target(self, df):
        """The ``alpha`` whose fit has ``df`` degrees of freedom (:func:`._selection.solve_df`)."""
        low = {"free": 2.0, "free_constant": 1.0, "penalized": 0.0}[self.affine]
        m = len(self.xs)
        if not low < df <= m:
            raise ValueError(
                f"df={df!r} is outside ({low:g}, {m}]: with affine={self.affine!r} the fit has more than "
                f"{low:g} degrees of freedom and at most the number of distinct inputs ({m}, interpolation)."
            )
        if df == m:
            return 0.0
        return solve_df(self.scanner.criterion, self.scale(), df)


class _GDLimit:
    """``n_steps`` of gradient descent on the output layer of an infinitely wide
    network: the spectral filter of the (weighted, centred) limit kernel.

    With ``p = weights / sum weights``, ``D = diag(sqrt(p))`` and ``P = I - 1 p^T`` (identity
    without a free constant), the network's design tends to ``A A^T = D P K P^T D
    = U diag(kappa) U^T`` and its targets to ``b = D P y``; ``t`` steps from zero
    leave ``v_t = A^T U diag(g_t(kappa)) U^T b`` (``_solvers.gd_filter``), so that
    ``f_t(x) = mean_w(y) + (K(x, X) - p^T K) beta`` with ``beta = P^T D U g_t U^T b``.
    """

    def __init__(self, init, xs, Y, weights, alpha, affine, steps, learning_rate):
        self.init, self.xs = init, xs
        m = len(xs)
        p = weights / weights.sum()
        d = np.sqrt(p)
        K = init.kernel(xs)
        P = np.eye(m) - np.outer(np.ones(m), p) if affine == "free_constant" else np.eye(m)
        kappa, U = np.linalg.eigh(d[:, None] * (P @ K @ P.T) * d[None, :])
        kappa = np.maximum(kappa, 0.0)
        mu = alpha / weights.sum()
        curvature = kappa[-1] + mu
        self.eta = auto_step(curvature) if learning_rate == "auto" else float(learning_rate)
        if not is_stable(self.eta, curvature):
            raise ValueError(
                f"learning_rate={self.eta:.4g} exceeds the stability limit 2/kappa_max = "
                f"{stability_limit(curvature):.4g} of gradient descent on the limit kernel; use 'auto' "
                "or a smaller step."
            )
        g = _solvers.gd_filter(kappa, self.eta, mu, [steps])[0]
        ybar = p @ Y if affine == "free_constant" else np.zeros(Y.shape[1])
        self.beta = P.T @ (d[:, None] * (U @ (g[:, None] * (U.T @ (d[:, None] * (P @ Y))))))
        self.intercept = ybar - p @ K @ self.beta if affine == "free_constant" else ybar
        self.fitted = K @ self.beta + self.intercept
        # smoother: 1 p^T + P K P^T D U diag(g) U^T D P (without the first term and P if penalised)
        S = P @ K @ P.T @ (d[:, None] * ((U * g) @ U.T) * d[None, :]) @ P
        self.leverages = np.diag(S) + (p if affine == "free_constant" else 0.0)

    def evaluate(self, x, order=0):
        Kx = _kernel_derivative(self.init, x, self.xs, order)
        return Kx @ self.beta + (self.intercept if order == 0 else 0.0)


def _kernel_derivative(init, x, xs, order):
    """``d^order / dx^order K(x, x')`` (p, m) from the cumulative moments of ``g_+-``.

    ``K = int_{c < min} g_+ (x - c)(x' - c) + int_{c > max} g_- (c - x)(c - x')``.
    """
    if order == 0:
        return init.kernel(x, xs)
    X, Z = np.meshgrid(x, xs, indexing="ij")
    if order == 2:  # the curvature of the kernel: g_+(x) [x' - x]_+ + g_-(x) [x - x']_+
        gp, gm = init.curvature_weight_parts(X)
        return gp * np.maximum(Z - X, 0) + gm * np.maximum(X - Z, 0)
    lo, hi = np.minimum(X, Z), np.maximum(X, Z)
    C = init.cumulative_moments(lo, "+")
    D = init.cumulative_moments(hi, "-")
    return (Z * C[0] - C[1]) - (D[1] - Z * D[0])
