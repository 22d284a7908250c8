"""Condensation at small initialisation: hidden vectors align on at most p lines.
==============================================================================

Zhou, Zhou, Luo, Zhang & Xu ("Towards understanding the condensation of neural
networks at initial training", NeurIPS 2022) observe that with a small
initialisation the input weights *including the bias*, ``(w_k, b_k)``, of the
hidden units of a two-layer network align early in training onto a few
orientations: for an activation of multiplicity ``p`` (``tanh``: 1,
``x tanh x``: 2, ``x^2 tanh x``: 3) at most ``p`` lines, i.e. ``2 p``
orientations.  With a standard (large) initialisation nothing of the kind
happens.

The script fits :class:`~sklearn_shallowrelu.ShallowReLURegressor` (width 100,
full-batch GD, balanced start ``|v_k| = |(w_k, b_k)|``) to 40 points of
``sin(3x) + sin(6x) / 2`` on ``[-1, 1.5]`` (Zhou et al.'s 1-D problem), for
each activation at a small ``init_scale`` and at ``init_scale=1``, and stops at
the *end of the initial stage*: the first time the training loss is below 95%
of its starting value (checked every 25 steps with ``warm_start``).  It then
reads :class:`~sklearn_shallowrelu.diagnostics.RankDiagnostics` with
``active_tol=0.1`` (units whose hidden vector is shorter than 10% of the
longest are dropped, as in the paper's heat maps): ``n_lines_`` (line
clusters, ``|cos| >= 0.98``, holding at least 5% of the kept units),
``lines_to_cover_80_`` and the ``cosine_matrix_`` sorted by cluster, drawn as
heat maps (beige: same direction, navy: opposite).  Three seeds per setting.

Step sizes.  The paper trains with Adam; with plain GD the time to leave the
small-initialisation saddle grows like ``log(1 / init_scale)`` for ``p = 1``
(and ReLU) but like ``init_scale^-(p - 1)`` for ``p >= 2``, so the larger
multiplicities get a somewhat larger ``init_scale`` and a larger step (the
loss Hessian is tiny near zero, so these steps are stable there).

What to look for (measured, see the printed table; the same on all 3 seeds)
---------------------------------------------------------------------------
* ``tanh`` at small initialisation: 73-76 of the 100 units are kept and all
  lie on **one line** (two antipodal orientations); even counting every unit
  (``active_tol=1e-3``) there is one line.  The heat map is two solid
  beige/navy blocks.
* ReLU at small initialisation: two lines (37-45 units kept; two
  orientations, about 135 degrees apart, not antipodal).
* ``x tanh x`` and ``x^2 tanh x`` at small initialisation: the kept units
  lie on one line, within the bound ``p`` -- but only 1 to 6 units are kept.
  With GD (unlike the paper's Adam) the escape for ``p >= 2`` is
  winner-take-all: the units that start longest and best aligned blow up in
  finite time, long before the others have moved, so at the end of the
  initial stage only a handful exceed 10% of the largest norm, and counting
  every unit (``active_tol=1e-3``) finds 6-7 lines, the small units still
  pointing in their initial directions.  Zhou et al.'s population-wide ``p``
  lines are not reproduced with GD at these sizes.
* ``init_scale=1``: the hidden vectors keep their random directions: 5-6
  lines are needed to cover 80% of the units for every activation, and the
  heat map is speckled.

Run it with ``python examples/condensation_small_init.py``; it prints the table
and, when matplotlib is installed, saves ``condensation_small_init.png`` in
the current working directory (seed 0).
"""

import warnings

import _plotting
import numpy as np

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.diagnostics import RankDiagnostics

N_HIDDEN = 100
SEEDS = (0, 1, 2)
LOSS_FRACTION = 0.95  # "end of the initial stage": loss below this fraction of the start
CHUNK = 25
MAX_STEPS = 4000
# activation -> (multiplicity p, small init_scale, step at small init); init_scale=1 uses LARGE_STEP
SETTINGS = {
    "tanh": (1, 1e-3, 0.5),
    "xtanh": (2, 1e-2, 1.0),
    "x2tanh": (3, 3e-2, 1.0),
    "relu": (None, 1e-3, 0.5),
}
LARGE_STEP = 0.01


def target(x):
    return np.sin(3 * x) + np.sin(6 * x) / 2


def fit_initial_stage(X, y, activation, init_scale, learning_rate, seed):
    """GD in chunks of CHUNK steps until the loss is below LOSS_FRACTION of its start."""
    net = ShallowReLURegressor(n_hidden=N_HIDDEN, activation=activation, init_scale=init_scale,
                               output_init="balanced", learning_rate=learning_rate, max_iter=CHUNK,
                               warm_start=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
        while net.loss_curve_[-1] > LOSS_FRACTION * net.loss_curve_[0] and net.n_iter_ < MAX_STEPS:
            before = net.n_iter_
            net.fit(X, y)
            if net.n_iter_ == before:  # diverged: fit keeps the last finite parameters and stops
                break
    return net


def run(X, y):
    rows, maps = [], {}
    for activation, (p, small, step) in SETTINGS.items():
        for init_scale, eta in ((small, step), (1.0, LARGE_STEP)):
            for seed in SEEDS:
                net = fit_initial_stage(X, y, activation, init_scale, eta, seed)
                rd = RankDiagnostics(net, prefit=True, active_tol=0.1).fit(X, y)
                rd_all = RankDiagnostics(net, prefit=True, active_tol=1e-3).fit(X, y)
                sizes = np.bincount(rd.cluster_labels_[rd.cluster_labels_ >= 0])
                rows.append({
                    "activation": activation, "p": p, "init_scale": init_scale, "learning_rate": eta,
                    "seed": seed, "steps": net.n_iter_, "loss0": net.loss_curve_[0], "loss": net.loss_curve_[-1],
                    "n_kept": rd.n_active_, "n_lines": rd.n_lines_, "lines_to_cover_80": rd.lines_to_cover_80_,
                    "n_orientations": rd.n_orientations_, "largest_lines": sizes[:3].tolist(),
                    "n_lines_all_units": rd_all.n_lines_, "cover80_all_units": rd_all.lines_to_cover_80_,
                })
                if seed == SEEDS[0]:
                    maps[activation, init_scale] = rd.cosine_matrix_
    return rows, maps


def format_table(rows):
    head = (f"{'activation':>10} {'p':>3} {'init':>6} {'eta':>5} {'seed':>4} {'steps':>5} {'loss':>13} | "
            f"{'kept':>4} {'lines':>5} {'cover80':>7} {'orient':>6} {'largest lines':>14} | "
            f"{'all units: lines':>16} {'cover80':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        p = "-" if r["p"] is None else str(r["p"])
        lines.append(
            f"{r['activation']:>10} {p:>3} {r['init_scale']:>6g} {r['learning_rate']:>5g} {r['seed']:>4} "
            f"{r['steps']:>5} {r['loss0']:>6.3f}>{r['loss']:<6.3f} | {r['n_kept']:>4} {r['n_lines']:>5} "
            f"{r['lines_to_cover_80']:>7} {r['n_orientations']:>6} {str(r['largest_lines']):>14} | "
            f"{r['n_lines_all_units']:>16} {r['cover80_all_units']:>7}"
        )
    return "\n".join(lines)


def plot(plt, maps):
    names = {"tanh": "tanh (p=1)", "xtanh": "x tanh x (p=2)", "x2tanh": "x^2 tanh x (p=3)", "relu": "ReLU"}
    fig, axes = plt.subplots(2, 4, figsize=(15, 7.6), constrained_layout=True)
    for j, (activation, (_, small, _)) in enumerate(SETTINGS.items()):
        for i, scale in enumerate((small, 1.0)):
            ax = axes[i, j]
            C = maps[activation, scale]
            im = ax.imshow(C, cmap="cividis", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_title(f"{names[activation]}, init_scale={scale:g}\n{C.shape[0]} kept units", fontsize=9)
            if i == 1:
                ax.set_xlabel("unit (sorted by line cluster)", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label="cos of (w_k, b_k) and (w_j, b_j)")
    fig.suptitle("Cosine heat maps of the hidden vectors at the end of the initial stage (seed 0): "
                 "small init (top) condenses on <= p lines, init_scale=1 (bottom) does not")
    return fig


def main(plot_figure=True):
    X, y = make_curve(40, target=target, x_range=(-1, 1.5), noise=0, sampling="grid")
    rows, maps = run(X, y)
    print(f"ShallowReLURegressor(n_hidden={N_HIDDEN}, output_init='balanced'), GD until the loss is below "
          f"{LOSS_FRACTION:g} x its start (checked every {CHUNK} steps, at most {MAX_STEPS})")
    print(format_table(rows))
    print("(kept: units with |(w,b)| >= 0.1 max, counted in lines/cover80/orient; lines: clusters with |cos| >= 0.98 "
          "holding >= 5% of kept units; 'all units': the same with active_tol=1e-3)")
    print()
    print("lines_to_cover_80_ per seed (small init -> init_scale=1):")
    for activation, (p, small, _) in SETTINGS.items():
        c_small = [r["lines_to_cover_80"] for r in rows if r["activation"] == activation and r["init_scale"] == small]
        c_big = [r["lines_to_cover_80"] for r in rows if r["activation"] == activation and r["init_scale"] == 1.0]
        bound = "" if p is None else f"  (p = {p})"
        print(f"  {activation:>7}: {c_small} -> {c_big}{bound}")
    if plot_figure:
        _plotting.save_figure(plot, "condensation_small_init.png", maps, dpi=100)
    return rows


if __name__ == "__main__":
    main()
