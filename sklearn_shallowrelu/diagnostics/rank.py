"""How low-rank the hidden layer of a fitted network is (dynamics.md sections 3, 4, 5, 7 and 8.2).

The definitions are pure functions of arrays (:func:`rank_measures`,
:func:`hidden_matrix`, :func:`active_neurons`, :func:`cluster_directions`, ...);
:class:`RankDiagnostics` is a thin scikit-learn meta-transformer that fits (or
takes) a network of the package, reads it with
:func:`~sklearn_shallowrelu.diagnostics.network_parameters` and stores every
diagnostic as a fitted attribute.  :func:`~sklearn_shallowrelu.diagnostics.diagnostic_scorer` turns one attribute into
a scorer for ``GridSearchCV``.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, _fit_context
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ..activations import get_activation
from ._model import diagnosed_model, hidden_inputs, network_parameters

__all__ = [
    "RankDiagnostics",
    "rank_measures",
    "hidden_matrix",
    "active_neurons",
    "unit_directions",
    "pairwise_angles",
    "cluster_directions",
    "cover_count",
    "feature_map_1d",
    "balance",
]

# activations that are exactly zero for a non-positive pre-activation: a unit
# that is non-positive on every training input is dead and does not count
_DEAD_BELOW_ZERO = {"relu"}


# --------------------------------------------------------------------------- pure definitions
def rank_measures(singular_values, tol=1e-6):
    """Rank measures of a matrix from its singular values (dynamics.md section 7).

    Parameters
    ----------
    singular_values : array-like of shape (r,)
        Non-negative, in any order.
    tol : float, default=1e-6
        Relative tolerance of the numerical rank.

    Returns
    -------
    dict with
        ``'singular_values'`` (sorted in decreasing order),
        ``'numerical_rank'``: ``#{sigma_i > tol * sigma_1}``,
        ``'stable_rank'``: ``sum sigma_i^2 / sigma_1^2``,
        ``'effective_rank'``: ``exp(-sum p_i log p_i)`` with ``p_i = sigma_i / sum sigma``
        and ``0 log 0 = 0`` (Roy and Vetterli),
        ``'nuclear_norm'``: ``sum sigma_i``,
        ``'explained_variance_ratio'``: ``sigma_i^2 / sum sigma^2`` (uncentred PCA).

    For a nonzero matrix ``1 <= effective_rank``, ``1 <= stable_rank`` and both
    are at most the exact rank (and at most ``numerical_rank`` up to terms of
    order ``tol`` from singular values below the tolerance).  For the zero
    matrix every measure is 0 and the ratios are all 0.

    Examples
    --------
    >>> m = rank_measures([2.0, 2.0, 0.0])
    >>> m["numerical_rank"], m["stable_rank"], round(m["effective_rank"], 12)
    (2, 2.0, 2.0)
    """
    s = np.sort(np.abs(np.asarray(singular_values, dtype=np.float64).ravel()))[::-1]
    if s.size == 0 or s[0] == 0:
        zero = np.zeros_like(s)
        return {"singular_values": s, "numerical_rank": 0, "stable_rank": 0.0, "effective_rank": 0.0,
                "nuclear_norm": 0.0, "explained_variance_ratio": zero}
    nuclear = float(np.sum(s))
    p = s / nuclear
    nz = p > 0
    entropy = -float(np.sum(p[nz] * np.log(p[nz])))
    sq = s**2
    return {
        "singular_values": s,
        "numerical_rank": int(np.sum(s > tol * s[0])),
        "stable_rank": float(np.sum(sq) / sq[0]),
        "effective_rank": float(np.exp(entropy)),
        "nuclear_norm": nuclear,
        "explained_variance_ratio": sq / np.sum(sq),
    }


def _row_norm(a):
    a = np.asarray(a, dtype=np.float64)
    return np.abs(a) if a.ndim == 1 else np.linalg.norm(a, axis=1)


def hidden_matrix(W, b, v=None, use_bias=True, rescale="none"):
    """The matrix whose rank is measured: ``W`` or ``[W | b]``, optionally balanced.

    ``rescale='balanced'`` multiplies unit ``k``'s ``(w_k, b_k)`` by
    ``alpha_k = sqrt(|v_k| / |(w_k, b_k)|)`` (and would divide ``v_k`` by it), the
    rescaling that leaves a positively homogeneous network unchanged and makes
    ``|v_k| = |(w_k, b_k)|``; the rows of ``[W | b]`` then have norm
    ``sqrt(|v_k| |(w_k, b_k)|)``.  With ``use_bias=False`` the ``W`` columns of
    the rescaled rows are returned.  ``|v_k|`` is the Euclidean norm of row ``k``
    for several outputs; units with ``(w_k, b_k) = 0`` give zero rows.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    M = np.column_stack([W, b])
    if rescale == "balanced":
        if v is None:
            raise ValueError("rescale='balanced' needs the output weights v.")
        norm = np.linalg.norm(M, axis=1)
        safe = np.where(norm > 0, norm, 1.0)
        M = M * np.where(norm > 0, np.sqrt(_row_norm(v) / safe), 0.0)[:, None]
    elif rescale != "none":
        raise ValueError(f"rescale must be 'none' or 'balanced'; got {rescale!r}.")
    return M if use_bias else M[:, :-1]


def active_neurons(W, b, v, X=None, activation="relu", use_bias=True, tol=1e-3):
    """Boolean mask of the active hidden units.

    Unit ``k`` is active when (i) the norm of its hidden vector (``(w_k, b_k)``,
    or ``w_k`` with ``use_bias=False``) exceeds ``tol`` times the largest such
    norm, (ii) its output weight ``|v_k|`` exceeds ``tol`` times the largest, and
    (iii) for ``activation='relu'`` and given ``X``, it is positive on at least
    one input: ``max_i w_k . x_i + b_k > 0``.  Condition (iii) is skipped for
    activations that are not zero on the negative half-line (leaky ReLU,
    absolute value, smooth ones).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    rows = np.column_stack([W, b]) if use_bias else W
    norm, vnorm = np.linalg.norm(rows, axis=1), _row_norm(v)
    mask = (norm > tol * np.max(norm, initial=0.0)) & (vnorm > tol * np.max(vnorm, initial=0.0))
    if X is not None and activation in _DEAD_BELOW_ZERO:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] > 0:
            mask &= np.max(X @ W.T + b, axis=0) > 0
    return mask


def unit_directions(M):
    """Rows of ``M`` divided by their norms (zero rows stay zero)."""
    M = np.asarray(M, dtype=np.float64)
    norm = np.linalg.norm(M, axis=1, keepdims=True)
    return np.divide(M, norm, out=np.zeros_like(M), where=norm > 0)


def pairwise_angles(U):
    """``(max, mean)`` of ``arccos(u_i . u_j)`` in degrees over pairs ``i < j`` of unit rows.

    Both are 0.0 with fewer than two rows (no spread).
    """
    U = np.asarray(U, dtype=np.float64)
    if U.shape[0] < 2:
        return 0.0, 0.0
    i, j = np.triu_indices(U.shape[0], k=1)
    angles = np.degrees(np.arccos(np.clip(np.sum(U[i] * U[j], axis=1), -1.0, 1.0)))
    return float(np.max(angles)), float(np.mean(angles))


def cluster_directions(U, threshold=0.98, lines=False):
    """Greedy clustering of unit vectors by angle.

    Repeatedly take the unassigned vector with the most unassigned neighbours
    (``u_i . u_j >= threshold``, or ``|u_i . u_j| >= threshold`` with
    ``lines=True``; ties to the lowest index) and make it and its unassigned
    neighbours one cluster.  Every cluster lies in the cap of half-angle
    ``arccos(threshold)`` around its centre (around the centre's line for lines).

    Returns
    -------
    labels : ndarray of int, shape (n,)
        Clusters numbered by decreasing size (ties by first appearance).
    """
    U = np.asarray(U, dtype=np.float64)
    n = U.shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    S = U @ U.T
    A = (np.abs(S) if lines else S) >= threshold
    np.fill_diagonal(A, True)
    labels = np.full(n, -1)
    free = np.ones(n, dtype=bool)
    k = 0
    while free.any():
        degree = np.where(free, A[:, free].sum(axis=1), -1)
        centre = int(np.argmax(degree))
        members = free & A[centre]
        labels[members] = k
        free &= ~members
        k += 1
    sizes = np.bincount(labels)
    first = np.array([np.flatnonzero(labels == c)[0] for c in range(k)])
    rank = np.empty(k, dtype=int)
    rank[np.lexsort((first, -sizes))] = np.arange(k)
    return rank[labels]


def cover_count(labels, fraction=0.8):
    """Fewest clusters (largest first) that together hold ``fraction`` of the points (0 if none)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return 0
    sizes = np.sort(np.bincount(labels))[::-1]
    return int(np.searchsorted(np.cumsum(sizes), fraction * labels.size - 1e-9) + 1)


def _n_large(labels, min_frac):
    labels = np.asarray(labels)
    if labels.size == 0:
        return 0
    return int(np.sum(np.bincount(labels) >= min_frac * labels.size - 1e-12))


def feature_map_1d(w, b):
    """Zhou et al.'s 1-D feature map ``(theta_k, A_k)``, shape (n, 2).

    ``theta_k = sign(b_k) arccos(w_k / A_k)`` (taking ``sign(0) = +1``, which is
    ``atan2(b_k, w_k)``) and ``A_k = sqrt(w_k^2 + b_k^2)``.
    """
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return np.column_stack([np.arctan2(b, w), np.hypot(w, b)])


def balance(W, b, v):
    """``v_k^2 - |(w_k, b_k)|^2`` per unit (``|v_k|^2`` summed over outputs).

    Conserved by gradient flow for positively homogeneous activations (ReLU,
    leaky ReLU, absolute value) whatever the output scale, when ``v`` is the
    trained output parameter (Chistikov et al., Prop. 1); zero for a balanced
    network.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return _row_norm(v) ** 2 - np.sum(W**2, axis=1) - b**2


# --------------------------------------------------------------------------- estimator
class RankDiagnostics(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Rank, alignment and condensation of the hidden layer of a network, as a transformer.

    ``fit(X, y)`` fits a clone of ``estimator`` (or, with ``prefit=True``, takes
    the fitted ``estimator`` as is, like
    :class:`~sklearn.feature_selection.SelectFromModel`), reads its parameters
    ``f(x) = sum_k v_k act(w_k . x + b_k) + c`` with
    :func:`~sklearn_shallowrelu.diagnostics.network_parameters` and stores the
    diagnostics below.  ``transform(X)`` returns the hidden activations
    ``act(X W^T + b)`` (the learned features), one column per hidden unit.

    Parameters
    ----------
    estimator : estimator, default=None
        A network of the package (``ShallowReLURegressor``,
        ``RandomFeatureReLURegressor``, ``RandomFeatureReLURegressorCV``, or a
        ``Pipeline`` ending with one, whose earlier steps are then applied to
        ``X``).  ``None`` means ``ShallowReLURegressor()``.
    prefit : bool, default=False
        Use the already fitted ``estimator`` (a deep copy is stored) instead of
        fitting a clone; ``X`` then only serves the activity test of the units.
    use_bias : bool, default=True
        Measure ``[W | b]`` (the hidden vectors ``(w_k, b_k)``) rather than ``W``,
        for the singular values, the angles and the clusters.
    rescale : {'none', 'balanced'}, default='none'
        ``'balanced'``: measure the balanced rescaling of the hidden rows,
        ``sqrt(|v_k| / |(w_k, b_k)|) (w_k, b_k)``, which does not change a
        positively homogeneous network (see :func:`hidden_matrix`).  Affects the
        singular values and rank measures only (angles are scale-free).
    rank_tol : float, default=1e-6
        Numerical rank tolerance, relative to the largest singular value.
    active_tol : float, default=1e-3
        Relative threshold of :func:`active_neurons`.
    cos_threshold : float, default=0.98
        Two active units share an orientation when the cosine of their hidden
        vectors is at least this, and a line when its absolute value is.
    min_cluster_frac : float, default=0.05
        Clusters holding fewer than this fraction of the active units are not
        counted in ``n_orientations_`` and ``n_lines_``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted network.
    singular_values_ : ndarray of shape (min(n_hidden, n_columns),)
        Of ``W`` or ``[W | b]`` (rescaled if asked), decreasing.
    numerical_rank_ : int
        ``#{sigma_i > rank_tol * sigma_1}``.
    stable_rank_ : float
        ``sum sigma_i^2 / sigma_1^2``.
    effective_rank_ : float
        ``exp(-sum p_i log p_i)``, ``p_i = sigma_i / sum sigma``.
    nuclear_norm_ : float
        ``sum sigma_i``.
    explained_variance_ratio_ : ndarray
        ``sigma_i^2 / sum sigma^2`` (uncentred PCA of the hidden rows).
    active_mask_ : ndarray of bool, shape (n_hidden,)
        See :func:`active_neurons` (activity is tested on the ``X`` given to ``fit``).
    n_active_ : int
    max_angle_, mean_angle_ : float
        Largest and mean pairwise angle, in degrees, between the hidden vectors
        of active units (0 with fewer than two).
    cosine_matrix_ : ndarray of shape (n_active_, n_active_)
        Cosines of the normalised hidden vectors of the active units, rows and
        columns in ``cluster_order_``.
    cluster_order_ : ndarray of int, shape (n_active_,)
        Indices of the active units sorted by line cluster, then orientation.
    cluster_labels_ : ndarray of int, shape (n_hidden,)
        Line cluster of each unit (0 is the largest), -1 for inactive units.
    orientation_labels_ : ndarray of int, shape (n_hidden,)
        Orientation cluster of each unit, -1 for inactive units.
    n_orientations_, n_lines_ : int
        Clusters (by ``cos >= cos_threshold``, resp. ``|cos| >= cos_threshold``)
        holding at least ``min_cluster_frac`` of the active units.
    lines_to_cover_80_ : int
        Fewest line clusters that hold 80% of the active units.
    feature_map_ : ndarray of shape (n_hidden, 2) or None
        One input feature: ``(theta_k, A_k)`` of :func:`feature_map_1d`; else None.
    balance_per_neuron_ : ndarray of shape (n_hidden,)
        ``v_k^2 - |(w_k, b_k)|^2`` (always with the bias), where ``v`` is the
        trained output parameter: ``output_weights_`` of a
        ``ShallowReLURegressor`` (before the output scale ``s``, which is 1 in the
        standard parametrisation); for other models the output weights of
        ``network_parameters``.  Conserved by gradient flow for ReLU, leaky
        ReLU and absolute value.
    balance_ : float
        ``max_k |balance_per_neuron_|``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    sklearn_shallowrelu.diagnostics.network_parameters : the parameter reader.
    diagnostic_scorer : one diagnostic as a ``GridSearchCV`` scorer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.diagnostics.rank import RankDiagnostics
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.abs(X[:, 0])
    >>> net = ShallowReLURegressor(n_hidden=8, max_iter=50, random_state=0)
    >>> rd = RankDiagnostics(net).fit(X, y)
    >>> rd.transform(X).shape
    (20, 8)
    >>> bool(1 <= rd.stable_rank_ <= rd.numerical_rank_ <= 2)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"]), None],
        "prefit": ["boolean"],
        "use_bias": ["boolean"],
        "rescale": [StrOptions({"none", "balanced"})],
        "rank_tol": [Interval(Real, 0, None, closed="left")],
        "active_tol": [Interval(Real, 0, 1, closed="left")],
        "cos_threshold": [Interval(Real, 0, 1, closed="right")],
        "min_cluster_frac": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, estimator=None, *, prefit=False, use_bias=True, rescale="none", rank_tol=1e-6,
                 active_tol=1e-3, cos_threshold=0.98, min_cluster_frac=0.05):
        self.estimator = estimator
        self.prefit = prefit
        self.use_bias = use_bias
        self.rescale = rescale
        self.rank_tol = rank_tol
        self.active_tol = active_tol
        self.cos_threshold = cos_threshold
        self.min_cluster_frac = min_cluster_frac

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit a clone of ``estimator`` on ``(X, y)`` (unless ``prefit``) and compute the diagnostics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Required to fit; with ``prefit=True`` it may be None.
        **fit_params : dict
            Passed to ``estimator.fit`` (not used with ``prefit=True``).

        Returns
        -------
        self
        """
        if self.prefit:
            Xv = validate_data(self, X, dtype=[np.float64, np.float32])
        else:
            Xv, _ = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True)
        self.estimator_ = diagnosed_model(self.estimator, self.prefit, X, y, self.n_features_in_, **fit_params)
        self._compute(hidden_inputs(self.estimator_, X, Xv))
        return self

    def _compute(self, Z):
        p = network_parameters(self.estimator_)
        last = self.estimator_[-1] if isinstance(self.estimator_, Pipeline) else self.estimator_
        W, b, v = p.W, p.b, p.v
        n = W.shape[0]
        self._params = (W, b, p.activation)
        self._n_features_out = n

        M = hidden_matrix(W, b, v, use_bias=self.use_bias, rescale=self.rescale)
        measures = rank_measures(np.linalg.svd(M, compute_uv=False), self.rank_tol)
        for key, value in measures.items():
            setattr(self, key + "_", value)

        mask = active_neurons(W, b, v, Z, p.activation, self.use_bias, self.active_tol)
        idx = np.flatnonzero(mask)
        U = unit_directions(hidden_matrix(W, b, use_bias=self.use_bias))[idx]
        self.active_mask_, self.n_active_ = mask, int(idx.size)
        self.max_angle_, self.mean_angle_ = pairwise_angles(U)

        lines = cluster_directions(U, self.cos_threshold, lines=True)
        orient = cluster_directions(U, self.cos_threshold, lines=False)
        order = np.lexsort((idx, orient, lines))
        self.cluster_order_ = idx[order]
        self.cluster_labels_ = np.full(n, -1)
        self.cluster_labels_[idx] = lines
        self.orientation_labels_ = np.full(n, -1)
        self.orientation_labels_[idx] = orient
        S = np.clip(U[order] @ U[order].T, -1.0, 1.0)
        S = (S + S.T) / 2
        np.fill_diagonal(S, 1.0)
        self.cosine_matrix_ = S
        self.n_lines_ = _n_large(lines, self.min_cluster_frac)
        self.n_orientations_ = _n_large(orient, self.min_cluster_frac)
        self.lines_to_cover_80_ = cover_count(lines, 0.8)

        self.feature_map_ = feature_map_1d(W[:, 0], b) if W.shape[1] == 1 else None
        scale = getattr(last, "output_scale_", None)
        v_param = v / scale if scale else v
        self.balance_per_neuron_ = balance(W, b, v_param)
        self.balance_ = float(np.max(np.abs(self.balance_per_neuron_), initial=0.0))

    def transform(self, X):
        """Hidden activations ``act(X W^T + b)``, shape (n_samples, n_hidden), float64."""
        check_is_fitted(self)
        Xv = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        W, b, activation = self._params
        return get_activation(activation).value(hidden_inputs(self.estimator_, X, Xv) @ W.T + b)

    def get_feature_names_out(self, input_features=None):
        """``['hidden0', 'hidden1', ...]``, one name per hidden unit."""
        check_is_fitted(self, "_n_features_out")
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"hidden{k}" for k in range(self._n_features_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = not self.prefit
        tags.target_tags.multi_output = True
        return tags
