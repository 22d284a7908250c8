"""Shallow ReLU networks with a random, frozen first layer and a trained output layer."""

from numbers import Integral, Real

import time

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _exact1d, _selection, _solvers
from ._descent import (Diverged, auto_step, check_early_stopping, descend, divergence_warning, is_stable, progress,
                       progress_every, stability_limit, stopping_rule, validation_split)
from ._design import Design, fits_in_memory, rows_per_chunk, unit_weights
from ._exact1d.network import PiecewiseLinear, pool_ties, set_knot_attributes, sort_order
from ._exact1d.operator import Design1D, operator_1d_helps, spectral_beats_operator_1d
from ._memory import fits_in_ram, require_memory, working_memory_bytes
from .features import ReLURandomFeatures, relu_features
from .init import INIT_NAMES, Initialization
from .potentials import POTENTIAL_NAMES, Potential, Quadratic, resolve_potential
# the exact LOO / GCV of the 1-D engine, shared with the spline
from .spline import _Criteria
from ._atomic import atomic_fit
from ._result import FitResult
from ._selection import penalty_scale
from ._warn import warn

__all__ = ["RandomFeatureReLURegressor", "RandomFeatureReLURegressorCV"]

# The algorithms of each solver: the one list that validation and the docs follow.
_ALGORITHMS = {
    "ridge": {"auto", "knots", *_solvers.RIDGE_ALGORITHMS},
    "gd": {"auto", "spectral", "iterative"},
    "mirror": {"auto", "iterative"},
}


class _RandomFeatureNetwork(RegressorMixin, BaseEstimator):
    """What every random-feature network shares: features, prediction, derivatives."""

    def _validate_X_y(self, X, y, sample_weight):
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        y = np.asarray(y, dtype=X.dtype)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        return X, y, sample_weight

    def _draw_features(self, X, rng):
        return ReLURandomFeatures(n_components=self.n_hidden, init=self.init, random_state=rng).fit(X)

    def _set_network(self, features, coef, intercept, y, presorted=None):
        """Store the fitted network; ``coef`` (n, k), ``intercept`` (k,), in the dtype of ``y``."""
        self.random_features_ = features
        self.init_ = features.init_
        self.hidden_weights_ = features.weights_
        self.hidden_bias_ = features.bias_
        dtype = y.dtype
        if y.ndim == 1:
            self.coef_, self.intercept_ = coef[:, 0].astype(dtype), float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef.T.astype(dtype), intercept.astype(dtype)
        set_knot_attributes(self, self.hidden_weights_, self.hidden_bias_, coef / np.sqrt(self.n_hidden),
                                   single=y.ndim == 1, presorted=presorted)

    def _coef_2d(self):
        return self.coef_[:, None] if self.coef_.ndim == 1 else self.coef_.T

    def _output(self, out2d):
        return out2d[:, 0] if self.coef_.ndim == 1 else out2d

    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    def _piecewise(self):
        """The 1-D network as sorted knots and prefix sums (built once)."""
        if getattr(self, "_piecewise_cache", None) is None or self._piecewise_cache[0] is not self.coef_:
            pl = PiecewiseLinear(self.hidden_weights_[:, 0], self.hidden_bias_, self._coef_2d(),
                                        1.0 / np.sqrt(self.n_hidden), np.atleast_1d(self.intercept_))
            self._piecewise_cache = (self.coef_, pl)
        return self._piecewise_cache[1]

    def predict(self, X):
        """Network output ``sum_k coef_k relu(w_k . x + b_k) / sqrt(n_hidden) + intercept``.

        In 1-D, from sorted knots and prefix sums in ``O((n_hidden + n_samples)
        log n_hidden)``; otherwise features are formed in row chunks that fit in
        scikit-learn's ``working_memory``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, in the dtype of ``X`` (float32 or float64).
        """
        X = self._check_X(X)
        if X.shape[1] == 1:
            return self._output(self._piecewise()(X[:, 0]).astype(X.dtype))
        coef = self._coef_2d().astype(X.dtype, copy=False)
        out = np.empty((X.shape[0], coef.shape[1]), dtype=X.dtype)
        for rows in gen_batches(X.shape[0], rows_per_chunk(self.n_hidden, X.dtype)):
            out[rows] = relu_features(X[rows], self.hidden_weights_, self.hidden_bias_) @ coef
        out += np.asarray(self.intercept_, dtype=X.dtype)
        return self._output(out)

    def predict_derivative(self, X):
        """Gradient of the network output with respect to the input.

        Exact for the piecewise-linear network: ``sum_k coef_k 1[w_k . x + b_k > 0]
        w_k / sqrt(n_hidden)`` (at a knot in 1-D, the right derivative).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_features) or (n_samples, n_targets, n_features)
            The gradient at each input, with a target axis for multi-output ``y``.
        """
        X = self._check_X(X)
        if X.shape[1] == 1:
            D = self._piecewise().derivative(X[:, 0]).astype(X.dtype)
            return D if self.coef_.ndim == 1 else D[:, :, None]
        W = self.hidden_weights_.astype(X.dtype, copy=False)
        b = self.hidden_bias_.astype(X.dtype, copy=False)
        coef = self._coef_2d().astype(X.dtype, copy=False) / np.sqrt(self.n_hidden)
        k = coef.shape[1]
        out = np.empty((X.shape[0], k, X.shape[1]), dtype=X.dtype)
        for rows in gen_batches(X.shape[0], rows_per_chunk(self.n_hidden, X.dtype)):
            Z = X[rows] @ W.T + b
            active = (Z > 0) | ((Z == 0) & (W[:, 0] > 0)) if X.shape[1] == 1 else Z > 0
            out[rows] = np.einsum("mn,nk,nd->mkd", active.astype(X.dtype), coef, W)
        return out[:, 0, :] if self.coef_.ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def resolve_alpha(alpha, solver):
    """The penalty of ``alpha=None``: 1 for ridge (as ``Ridge``), none for the descents."""
    if alpha is None:
        return 1.0 if solver == "ridge" else 0.0
    return float(alpha)


def _instability(eta, limit):
    """Why a descent with step ``eta`` diverged, against its linear stability ``limit``, and the fix."""
    fix = "Use a smaller learning_rate or learning_rate='auto'."
    if eta > limit:
        return f"The step exceeds the stability limit (about {limit:.4g}) {eta / limit:.3g} times. {fix}"
    return (f"The step is below the linear stability limit (about {limit:.4g}), but the mirror map is strongly "
            f"nonlinear at the scale of these targets. {fix}")


#: Inputs spanning more than this many interquartile ranges of the knots are
#: called spread too wide for them (standardised inputs: of order one).
_WIDE_SPREAD = 100.0


class _KnotNetwork:
    """A 1-D random-feature layer as the exact engine sees it: the knot measure of
    its units, and the network of a solve as a :class:`FitResult`.

    The units are sorted once by knot: the moments, the jumps, the prediction
    and the kernel diagonal all read that order.  Units with zero input weight
    have no knot; they are constants on the line, which the free intercept
    absorbs (the engine is used only then, see ``_use_knots``).
    """

    def __init__(self, features, n_hidden):
        w, b = features.weights_[:, 0], features.bias_
        has = np.flatnonzero(w != 0)
        wh, bh = (w, b) if len(has) == len(w) else (w[has], b[has])
        order, self.knots = sort_order(-bh / wh)
        self.has, self.wh, self.n = has[order], wh[order], n_hidden
        self.measure = _exact1d.Knots(self.knots, self.wh * self.wh / n_hidden, self.wh > 0, presorted=True)
        # the knot-less units' squared output, the same at every input
        self.constant2 = float(np.sum(np.maximum(b[w == 0], 0.0) ** 2)) / n_hidden

    def result(self, fit):
        """The network of the engine's ``fit``: output weights from its jumps."""
        jumps = fit.jumps()
        coef = np.zeros((self.n, jumps.shape[1]))
        coef[self.has] = jumps * (np.sqrt(self.n) / np.abs(self.wh))[:, None]
        return FitResult(coef=coef, intercept=fit.intercept, algorithm_="knots", presorted=(self.knots, jumps),
                         piecewise=fit.network())

    def kernel_diagonal(self, xs):
        """``K(x, x) = sum_k relu(w_k x + b_k)^2 / n`` at the sorted ``xs``: the
        squared row norms of the features, in ``O(n + m)``."""
        return self.measure.kernel_diagonal(xs) + self.constant2

    def rank(self, xs, fit_intercept):
        """The degrees of freedom of interpolation: :func:`_network_rank` on ``xs``."""
        return _network_rank(xs, self.knots, self.wh > 0, fit_intercept)


def _network_rank(xs, knots, right, fit_intercept):
    """The rank of a 1-D network's features (and intercept) on the sorted
    distinct inputs ``xs``, in ``O(n + m)`` for sorted ``knots``; a lower bound by
    at most two (one with an intercept) in rare cases, exact in the typical ones.

    A finite network cannot interpolate where its knots leave gaps between the
    data, so ``df`` of its ridge fit rises as ``alpha -> 0`` to this rank, not to
    the number of inputs; the default grid ends near it.

    Modulo the affine functions on the data, a unit is its slope changes at the
    interior data points, and both directions give the same ones: a knot strictly
    inside ``(x_j, x_{j+1})`` changes the slope at ``x_j`` and ``x_{j+1}``
    (weights ``theta``, ``1 - theta``, ``theta`` its relative distance to
    ``x_{j+1}``), a knot at ``x_j`` at ``x_j`` alone; the end points ``x_1``,
    ``x_m`` and knots outside the data only touch the affine part.  So the
    units are the edges of a path through the data points (two distinct knots in
    one gap span both of its points; an end point or a knot on a point grounds
    the path there), and along each connected run of gaps with knots the rank is
    the number of its interior points if something grounds it, else one less:
    exact, whatever the spacing of knots and data.  The affine part adds the
    intercept and the units that are affine on the data (right-facing knots at
    or left of ``x_1``, left-facing at or right of ``x_m``, each ``+-(x - xi)``);
    combinations of units inside the data that are affine are not counted (a
    lower bound: the grid then ends at most two degrees of freedom early).
    """
    m = len(xs)
    inner = 0
    if m > 2:
        gap = np.searchsorted(xs, knots, side="right") - 1  # x_j <= xi < x_{j+1}
        ok = (gap >= 0) & (gap <= m - 2)
        g, k = gap[ok], knots[ok]
        on_point = k == xs[g]
        grounded = np.zeros(m, dtype=bool)
        grounded[g[on_point]] = True
        grounded[[0, m - 1]] = True  # the end points belong to the affine part
        # distinct knots strictly inside each gap (sorted: a new value differs from the one before)
        g_in, k_in = g[~on_point], k[~on_point]
        new = np.ones(len(k_in), dtype=bool)
        new[1:] = k_in[1:] != k_in[:-1]
        per_gap = np.bincount(g_in[new], minlength=m - 1)
        edge, double = per_gap >= 1, per_gap >= 2
        grounded[:-1] |= double
        grounded[1:] |= double
        run = np.concatenate([[0], np.cumsum(~edge)])  # the connected run of each point
        size = np.bincount(run)
        ends = np.zeros(m)
        ends[[0, m - 1]] = 1.0
        ends = np.bincount(run, weights=ends)
        is_grounded = np.bincount(run, weights=grounded) > 0
        inner = int(np.sum(np.where(is_grounded, size - ends, size - 1)))
    outer = np.concatenate([knots[right & (knots <= xs[0])], knots[~right & (knots >= xs[-1])]])
    n_outer = min(len(np.unique(outer)), 2)  # each is +-(x - xi): two distinct ones span the affine functions
    affine = min(2, 1 + min(n_outer, 1)) if fit_intercept else n_outer
    return min(m, inner + affine)


class _KnotsAttempt:
    """What the exact 1-D path measured when its certificate failed.

    Its states' fitted values at the pooled inputs ``xs`` are accurate even
    where a network built from jumps is not (x spread far wider than the knots
    makes the output weights ill-conditioned), so they judge the candidates:
    the knots networks offered here and the dense solvers' network.
    """

    def __init__(self, xs, fitted, scale, knots, alpha, best, error):
        self.xs, self.fitted, self.scale, self.knots = xs, fitted, scale, knots  # knots sorted
        self.alpha, self.best, self.error = alpha, best, error

    def _error(self, network):
        return _exact1d.discrepancy(network, self.fitted, self.scale)

    def closer(self, dense, features, n_hidden):
        """The dense result or the best knots network, whichever is closer to the
        states; a warning when even that one is off by more than 1e-4.  States that
        overflowed (alpha far below the scale of the kernel) judge nothing: the
        dense solvers, stable at any alpha, are then taken as they are."""
        if not np.all(np.isfinite(self.fitted)):
            return dense
        pl = PiecewiseLinear(features.weights_[:, 0], features.bias_, dense.coef, 1.0 / np.sqrt(n_hidden),
                             np.atleast_1d(dense.intercept))
        err, out = self._error(pl(self.xs)), dense
        if self.error < err:
            err, out = self.error, self.best
        if err > 1e-4:
            n = len(self.knots)
            iqr = self.knots[(3 * n) // 4] - self.knots[n // 4] if n else 0.0
            spread = (self.xs[-1] - self.xs[0]) / max(iqr, 1e-300)
            # Two causes make the output weights ill-conditioned: inputs spread far
            # wider than the knots (standardised inputs give a spread of order one
            # for every built-in init), or an alpha so small that the fit is an
            # interpolation whose weights the data barely determine.
            if spread > _WIDE_SPREAD:
                cause = (f"the inputs span {spread:.1e} times the interquartile range of the knots, "
                         "which makes the output weights ill-conditioned. Standardize X (for example "
                         "with StandardScaler in a Pipeline) or choose an init whose knots cover the data.")
            else:
                cause = (f"at alpha={self.alpha:.1e} the fit is nearly an interpolation, whose output "
                         "weights are ill-conditioned. Use a larger alpha (RandomFeatureReLURegressorCV "
                         "chooses it by leave-one-out).")
            warn(f"The fitted network reproduces the exact ridge fit at the training inputs only to "
                 f"{err:.1e} relative: {cause}", UserWarning)
        return out


class RandomFeatureReLURegressor(_RandomFeatureNetwork):
    """Shallow ReLU network with a random, frozen first layer and a trained output layer.

    The network is ``f(x) = sum_k v_k relu(w_k . x + b_k) / sqrt(n_hidden) + c``
    with ``(w_k, b_k)`` drawn from ``init`` and never trained.  It is
    ``make_pipeline(ReLURandomFeatures(n_hidden, init, random_state),
    Ridge(alpha))`` in one object, with exact and fast solvers and the whole
    gradient-descent path.  As ``n_hidden`` grows, ridge (and early-stopped
    gradient descent) tends to kernel ridge regression with the kernel of
    ``init``; in 1-D that is a weighted cubic smoothing spline whose curvature
    weight comes from ``init`` (Heiss et al. [1]_, Jin and Montufar [2]_; see
    :class:`SmoothingSplineEquivalent`).  Mirror descent from ``coef_init``
    converges to the interpolant nearest the start in the potential's Bregman
    divergence (Gunasekar et al. [3]_); with a width-scaled potential its
    limit is a non-quadratic curvature penalty (Liang and Montufar [4]_).

    Loss convention.  ``solver='ridge'`` minimises scikit-learn's
    ``sum_i w_i (f(x_i) - y_i)^2 + alpha ||v||^2``.  The descent solvers
    minimise the same objective divided by ``2 sum_i w_i``:
    ``L(v) = sum_i w_i (f(x_i) - y_i)^2 / (2 sum_i w_i) + alpha ||v||^2 / (2 sum_i
    w_i)`` (half the weighted mean squared error; summed over outputs), so the
    gradient-descent stability limit is ``learning_rate < 2 / lambda_max``
    with ``lambda_max`` the top eigenvalue of the Hessian of ``L``.  With
    ``fit_intercept=True`` the intercept is kept at its optimum for the
    current ``v`` (equivalently, the descent runs on centred features and
    targets), which is what makes the path a spectral filter.

    Parameters
    ----------
    n_hidden : int, default=1000
        Width of the hidden layer.
    init : str, Initialization, callable or tuple (W, b), default='gaussian'
        Distribution of the hidden units; see :class:`ReLURandomFeatures`.
    solver : {'ridge', 'gd', 'mirror'}, default='ridge'
        ``'ridge'``: exact ridge regression on the features.  ``'gd'``:
        gradient descent on the output layer from zero (or ``coef_init``),
        for ``max_iter`` steps.  ``'mirror'``: mirror descent with ``potential``.
    alpha : float or None, default=None
        L2 penalty on the output weights in scikit-learn's ``Ridge`` units.
        ``None`` means 1.0 for ``'ridge'`` and 0.0 (plain descent, whose
        implicit bias is the point) for ``'gd'`` and ``'mirror'``.
    learning_rate : 'auto' or float, default='auto'
        Step size of the descent solvers.  ``'auto'`` is ``1 / lambda_max``
        for gradient descent, half the stability limit; for mirror descent it
        is ``min_k phi''(v_t - v_0)_k / lambda_max`` at every step (at most its
        value at the start), half the local stability limit of the
        preconditioned step, which keeps potentials whose curvature falls
        away from the start (hyperbolic entropy) stable.  A gradient-descent step above the limit raises a
        ``ValueError`` before anything is changed; a mirror-descent run that
        diverges stops, keeps its last finite coefficients and warns.
    max_iter : int, default=1000
        Number of descent steps (exactly this many unless a stopping rule is
        asked for with ``early_stopping`` or ``tol``).
    potential : str or Potential, default='quadratic'
        Mirror potential (``'quadratic'``, ``'hyperbolic_entropy'``,
        ``'power'``, ``'quadratic_plus_power'`` or an object from
        :mod:`sklearn_shallowrelu.potentials`; ``WidthScaled(...)`` is scaled by
        ``sqrt(n_hidden)``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the
        validation loss has not decreased by ``tol`` for ``n_iter_no_change``
        steps; the coefficients of the best validation step are kept.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=10
        Steps without improvement by ``tol`` after which a stopping rule stops.
    tol : float or None, default=None
        Without early stopping: stop when the training loss has not decreased
        by ``tol`` for ``n_iter_no_change`` steps.  ``None`` (default): no
        stopping rule (0 with early stopping).
    fit_intercept : bool, default=True
        Whether to fit an unpenalised output bias ``c`` (kept at its optimum
        for the current ``v`` by the descent solvers).
    algorithm : str, default='auto'
        How to compute the fit.  ridge: ``'knots'`` (1-D inputs: the exact
        interval-moment solver, ``O(n log n + m)`` time and ``O(n + m)`` memory,
        never the m x n feature matrix; tried first by ``'auto'`` in 1-D, which
        falls back to the dense solvers when the solver's accuracy certificate
        fails, as it can for very closely spaced inputs), ``'primal'`` (n x n normal equations),
        ``'dual'`` (m x m kernel system), ``'chunked'`` (primal with the Gram
        matrix accumulated over row chunks; used automatically when the m x n
        feature matrix exceeds scikit-learn's ``working_memory``).  gd:
        ``'spectral'`` (the exact path from one eigendecomposition) or
        ``'iterative'``.  ``'auto'`` chooses by shape and cost.
    random_state : int, RandomState instance or None, default=None
        Seeds the hidden units (exactly as ``ReLURandomFeatures`` with the same
        value) and then the validation split.
    verbose : int, default=0
        ``'gd'`` and ``'mirror'``: 1 prints the training (and validation) loss
        about ten times per fit, in ``MLPRegressor``'s style, 2 and more at
        every step; ridge prints the algorithm and its time.

    Attributes
    ----------
    coef_ : ndarray of shape (n_hidden,) or (n_targets, n_hidden)
        Output weights ``v``.
    intercept_ : float or ndarray of shape (n_targets,)
    hidden_weights_ : ndarray of shape (n_hidden, n_features_in_)
    hidden_bias_ : ndarray of shape (n_hidden,)
    random_features_ : ReLURandomFeatures
        The fitted first layer.
    init_ : Initialization
    knots_ : ndarray of shape (n_knots,)
        1-D inputs only: sorted knots ``-b_k / w_k``.
    slope_jumps_ : ndarray of shape (n_knots,) or (n_knots, n_targets)
        1-D inputs only: jump of ``f'`` at each knot, ``v_k |w_k| / sqrt(n_hidden)``.
    algorithm_ : str
        The algorithm that computed the fit.
    learning_rate_ : float
        The step size used (descent solvers; for mirror descent with
        ``'auto'``, the step at the start).
    n_iter_ : int or None
        Descent steps run (None for ridge).
    best_iteration_ : int or None
        With early stopping, the step whose coefficients were kept.
    loss_curve_ : ndarray of shape (n_iter_ + 1,)
        Training loss ``sum w r^2 / (2 sum w)`` after ``t = 0, 1, ..., n_iter_`` steps.
    validation_loss_curve_ : ndarray of shape (n_iter_ + 1,) or None
        The same loss on the validation split (early stopping only).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    RandomFeatureReLURegressorCV : Exact leave-one-out over ``alpha`` and stopping time.
    ReLURandomFeatures : The first layer alone.
    SmoothingSplineEquivalent : The infinite-width limit in 1-D.

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
    .. [3] S. Gunasekar, J. Lee, D. Soudry and N. Srebro, "Characterizing
       implicit bias in terms of optimization geometry", Proceedings of the
       35th International Conference on Machine Learning (ICML 2018).
       https://arxiv.org/abs/1802.08246
    .. [4] S. Liang and G. Montufar, "Implicit bias of mirror flow for shallow
       neural networks in univariate regression", International Conference
       on Learning Representations (ICLR 2025).
       https://arxiv.org/abs/2410.03988

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import RandomFeatureReLURegressor
    >>> rng = np.random.RandomState(0)
    >>> X = np.sort(rng.uniform(-2, 2, 40)).reshape(-1, 1)
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(40)
    >>> net = RandomFeatureReLURegressor(n_hidden=2000, alpha=1e-3, random_state=0)
    >>> round(net.fit(X, y).score(X, y), 2)
    0.98
    >>> gd = RandomFeatureReLURegressor(solver="gd", max_iter=200, random_state=0).fit(X, y)
    >>> gd.loss_curve_.shape
    (201,)
    """

    _parameter_constraints = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions(set(INIT_NAMES)), Initialization, callable, tuple],
        "solver": [StrOptions({"ridge", "gd", "mirror"})],
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "potential": [StrOptions(set(POTENTIAL_NAMES)), Potential],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "fit_intercept": ["boolean"],
        "algorithm": [StrOptions(set().union(*_ALGORITHMS.values()))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_hidden=1000,
        init="gaussian",
        solver="ridge",
        alpha=None,
        learning_rate="auto",
        max_iter=1000,
        potential="quadratic",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=None,
        fit_intercept=True,
        algorithm="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_hidden = n_hidden
        self.init = init
        self.solver = solver
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.potential = potential
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.algorithm = algorithm
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None, coef_init=None):
        """Draw the hidden layer and train the output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 is kept, anything else becomes float64).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors in the loss (and of the
            validation split's loss with early stopping); None weighs the
            samples equally.
        coef_init : array-like of shape (n_hidden,) or (n_targets, n_hidden), default=None
            Start of the descent solvers (zero by default).  Mirror descent
            converges to the Bregman projection of this start onto the
            interpolants (under-determined problems, ``alpha=0``).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        if self.algorithm not in _ALGORITHMS[self.solver]:
            raise ValueError(
                f"algorithm={self.algorithm!r} does not apply to solver={self.solver!r}; "
                f"use one of {sorted(_ALGORITHMS[self.solver])}."
            )
        X, y, sw = self._validate_X_y(X, y, sample_weight)
        y2 = y.reshape(len(y), -1)
        if self.solver != "ridge" and self.early_stopping:
            check_early_stopping(X.shape[0])
        if self.solver != "ridge" and self.tol is None and not self.early_stopping:
            # without a stopping rule the loss curve grows to max_iter + 1 entries, kept
            # as Python floats while the descent runs (32 bytes each)
            require_memory(32 * (self.max_iter + 1), f"The loss curve of max_iter={self.max_iter} steps",
                           "Use a smaller max_iter, or a stopping rule (tol=..., early_stopping=True).")
        rng = check_random_state(self.random_state)
        features = self._draw_features(X, rng)
        v0 = self._check_coef_init(coef_init, y2.shape[1])
        started = time.perf_counter()
        result = self._train(X, y2, sw, features, rng, v0)
        if self.verbose and self.solver == "ridge":
            print(f"Ridge ({result.algorithm_!r}) solved in {time.perf_counter() - started:.2f} s", flush=True)
        # Nothing above touched the estimator: a failed fit leaves a fitted model intact.
        self._publish(features, result, y)
        return self

    def _publish(self, features, result, y):
        """Set the fitted attributes from the :class:`FitResult` ``result``."""
        self._set_network(features, result.coef, result.intercept, y, result.presorted)
        # prediction reuses the exact solver's sorted knots (built in float64)
        keep = result.piecewise is not None and y.dtype == np.float64
        self._piecewise_cache = (self.coef_, result.piecewise) if keep else None
        result.publish(self)

    def _check_coef_init(self, coef_init, k):
        if coef_init is None:
            return None
        if self.solver == "ridge":
            raise ValueError("coef_init applies to the descent solvers ('gd', 'mirror') only.")
        v0 = np.asarray(coef_init, dtype=np.float64)
        v0 = v0.T if v0.ndim == 2 else v0.reshape(-1, 1)
        if v0.shape != (self.n_hidden, k) or not np.all(np.isfinite(v0)):
            raise ValueError(
                f"coef_init must be finite with shape ({self.n_hidden},) or "
                f"({k}, {self.n_hidden}); got {np.shape(coef_init)}."
            )
        return v0

    # ------------------------------------------------------------- training
    def _use_knots(self, X, features):
        """The exact 1-D solver applies: ridge, one feature, a knot for every unit
        (or a free intercept to absorb knot-less ones) and a positive penalty."""
        if self.solver != "ridge" or self.algorithm not in ("auto", "knots"):
            return False
        ok = X.shape[1] == 1 and resolve_alpha(self.alpha, "ridge") > 0
        ok = ok and (self.fit_intercept or np.all(features.weights_ != 0))
        if self.algorithm == "knots" and not ok:
            raise ValueError(
                "algorithm='knots' needs 1-D inputs, alpha > 0, and (without an intercept) "
                "no unit with zero input weight; use algorithm='auto'."
            )
        return ok

    def _train_knots(self, X, y, sw, features):
        """Exact 1-D ridge in O(n log n + m) (the engine of :mod:`._exact1d`); None if
        fewer than 3 distinct inputs, a :class:`_KnotsAttempt` if its certificate failed."""
        xs, Y, Wt = pool_ties(X[:, 0].astype(np.float64), y.astype(np.float64), sw.astype(np.float64))
        if len(xs) < 3:
            return None
        net = _KnotNetwork(features, self.n_hidden)
        alpha = resolve_alpha(self.alpha, "ridge")
        affine = _exact1d.network_affine(self.fit_intercept)
        try:
            return net.result(_exact1d.solve(xs, Y, Wt, net.measure, alpha, affine))
        except _exact1d.InaccurateFit as failed:
            attempt = None
            if failed.reference is not None:
                attempt = _KnotsAttempt(xs, failed.reference, failed.scale, net.knots, alpha, net.result(failed.best),
                                        failed.best.discrepancy)
        return self._knots_inaccurate(attempt)

    def _knots_inaccurate(self, attempt):
        if self.algorithm == "knots":
            raise ValueError(
                "The exact 1-D solver lost accuracy on these inputs (its certificate, the network "
                f"rebuilt from the jumps against the fitted values, exceeds {_exact1d.CERTIFICATE_TOL:g}); use "
                "algorithm='auto', which then falls back to the dense solvers."
            )
        return attempt

    def _train(self, X, y, sw, features, rng, v0):
        attempt = None
        if self._use_knots(X, features):
            attempt = self._train_knots(X, y, sw, features)
            if isinstance(attempt, FitResult):
                return attempt
        out = self._train_dense(X, y, sw, features, rng, v0)
        if attempt is not None:  # the exact path failed its certificate: keep the closer of the two
            out = attempt.closer(out, features, self.n_hidden)
        return out

    def _train_dense(self, X, y, sw, features, rng, v0):
        held = None
        if self.solver != "ridge" and self.early_stopping:
            (X, y, sw), held = validation_split(X, y, sw, self.validation_fraction, rng)
        if self._use_operator_1d(X):
            design = Design1D(X, features.weights_, features.bias_, y, sw, self.fit_intercept)
        else:
            # None lets the design decide from working_memory (every algorithm
            # works without the explicit m x n features)
            explicit = {"chunked": False}.get(self.algorithm)
            design = Design(X, features.weights_, features.bias_, y, sw, self.fit_intercept, explicit=explicit)
        mu = design.penalty(resolve_alpha(self.alpha, self.solver))
        algorithm = self._resolved_algorithm(design)
        if self.solver == "ridge":
            result = FitResult(coef=_solvers.ridge(design, mu, algorithm))
        else:
            val = None if held is None else _Validation(design, *held)
            result = self._descend(design, algorithm, mu, val, v0)
        result.algorithm_ = algorithm
        result.coef = result.coef.astype(np.float64)
        result.intercept = design.intercept(result.coef.astype(design.dtype))
        return result

    def _resolved_algorithm(self, design):
        """The algorithm that runs: the one rule for ``algorithm='auto'``, decided once per fit."""
        if self.solver == "ridge":  # by predicted memory and time; refuses what cannot fit
            return _solvers.ridge_algorithm(design, self.algorithm)
        if self.algorithm != "auto":
            return self.algorithm
        if self.solver == "gd":
            return "spectral" if self._use_spectral(design) else "iterative"
        return "iterative"

    def _use_operator_1d(self, X):
        """Descend on 1-D inputs with the ``O(m + n)`` operator of :class:`Design1D`:
        when it beats the dense products and, for ``algorithm='auto'``, when its
        iterations beat the eigendecomposition of the spectral algorithm or that
        one's stored path (``n x min(m, n)`` singular vectors) exceeds
        ``working_memory`` while the operator needs ``O(m + n)``."""
        m, n = X.shape[0], self.n_hidden
        if self.solver == "ridge" or X.shape[1] != 1 or not operator_1d_helps(m, n):
            return False
        if self.solver == "mirror" or self.algorithm == "iterative":
            return True
        spectral_fits = 8 * n * min(m, n) <= working_memory_bytes()
        return self.algorithm == "auto" and not (spectral_fits and spectral_beats_operator_1d(m, n, self.max_iter))

    def _use_spectral(self, design):
        if self.solver != "gd" or self.algorithm == "iterative" or isinstance(design, Design1D):
            return False
        m, n = design.m, design.n
        if self.algorithm == "spectral":
            return True  # spectrum() refuses, before allocating, what cannot fit
        # the path keeps V (n x r); iterating needs only O(m + n) beyond the features
        mode = ("dual", "primal") if m < n else ("primal", "dual")
        if not any(fits_in_ram(_solvers.spectrum_bytes(f, m, n)) for f in mode):
            return False
        r = min(m, n)
        return r <= 2000 or r**3 <= m * n * self.max_iter

    def _descend(self, design, algorithm, mu, val, v0):
        """GD or mirror descent by ``algorithm``: a :class:`FitResult` without its intercept."""
        rule = stopping_rule(self.tol, self.n_iter_no_change, val is not None)
        spec = _solvers.spectrum(design) if algorithm == "spectral" else None
        # the top eigenvalue of the Hessian of L: the curvature that bounds the step
        curvature = (_solvers.top_eigenvalue(design) if spec is None else spec.eigval_max) + mu
        potential = self._potential()
        eta = self._step_size(curvature, potential)
        if spec is not None:
            return self._spectral_path(spec, eta, mu, val, v0, rule, design)
        return self._iterate(design, potential, eta, mu, val, v0, rule, curvature)

    def _potential(self):
        if self.solver == "gd":
            return Quadratic()
        return resolve_potential(self.potential, np.sqrt(self.n_hidden))

    def _step_size(self, curvature, potential):
        """The step for the curvature ``lambda_max + mu``: :func:`auto_step` for ``'auto'``;
        a fixed gradient-descent step beyond the stability limit raises ``ValueError``."""
        if self.learning_rate == "auto":
            return auto_step(curvature, potential.step_scale())
        eta = float(self.learning_rate)
        if self.solver == "gd" and not is_stable(eta, curvature):
            limit = stability_limit(curvature)
            raise ValueError(
                f"learning_rate={eta:.4g} exceeds the stability limit 2/lambda_max = "
                f"{limit:.4g} of gradient descent on this data (lambda_max = "
                f"{curvature:.4g}, loss convention sum w r^2 / (2 sum w)); the iterates would "
                f"diverge. Use learning_rate='auto' or a value below {limit:.4g}."
            )
        return eta

    def _spectral_path(self, spec, eta, mu, val, v0, rule, design):
        started = time.perf_counter()
        spec.U = None  # not needed after this point; keep the stored path small
        path = _solvers.GDPath(spec, eta, mu, v0)
        losses, val_losses, n_iter, best = [], [], self.max_iter, None
        watch = None if rule is None else (val is not None)
        step_block = max(1, int(2**22 // max(1, spec.eigvals.size * spec.d.shape[1])))
        done = False
        for start in range(0, self.max_iter + 1, step_block):
            steps = np.arange(start, min(start + step_block, self.max_iter + 1))
            losses.extend(path.losses(steps))
            if val is not None:
                val_losses.extend(val.path_losses(path, steps))
            if rule is not None:
                monitored = val_losses if watch else losses
                for t in steps[steps >= 1]:
                    if rule.update(monitored[t], t):
                        n_iter, done = int(t), True
                        break
            if done:
                break
        losses = np.asarray(losses[: n_iter + 1])
        t_final = n_iter
        if val is not None:
            val_losses = np.asarray(val_losses[: n_iter + 1])
            best = int(np.argmin(val_losses[1:]) + 1)
            t_final = best
        if self.verbose:  # the exact path has every step at once: its losses as descend prints them
            every = progress_every(self.max_iter, self.verbose)
            for t in range(every, n_iter + 1, every):
                progress(t, losses[t], val_losses[t] if val is not None else None, started)
            if done:
                print(f"The stopping rule ended the run at iteration {n_iter}.")
        stored = ("spectral", path, design.phi_mean.astype(np.float64), design.y_mean.astype(np.float64))
        return FitResult(coef=path.coef(t_final), n_iter_=n_iter, best_iteration_=best, loss_curve_=losses,
                         validation_loss_curve_=val_losses if val is not None else None, learning_rate_=eta,
                         _path_=stored)

    def _iterate(self, design, potential, eta, mu, val, v0, rule, curvature):
        """The iterative descent: :func:`descend` on the output layer's least squares."""
        keep_path = fits_in_memory(self.max_iter + 1, design.n * design.b.shape[1], np.float64)
        # 'auto' mirror steps follow the potential's local curvature, and backtrack where its
        # map is too nonlinear for that; GD's 'auto' step is half the global limit of a
        # quadratic loss, which it never raises
        local = self.solver == "mirror" and self.learning_rate == "auto" and curvature > 0
        walk = _solvers.LeastSquaresWalk(design, potential, eta, mu, v0, val, rule, keep_path,
                                         curvature if local else None)
        try:
            descend(walk, self.max_iter, backtrack=local, verbose=self.verbose)
        except Diverged as exc:
            divergence_warning(f"solver={self.solver!r}", exc.iteration, eta, "The last finite coefficients were kept.",
                               _instability(eta, stability_limit(curvature, potential.step_scale())))
        stored = ("iterative", walk.path, design.phi_mean.astype(np.float64), design.y_mean.astype(np.float64))
        return FitResult(coef=walk.v if walk.best is None else walk.best, n_iter_=walk.n_iter,
                         best_iteration_=walk.best_iter, loss_curve_=np.asarray(walk.losses),
                         validation_loss_curve_=None if val is None else np.asarray(walk.val_losses),
                         learning_rate_=eta, _path_=stored if keep_path else None)

    # -------------------------------------------------------------- paths
    def staged_predict(self, X):
        """Predictions after each descent step ``t = 1, ..., n_iter_``.

        Computed from the stored spectral path (exact) or, for the iterative
        algorithm, from the stored coefficients when they fit in
        ``working_memory``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Yields
        ------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predictions after step ``t``, for ``t = 1, ..., n_iter_``.

        Raises
        ------
        AttributeError
            For ``solver='ridge'``, which has no descent path.
        ValueError
            If the coefficient path of the iterative algorithm was too large
            to keep.
        """
        X = self._check_X(X)
        if self.solver == "ridge":
            raise AttributeError("staged_predict is defined for the descent solvers ('gd', 'mirror').")
        if self._path_ is None:
            raise ValueError(
                "The coefficient path was too large to keep; refit with "
                "algorithm='spectral' (solver='gd') or a smaller max_iter."
            )
        kind, path, phi_mean, y_mean = self._path_
        F = relu_features(X, self.hidden_weights_, self.hidden_bias_).astype(np.float64) - phi_mean
        base = y_mean
        if kind == "spectral":
            FV = F @ path.spec.V
            for start in range(1, self.n_iter_ + 1, 256):
                steps = np.arange(start, min(start + 256, self.n_iter_ + 1))
                e = path.range_coords(steps)
                nulls = path.null_part(steps)
                for j in range(len(steps)):
                    pred = FV @ e[j] + base
                    if nulls is not None:
                        pred = pred + F @ nulls[j]
                    yield self._output(pred.astype(X.dtype))
        else:
            for v in path[1 : self.n_iter_ + 1]:
                yield self._output((F @ v + base).astype(X.dtype))


class _Validation:
    """The held-out split of early stopping, in the design's centring."""

    def __init__(self, design, X, y, sw):
        self.F = design.centred_features(X, np.float64)
        self.e = (y - design.y_mean).astype(np.float64)
        unit = unit_weights(sw)[0]  # a sum of raw weights may overflow
        self.p = unit / np.sum(unit)

    def loss(self, coef):
        r = self.F @ coef - self.e
        return 0.5 * float(self.p @ np.sum(r**2, axis=1))

    def path_losses(self, path, steps):
        FV = self.F @ path.spec.V
        e = path.range_coords(steps)
        pred = np.einsum("mr,trk->tmk", FV, e)
        nulls = path.null_part(steps)
        if nulls is not None:
            pred += np.einsum("mn,tnk->tmk", self.F, nulls)
        r2 = np.sum((pred - self.e[None]) ** 2, axis=2)
        return 0.5 * (r2 @ self.p)


class RandomFeatureReLURegressorCV(RandomFeatureReLURegressor):
    """Random-feature network with ``alpha`` and stopping time chosen by exact leave-one-out.

    One eigendecomposition of the feature (or kernel) matrix gives the whole
    ridge path over ``alphas`` and, for ``solver='gd'``, the whole
    gradient-descent path over the stopping time ``t = 1, ..., max_iter``; the
    leave-one-out error of every grid value then follows exactly (the way
    :class:`~sklearn.linear_model.RidgeCV` does it for ridge), or the
    generalised cross-validation score with ``criterion='gcv'``.

    For gradient descent, leaving one sample out is a rank-one downdate of the
    scatter matrix.  In the eigenbasis of the full problem the left-out run's
    prediction at that sample follows either from a scalar causal recursion
    (``O(m r T + m T^2)`` for ``m`` samples, rank ``r`` and ``T`` steps) or from
    one ``r x r`` eigendecomposition per sample (``O(m r^3)``, then ``O(r)`` per
    stopping time); the cheaper is used.  Both are exact, and both replace
    ``m`` refits per stopping time.
    The step size is resolved once on the full data (``'auto'``) and kept for
    every left-out run, as it would be in a grid search over ``max_iter`` at a
    fixed ``learning_rate``.

    On one input feature, ridge runs on the exact 1-D engine of
    :class:`RandomFeatureReLURegressor` (``algorithm='knots'``) instead: one
    compiled pass of its filter and smoother per ``alpha``, ``O(m + n)`` time
    and memory for ``m`` distinct inputs and ``n`` units, never the ``m x n``
    features nor an eigendecomposition, and leave-one-out and GCV exactly from
    the fitted values and leverages (measured with one thread: about 1 s for
    the default grid of about 130 values at ``10^5`` samples and ``10^6``
    units).  The selected ``alpha`` is then solved by the engine, and the
    network's output weights come from its jumps, as in
    :class:`RandomFeatureReLURegressor`.  Where the engine cannot certify that
    fit (its accuracy check fails, for inputs spread far wider than the knots,
    for example) or cannot score a value of a grid given in ``alphas``, the
    whole grid is fitted by the eigendecomposition above, and ``algorithm_``
    says which ran.

    Parameters
    ----------
    alphas : array-like of float or None, default=None
        Ridge penalties (``Ridge`` units) to try.  ``None``: for ``'ridge'``, a
        grid set by the data, on the rungs that the search of
        :class:`SmoothingSplineEquivalent` (``alpha='loo'``) runs on before it
        refines: from ``1e4`` times the weighted trace ``sum_i w_i K(x_i, x_i)``
        of the network's kernel (``K(x, x) = |phi(x)|^2``, the squared norm of
        the features), where the fit is its unpenalised part (the intercept)
        to about ``1e-4``, down by quarter
        decades until the degrees of freedom (the trace of the smoother) are
        within ``1e-3`` of their maximum, where it nearly interpolates.  That
        maximum is the rank of the network on the data: in 1-D the number of
        distinct inputs the knots can separate (counted exactly from the knots
        and the inputs; units that combine to an affine function inside the
        data are not counted, so the grid may end up to two degrees of freedom
        early), otherwise the number of positive eigenvalues plus the
        intercept.  Typically 60 to 140 values.  In 1-D, if the engine cannot
        certify the fit of the best value (near interpolation, when knot-free
        gaps between the inputs make the least-squares limit ill-conditioned),
        the grid ends before it and the best value above is taken; if that is
        the last one, the minimum may lie beyond, and the eigendecomposition
        fits its own grid.  ``(0,)`` for ``'gd'``.
    stopping_times : array-like of int or None, default=None
        Numbers of GD steps to try (``'gd'``); ``None`` means every step
        ``1, ..., max_iter``.  A geometric grid such as
        ``np.unique(np.geomspace(1, 1e5, 40).astype(int))`` reaches long paths
        cheaply.
    criterion : {'loo', 'gcv'}, default='loo'
        Exact leave-one-out or generalised cross-validation error.
    solver : {'ridge', 'gd'}, default='ridge'
        Ridge over ``alphas``, or gradient descent over ``stopping_times``
        (and ``alphas``, its ridge term).
    n_hidden : int, default=1000
        Width of the hidden layer, as in :class:`RandomFeatureReLURegressor`.
    init : str, Initialization, callable or tuple (W, b), default='gaussian'
        Distribution of the hidden units, as in :class:`RandomFeatureReLURegressor`.
    learning_rate : 'auto' or float, default='auto'
        Step size of gradient descent, as in :class:`RandomFeatureReLURegressor`.
    max_iter : int, default=1000
        Longest stopping time (``'gd'``).
    fit_intercept : bool, default=True
        Whether to fit an unpenalised output bias, as in
        :class:`RandomFeatureReLURegressor`.
    random_state : int, RandomState instance or None, default=None
        Seeds the hidden units, as in :class:`RandomFeatureReLURegressor`.
    verbose : int, default=0
        1 prints the number of candidates scored and the choice, 2 and more
        also every candidate's score, in ``GridSearchCV``'s style.

    Attributes
    ----------
    alpha_ : float
    n_iter_ : int or None
        Selected number of steps (``'gd'``).
    cv_results_ : dict of ndarrays
        ``'param_alpha'``, ``'param_n_iter'`` (``'gd'``) and
        ``'mean_squared_error'``: the leave-one-out (or GCV) mean squared error
        of every grid value, weighted by ``sample_weight`` (summed over the
        outputs).  On the default grid it is ``inf`` where a leverage reaches
        one in floating point (its nearly interpolating end): never selected.
    algorithm_ : str
        ``'knots'`` (the exact 1-D engine) or ``'eigendecomposition'``.
    best_score_ : float
        Minus the best mean squared error.
    coef_, intercept_, hidden_weights_, hidden_bias_, learning_rate_, ...
        As in :class:`RandomFeatureReLURegressor`, for the selected values.

    See Also
    --------
    RandomFeatureReLURegressor : The network at a fixed ``alpha`` and ``max_iter``.
    SmoothingSplineEquivalent : The infinite-width limit in 1-D, with the same ``alpha``.

    Notes
    -----
    Choosing the stopping time of gradient descent plays the part of choosing
    the smoothing parameter of a spline: in the wide limit, early-stopped
    gradient descent on the output layer corresponds to a smoothing spline
    (Heiss et al. [1]_, Jin and Montufar [2]_).

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

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import RandomFeatureReLURegressorCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, (60, 1))
    >>> y = np.sin(2 * X[:, 0]) + 0.2 * rng.standard_normal(60)
    >>> cv = RandomFeatureReLURegressorCV(solver="gd", max_iter=300, random_state=0).fit(X, y)
    >>> 1 <= cv.n_iter_ <= 300
    True
    """

    _parameter_constraints = {
        "alphas": ["array-like", None],
        "stopping_times": ["array-like", None],
        "criterion": [StrOptions({"loo", "gcv"})],
        "solver": [StrOptions({"ridge", "gd"})],
        **{
            name: RandomFeatureReLURegressor._parameter_constraints[name]
            for name in ("n_hidden", "init", "learning_rate", "max_iter", "fit_intercept", "random_state", "verbose")
        },
    }

    def __init__(
        self,
        alphas=None,
        stopping_times=None,
        criterion="loo",
        solver="ridge",
        n_hidden=1000,
        init="gaussian",
        learning_rate="auto",
        max_iter=1000,
        fit_intercept=True,
        random_state=None,
        verbose=0,
    ):
        self.alphas = alphas
        self.stopping_times = stopping_times
        self.criterion = criterion
        self.solver = solver
        self.n_hidden = n_hidden
        self.init = init
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.verbose = verbose

    # parameters of the parent that the CV estimator fixes
    potential = "quadratic"
    early_stopping = False
    tol = None
    algorithm = "auto"
    alpha = None

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Fit on the grid, select by leave-one-out (or GCV), keep the selected network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 is kept, anything else becomes float64).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors, in the fit and in the
            leave-one-out (or GCV) error; None weighs the samples equally.

        Returns
        -------
        self : object
            The fitted regressor, with the selected ``alpha_`` and ``n_iter_``.
        """
        X, y, sw = self._validate_X_y(X, y, sample_weight)
        unit, top = unit_weights(sw)
        n_positive = int(np.count_nonzero(unit))
        if n_positive < 3:
            raise ValueError(
                f"Leave-one-out needs at least 3 samples with positive sample_weight; got {n_positive} "
                f"(of n_samples={X.shape[0]}). Give more samples a positive weight."
            )
        # None: the ladder of ridge penalties the data set (built below), or no penalty for gd
        alphas = None if self.alphas is None and self.solver == "ridge" else np.asarray(
            (0.0,) if self.alphas is None else self.alphas, dtype=np.float64).reshape(-1)
        if alphas is not None and (alphas.size == 0 or np.any(alphas < 0) or not np.all(np.isfinite(alphas))):
            raise ValueError(f"alphas must be a non-empty list of non-negative numbers; got {alphas}.")
        if alphas is not None and self.solver == "ridge" and self.criterion == "loo" and np.any(alphas == 0):
            raise ValueError("alpha=0 makes ridge interpolate, so leave-one-out is undefined; use alphas > 0.")
        # cv_results_ keeps three numbers per grid value; the scores are computed
        # in blocks of stopping times, so that is what grows with max_iter
        n_alphas = _selection.MAX_DECADES * _selection.PER_DECADE if alphas is None else alphas.size
        n_grid = n_alphas * (1 if self.solver == "ridge" else
                             self.max_iter if self.stopping_times is None else np.size(self.stopping_times))
        require_memory(4 * 8 * n_grid, f"cv_results_ for {n_grid} grid values",
                       "Pass stopping_times, for example np.unique(np.geomspace(1, max_iter, 40).astype(int)).")
        steps = self._stopping_times() if self.solver == "gd" else None
        y2 = y.reshape(len(y), -1)
        rng = check_random_state(self.random_state)
        features = self._draw_features(X, rng)
        out = None
        if self.solver == "ridge" and self._use_knots(X, features) and (alphas is None or np.all(alphas > 0)):
            out = self._ridge_knots(X, y2, unit, top, features, alphas)
        if out is None:  # several features, or the exact 1-D engine could not certify a fit it needs
            out = self._cv_dense(X, y2, unit, top, features, alphas, steps)
        result, alphas, mse = out
        if self.solver == "ridge":
            results = {"param_alpha": alphas, "mean_squared_error": mse}
        else:
            results = {"param_alpha": np.repeat(alphas, steps.size),
                       "param_n_iter": np.tile(steps, alphas.size),
                       "mean_squared_error": mse.ravel()}
        self._publish(features, result, y)
        self.alpha_ = float(alphas[np.unravel_index(int(np.argmin(mse)), mse.shape)[0]])
        self.cv_results_ = results
        self.best_score_ = -float(np.min(mse))
        if self.verbose:
            self._report(results)
        return self

    def _report(self, results):
        """The grid's scores (``verbose >= 2``) and the choice, in ``GridSearchCV``'s style."""
        name = type(self).__name__
        if self.verbose >= 2:
            for i, score in enumerate(results["mean_squared_error"]):
                grid = ", ".join(f"{key[6:]}={results[key][i]:.4g}" for key in results if key.startswith("param_"))
                print(f"[{name}] {grid}; {self.criterion}={score:.6g}")
        chosen = f"alpha={self.alpha_:.4g}" + (f", n_iter={self.n_iter_}" if self.solver == "gd" else "")
        print(f"[{name}] {results['mean_squared_error'].size} candidates scored by {self.criterion}; "
              f"best {chosen} ({self.criterion}={-self.best_score_:.6g})", flush=True)

    def _checked_scores(self, mse, default):
        """The scores, refused when not finite on a grid the caller gave; on the default
        grid a leverage of one in floating point (its nearly interpolating end) makes
        a score infinite, never chosen."""
        if default:
            mse = np.where(np.isfinite(mse), mse, np.inf)
            if np.all(np.isinf(mse)):
                raise ValueError(
                    "No leave-one-out (or GCV) score on the default grid is finite (data at the limit of "
                    "floating point?); standardize X and y."
                )
            return mse
        if not np.all(np.isfinite(mse)):
            raise ValueError(
                "The leave-one-out scores are not finite (a sample with leverage 1, or data at the limit "
                "of floating point); standardize X and y, or use criterion='gcv'."
            )
        return mse

    def _ridge_knots(self, X, y, unit, top, features, alphas):
        """Ridge over the grid on 1-D inputs with the exact engine, never the features.

        Every ``alpha`` is one pass of the compiled filter and smoother on the
        pooled inputs (:meth:`.spline._Criteria.scores`, ``O(m)`` after the
        knots' moments, ``O(m + n)``); leave-one-out and GCV follow exactly from
        its fitted values and leverages (a tied sample's leverage is its share of
        its group's, zero weights count for nothing).  The selected ``alpha`` is
        then solved by the engine, whose certificate checks the network.
        The weights are read relative to their largest (``unit``), and ``alpha``
        with them, so no sum of raw weights can overflow.  The default grid is
        the ladder of :func:`._selection.ladder`, scaled by the weighted trace of
        the network's kernel and run to near its rank (:func:`_network_rank`).

        Returns ``(FitResult, alphas, scores)``, or None when the selected
        fit fails the engine's certificate; the dense solvers then fit the whole
        grid.  On the default grid a failure near the interpolating end (where a
        network with knot-free gaps between the inputs is a least-squares
        problem too ill-conditioned to certify) ends the grid before the failed
        rung, and the best of the rungs above is taken, unless it is the last of
        them, so that the minimum may lie beyond.
        """
        x = X[:, 0].astype(np.float64)
        Y = y.astype(np.float64)
        xs, Ym, weights, group = pool_ties(x, Y, unit, return_group=True)
        if len(xs) < 3:
            return None
        if alphas is not None:
            units = alphas / top
            if not np.all(np.isfinite(units)):
                return None  # the dense path names the overflow
        net = _KnotNetwork(features, self.n_hidden)
        crit = _Criteria(Y, unit, xs, Ym, weights, group, net.measure, _exact1d.network_affine(self.fit_intercept))
        tried, scores = [], []

        def evaluate(batch):
            sc = crit.scores(batch, self.criterion)
            tried.extend(batch)
            scores.extend(sc.values.sum(axis=1))  # summed over the outputs, as the dense path
            return sc.df

        if alphas is None:
            _selection.ladder(penalty_scale(weights, net.kernel_diagonal(xs)), evaluate,
                              net.rank(xs, self.fit_intercept))
        else:
            evaluate(units)
        tried, scores = np.asarray(tried), np.asarray(scores)
        if alphas is not None and not np.all(np.isfinite(scores)):
            return None  # a given grid needs every score: the dense path decides (and names the failure)
        while True:
            best = int(np.argmin(scores))  # the first of equal scores, as argmin
            try:
                fit = crit.solve(float(tried[best]), leverages=False)
                break
            except _exact1d.InaccurateFit:
                # the engine cannot certify a fit this close to interpolation, so the
                # scores from here on are not trusted either: the grid ends before it
                if alphas is not None or best == 0:
                    return None
                tried, scores = tried[:best], scores[:best]
                if int(np.argmin(scores)) == best - 1:  # the minimum may lie beyond: the dense path decides
                    return None
        mse = self._checked_scores(scores, alphas is None)
        return net.result(fit), (tried * top if alphas is None else alphas), mse

    def _cv_dense(self, X, y, unit, top, features, alphas, steps):
        """The whole grid from one eigendecomposition of the design: ``(FitResult,
        alphas, scores)``, ``scores`` of shape (n_alphas,) for ridge and
        (n_alphas, n_steps) for gradient descent."""
        design, rows = self._cv_design(X, y, unit, top, features)
        # the dual form needs V only for the selected coefficients: A^T U then costs one pass
        spec = _solvers.spectrum(design, need_U=self.criterion == "loo", need_V=False)
        default = alphas is None
        if default:
            units = self._dense_ladder(design, spec, top)
            alphas = units * top
            # alpha / sum(w) from the rungs in unit weights: sum(w) itself may overflow
            mus = units / (design.weight_total * (design.weight_scale / top))
        else:
            mus = np.array([design.penalty(a) for a in alphas])
        eta = n_iter = None
        if self.solver == "ridge":
            mse = self._checked_scores(self._ridge_scores(design, spec, mus, rows), default)
            best = int(np.argmin(mse))
            coef = spec.combine((np.sqrt(spec.eigvals) / (spec.eigvals + mus[best]))[:, None] * spec.d, design)
        else:
            eta = self._cv_step(spec, mus)
            mse = self._checked_scores(self._gd_scores(design, spec, eta, mus, rows, steps), False)
            a_best, t_best = np.unravel_index(int(np.argmin(mse)), mse.shape)
            n_iter = int(steps[t_best])
            coef = spec.combine(_solvers.GDPath(spec, eta, mus[a_best]).range_coords([n_iter])[0], design)
        result = FitResult(coef=coef, intercept=design.intercept(coef.astype(design.dtype)),
                           algorithm_="eigendecomposition", n_iter_=n_iter, learning_rate_=eta)
        return result, alphas, mse

    def _dense_ladder(self, design, spec, top):
        """The default ridge grid of the design, in unit weights (``alpha / max(w)``).

        :func:`._selection.ladder` with ``df(mu) = sum eig / (eig + mu)`` (plus
        the intercept) from the spectrum already computed, up to its rank, and
        the scale ``sum_i w_i K(x_i, x_i)`` with ``K(x, x) = |phi(x)|^2`` the
        squared norm of the (uncentred) features: the weighted mean of it is
        ``|A|_F^2 + |phi_bar|^2`` (the centred rows and their weighted mean), one
        pass over the design's chunks and never the features at once.
        """
        mean_diag = sum(float(np.einsum("ij,ij->", Ac, Ac, dtype=np.float64)) for _, Ac in design.chunks())
        phi_mean = design.phi_mean.astype(np.float64)
        mean_diag += float(phi_mean @ phi_mean)
        total = design.weight_total * (design.weight_scale / top)  # the sum of the unit weights
        icpt = 1.0 if design.fit_intercept else 0.0

        def df_of(units):
            mu = np.asarray(units)[:, None] / total
            return np.sum(spec.eigvals[None] / (spec.eigvals[None] + mu), axis=1) + icpt

        return _selection.ladder(penalty_scale(total, mean_diag), df_of, spec.eigvals.size + icpt)[0]

    def _cv_design(self, X, y, unit, top, features):
        """The design and the leave-one-out classes (:class:`_solvers.LooRows`).

        Tied 1-D inputs become one row of the design with their summed weight
        and weighted mean target (``_exact1d.network.pool_ties``), which leaves ``A^T A``
        and ``A^T b`` unchanged; the spread of the targets within a row is a
        constant of every loss, and the left-out residual of each sample
        follows from its class (row and weight).  So the cost depends on the
        number of distinct inputs, not of samples.
        """
        W, bias = features.weights_, features.bias_
        if X.shape[1] != 1:
            design = Design(X, W, bias, y, unit, self.fit_intercept, weight_unit=top)
            return design, _solvers.LooRows.of_design(design)
        x = X[:, 0].astype(np.float64)
        xs, Ym, w_pooled = pool_ties(x, y.astype(np.float64), unit)
        if len(xs) == len(x):
            design = Design(X, W, bias, y, unit, self.fit_intercept, weight_unit=top)
            return design, _solvers.LooRows.of_design(design)
        design = Design(xs.astype(X.dtype)[:, None], W, bias, Ym, w_pooled, self.fit_intercept, weight_unit=top)
        keep = np.flatnonzero(unit > 0)
        group, w, Y = np.searchsorted(xs, x[keep]), unit[keep], y[keep].astype(np.float64)
        order = np.lexsort((w, group))
        group, w, Y = group[order], w[order], Y[order]
        new = np.flatnonzero(np.diff(group) | (np.diff(w) != 0)) + 1
        starts = np.concatenate([[0], new])
        count = np.diff(np.append(starts, len(group)))
        mean = np.add.reduceat(Y, starts, axis=0) / count[:, None]
        cls = np.repeat(np.arange(len(starts)), count)
        total = float(np.sum(w))
        within = np.add.reduceat((w / total)[:, None] * (Y - mean[cls]) ** 2, starts, axis=0)
        rows = _solvers.LooRows(group[starts], w[starts] / np.max(w_pooled),  # the design's unit weights
                                mean - design.y_mean.astype(np.float64), count * w[starts] / total,
                                within, len(keep))
        return design, rows

    def _stopping_times(self):
        if self.stopping_times is None:
            return np.arange(1, self.max_iter + 1)
        steps = np.asarray(self.stopping_times)
        if steps.ndim != 1 or steps.size == 0 or not np.all(steps == np.round(steps)) or np.any(steps < 1):
            raise ValueError(f"stopping_times must be a non-empty list of positive integers; got {self.stopping_times!r}.")
        return np.unique(steps.astype(np.int64))

    def _cv_step(self, spec, mus):
        # the largest penalty has the largest Hessian: a step stable there is stable on the grid
        return self._step_size(spec.eigval_max + float(np.max(mus)), Quadratic())

    def _ridge_scores(self, design, spec, mus, rows):
        if self.criterion == "loo":
            return _solvers.loo_ridge_mse(design, spec, mus, rows)
        return self._gcv(spec, spec.eigvals[None] / (spec.eigvals[None] + mus[:, None]), design, rows)

    def _gd_scores(self, design, spec, eta, mus, rows, steps):
        out = []
        for mu in mus:
            if self.criterion == "loo":
                out.append(_solvers.loo_gd_mse(design, spec, eta, mu, steps, rows))
            else:
                # in blocks of steps: the filters are len(steps) x rank
                width = max(1, _solvers.BLOCK_ENTRIES // max(1, spec.eigvals.size))
                out.append(np.concatenate([
                    self._gcv(spec, spec.eigvals[None] * _solvers.gd_filter(spec.eigvals, eta, mu, steps[lo : lo + width]),
                              design, rows)
                    for lo in range(0, steps.size, width)]))
        return np.asarray(out)

    def _gcv(self, spec, f, design, rows):
        """GCV = (weighted mean squared residual) / (1 - df / m)^2 for filters ``f`` (g, r).

        ``m`` counts the samples of positive weight; pooled ties add their
        spread around the row's mean to the residual and nothing to ``df``
        (the trace of the hat matrix is the same pooled or not).
        """
        res2 = np.einsum("gr,rk->g", (1 - f) ** 2, spec.d**2) + np.sum(spec.resid2)
        if rows.within is not None:
            res2 = res2 + float(np.sum(rows.within))
        df = f.sum(axis=1) + (1.0 if design.fit_intercept else 0.0)
        return res2 / (1.0 - df / rows.n_samples) ** 2
