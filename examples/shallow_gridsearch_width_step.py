"""Cross-validating the width and the step size of a fully trained two-layer ReLU network.
=======================================================================================

A :class:`~sklearn_shallowrelu.ShallowReLURegressor` (both layers trained by
full-batch gradient descent, standard parametrisation, PyTorch's default
start) goes into a ``Pipeline`` after a ``StandardScaler``, and
``GridSearchCV`` tunes its width ``n_hidden`` and step size ``learning_rate``
at a fixed number of steps ``max_iter``, by 5-fold cross-validation on a seeded
noisy 1-D problem (:func:`sklearn_shallowrelu.datasets.make_wiggly_curve`, 200
points, noise standard deviation 0.3).

The steps are fixed (a float ``learning_rate``; the default ``'auto'`` would
adapt the step and never diverge).  Divergence is detected per fit, in the
worker that ran it: the scorer is a callable returning two metrics, the test
MSE and whether that fold's fit diverged.  Plain gradient descent (no ``tol``,
no early stopping) runs exactly ``max_iter`` steps unless it diverges, in which
case ``fit`` keeps its best finite iterate and warns ``ConvergenceWarning``
(with the cause and the fix), so ``n_iter_ < max_iter`` marks a diverged fit;
a fit in which no step improved on the start raises ``ValueError`` instead,
and ``GridSearchCV`` records its scores as NaN (``error_score``), which the
table counts as diverged too.  The table is built from ``cv_results_['params']`` (GridSearchCV walks the
grid in sorted key order, so the order of the results is not the order of the
lists below).

What to look for
----------------
* In the standard parametrisation the sharpness (top eigenvalue of the Hessian
  of the loss) at the start grows with the width (it is at least the top
  eigenvalue of the output-layer block ``A^T A / m``, ``A`` the ``m x n_hidden``
  matrix of hidden activations, which is of order ``n_hidden``), so the step
  limit at the start, ``2 / sharpness``, shrinks as the network widens: printed
  first.
* Cells marked ``DIV k/5`` diverged in ``k`` of the 5 folds (grey in the
  figure); their mean CV error is meaningless and is not shown.  The divergent
  cells lie at the wide, large-step corner.  A step somewhat above
  ``2 / sharpness`` at the start does not always diverge: gradient descent can
  catapult into a flatter region and carry on (see
  ``examples/training_dynamics_sharpness.py``).
* At a fixed number of steps, the smallest steps underfit; the narrowest
  network underfits at every step size.  For each width the best step is a
  little below the largest one that still converges, and it decreases as the
  width grows, tracking ``2 / sharpness``.

Run it with ``python examples/shallow_gridsearch_width_step.py``; it prints
the tables and, when matplotlib is installed, saves
``shallow_gridsearch_width_step.png`` (a heat map of width x step size) in the
current working directory.
"""

import warnings

import _plotting
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import make_wiggly_curve

WIDTHS = (10, 40, 160)
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
MAX_ITER = 1000
N_SPLITS = 5


def make_pipeline():
    return Pipeline([
        ("scale", StandardScaler()),
        ("net", ShallowReLURegressor(max_iter=MAX_ITER, random_state=0)),
    ])


def mse_and_divergence(estimator, X, y):
    """Scorer: test MSE (negated, larger is better) and 1.0 if this fit diverged.

    A diverged fit kept its best finite parameters, which can still predict
    large values: the MSE is computed without scikit-learn's finiteness checks.
    """
    net = estimator[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        mse = float(np.mean((estimator.predict(X) - y) ** 2))
    return {"neg_mse": -mse if np.isfinite(mse) else -np.inf, "diverged": float(net.n_iter_ < net.max_iter)}


def initial_sharpness(X, y):
    """Sharpness at the start, on the full standardised data, for each width."""
    Xs = StandardScaler().fit_transform(X)
    out = {}
    for width in WIDTHS:
        # one step of size ~0 gives a fitted estimator at the initial parameters
        net = ShallowReLURegressor(n_hidden=width, max_iter=1, learning_rate=1e-300, random_state=0).fit(Xs, y)
        out[width] = net.sharpness(Xs, y)
    return out


def run_search(X, y, n_jobs=2):
    search = GridSearchCV(
        make_pipeline(),
        {"net__n_hidden": list(WIDTHS), "net__learning_rate": list(LEARNING_RATES)},
        cv=KFold(n_splits=N_SPLITS, shuffle=True, random_state=0),
        scoring=mse_and_divergence,
        error_score=np.nan,  # a fit that diverges at once raises: NaN scores, counted as diverged
        refit="neg_mse",
        n_jobs=n_jobs,
    )
    with warnings.catch_warnings():
        # ConvergenceWarning from diverging fits (in this process when n_jobs=1),
        # FitFailedWarning from fits that diverged at once, and "non-finite test
        # scores": expected, reported in the table instead.
        warnings.simplefilter("ignore")
        search.fit(X, y)
    return search


def result_grids(search):
    """Mean CV MSE and number of diverged folds as arrays indexed [width, learning_rate]."""
    res = search.cv_results_
    mse = np.full((len(WIDTHS), len(LEARNING_RATES)), np.nan)
    diverged = np.zeros_like(mse, dtype=int)
    for k, params in enumerate(res["params"]):  # sorted-key order, not the order of the lists
        i, j = WIDTHS.index(params["net__n_hidden"]), LEARNING_RATES.index(params["net__learning_rate"])
        mse[i, j] = -res["mean_test_neg_mse"][k]
        # NaN: the fit raised (no step improved on the start)
        diverged[i, j] = sum(int(np.isnan(res[f"split{s}_test_diverged"][k]) or res[f"split{s}_test_diverged"][k] > 0)
                             for s in range(N_SPLITS))
    return mse, diverged


def format_table(mse, diverged):
    head = f"{'n_hidden':>8} | " + " ".join(f"{'eta=' + format(lr, 'g'):>9}" for lr in LEARNING_RATES)
    lines = [head, "-" * len(head)]
    for i, width in enumerate(WIDTHS):
        cells = [f"{'DIV ' + str(diverged[i, j]) + '/' + str(N_SPLITS):>9}" if diverged[i, j] else f"{mse[i, j]:>9.4f}"
                 for j in range(len(LEARNING_RATES))]
        lines.append(f"{width:>8} | " + " ".join(cells))
    return "\n".join(lines)


def plot(plt, mse, diverged):
    from matplotlib.colors import LogNorm

    shown = np.where(diverged > 0, np.nan, mse)
    finite = shown[np.isfinite(shown)]
    cmap = plt.get_cmap("viridis_r").copy()
    cmap.set_bad("0.75")
    fig, ax = plt.subplots(figsize=(7.5, 3.8), constrained_layout=True)
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=LogNorm(finite.min(), finite.max()),
                   origin="lower", aspect="auto")
    mid = np.sqrt(finite.min() * finite.max())
    for i in range(len(WIDTHS)):
        for j in range(len(LEARNING_RATES)):
            if diverged[i, j]:
                txt, color = f"diverged\n{diverged[i, j]}/{N_SPLITS} folds", "k"
            else:
                txt, color = f"{mse[i, j]:.3f}", "w" if mse[i, j] > mid else "k"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(len(LEARNING_RATES)), [f"{lr:g}" for lr in LEARNING_RATES])
    ax.set_yticks(range(len(WIDTHS)), [str(w) for w in WIDTHS])
    ax.set(xlabel="learning_rate", ylabel="n_hidden",
           title=f"ShallowReLURegressor: mean {N_SPLITS}-fold CV MSE after {MAX_ITER} GD steps")
    cbar = fig.colorbar(im, ax=ax, label="mean CV MSE (grey: diverged)")
    ticks = [v for v in (0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0, 2.0) if finite.min() <= v <= finite.max()]
    cbar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
    cbar.minorticks_off()
    return fig


def main(plot_figure=True, n_jobs=2):
    X, y = make_wiggly_curve(n_samples=200, noise=0.3, random_state=0)
    print(f"Data: make_wiggly_curve(200, noise=0.3) (noise variance 0.09); Pipeline(StandardScaler, "
          f"ShallowReLURegressor(max_iter={MAX_ITER})); {N_SPLITS}-fold CV")
    sharp = initial_sharpness(X, y)
    print("Sharpness at the start and the step limit 2 / sharpness there (full standardised data):")
    for width, s in sharp.items():
        print(f"  n_hidden={width:>4}: sharpness {s:7.2f}, 2 / sharpness = {2 / s:.3f}")

    # What a diverging fit does: it keeps its best finite iterate with a ConvergenceWarning, or
    # raises ValueError when no step improved on the start.
    worst = make_pipeline().set_params(net__n_hidden=max(WIDTHS), net__learning_rate=max(LEARNING_RATES))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            worst.fit(X, y)
            outcome = f"n_iter_={worst[-1].n_iter_} of max_iter={MAX_ITER}"
        except ValueError as error:
            outcome = f"ValueError: {error}"
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    print(f"n_hidden={max(WIDTHS)}, learning_rate={max(LEARNING_RATES):g}: {outcome}"
          + (f"; ConvergenceWarning: {messages[0]}" if messages else ""))

    search = run_search(X, y, n_jobs=n_jobs)
    mse, diverged = result_grids(search)
    print()
    print(f"Mean {N_SPLITS}-fold CV mean squared error (rows: width, columns: step size; "
          f"DIV k/{N_SPLITS}: the fit diverged in k folds):")
    print(format_table(mse, diverged))
    best, refit = search.best_params_, search.best_estimator_[-1]
    print()
    print(f"Best: n_hidden={best['net__n_hidden']}, learning_rate={best['net__learning_rate']:g} "
          f"(CV MSE {-search.best_score_:.4f}); the refit on all data ran {refit.n_iter_} of {MAX_ITER} steps"
          f"{'' if refit.n_iter_ == MAX_ITER else ' (diverged!)'}.")

    if plot_figure:
        _plotting.save_figure(plot, "shallow_gridsearch_width_step.png", mse, diverged, dpi=120)
    return {"search": search, "mse": mse, "diverged": diverged, "sharpness": sharp}


if __name__ == "__main__":
    main()
