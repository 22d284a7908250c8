"""Does the random first layer bend on the data, or is it nearly affine there?

A ReLU unit ``relu(w . x + b)`` is affine on every region of input space that
its hyperplane ``w . x + b = 0`` does not cut.  Between two consecutive
distinct training inputs of a 1-D problem, the whole network is therefore
affine unless a knot ``-b / w`` lies in that gap; a network whose knots fall in
only a few gaps can bend only a few times on the data, however wide it is, and
ridge or gradient descent then fit little more than a line.  This is what an
initialisation meant for standardised inputs does to raw ones: the knots of
``init='gaussian'`` follow a standard Cauchy law, so inputs in ``[20, 80]`` (an
age) see about one knot in a hundred, inputs of size ``1e-4`` see none, and
inputs of size ``1e4`` see them all crowded into the one gap around zero.

Two numbers measure it.  The *bending units* are those active on some inputs
and inactive on others (in 1-D, whose knot lies within the range of the
inputs): the others add only an affine function there, so a layer with few
bending units is in effect a much narrower one.  In 1-D the *spread* of the
knots within the data (their interquartile range over the inputs' range)
catches knots that are all in range but crowded together.

The thresholds come from a measurement over the four data-independent
built-in initialisations, widths 3 to 50,000 and 10 to 20,000 standardised
inputs (uniform, normal, exponential and log-normal samples), 4,960 draws in
all: at widths of 1000 and more at least 32% of the units bend (57% for
``init='gaussian'``), and the spread is 0.04 or more.  The raw-data failures
above have under 10% bending units or a spread under 1e-3, and train R^2
below 0.65 where standardised inputs give 0.98.  The estimators warn when the
number of bending units is below the 0.1% quantile of a binomial with rate 0.25
(so a width of 200 warns below 32 bending units, and widths under 25 never
do), or when the spread is below 0.01; none of the standardised draws warns.
Milder cases are not flagged: inputs shrunk by a factor of 3 to 6, or shifted
by about their own spread (R^2 0.3 to 0.6 at 200 units, against 0.98), where
a stricter rule would also flag well-scaled samples.

The warning names two fixes: standardise ``X``, or use
``init='uniform_knots'``, which places the knots over the range of the data
(the penalty ``alpha`` then acts on the data's own scale, so it is chosen by
cross-validation over a wide grid).
"""

import numpy as np
from scipy.special import bdtr

from ._warn import warn

__all__ = ["init_name", "layer_coverage", "warn_if_affine_on_data", "warn_if_limit_affine_on_data"]

#: On standardised inputs at least 32% of the units bend (the least, for
#: init='uniform' at widths of 1000 and more; see the module docstring).  The
#: first layer is called nearly affine when so few units bend that a bending
#: rate of REFERENCE_RATE would give that few with probability below
#: FALSE_ALARM: a binomial tail, so that small widths, where a few units more
#: or less are chance, are judged as fairly as large ones.
REFERENCE_RATE, FALSE_ALARM = 0.25, 1e-3
#: 1-D: ... or when the knots within the data are crowded, their interquartile
#: range below this fraction of the inputs' range (judged from at least
#: MIN_INSIDE knots).  Standardised inputs give 0.04 or more.
MIN_SPREAD, MIN_INSIDE = 0.01, 20
#: Bounds on the rows and units looked at, so that the check costs little next to
#: any fit: 1-D, 2e4 knots against the inputs' range; several dimensions, a
#: (512 x 4096) boolean array of activations (2 MB).
_MAX_UNITS_1D = 20_000
_MAX_ROWS, _MAX_UNITS = 512, 4096


def _evenly(n, k):
    """At most ``k`` indices spread evenly over ``range(n)`` (deterministic)."""
    return np.arange(n) if n <= k else np.linspace(0, n - 1, k).astype(np.intp)


def layer_coverage(W, b, X):
    """How much of the first layer bends on the training inputs.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_features)
    b : ndarray of shape (n_units,)
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    bending : int
        Units that are active on some inputs and inactive on others (in 1-D:
        whose knot lies strictly within the range of the inputs); the others
        are affine on the data.
    units : int
        Units looked at (an evenly spread subset of at most 20,000 in 1-D and
        4096 otherwise, against at most 512 distinct inputs in several
        dimensions, so that the check costs little next to any fit).
    spread : float or None
        1-D, with at least 20 knots within the inputs' range: the
        interquartile range of those knots over the range of the inputs.
        Otherwise None.
    """
    if X.shape[1] == 1:
        lo, hi = float(np.min(X)), float(np.max(X))
        idx = _evenly(W.shape[0], _MAX_UNITS_1D)
        w = W[idx, 0].astype(np.float64)
        has = w != 0
        knots = -b[idx][has].astype(np.float64) / w[has]
        inside = knots[(knots > lo) & (knots < hi)]
        spread = None
        if inside.size >= MIN_INSIDE:
            q1, q3 = np.percentile(inside, [25, 75])
            spread = float((q3 - q1) / (hi - lo))
        return int(inside.size), int(idx.size), spread
    rows = np.unique(X, axis=0)
    rows = rows[_evenly(len(rows), _MAX_ROWS)].astype(np.float64)
    units = _evenly(W.shape[0], _MAX_UNITS)
    active = rows @ W[units].T.astype(np.float64) + b[units] > 0
    bending = np.count_nonzero(active.any(axis=0) & ~active.all(axis=0))
    return int(bending), int(units.size), None


def init_name(init):
    """The ``init`` parameter as a user wrote it, for messages."""
    return repr(init) if isinstance(init, str) else type(init).__name__


def warn_if_affine_on_data(W, b, X, init_name, limit=False):
    """Warn when the first layer is nearly affine on ``X`` (see the module docstring).

    Parameters
    ----------
    W, b : ndarray
        The hidden units; for an infinite-width limit, a sample of its
        initialisation that stands for the density of its knots.
    X : ndarray of shape (n_samples, n_features)
        The training inputs.
    init_name : str
        How to name the initialisation in the message.
    limit : bool, default=False
        Word the message for an infinite-width limit with a fixed ``alpha``
        (whose fix includes choosing ``alpha`` by GCV).

    Returns
    -------
    bool
        Whether it warned.
    """
    bending, units, spread = layer_coverage(W, b, X)
    few_units = bdtr(bending, units, REFERENCE_RATE) < FALSE_ALARM
    crowded = spread is not None and spread < MIN_SPREAD
    if not (few_units or crowded):
        return False
    lo, hi = np.min(X, axis=0), np.max(X, axis=0)
    span = f"[{lo[0]:.3g}, {hi[0]:.3g}]" if X.shape[1] == 1 else f"from {lo.min():.3g} to {hi.max():.3g}"
    if few_units:
        where = (f"only {bending} of {units} units bend within the range of the training inputs "
                 "(the others are affine there)")
    else:
        where = (f"the knots -b/w within the range of the inputs are crowded together (their "
                 f"interquartile range is {spread:.1e} of the inputs' range), so the fit is affine "
                 "on most of it")
    if limit:
        head = (f"A network of {units} units drawn from this initialisation is nearly affine on the "
                f"training inputs: {where}. With a fixed alpha the limit is then nearly affine on "
                "the data as well.")
        fix = ("Choose alpha='gcv' (or 'loo'), which adapts to the scale, standardize X, or use "
               "init='uniform_knots'.")
    else:
        head = (f"The random first layer is nearly affine on the training inputs: {where}; the "
                "network may fit little more than a line.")
        fix = ("Standardize X (make_pipeline(StandardScaler(), ...)), or use init='uniform_knots', "
               "which places the knots over the range of the data, with alpha chosen on that scale "
               "(RandomFeatureReLURegressorCV over a wide grid of alphas).")
    warn(f"{head} The initialisation init={init_name} is meant for inputs of unit scale; X spans "
         f"{span}. {fix}", UserWarning)
    return True


def warn_if_limit_affine_on_data(init, xs, init_param):
    """:func:`warn_if_affine_on_data` for an infinite-width limit.

    The limit has a density of knots rather than a count; a network as wide as
    there are gaps between the inputs (at least 200 units, drawn with a fixed
    seed so that the check is deterministic) stands for it.

    Parameters
    ----------
    init : Initialization
        The initialisation, bound to the data.
    xs : ndarray of shape (n_distinct,)
        The sorted distinct training inputs.
    init_param : str or object
        The ``init`` parameter, for the message.

    Returns
    -------
    bool
        Whether it warned.
    """
    n = int(min(max(len(xs) - 1, 200), _MAX_UNITS_1D))
    W, b = init.sample(n, 1, np.random.RandomState(0))
    return warn_if_affine_on_data(W, b, xs[:, None], init_name(init_param), limit=True)
