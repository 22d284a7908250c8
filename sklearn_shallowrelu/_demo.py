"""The demo that ``python -m sklearn_shallowrelu`` runs.

On a built-in 1-D data set it fits random-feature ReLU networks, selects the
ridge penalty and the early-stopping time by exact leave-one-out, fits their
infinite-width limit (``SmoothingSplineEquivalent``) with GCV, cross-validates
width and step size with ``GridSearchCV``, compares with scikit-learn's
``MLPRegressor``, prints the results and, when matplotlib is installed, writes a
figure.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .datasets import make_wiggly_curve
from .random_features import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from .spline import SmoothingSplineEquivalent


def _timed(est, X, y):
    """Fit and time; report (rather than print) a ConvergenceWarning."""
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, time.perf_counter() - t, converged


def run_demo(n_samples=300, widths=(50, 200, 1000), max_iter=20000, plot=True, output="shallowrelu_demo.png"):
    """Run the demo; returns a dict of the fitted models and the printed rows."""
    widths = list(widths)
    X, y = make_wiggly_curve(n_samples, noise=0.3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    Xs, Xs_test = scaler.transform(X_train), scaler.transform(X_test)
    width = max(widths)
    print(f"Data: make_wiggly_curve, {len(y_train)} training and {len(y_test)} test points (1-D).\n")

    rows, models = [], {}
    cv_ridge, t, _ = _timed(RandomFeatureReLURegressorCV(alphas=np.logspace(-7, 1, 33), n_hidden=width, random_state=0), Xs, y_train)
    rows.append(("ridge, alpha by exact LOO", f"alpha={cv_ridge.alpha_:.3g}", -cv_ridge.best_score_, cv_ridge, t))
    stopping_times = np.unique(np.geomspace(1, 1e6, 49).astype(int))
    cv_gd, t, _ = _timed(RandomFeatureReLURegressorCV(solver="gd", stopping_times=stopping_times, n_hidden=width,
                                                      random_state=0), Xs, y_train)
    rows.append(("GD, stopping time by exact LOO", f"steps={cv_gd.n_iter_}", -cv_gd.best_score_, cv_gd, t))
    spline, t, _ = _timed(SmoothingSplineEquivalent(alpha="gcv"), Xs, y_train)
    rows.append(("infinite-width spline, GCV alpha", f"alpha={spline.alpha_:.3g}, df={spline.df_:.1f}",
                 spline.gcv_score_, spline, t))

    # Step sizes as fractions of the smallest 'auto' step (1/lambda_max) over
    # the widths: all below the stability limit 2/lambda_max.
    base = min(RandomFeatureReLURegressor(n_hidden=n, solver="gd", max_iter=1, random_state=0)
               .fit(Xs, y_train).learning_rate_ for n in widths)
    steps = [round(f * base, 4) for f in (0.1, 0.3, 1.0)]
    search = GridSearchCV(
        make_pipeline(StandardScaler(), RandomFeatureReLURegressor(solver="gd", max_iter=max_iter, random_state=0)),
        {"randomfeaturereluregressor__n_hidden": list(widths), "randomfeaturereluregressor__learning_rate": steps},
        cv=KFold(5, shuffle=True, random_state=0), scoring="neg_mean_squared_error",
    )
    search, t, _ = _timed(search, X_train, y_train)
    best = search.best_params_
    rows.append((f"GD, {max_iter} steps, 5-fold grid", f"width={best['randomfeaturereluregressor__n_hidden']}, "
                 f"step={best['randomfeaturereluregressor__learning_rate']}", -search.best_score_, search, t))
    mlp, t, ok = _timed(make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(width,), solver="lbfgs",
                                                                     max_iter=2000, random_state=0)), X_train, y_train)
    rows.append(("sklearn MLPRegressor (lbfgs)", f"width={width}" + ("" if ok else ", max_iter hit"), float("nan"), mlp, t))

    print(f"{'model':34s} {'selected':28s} {'CV MSE':>8s} {'test MSE':>9s} {'fit s':>7s}   (CV: LOO, GCV or 5-fold)")
    for name, sel, cv, est, t in rows:
        Xt = X_test if est is search or est is mlp else Xs_test
        test = np.mean((est.predict(Xt) - y_test) ** 2)
        cvs = "-" if np.isnan(cv) else f"{cv:.4f}"
        print(f"{name:34s} {sel:28s} {cvs:>8s} {test:9.4f} {t:7.2f}")
        models[name] = est

    scores = np.empty((len(widths), len(steps)))
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        i = widths.index(params["randomfeaturereluregressor__n_hidden"])
        j = steps.index(params["randomfeaturereluregressor__learning_rate"])
        scores[i, j] = -score
    print("\n5-fold CV mean squared error of GD after", max_iter, "steps (rows: width, columns: step size)")
    print("width  " + " ".join(f"{s:>9.4g}" for s in steps))
    for n, r in zip(widths, scores):
        print(f"{n:5d}  " + " ".join(f"{v:9.4f}" for v in r))
    print("\nLarger steps go further along the same path in the same number of steps; wider networks")
    print("are closer to their infinite-width (spline) limit.")

    if plot:
        _plot(X, y, X_train, y_train, scaler, cv_ridge, cv_gd, search, widths, steps, scores, output, spline)
    return {"rows": rows, "grid_scores": scores, "models": models}


def _plot(X, y, X_train, y_train, scaler, cv_ridge, cv_gd, search, widths, steps, scores, output, spline):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib is not installed: no figure. pip install 'sklearn_shallowrelu[plot]')")
        return
    grid = np.linspace(X.min(), X.max(), 400).reshape(-1, 1)
    fig, (ax, hm) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax.scatter(X_train[:, 0], y_train, s=8, c="0.6", label="training data")
    ax.plot(grid[:, 0], cv_ridge.predict(scaler.transform(grid)), label=f"ridge (LOO alpha={cv_ridge.alpha_:.2g})")
    ax.plot(grid[:, 0], cv_gd.predict(scaler.transform(grid)), "--", label=f"GD (LOO steps={cv_gd.n_iter_})")
    ax.plot(grid[:, 0], search.predict(grid), ":", label="GD (grid search width/step)")
    ax.plot(grid[:, 0], spline.predict(scaler.transform(grid)), "-.", label="infinite-width spline (GCV)")
    ax.set(xlabel="x", ylabel="y", title="Random-feature ReLU networks")
    ax.legend(fontsize=8)
    im = hm.imshow(scores, cmap="viridis_r", aspect="auto")
    hm.set(xticks=range(len(steps)), xticklabels=[f"{s:.3g}" for s in steps], yticks=range(len(widths)),
           yticklabels=widths, xlabel="learning rate", ylabel="width", title="5-fold CV MSE")
    for i in range(len(widths)):
        for j in range(len(steps)):
            hm.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, ax=hm)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
    print(f"\nFigure written to {output}")
