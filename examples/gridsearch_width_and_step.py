"""Cross-validating the width and the step size of gradient descent with GridSearchCV.
===================================================================================

A :class:`~sklearn_shallowrelu.RandomFeatureReLURegressor` with ``solver='gd'``
is an ordinary scikit-learn regressor, so it goes into a ``Pipeline`` (here after
a ``StandardScaler``) and its width ``n_hidden``, step size ``learning_rate``
and number of steps ``max_iter`` are tuned with ``GridSearchCV`` like any other
hyper-parameters.  The data are a noisy sine on ``[-3, 3]``,
``y = sin(x) + 0.3 N(0, 1)`` (seeded,
:func:`~sklearn_shallowrelu.datasets.make_curve`).

What to look for
----------------
* The cross-validated error depends on the step size and the number of steps
  almost only through their product ``eta * T``: rows with the same
  ``learning_rate * max_iter`` have (nearly) the same error.  Early-stopped
  gradient descent is a spectral filter whose strength is set by ``eta * T``
  (roughly ridge with ``alpha ~ n_samples / (eta * T)``), so ``eta`` and ``T``
  are one knob, not two.
* Too few steps underfit and, on noisy data, too many start to overfit: the
  best ``eta * T`` is interior.
* The width matters much less than ``eta * T`` once it is a few hundred: with
  features scaled by ``1 / sqrt(n_hidden)`` the Gram matrix converges to the
  kernel of the initialisation, so the same ``eta`` and ``T`` mean the same
  function-space regularisation at every width.
* Step sizes above the stability limit ``2 / lambda_max`` (``lambda_max`` the
  top eigenvalue of the Hessian of the loss ``sum w r^2 / (2 sum w)``) make
  ``fit`` raise a ``ValueError`` instead of diverging silently; with
  ``error_score=np.nan`` GridSearchCV records those grid points as failed
  (``unstable`` in the table, grey in the figure) and carries on.  Because the
  features are scaled by ``1 / sqrt(n_hidden)``, ``lambda_max`` is of order one
  and nearly independent of the width, so one list of step sizes serves every
  width.

Run it with ``python examples/gridsearch_width_and_step.py``; it prints the
table and, when matplotlib is installed, saves ``gridsearch_width_and_step.png``
(a heat map of width x step size, one panel per ``max_iter``) in the current
working directory.
"""

import warnings

import _plotting
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor
from sklearn_shallowrelu.datasets import make_curve

WIDTHS = (50, 200, 1000)
LEARNING_RATES = (0.3, 1.0, 3.0, 10.0)
MAX_ITERS = (10, 100, 1000, 10000)


def make_pipeline():
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("net", RandomFeatureReLURegressor(solver="gd", random_state=0)),
        ]
    )


def stability_limits(X, y):
    """``2 / lambda_max`` on the full (standardised) data for each width.

    With ``learning_rate='auto'`` and ``alpha=0`` the regressor uses
    ``1 / lambda_max``, so twice its ``learning_rate_`` is the limit.
    """
    limits = {}
    for width in WIDTHS:
        pipe = make_pipeline().set_params(net__n_hidden=width, net__max_iter=1)
        pipe.fit(X, y)
        limits[width] = 2.0 * pipe[-1].learning_rate_
    return limits


def run_search(X, y, n_jobs=2):
    grid = {
        "net__n_hidden": list(WIDTHS),
        "net__learning_rate": list(LEARNING_RATES),
        "net__max_iter": list(MAX_ITERS),
    }
    search = GridSearchCV(
        make_pipeline(),
        grid,
        cv=KFold(n_splits=5, shuffle=True, random_state=0),
        scoring="neg_mean_squared_error",
        error_score=np.nan,  # unstable step sizes raise ValueError: record NaN
        n_jobs=n_jobs,
    )
    with warnings.catch_warnings():
        # FitFailedWarning / "non-finite test scores" for the unstable step
        # sizes: expected here, and reported in the table instead.
        warnings.simplefilter("ignore")
        search.fit(X, y)
    return search


def error_grid(search):
    """Mean CV MSE as an array indexed [width, learning_rate, max_iter] (NaN: failed)."""
    res = search.cv_results_
    out = np.full((len(WIDTHS), len(LEARNING_RATES), len(MAX_ITERS)), np.nan)
    std = np.full_like(out, np.nan)
    for params, mean, sd in zip(res["params"], res["mean_test_score"], res["std_test_score"]):
        idx = (
            WIDTHS.index(params["net__n_hidden"]),
            LEARNING_RATES.index(params["net__learning_rate"]),
            MAX_ITERS.index(params["net__max_iter"]),
        )
        out[idx] = -mean
        std[idx] = sd
    return out, std


def format_table(mse):
    head = f"{'n_hidden':>8} {'learning_rate':>13} | " + " ".join(
        f"{'T=' + str(t):>9}" for t in MAX_ITERS
    )
    lines = [head, "-" * len(head)]
    for i, width in enumerate(WIDTHS):
        for j, lr in enumerate(LEARNING_RATES):
            cells = []
            for k in range(len(MAX_ITERS)):
                v = mse[i, j, k]
                cells.append(f"{'unstable':>9}" if np.isnan(v) else f"{v:9.4f}")
            lines.append(f"{width:>8} {lr:>13g} | " + " ".join(cells))
    return "\n".join(lines)


def format_by_product(mse):
    """Mean CV MSE against eta * T (stable points only), min/max over width and (eta, T)."""
    prods = {}
    for i in range(len(WIDTHS)):
        for j, lr in enumerate(LEARNING_RATES):
            for k, t in enumerate(MAX_ITERS):
                if not np.isnan(mse[i, j, k]):
                    prods.setdefault(round(lr * t, 6), []).append(mse[i, j, k])
    head = f"{'eta * T':>9} {'points':>6} {'min MSE':>9} {'max MSE':>9}"
    lines = [head, "-" * len(head)]
    for p in sorted(prods):
        v = np.array(prods[p])
        lines.append(f"{p:>9g} {v.size:>6d} {v.min():9.4f} {v.max():9.4f}")
    return "\n".join(lines)


def plot(plt, mse):
    from matplotlib.colors import LogNorm

    finite = mse[np.isfinite(mse)]
    norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    cmap = plt.get_cmap("viridis_r").copy()
    cmap.set_bad("0.8")
    fig, axes = plt.subplots(1, len(MAX_ITERS), figsize=(3.3 * len(MAX_ITERS), 3.6),
                             sharey=True, constrained_layout=True)
    for k, (ax, t) in enumerate(zip(axes, MAX_ITERS)):
        data = np.ma.masked_invalid(mse[:, :, k])
        im = ax.imshow(data, cmap=cmap, norm=norm, origin="lower", aspect="auto")
        for i in range(len(WIDTHS)):
            for j in range(len(LEARNING_RATES)):
                v = mse[i, j, k]
                txt = "unstable" if np.isnan(v) else f"{v:.3f}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                        color="k" if np.isnan(v) or v < np.sqrt(finite.min() * finite.max()) else "w")
        ax.set_xticks(range(len(LEARNING_RATES)), [f"{lr:g}" for lr in LEARNING_RATES])
        ax.set_yticks(range(len(WIDTHS)), [str(w) for w in WIDTHS])
        ax.set_xlabel("learning_rate")
        ax.set_title(f"max_iter = {t}")
    axes[0].set_ylabel("n_hidden")
    cbar = fig.colorbar(im, ax=axes, label="mean 5-fold CV MSE", shrink=0.9)
    ticks = [v for v in (0.1, 0.15, 0.2, 0.3, 0.5, 1.0) if finite.min() <= v <= finite.max()]
    cbar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
    fig.suptitle("GridSearchCV over width, step size and number of GD steps")
    return fig


def main(plot_figure=True, n_jobs=2):
    X, y = make_curve(100, target=np.sin, x_range=(-3, 3), noise=0.3, random_state=0)
    limits = stability_limits(X, y)
    print("Gradient descent on the output layer, data: y = sin(x) + 0.3 N(0,1), 100 samples")
    print("Stability limit 2 / lambda_max on the standardised data:")
    for w, lim in limits.items():
        print(f"  n_hidden={w:>5}: {lim:.3f}")
    # What an unstable step does: fit raises before touching the estimator.
    try:
        make_pipeline().set_params(net__n_hidden=200, net__learning_rate=10.0).fit(X, y)
    except ValueError as exc:
        print(f"learning_rate=10 -> ValueError: {str(exc).split(' (lambda_max')[0]}")

    search = run_search(X, y, n_jobs=n_jobs)
    mse, _ = error_grid(search)
    print()
    print("Mean 5-fold CV mean squared error (noise variance 0.09):")
    print(format_table(mse))
    print()
    print("The same numbers grouped by eta * T (stable points only):")
    print(format_by_product(mse))
    best = search.best_params_
    print()
    print(
        f"Best: n_hidden={best['net__n_hidden']}, learning_rate={best['net__learning_rate']:g}, "
        f"max_iter={best['net__max_iter']}  (CV MSE {-search.best_score_:.4f})"
    )

    if plot_figure:
        _plotting.save_figure(plot, "gridsearch_width_and_step.png", mse, dpi=120)
    return {"search": search, "mse": mse, "limits": limits}


if __name__ == "__main__":
    main()
