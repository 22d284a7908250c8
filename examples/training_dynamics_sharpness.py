"""Training dynamics of a two-layer ReLU network: loss and sharpness against 2 / eta.
==================================================================================

A :class:`~sklearn_shallowrelu.ShallowReLURegressor` (width 100, both layers
trained, standard parametrisation, PyTorch's default start) is fitted by
full-batch gradient descent to 20 evenly spaced points on ``[-1, 1]``
labelled by the Chebyshev polynomial ``T_3(x) = 4 x^3 - 3 x`` (the toy problem
of Cohen et al., "Gradient descent on neural networks typically occurs at the
edge of stability", ICLR 2021), with three step sizes ``eta`` and the same
start.  ``compute_sharpness=True`` records the sharpness (the top eigenvalue of
the Hessian of the loss ``sum_i (f(x_i) - y_i)^2 / (2 m)``, by Lanczos on
analytic Hessian-vector products) every 100 steps.

Gradient descent with step ``eta`` on a quadratic is stable only if the
sharpness is at most ``2 / eta``; what happens on the network depends on where
the start sits relative to that line (its sharpness here is about 19.7):

What to look for
----------------
* ``eta = 0.02`` (``2 / eta = 100``): the sharpness stays far below the line and
  the loss decreases monotonically: the classical, gradient-flow-like regime.
* ``eta = 0.1`` (``2 / eta = 20``): the start is just below the line; the
  sharpness rises to it (progressive sharpening) and then *stays at* ``2 / eta``
  for thousands of steps while the loss keeps decreasing, non-monotonically:
  the edge of stability.  The table's median sharpness over the last 20
  measurements is 2 / eta to within a fraction of a percent.
* ``eta = 0.2`` (``2 / eta = 10``): the start is twice as sharp as this step
  allows.  The loss shoots up by two orders of magnitude in the first few steps
  and comes back down (the catapult), and training continues in a flatter
  region whose sharpness, about 5.7, is well below ``2 / eta``.  (The loss
  there still goes up on some steps, by about 1e-6: a few knots ``-b_k / w_k``
  hop back and forth across data points, where the ReLU loss is not smooth.)
* The larger the step, the flatter the region where training ends (final
  sharpness about 22.6, 20 and 5.7); the smallest step is the slowest to fit.

Run it with ``python examples/training_dynamics_sharpness.py``; it prints the
table and, when matplotlib is installed, saves
``training_dynamics_sharpness.png`` in the current working directory (loss
curves on a log scale, a zoom on the first 100 steps, and the sharpness against
the dotted ``2 / eta`` lines).
"""

import _plotting
import numpy as np
from numpy.polynomial import chebyshev

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import make_curve

LEARNING_RATES = (0.02, 0.1, 0.2)
N_HIDDEN = 100
MAX_ITER = 6000
SHARPNESS_EVERY = 100
LAST = 20  # the table's median sharpness is over the last LAST measurements


def chebyshev_t3(x):
    return chebyshev.chebval(x, [0, 0, 0, 1])


def fit_all(X, y):
    """One fit per step size, all from the same start (``random_state=0``)."""
    nets = {}
    for eta in LEARNING_RATES:
        nets[eta] = ShallowReLURegressor(
            n_hidden=N_HIDDEN, learning_rate=eta, max_iter=MAX_ITER, compute_sharpness=True,
            sharpness_every=SHARPNESS_EVERY, random_state=0,
        ).fit(X, y)
    return nets


def summarise(nets):
    rows = []
    for eta, net in nets.items():
        loss, sharp = net.loss_curve_, net.sharpness_curve_
        rows.append({
            "learning_rate": eta,
            "n_iter": net.n_iter_,
            "initial_loss": loss[0],
            "peak_loss_first_100": float(np.max(loss[:101])),
            "final_loss": loss[-1],
            "frac_steps_loss_up": float(np.mean(np.diff(loss) > 0)),
            "initial_sharpness": sharp[0],
            "median_sharpness_last": float(np.median(sharp[-LAST:])),
            "two_over_eta": 2.0 / eta,
        })
    return rows


def format_table(rows):
    head = (f"{'eta':>5} {'2/eta':>6} | {'loss t=0':>9} {'peak t<=100':>11} {'final loss':>10} {'steps up':>8} | "
            f"{'sharp t=0':>9} {'median last ' + str(LAST):>15} {'/ (2/eta)':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['learning_rate']:>5g} {r['two_over_eta']:>6.1f} | {r['initial_loss']:>9.4f} "
            f"{r['peak_loss_first_100']:>11.4g} {r['final_loss']:>10.2e} {100 * r['frac_steps_loss_up']:>7.1f}% | "
            f"{r['initial_sharpness']:>9.2f} {r['median_sharpness_last']:>15.2f} "
            f"{r['median_sharpness_last'] / r['two_over_eta']:>9.3f}"
        )
    return "\n".join(lines)


def plot(plt, nets):
    colors = dict(zip(LEARNING_RATES, ("tab:blue", "tab:orange", "tab:green")))
    fig, (ax_loss, ax_zoom, ax_sharp) = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    for eta, net in nets.items():
        c = colors[eta]
        t = np.arange(net.loss_curve_.size)
        ax_loss.semilogy(t, net.loss_curve_, color=c, lw=1, label=f"eta = {eta:g}")
        ax_zoom.semilogy(t[:101], net.loss_curve_[:101], color=c, lw=1.2, marker=".", ms=3, label=f"eta = {eta:g}")
        ax_sharp.plot(net.sharpness_iterations_, net.sharpness_curve_, color=c, marker="o", ms=2.5, lw=1,
                      label=f"eta = {eta:g}")
        ax_sharp.axhline(2.0 / eta, color=c, ls=":", lw=1.5)
        ax_sharp.annotate(f"2/eta = {2.0 / eta:g}", (0.6 * MAX_ITER, 2.0 / eta), xytext=(0, -3),
                          textcoords="offset points", ha="center", va="top", color=c, fontsize=8)
    ax_loss.set(xlabel="iteration", ylabel="training loss  sum r^2 / (2m)", title="Loss (log scale)")
    ax_zoom.set(xlabel="iteration", ylabel="training loss", title="The first 100 steps: the catapult at eta = 0.2")
    ax_sharp.set(xlabel="iteration", ylabel="sharpness (top Hessian eigenvalue)",
                 title="Sharpness (log scale); dotted: 2 / eta", yscale="log",
                 ylim=(2, 1.3 * 2.0 / min(LEARNING_RATES)))
    ticks = [2, 5, 10, 20, 50, 100]
    ax_sharp.set_yticks(ticks, [str(v) for v in ticks])
    ax_sharp.minorticks_off()
    for ax in (ax_loss, ax_zoom, ax_sharp):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Two-layer ReLU network (width {N_HIDDEN}), full-batch GD on 20 points of T_3")
    return fig


def main(plot_figure=True):
    X, y = make_curve(20, target=chebyshev_t3, x_range=(-1, 1), noise=0, sampling="grid")
    nets = fit_all(X, y)
    rows = summarise(nets)
    print(f"ShallowReLURegressor(n_hidden={N_HIDDEN}), full-batch GD for {MAX_ITER} steps on 20 points of T_3;")
    print(f"sharpness every {SHARPNESS_EVERY} steps (median over the last {LAST} measurements)")
    print(format_table(rows))
    print("('peak t<=100': largest loss in the first 100 steps; 'steps up': share of steps that raised the loss)")
    if plot_figure:
        _plotting.save_figure(plot, "training_dynamics_sharpness.png", nets)
    return {"nets": nets, "rows": rows}


if __name__ == "__main__":
    main()
