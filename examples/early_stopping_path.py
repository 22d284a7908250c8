"""The whole early-stopping path of gradient descent next to the ridge path.
=========================================================================

Gradient descent on the output layer of a random-feature ReLU network, started
from zero, is a spectral filter: after ``t`` steps of size ``eta`` on the loss
``L(v) = sum_i w_i r_i^2 / (2 w_sum)`` (``w_sum = sum_i w_i``; ``w_sum = n_samples``
without sample weights), each eigen-direction of the centred feature
covariance with eigenvalue ``kappa`` is fitted by the factor
``1 - (1 - eta kappa)^t``, while ridge with penalty ``alpha`` (scikit-learn's
``Ridge`` units, ``sum w r^2 + alpha ||v||^2``) fits it by
``kappa / (kappa + alpha / w_sum)``.  Both factors are ``~1`` for large ``kappa`` and
small for small ``kappa``, and they switch at about the same place when::

    alpha  ~  w_sum / (eta t)        (here w_sum = n_samples, eta = learning_rate_).

This correspondence is a **heuristic**, not an identity: the two filters have
different shapes (at ``kappa = alpha / w_sum`` ridge keeps 1/2 of the direction,
GD about ``1 - 1/e = 0.63``), so the two paths are close but not equal, and the
best stopping time need not map exactly onto the best ``alpha``.  We use it only
to put both paths on one axis, "effective ridge penalty".

The script

* fits ``RandomFeatureReLURegressor(solver='gd', max_iter=T)`` once and reads the
  training error at every step from ``loss_curve_`` (twice the loss is the
  training MSE) and the test error at every step from ``staged_predict``;
* fits ridge (``solver='ridge'``) over a grid of ``alpha``;
* runs ``RandomFeatureReLURegressorCV``: with ``solver='gd'`` it picks the
  stopping time by exact leave-one-out over all ``T`` steps (from one
  eigendecomposition, no refitting), with ``solver='ridge'`` it picks ``alpha``.

What to look for: the test error of both paths falls, bottoms out, and rises
again as the effective penalty shrinks (overfitting the noise); on the common
axis the two curves have the same shape, with gradient descent somewhat ahead of
ridge in the transition (the heuristic is off by a small factor there) and
the same floor; the exact leave-one-out curves track the test curves, and the
stopping time chosen by leave-one-out corresponds (through ``w_sum / (eta t)``) to
an ``alpha`` within a small factor of the one leave-one-out picks for ridge.

Run it with ``python examples/early_stopping_path.py``; it prints the table and,
when matplotlib is installed, saves ``early_stopping_path.png`` in the current
working directory.
"""

import _plotting
import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from sklearn_shallowrelu.datasets import make_curve

N_HIDDEN = 2000
MAX_ITER = 5000
TABLE_STEPS = (1, 3, 10, 30, 100, 300, 1000, 3000, 5000)


def target(x):
    return np.sin(2 * x)


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def main(plot_figure=True):
    rng = np.random.RandomState(0)  # one stream: the test set is drawn after the training set
    X, y = make_curve(100, target=target, noise=0.3, random_state=rng)
    X_test, y_test = make_curve(2000, target=target, noise=0.3, random_state=rng)
    w_sum = float(len(y))  # sum of sample weights

    # --- the gradient-descent path: one fit, every step
    gd = RandomFeatureReLURegressor(
        n_hidden=N_HIDDEN, solver="gd", max_iter=MAX_ITER, random_state=0
    ).fit(X, y)
    eta = gd.learning_rate_
    steps = np.arange(1, gd.n_iter_ + 1)
    gd_train = 2.0 * gd.loss_curve_[1:]  # loss = MSE / 2 without sample weights
    gd_test = np.array([mse(p, y_test) for p in gd.staged_predict(X_test)])
    gd_alpha = w_sum / (eta * steps)  # heuristic effective ridge penalty

    # --- leave-one-out over every stopping time (exact, one eigendecomposition)
    cv_gd = RandomFeatureReLURegressorCV(
        solver="gd", n_hidden=N_HIDDEN, max_iter=MAX_ITER, random_state=0
    ).fit(X, y)
    gd_loo = cv_gd.cv_results_["mean_squared_error"]  # one entry per t = 1..T
    t_star = cv_gd.n_iter_

    # --- the ridge path over a grid that also holds the effective alphas of the
    # table's steps and of the leave-one-out stopping time
    table_alphas = w_sum / (eta * np.asarray(TABLE_STEPS + (t_star,), dtype=float))
    alphas = np.unique(np.concatenate([np.logspace(-3, 2, 41), table_alphas]))
    ridge_train, ridge_test = [], []
    for a in alphas:
        r = RandomFeatureReLURegressor(n_hidden=N_HIDDEN, alpha=a, random_state=0).fit(X, y)
        ridge_train.append(mse(r.predict(X), y))
        ridge_test.append(mse(r.predict(X_test), y_test))
    ridge_train, ridge_test = np.array(ridge_train), np.array(ridge_test)
    cv_ridge = RandomFeatureReLURegressorCV(
        solver="ridge", alphas=alphas, n_hidden=N_HIDDEN, random_state=0
    ).fit(X, y)
    ridge_loo = cv_ridge.cv_results_["mean_squared_error"]
    alpha_star = cv_ridge.alpha_

    print(f"Output-layer GD vs ridge: n_hidden={N_HIDDEN}, {len(y)} training samples, "
          f"noise variance 0.09")
    print(f"learning_rate_ (auto = 1/lambda_max) = {eta:.4f};  "
          f"effective alpha(t) = w_sum / (eta t) with w_sum = {w_sum:g}  [heuristic]")
    print()
    head = (f"{'t':>5} {'alpha~w_sum/(eta t)':>15} | {'GD train':>8} {'GD test':>8} {'GD LOO':>8}"
            f" | {'ridge train':>11} {'ridge test':>10} {'ridge LOO':>9}")
    print(head)
    print("-" * len(head))
    rows = sorted(set(TABLE_STEPS) | {t_star})
    for t in rows:
        a = w_sum / (eta * t)
        j = int(np.argmin(np.abs(np.log(alphas / a))))
        mark = "  <- LOO choice (GD)" if t == t_star else ""
        print(f"{t:>5} {a:>15.4g} | {gd_train[t - 1]:8.4f} {gd_test[t - 1]:8.4f} {gd_loo[t - 1]:8.4f}"
              f" | {ridge_train[j]:11.4f} {ridge_test[j]:10.4f} {ridge_loo[j]:9.4f}{mark}")
    print("(ridge columns at alpha = w_sum / (eta t); LOO = exact leave-one-out MSE)")
    print()
    j_star = int(np.argmin(np.abs(alphas - alpha_star)))
    print(f"GD:    LOO picks t = {t_star:5d}  -> effective alpha = w_sum/(eta t) = "
          f"{w_sum / (eta * t_star):.4g}; test MSE {gd_test[t_star - 1]:.4f}")
    print(f"ridge: LOO picks alpha = {alpha_star:.4g}"
          f"{'':19}test MSE {ridge_test[j_star]:.4f}")
    print(f"best test MSE on each path: GD {gd_test.min():.4f} (t = {int(np.argmin(gd_test)) + 1}), "
          f"ridge {ridge_test.min():.4f} (alpha = {alphas[int(np.argmin(ridge_test))]:.4g})")

    if plot_figure:
        _plotting.save_figure(_plot, "early_stopping_path.png", X, y, gd_alpha, gd_train, gd_test, gd_loo, alphas,
                              ridge_train, ridge_test, ridge_loo, eta, w_sum, t_star, alpha_star, cv_gd, cv_ridge,
                              dpi=120)
    return {
        "learning_rate": eta, "t_star": t_star, "alpha_star": alpha_star,
        "gd_test": gd_test, "gd_loo": gd_loo, "ridge_test": ridge_test,
        "ridge_loo": ridge_loo, "alphas": alphas,
    }


def _plot(plt, X, y, gd_alpha, gd_train, gd_test, gd_loo, alphas, ridge_train, ridge_test,
          ridge_loo, eta, w_sum, t_star, alpha_star, cv_gd, cv_ridge):
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    ax.plot(gd_alpha, gd_test, color="C0", lw=2, label="GD: test")
    ax.plot(gd_alpha, gd_loo, color="C0", ls=":", lw=2, label="GD: exact LOO")
    ax.plot(gd_alpha, gd_train, color="C0", ls="--", lw=1, label="GD: train")
    ax.plot(alphas, ridge_test, color="C3", lw=2, label="ridge: test")
    ax.plot(alphas, ridge_loo, color="C3", ls=":", lw=2, label="ridge: exact LOO")
    ax.plot(alphas, ridge_train, color="C3", ls="--", lw=1, label="ridge: train")
    ax.axvline(w_sum / (eta * t_star), color="C0", alpha=0.5, lw=1)
    ax.axvline(alpha_star, color="C3", alpha=0.5, lw=1)
    ax.axhline(0.09, color="k", lw=0.8, alpha=0.5)
    ax.text(min(alphas.min(), gd_alpha.min()), 0.09, "noise variance ", va="top", ha="right",
            fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_yticks([0.08, 0.1, 0.15, 0.2, 0.3, 0.5], labels=["0.08", "0.1", "0.15", "0.2", "0.3", "0.5"])
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlim(max(alphas.max(), gd_alpha.max()), min(alphas.min(), gd_alpha.min()))
    ax.set_xlabel("effective ridge penalty alpha   (GD: w_sum / (eta t), heuristic)")
    ax.set_ylabel("mean squared error")
    ax.set_title("regularisation paths (left: strong, right: weak)")
    ax.legend(fontsize=8, ncol=2, loc="upper right")
    top = ax.secondary_xaxis("top", functions=(lambda a: w_sum / (eta * np.maximum(a, 1e-12)),
                                               lambda t: w_sum / (eta * np.maximum(t, 1e-12))))
    top.set_xlabel("GD step t")

    grid = np.linspace(-2.2, 2.2, 400).reshape(-1, 1)
    ax2.plot(X[:, 0], y, "k.", ms=4, label="training data")
    ax2.plot(grid[:, 0], target(grid[:, 0]), color="0.5", lw=1, label="sin(2x)")
    ax2.plot(grid[:, 0], cv_gd.predict(grid), color="C0", lw=2,
             label=f"GD stopped at t={t_star} (LOO)")
    ax2.plot(grid[:, 0], cv_ridge.predict(grid), color="C3", lw=1.5, ls="--",
             label=f"ridge alpha={alpha_star:.3g} (LOO)")
    ax2.set_xlabel("x")
    ax2.set_title("the two leave-one-out choices")
    ax2.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    main()
