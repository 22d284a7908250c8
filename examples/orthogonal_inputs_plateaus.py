"""Orthogonal inputs, small initialisation: saddle-to-saddle plateaus and a minimum-norm interpolator.
===================================================================================================

Boursier, Pillaud-Vivien & Flammarion ("Gradient flow dynamics of shallow ReLU
networks for square loss and orthogonal inputs", NeurIPS 2022) show that from
a small balanced initialisation gradient flow on orthogonal inputs goes
through plateaus of the loss (saddle to saddle) and ends at the minimum-norm
interpolator, one bundle of aligned neurons per sign of the labels.  Their toy
data are ``x = (-0.5, 2)``, ``y = (-1, 1)``: with the bias the augmented
inputs ``(-0.5, 1)`` and ``(2, 1)`` are orthogonal
(:func:`~sklearn_shallowrelu.datasets.load_boursier_orthogonal`).

The script fits :class:`~sklearn_shallowrelu.ShallowReLURegressor` (width 60,
``init=Gaussian(1/60, 1/60)``, ``init_scale=1e-3``, ``output_init='balanced'``,
as in the authors' notebook) by full-batch GD and reads the loss curve, the
singular values and stable rank of ``[W | b]``
(:class:`~sklearn_shallowrelu.diagnostics.RankDiagnostics`) and the final
function.

The run is much shorter than the paper's (lr 1e-3, 400k steps with the loss
``MSE`` without 1/2): ``learning_rate=0.02`` for 2000 steps, i.e. a gradient
flow time of 40 in our loss ``sum r^2 / (2 m)`` (80 in theirs); the loss is
below 1e-3 of its start after about 800 steps.

One difference changes the answer, and the script shows it: our network has a
trained **output bias** ``c`` (the paper's has none).

* Without an output bias the minimum-norm interpolator is
  ``f*(x) = relu(0.4 x + 0.2) - relu(0.8 - 0.4 x)`` (``beta_+ = (0.4, 0.2)``,
  ``beta_- = (-0.4, 0.8)``; ``||theta||^2 = 2 (|beta_+| + |beta_-|) = 2.6833``;
  rank 2, singular values 0.9457 and 0.6687, stable rank 1.5).
* With a free (unpenalised) output bias, minimising ``||theta||^2`` over the
  other parameters of the interpolators gives ``c = -1`` and
  ``f_c(x) = relu(0.8 x + 0.4) - 1``: the norm ``2 (|1 - c| / |x_+| + |1 + c| /
  |x_-|)`` (``|x_+|^2 = 5``, ``|x_-|^2 = 1.25``) is increasing in ``c`` on
  ``[-1, 1]``, so the negative label is fitted by the bias for free;
  ``||theta||^2 = 4 / sqrt(5) = 1.7889``, rank one.

What to look for: the loss sits on the plateau ``L(0) = 0.5`` for a few
hundred steps (the escape from the small initialisation), then drops; with
the output bias there is no second long plateau at ``0.25`` (the negative
point is fitted by ``c`` while the positive bundle grows), so the saddle to
saddle picture of the paper is reduced to one saddle here.  GD ends at
``f_c``: ``||theta||^2`` is 1.7895 against 1.7889, the top singular value
0.9456 against ``sqrt(2 / sqrt(5)) = 0.9457``, stable rank 1.0007 (the
second singular value, 0.026, comes from neurons that never left the
initialisation; they are still "active" at ``active_tol=1e-3`` and make
``n_lines_`` 2; the effective rank, 1.13, is more sensitive to them than the
stable rank), the output bias -0.999, and the final function matches ``f_c``
to 3e-4 on ``[-1.5, 3]`` while it is 0.4 away from the paper's ``f*``.

Run it with ``python examples/orthogonal_inputs_plateaus.py``; it prints the
table and, when matplotlib is installed, saves
``orthogonal_inputs_plateaus.png`` in the current working directory.
"""

import _plotting
import numpy as np

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.datasets import load_boursier_orthogonal
from sklearn_shallowrelu.diagnostics import RankDiagnostics
from sklearn_shallowrelu.init import Gaussian

WIDTH, INIT_SCALE, LEARNING_RATE, MAX_ITER = 60, 1e-3, 0.02, 2000


def f_star(x):
    """Minimum-norm interpolator without output bias (Boursier et al.)."""
    return np.maximum(0.4 * x + 0.2, 0) - np.maximum(0.8 - 0.4 * x, 0)


def f_with_bias(x):
    """Minimum-norm interpolator when the output bias is free: ``relu(0.8 x + 0.4) - 1``."""
    return np.maximum(0.8 * x + 0.4, 0) - 1.0


def main(plot_figure=True):
    X, y = load_boursier_orthogonal()
    net = ShallowReLURegressor(n_hidden=WIDTH, init=Gaussian(1.0 / WIDTH, 1.0 / WIDTH), init_scale=INIT_SCALE,
                               output_init="balanced", learning_rate=LEARNING_RATE, max_iter=MAX_ITER,
                               random_state=0).fit(X, y)
    rd = RankDiagnostics(net, prefit=True).fit(X, y)
    loss = net.loss_curve_
    grid = np.linspace(-1.5, 3.0, 451).reshape(-1, 1)
    pred = net.predict(grid)
    theta2 = float(np.sum(net.hidden_weights_**2) + np.sum(net.hidden_bias_**2) + np.sum(net.output_weights_**2))
    first_below = {q: int(np.argmax(loss < q * loss[0])) if np.any(loss < q * loss[0]) else None
                   for q in (0.9, 0.45, 1e-3)}
    s = rd.singular_values_
    result = {
        "final_loss": float(loss[-1]), "steps_below": first_below, "singular_values": s[:2].tolist(),
        "stable_rank": rd.stable_rank_, "effective_rank": rd.effective_rank_, "nuclear_norm": rd.nuclear_norm_,
        "numerical_rank": rd.numerical_rank_, "n_lines": rd.n_lines_, "theta_sq": theta2,
        "intercept": float(net.intercept_),
        "max_dev_f_star": float(np.max(np.abs(pred - f_star(grid[:, 0])))),
        "max_dev_f_with_bias": float(np.max(np.abs(pred - f_with_bias(grid[:, 0])))),
    }
    print(f"Boursier et al.'s toy data x = (-0.5, 2), y = (-1, 1); ShallowReLURegressor(n_hidden={WIDTH}), "
          f"balanced Gaussian start, init_scale={INIT_SCALE:g}, GD lr={LEARNING_RATE}, {MAX_ITER} steps")
    print(f"loss: start {loss[0]:.4f} (plateau), below 0.9x start at step {first_below[0.9]}, below 0.45x at "
          f"step {first_below[0.45]}, below 1e-3x at step {first_below[1e-3]}; final {loss[-1]:.2e}")
    head = f"{'quantity':<34} {'GD':>10} {'min-norm, free c':>16} {'min-norm, no c':>14}"
    print(head)
    print("-" * len(head))
    two = (s[1] if s.size > 1 else 0.0)
    for name, got, with_c, no_c in (
        ("||theta||^2 (W, b, v)", theta2, 4 / np.sqrt(5), 2 * (np.sqrt(0.2) + np.sqrt(0.8))),
        ("output bias c", result["intercept"], -1.0, 0.0),
        ("singular value 1 of [W | b]", s[0], np.sqrt(2 / np.sqrt(5)), np.sqrt(np.sqrt(0.8))),
        ("singular value 2 of [W | b]", two, 0.0, np.sqrt(np.sqrt(0.2))),
        ("stable rank", rd.stable_rank_, 1.0, 1.5),
        ("effective rank", rd.effective_rank_, 1.0, 1.9706),
        ("line clusters (n_lines_)", rd.n_lines_, 1, 2),
        ("max |f - f_c| on [-1.5, 3]", result["max_dev_f_with_bias"], 0.0, np.nan),
        ("max |f - f*| on [-1.5, 3]", result["max_dev_f_star"], np.nan, 0.0),
    ):
        print(f"{name:<34} {got:>10.4f} {with_c:>16.4f} {no_c:>14.4f}")
    print("(f_c(x) = relu(0.8x + 0.4) - 1: the min-norm interpolator with a free output bias, which this network "
          "has; f*(x) = relu(0.4x + 0.2) - relu(0.8 - 0.4x): the paper's, without output bias)")
    if plot_figure:
        _plotting.save_figure(_plot, "orthogonal_inputs_plateaus.png", net, rd, X, y, grid, pred)
    return result


def _plot(plt, net, rd, X, y, grid, pred):
    fig, (ax_l, ax_f, ax_n) = plt.subplots(1, 3, figsize=(15, 4.3), constrained_layout=True)
    loss = net.loss_curve_
    ax_l.semilogy(np.arange(loss.size), loss, color="C0")
    for level, label in ((0.5, "L(0) = sum y^2 / (2m)"), (0.25, "one point fitted")):
        ax_l.axhline(level, color="0.5", ls=":", lw=1)
        ax_l.text(loss.size * 0.98, level, label, ha="right", va="bottom", fontsize=8)
    ax_l.set(xlabel="GD step", ylabel="loss sum r^2 / (2m)", title="Training loss", ylim=(1e-12, 2))
    ax_f.plot(grid[:, 0], pred, color="C0", lw=2.5, label="GD (this network)")
    ax_f.plot(grid[:, 0], f_with_bias(grid[:, 0]), color="C1", ls="--", label="min-norm, free output bias")
    ax_f.plot(grid[:, 0], f_star(grid[:, 0]), color="C2", ls=":", lw=2, label="min-norm, no output bias (paper)")
    ax_f.plot(X[:, 0], y, "ko", ms=7, label="data")
    ax_f.set(xlabel="x", ylabel="f(x)", title="Final function")
    ax_f.legend(fontsize=8)
    # each unit's direction and amplitude: the few that grew share two directions
    from sklearn_shallowrelu.plotting import NeuronDisplay

    NeuronDisplay.from_estimator(net, ax=ax_n)
    ax_n.set(yscale="log", title=f"Neurons: direction and amplitude; stable rank {rd.stable_rank_:.3f}")
    return fig


if __name__ == "__main__":
    main()
