"""Curvature and rank diagnostics as GridSearchCV scorers, next to the error.
==========================================================================

:func:`~sklearn_shallowrelu.diagnostics.diagnostic_scorers` turns every scalar
diagnostic of :class:`~sklearn_shallowrelu.diagnostics.CurvatureDiagnostics`
and :class:`~sklearn_shallowrelu.diagnostics.RankDiagnostics` into a scorer,
so one ``GridSearchCV`` reports, per grid point and fold, the error *and* what
the fitted networks look like: stability-weighted curvature, sharpness,
effective rank, ...  The diagnostics are measurements, not goodness: refit on
the error (``refit='mse'``).

The script searches ``learning_rate`` x ``n_hidden`` of a
``Pipeline(StandardScaler(), ShallowReLURegressor(max_iter=1500))`` on the 1-D
``make_wiggly_curve`` data (80 points on ``[-3, 3]``, noise 0.3), 3-fold,
with ``scoring={**diagnostic_scorers(), 'mse': 'neg_mean_squared_error'}``.

Pipelines.  A scorer receives the whole fitted pipeline and the *raw*
validation inputs.  The diagnostics read the network with
``network_parameters`` (which takes the last step) and push the inputs through
the earlier steps (``pipeline[:-1].transform``) before measuring, so every
quantity is computed in the network's input space (here: standardised x).
The script checks this on the refitted best pipeline: the diagnostics of the
pipeline on raw ``X`` equal those of its last step on
``StandardScaler().transform(X)``, and differ from the (wrong) last step on
raw ``X``.

Each scorer is evaluated on the validation fold (with
``return_train_score=True`` also on the training fold): the weighted
curvature uses the stability weight of the *validation* inputs, and the
sharpness is that of the validation loss, so these are not the training-set
quantities of the stability theory, only comparable across grid points.

What to look for (measured): with the same 1500 steps, larger steps and the
wider network fit further: the validation MSE falls from 0.39 to 0.13 (noise
variance 0.09) while the weighted curvature grows from 0.05 to 1.5 and the
number of linear regions from 5 to about 37 -- in this under-trained regime
the step size acts as training time, not as a curvature bound.  The sharpness
of the *validation* loss can exceed ``2 / eta`` (14.1 against 10 at
``eta = 0.2``); on the training data the refitted best model sits at the edge
of stability (9.96 against 10).  The effective rank of ``[W | b]`` is close to
2 everywhere: the hidden vectors of a 1-D network live in 2-D, so rank
measures say little here (use them for ``d > 1`` or for alignment).  The
pipeline check prints ``True``: the diagnostics of the pipeline on raw ``X``
equal those of the network on the scaled inputs (1.528 and 9.964), while the
network on raw ``X`` would give 3.03 and 16.2.

Run it with ``python examples/gridsearch_diagnostics.py``; it prints the table
and, when matplotlib is installed, saves ``gridsearch_diagnostics.png`` in the
current working directory: the grid's error beside its weighted curvature
(:class:`~sklearn_shallowrelu.plotting.CVGridDisplay`) and the curvature
density of the best network
(:class:`~sklearn_shallowrelu.plotting.CurvatureDisplay`).
"""

import warnings

import _plotting
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import make_wiggly_curve
from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics, RankDiagnostics, diagnostic_scorers

LEARNING_RATES = (0.01, 0.05, 0.2)
WIDTHS = (10, 50)
MAX_ITER = 1500


def main(plot_figure=True):
    X, y = make_wiggly_curve(n_samples=80, random_state=0)
    pipe = make_pipeline(StandardScaler(), ShallowReLURegressor(max_iter=MAX_ITER, random_state=0))
    scoring = {**diagnostic_scorers(), "mse": "neg_mean_squared_error"}
    search = GridSearchCV(
        pipe,
        {"shallowreluregressor__learning_rate": LEARNING_RATES, "shallowreluregressor__n_hidden": WIDTHS},
        scoring=scoring, refit="mse", cv=KFold(3, shuffle=True, random_state=0), error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    res = search.cv_results_

    print(f"GridSearchCV over learning_rate x n_hidden of StandardScaler + ShallowReLURegressor(max_iter={MAX_ITER}), "
          f"{len(y)} points of make_wiggly_curve, 3 folds; {len(scoring)} scorers")
    head = (f"{'eta':>5} {'width':>5} | {'val MSE':>7} {'rank':>4} | {'TV_g':>6} {'TV_g/neuron':>11} {'sharpness':>9} "
            f"{'2/eta':>6} {'n regions':>9} | {'eff rank':>8} {'stable rk':>9} {'n_lines':>7}")
    print(head)
    print("-" * len(head))
    rows = []
    for i, params in enumerate(res["params"]):
        eta, width = params["shallowreluregressor__learning_rate"], params["shallowreluregressor__n_hidden"]
        r = {"eta": eta, "width": width, **{k: float(res[f"mean_test_{k}"][i]) for k in scoring}}
        rows.append(r)
        print(f"{eta:>5g} {width:>5} | {-r['mse']:>7.4f} {res['rank_test_mse'][i]:>4} | {r['weighted_curvature']:>6.3f} "
              f"{r['weighted_curvature_per_neuron']:>11.3f} {r['sharpness']:>9.3f} {2 / eta:>6.0f} "
              f"{r['n_linear_regions']:>9.1f} | {r['effective_rank']:>8.3f} {r['stable_rank']:>9.3f} "
              f"{r['n_lines']:>7.2f}")
    print("(means over the 3 validation folds; TV_g = weighted_curvature; 'rank': rank of the MSE)")
    print(f"best by MSE: {search.best_params_}")

    # the pipeline check: the earlier steps must be applied before measuring
    best = search.best_estimator_
    Z = best[:-1].transform(X)
    cd_pipe = CurvatureDiagnostics(best, prefit=True).fit(X, y)
    cd_net = CurvatureDiagnostics(best[-1], prefit=True).fit(Z, y)
    cd_wrong = CurvatureDiagnostics(best[-1], prefit=True).fit(X, y)
    rd_pipe = RankDiagnostics(best, prefit=True).fit(X, y)
    rd_net = RankDiagnostics(best[-1], prefit=True).fit(Z, y)
    check = {
        "weighted_curvature: pipeline on X": cd_pipe.weighted_curvature_,
        "weighted_curvature: network on scaled X": cd_net.weighted_curvature_,
        "weighted_curvature: network on raw X (wrong)": cd_wrong.weighted_curvature_,
        "sharpness: pipeline on X": cd_pipe.sharpness_,
        "sharpness: network on scaled X": cd_net.sharpness_,
        "sharpness: network on raw X (wrong)": cd_wrong.sharpness_,
        "n_active_: pipeline on X / network on scaled X": (rd_pipe.n_active_, rd_net.n_active_),
    }
    print()
    print("Pipeline check on the refitted best pipeline (training data):")
    for name, value in check.items():
        print(f"  {name:<48} {value}")
    same = (np.isclose(cd_pipe.weighted_curvature_, cd_net.weighted_curvature_)
            and np.isclose(cd_pipe.sharpness_, cd_net.sharpness_) and rd_pipe.n_active_ == rd_net.n_active_
            and np.allclose(cd_pipe.transform(X), cd_net.transform(Z)))
    print(f"  pipeline diagnostics == last step on transformed inputs: {same}")

    if plot_figure:
        _plotting.save_figure(_plot, "gridsearch_diagnostics.png", search, best, X, y)
    return {"rows": rows, "best_params": search.best_params_, "pipeline_check": same}


def _plot(plt, search, best, X, y):
    from sklearn_shallowrelu.plotting import CurvatureDisplay, CVGridDisplay

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3), constrained_layout=True)
    # the grid: the validation error beside the weighted curvature
    CVGridDisplay.from_cv_results(search, "shallowreluregressor__n_hidden", "shallowreluregressor__learning_rate",
                                  error="mse", diagnostic="weighted_curvature", axes=axes[:2])
    # the refitted best network's curvature density, on the inputs it sees (scaled)
    CurvatureDisplay.from_estimator(best[-1], best[:-1].transform(X), y, ax=axes[2])
    axes[2].set_title("best network: " + axes[2].get_title(), fontsize=10)
    return fig


if __name__ == "__main__":
    main()
