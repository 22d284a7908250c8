"""The figure boilerplate that every example shares (a helper, not an example).

matplotlib is optional: an example prints its tables without it and only says
that the figure was skipped.  With it, the figure is drawn on the
non-interactive Agg backend (the examples write PNG files and must run where
there is no display: CI, ssh, the test suite) and saved in the current working
directory.

The examples are run as scripts, so ``import _plotting`` finds this file next
to them; the leading underscore keeps it out of the example listings (and of
``tests/test_examples.py``).
"""

import os
import sys

NOT_INSTALLED = "matplotlib is not installed: no figure (pip install matplotlib)."


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or None when matplotlib is missing.

    Returns
    -------
    module or None
    """
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(draw, filename, *args, dpi=110, blank_line=False):
    """Draw a figure and save it in the current directory, or say why not.

    Parameters
    ----------
    draw : callable
        ``draw(plt, *args)`` builds the figure with ``plt``
        (``matplotlib.pyplot``) and returns it.
    filename : str
        File name of the PNG, written in the current working directory.
    *args
        Passed to ``draw`` after ``plt``.
    dpi : int, default=110
    blank_line : bool, default=False
        Print an empty line before the message (after a table that ends
        without one).

    Returns
    -------
    path : str or None
        Where the figure was saved; None without matplotlib.
    """
    lead = "\n" if blank_line else ""
    plt = pyplot()
    if plt is None:
        print(lead + NOT_INSTALLED)
        return None
    path = os.path.join(os.getcwd(), filename)
    fig = draw(plt, *args)
    fig.savefig(path, dpi=dpi)
    if "sphinx_gallery" not in sys.modules:  # the documentation's gallery collects the open figures
        plt.close(fig)
    print(f"{lead}Figure saved to {path}")
    return path
