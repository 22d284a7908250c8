"""Minima stability: the step size bounds the weighted curvature of the learned function.
======================================================================================

Mulayoff, Michaeli & Soudry ("The implicit bias of minima stability: a view
from function space", NeurIPS 2021) show that gradient descent with step
``eta`` can only stay at a minimum whose sharpness (top eigenvalue of the loss
Hessian, loss ``sum_i (f(x_i) - y_i)^2 / (2 m)``) is at most ``2 / eta``, and
that for a one-hidden-layer ReLU network *with an output bias*::

    sharpness  >=  gn_sharpness  >=  1 + 2 * integral |f''(x)| g_s(x) dx,

where ``g_s`` is the stability weight of the training inputs (large where the
data are dense, zero outside them).  At a stable interpolating minimum the
weighted curvature ``integral |f''| g_s`` is therefore at most
``1 / eta - 1 / 2``: larger steps can only settle on smoother functions.

The script fits :class:`~sklearn_shallowrelu.ShallowReLURegressor` (width 100,
full-batch GD, the same start for every step size) to 20 evenly spaced points
of ``T_3(x) = 4 x^3 - 3 x`` on ``[-1, 1]`` for a grid of step sizes, and
measures each fit with
:class:`~sklearn_shallowrelu.diagnostics.CurvatureDiagnostics` (``prefit=True``):
final loss, ``sharpness_`` and ``gn_sharpness_`` against ``2 / eta``,
``weighted_curvature_`` against the bound ``1 / eta - 1 / 2`` and
``is_linearly_stable(eta)``.

What to look for
----------------
* Every row is linearly stable (``sharpness_ <= 2 / eta``; at ``eta = 0.1`` the
  run sits *at* the edge of stability, ``sharpness_ ~ 2 / eta = 20``), and
  ``sharpness_ >= gn_sharpness_ >= hessian_lower_bound_`` holds throughout.
* Where the run converged (small final loss), ``weighted_curvature_ <= 1 / eta
  - 1 / 2`` holds, loosely: the bound is one to two orders of magnitude above
  the measured value, as in the paper.  The tighter link is
  ``weighted_curvature_ <= (gn_sharpness_ - 1) / 2`` (always true, converged
  or not), shown in the last column.
* Honest note, measured: in these short runs (10k steps) the weighted
  curvature does **not** fall monotonically with the step size; it stays
  around 0.34-0.41 for ``eta <= 0.2``, and even creeps up slightly.  The bound
  only says that large steps *forbid* sharp solutions; with ``eta <= 0.2`` the
  bound is never active (``1 / eta - 1 / 2 >= 4.5`` against values below
  0.5), so nothing forces the curvature down.  Nor can it go down by much: no
  interpolant of these data has a weighted curvature below 0.3968 (the linear
  interpolant's), so values below that only mean the run has not interpolated
  (see ``doc/diagnostics.md``, "What the step size does and does not order").  What does change is the
  sharpness, which drops sharply once ``2 / eta`` falls below the sharpness of
  the start (catapult at ``eta >= 0.15``).  At ``eta = 0.3`` GD cannot fit the
  data at all (the final loss stays about 0.2): it ends at a function that is
  flat in the middle and bends only near the ends of the data, where
  ``g_s`` is small -- tiny weighted curvature, sharpness far below ``2 / eta``.

Run it with ``python examples/stability_curvature_vs_step.py``; it prints the
table and, when matplotlib is installed, saves
``stability_curvature_vs_step.png`` in the current working directory.
"""

import warnings

import _plotting
import numpy as np

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics, stability_weight

LEARNING_RATES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
N_HIDDEN = 100
MAX_ITER = 10000
CONVERGED = 1e-3  # final loss below which a run counts as (nearly) interpolating


def chebyshev_t3(x):
    return 4 * x**3 - 3 * x


def measure(X, y):
    rows, diags = [], {}
    for eta in LEARNING_RATES:
        net = ShallowReLURegressor(n_hidden=N_HIDDEN, learning_rate=eta, max_iter=MAX_ITER, random_state=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.fit(X, y)
        diag = CurvatureDiagnostics(net, prefit=True).fit(X, y)
        diags[eta] = diag
        rows.append({
            "eta": eta,
            "diverged": bool(caught),
            "final_loss": diag.training_loss_,
            "converged": diag.training_loss_ < CONVERGED,
            "sharpness": diag.sharpness_,
            "gn_sharpness": diag.gn_sharpness_,
            "two_over_eta": 2.0 / eta,
            "hessian_lower_bound": diag.hessian_lower_bound_,
            "weighted_curvature": diag.weighted_curvature_,
            "weighted_curvature_per_neuron": diag.weighted_curvature_per_neuron_,
            "bound": diag.stability_bound(eta),
            "gn_bound": (diag.gn_sharpness_ - 1.0) / 2.0,
            "stable": diag.is_linearly_stable(eta),
            "knots_on_data": diag.knots_on_data_,
        })
    return rows, diags


def format_table(rows):
    head = (f"{'eta':>5} {'final loss':>10} | {'sharpness':>9} {'GN sharp':>8} {'2/eta':>6} {'stable':>6} | "
            f"{'TV_g':>6} {'1/eta-1/2':>9} {'holds':>5} | {'(GN-1)/2':>8} {'knots on data':>13}")
    lines = [head, "-" * len(head)]
    for r in rows:
        holds = ("yes" if r["weighted_curvature"] <= r["bound"] else "NO") if r["converged"] else "n/a"
        lines.append(
            f"{r['eta']:>5g} {r['final_loss']:>10.2e} | {r['sharpness']:>9.3f} {r['gn_sharpness']:>8.3f} "
            f"{r['two_over_eta']:>6.1f} {str(r['stable']):>6} | {r['weighted_curvature']:>6.3f} {r['bound']:>9.2f} "
            f"{holds:>5} | {r['gn_bound']:>8.3f} {str(r['knots_on_data']):>13}"
        )
    return "\n".join(lines)


def plot(plt, rows, diags, X, y):
    eta = np.array([r["eta"] for r in rows])
    conv = np.array([r["converged"] for r in rows])
    fig, (ax_c, ax_s, ax_f) = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)

    tv = np.array([r["weighted_curvature"] for r in rows])
    ax_c.plot(eta, [r["bound"] for r in rows], "k--", label="bound 1/eta - 1/2 (interpolating, stable)")
    ax_c.plot(eta, [r["gn_bound"] for r in rows], "C2:", marker="s", ms=4, label="(gn_sharpness - 1) / 2 (always)")
    ax_c.plot(eta, tv, "C0-", lw=1)
    ax_c.plot(eta[conv], tv[conv], "C0o", label="weighted_curvature_ (converged)")
    ax_c.plot(eta[~conv], tv[~conv], "C0o", mfc="none", label="weighted_curvature_ (final loss > 1e-3)")
    ax_c.set(xscale="log", yscale="log", xlabel="learning rate eta", ylabel="integral |f''| g_s",
             title="Weighted curvature against the stability bound")
    ax_c.legend(fontsize=8)

    two = np.array([r["two_over_eta"] for r in rows])
    sharp = np.array([r["sharpness"] for r in rows])
    lim = np.array([1.0, 1.2 * two.max()])
    ax_s.plot(lim, lim, "k--", lw=1, label="sharpness = 2 / eta (edge of stability)")
    ax_s.fill_between(lim, lim, lim[-1] * 2, color="C3", alpha=0.08, label="unstable for GD")
    ax_s.plot(two, sharp, "C1o-", label="sharpness_")
    ax_s.plot(two, [r["hessian_lower_bound"] for r in rows], "C2s:", ms=4, label="hessian_lower_bound_")
    for r in rows:
        ax_s.annotate(f"{r['eta']:g}", (r["two_over_eta"], r["sharpness"]), xytext=(3, 3),
                      textcoords="offset points", fontsize=7)
    ax_s.set(xscale="log", yscale="log", xlim=lim, ylim=(1, lim[-1]), xlabel="2 / eta",
             ylabel="top Hessian eigenvalue", title="Sharpness against 2 / eta (labels: eta)")
    ax_s.legend(fontsize=8, loc="upper left")

    grid = np.linspace(-1.1, 1.1, 400).reshape(-1, 1)
    ax_f.plot(X[:, 0], y, "k.", ms=7, label="data (T_3)")
    for eta_k, color in ((LEARNING_RATES[0], "C0"), (0.1, "C1"), (0.2, "C2"), (LEARNING_RATES[-1], "C3")):
        ax_f.plot(grid[:, 0], diags[eta_k].estimator_.predict(grid), color=color, lw=1.2, label=f"eta = {eta_k:g}")
    ax_g = ax_f.twinx()
    ax_g.fill_between(grid[:, 0], stability_weight(X[:, 0], grid[:, 0]), color="0.5", alpha=0.15)
    ax_g.set_ylabel("stability weight g_s (shaded)")
    ax_g.set_ylim(0, 4 * stability_weight(X[:, 0], 0.0))
    ax_f.set(xlabel="x", ylabel="f(x)", title="Fitted functions")
    ax_f.legend(fontsize=8, loc="upper center")
    fig.suptitle(f"ShallowReLURegressor(n_hidden={N_HIDDEN}), GD for {MAX_ITER} steps on 20 points of T_3")
    return fig


def main(plot_figure=True):
    X, y = make_curve(20, target=chebyshev_t3, x_range=(-1, 1), noise=0, sampling="grid")
    rows, diags = measure(X, y)
    print(f"ShallowReLURegressor(n_hidden={N_HIDDEN}), full-batch GD for {MAX_ITER} steps, same start, "
          f"20 points of T_3")
    print(format_table(rows))
    print("(TV_g = weighted_curvature_ = integral |f''| g_s; 'holds': TV_g <= 1/eta - 1/2, checked only where "
          f"the final loss < {CONVERGED:g}; (GN-1)/2 >= TV_g always)")
    ok = all(r["weighted_curvature"] <= r["gn_bound"] * (1 + 1e-9) for r in rows)
    print(f"weighted_curvature_ <= (gn_sharpness_ - 1) / 2 on every row: {ok}")
    if plot_figure:
        _plotting.save_figure(plot, "stability_curvature_vs_step.png", rows, diags, X, y)
    return rows


if __name__ == "__main__":
    main()
