"""The rich-regime limit in 1-D: the two-layer ReLU network of least parameter norm."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._atomic import atomic_fit
from ._exact1d.network import pool_ties
from ._minimum_norm import minimum_norm_fit

__all__ = ["MinimumNormNetwork"]


class MinimumNormNetwork(RegressorMixin, BaseEstimator):
    """The infinite-width limit of weight decay in 1-D: the ReLU network of least norm.

    Among all two-layer ReLU networks ``f(x) = sum_k v_k relu(w_k x + b_k) + c``
    of any width, it finds the one that minimises::

        sum_i s_i (f(x_i) - y_i)^2 + alpha * R(f)

    where ``s_i`` are the sample weights and ``R(f)`` is the least squared
    Euclidean norm ``sum_k (v_k^2 + w_k^2)`` (plus ``b_k^2`` with
    ``penalize_bias``) of a network that represents ``f``; with ``alpha = 0``,
    the interpolant of least ``R`` (for tied inputs, of the weighted mean
    target; Boursier et al. [3]_ give it in closed form for two points).  That is the objective of ``ShallowReLURegressor(alpha=alpha)``
    (its loss times ``2 sum_i s_i``) at the width where adding units no longer
    helps, so a network trained with weight decay can only reach this
    objective from above (Savarese et al. [1]_, Ongie et al. [2]_).

    ``R(f)`` of a network is, after balancing each unit (``|v_k| = |(w_k,
    b_k)|``), ``2 sum_k |a_k| sqrt(1 + c_k^2)`` (``2 sum_k |a_k|`` without bias
    penalty) over its kinks ``c_k = -b_k / w_k``, where ``f'`` jumps by ``a_k =
    v_k |w_k|``: a weighted total variation of ``f'``, plus what the units cost
    for the affine part of ``f`` (each unit adds an affine function on one side
    of its kink).  A constant is free with an output bias, or without bias
    penalty (a unit with ``w = 0`` and a large bias), and costs ``2 |c|``
    otherwise.

    Without bias penalty the kinks can be taken at the data.  With it they
    cannot: between two data points, a unit's values at the data are those of
    the two units at the neighbouring data points with the same jump, but
    ``sqrt(1 + c^2)`` is strictly convex, so a kink between the data is
    cheaper.  The solver therefore works with a continuum of candidate kinks
    (column generation with an exact, closed-form pricing in each gap, then
    Newton's method on the optimality conditions; ``doc/minimum_norm.md``).

    Parameters
    ----------
    alpha : float, default=0.0
        The weight decay, in the units of ``ShallowReLURegressor(alpha=...)``
        and ``MLPRegressor``; 0 gives the interpolant of least norm.
    penalize_bias : bool, default=False
        Whether the hidden biases count in the norm.
    fit_intercept : bool, default=True
        Whether the network has an output bias (a free constant).
    tol : float, default=1e-7
        Optimality tolerance: the search stops when no candidate unit has a
        dual price above ``1 + tol`` (1 is the price of the units in use).
    max_rounds : int, default=100
        Rounds of column generation at most.

    Attributes
    ----------
    knots_ : ndarray of shape (n_units,)
        The kinks ``c_k`` of the units, sorted.
    directions_ : ndarray of shape (n_units,)
        +1 for a unit active right of its kink (``w_k > 0``), -1 on the left.
    slope_jumps_ : ndarray of shape (n_units,)
        The jump ``a_k`` of ``f'`` at each kink.
    intercept_ : float
        The constant of ``f``: ``f(x) = intercept_ + sum_k a_k relu(s_k (x -
        c_k))``.
    hidden_weights_, hidden_bias_, output_weights_ : ndarray
        A balanced network of the units: with ``intercept_`` as its output
        bias it realises ``f``.  Its squared norm is ``norm_``, less what the
        constant costs when it is paid for (``2 |intercept_|``, the norm of a
        unit with ``w = 0``, ``b = sqrt(|c|)`` and ``v = sign(c) sqrt(|c|)``,
        when the biases are penalised and there is no output bias; without
        bias penalty a constant is free, as the limit of a large bias).
    norm_ : float
        ``R(f)``, the least squared parameter norm.
    objective_ : float
        ``(sum_i s_i r_i^2 + alpha R(f)) / (2 sum_i s_i)``, the loss of
        ``ShallowReLURegressor``'s convention at this network (``R(f)`` when
        ``alpha = 0``).
    n_rounds_ : int
        Rounds of column generation.
    dual_violation_ : float
        The largest dual price of any candidate unit at the end (at most
        ``1 + tol`` at an optimum; a degenerate interpolation problem can end
        with a higher one when its objective no longer decreases).
    n_features_in_ : int
        Always 1.

    See Also
    --------
    ShallowReLURegressor : The finite network, trained with weight decay ``alpha``.
    SmoothingSplineEquivalent : The limit of random-feature networks (the lazy regime).

    References
    ----------
    .. [1] P. Savarese, I. Evron, D. Soudry and N. Srebro, "How do infinite width
       bounded norm networks look in function space?", Conference on Learning
       Theory (COLT 2019). https://arxiv.org/abs/1902.05040
    .. [2] G. Ongie, R. Willett, D. Soudry and N. Srebro, "A function space view
       of bounded norm infinite width ReLU nets: the multivariate case",
       International Conference on Learning Representations (ICLR 2020).
       https://arxiv.org/abs/1910.01635
    .. [3] E. Boursier, L. Pillaud-Vivien and N. Flammarion, "Gradient flow
       dynamics of shallow ReLU networks for square loss and orthogonal
       inputs", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2206.00939

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import MinimumNormNetwork
    >>> X, y = np.array([[-0.5], [2.0]]), np.array([-1.0, 1.0])
    >>> net = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit(X, y)
    >>> round(net.norm_, 6)  # 2 (sqrt(0.2) + sqrt(0.8)), Boursier et al.
    2.683282
    >>> net.knots_, net.slope_jumps_
    (array([-0.5,  2. ]), array([ 0.4, -0.4]))
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalize_bias": ["boolean"],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, alpha=0.0, penalize_bias=False, fit_intercept=True, tol=1e-7, max_rounds=100):
        self.alpha = alpha
        self.penalize_bias = penalize_bias
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_rounds = max_rounds

    @classmethod
    def from_estimator(cls, estimator, **params):
        """The minimum-norm limit of a ``ShallowReLURegressor`` with weight decay.

        ``ShallowReLURegressor(alpha=alpha)`` with output scale ``s`` (1, or
        ``1/sqrt(n)`` and ``1/n`` for the NTK and mean-field parametrisations)
        pays ``R(f) / s`` for a function ``f``, so its limit has ``alpha / s``;
        ``penalize_bias`` and ``fit_intercept`` carry over.  With ``alpha = 0``
        it is the interpolant of least norm, the function small-initialisation
        training is biased towards in the settings where that is proved
        (Boursier et al., cited in the class's References), not a limit of
        every run.

        Parameters
        ----------
        estimator : ShallowReLURegressor
            A network with the ReLU activation, fitted or not.
        **params : dict
            Overrides of the mapped parameters.

        Returns
        -------
        MinimumNormNetwork
            The limit estimator, unfitted.

        Raises
        ------
        TypeError
            If ``estimator`` is not a ``ShallowReLURegressor``.
        ValueError
            If its activation is not ReLU.

        Examples
        --------
        >>> from sklearn_shallowrelu import MinimumNormNetwork, ShallowReLURegressor
        >>> MinimumNormNetwork.from_estimator(ShallowReLURegressor(alpha=0.1, penalize_bias=True))
        MinimumNormNetwork(alpha=0.1, penalize_bias=True)
        """
        from .shallow import _OUTPUT_SCALE, ShallowReLURegressor

        if not isinstance(estimator, ShallowReLURegressor):
            raise TypeError(f"from_estimator maps a ShallowReLURegressor; got {type(estimator).__name__}.")
        if estimator.activation != "relu":
            raise ValueError(f"The minimum-norm network is that of ReLU units; the estimator uses "
                             f"activation={estimator.activation!r}.")
        s = _OUTPUT_SCALE[estimator.parametrization](estimator.n_hidden)
        mapped = dict(alpha=estimator.alpha / s, penalize_bias=estimator.penalize_bias,
                      fit_intercept=estimator.fit_intercept)
        mapped.update(params)
        return cls(**mapped)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Find the minimum-norm network.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Inputs.
        y : array-like of shape (n_samples,)
            Targets (one output: the norm of a network with several outputs
            couples them, which this solver does not do).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights ``s_i`` of the squared errors.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if np.ndim(y) == 2 and np.shape(y)[1] > 1:
            raise ValueError(
                f"MinimumNormNetwork fits one output; y has {np.shape(y)[1]} columns. The norm of a network "
                "with several outputs couples them (its units are shared); for one network per output, use "
                "sklearn.multioutput.MultiOutputRegressor(MinimumNormNetwork(...)).")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True)
        if X.shape[1] != 1:
            raise ValueError(f"MinimumNormNetwork is for one input feature; X has {X.shape[1]}.")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        xs, ym, ws = pool_ties(X[:, 0].astype(np.float64), y.astype(np.float64).reshape(-1, 1), sw)
        free = self.fit_intercept or not self.penalize_bias
        sol = minimum_norm_fit(xs, ym[:, 0], ws, float(self.alpha), self.penalize_bias, free, self.tol,
                               self.max_rounds)
        self.knots_, self.directions_, self.slope_jumps_ = sol.knots, sol.directions, sol.jumps
        self.intercept_ = float(sol.constant)
        self.norm_ = float(sol.cost)
        r = sol.predict(X[:, 0].astype(np.float64)) - y
        total = float(np.sum(sw))
        self.objective_ = self.norm_ if self.alpha == 0 else float(sw @ (r * r) + self.alpha * self.norm_) / (2 * total)
        self.n_rounds_, self.dual_violation_ = int(sol.rounds), float(sol.violation)
        self._set_network(sol)
        return self

    def _set_network(self, sol):
        """A balanced network with these kinks: ``relu(w x + b) = t relu(s (x - c))`` with
        ``w = s t``, ``b = -s t c``, and ``v = a / t``, ``t`` chosen so that ``v^2 =
        w^2 + b^2`` (or ``w^2``): its squared norm is then ``omega(c) |a|``."""
        c, s, a = sol.knots, sol.directions, sol.jumps
        denom = np.sqrt(1.0 + c * c) if self.penalize_bias else np.ones_like(c)
        t = np.sqrt(np.abs(a) / denom)
        W, b, v = s * t, -s * t * c, a / np.where(t > 0, t, 1.0)
        self.hidden_weights_, self.hidden_bias_, self.output_weights_ = W.reshape(-1, 1), b, v

    def predict(self, X):
        """The network at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``intercept_ + sum_k a_k relu(s_k (x - c_k))``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        x = X[:, 0].astype(np.float64)
        out = self.intercept_ + np.maximum(self.directions_ * (x[:, None] - self.knots_), 0.0) @ self.slope_jumps_
        return out.astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        return tags
