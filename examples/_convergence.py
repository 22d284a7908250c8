"""Distance of width-n networks to their infinite-width limit: the table and the panels.

A helper, not an example (hence the leading underscore): ``spline_convergence.py``
and ``width_to_kernel_limit.py`` measure the same thing against different
limits (a smoothing spline, kernel ridge regression) and report it the same
way.  ``errors`` is an array of shape ``(len(widths), 2)``: the mean and the
standard deviation over the seeds of the sup-distance to the limit.
"""

import numpy as np


def print_table(widths, errors, slope, column):
    """Print the distance against the width, its ratio per decade and the fitted slope.

    Parameters
    ----------
    widths : sequence of int
    errors : ndarray of shape (len(widths), 2)
    slope : float
        Least-squares slope of ``log10(error)`` against ``log10(width)``.
    column : str
        Header of the distance column (also sets its width).
    """
    w = len(column)
    head = f"{'n_hidden':>9} | {column:>{w}} {'(std)':>8} | {'ratio / decade':>14}"
    print(head)
    print("-" * len(head))
    for i, n in enumerate(widths):
        ratio = "" if i == 0 else f"{errors[i - 1, 0] / errors[i, 0]:14.2f}"
        print(f"{n:>9d} | {errors[i, 0]:{w}.5f} {errors[i, 1]:8.5f} | {ratio:>14}")
    print(f"least-squares slope: error ~ n^{slope:.2f}  ->  {10 ** (-slope):.2f} per decade "
          f"(expected n^-0.5, sqrt(10) = 3.16)")


def errors_panel(ax, results, ylabel, title, hline_key=None):
    """Distance against the width on log axes, one colour per entry of ``results``, with ``n^(-1/2)``.

    Parameters
    ----------
    ax : matplotlib Axes
    results : dict
        ``name -> {"widths", "errors", "slope", ...}``.
    ylabel, title : str
    hline_key : str, default=None
        Key of a level drawn as a dotted line in each entry's colour.
    """
    for k, (name, r) in enumerate(results.items()):
        w, e = r["widths"], r["errors"]
        ax.errorbar(w, e[:, 0], yerr=e[:, 1], marker="o", color=f"C{k}", capsize=3,
                    label=f"{name}: slope {r['slope']:.2f}")
        if hline_key is not None:
            ax.axhline(r[hline_key], color=f"C{k}", ls=":", lw=1)
    first = next(iter(results.values()))
    w = first["widths"]
    ax.plot(w, first["errors"][0, 0] * np.sqrt(w[0] / w), "k--", lw=1, label="n^(-1/2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n_hidden")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)


def curves_panel(plt, ax, X, y, grid, result, network, limit, title, fontsize=8):
    """The data, the networks of seed 0 below width 1e5 and the limit, on ``grid``.

    Parameters
    ----------
    plt : module
        ``matplotlib.pyplot`` (for its colour map).
    ax : matplotlib Axes
    X, y : ndarray
        The training data.
    grid : ndarray of shape (n_grid,)
    result : dict
        ``{"curves": {width: predictions on grid}, "limit": limit on grid}``.
    network, limit, title : str
        Legend prefix of the networks, legend of the limit, panel title.
    fontsize : int, default=8
        Of the legend.
    """
    ax.plot(X[:, 0], y, "k.", label="data")
    for k, (n, pred) in enumerate(sorted(result["curves"].items())):
        if n >= 100_000:  # indistinguishable from the limit at this scale
            continue
        ax.plot(grid, pred, color=plt.cm.viridis(0.15 + 0.3 * k), lw=1, label=f"{network}, n_hidden = {n}")
    ax.plot(grid, result["limit"], "r--", lw=2, label=limit)
    ax.set_xlabel("x")
    ax.set_title(title)
    ax.legend(fontsize=fontsize)
