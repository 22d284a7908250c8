"""The displays (:mod:`sklearn_shallowrelu.plotting`): what they draw is what the estimators hold."""

import sys

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor, ShallowReLURegressor, SmoothingSplineEquivalent
from sklearn_shallowrelu.plotting import FunctionDisplay, NeuronDisplay, TrainingCurveDisplay

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _data():
    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(-2, 2, 60))[:, None]
    return X, np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(60)


def test_the_package_imports_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    import importlib

    import sklearn_shallowrelu.plotting as plotting

    importlib.reload(plotting)  # the module itself needs no matplotlib
    with pytest.raises(ImportError):
        plotting.NeuronDisplay([0.0], [1.0]).plot()


def test_function_display_draws_the_fit_its_knots_and_its_limit():
    X, y = _data()
    net = RandomFeatureReLURegressor(n_hidden=300, alpha=1e-2, random_state=0).fit(X, y)
    d = FunctionDisplay.from_estimator(net, X, y, limits="auto")
    assert d.ax_.figure is d.figure_
    np.testing.assert_allclose(d.line_.get_ydata(), net.predict(d.grid[:, None]))
    limit = SmoothingSplineEquivalent.from_estimator(net).fit(X, y)
    labels = [line.get_label() for line in d.ax_.get_lines()]
    assert "SmoothingSplineEquivalent (limit)" in labels and "data" in labels
    drawn = d.ax_.get_lines()[labels.index("SmoothingSplineEquivalent (limit)")].get_ydata()
    np.testing.assert_allclose(drawn, limit.predict(d.grid[:, None]))
    knots = d.ax_.get_lines()[[i for i, lab in enumerate(labels) if lab.startswith("knots")][0]].get_xdata()
    inside = net.knots_[(net.knots_ >= d.grid[0]) & (net.knots_ <= d.grid[-1])]
    np.testing.assert_array_equal(knots, inside)
    _, ax = plt.subplots()
    assert d.plot(ax=ax).ax_ is ax  # drawn again on given axes


def test_function_display_refuses_what_it_cannot_draw():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=20, max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="limits='auto' needs a RandomFeatureReLURegressor"):
        FunctionDisplay.from_estimator(net, X, y, limits="auto")
    with pytest.raises(ValueError, match="one input"):
        FunctionDisplay.from_estimator(net, np.hstack([X, X]), y)


def test_training_curves_and_the_stability_limit():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=40, max_iter=60, compute_sharpness=True, sharpness_every=10,
                               early_stopping=True, random_state=0).fit(X, y)
    d = TrainingCurveDisplay.from_estimator(net)
    loss, val = d.ax_.get_lines()[:2]
    np.testing.assert_array_equal(loss.get_ydata(), net.loss_curve_)
    np.testing.assert_array_equal(val.get_ydata(), net.validation_loss_curve_)
    sharp, limit = d.ax_sharpness_.get_lines()
    np.testing.assert_array_equal(sharp.get_ydata(), net.sharpness_curve_)
    assert limit.get_ydata()[0] == pytest.approx(2.0 / net.learning_rate_)
    with pytest.raises(ValueError, match="no loss_curve_"):
        TrainingCurveDisplay.from_estimator(RandomFeatureReLURegressor(n_hidden=10).fit(X, y))


def test_neuron_display_shows_each_units_direction_and_amplitude():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=30, max_iter=20, random_state=0).fit(X, y)
    d = NeuronDisplay.from_estimator(net)
    W, b, v = net.hidden_weights_, net.hidden_bias_, net.output_weights_ * net.output_scale_
    np.testing.assert_allclose(d.angle, np.degrees(np.arctan2(b, W[:, 0])))
    np.testing.assert_allclose(d.amplitude, np.abs(v) * np.hypot(W[:, 0], b))
    (points,) = d.ax_.get_lines()
    assert len(points.get_xdata()) == 30


def test_curvature_display_draws_each_knots_share_of_the_weighted_curvature():
    from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics, stability_weight
    from sklearn_shallowrelu.plotting import CurvatureDisplay

    X, y = _data()
    net = ShallowReLURegressor(n_hidden=30, max_iter=200, random_state=0).fit(X, y)
    d = CurvatureDisplay.from_estimator(net, X, y)
    diag = CurvatureDiagnostics(net, prefit=True).fit(X, y)
    # the shares add up to the diagnostics' weighted curvature (integral |f''| g_s)
    assert d.shares.sum() == pytest.approx(diag.weighted_curvature_, rel=1e-12)
    assert d.total == diag.weighted_curvature_
    np.testing.assert_allclose(d.weight, stability_weight(X, d.grid))
    (g,) = d.ax_weight_.get_lines()
    np.testing.assert_allclose(g.get_ydata(), d.weight)
    # a fitted CurvatureDiagnostics is read as it is
    assert CurvatureDisplay.from_estimator(diag, X).total == diag.weighted_curvature_
    X2 = np.hstack([X, X**2])
    net2 = ShallowReLURegressor(n_hidden=10, max_iter=5, random_state=0).fit(X2, y)
    with pytest.raises(ValueError, match="one input"):
        CurvatureDisplay.from_estimator(net2, X2, y)


def test_cv_grid_display_arranges_the_search_on_its_two_parameters():
    from sklearn.metrics import make_scorer, mean_squared_error
    from sklearn.model_selection import GridSearchCV

    from sklearn_shallowrelu.diagnostics import diagnostic_scorers
    from sklearn_shallowrelu.plotting import CVGridDisplay

    X, y = _data()
    scoring = {"mse": make_scorer(mean_squared_error, greater_is_better=False),
               "weighted_curvature": diagnostic_scorers()["weighted_curvature"]}
    search = GridSearchCV(ShallowReLURegressor(max_iter=30, random_state=0),
                          {"n_hidden": [5, 20], "learning_rate": [0.01, 0.05, 0.1]},
                          scoring=scoring, refit=False, cv=2).fit(X, y)
    d = CVGridDisplay.from_cv_results(search, "n_hidden", "learning_rate", error="mse",
                                      diagnostic="weighted_curvature")
    res = search.cv_results_
    for i, params in enumerate(res["params"]):
        r, c = list(d.y_values).index(params["learning_rate"]), list(d.x_values).index(params["n_hidden"])
        assert d.error[r, c] == pytest.approx(-res["mean_test_mse"][i])  # the error's sign restored
        assert d.diagnostic[r, c] == pytest.approx(res["mean_test_weighted_curvature"][i])
    assert d.error.shape == (3, 2) and len(d.ax_) == 2
    with pytest.raises(ValueError, match="no 'mean_test_rmse'"):
        CVGridDisplay.from_cv_results(search, "n_hidden", "learning_rate", error="rmse", diagnostic="mse")


def test_cv_grid_keeps_the_sign_of_unnegated_scores_and_takes_named_values():
    from sklearn_shallowrelu.plotting import CVGridDisplay

    res = {"param_n_hidden": np.array([10, 10, 20, 20], object),
           "param_learning_rate": np.array(["auto", 0.2, "auto", 0.2], object),
           "mean_test_r2": np.array([-0.5, -0.2, -0.1, -0.3]), "mean_test_neg_mean_squared_error":
           np.array([-1.0, -2.0, -3.0, -4.0])}
    d = CVGridDisplay.from_cv_results(res, "n_hidden", "learning_rate", error="neg_mean_squared_error",
                                      diagnostic="r2")
    assert list(d.y_values) == [0.2, "auto"]  # numbers first, then names
    np.testing.assert_array_equal(d.diagnostic, [[-0.2, -0.3], [-0.5, -0.1]])  # R^2 is not negated
    np.testing.assert_array_equal(d.error, [[2.0, 4.0], [1.0, 3.0]])  # neg_ is
    res["param_alpha"] = np.array([0.1, 0.1, 0.1, 1.0], object)
    with pytest.raises(ValueError, match="also varies"):
        CVGridDisplay.from_cv_results(res, "n_hidden", "learning_rate", error="r2", diagnostic="r2")


def test_curvature_display_of_a_pipeline_uses_the_inputs_its_network_sees():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_shallowrelu.plotting import CurvatureDisplay

    X, y = _data()
    X = 10 + 2.5 * X  # far from the scaled range
    pipe = make_pipeline(StandardScaler(), ShallowReLURegressor(n_hidden=20, max_iter=50, random_state=0)).fit(X, y)
    d = CurvatureDisplay.from_estimator(pipe, X, y)
    Z = pipe[:-1].transform(X)[:, 0]
    assert d.grid[0] == pytest.approx(Z.min()) and d.grid[-1] == pytest.approx(Z.max())
    assert d.shares.sum() == pytest.approx(d.total, rel=1e-12)


def test_function_display_draws_one_output_of_several():
    X, y = _data()
    Y = np.column_stack([y, -y])
    net = RandomFeatureReLURegressor(n_hidden=50, alpha=1e-2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="pick one with target="):
        FunctionDisplay.from_estimator(net, X, Y)
    d = FunctionDisplay.from_estimator(net, X, Y, target=1)
    np.testing.assert_allclose(d.values, net.predict(d.grid[:, None])[:, 1])
