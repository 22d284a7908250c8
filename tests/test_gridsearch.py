"""Pipelines, GridSearchCV over width, penalty, step and steps, and joblib's dask backend."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor


def _data(m=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-3, 3, (m, 1))
    return X, np.sin(X[:, 0]) + 0.2 * rng.standard_normal(m)


def _search(n_jobs=1):
    pipe = make_pipeline(StandardScaler(), RandomFeatureReLURegressor(solver="gd", random_state=0))
    grid = {
        "randomfeaturereluregressor__n_hidden": [20, 200],
        "randomfeaturereluregressor__alpha": [0.0, 1.0],
        "randomfeaturereluregressor__learning_rate": [0.1, 0.5],
        "randomfeaturereluregressor__max_iter": [10, 300],
    }
    return GridSearchCV(pipe, grid, cv=KFold(3, shuffle=True, random_state=0),
                        scoring="neg_mean_squared_error", n_jobs=n_jobs)


def test_grid_search_over_width_penalty_step_and_steps():
    X, y = _data()
    search = _search().fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (16,) and np.all(np.isfinite(scores))
    # more steps at the same step size fit better here (the data are smooth)
    p = search.cv_results_["params"]
    short = [s for s, q in zip(scores, p) if q["randomfeaturereluregressor__max_iter"] == 10]
    long = [s for s, q in zip(scores, p) if q["randomfeaturereluregressor__max_iter"] == 300]
    assert np.mean(long) > np.mean(short)
    assert search.best_estimator_.score(X, y) > 0.8


def test_grid_search_with_joblib_processes_equals_sequential():
    X, y = _data()
    seq = _search(n_jobs=1).fit(X, y)
    par = _search(n_jobs=2).fit(X, y)
    np.testing.assert_allclose(seq.cv_results_["mean_test_score"], par.cv_results_["mean_test_score"], rtol=1e-12)


def test_grid_search_on_a_local_dask_cluster():
    distributed = pytest.importorskip(
        "distributed", reason="the 'distributed' extra is not installed: pip install '.[distributed]'"
    )
    X, y = _data()
    seq = _search(n_jobs=1).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            par = _search(n_jobs=-1).fit(X, y)
    np.testing.assert_allclose(seq.cv_results_["mean_test_score"], par.cv_results_["mean_test_score"], rtol=1e-12)
    assert par.best_params_ == seq.best_params_
