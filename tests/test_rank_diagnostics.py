"""RankDiagnostics: rank definitions (R1), angles and clusters on hand-made nets,
the balance invariant (R6), condensation at small initialisation, and the
scikit-learn integration (Pipeline, prefit, set_output, scorers, estimator checks)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor, ShallowReLURegressor
from sklearn_shallowrelu.diagnostics import (
    CurvatureDiagnostics,
    diagnostic_scorer,
    diagnostic_scorers,
    network_parameters,
)
from sklearn_shallowrelu.diagnostics.rank import (
    RankDiagnostics,
    balance,
    cluster_directions,
    cover_count,
    hidden_matrix,
    rank_measures,
)


def _handmade(W, b, v, activation="relu"):
    """A ShallowReLURegressor (standard parametrisation, s = 1) with the given parameters."""
    W = np.asarray(W, dtype=float)
    n, d = W.shape
    X = np.random.RandomState(0).standard_normal((5, d))
    net = ShallowReLURegressor(n_hidden=n, activation=activation, max_iter=1, random_state=0).fit(X, X[:, 0])
    net.hidden_weights_, net.hidden_bias_ = W, np.asarray(b, dtype=float)
    net.output_weights_, net.intercept_ = np.asarray(v, dtype=float), 0.0
    return net


def _diagnose(W, b, v, X, activation="relu", **params):
    return RankDiagnostics(_handmade(W, b, v, activation), prefit=True, **params).fit(X)


def _rotation(deg):
    t = np.radians(deg)
    return np.array([np.cos(t), np.sin(t)])


# ----------------------------------------------------------------------------------------- R1
def test_r1_rank_one_matrix():
    rng = np.random.RandomState(1)
    c, u = rng.standard_normal(7), rng.standard_normal(4)  # [W | b] = c u^T, d = 3
    M = np.outer(c, u)
    m = rank_measures(np.linalg.svd(M, compute_uv=False))
    assert m["numerical_rank"] == 1
    assert m["stable_rank"] == pytest.approx(1.0, abs=1e-12)
    assert m["effective_rank"] == pytest.approx(1.0, abs=1e-9)
    assert m["nuclear_norm"] == pytest.approx(np.linalg.norm(c) * np.linalg.norm(u), rel=1e-12)
    # the same through the estimator, with the bias column
    X = rng.standard_normal((30, 3))
    rd = _diagnose(M[:, :3], M[:, 3], rng.standard_normal(7), X)
    assert rd.numerical_rank_ == 1
    assert rd.stable_rank_ == pytest.approx(1.0, abs=1e-12)
    assert rd.effective_rank_ == pytest.approx(1.0, abs=1e-9)
    assert rd.nuclear_norm_ == pytest.approx(np.linalg.norm(c) * np.linalg.norm(u), rel=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_r1_orthonormal_rows(k):
    Q, _ = np.linalg.qr(np.random.RandomState(k).standard_normal((6, k)))
    m = rank_measures(np.linalg.svd(Q.T, compute_uv=False))  # k orthonormal rows in R^6
    assert m["numerical_rank"] == k
    assert m["stable_rank"] == pytest.approx(k, rel=1e-12)
    assert m["effective_rank"] == pytest.approx(k, rel=1e-12)
    np.testing.assert_allclose(m["explained_variance_ratio"], np.full(k, 1.0 / k), rtol=1e-12)


def test_r1_effective_rank_closed_form_and_zero_matrix():
    m = rank_measures([1.0, 3.0])  # p = (3/4, 1/4)
    assert m["effective_rank"] == pytest.approx(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))), rel=1e-14)
    assert m["stable_rank"] == pytest.approx(10.0 / 9.0, rel=1e-14)
    np.testing.assert_allclose(m["singular_values"], [3.0, 1.0])
    z = rank_measures(np.zeros(3))
    assert (z["numerical_rank"], z["stable_rank"], z["effective_rank"], z["nuclear_norm"]) == (0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("use_bias", [True, False])
def test_r1_bounds_scaling_and_svd(seed, use_bias):
    rng = np.random.RandomState(seed)
    n, d = rng.randint(2, 12), rng.randint(1, 6)
    W, b, v = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(n)
    X = rng.standard_normal((20, d))
    rd = _diagnose(W, b, v, X, use_bias=use_bias)
    M = np.column_stack([W, b]) if use_bias else W
    np.testing.assert_allclose(rd.singular_values_, np.linalg.svd(M, compute_uv=False), rtol=1e-10, atol=1e-12)
    assert 1 - 1e-12 <= rd.effective_rank_ <= rd.numerical_rank_ + 1e-9
    assert 1 - 1e-12 <= rd.stable_rank_ <= rd.numerical_rank_ + 1e-9
    assert rd.numerical_rank_ == np.linalg.matrix_rank(M)
    assert rd.nuclear_norm_ == pytest.approx(np.linalg.norm(M, "nuc"), rel=1e-10)
    assert np.sum(rd.explained_variance_ratio_) == pytest.approx(1.0, rel=1e-12)
    alpha = 10.0 ** rng.uniform(-3, 3)
    scaled = _diagnose(alpha * W, alpha * b, v, X, use_bias=use_bias)
    assert scaled.stable_rank_ == pytest.approx(rd.stable_rank_, rel=1e-10)
    assert scaled.effective_rank_ == pytest.approx(rd.effective_rank_, rel=1e-10)
    assert scaled.numerical_rank_ == rd.numerical_rank_
    assert scaled.nuclear_norm_ == pytest.approx(alpha * rd.nuclear_norm_, rel=1e-10)
    np.testing.assert_allclose(scaled.explained_variance_ratio_, rd.explained_variance_ratio_, rtol=1e-9, atol=1e-15)


def test_balanced_rescaling_keeps_the_function_and_balances():
    rng = np.random.RandomState(3)
    W, b, v = rng.standard_normal((6, 2)), rng.standard_normal(6), rng.standard_normal(6)
    M = hidden_matrix(W, b, v, rescale="balanced")
    norm = np.linalg.norm(np.column_stack([W, b]), axis=1)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), np.sqrt(np.abs(v) * norm), rtol=1e-12)
    alpha = np.linalg.norm(M, axis=1) / norm
    X = rng.standard_normal((40, 2))
    before, after = _handmade(W, b, v), _handmade(M[:, :2], M[:, 2], v / alpha)
    np.testing.assert_allclose(after.predict(X), before.predict(X), rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(balance(M[:, :2], M[:, 2], v / alpha))) < 1e-12
    rd = RankDiagnostics(before, prefit=True, rescale="balanced").fit(X)
    np.testing.assert_allclose(rd.singular_values_, np.linalg.svd(M, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose(hidden_matrix(W, b, v, use_bias=False, rescale="balanced"), M[:, :2])


# ------------------------------------------------------------------------------ angles, clusters
def test_angles_of_known_directions():
    X = np.random.RandomState(0).standard_normal((50, 2))
    rd = _diagnose([_rotation(0), _rotation(30)], [0, 0], [1, 1], X, use_bias=False)
    assert rd.max_angle_ == pytest.approx(30.0, abs=1e-9)
    assert rd.mean_angle_ == pytest.approx(30.0, abs=1e-9)
    rd = _diagnose([_rotation(0), _rotation(30), _rotation(90)], [0, 0, 0], [1, -2, 3], X, use_bias=False)
    assert rd.max_angle_ == pytest.approx(90.0, abs=1e-9)
    assert rd.mean_angle_ == pytest.approx(60.0, abs=1e-9)  # (30 + 90 + 60) / 3
    # with the bias coordinate, (1, 0, 0) and (1, 0, 1) are 45 degrees apart
    rd = _diagnose([[1.0, 0.0], [1.0, 0.0]], [0.0, 1.0], [1, 1], X, use_bias=True)
    assert rd.max_angle_ == pytest.approx(45.0, abs=1e-9)
    rd = _diagnose([[1.0, 0.0], [1.0, 0.0]], [0.0, 1.0], [1, 1], X, use_bias=False)
    assert rd.max_angle_ == pytest.approx(0.0, abs=1e-6)


def _two_line_net(counts, rng, jitter=3.0):
    """Units on two lines (angle 0 and 90 degrees): counts = (n at 0, n at 180, n at 90, n at 270)."""
    W, truth = [], []
    for (base, line, orient), n in zip([(0, 0, 0), (180, 0, 1), (90, 1, 2), (270, 1, 3)], counts):
        for _ in range(n):
            W.append(rng.uniform(0.5, 2.0) * _rotation(base + rng.uniform(-jitter, jitter)))
            truth.append((line, orient))
    return np.array(W), np.array(truth)


@pytest.mark.parametrize("counts, n_lines, n_orient, cover", [
    ((5, 3, 2, 0), 2, 3, 1),   # lines of 8 and 2: the first holds 80%
    ((3, 3, 2, 2), 2, 4, 2),   # lines of 6 and 4
    ((6, 0, 0, 4), 2, 2, 2),
])
def test_clusters_of_a_handmade_net(counts, n_lines, n_orient, cover):
    rng = np.random.RandomState(sum(counts))
    W, truth = _two_line_net(counts, rng)
    n = len(W)
    # three inactive units: dead on the data, zero output weight, negligible norm
    W = np.vstack([W, [1.0, 0.0], [0.3, 0.7], [1e-6, 0.0]])
    b = np.concatenate([np.zeros(n), [-100.0, 0.0, 0.0]])
    v = np.concatenate([rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.5, n), [1.0, 0.0, 1.0]])
    X = rng.standard_normal((60, 2))
    rd = _diagnose(W, b, v, X)
    np.testing.assert_array_equal(rd.active_mask_, np.arange(n + 3) < n)
    assert (rd.n_lines_, rd.n_orientations_, rd.lines_to_cover_80_) == (n_lines, n_orient, cover)
    # the clusters are the constructed partitions (up to renaming)
    for labels, col in [(rd.cluster_labels_[:n], 0), (rd.orientation_labels_[:n], 1)]:
        pairs = set(zip(labels, truth[:, col]))
        assert len(pairs) == len(set(labels)) == len(set(truth[:, col]))
    np.testing.assert_array_equal(rd.cluster_labels_[n:], -1)
    # the cosine matrix: symmetric, unit diagonal, the cosines of the units in cluster order
    S = rd.cosine_matrix_
    np.testing.assert_allclose(S, S.T, atol=0)
    np.testing.assert_allclose(np.diag(S), 1.0)
    U = W / np.linalg.norm(W, axis=1, keepdims=True)  # b = 0 on the active units
    order = rd.cluster_order_
    np.testing.assert_allclose(S, U[order] @ U[order].T, atol=1e-12)
    assert sorted(order) == list(range(n))
    assert np.all(np.diff(rd.cluster_labels_[order]) >= 0)  # sorted by line
    # blocks: same line <=> |cos| >= 0.98
    same_line = rd.cluster_labels_[order][:, None] == rd.cluster_labels_[order][None, :]
    np.testing.assert_array_equal(np.abs(S) >= 0.98, same_line)
    if counts == (5, 3, 2, 0):
        rd = _diagnose(W, b, v, X, min_cluster_frac=0.25)
        assert (rd.n_lines_, rd.n_orientations_) == (1, 2)


def test_smooth_activations_skip_the_data_condition():
    X = np.random.RandomState(0).standard_normal((30, 2))
    W, b, v = [[1.0, 0.0], [0.0, 1.0]], [-100.0, 0.0], [1.0, 1.0]
    np.testing.assert_array_equal(_diagnose(W, b, v, X).active_mask_, [False, True])
    np.testing.assert_array_equal(_diagnose(W, b, v, X, activation="tanh").active_mask_, [True, True])


def test_cluster_helpers():
    U = np.array([_rotation(a) for a in [0, 2, 178, 90, 91, 45]])
    np.testing.assert_array_equal(cluster_directions(U, 0.98, lines=True), [0, 0, 0, 1, 1, 2])
    np.testing.assert_array_equal(cluster_directions(U, 0.98, lines=False), [0, 0, 2, 1, 1, 3])
    assert cover_count(np.array([0, 0, 0, 1, 1, 2]), 0.8) == 2
    assert cover_count(np.array([0, 0, 0, 0, 1]), 0.8) == 1
    assert cover_count(np.array([], dtype=int)) == 0


def test_feature_map_1d():
    X = np.linspace(-3, 3, 20).reshape(-1, 1)
    w, b = np.array([1.0, -1.0, 1.0, -2.0]), np.array([1.0, 0.0, -1.0, 2.0])
    rd = _diagnose(w[:, None], b, np.ones(4), X)
    np.testing.assert_allclose(rd.feature_map_[:, 0], [np.pi / 4, np.pi, -np.pi / 4, 3 * np.pi / 4], atol=1e-14)
    np.testing.assert_allclose(rd.feature_map_[:, 1], np.hypot(w, b))
    nz = b != 0  # the dlphenomena formula sign(b) arccos(w / A)
    np.testing.assert_allclose(rd.feature_map_[nz, 0], np.sign(b[nz]) * np.arccos(w[nz] / np.hypot(w, b)[nz]))
    assert _diagnose(np.ones((3, 2)), np.zeros(3), np.ones(3), np.ones((4, 2))).feature_map_ is None


# ----------------------------------------------------------------------------------------- R6
def _scale(rd):
    e = rd.estimator_
    return np.max(e.output_weights_**2 + np.sum(e.hidden_weights_**2, axis=1) + e.hidden_bias_**2)


def test_r6_balance_invariant():
    X = np.linspace(-1, 1, 30).reshape(-1, 1)
    y = np.abs(X[:, 0]) - 0.5 * X[:, 0]
    kw = dict(n_hidden=20, learning_rate=0.005, max_iter=3000, record_every=3000, random_state=0)
    balanced = RankDiagnostics(ShallowReLURegressor(output_init="balanced", **kw)).fit(X, y)
    assert balanced.estimator_.loss_curve_[-1] < 1e-3 * balanced.estimator_.loss_curve_[0]  # it did train
    assert balanced.balance_ < 1e-3 * _scale(balanced)  # observed: 3.5e-4
    other = RankDiagnostics(ShallowReLURegressor(output_init="auto", **kw)).fit(X, y)
    assert other.balance_ > 0.1 * _scale(other)  # observed: 0.76
    # and the per-unit quantity is conserved from the (unbalanced) start
    h = other.estimator_.param_history_
    start = balance(h["hidden_weights"][0], h["hidden_bias"][0], h["output_weights"][0])
    assert np.max(np.abs(other.balance_per_neuron_ - start)) < 1e-3 * _scale(other)


def test_balance_uses_the_output_parameter_before_the_scale():
    X = np.random.RandomState(0).standard_normal((20, 2))
    Y = np.column_stack([X[:, 0], X[:, 1] ** 2])
    net = ShallowReLURegressor(n_hidden=7, parametrization="ntk", max_iter=5, random_state=0).fit(X, Y)
    rd = RankDiagnostics(net, prefit=True).fit(X)
    expected = np.sum(net.output_weights_**2, axis=1) - np.sum(net.hidden_weights_**2, axis=1) - net.hidden_bias_**2
    np.testing.assert_allclose(rd.balance_per_neuron_, expected, rtol=1e-10)
    assert rd.balance_ == pytest.approx(np.max(np.abs(expected)))


# ------------------------------------------------------------------------------- condensation
def test_small_initialisation_condenses_on_one_line():
    """Zhou et al.: tanh (multiplicity 1) condenses on at most one line early in training."""
    X = np.linspace(-1, 1.5, 40).reshape(-1, 1)
    y = np.sin(3 * X[:, 0]) + np.sin(6 * X[:, 0]) / 2
    small, large = [], []
    for seed in range(3):
        for scale, out in [(1e-3, small), (1.0, large)]:
            net = ShallowReLURegressor(n_hidden=50, activation="tanh", init_scale=scale, learning_rate=0.05,
                                       max_iter=2000, random_state=seed)
            rd = RankDiagnostics(net).fit(X, y)
            out.append((rd.lines_to_cover_80_, rd.n_lines_, rd.n_active_))
    assert all(cover == 1 and lines == 1 and active >= 40 for cover, lines, active in small)  # observed: 1, 1, 50
    assert np.median([cover for cover, _, _ in large]) >= 3  # observed: 5, 5, 5


# ------------------------------------------------------------------------------- integration
def test_transform_in_a_pipeline_and_set_output():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.standard_normal((40, 3)) * [1, 10, 100], columns=["a", "b", "c"])
    y = X["a"] - X["b"] / 10
    pipe = make_pipeline(StandardScaler(), RankDiagnostics(ShallowReLURegressor(n_hidden=6, max_iter=30,
                                                                                random_state=0)))
    pipe.set_output(transform="pandas")
    out = pipe.fit_transform(X, y)
    assert list(out.columns) == [f"hidden{k}" for k in range(6)]
    rd = pipe[-1]
    p = network_parameters(rd.estimator_)
    expected = np.maximum(pipe[0].transform(X).to_numpy() @ p.W.T + p.b, 0)
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(pipe.get_feature_names_out(), [f"hidden{k}" for k in range(6)])
    np.testing.assert_array_equal(rd.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError):
        rd.get_feature_names_out(["x", "y", "z"])


def test_prefit_matches_fit_and_copies():
    rng = np.random.RandomState(1)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    net = ShallowReLURegressor(n_hidden=9, max_iter=40, random_state=0)
    with pytest.raises(NotFittedError):
        RankDiagnostics(net, prefit=True).fit(X)
    fitted = RankDiagnostics(net).fit(X, y)
    net.fit(X, y)
    pre = RankDiagnostics(net, prefit=True).fit(X)
    assert pre.estimator_ is not net
    for name in ["singular_values_", "stable_rank_", "effective_rank_", "active_mask_", "cosine_matrix_",
                 "balance_", "max_angle_"]:
        np.testing.assert_allclose(getattr(pre, name), getattr(fitted, name), rtol=1e-12)
    np.testing.assert_allclose(pre.transform(X), fitted.transform(X), rtol=1e-12)
    with pytest.raises(ValueError, match="features"):
        RankDiagnostics(net, prefit=True).fit(X[:, :1])
    with pytest.raises(ValueError, match="prefit"):
        RankDiagnostics(prefit=True).fit(X)


def test_prefit_pipeline_applies_the_earlier_steps():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((30, 2)) * [1, 50]
    pipe = make_pipeline(StandardScaler(), ShallowReLURegressor(n_hidden=8, max_iter=30, random_state=0))
    pipe.fit(X, X[:, 0])
    Z = pipe[0].transform(X)
    whole = RankDiagnostics(pipe, prefit=True).fit(X)
    last = RankDiagnostics(pipe[-1], prefit=True).fit(Z)
    np.testing.assert_allclose(whole.transform(X), last.transform(Z), rtol=1e-12)
    np.testing.assert_array_equal(whole.active_mask_, last.active_mask_)
    assert whole.stable_rank_ == pytest.approx(last.stable_rank_)


def test_reads_random_feature_models_the_same_way():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 2))
    model = RandomFeatureReLURegressor(n_hidden=15, random_state=0).fit(X, X[:, 0] ** 2)
    rd = RankDiagnostics(model, prefit=True).fit(X)
    M = np.column_stack([model.hidden_weights_, model.hidden_bias_])
    np.testing.assert_allclose(rd.singular_values_, np.linalg.svd(M, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose(rd.transform(X), np.maximum(X @ M[:, :2].T + M[:, 2], 0), rtol=1e-12)


def test_diagnostic_scorers_in_grid_search():
    X = np.linspace(-1, 1, 30).reshape(-1, 1)
    y = np.abs(X[:, 0])
    scorer = diagnostic_scorer("stable_rank_")
    search = GridSearchCV(ShallowReLURegressor(max_iter=30, random_state=0), {"n_hidden": [3, 6]}, cv=3,
                          scoring={**diagnostic_scorers(), "mse": "neg_mean_squared_error",
                                   "lines": diagnostic_scorer("n_lines_", sign=-1.0, cos_threshold=0.95)},
                          refit="mse").fit(X, y)
    res = search.cv_results_
    ranks = res["mean_test_stable_rank"]
    assert np.all(np.isfinite(ranks)) and np.all((ranks >= 1) & (ranks <= 2 + 1e-9))  # [W | b] has 2 columns
    assert np.all(res["mean_test_lines"] <= -1)
    for name in ("weighted_curvature", "sharpness", "effective_rank", "nuclear_norm"):
        assert np.all(np.isfinite(res[f"mean_test_{name}"]))
    best = search.best_estimator_
    assert scorer(best, X, y) == pytest.approx(RankDiagnostics(best, prefit=True).fit(X).stable_rank_)
    curv = diagnostic_scorer("weighted_curvature_")(best, X, y)
    assert curv == pytest.approx(CurvatureDiagnostics(best, prefit=True).fit(X, y).weighted_curvature_)
    with pytest.raises(ValueError, match="Unknown diagnostic"):
        diagnostic_scorer("stable_rank")


def test_default_estimator_is_a_shallow_relu_regressor():
    X = np.random.RandomState(0).standard_normal((20, 2))
    rd = RankDiagnostics().fit(X, X[:, 0])
    assert isinstance(rd.estimator_, ShallowReLURegressor) and rd.transform(X).shape == (20, 100)


# ------------------------------------------------------------------------------ fast paths = brute force
def _brute_angles(U):
    """The former O(n^2)-memory definition: arccos of every pair i < j."""
    i, j = np.triu_indices(len(U), k=1)
    angles = np.degrees(np.arccos(np.clip(np.sum(U[i] * U[j], axis=1), -1.0, 1.0)))
    return angles.max(), angles.mean()


def _brute_clusters(U, threshold, lines):
    """The former step-by-step greedy loop on the dense neighbour matrix."""
    S = U @ U.T
    A = (np.abs(S) if lines else S) >= threshold
    np.fill_diagonal(A, True)
    return _greedy_on_matrix(A)


def _greedy_on_matrix(A):
    """Greedy clusters of a dense symmetric neighbour matrix (self included), numbered by size."""
    labels, free, k = np.full(len(A), -1), np.ones(len(A), dtype=bool), 0
    while free.any():
        centre = int(np.argmax(np.where(free, A[:, free].sum(axis=1), -1)))
        members = free & A[centre]
        labels[members], free, k = k, free & ~members, k + 1
    sizes = np.bincount(labels)
    first = np.array([np.flatnonzero(labels == c)[0] for c in range(k)])
    rank = np.empty(k, dtype=int)
    rank[np.lexsort((first, -sizes))] = np.arange(k)
    return rank[labels]


def _bundles(rng, n, dim, n_bundles, spread):
    """Unit rows in a few bundles (and their opposites) plus scattered ones: clusters of all sizes."""
    centres = rng.standard_normal((n_bundles, dim))
    rows = centres[rng.randint(n_bundles, size=n)] * rng.choice([-1.0, 1.0], size=(n, 1))
    rows += spread * rng.standard_normal((n, dim))
    rows[: n // 5] = rng.standard_normal((n // 5, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("dim", [1, 2, 3, 11])
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_angles_and_clusters_equal_the_brute_force(dim, seed):
    from sklearn_shallowrelu.diagnostics.rank import pairwise_angles

    rng = np.random.RandomState(seed)
    U = _bundles(rng, 250, dim, 4, 0.05) if dim > 1 else rng.choice([-1.0, 1.0], size=(250, 1))
    largest, mean = pairwise_angles(U)
    ref_max, ref_mean = _brute_angles(U)
    # planar directions use polar angles: arccos of a cosine near 1 is only good to ~1e-6 degrees
    assert largest == pytest.approx(ref_max, abs=1e-5)
    assert mean == pytest.approx(ref_mean, abs=1e-6)
    for threshold in (0.98, 0.9):
        for lines in (False, True):
            np.testing.assert_array_equal(cluster_directions(U, threshold, lines), _brute_clusters(U, threshold, lines))


def test_mean_angle_is_sampled_beyond_max_pairs():
    from sklearn_shallowrelu.diagnostics.rank import pairwise_angles

    U = _bundles(np.random.RandomState(0), 400, 5, 3, 0.3)
    exact = _brute_angles(U)
    largest, mean = pairwise_angles(U, max_pairs=8000)  # 20 of the 399 shifts
    assert largest == pytest.approx(exact[0], abs=1e-9)  # the maximum stays exact
    assert mean == pytest.approx(exact[1], rel=0.02) and mean != pytest.approx(exact[1], rel=1e-9)
    assert pairwise_angles(U, max_pairs=400 * 399 // 2)[1] == pytest.approx(exact[1], rel=1e-12)


@pytest.mark.parametrize("d", [1, 3])
def test_active_mask_equals_the_dense_definition(d):
    from sklearn_shallowrelu.diagnostics.rank import active_neurons

    rng = np.random.RandomState(d)
    X = rng.standard_normal((700, d))  # more inputs than the 256 tried first
    W = rng.standard_normal((300, d))
    b = rng.standard_normal(300) * rng.choice([0.1, 3.0], size=300)
    b[:10] = -np.max(X @ W[:10].T, axis=0)  # exactly zero at their best input: dead
    b[10:20] = -np.max(X @ W[10:20].T, axis=0) + 1e-9  # positive at one input only
    v = np.ones(300)
    dense = np.max(X @ W.T + b, axis=0) > 0
    assert 20 < dense.sum() < 290
    np.testing.assert_array_equal(active_neurons(W, b, v, X), dense)
    assert not active_neurons(W, b, v, X)[:10].any() and active_neurons(W, b, v, X)[10:20].all()


def test_cosine_matrix_is_formed_on_demand_and_refreshed_by_refit():
    X = np.random.RandomState(0).standard_normal((40, 2))
    rd = _diagnose([_rotation(0), _rotation(30)], [0, 0], [1, 1], X, use_bias=False)
    c30 = np.cos(np.radians(30))
    np.testing.assert_allclose(rd.cosine_matrix_, [[1, c30], [c30, 1]])
    rd.set_params(estimator=_handmade([_rotation(0), _rotation(60)], [0, 0], [1, 1])).fit(X)
    np.testing.assert_allclose(rd.cosine_matrix_[0, 1], 0.5)
    assert not hasattr(RankDiagnostics(), "cosine_matrix_")


def test_output_sign_positive_restricts_the_angles_to_positive_units():
    X = np.random.RandomState(0).standard_normal((50, 2))
    W = [_rotation(0), _rotation(1), _rotation(2), _rotation(120)]
    v = [1.0, 2.0, 0.5, -0.3]  # the wide unit has a negative output weight
    anyone = _diagnose(W, [0, 0, 0, 0], v, X, use_bias=False)
    positive = _diagnose(W, [0, 0, 0, 0], v, X, use_bias=False, output_sign="positive")
    assert anyone.max_angle_ == pytest.approx(120.0, abs=1e-9) and anyone.n_active_ == 4
    assert positive.max_angle_ == pytest.approx(2.0, abs=1e-9) and positive.n_active_ == 3
    assert positive.mean_angle_ == pytest.approx(4.0 / 3, abs=1e-9)
    np.testing.assert_array_equal(positive.active_mask_, [True, True, True, False])
    assert positive.cosine_matrix_.shape == (3, 3) and positive.n_lines_ == 1
    np.testing.assert_allclose(positive.singular_values_, anyone.singular_values_)
    with pytest.raises(ValueError, match="one output"):
        RankDiagnostics(ShallowReLURegressor(n_hidden=3, max_iter=2), output_sign="positive").fit(X, X)


# ------------------------------------------------------------------------------ beyond EXACT_UNITS: hashing, sampling
@pytest.mark.parametrize("dim", [3, 5, 11])
@pytest.mark.parametrize("threshold", [0.98, 0.9, 0.5])
def test_hashed_clusters_equal_the_all_pairs_greedy(dim, threshold, monkeypatch):
    from sklearn_shallowrelu.diagnostics import rank

    # a low threshold makes the graph dense and the candidates many: fewer units there
    U = _bundles(np.random.RandomState(dim), 600 if threshold > 0.5 else 250, dim, 5, 0.05)
    n = len(U)
    exact = [cluster_directions(U, threshold, lines) for lines in (False, True)]
    monkeypatch.setattr(rank, "EXACT_UNITS", 0)  # the near-linear path at a width the brute force can check
    monkeypatch.setattr(rank, "HASH_WORK_LIMIT", np.inf)  # hashing even where one blocked pass is cheaper
    for lines, reference in zip((False, True), exact):
        hashed = cluster_directions(U, threshold, lines)
        np.testing.assert_array_equal(hashed, _brute_clusters(U, threshold, lines))
        np.testing.assert_array_equal(hashed, reference)
    pairs = rank._line_pairs(U, threshold)
    S = np.abs(U @ U.T) >= threshold
    np.testing.assert_array_equal(np.sort(pairs[:, 0] * n + pairs[:, 1]), np.flatnonzero(np.triu(S, 1)))


def test_sampled_angles_beyond_exact_units(monkeypatch):
    from sklearn_shallowrelu.diagnostics import rank
    from sklearn_shallowrelu.diagnostics.rank import pairwise_angles

    U = _bundles(np.random.RandomState(0), 700, 6, 3, 0.3)
    ref_max, ref_mean = _brute_angles(U)
    exact_sampled_mean = pairwise_angles(U, max_pairs=7000)[1]  # the shift estimator, by cosine blocks
    monkeypatch.setattr(rank, "EXACT_UNITS", 0)
    largest, mean = pairwise_angles(U, max_pairs=7000)
    # the same 10 shifts, the same pairs: equal up to the rounding of the dot products
    assert mean == pytest.approx(exact_sampled_mean, rel=1e-12) and mean == pytest.approx(ref_mean, rel=0.02)
    # 4M random pairs of 244650: every pair is drawn about 17 times, missing the largest has probability e^-17
    assert largest <= ref_max + 1e-9 and largest == pytest.approx(ref_max, abs=1e-9)
    assert pairwise_angles(U, max_pairs=700 * 699 // 2)[1] == pytest.approx(ref_mean, rel=1e-12)


def test_dense_neighbour_graphs_are_refused_before_they_are_stored(monkeypatch):
    from sklearn_shallowrelu import _memory
    from sklearn_shallowrelu.diagnostics import rank

    rng = np.random.RandomState(0)
    U = np.tile([1.0, 2.0, 2.0], (3000, 1)) / 3.0 + 1e-4 * rng.standard_normal((3000, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)  # 3000 units along one line: 4.5e6 neighbour pairs
    monkeypatch.setattr(rank, "EXACT_UNITS", 0)
    monkeypatch.setattr(_memory, "available_memory", lambda: 8 * 2**20)  # room for about 87,000 pairs
    for limit in (np.inf, 1.0):  # refused by the hashing, and before the blocked pass that replaces it here
        monkeypatch.setattr(rank, "HASH_WORK_LIMIT", limit)
        with pytest.raises(MemoryError, match=r"concentrated.*4.5e\+06 pairs.*Raise cos_threshold"):
            cluster_directions(U, 0.98, lines=True)
        assert np.all(cluster_directions(U[:400], 0.98, lines=True) == 0)  # 400 of the units: 79,800 pairs fit


def test_heap_greedy_equals_the_step_by_step_greedy_on_random_graphs():
    from sklearn_shallowrelu.diagnostics.rank import _greedy_clusters, _neighbour_lists

    for seed in range(5):
        rng = np.random.RandomState(seed)
        n = 80
        A = np.triu(rng.uniform(size=(n, n)) < rng.choice([0.02, 0.1, 0.4]), 1)
        pairs = np.column_stack(np.nonzero(A))
        labels = _greedy_clusters(*_neighbour_lists(pairs, n))
        # reference: the dense loop of _brute_clusters on the same graph
        G = A | A.T
        np.fill_diagonal(G, True)
        np.testing.assert_array_equal(labels, _greedy_on_matrix(G))


# ------------------------------------------------------------------------------ sample weights, failed refits
@pytest.mark.parametrize("weights,message", [
    (-np.ones(30), "negative"), (np.zeros(30), "sums to zero"), (np.full(30, np.nan), "finite"),
    (np.ones(3), "one weight"),
])
@pytest.mark.parametrize("prefit", [True, False])
def test_rank_bad_sample_weights_raise_a_clear_error(weights, message, prefit):
    X = np.random.RandomState(0).standard_normal((30, 2))
    net = ShallowReLURegressor(n_hidden=4, max_iter=2, random_state=0)
    if prefit:
        net.fit(X, X[:, 0])
    with pytest.raises(ValueError, match=message):
        RankDiagnostics(net, prefit=prefit).fit(X, X[:, 0], sample_weight=weights)


def test_rank_zero_weight_inputs_do_not_make_a_unit_active():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    net = _handmade([[1.0], [-1.0]], [-1.5, -1.5], [1.0, 1.0])  # unit 0 positive at x = 2 only, unit 1 at x = -2
    w = np.array([0.0, 1.0, 1.0, 1.0])
    rd = RankDiagnostics(net, prefit=True).fit(X, sample_weight=w)
    np.testing.assert_array_equal(rd.active_mask_, [True, False])
    np.testing.assert_array_equal(RankDiagnostics(net, prefit=True).fit(X[w > 0]).active_mask_, [True, False])
    np.testing.assert_array_equal(RankDiagnostics(net, prefit=True).fit(X).active_mask_, [True, True])
    # without prefit the weights reach the estimator's fit
    fitted = RankDiagnostics(ShallowReLURegressor(n_hidden=3, max_iter=3, random_state=0)).fit(
        X, X[:, 0], sample_weight=w)
    plain = ShallowReLURegressor(n_hidden=3, max_iter=3, random_state=0).fit(X, X[:, 0], sample_weight=w)
    np.testing.assert_allclose(fitted.estimator_.hidden_weights_, plain.hidden_weights_)


def test_rank_failed_refit_leaves_every_attribute_unchanged(monkeypatch):
    import copy

    from sklearn_shallowrelu.diagnostics import rank

    X = np.random.RandomState(0).standard_normal((40, 3))
    rd = RankDiagnostics(ShallowReLURegressor(n_hidden=12, max_iter=3, random_state=0)).fit(X, X[:, 0])
    rd.cosine_matrix_  # the lazily formed cache is an attribute too
    snap = {k: (v, copy.deepcopy(v)) for k, v in vars(rd).items()}

    def check():
        assert set(vars(rd)) == set(snap)
        for k, (ref, value) in snap.items():
            assert vars(rd)[k] is ref, k
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(vars(rd)[k], value, err_msg=k)

    def broken(*args, **kwargs):
        raise RuntimeError("late failure")

    monkeypatch.setattr(rank, "_direction_summary", broken)  # after the rank measures were set
    with pytest.raises(RuntimeError, match="late failure"):
        rd.fit(np.random.RandomState(1).standard_normal((25, 3)), np.zeros(25))
    check()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="negative"):
        rd.fit(X, X[:, 0], sample_weight=-np.ones(40))
    check()
