"""Mirror descent with different potentials picks different interpolants.
======================================================================

With more hidden units than samples and no penalty (``alpha=0``), training the
output layer has infinitely many exact solutions.  Mirror descent with the
potential ``Phi(v) = sum_k phi(v_k - v_k(0))``,

    phi'(v_{t+1} - v_0) = phi'(v_t - v_0) - eta * grad L(v_t),

started at ``v_0 = 0`` converges (Gunasekar et al. 2018) to the interpolant
closest to the start in the Bregman divergence of ``Phi``,

    D_Phi(v, 0) = sum_k phi(v_k) - phi(0) - phi'(0) v_k,

so the potential *is* the implicit bias.  ``RandomFeatureReLURegressor(
solver='mirror', potential=...)`` runs it on a random-feature ReLU network; here
on 6 points in 1-D with 200 hidden units:

* ``Quadratic()``: plain gradient descent, the minimum-l2-norm interpolant
  (checked against the pseudo-inverse);
* ``HyperbolicEntropy(beta=1)``: ``phi'' = 1 / sqrt(x^2 + beta^2)`` is ~1 for
  weights smaller than ``beta`` (here every ``|v_k| < 0.8``), so the bias is
  essentially that of gradient descent (an unscaled potential acts through
  ``phi''(0)`` only, and in the wide limit has the same bias as GD);
* ``HyperbolicEntropy(beta=0.01)``: weights much larger than ``beta`` see an
  ``l1``-like potential, so fewer units carry the fit;
* ``WidthScaled(QuadraticPlusPower(p=3))``: Liang & Montufar's width-scaled
  potential ``phi(s x) / s^2`` with ``s = sqrt(n_hidden)`` (the estimator resolves
  the scale), which probes ``x^2/2 + |x|^3/3`` at the natural size ``s |v_k| ~ 1``
  of the weights and penalises large weights (large curvature) more than the
  quadratic does.

What to look for: every run drives the training loss to (nearly) zero, i.e. all
interpolate, but the learned functions differ between the data points, and the
cross table of Bregman divergences has its row minimum on the diagonal: each
run found the interpolant that *its own* potential prefers.  The bias is not
scale-invariant: with larger targets the non-quadratic potentials depart further
from gradient descent.

Step sizes.  The smallest eigenvalue of this 6-point problem is ~3e-4 times
the largest, so reaching the interpolant takes tens of thousands of steps.  For
mirror descent ``learning_rate='auto'`` starts at ``phi''(0) / lambda_max`` and
caps every step at ``min_k phi''(v_k - v0_k) / lambda_max`` (half the local
stability limit of the preconditioned iteration), halving it while the loss
would rise: safe for every potential, but slow.  The runs below therefore use explicit steps, in units of
``1 / lambda_max``: ``1.9`` for ``Quadratic`` and the scaled
``QuadraticPlusPower`` (``phi'' >= 1`` everywhere, so any step below ``2`` is
stable), ``1.5`` for ``HyperbolicEntropy(beta=1)`` (``phi'' >= 0.78`` at these
weights) and ``4`` for ``HyperbolicEntropy(beta=0.01)`` (stable on this problem,
not guaranteed: on larger targets such a step can diverge, and the estimator
then warns and keeps the last finite weights).

Run it with ``python examples/mirror_descent_potentials.py``; it prints the
tables and, when matplotlib is installed, saves ``mirror_descent_potentials.png``
in the current working directory.
"""

import _plotting
import numpy as np

from sklearn_shallowrelu import ReLURandomFeatures, RandomFeatureReLURegressor
from sklearn_shallowrelu.potentials import (
    HyperbolicEntropy,
    Quadratic,
    QuadraticPlusPower,
    WidthScaled,
    resolve_potential,
)

N_HIDDEN = 200
INIT = "rademacher_uniform"  # W = +-1, bias uniform on [-3, 3]
# Six points in [-2, 2], written out; small targets so that all potentials stay tractable.
X_DATA = np.array([-2.0, -1.2, -0.4, 0.3, 1.1, 2.0]).reshape(-1, 1)
Y_DATA = np.array([0.10, -0.10, 0.04, 0.16, -0.04, 0.08])


def min_norm_interpolant(X, y):
    """Minimum-l2-norm interpolant with a free intercept, by the pseudo-inverse."""
    F = ReLURandomFeatures(N_HIDDEN, init=INIT, random_state=0).fit_transform(X)
    Fc = F - F.mean(axis=0)
    return np.linalg.pinv(Fc) @ (y - y.mean())


def main(plot_figure=True):
    X, y = X_DATA, Y_DATA
    gd_probe = RandomFeatureReLURegressor(n_hidden=N_HIDDEN, init=INIT, solver="gd",
                                          max_iter=1, random_state=0).fit(X, y)
    lam_max = 1.0 / gd_probe.learning_rate_  # 'auto' step of GD is 1 / lambda_max

    # potential, step size in units of 1 / lambda_max, number of steps
    runs = {
        "Quadratic()": (Quadratic(), 1.9, 40000),
        "HyperbolicEntropy(beta=1)": (HyperbolicEntropy(beta=1.0), 1.5, 40000),
        "HyperbolicEntropy(beta=0.01)": (HyperbolicEntropy(beta=0.01), 4.0, 40000),
        "WidthScaled(QPP(p=3))": (WidthScaled(QuadraticPlusPower(p=3)), 1.9, 80000),
    }

    models = {}
    for name, (potential, lr, steps) in runs.items():
        models[name] = RandomFeatureReLURegressor(
            n_hidden=N_HIDDEN, init=INIT, solver="mirror", potential=potential, alpha=0,
            learning_rate=lr / lam_max, max_iter=steps, random_state=0,
        ).fit(X, y)
    names = list(models)
    width_scale = np.sqrt(N_HIDDEN)
    resolved = {name: resolve_potential(runs[name][0], width_scale) for name in names}

    inside = np.linspace(X.min(), X.max(), 401).reshape(-1, 1)
    preds = {name: m.predict(inside) for name, m in models.items()}
    v_pinv = min_norm_interpolant(X, y)

    print(f"Mirror descent on the output layer: {len(y)} samples, n_hidden={N_HIDDEN} "
          f"(init={INIT!r}), alpha=0, start v0 = 0")
    print(f"lambda_max = {lam_max:.4f} (top eigenvalue of the Hessian of the loss "
          f"sum r^2 / (2 m))")
    print()
    head = (f"{'potential':<29} {'step*lam_max':>12} {'steps':>6} {'train loss':>10} {'||v||_2':>8} "
            f"{'||v||_1':>8} {'max|v|':>7} {'#|v|>10% max':>12} {'D_own(v,0)':>10}")
    print(head)
    print("-" * len(head))
    for name, m in models.items():
        v = m.coef_
        print(f"{name:<29} {m.learning_rate_ * lam_max:12.3g} {m.n_iter_:6d} {m.loss_curve_[-1]:10.1e} "
              f"{np.linalg.norm(v):8.4f} {np.abs(v).sum():8.3f} {np.abs(v).max():7.3f} "
              f"{int(np.sum(np.abs(v) > 0.1 * np.abs(v).max())):12d} "
              f"{resolved[name].bregman(v, 0.0):10.4g}")
    rel = np.linalg.norm(models["Quadratic()"].coef_ - v_pinv) / np.linalg.norm(v_pinv)
    print(f"Quadratic() vs the minimum-norm interpolant pinv(F_c) y_c: relative distance {rel:.1e}")

    print()
    print("Bregman divergence D_Phi(v, 0) of each run's weights (columns) under each potential "
          "(rows); * = row minimum")
    short = ["Quadratic", "HypEnt(1)", "HypEnt(.01)", "WS(QPP3)"]
    print(f"{'':<29}" + "".join(f"{s:>13}" for s in short))
    cross = np.array([[resolved[r].bregman(models[c].coef_, 0.0) for c in names] for r in names])
    for i, r in enumerate(names):
        j_min = int(np.argmin(cross[i]))
        cells = "".join(f"{cross[i, j]:12.5g}{'*' if j == j_min else ' '}" for j in range(len(names)))
        print(f"{r:<29}{cells}")

    print()
    print("sup |f_i - f_j| between the learned functions on the data range [-2, 2]")
    print(f"{'':<29}" + "".join(f"{s:>13}" for s in short))
    for a in names:
        print(f"{a:<29}" + "".join(f"{np.abs(preds[a] - preds[b]).max():13.4f}" for b in names))

    if plot_figure:
        _plotting.save_figure(_plot, "mirror_descent_potentials.png", X, y, models, dpi=120, blank_line=True)
    return {"models": models, "cross_bregman": cross, "names": names}


def _plot(plt, X, y, models):
    grid = np.linspace(-3, 3, 601).reshape(-1, 1)
    styles = ["-", "--", "-", "-."]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for k, (name, m) in enumerate(models.items()):
        ax.plot(grid[:, 0], m.predict(grid), ls=styles[k], color=f"C{k}", lw=1.8, label=name)
        mags = np.sort(np.abs(m.coef_))[::-1] * np.sqrt(m.n_hidden)
        ax2.plot(np.arange(1, mags.size + 1), mags, ls=styles[k], color=f"C{k}", lw=1.8,
                 label=name)
    ax.plot(X[:, 0], y, "ko", ms=6, label="training data")
    ax.axvspan(-3, X.min(), color="0.92")
    ax.axvspan(X.max(), 3, color="0.92")
    ax.set_xlim(-3, 3)
    ax.set_xlabel("x")
    ax.set_title("all interpolate, but not the same way (grey: outside the data)")
    ax.legend(fontsize=8)
    ax2.set_yscale("log")
    ax2.set_ylim(1e-4, None)
    ax2.set_xlabel("rank k of the hidden unit")
    ax2.set_ylabel("sqrt(n_hidden) |v_k|, sorted")
    ax2.set_title("output-weight magnitudes")
    ax2.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    main()
