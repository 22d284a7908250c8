"""``verbose``: progress in scikit-learn's style, nothing by default."""

import re

import numpy as np
import pytest

from sklearn_shallowrelu import (RandomFeatureReLURegressor, RandomFeatureReLURegressorCV, ShallowReLURegressor,
                                 SmoothingSplineEquivalent)

LINE = re.compile(r"^Iteration (\d+), loss = [0-9.e+-]+(, validation loss = [0-9.e+-]+)?(, step = \S+)? \(\S+ s\)$")


def _data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (120, 1))
    return X, np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(120)


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line]


@pytest.mark.parametrize("make", [
    lambda v: RandomFeatureReLURegressor(n_hidden=30, solver="gd", max_iter=100, verbose=v, random_state=0),
    lambda v: RandomFeatureReLURegressor(n_hidden=30, solver="mirror", max_iter=100, verbose=v, random_state=0),
    lambda v: ShallowReLURegressor(n_hidden=30, max_iter=100, verbose=v, random_state=0),
    lambda v: ShallowReLURegressor(n_hidden=30, solver="sgd", max_iter=20, verbose=v, random_state=0),
])
def test_descent_prints_about_ten_lines_and_every_iteration_at_two(make, capsys):
    X, y = _data()
    make(0).fit(X, y)
    assert capsys.readouterr().out == ""
    est = make(1).fit(X, y)
    lines = _lines(capsys)
    assert len(lines) == 10 and all(LINE.match(line) for line in lines), lines
    assert lines[-1].startswith(f"Iteration {est.n_iter_},")
    make(2).fit(X, y)
    assert len(_lines(capsys)) == est.n_iter_


def test_the_exact_gd_path_prints_what_the_loop_prints(capsys):
    X, y = _data()
    printed = []
    for algorithm in ("spectral", "iterative"):
        RandomFeatureReLURegressor(n_hidden=30, solver="gd", max_iter=50, algorithm=algorithm, verbose=2,
                                   random_state=0).fit(X, y)
        printed.append([line.rsplit(" (", 1)[0] for line in _lines(capsys)])  # without the times
    assert printed[0] == printed[1] and len(printed[0]) == 50


def test_early_stopping_says_where_it_stopped(capsys):
    X, y = _data()
    est = ShallowReLURegressor(n_hidden=30, max_iter=5000, early_stopping=True, n_iter_no_change=3, tol=1e-2,
                               verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert est.n_iter_ < 5000 and f"The stopping rule ended the run at iteration {est.n_iter_}." in out
    assert "validation loss" in out


def test_cv_prints_the_choice_and_at_two_every_candidate(capsys):
    X, y = _data()
    cv = RandomFeatureReLURegressorCV(n_hidden=30, verbose=1, random_state=0).fit(X, y)
    lines = _lines(capsys)
    assert len(lines) == 1 and f"best alpha={cv.alpha_:.4g}" in lines[0]
    RandomFeatureReLURegressorCV(n_hidden=30, verbose=2, random_state=0).fit(X, y)
    assert len(_lines(capsys)) == cv.cv_results_["mean_squared_error"].size + 1


def test_ridge_prints_its_algorithm(capsys):
    X, y = _data()
    est = RandomFeatureReLURegressor(n_hidden=30, verbose=1, random_state=0).fit(X, y)
    assert _lines(capsys)[0].startswith(f"Ridge ({est.algorithm_!r}) solved in")


def test_the_spline_search_prints_its_rungs_and_choice(capsys):
    X, y = _data()
    est = SmoothingSplineEquivalent(alpha="gcv", verbose=1).fit(X, y)
    lines = _lines(capsys)
    assert len(lines) == 1 and f"alpha={est.alpha_:.6g}" in lines[0]
    SmoothingSplineEquivalent(alpha="gcv", verbose=2).fit(X, y)
    assert len(_lines(capsys)) == len(est.cv_alphas_) + 1
    SmoothingSplineEquivalent(alpha="gcv").fit(X, y)
    assert capsys.readouterr().out == ""


def test_the_spline_with_a_potential_prints_its_newton_iterations(capsys):
    X, y = _data()
    est = SmoothingSplineEquivalent(init="rademacher_uniform", alpha=0.1, potential="hyperbolic_entropy",
                                    verbose=1).fit(X, y)
    assert f"converged in {est.n_iter_} iterations" in capsys.readouterr().out


def test_the_printed_step_is_the_one_taken(capsys):
    """Mirror descent with the 'auto' step follows the potential's local curvature:
    the steps taken change from iteration to iteration, and so do the printed ones."""
    X, y = _data()
    RandomFeatureReLURegressor(n_hidden=30, solver="mirror", potential="hyperbolic_entropy", max_iter=30,
                               verbose=2, random_state=0).fit(X, y)
    steps = {line.split("step = ")[1].split(" ")[0] for line in _lines(capsys)}
    assert len(steps) > 1, steps
