"""Raw inputs: when the random first layer is nearly affine on the data, and the warning that says so.
===================================================================================================

The default initialisation (``init='gaussian'``) is meant for standardised
inputs: its knots ``-b/w`` follow a standard Cauchy law.  On raw inputs far
from that scale the knots miss the data (inputs of size 1e-4, or ages in
[20, 80]) or crowd into the middle of it (inputs of size 1e4), the network is
affine on most of the data, and ridge fits little more than a line.  When it
draws the first layer the package counts the units that bend on the data and
the spread of their knots, and warns below thresholds that no standardised
sample reached (see ``doc/initialisations_and_potentials.md``).

The table sweeps the scale and the shift of 60 inputs of ``sin(2x)`` and
prints, for a ridge network of 200 units with ``alpha=1e-2``: the train R^2 on
the raw inputs, whether the check warned, the bending units and the spread,
and the train R^2 after each of the two fixes the warning names
(``StandardScaler`` in a pipeline, and ``init='uniform_knots'`` with ``alpha``
chosen by leave-one-out over a wide grid).

Run it with ``python examples/raw_inputs.py``; it prints the table and, when
matplotlib is installed, saves ``raw_inputs.png`` in the current working
directory.
"""

import warnings

import _plotting
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from sklearn_shallowrelu._coverage import layer_coverage
from sklearn_shallowrelu.datasets import make_curve

SCALES = (1e-4, 1e-2, 0.1, 0.3, 1.0, 10.0, 100.0, 1e4)
SHIFTS = (0.0, 1.5, 25.0)  # in units of the inputs' half-range: 25 takes [-2, 2] to about ages [46, 54] x scale


def main(plot_figure=True, scales=SCALES, shifts=SHIFTS):
    X, y = make_curve(60, noise=0.1, sort=True, random_state=0)  # sin(2x) + noise on [-2, 2]
    rows = []
    print("Ridge on raw inputs (X + shift) * scale: 200 units, init='gaussian', alpha=1e-2; train R^2")
    head = (f"{'scale':>8} | {'shift':>5} | {'raw R^2':>7} | {'warned':>6} | {'bending':>7} | {'spread':>8} | "
            f"{'scaled R^2':>10} | {'uniform_knots+CV':>16}")
    print(head)
    print("-" * len(head))
    for scale in scales:
        for shift in shifts:
            Xr = (X + shift) * scale
            net = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                raw = net.fit(Xr, y).score(Xr, y)
            warned = any("nearly affine" in str(r.message) for r in record)
            bending, units, spread = layer_coverage(net.hidden_weights_, net.hidden_bias_, Xr)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fixes' own accuracy warnings at 1e4 are beside the point
                scaled = make_pipeline(StandardScaler(), RandomFeatureReLURegressor(
                    n_hidden=200, alpha=1e-2, random_state=0)).fit(Xr, y).score(Xr, y)
                knots = RandomFeatureReLURegressorCV(n_hidden=200, init="uniform_knots",
                                                     alphas=np.logspace(-15, 3, 19),
                                                     random_state=0).fit(Xr, y).score(Xr, y)
            rows.append({"scale": scale, "shift": shift, "raw": raw, "warned": warned,
                         "bending": bending / units, "spread": spread, "scaled": scaled, "knots": knots})
            sp = "-" if spread is None else f"{spread:8.1e}"
            print(f"{scale:8.0e} | {shift:5.1f} | {raw:7.3f} | {str(warned):>6} | {bending / units:7.0%} | "
                  f"{sp:>8} | {scaled:10.3f} | {knots:16.3f}")
    print("(bending: share of units whose knot lies within the inputs; spread: interquartile range of\n"
          " those knots over the inputs' range, '-' with fewer than 20 of them)")

    if plot_figure:
        _plotting.save_figure(_plot, "raw_inputs.png", rows, shifts, blank_line=True)
    return rows


def _plot(plt, rows, shifts):
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for k, shift in enumerate(shifts):
        sub = [r for r in rows if r["shift"] == shift]
        s = [r["scale"] for r in sub]
        ax.plot(s, [r["raw"] for r in sub], "-o", color=f"C{k}", label=f"raw, shift {shift}")
        warned = [r for r in sub if r["warned"]]
        ax.plot([r["scale"] for r in warned], [r["raw"] for r in warned], "x", color="k", ms=10)
        ax.plot(s, [r["scaled"] for r in sub], ":", color=f"C{k}", label=f"standardised, shift {shift}")
    ax.plot([], [], "x", color="k", label="warned: nearly affine")
    ax.set_xscale("log")
    ax.set_xlabel("scale of the inputs")
    ax.set_ylabel("train R^2")
    ax.set_title("ridge on raw inputs, 200 units, init='gaussian'")
    ax.legend(fontsize=7)
    return fig


if __name__ == "__main__":
    main()
