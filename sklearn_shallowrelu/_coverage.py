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

Two counts measure it.  The *bending units* are those active on some inputs
and inactive on others (in 1-D, whose knot lies within the range of the
inputs): the others add only an affine function there, so a layer with few
bending units is in effect a much narrower one.  The *pieces* are the gaps
between consecutive distinct inputs that hold a knot (1-D), or in several
dimensions the distinct activation patterns of the bending units over the
inputs; they catch knots that are all in range but crowded together.

The thresholds come from a measurement over the four data-independent
built-in initialisations, widths 3 to 50,000 and 10 to 20,000 standardised
inputs (uniform, normal, exponential and log-normal samples), 4,960 draws in
all: at widths of 1000 and more at least 32% of the units bend (57% for
``init='gaussian'``), and where 20 or more pieces are possible they fill at
least 15%.  The raw-data failures above have under 10% bending units or under
6% of the pieces, and train R^2 below 0.65 where standardised inputs give
0.98.  The estimators warn when the number of bending units is below the
0.1% quantile of a binomial with rate 0.2 (so a width of 200 warns below 23
bending units, and widths under 31 never do), or when the pieces fill under 10% of
at least 20 possible; none of the 4,960 standardised draws warned.  Milder
cases are not flagged: inputs shifted or shrunk by a factor of a few (R^2 0.2
to 0.7 with 8% to 40% of the units bending), or of size about 100, whose knots
crowd the middle gaps while a few reach out (R^2 0.3 to 0.6 with 12% to 19% of
the pieces), where a stricter rule would also flag well-scaled samples.

The warning names two fixes: standardise ``X``, or use
``init='uniform_knots'``, which places the knots over the range of the data
(the penalty ``alpha`` then acts on the data's own scale, so it is chosen by
cross-validation over a wide grid).
"""

import numpy as np
from scipy.special import bdtr

from ._warn import warn

__all__ = ["init_name", "pieces_on_data", "warn_if_affine_on_data", "warn_if_limit_affine_on_data"]

#: On standardised inputs at least 32% of the units bend (the least, for
#: init='uniform' at widths of 1000 and more; see the module docstring).  The
#: first layer is called nearly affine when so few units bend that a bending
#: rate of REFERENCE_RATE would give that few with probability below
#: FALSE_ALARM: a binomial tail, so that small widths, where a few units more
#: or less are chance, are judged as fairly as large ones.
REFERENCE_RATE, FALSE_ALARM = 0.2, 1e-3
#: ... or when, with at least MIN_POSSIBLE possible pieces, the bending units make
#: fewer than this fraction of them (knots crowded into a few gaps).
MIN_PIECE_FRACTION, MIN_POSSIBLE = 0.1, 20
#: Bounds on the rows and units looked at, so that the check costs little next to
#: any fit: 1-D, a sort of 2e4 inputs and a search of 2e4 knots; several
#: dimensions, a (512 x 4096) boolean array of activation patterns (2 MB).
_MAX_ROWS_1D, _MAX_UNITS_1D = 20_000, 20_000
_MAX_ROWS, _MAX_UNITS = 512, 4096


def _evenly(n, k):
    """At most ``k`` indices spread evenly over ``range(n)`` (deterministic)."""
    return np.arange(n) if n <= k else np.linspace(0, n - 1, k).astype(np.intp)


def pieces_on_data(W, b, X):
    """Count the units that bend on the training inputs, and the pieces they make.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_features)
    b : ndarray of shape (n_units,)
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    bending : int
        Units that are active on some inputs and inactive on others (in 1-D:
        whose knot lies within the range of the inputs); the others are affine
        on the data.
    units : int
        Units looked at.
    pieces : int
        1-D: the gaps between consecutive distinct inputs that hold at least
        one knot; otherwise, the distinct activation patterns over the
        distinct inputs among the bending units.
    possible : int
        ``min(units, n_distinct_inputs - 1)``: the most pieces there could be.

    Notes
    -----
    Both counts look at a bounded, evenly spread subset of the inputs and
    units, so the check costs little next to any fit.
    """
    if X.shape[1] == 1:
        xs = np.unique(X[_evenly(len(X), _MAX_ROWS_1D), 0].astype(np.float64))
        idx = _evenly(W.shape[0], _MAX_UNITS_1D)
        w = W[idx, 0].astype(np.float64)
        has = w != 0
        knots = -b[idx][has] / w[has]
        inside = knots[(knots > xs[0]) & (knots <= xs[-1])]
        # a knot strictly between xs[j-1] and xs[j] (or on xs[j]) bends gap j
        gap = np.searchsorted(xs, inside, side="left")
        pieces = np.count_nonzero(np.bincount(gap, minlength=xs.size))
        return int(inside.size), int(idx.size), int(pieces), int(min(idx.size, xs.size - 1))
    rows = np.unique(X, axis=0)
    rows = rows[_evenly(len(rows), _MAX_ROWS)].astype(np.float64)
    units = _evenly(W.shape[0], _MAX_UNITS)
    active = rows @ W[units].T.astype(np.float64) + b[units] > 0
    mixed = active.any(axis=0) & ~active.all(axis=0)
    patterns = np.unique(np.packbits(active[:, mixed], axis=0).T, axis=0)
    return int(np.count_nonzero(mixed)), int(units.size), int(len(patterns)), int(min(units.size, len(rows) - 1))


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
    bending, units, pieces, possible = pieces_on_data(W, b, X)
    few_units = bdtr(bending, units, REFERENCE_RATE) < FALSE_ALARM
    few_pieces = possible >= MIN_POSSIBLE and pieces < MIN_PIECE_FRACTION * possible
    if not (few_units or few_pieces):
        return False
    lo, hi = np.min(X, axis=0), np.max(X, axis=0)
    one_d = X.shape[1] == 1
    span = f"[{lo[0]:.3g}, {hi[0]:.3g}]" if one_d else f"from {lo.min():.3g} to {hi.max():.3g}"
    if few_units:
        where = (f"only {bending} of {units} units bend within the range of the training inputs "
                 "(the others are affine there)")
    elif one_d:
        where = f"only {pieces} of the {possible} gaps between distinct training inputs hold a knot -b/w"
    else:
        where = (f"the hidden units split the training inputs in only {pieces} distinct ways "
                 f"(of up to {possible})")
    if limit:
        head = ("The initialisation puts its curvature weight in few of the gaps between the "
                f"training inputs: of {len(b)} knots drawn from it, {where}. With a "
                "fixed alpha the limit is then nearly affine on the data.")
        fix = ("Choose alpha='gcv' (or 'loo'), which adapts to the scale, standardize X, or use "
               "init='uniform_knots'.")
    else:
        head = (f"The random first layer is nearly affine on the training inputs: {where}, so "
                "the network has little freedom to bend on the data and may fit little more than "
                "a line.")
        fix = ("Standardize X (make_pipeline(StandardScaler(), ...)), or use init='uniform_knots', "
               "which places the knots over the range of the data, with alpha chosen on that scale "
               "(RandomFeatureReLURegressorCV over a wide grid of alphas).")
    warn(f"{head} The initialisation init={init_name} is meant for inputs of unit scale; X spans "
         f"{span}. {fix}", UserWarning)
    return True


def warn_if_limit_affine_on_data(init, xs, init_param):
    """:func:`warn_if_affine_on_data` for an infinite-width limit.

    The limit has a density of knots rather than a count; it stands for it a
    network as wide as there are gaps between the inputs (drawn with a fixed
    seed, so the check is deterministic): the width at which a finite network
    could bend once in every gap.

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
    n = int(min(len(xs) - 1, _MAX_UNITS_1D))
    if n < 1:
        return False
    W, b = init.sample(n, 1, np.random.RandomState(0))
    return warn_if_affine_on_data(W, b, xs[:, None], init_name(init_param), limit=True)
