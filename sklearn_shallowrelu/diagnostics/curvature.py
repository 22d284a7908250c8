"""Minima-stability diagnostics of a fitted shallow ReLU network.

Gradient descent with step ``eta`` can only stay at a minimum whose sharpness
(top eigenvalue of the loss Hessian) is at most ``2 / eta``.  For a network with
a trained output bias the sharpness is bounded below by the top eigenvalue of
the Gauss-Newton matrix, and that in turn by ``1 + 2 * sum_k |a_k| g(u_k, t_k)``
(Mulayoff et al. 2021, Lemma 4, in 1-D; Nacson et al. 2023, App. F.2, for
``d >= 1``), where ``a_k = v_k |w_k|`` is the amplitude of the ridge
``u_k . x = t_k`` (``u_k = w_k / |w_k|``, ``t_k = -b_k / |w_k|``) and ``g`` the
*stability weight* of the training inputs.  At an interpolating stable minimum
this gives ``sum |a| g <= 1 / eta - 1 / 2``: large steps give functions with
little curvature where the data are dense.

Loss convention (as everywhere in the package): ``L = sum_i w_i |f(x_i) - y_i|^2
/ (2 sum_i w_i)``.  With the mean squared error *without* the 1/2 every
``2 / eta`` becomes ``1 / eta``; ``CurvatureDiagnostics(loss_scale=1.0)`` reports
the Hessian quantities and the bounds in that convention.

The multivariate weight ``g~`` below is a reconstruction from a restatement of
Nacson et al. (2023); in 1-D it is exactly Mulayoff's weight.
"""

from numbers import Real

import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import ArpackNoConvergence
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from .._network import Batch, L2Penalty, Network, Params
from ..activations import get_activation
from ._model import checked_sample_weight, diagnosed_model, hidden_inputs, network_parameters
from .._atomic import atomic_fit
from .._descent import is_stable, stability_limit
from .._warn import warn

__all__ = [
    "CurvatureDiagnostics",
    "stability_weight",
    "stability_weight_multi",
    "weighted_curvature",
]

#: Activations whose second derivative is a sum of ridge deltas.
PIECEWISE_LINEAR = ("relu", "leaky_relu", "abs")

#: ``L = PACKAGE_LOSS_SCALE * sum_i w_i |r_i|^2 / sum_i w_i``: the loss every estimator of the package trains.
PACKAGE_LOSS_SCALE = 0.5


# ---------------------------------------------------------------- weights
def _weights(sample_weight, n):
    return checked_sample_weight(sample_weight, n)


def stability_weight(X_train, c, sample_weight=None):
    """Mulayoff's stability weight ``g_s(c)`` of 1-D training inputs.

    The weight of the stability bound of Mulayoff et al. [1]_.  With ``X`` distributed as the (weighted) training inputs,
    ``g_s(c) = min(g_minus(c), g_plus(c))`` for ``x_min < c < x_max`` and 0
    otherwise, where
    ``g_plus(c) = P(X > c)^2 E[X - c | X > c] sqrt(1 + E[X | X > c]^2)`` and
    ``g_minus(c) = P(X < c)^2 E[c - X | X < c] sqrt(1 + E[X | X < c]^2)``.

    Parameters
    ----------
    X_train : array-like of shape (n_samples,) or (n_samples, 1)
        Training inputs, whose (weighted) distribution defines the weight.
    c : float or array-like
        Points (knots) at which to evaluate the weight.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the training inputs in that distribution (finite,
        non-negative, with a positive sum); None weighs them equally.

    Returns
    -------
    g : float or ndarray of the shape of ``c``
        The stability weight at each point of ``c``: a float for a scalar
        ``c``, else an array of its shape.

    Raises
    ------
    ValueError
        If the inputs have more than one feature (use
        :func:`stability_weight_multi`) or the weights are invalid.

    References
    ----------
    .. [1] R. Mulayoff, T. Michaeli and D. Soudry, "The implicit bias of
       minima stability: a view from function space", Advances in Neural
       Information Processing Systems 34 (NeurIPS 2021), 17749-17761.
       https://papers.neurips.cc/paper/2021/hash/944a5ae3483ed5c1e10bbccb7942a279-Abstract.html

    Examples
    --------
    >>> from sklearn_shallowrelu.diagnostics.curvature import stability_weight
    >>> round(float(stability_weight([-1.0, 1.0], 0.0)), 7)  # sqrt(2) / 4
    0.3535534
    """
    x = np.asarray(X_train, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError("stability_weight needs 1-D inputs; use stability_weight_multi for d > 1.")
    w = _weights(sample_weight, x.size)
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    total = ws.sum()
    below_w = np.concatenate([[0.0], np.cumsum(ws)])  # weight of xs[:i]
    below_s = np.concatenate([[0.0], np.cumsum(ws * xs)])
    above_w = np.concatenate([np.cumsum(ws[::-1])[::-1], [0.0]])  # weight of xs[i:]
    above_s = np.concatenate([np.cumsum((ws * xs)[::-1])[::-1], [0.0]])
    c_arr = np.asarray(c, dtype=np.float64)
    cc = np.atleast_1d(c_arr).ravel()
    lo = np.searchsorted(xs, cc, side="left")  # #{x < c}
    hi = np.searchsorted(xs, cc, side="right")  # #{x <= c}
    wm, sm = below_w[lo], below_s[lo]
    wp, sp = above_w[hi], above_s[hi]
    g = np.zeros_like(cc)
    ok = (wm > 0) & (wp > 0) & np.isfinite(cc)
    mm, mp = sm[ok] / wm[ok], sp[ok] / wp[ok]
    gm = (wm[ok] / total) ** 2 * np.maximum(cc[ok] - mm, 0) * np.sqrt(1 + mm**2)
    gp = (wp[ok] / total) ** 2 * np.maximum(mp - cc[ok], 0) * np.sqrt(1 + mp**2)
    g[ok] = np.minimum(gm, gp)
    return float(g[0]) if c_arr.ndim == 0 else g.reshape(c_arr.shape)


#: Elements of the per-block temporaries of :func:`_side_sums`: blocks that stay in the
#: L2 cache run about twice as fast as blocks of sklearn's ``working_memory`` size.
_BLOCK = 2**17


def _side_sums(X, W, b, w, v=None, activation=None):
    """Weight and weighted input sum of the points strictly on each side of ``W_k . x + b_k = 0``.

    With output weights ``v`` and an activation, the same pass over the
    pre-activations also gives the network's outputs (without output bias).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    W : ndarray of shape (n_hyperplanes, n_features)
    b : ndarray of shape (n_hyperplanes,)
    w : ndarray of shape (n_samples,)
        Sample weights.
    v : ndarray of shape (n_hyperplanes, n_outputs), default=None
    activation : Activation, default=None

    Returns
    -------
    sums : ndarray of shape (n_hyperplanes, 2, 1 + n_features)
        ``sums[k, 0] = sum_{i: W_k.x_i + b_k > 0} w_i (1, x_i)`` and ``sums[k, 1]``
        the same over ``< 0``; points on the hyperplane count on neither side.
    closest : ndarray of shape (n_hyperplanes,)
        ``min_i |W_k . x_i + b_k|``.
    outputs : ndarray of shape (n_samples, n_outputs) or None
        ``sum_k v_k act(W_k . x_i + b_k)`` when ``v`` is given.
    """
    n, m = W.shape[0], X.shape[0]
    # point counts (exact in floating point), weights and weighted inputs in one product
    XW = np.column_stack([np.ones(m), w, w[:, None] * X])
    everything = XW.sum(axis=0)
    XT = np.ascontiguousarray(X.T)
    sums = np.empty((n, 2, XW.shape[1]))
    closest = np.empty(n)
    outputs = None if v is None else np.zeros((v.shape[1], m))
    step = max(1, _BLOCK // max(m, 1))
    S_buf, P_buf = np.empty((step, m)), np.empty((step, m))
    for lo in range(0, n, step):
        c = min(step, n - lo)
        S = np.matmul(W[lo : lo + c], XT, out=S_buf[:c])
        S += b[lo : lo + c, None]
        P = P_buf[:c]
        np.greater(S, 0, out=P)  # written as 0.0 / 1.0
        sums[lo : lo + c, 0] = P @ XW
        if v is not None:
            outputs += v[lo : lo + c].T @ activation.value(S)
        closest[lo : lo + c] = np.min(np.abs(S, out=P), axis=1, initial=np.inf)
        # the negative side is the complement unless a point lies on the hyperplane
        sums[lo : lo + c, 1] = everything - sums[lo : lo + c, 0]
        for k in np.flatnonzero(closest[lo : lo + c] == 0):
            sums[lo + k, 1] = (S[k] < 0) @ XW
    # exact counts decide emptiness: a complement of rounding noise is no point
    sums[sums[:, :, 0] == 0] = 0.0
    return sums[:, :, 1:], closest, (None if outputs is None else outputs.T)


def _weights_from_sums(sums, U, T, total):
    """``g = min(g~(u, t), g~(-u, -t))`` from the side sums of the hyperplanes ``u . x = t``.

    ``E[u.X - t | u.X > t] = u . E[X | u.X > t] - t``, so the conditional means
    of ``X`` are all that is needed (clipped at 0 against rounding).
    """
    g = np.full(len(T), np.inf)
    for side, sign in ((0, 1.0), (1, -1.0)):
        mass, sx = sums[:, side, 0], sums[:, side, 1:]
        safe = np.where(mass > 0, mass, 1.0)
        mean_x = sx / safe[:, None]
        mean_s = np.maximum(sign * (np.sum(U * mean_x, axis=1) - T), 0.0)
        gs = (mass / total) ** 2 * mean_s * np.sqrt(1 + np.sum(mean_x**2, axis=1))
        g = np.minimum(g, np.where(mass > 0, gs, 0.0))
    return g


def stability_weight_multi(X_train, u, t, sample_weight=None):
    """Stability weight ``g(u, t) = min(g~(u, t), g~(-u, -t))`` of the hyperplane ``<u, x> = t``.

    ``g~(u, t) = P(u.X > t)^2 E[u.X - t | u.X > t] sqrt(1 + |E[X | u.X > t]|^2)``
    with ``X`` distributed as the (weighted) training inputs; ``g~`` is 0 when
    no input lies strictly on the positive side, so ``g`` vanishes for
    hyperplanes that do not cut the inputs' convex hull.  For ``d = 1`` and
    ``u = +-1`` it equals :func:`stability_weight` at ``c = u t``.  ``u`` is
    meant to be a unit normal; the formula is evaluated as given.  It is a
    reconstruction of the weight of Nacson et al. [1]_ from a restatement of
    their bound.

    Parameters
    ----------
    X_train : array-like of shape (n_samples, n_features)
        Training inputs, whose (weighted) distribution defines the weight.
    u : array-like of shape (n_features,) or (n_hyperplanes, n_features)
        Normal (or normals, one per row) of the hyperplanes.
    t : float or array-like of shape (n_hyperplanes,)
        Offsets of the hyperplanes ``u . x = t``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the training inputs in that distribution (finite,
        non-negative, with a positive sum); None weighs them equally.

    Returns
    -------
    g : float, or ndarray of shape (n_hyperplanes,) when ``u`` is 2-D
        The stability weight of each hyperplane.

    Raises
    ------
    ValueError
        If ``u`` and ``X_train`` have different numbers of features or the
        weights are invalid.

    References
    ----------
    .. [1] M. S. Nacson, R. Mulayoff, G. Ongie, T. Michaeli and D. Soudry,
       "The implicit bias of minima stability in multivariate shallow ReLU
       networks", International Conference on Learning Representations
       (ICLR 2023). https://arxiv.org/abs/2306.17499

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.diagnostics.curvature import stability_weight_multi
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> round(float(stability_weight_multi(X, [1.0, 0.0], 0.5)), 6)  # sqrt(2) / 8
    0.176777
    """
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    u = np.asarray(u, dtype=np.float64)
    single = u.ndim == 1
    U = np.atleast_2d(u)
    T = np.broadcast_to(np.asarray(t, dtype=np.float64).ravel(), (U.shape[0],))
    if U.shape[1] != X.shape[1]:
        raise ValueError(f"u has {U.shape[1]} components but X_train has {X.shape[1]} features.")
    w = _weights(sample_weight, X.shape[0])
    out = _weights_from_sums(_side_sums(X, U, -T, w)[0], U, T, w.sum())
    return float(out[0]) if single else out


# ---------------------------------------------------------------- ridges
def _as_parameters(params):
    """``(W, b, v, activation)`` of a NetworkParameters, a Params (ReLU) or a fitted model."""
    if not hasattr(params, "W"):
        params = network_parameters(params)
    W = np.asarray(params.W, dtype=np.float64)
    b = np.asarray(params.b, dtype=np.float64)
    v = np.asarray(params.v, dtype=np.float64).reshape(len(b), -1)
    return W, b, v, getattr(params, "activation", "relu")


def _kink_jump(activation):
    act = get_activation(activation)
    if activation not in PIECEWISE_LINEAR or act.kink_jump is None:
        raise ValueError(
            f"Curvature diagnostics need a piecewise-linear activation ({', '.join(PIECEWISE_LINEAR)}); "
            f"got {activation!r}, whose second derivative is not a sum of ridge masses."
        )
    return act.kink_jump


def _ridges(W, b, v, kink_jump):
    """Unit normals ``u``, offsets ``t`` and amplitudes ``a = kink_jump * v |w|`` (NaN ridge if ``w = 0``)."""
    norm = np.linalg.norm(W, axis=1)
    has = norm > 0
    safe = np.where(has, norm, 1.0)
    U = np.where(has[:, None], W / safe[:, None], np.nan)
    T = np.where(has, -b / safe, np.nan)
    A = kink_jump * v * norm[:, None]
    return U, T, A, has


def _merge_labels(U, T, tol):
    """Group ridges whose ``(u, t)`` agree within ``tol`` up to the sign ``(u, t) ~ (-u, -t)``.

    ``relu(z) - relu(-z) = z`` is affine, so ``(u, t)`` and ``(-u, -t)`` carry
    the same Laplacian (1-D: the same knot) and their amplitudes add with the
    same sign.  Groups are the connected components of "within tol" (single
    linkage).
    """
    m = len(T)
    if m == 0:
        return np.zeros(0, dtype=int), 0
    P = np.column_stack([U, T])
    pairs = _close_pairs(np.vstack([P, -P]), tol) % m
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    n_groups, labels = connected_components(graph, directed=False)
    return labels, n_groups


def _close_pairs(P, tol):
    """All pairs ``i < j`` of rows of ``P`` with ``|P_i - P_j| <= tol``, shape (n_pairs, 2).

    Two rows within ``tol`` are within ``tol`` along any unit direction, so the
    candidates are the pairs that a sorted random projection puts within ``tol``
    (plus the projection's rounding); their distances are then checked.  For
    ridges that are not (nearly) coincident this is ``O(n log n)``, where a
    k-d tree's pair search in ``d + 1`` dimensions is much slower for ``d = 10``.
    """
    n = P.shape[0]
    r = np.random.RandomState(0).standard_normal(P.shape[1])
    r /= np.linalg.norm(r)
    proj = P @ r
    order = np.argsort(proj, kind="stable")
    ps = proj[order]
    slack = 4 * P.shape[1] * np.finfo(np.float64).eps * np.max(np.abs(P).sum(axis=1), initial=0.0)
    count = np.searchsorted(ps, ps + (tol + slack), side="right") - np.arange(n) - 1
    i = np.repeat(np.arange(n), count)
    j = i + 1 + np.arange(i.size) - np.repeat(np.cumsum(count) - count, count)
    a, b = order[i], order[j]
    close = np.sum((P[a] - P[b]) ** 2, axis=1) <= tol**2
    return np.column_stack([a[close], b[close]])


def _ridge_weights(X, U, T, sample_weight):
    if X.shape[1] == 1:
        return stability_weight(X[:, 0], U[:, 0] * T, sample_weight)  # the knot is u t
    return stability_weight_multi(X, U, T, sample_weight)


def _merged(U, T, A, tol):
    """Merged ridges: the index of each group's first ridge (its representative ``(u, t)``),
    the summed amplitudes and the sum of ``|a|`` per group."""
    labels, n_groups = _merge_labels(U, T, tol)
    first = np.full(n_groups, len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    J = np.zeros((n_groups, A.shape[1]))
    np.add.at(J, labels, A)
    Aabs = np.zeros(n_groups)
    np.add.at(Aabs, labels, np.linalg.norm(A, axis=1))
    return first, J, Aabs


def _positive_mass_1d(x, w, b, sample_weight):
    """``sum_i sample_weight_i [w_k x_i + b_k > 0]`` per neuron, for 1-D inputs, without an ``(m, n)`` array.

    ``fl(w x + b)`` is monotone in ``x`` (rounding is monotone), so on the sorted
    inputs the positive set is a suffix (``w > 0``), a prefix (``w < 0``), or all
    or nothing (``w = 0``); its end is found by bisection on the very same
    floating-point values as the dense ``x w + b > 0``.
    """
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], sample_weight[order]
    m = xs.size
    prefix = np.concatenate([[0.0], np.cumsum(ws)])  # weight of xs[:j]
    suffix = np.concatenate([np.cumsum(ws[::-1])[::-1], [0.0]])  # weight of xs[j:]
    up = w > 0
    lo, hi = np.zeros(len(w), dtype=int), np.full(len(w), m)
    while np.any(lo < hi):  # first j with "xs[j] positive" (w > 0) or "xs[j] not positive" (w <= 0)
        mid = (lo + hi) // 2
        found = (w * xs[np.minimum(mid, m - 1)] + b > 0) == up
        open_ = lo < hi
        hi = np.where(open_ & found, mid, hi)
        lo = np.where(open_ & ~found, mid + 1, lo)
    mass = np.where(up, suffix[lo], prefix[lo])
    return np.where(w == 0, np.where(b > 0, suffix[0], 0.0), mass)


def _distance_to_data_1d(x, knots):
    """``min_i |x_i - c|`` for each knot ``c`` (inf without data), by sorting."""
    if x.size == 0:
        return np.full(len(knots), np.inf)
    xs = np.sort(x)
    j = np.searchsorted(xs, knots)
    right = np.abs(xs[np.minimum(j, xs.size - 1)] - knots)
    left = np.abs(knots - xs[np.maximum(j - 1, 0)])
    return np.minimum(left, right)


def weighted_curvature(params, X_train, merge_tol=1e-9, per_neuron=False, sample_weight=None):
    """Stability-weighted curvature ``sum over ridges |a| g(u, t)`` of a network.

    In 1-D this is ``integral |f''(x)| g_s(x) dx`` (Mulayoff et al. 2021 [1]_); for
    ``d > 1`` the weighted Laplacian norm ``|f|_{V_g}`` (Nacson et al. 2023 [2]_).
    Ridges ``(u_k, t_k)`` that coincide within ``merge_tol`` (up to the sign
    ``(u, t) ~ (-u, -t)``) are merged first, and their amplitudes
    ``a_k = kink_jump * v_k |w_k|`` summed, so the value depends on the function
    only.  ``per_neuron=True`` gives ``sum_k |a_k| g(u_k, t_k)`` without
    merging, the quantity of the Hessian bound; it is never smaller.

    With several outputs the amplitudes are vectors and ``|a|`` is their
    Euclidean norm (for one output, the absolute value).

    Parameters
    ----------
    params : NetworkParameters, Params or fitted network of the package
        ``W`` (n, d), ``b`` (n,) and ``v`` (n, k) with the output scale folded
        in (see :func:`~sklearn_shallowrelu.diagnostics.network_parameters`);
        a bare ``Params`` is taken as a ReLU network with output scale 1.
    X_train : array-like of shape (n_samples, n_features)
        Training inputs, whose (weighted) distribution defines the stability
        weight ``g``.
    merge_tol : float, default=1e-9
        Ridges whose ``(u, t)`` agree within this distance are merged.
    per_neuron : bool, default=False
        Sum over neurons without merging (the quantity of the Hessian bound).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the training inputs in that distribution (finite,
        non-negative, with a positive sum); None weighs them equally.

    Returns
    -------
    float
        The stability-weighted curvature.

    References
    ----------
    .. [1] R. Mulayoff, T. Michaeli and D. Soudry, "The implicit bias of
       minima stability: a view from function space", Advances in Neural
       Information Processing Systems 34 (NeurIPS 2021), 17749-17761.
       https://papers.neurips.cc/paper/2021/hash/944a5ae3483ed5c1e10bbccb7942a279-Abstract.html
    .. [2] M. S. Nacson, R. Mulayoff, G. Ongie, T. Michaeli and D. Soudry,
       "The implicit bias of minima stability in multivariate shallow ReLU
       networks", International Conference on Learning Representations
       (ICLR 2023). https://arxiv.org/abs/2306.17499

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu._network import Params
    >>> from sklearn_shallowrelu.diagnostics.curvature import weighted_curvature
    >>> X = np.array([[-1.0], [1.0]])
    >>> p = Params(np.array([[1.0], [1.0]]), np.zeros(2), np.array([[1.0], [-1.0]]), np.zeros(1))
    >>> weighted_curvature(p, X), round(weighted_curvature(p, X, per_neuron=True), 6)
    (0.0, 0.707107)
    """
    W, b, v, activation = _as_parameters(params)
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    U, T, A, has = _ridges(W, b, v, _kink_jump(activation))
    U, T, A = U[has], T[has], A[has]
    if per_neuron:
        return float(np.linalg.norm(A, axis=1) @ _ridge_weights(X, U, T, sample_weight))
    first, J, _ = _merged(U, T, A, merge_tol)
    return float(np.linalg.norm(J, axis=1) @ _ridge_weights(X, U[first], T[first], sample_weight))


# ---------------------------------------------------------------- Hessian
def _top_eigenvalue(net, params, batch, gauss_newton, with_output_bias):
    """Top algebraic eigenvalue of the (Gauss-Newton) Hessian, Lanczos on analytic products.

    Without a trained output bias the ``c`` block is projected out.
    """
    frozen = () if with_output_bias else ("c",)
    try:
        return net.sharpness(params, batch, gauss_newton, tol=1e-10, frozen=frozen)
    except ArpackNoConvergence:  # pragma: no cover - rare; small problems only
        if params.flat().size <= 3000:
            return net.sharpness(params, batch, gauss_newton, frozen=frozen, method="dense")
        raise


def _output_layer_top_eigenvalue(Z, Y, sw, p):
    """Top eigenvalue of the Hessian of ``sum_i w_i |r_i|^2 / (2 sum_i w_i)`` in the trained output
    coefficients of a network whose first layer is frozen (``p.trained == 'output_layer'``).

    With the intercept kept at its optimum (``p.has_output_bias``) the loss of the coefficients
    alone is that of the weighted-centred features, whose Hessian is ``F_c^T diag(w) F_c / sum w``
    (the Schur complement of the intercept block); without an intercept, of the features as they
    are.  It is evaluated with the design and the Lanczos routine of the random-feature solvers,
    so that it is the estimator's own ``lambda_max`` on the same data; the design is formed
    explicitly only when it fits in scikit-learn's ``working_memory`` (row chunks otherwise, and
    an ``O(m + n)`` operator for 1-D inputs when that is cheaper).
    """
    from .._design import Design
    from .._exact1d.operator import Design1D, operator_1d_helps
    from .._solvers import top_eigenvalue

    if p.activation != "relu":
        raise ValueError(f"An output-layer network needs the ReLU activation here; got {p.activation!r}.")
    m, n = Z.shape[0], p.W.shape[0]
    if n == 0:
        return 0.0
    if Z.shape[1] == 1 and operator_1d_helps(m, n):
        design = Design1D(Z, p.W, p.b, Y, sw, p.has_output_bias)
    else:
        design = Design(Z, p.W, p.b, Y, sw, p.has_output_bias)
    # the design's features are relu(.) / sqrt(n); the network's are coef_scale * relu(.)
    return float(top_eigenvalue(design)) * (p.coef_scale**2 * n)


def _last_step(model):
    from sklearn.pipeline import Pipeline

    return model[-1] if isinstance(model, Pipeline) else model


def _chunked_loss(net, params, X, Y, sample_weight):
    """``net.loss`` over the whole data, evaluated on row blocks that stay in cache
    (the one-shot ``(n_samples, n_hidden)`` temporaries cost more in page faults
    than in arithmetic)."""
    rows = max(1, _BLOCK // max(params.W.shape[0], 1))
    total, loss = sample_weight.sum(), 0.0
    for lo in range(0, len(X), rows):
        w = sample_weight[lo : lo + rows]
        if w.sum() > 0:
            loss += net.loss(params, Batch(X[lo : lo + rows], Y[lo : lo + rows], w)) * (w.sum() / total)
    return loss


def _trained_loss_scale(model):
    """The ``loss_scale`` of the loss ``model`` was trained on, or None if unknown.

    A model may declare it as a fitted attribute ``loss_scale_``; the networks
    of the package (the only models the diagnostics read) train
    ``PACKAGE_LOSS_SCALE``.
    """
    from ..random_features import RandomFeatureReLURegressor
    from ..shallow import ShallowReLURegressor

    model = _last_step(model)
    value = getattr(model, "loss_scale_", None)
    if isinstance(value, Real):
        return float(value)
    if isinstance(model, (ShallowReLURegressor, RandomFeatureReLURegressor)):
        return PACKAGE_LOSS_SCALE
    return None


# ---------------------------------------------------------------- estimator
class CurvatureDiagnostics(TransformerMixin, BaseEstimator):
    """Minima-stability diagnostics of a shallow ReLU network, as a meta-transformer.

    ``fit(X, y)`` fits a clone of ``estimator`` (or takes it as is with
    ``prefit=True``) and measures, on the training inputs ``X`` and targets
    ``y``, the stability-weighted curvature of the fitted function, the
    sharpness of the loss and the lower bound that links them:

    ``sharpness_ >= gn_sharpness_ >= hessian_lower_bound_ = 1 + 2 * weighted_curvature_per_neuron_``

    (the first inequality at interpolating minima, the second always, with a
    trained output bias; Mulayoff et al. [1]_ in 1-D, Nacson et al. [2]_ for
    ``d >= 1``).  GD with step ``eta`` stays only at minima with
    ``sharpness_ <= 2 / eta``, hence at stable interpolating minima
    ``weighted_curvature_ <= stability_bound(eta) = 1 / eta - 1 / 2``.
    ``transform(X)`` returns per-sample local quantities: the network's value,
    its slope (1-D) or gradient norm (``d > 1``), and in 1-D the stability
    weight at ``x``.

    The Hessian quantities are about the parameters training moves (see
    ``trained_parameters_``).  For ``ShallowReLURegressor`` that is every
    parameter, and the chain above applies.  A random-feature network
    (``RandomFeatureReLURegressor``, ``RandomFeatureReLURegressorCV``) trains
    its output coefficients only, with the intercept at its optimum:
    ``sharpness_`` is then the top eigenvalue of the centred feature Gram matrix
    in the coefficients (plus the ridge penalty), the estimator's own
    ``lambda_max``, so ``is_linearly_stable(eta)`` agrees with its limit
    ``learning_rate < 2 / lambda_max``; the Hessian does not depend on the
    coefficients, so stability does not bound the curvature of the function
    (``hessian_lower_bound_`` is NaN and :meth:`stability_bound` is ``inf``).
    The function-space quantities (ridges, weights, ``weighted_curvature_``)
    are the same for every model.

    Loss convention: ``L = loss_scale * sum_i w_i |f(x_i) - y_i|^2 / sum_i w_i``,
    by default ``loss_scale=0.5``, the loss every estimator of the package
    trains.  The function-space quantities do not depend on it; the Hessian
    quantities scale with ``2 * loss_scale`` and the admissible step with its
    inverse.  The curvature quantities need a piecewise-linear activation (``'relu'``,
    ``'leaky_relu'``, ``'abs'``, with amplitudes ``kink_jump * v_k |w_k|``); the
    Hessian bound is proved for ``'relu'`` only and is NaN otherwise.

    Parameters
    ----------
    estimator : estimator object, default=None
        A network of the package (``ShallowReLURegressor``,
        ``RandomFeatureReLURegressor``, ...), possibly the last step of a
        ``Pipeline`` whose earlier steps then map the inputs into the network's
        input space, where all diagnostics are computed.  ``None`` means
        ``ShallowReLURegressor()``.
    prefit : bool, default=False
        Use ``estimator`` as already fitted (a copy is stored in
        ``estimator_``); ``fit`` then only measures.
    merge_tol : float, default=1e-9
        Ridges (knots in 1-D) whose ``(u, t)`` agree within this distance are
        merged before the function-space quantities are computed.
    loss_scale : float, default=0.5
        The loss in which the Hessian quantities and the step-size bounds are
        expressed, ``L = loss_scale * sum_i w_i |r_i|^2 / sum_i w_i``: 0.5 is the
        package's loss (half the mean squared error, stability threshold
        ``2 / eta``), 1.0 the mean squared error without the half (the
        threshold becomes ``1 / eta`` in the package's units).
        ``sharpness_``, ``gn_sharpness_``, ``hessian_lower_bound_`` and
        ``training_loss_`` are multiplied by ``2 * loss_scale``,
        ``max_stable_learning_rate_`` and the step in :meth:`stability_bound`
        are divided by it.  A value that differs from the loss the diagnosed
        estimator was trained on (0.5 for every estimator of the package)
        describes gradient descent on another loss than the one that produced
        the model, and ``fit`` warns.

    Attributes
    ----------
    estimator_ : estimator
        The fitted network (or pipeline).
    params_ : NetworkParameters
        The network's parameters (output scale folded into ``v``), as read by
        :func:`~sklearn_shallowrelu.diagnostics.network_parameters`.
    n_outputs_ : int
    normals_ : ndarray of shape (n_hidden, n_features)
        Unit normals ``u_k = w_k / |w_k|`` (NaN rows for ``w_k = 0``).
    offsets_ : ndarray of shape (n_hidden,)
        Offsets ``t_k = -b_k / |w_k|`` of the ridges ``u_k . x = t_k``.
    knots_ : ndarray of shape (n_hidden,) or None
        1-D inputs: knots ``-b_k / w_k`` per neuron (NaN for ``w_k = 0``).
    ridge_amplitudes_ : ndarray of shape (n_hidden,) or (n_hidden, n_outputs)
        ``a_k = kink_jump * v_k |w_k|``: in 1-D the jump of ``f'`` at the knot.
    ridge_weights_ : ndarray of shape (n_hidden,)
        Stability weight ``g(u_k, t_k)`` of each neuron's ridge.
    merged_normals_, merged_offsets_ : ndarray
        The distinct ridges after merging (a representative ``(u, t)``).
    merged_knots_ : ndarray or None
        1-D: the distinct knots, sorted.
    merged_amplitudes_ : ndarray of shape (n_ridges,) or (n_ridges, n_outputs)
        Summed amplitudes of the merged ridges (1-D: the jumps of ``f'``).
    merged_weights_ : ndarray of shape (n_ridges,)
    weighted_curvature_ : float
        ``sum over merged ridges |a| g``: ``integral |f''| g_s`` in 1-D, the
        weighted Laplacian norm ``|f|_{V_g}`` for ``d > 1`` (with several
        outputs ``|a|`` is the Euclidean norm of the amplitude vector).
    weighted_curvature_per_neuron_ : float
        ``sum_k |a_k| g(u_k, t_k)`` (no merging; never smaller).
    trained_parameters_ : {'all', 'output_layer'}
        Which parameters the Hessian quantities are about: the trained ones.
        ``'all'`` for ``ShallowReLURegressor`` (hidden weights and biases,
        output weights, and the output bias if fitted); ``'output_layer'`` for
        the random-feature networks, whose first layer is frozen: their output
        coefficients ``coef_`` only, with the intercept kept at its optimum
        (as their descent solvers do), i.e. on the weighted-centred features.
    hessian_lower_bound_ : float
        ``'all'``: ``2 * loss_scale * (1 + 2 * sum_k |a_k| g(u_k, t_k))`` (``1 +
        2 * sum_k |a_k| g(u_k, t_k)`` in the package's loss), a lower bound of
        ``gn_sharpness_`` (with several outputs, the largest such bound over
        the outputs).  Without a trained output bias the ``1 +`` is dropped
        (the bound without it is not proved); NaN for activations other than
        ReLU.  ``'output_layer'``: NaN, since the bound comes from the
        hidden-layer directions of the Hessian, which are not trained.
    gn_sharpness_ : float
        Top eigenvalue of the Gauss-Newton matrix ``J^T P J`` (``P = diag(w_i /
        sum w)``, ``J`` the Jacobian in the trained parameters).
        ``'output_layer'``: the loss is quadratic in the coefficients, so this
        is the top eigenvalue of the Hessian of the data loss,
        ``F_c^T P F_c`` with ``F_c`` the weighted-centred features
        ``relu(X W^T + b) / sqrt(n_hidden)`` (not centred without an
        intercept).
    sharpness_ : float
        Top algebraic eigenvalue of the Hessian of the training objective in
        the trained parameters.  ``'all'``: of the loss (Lanczos,
        ``which='LA'``, on analytic Hessian-vector products), over all
        parameters (the output bias only if the model has one).
        ``'output_layer'``: ``gn_sharpness_`` plus the ridge penalty's
        ``2 * loss_scale * alpha / sum(w)`` (0 for plain gradient descent),
        which with the default ``loss_scale`` is the estimator's own
        ``lambda_max`` of ``learning_rate < 2 / lambda_max`` on the same data.
    max_stable_learning_rate_ : float
        ``2 / sharpness_``: the largest step at which gradient descent on the
        loss of ``loss_scale``, moving the trained parameters, can stay at
        these parameters (inf if ``sharpness_ <= 0``).
    training_loss_ : float
        The loss of ``loss_scale`` on the training data.
    activation_rate_ : ndarray of shape (n_hidden,)
        Weighted fraction of training inputs on which each neuron is active.
    knots_on_data_ : bool
        Whether a ridge with nonzero amplitude passes within ``1e-6 * max(1,
        max |x|)`` of a training input (the non-differentiable regime, where the
        bound ``1 / eta - 1 / 2`` needs the correction of Mulayoff's Theorem 2 [1]_).
    total_variation_derivative_ : float or None
        1-D: ``sum |merged jumps|``, the total variation of ``f'`` on the line.
    n_linear_regions_ : int or None
        1-D: number of distinct knots with a nonzero jump strictly inside
        ``(x_min, x_max)``, plus one.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    The bound ``weighted_curvature_ <= 1 / eta - 1 / 2`` is about interpolating
    minima (zero loss) with no knot on a data point; away from them use
    ``weighted_curvature_ <= (gn_sharpness_ - 1) / 2``, which always holds.
    The multivariate weight is a reconstruction from a restatement of Nacson et
    al. (2023) [2]_; treat absolute values for ``d > 1`` with care, relative
    comparisons across step sizes are safe.  ``(u, t)`` and ``(-u, -t)`` are
    treated as the same ridge since ``relu(z) - relu(-z)`` is affine.

    Trained with a fixed step (all parameters, as ``ShallowReLURegressor``
    does), gradient descent typically drives the sharpness up to ``2 / eta``
    and keeps training there, at the edge of stability [3]_, so a
    ``sharpness_`` close to ``2 / eta`` is the usual outcome of a long run.

    References
    ----------
    .. [1] R. Mulayoff, T. Michaeli and D. Soudry, "The implicit bias of
       minima stability: a view from function space", Advances in Neural
       Information Processing Systems 34 (NeurIPS 2021), 17749-17761.
       https://papers.neurips.cc/paper/2021/hash/944a5ae3483ed5c1e10bbccb7942a279-Abstract.html
    .. [2] M. S. Nacson, R. Mulayoff, G. Ongie, T. Michaeli and D. Soudry,
       "The implicit bias of minima stability in multivariate shallow ReLU
       networks", International Conference on Learning Representations
       (ICLR 2023). https://arxiv.org/abs/2306.17499
    .. [3] J. Cohen, S. Kaur, Y. Li, J. Z. Kolter and A. Talwalkar, "Gradient
       descent on neural networks typically occurs at the edge of
       stability", International Conference on Learning Representations
       (ICLR 2021). https://arxiv.org/abs/2103.00065

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.diagnostics.curvature import CurvatureDiagnostics
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = 4 * X[:, 0] ** 3 - 3 * X[:, 0]
    >>> net = ShallowReLURegressor(n_hidden=20, learning_rate=0.05, max_iter=500, random_state=0)
    >>> diag = CurvatureDiagnostics(net).fit(X, y)
    >>> bool(diag.gn_sharpness_ >= diag.hessian_lower_bound_)
    True
    >>> diag.transform(X[:2]).shape, list(diag.get_feature_names_out())
    ((2, 3), ['value', 'slope', 'stability_weight'])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "prefit": ["boolean"],
        "merge_tol": [Interval(Real, 0, None, closed="left")],
        "loss_scale": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, estimator=None, prefit=False, merge_tol=1e-9, loss_scale=0.5):
        self.estimator = estimator
        self.prefit = prefit
        self.merge_tol = merge_tol
        self.loss_scale = loss_scale

    # ---------------------------------------------------------------- fit
    @atomic_fit
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the network (unless ``prefit``) and measure it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: the network is fitted on them (unless
            ``prefit``) and every diagnostic is measured on them.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets, for the fit and for the loss and its Hessian.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the estimator's ``fit`` (when given) and used in the loss
            and in the distribution of ``X`` for the stability weight.  Must be
            finite and non-negative with a positive sum (``ValueError``
            otherwise, before anything is fitted).
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted diagnostic.
        """
        self._validate_params()
        X_raw = X
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        sw = checked_sample_weight(sample_weight, X.shape[0])
        if sample_weight is not None and not self.prefit:
            fit_params["sample_weight"] = sample_weight
        self.estimator_ = diagnosed_model(self.estimator, self.prefit, X_raw, y, self.n_features_in_, **fit_params)
        trained = _trained_loss_scale(self.estimator_)
        if trained is not None and not np.isclose(trained, self.loss_scale, rtol=1e-12, atol=0.0):
            warn(
                f"CurvatureDiagnostics(loss_scale={self.loss_scale:g}) reports the sharpness and the step-size "
                f"bounds for the loss {self.loss_scale:g} * mean(r^2), but {type(_last_step(self.estimator_)).__name__} "
                f"was trained on {trained:g} * mean(r^2) (loss_scale={trained:g}): sharpness_ is "
                f"{self.loss_scale / trained:g} times, and the admissible step {trained / self.loss_scale:g} times, "
                f"that of the training run's loss.",
                UserWarning,
            )
        self._measure(hidden_inputs(self.estimator_, X_raw, X), y, sw)
        return self

    def _measure(self, Z, y, sw):
        p = network_parameters(self.estimator_)
        kink = _kink_jump(p.activation)
        self.params_ = p
        W, b, v, c = p.W, p.b, p.v, p.c
        Y = np.asarray(y, dtype=np.float64).reshape(len(Z), -1)
        if Z.shape[1] != W.shape[1] or Y.shape[1] != v.shape[1]:
            raise ValueError(
                f"The network maps {W.shape[1]} features to {v.shape[1]} outputs, but the data have "
                f"{Z.shape[1]} features and {Y.shape[1]} targets."
            )
        d, self.n_outputs_ = Z.shape[1], Y.shape[1]
        U, T, A, has = _ridges(W, b, v, kink)
        single = self.n_outputs_ == 1
        self.normals_, self.offsets_ = U, T
        self.knots_ = U[:, 0] * T if d == 1 else None
        self.ridge_amplitudes_ = A[:, 0] if single else A
        g = np.zeros(len(b))
        total = sw.sum()
        # ridge weights, activation rates and distances of the ridges to the data
        if d == 1:
            g[has] = _ridge_weights(Z, U[has], T[has], sw)
            positive = _positive_mass_1d(Z[:, 0], W[:, 0], b, sw)
            distance = _distance_to_data_1d(Z[:, 0], self.knots_)
            self.training_loss_ = _chunked_loss(Network(get_activation(p.activation), 1.0), Params(W, b, v, c), Z, Y, sw)
        else:  # one pass over the (n_samples, n_hidden) pre-activations for all four
            sums, closest, outputs = _side_sums(Z, W, b, sw, v, get_activation(p.activation))
            R = outputs + c - Y
            self.training_loss_ = 0.5 * float(sw @ np.sum(R * R, axis=1)) / total
            g[has] = _weights_from_sums(sums[has], U[has], T[has], total)
            positive = sums[:, 0, 0]
            distance = closest / np.where(has, np.linalg.norm(W, axis=1), np.inf)
        self.ridge_weights_ = g
        self.activation_rate_ = positive / total
        active = has & (np.linalg.norm(A, axis=1) > 0)
        closest = np.min(distance[active], initial=np.inf)
        self.knots_on_data_ = bool(closest < 1e-6 * max(1.0, float(np.max(np.abs(Z), initial=0.0))))

        first, J, Jabs = _merged(U[has], T[has], A[has], self.merge_tol)
        mu, mt, mg = U[has][first], T[has][first], g[has][first]  # a representative's ridge, hence its weight
        order = np.argsort(mu[:, 0] * mt, kind="stable") if d == 1 else np.arange(len(mt))
        mu, mt, J, Jabs, mg = mu[order], mt[order], J[order], Jabs[order], mg[order]
        self.merged_normals_, self.merged_offsets_ = mu, mt
        self.merged_knots_ = mu[:, 0] * mt if d == 1 else None
        self.merged_amplitudes_ = J[:, 0] if single else J
        self.merged_weights_ = mg
        Jn = np.linalg.norm(J, axis=1)
        self.weighted_curvature_ = float(Jn @ mg)
        self.weighted_curvature_per_neuron_ = float(np.linalg.norm(A, axis=1) @ g)
        # the Hessian of loss_scale * mean(r^2) is 2 * loss_scale times that of the package's loss
        hscale = 2.0 * self.loss_scale
        self.training_loss_ *= hscale
        self.trained_parameters_ = p.trained
        if p.trained == "output_layer":
            # Only the output coefficients are trained: the loss is quadratic in them, its Hessian is
            # the (centred, when the intercept is kept at its optimum) feature Gram matrix, Gauss-Newton
            # and Hessian coincide, and the penalty adds alpha / sum(w) to every eigenvalue.  Lemma 4's
            # bound is about the hidden-layer directions, which are not trained: no bound here.
            top = _output_layer_top_eigenvalue(Z, Y, sw, p)
            self.gn_sharpness_ = hscale * top
            self.sharpness_ = hscale * (top + p.penalty / total)
            self.hessian_lower_bound_ = float("nan")
        else:
            if p.activation == "relu":
                per_output = float(np.max(np.abs(A).T @ g)) if len(b) else 0.0
                self.hessian_lower_bound_ = hscale * ((1.0 if p.has_output_bias else 0.0) + 2.0 * per_output)
            else:
                self.hessian_lower_bound_ = float("nan")
            # Hessian quantities (output scale folded into v, so s = 1), with the weight decay the
            # network was trained with (its curvature is the same in Gauss-Newton)
            penalty = None
            if p.penalty > 0:
                penalty = L2Penalty.weight_decay(p.penalty, total, p.penalize_bias, output_scale=p.coef_scale)
            net = Network(get_activation(p.activation), 1.0, penalty)
            params = Params(W, b, v, c)
            batch = Batch(Z, Y, sw)
            self.gn_sharpness_ = hscale * _top_eigenvalue(net, params, batch, True, p.has_output_bias)
            self.sharpness_ = hscale * _top_eigenvalue(net, params, batch, False, p.has_output_bias)
        self.max_stable_learning_rate_ = float(stability_limit(self.sharpness_))

        if d == 1:
            self.total_variation_derivative_ = float(Jn.sum())
            inside = (self.merged_knots_ > Z.min()) & (self.merged_knots_ < Z.max())
            nonzero = Jn > 10 * np.finfo(float).eps * Jabs
            self.n_linear_regions_ = int(np.sum(inside & nonzero)) + 1
        else:
            self.total_variation_derivative_ = self.n_linear_regions_ = None
        self._X_train = Z
        self._sw = sw

    # ---------------------------------------------------------------- bounds
    def stability_bound(self, eta):
        """Largest ``weighted_curvature_`` of a stable interpolating minimum for step ``eta``.

        Gradient descent with step ``eta`` on ``loss_scale * mean(r^2)`` stays
        only where ``2 * loss_scale * (1 + 2 * weighted_curvature_) <=
        sharpness_ <= 2 / eta``, so the bound is ``1 / (2 * loss_scale * eta) -
        1 / 2``: ``1 / eta - 1 / 2`` for the package's loss (Mulayoff et al.
        2021, Theorem 1), ``1 / (2 eta) - 1 / 2`` for the mean squared error
        without the half.

        For a network whose first layer is frozen (``trained_parameters_ ==
        'output_layer'``, the random-feature networks) the bound is ``inf``:
        the Hessian in the trained output coefficients does not depend on them,
        so whether gradient descent can stay somewhere says nothing about the
        function's curvature.

        Parameters
        ----------
        eta : float
            Step size (learning rate) of gradient descent, positive.

        Returns
        -------
        float
            The bound on ``weighted_curvature_`` (``inf`` for a frozen first
            layer).
        """
        check_is_fitted(self)
        eta = float(eta)
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta}.")
        if self.trained_parameters_ == "output_layer":
            return float("inf")
        return 1.0 / (2.0 * self.loss_scale * eta) - 0.5

    def is_linearly_stable(self, eta, rtol=0.01):
        """Whether GD with step ``eta`` can stay here: ``sharpness_ <= 2 / eta * (1 + rtol)``.

        ``sharpness_`` is that of the loss of ``loss_scale``, so ``eta`` is a
        step of gradient descent on that loss (with the default, the
        package's ``learning_rate``).

        Parameters
        ----------
        eta : float
            Step size, positive.
        rtol : float, default=0.01
            Absorbs the oscillation of the sharpness just above ``2 / eta``
            at the edge of stability.

        Returns
        -------
        bool
            True if ``sharpness_ <= 2 / eta * (1 + rtol)``.
        """
        check_is_fitted(self)
        eta = float(eta)
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta}.")
        return bool(is_stable(eta, self.sharpness_, scale=1.0 + rtol))

    # ---------------------------------------------------------------- transform
    def transform(self, X):
        """Per-sample value ``f(x)``, slope ``f'(x)`` (``d > 1``: gradient norm) and, in 1-D, ``g_s(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs at which to evaluate the network (through the earlier
            steps of a ``Pipeline``, if the estimator is one).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
            Columns named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        X_raw = X
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = hidden_inputs(self.estimator_, X_raw, X)
        p = self.params_
        pre = Z @ p.W.T + p.b
        act = get_activation(p.activation)
        value = act.value(pre) @ p.v + p.c
        A1 = act.first(pre)
        if Z.shape[1] == 1:
            slope = (A1 * p.W[:, 0]) @ p.v
            cols = [value, slope, stability_weight(self._X_train[:, 0], Z[:, 0], self._sw)[:, None]]
        else:
            grads = [np.linalg.norm((A1 * p.v[:, j]) @ p.W, axis=1) for j in range(p.v.shape[1])]
            cols = [value, np.column_stack(grads)]
        return np.hstack(cols)

    def get_feature_names_out(self, input_features=None):
        """``value``, ``slope`` (``gradient_norm`` for ``d > 1``) and ``stability_weight`` (1-D).

        With several outputs the first two get the output index appended.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Not used to form the names; checked against ``feature_names_in_``
            as in scikit-learn.

        Returns
        -------
        ndarray of str objects
            The names of the columns of :meth:`transform`.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        d = self.params_.W.shape[1]
        bases = ["value", "slope" if d == 1 else "gradient_norm"]
        k = self.n_outputs_
        names = [f"{base}{j}" if k > 1 else base for base in bases for j in range(k)]
        if d == 1:
            names.append("stability_weight")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
