"""How low-rank the hidden layer of a fitted network is: rank measures, angles, line clusters.

The definitions are pure functions of arrays (:func:`rank_measures`,
:func:`hidden_matrix`, :func:`active_neurons`, :func:`cluster_directions`, ...);
:class:`RankDiagnostics` is a thin scikit-learn meta-transformer that fits (or
takes) a network of the package, reads it with
:func:`~sklearn_shallowrelu.diagnostics.network_parameters` and stores every
diagnostic as a fitted attribute.  :func:`~sklearn_shallowrelu.diagnostics.diagnostic_scorer` turns one attribute into
a scorer for ``GridSearchCV``.
"""

import heapq
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, _fit_context
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ..activations import get_activation
from ._model import checked_sample_weight, diagnosed_model, hidden_inputs, network_parameters
from .._atomic import atomic_fit
from .. import _memory

__all__ = [
    "RankDiagnostics",
    "rank_measures",
    "hidden_matrix",
    "active_neurons",
    "unit_directions",
    "pairwise_angles",
    "cluster_directions",
    "cover_count",
    "feature_map_1d",
    "balance",
]

# activations that are exactly zero for a non-positive pre-activation: a unit
# that is non-positive on every training input is dead and does not count
_DEAD_BELOW_ZERO = {"relu"}


# --------------------------------------------------------------------------- pure definitions
def rank_measures(singular_values, tol=1e-6):
    """Rank measures of a matrix from its singular values.

    Parameters
    ----------
    singular_values : array-like of shape (r,)
        Non-negative, in any order.
    tol : float, default=1e-6
        Relative tolerance of the numerical rank.

    Returns
    -------
    dict
        With the keys
        ``'singular_values'`` (sorted in decreasing order),
        ``'numerical_rank'``: ``#{sigma_i > tol * sigma_1}``,
        ``'stable_rank'``: ``sum sigma_i^2 / sigma_1^2``,
        ``'effective_rank'``: ``exp(-sum p_i log p_i)`` with ``p_i = sigma_i / sum sigma``
        and ``0 log 0 = 0`` (Roy and Vetterli [1]_),
        ``'nuclear_norm'``: ``sum sigma_i``,
        ``'explained_variance_ratio'``: ``sigma_i^2 / sum sigma^2`` (uncentred PCA).

    Notes
    -----
    For a nonzero matrix ``1 <= effective_rank``, ``1 <= stable_rank`` and both
    are at most the exact rank (and at most ``numerical_rank`` up to terms of
    order ``tol`` from singular values below the tolerance).  For the zero
    matrix every measure is 0 and the ratios are all 0.

    References
    ----------
    .. [1] O. Roy and M. Vetterli, "The effective rank: a measure of
       effective dimensionality", 15th European Signal Processing Conference
       (EUSIPCO 2007), 606-610.

    Examples
    --------
    >>> m = rank_measures([2.0, 2.0, 0.0])
    >>> m["numerical_rank"], m["stable_rank"], round(m["effective_rank"], 12)
    (2, 2.0, 2.0)
    """
    s = np.sort(np.abs(np.asarray(singular_values, dtype=np.float64).ravel()))[::-1]
    if s.size == 0 or s[0] == 0:
        zero = np.zeros_like(s)
        return {"singular_values": s, "numerical_rank": 0, "stable_rank": 0.0, "effective_rank": 0.0,
                "nuclear_norm": 0.0, "explained_variance_ratio": zero}
    nuclear = float(np.sum(s))
    p = s / nuclear
    nz = p > 0
    entropy = -float(np.sum(p[nz] * np.log(p[nz])))
    sq = s**2
    return {
        "singular_values": s,
        "numerical_rank": int(np.sum(s > tol * s[0])),
        "stable_rank": float(np.sum(sq) / sq[0]),
        "effective_rank": float(np.exp(entropy)),
        "nuclear_norm": nuclear,
        "explained_variance_ratio": sq / np.sum(sq),
    }


def _row_norm(a):
    a = np.asarray(a, dtype=np.float64)
    return np.abs(a) if a.ndim == 1 else np.linalg.norm(a, axis=1)


def hidden_matrix(W, b, v=None, use_bias=True, rescale="none"):
    """The matrix whose rank is measured: ``W`` or ``[W | b]``, optionally balanced.

    ``rescale='balanced'`` multiplies unit ``k``'s ``(w_k, b_k)`` by
    ``alpha_k = sqrt(|v_k| / |(w_k, b_k)|)`` (and would divide ``v_k`` by it), the
    rescaling that leaves a positively homogeneous network unchanged and makes
    ``|v_k| = |(w_k, b_k)|``; the rows of ``[W | b]`` then have norm
    ``sqrt(|v_k| |(w_k, b_k)|)``.  With ``use_bias=False`` the ``W`` columns of
    the rescaled rows are returned.  ``|v_k|`` is the Euclidean norm of row ``k``
    for several outputs; units with ``(w_k, b_k) = 0`` give zero rows.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    M = np.column_stack([W, b])
    if rescale == "balanced":
        if v is None:
            raise ValueError("rescale='balanced' needs the output weights v.")
        norm = np.linalg.norm(M, axis=1)
        safe = np.where(norm > 0, norm, 1.0)
        M = M * np.where(norm > 0, np.sqrt(_row_norm(v) / safe), 0.0)[:, None]
    elif rescale != "none":
        raise ValueError(f"rescale must be 'none' or 'balanced'; got {rescale!r}.")
    return M if use_bias else M[:, :-1]


def active_neurons(W, b, v, X=None, activation="relu", use_bias=True, tol=1e-3, positive_output=False):
    """Boolean mask of the active hidden units.

    Unit ``k`` is active when (i) the norm of its hidden vector (``(w_k, b_k)``,
    or ``w_k`` with ``use_bias=False``) exceeds ``tol`` times the largest such
    norm, (ii) its output weight ``|v_k|`` exceeds ``tol`` times the largest, and
    (iii) for ``activation='relu'`` and given ``X``, it is positive on at least
    one input: ``max_i w_k . x_i + b_k > 0``.  Condition (iii) is skipped for
    activations that are not zero on the negative half-line (leaky ReLU,
    absolute value, smooth ones).  With ``positive_output=True`` unit ``k``
    must also have ``v_k > 0`` (one output only), the units Chistikov et al.
    count when they measure alignment.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    rows = np.column_stack([W, b]) if use_bias else W
    norm, vnorm = np.linalg.norm(rows, axis=1), _row_norm(v)
    mask = (norm > tol * np.max(norm, initial=0.0)) & (vnorm > tol * np.max(vnorm, initial=0.0))
    if X is not None and activation in _DEAD_BELOW_ZERO:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] > 0:
            mask &= _max_preactivation(X, W, b) > 0
    if positive_output:
        v = np.asarray(v, dtype=np.float64).reshape(len(b), -1)
        if v.shape[1] != 1:
            raise ValueError(f"positive output weights need one output; the network has {v.shape[1]}.")
        mask &= v[:, 0] > 0
    return mask


def _max_preactivation(X, W, b):
    """``max_i w_k . x_i + b_k`` per unit where it is not positive, else a positive lower bound of it.

    Without an ``(n_samples, n_hidden)`` array.

    With one feature ``fl(w x + b)`` is monotone in ``x``, so the maximum is the
    value at the smallest or the largest input, bit for bit.
    """
    if X.shape[1] == 1:
        ends = np.array([X[:, 0].min(), X[:, 0].max()])
        return np.max(ends[:, None] * W[:, 0] + b, axis=0)
    # a few inputs already show most units positive somewhere; only the others need all inputs
    few = X[np.linspace(0, X.shape[0] - 1, min(X.shape[0], 256)).astype(int)]
    out = np.max(W @ few.T, axis=1) + b  # fl(s + b) is monotone in s: max(s) + b is the max of s + b
    todo = np.flatnonzero(~(out > 0))
    rows = max(1, _BLOCK // X.shape[0])
    for lo in range(0, todo.size, rows):
        k = todo[lo : lo + rows]
        out[k] = np.max(W[k] @ X.T, axis=1) + b[k]
    return out


def unit_directions(M):
    """Rows of ``M`` divided by their norms (zero rows stay zero)."""
    M = np.asarray(M, dtype=np.float64)
    norm = np.linalg.norm(M, axis=1, keepdims=True)
    return np.divide(M, norm, out=np.zeros_like(M), where=norm > 0)


#: ``mean_angle_`` is exact up to this many pairs of units, and beyond it the mean
#: over this many pairs drawn at random (standard error below 0.1% of the mean).
MAX_ANGLE_PAIRS = 2**21

#: Elements of one block of the cosine matrix: blocks that stay in the L2 cache.
_BLOCK = 2**17

#: Up to this many active units (``n^2 / 2 = 1.3e8`` pairs) the angles and the clusters
#: come from one exact pass over the cosine matrix; beyond, from sampling and hashing, in
#: near-linear time.  Measured at 1e4 units in 10 dimensions (one core): the exact pass
#: takes 0.16 s (spread units) and 0.6 s (four condensed clusters), hashing 0.5 s and 1.1 s;
#: at 2e4 to 4e4 units the two are within 30% of each other.
EXACT_UNITS = 16384

#: Beyond ``EXACT_UNITS``, ``max_angle_`` is the largest angle over this many random pairs.
MAX_SAMPLE_PAIRS = 2**22

#: Beyond ``EXACT_UNITS``, the probability that the hashing misses a given pair of
#: neighbouring units (the clusters are then exact unless that happens: with 1e8
#: neighbour pairs, 10 GB of neighbour lists, all are found except with probability 1e-7).
LSH_MISS = 1e-15

#: At most this many hash tables (low ``cos_threshold``: fewer bits, larger buckets instead).
LSH_MAX_TABLES = 400

#: Beyond ``EXACT_UNITS`` the hashing is used unless its estimated work (row sorts plus twice
#: the candidates, over all tables) exceeds this many times ``n^2``; concentrated units then
#: take one exact blocked pass over the cosines instead, which is cheaper for them.
HASH_WORK_LIMIT = 1.0

#: Pairs handled at once when sampling or checking candidates.
_PAIR_CHUNK = 2**18


def _cosine_blocks(U):
    """``(lo, U[lo:hi] @ U.T)`` for cache-sized row blocks: no ``n x n`` array."""
    rows = max(1, _BLOCK // max(U.shape[0], 1))
    for lo in range(0, U.shape[0], rows):
        yield lo, U[lo : lo + rows] @ U.T


def _scan_directions(U, threshold, max_pairs=MAX_ANGLE_PAIRS, random_state=0):
    """One pass over the cosines of the unit rows ``U`` (at least one row), by blocks.

    Returns
    -------
    lowest : float
        Smallest cosine of two different rows (1.0 for one row).
    mean_angle : float
        Mean ``arccos`` over the pairs ``i < j``, in degrees (0.0 for one row):
        exact up to ``max_pairs`` pairs; beyond, over the pairs ``(i, i + s mod n)``
        for ``max_pairs // n`` random distinct shifts ``s``, which makes every pair
        equally likely (an unbiased estimate).
    orientations, lines : tuple of ndarray
        Neighbour lists in CSR form ``(indptr, indices)``, every row its own
        neighbour, of ``cos >= threshold`` and of ``|cos| >= threshold``.
        Memory is proportional to the number of neighbour pairs.
    """
    n = U.shape[0]
    n_pairs = n * (n - 1) // 2
    exact = n_pairs <= max_pairs
    if not exact:
        shifts = np.random.RandomState(random_state).choice(np.arange(1, n), size=max(1, max_pairs // n),
                                                            replace=False)
    lowest, angle_sum = 1.0, 0.0
    parts = {False: [], True: []}
    for lo, S in _cosine_blocks(U):
        h = S.shape[0]
        r = np.arange(h)
        highest = -np.inf
        if n > 1:
            # the diagonal takes an off-diagonal value of its row: it then changes no extremum
            S[r, lo + r] = S[r, (lo + r + 1) % n]
            block_lowest = float(S.min())
            lowest = min(lowest, block_lowest)
            highest = max(float(S.max()), -block_lowest)
            if exact:
                pairs = S[np.arange(n)[None, :] > (lo + r)[:, None]]
            else:
                pairs = S[r[:, None], (lo + r[:, None] + shifts[None, :]) % n]
            angle_sum += float(np.sum(np.arccos(np.clip(pairs, -1.0, 1.0))))
        for lines in (False, True):
            if highest < threshold:  # no neighbour but itself (the usual case for unaligned units)
                rows_, cols = r, lo + r
            else:
                A = (np.abs(S) if lines else S) >= threshold
                A[r, lo + r] = True
                rows_, cols = np.divmod(np.flatnonzero(A), n)  # much faster than a 2-D nonzero
            parts[lines].append((np.bincount(rows_, minlength=h), cols.astype(np.int32)))
    graphs = {}
    for lines, blocks in parts.items():
        counts = np.concatenate([c for c, _ in blocks])
        graphs[lines] = (np.concatenate([[0], np.cumsum(counts)]), np.concatenate([i for _, i in blocks]))
    n_used = n_pairs if exact else len(shifts) * n
    mean_angle = float(np.degrees(angle_sum / n_used)) if n > 1 else 0.0
    return lowest, mean_angle, graphs[False], graphs[True]


def pairwise_angles(U, max_pairs=MAX_ANGLE_PAIRS, random_state=0):
    """``(max, mean)`` of ``arccos(u_i . u_j)`` in degrees over pairs ``i < j`` of unit rows.

    Both are 0.0 with fewer than two rows (no spread).  Planar rows (at most
    two columns) are exact.  Otherwise the maximum is exact (``arccos`` of the
    smallest cosine, by blocks of the cosine matrix) up to ``EXACT_UNITS``
    rows; beyond, it is the largest angle over ``MAX_SAMPLE_PAIRS`` pairs
    drawn independently and uniformly, plus the pairs of the mean's sample:
    except with probability ``exp(-MAX_SAMPLE_PAIRS * q)`` (``e^-42`` for
    ``q = 1e-5``), fewer than a fraction ``q`` of all pairs have a larger
    angle.  The mean is exact for up to ``max_pairs`` pairs; with more it is
    the mean over about ``max_pairs`` pairs ``(i, i + s mod n)`` for random
    distinct shifts ``s`` (seeded by ``random_state``): an unbiased estimate,
    within a fraction of a percent of the exact mean for the default
    ``max_pairs``.
    """
    U = np.asarray(U, dtype=np.float64)
    if U.shape[0] < 2:
        return 0.0, 0.0
    if U.shape[1] <= 2:
        return _planar_angles(_polar_angles(U))
    return _angles(U, max_pairs, random_state)


def _angles(U, max_pairs=MAX_ANGLE_PAIRS, random_state=0):
    """``(max, mean)`` angle in degrees of at least two unit rows, in ``O(n d)`` beyond ``EXACT_UNITS`` rows."""
    n = U.shape[0]
    if n <= EXACT_UNITS or n * (n - 1) // 2 <= max_pairs:  # exact: at most O(max(EXACT_UNITS^2, max_pairs))
        lowest, mean, _, _ = _scan_directions(U, 1.0, max_pairs, random_state)
        return float(np.degrees(np.arccos(np.clip(lowest, -1.0, 1.0)))), mean
    # the mean: the estimator of _scan_directions (same shifts, same pairs) without the cosine blocks
    shifts = np.random.RandomState(random_state).choice(np.arange(1, n), size=max(1, max_pairs // n),
                                                        replace=False)
    angle_sum, lowest = 0.0, 1.0
    for s in shifts:
        cos = np.einsum("ij,ij->i", U, np.roll(U, -int(s), axis=0))
        angle_sum += float(np.sum(np.arccos(np.clip(cos, -1.0, 1.0))))
        lowest = min(lowest, float(cos.min()))
    mean = float(np.degrees(angle_sum / (len(shifts) * n)))
    rng = np.random.RandomState(random_state + 1)
    for lo in range(0, MAX_SAMPLE_PAIRS, _PAIR_CHUNK):
        size = min(_PAIR_CHUNK, MAX_SAMPLE_PAIRS - lo)
        i = rng.randint(0, n, size)
        j = (i + rng.randint(1, n, size)) % n  # uniform over j != i
        lowest = min(lowest, float(np.einsum("ij,ij->i", U[i], U[j]).min()))
    return float(np.degrees(np.arccos(np.clip(lowest, -1.0, 1.0)))), mean


def _greedy_clusters(indptr, indices):
    """The greedy clustering of :func:`cluster_directions` on neighbour lists (CSR, symmetric, self included).

    The numbers of free neighbours live in a heap (largest first, ties to the
    lowest index; entries outdated by a later decrement are skipped when they
    come up), and taking a cluster decrements them along the neighbour lists
    of its members only, so the work is ``O((n + n_pairs) log n)`` however
    many clusters there are.  Once no free vertex has a free neighbour but
    itself, the rest are singletons, taken in index order.
    """
    n = len(indptr) - 1
    degree = np.diff(indptr).astype(np.int64)
    free = np.ones(n, dtype=bool)
    labels = np.full(n, -1)
    heap = [(-int(degree[i]), int(i)) for i in np.flatnonzero(degree > 1)]
    heapq.heapify(heap)
    k = 0
    while heap:
        d, centre = heapq.heappop(heap)
        if not free[centre] or -d != degree[centre]:
            continue  # taken, or an outdated count: the current one is further down the heap
        neighbours = indices[indptr[centre] : indptr[centre + 1]]
        members = neighbours[free[neighbours]]
        labels[members] = k
        free[members] = False
        k += 1
        starts, ends = indptr[members], indptr[members + 1]
        lengths = ends - starts
        # the concatenated neighbour lists of the members, without a Python loop over them
        touched = indices[np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
                          + np.arange(lengths.sum())]
        touched = touched[free[touched]]
        if touched.size:
            vertices, counts = np.unique(touched, return_counts=True)
            degree[vertices] -= counts
            for v in vertices[degree[vertices] > 1]:
                heapq.heappush(heap, (-int(degree[v]), int(v)))
    rest = np.flatnonzero(free)
    labels[rest] = k + np.arange(rest.size)
    return _by_size(labels, k + rest.size)


def _line_pairs(U, threshold, random_state=0):
    """Pairs ``i < j`` of unit rows with ``|u_i . u_j| >= threshold``, by random-hyperplane hashing.

    Each table hashes every row by the signs of ``bits`` random projections and
    takes the pairs that share a bucket; a row and its negative get the same
    (sign-canonical) key, so opposite rows meet too.  A random hyperplane
    separates two rows at angle ``theta`` with probability ``theta / pi``, so a
    pair with ``|cos| >= threshold`` shares a bucket of one table with
    probability at least ``p = (1 - arccos(threshold) / pi)^bits``, and is
    missed by all ``ceil(log(1 / LSH_MISS) / p)`` tables with probability at
    most ``LSH_MISS``.  Candidates are checked with the cosine itself, so no
    pair is found that should not be.  ``bits`` is about ``log2(n)``, which
    makes a table's candidates about ``n`` for rows that are spread out: the
    work is ``O(n^(1 + c) log n)`` with ``c = -log2(1 - arccos(threshold) / pi)``
    (``c = 0.095`` at the default 0.98).

    Memory: the candidates of a table are counted from the bucket sizes
    before they are formed, and checked in chunks; the pairs found are kept
    (the neighbour lists need them), and their number is estimated after the
    first table.  Either exceeding its budget (:func:`_pair_budget`, from the
    memory available) raises a ``MemoryError`` that names the fix.

    Returns
    -------
    ndarray of shape (n_pairs, 2), int64, or None
        None when so many rows share buckets that one exact blocked pass over
        the cosines (:func:`_scan_directions`) is less work than the tables.
    """
    n, D = U.shape
    alpha = float(np.arccos(np.clip(threshold, -1.0, 1.0)))
    max_pairs, max_candidates = _pair_budget()
    rng = np.random.RandomState(random_state)

    def n_tables(bits):
        return int(np.ceil(np.log(1 / LSH_MISS) / (1 - alpha / np.pi) ** bits))

    def buckets(signs):
        """Sort order, bucket starts and sizes of the sign-canonical keys of the sign columns."""
        bits = signs.shape[1]
        packed = np.zeros((n, 8), dtype=np.uint8)  # the signs as the bits of one integer (not a slow bool matmul)
        packed[:, : (bits + 7) // 8] = np.packbits(signs, axis=1, bitorder="little")
        key = packed.view("<u8")[:, 0]
        key = np.minimum(key, np.uint64((1 << bits) - 1) - key)  # u and -u: complementary signs, one line
        order = np.argsort(key)  # the order within a bucket does not matter: pairs are normalised to i < j
        sk = key[order]
        starts = np.flatnonzero(np.concatenate([[True], sk[1:] != sk[:-1]]))
        return order, starts, np.diff(np.concatenate([starts, [n]]))

    # More bits: fewer candidates per table but more tables.  One trial table of 60 signs gives
    # the candidates of every prefix; take the number of bits of least estimated work (a
    # candidate costs about two rows' sort).
    trial = U @ rng.standard_normal((D, 60)) > 0
    options = [b for b in range(1, 61) if n_tables(b) <= LSH_MAX_TABLES]
    work = {}
    for b in options[::-1][::3]:
        _, _, sizes = buckets(trial[:, :b])
        work[b] = n_tables(b) * (n + 2 * int(np.sum(sizes * (sizes - 1) // 2)))
        if len(work) > 1 and work[b] > 2 * min(work.values()):
            break  # the candidates grow much faster than the tables shrink from here on
    bits = min(work, key=work.get)
    if work[bits] > HASH_WORK_LIMIT * n * n:
        # so many units share buckets that one blocked pass over all n^2 cosines is less work:
        # say so (None) once its neighbour lists are known to fit, from the neighbours among
        # 2^16 random pairs (a dense graph is estimated well; a sparse one is far below any budget)
        i = rng.randint(0, n, 2**16)
        j = (i + rng.randint(1, n, i.size)) % n
        share = np.mean(np.abs(np.einsum("ij,ij->i", U[i], U[j])) >= threshold)
        expected = share * n * (n - 1) / 2
        if expected > max_pairs:
            raise MemoryError(_dense_message(n, threshold, expected,
                                             "pairs of them are neighbours, |cos| >= cos_threshold"))
        return None
    found = np.zeros(0, dtype=np.int64)  # i * n + j, i < j
    positions = np.arange(n)
    for t in range(n_tables(bits)):
        signs = trial[:, :bits] if t == 0 else U @ rng.standard_normal((D, bits)) > 0
        order, starts, sizes = buckets(signs)
        n_candidates = int(np.sum(sizes * (sizes - 1) // 2))
        if n_candidates > max_candidates:
            raise MemoryError(_dense_message(n, threshold, n_candidates,
                                             "pairs of them share a bucket of one hash table"))
        end = np.repeat(starts + sizes, sizes)  # end of each sorted position's bucket
        count = end - positions - 1
        new = []
        # the pairs (p, q), p < q, of each bucket, in chunks of about _PAIR_CHUNK
        cum = np.concatenate([[0], np.cumsum(count)])
        lo = 0
        while lo < n:
            hi = int(np.searchsorted(cum, cum[lo] + _PAIR_CHUNK, side="right"))
            hi = min(max(hi - 1, lo + 1), n)
            c = count[lo:hi]
            p = np.repeat(positions[lo:hi], c)
            q = p + 1 + np.arange(p.size) - np.repeat(np.cumsum(c) - c, c)
            a, b = order[p], order[q]
            cos = np.einsum("ij,ij->i", U[a], U[b])
            keep = np.abs(cos) >= threshold
            a, b = a[keep], b[keep]
            new.append(np.minimum(a, b) * n + np.maximum(a, b))
            lo = hi
        found = np.union1d(found, np.concatenate(new))
        # a table finds each neighbour pair with probability >= p, so found / p estimates them all:
        # refuse a graph that will not fit after the first table rather than after hundreds
        expected = found.size / (1 - alpha / np.pi) ** bits if t == 0 else found.size
        if found.size > max_pairs or expected > 2 * max_pairs:
            raise MemoryError(_dense_message(n, threshold, found.size if t else expected,
                                              "pairs of them are neighbours, |cos| >= cos_threshold"))
    return np.column_stack(np.divmod(found, n))


#: Peak bytes per stored neighbour pair: its code and the sorted union with the next table's,
#: then the four entries of the symmetric neighbour lists with their sort order.
_BYTES_PER_PAIR = 96


def _pair_budget():
    """How many neighbour pairs and hash candidates a clustering may hold.

    The neighbour lists cannot be split, so the pairs are bounded by the
    memory the machine has available (scikit-learn's ``working_memory`` where
    that cannot be read); candidates are checked in chunks of ``_PAIR_CHUNK``,
    so they are limited for time only, to 8 times the pairs.
    """
    free = _memory.available_memory()
    pairs = int((_memory.working_memory_bytes() if free is None else free) // _BYTES_PER_PAIR)
    return pairs, 8 * pairs


def _dense_message(n, threshold, count, what):
    return (
        f"The {n} active units are concentrated (cos_threshold={threshold:g}): about {count:.3g} {what}, "
        f"and the neighbour lists of the line and orientation clustering "
        f"(about {_BYTES_PER_PAIR} bytes a pair, growing like the square of the width here) would not fit in "
        "the memory available. Raise cos_threshold, or diagnose fewer units (e.g. a random subset of the "
        "active ones, or the first layer of a narrower network)."
    )


def _neighbour_lists(pairs, n, keep=None):
    """Symmetric CSR neighbour lists ``(indptr, indices)`` of ``pairs`` (rows ``keep`` only), self included."""
    if keep is not None:
        pairs = pairs[keep]
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    order = np.lexsort((cols, rows))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return indptr, cols[order]


def _by_size(labels, k):
    """Renumber clusters ``0..k-1`` by decreasing size, ties by their lowest member."""
    n = labels.size
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n)
    np.minimum.at(first, labels, np.arange(n))
    rank = np.empty(k, dtype=int)
    rank[np.lexsort((first, -sizes))] = np.arange(k)
    return rank[labels]


def _polar_angles(U):
    """Polar angles of unit rows with at most two coordinates (one coordinate: 0 or pi)."""
    return np.arctan2(U[:, 1] if U.shape[1] > 1 else np.zeros(U.shape[0]), U[:, 0])


def _planar_angles(theta):
    """Exact ``(max, mean)`` pairwise angle in degrees of planar directions of polar angles ``theta``.

    The angle of a pair is ``min(D, 2 pi - D)`` for the difference ``D`` of the
    sorted polar angles, so prefix sums give the mean and the direction opposite
    each point the maximum, in ``O(n log n)``.
    """
    n = theta.size
    ts = np.sort(theta)
    ext = np.concatenate([ts, ts + 2 * np.pi])
    k = np.searchsorted(ext, ts + np.pi, side="right")  # p <= k - 1, k <= n + p
    gaps = np.concatenate([ext[k - 1] - ts, ext[np.minimum(k, 2 * n - 1)] - ts])
    largest = float(np.max(np.minimum(gaps, 2 * np.pi - gaps)))
    k = np.minimum(k, n)  # for the mean, partners q > p: q < k closer going up, q >= k going round
    prefix = np.concatenate([[0.0], np.cumsum(ts)])
    p = np.arange(n)
    up = prefix[k] - prefix[p + 1] - (k - p - 1) * ts
    round_ = (n - k) * (2 * np.pi + ts) - (prefix[n] - prefix[k])
    mean = float(np.sum(up + round_)) / (n * (n - 1) // 2)
    return np.degrees(largest), np.degrees(mean)


def _circle_clusters(theta, period, alpha):
    """:func:`_greedy_clusters` for points on a circle of length ``period`` whose
    neighbours are the points within ``alpha`` of them (``cos >= threshold`` for
    planar directions with ``alpha = arccos(threshold)``).

    Neighbourhoods are arcs of the sorted points, so the numbers of free
    neighbours come from one prefix sum per cluster, without neighbour lists.
    """
    n = theta.size
    order = np.argsort(theta, kind="stable")
    ts = theta[order]
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    ext = np.concatenate([ts - period, ts, ts + period])
    start = np.searchsorted(ext, ts - alpha, side="left")
    end = np.searchsorted(ext, ts + alpha, side="right")
    whole = end - start >= n
    free = np.ones(n, dtype=bool)  # by sorted position
    labels = np.full(n, -1)
    k = 0
    while True:
        count = np.concatenate([[0], np.cumsum(np.tile(free, 3))])
        degree = np.where(whole, count[n], count[end] - count[start])[position]
        candidates = np.where(free[position], degree, -1)
        centre = position[int(np.argmax(candidates))]
        if candidates.max(initial=-1) <= 1:
            break
        span = np.arange(n) if whole[centre] else np.arange(start[centre], end[centre]) % n
        span = span[free[span]]
        labels[order[span]] = k
        free[span] = False
        k += 1
    rest = np.flatnonzero(free[position])  # singletons, in index order
    labels[rest] = k + np.arange(rest.size)
    return _by_size(labels, k + rest.size)


def _direction_summary(U, threshold, max_pairs=MAX_ANGLE_PAIRS, random_state=0, angles=True):
    """``(max_angle, mean_angle, orientation_labels, line_labels)`` of unit rows ``U`` (degrees).

    Planar directions (at most two coordinates: one input feature with its
    bias) are handled exactly through their sorted polar angles in
    ``O(n log n)``.  Others: up to ``EXACT_UNITS`` rows by blocks of the cosine
    matrix (:func:`_scan_directions`, exact); beyond, the angles by sampling
    (:func:`_angles`) and the neighbours by hashing (:func:`_line_pairs`), in
    near-linear time and memory proportional to the number of neighbour pairs.
    """
    n = U.shape[0]
    if n == 0:
        return 0.0, 0.0, np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    if U.shape[1] <= 2:
        theta = _polar_angles(U)
        alpha = float(np.arccos(np.clip(threshold, -1.0, 1.0)))
        largest, mean = _planar_angles(theta) if n > 1 and angles else (0.0, 0.0)
        return (largest, mean, _circle_clusters(theta, 2 * np.pi, alpha),
                _circle_clusters(np.mod(theta, np.pi), np.pi, alpha))
    if n <= EXACT_UNITS:
        lowest, mean, orientations, lines = _scan_directions(U, threshold, max_pairs, random_state)
        largest = float(np.degrees(np.arccos(np.clip(lowest, -1.0, 1.0))))
        return largest, mean, _greedy_clusters(*orientations), _greedy_clusters(*lines)
    largest, mean = _angles(U, max_pairs, random_state) if angles else (0.0, 0.0)
    pairs = _line_pairs(U, threshold, random_state)
    if pairs is None:  # concentrated units: the exact blocked pass is cheaper than hashing
        _, _, orientations, lines = _scan_directions(U, threshold, 0, random_state)
        return largest, mean, _greedy_clusters(*orientations), _greedy_clusters(*lines)
    # a pair with |cos| >= threshold > 0 is an orientation pair when its cosine is positive
    positive = np.einsum("ij,ij->i", U[pairs[:, 0]], U[pairs[:, 1]]) >= threshold
    return (largest, mean, _greedy_clusters(*_neighbour_lists(pairs, n, positive)),
            _greedy_clusters(*_neighbour_lists(pairs, n)))


def cluster_directions(U, threshold=0.98, lines=False):
    """Greedy clustering of unit vectors by angle.

    Repeatedly take the unassigned vector with the most unassigned neighbours
    (``u_i . u_j >= threshold``, or ``|u_i . u_j| >= threshold`` with
    ``lines=True``; ties to the lowest index) and make it and its unassigned
    neighbours one cluster.  Every cluster lies in the cap of half-angle
    ``arccos(threshold)`` around its centre (around the centre's line for lines).

    Up to ``EXACT_UNITS`` rows (and for planar rows at any size) the
    neighbours are exact; beyond, they come from :func:`_line_pairs`, which
    misses a given neighbour pair with probability at most ``LSH_MISS``.

    Returns
    -------
    labels : ndarray of int, shape (n,)
        Clusters numbered by decreasing size (ties by first appearance).
    """
    U = np.asarray(U, dtype=np.float64)
    if U.shape[0] == 0:
        return np.zeros(0, dtype=int)
    _, _, orientations, line_labels = _direction_summary(U, threshold, max_pairs=0, angles=False)
    return line_labels if lines else orientations


def cover_count(labels, fraction=0.8):
    """Fewest clusters (largest first) that together hold ``fraction`` of the points (0 if none)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return 0
    sizes = np.sort(np.bincount(labels))[::-1]
    return int(np.searchsorted(np.cumsum(sizes), fraction * labels.size - 1e-9) + 1)


def _n_large(labels, min_frac):
    labels = np.asarray(labels)
    if labels.size == 0:
        return 0
    return int(np.sum(np.bincount(labels) >= min_frac * labels.size - 1e-12))


def feature_map_1d(w, b):
    """Zhou et al.'s 1-D feature map ``(theta_k, A_k)``, shape (n, 2).

    ``theta_k = sign(b_k) arccos(w_k / A_k)`` (taking ``sign(0) = +1``, which is
    ``atan2(b_k, w_k)``) and ``A_k = sqrt(w_k^2 + b_k^2)``.
    """
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return np.column_stack([np.arctan2(b, w), np.hypot(w, b)])


def balance(W, b, v):
    """``v_k^2 - |(w_k, b_k)|^2`` per unit (``|v_k|^2`` summed over outputs).

    Conserved by gradient flow for positively homogeneous activations (ReLU,
    leaky ReLU, absolute value) whatever the output scale, when ``v`` is the
    trained output parameter (Chistikov et al., Prop. 1); zero for a balanced
    network.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return _row_norm(v) ** 2 - np.sum(W**2, axis=1) - b**2


# --------------------------------------------------------------------------- estimator
class RankDiagnostics(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Rank, alignment and condensation of the hidden layer of a network, as a transformer.

    ``fit(X, y)`` fits a clone of ``estimator`` (or, with ``prefit=True``, takes
    the fitted ``estimator`` as is, like
    :class:`~sklearn.feature_selection.SelectFromModel`), reads its parameters
    ``f(x) = sum_k v_k act(w_k . x + b_k) + c`` with
    :func:`~sklearn_shallowrelu.diagnostics.network_parameters` and stores the
    diagnostics below.  ``transform(X)`` returns the hidden activations
    ``act(X W^T + b)`` (the learned features), one column per hidden unit.

    The diagnostics measure what the implicit-bias literature predicts for
    small initialisations: hidden vectors that condense onto a few
    orientations (Zhou et al. [1]_), and hidden units that align so that the
    hidden layer has low rank (Chistikov et al. [2]_ for inputs correlated
    with a teacher neuron, Boursier et al. [3]_ for orthogonal inputs).

    Parameters
    ----------
    estimator : estimator, default=None
        A network of the package (``ShallowReLURegressor``,
        ``RandomFeatureReLURegressor``, ``RandomFeatureReLURegressorCV``, or a
        ``Pipeline`` ending with one, whose earlier steps are then applied to
        ``X``).  ``None`` means ``ShallowReLURegressor()``.
    prefit : bool, default=False
        Use the already fitted ``estimator`` (a deep copy is stored) instead of
        fitting a clone; ``X`` then only serves the activity test of the units.
    use_bias : bool, default=True
        Measure ``[W | b]`` (the hidden vectors ``(w_k, b_k)``) rather than ``W``,
        for the singular values, the angles and the clusters.
    rescale : {'none', 'balanced'}, default='none'
        ``'balanced'``: measure the balanced rescaling of the hidden rows,
        ``sqrt(|v_k| / |(w_k, b_k)|) (w_k, b_k)``, which does not change a
        positively homogeneous network (see :func:`hidden_matrix`).  Affects the
        singular values and rank measures only (angles are scale-free).
    rank_tol : float, default=1e-6
        Numerical rank tolerance, relative to the largest singular value.
    active_tol : float, default=1e-3
        Relative threshold of :func:`active_neurons`.
    cos_threshold : float, default=0.98
        Two active units share an orientation when the cosine of their hidden
        vectors is at least this, and a line when its absolute value is.
    min_cluster_frac : float, default=0.05
        Clusters holding fewer than this fraction of the active units are not
        counted in ``n_orientations_`` and ``n_lines_``.
    output_sign : {'any', 'positive'}, default='any'
        ``'positive'``: only units with a positive output weight ``v_k > 0``
        count as active (one output only), as in Chistikov et al. [2]_, where a
        few small negative units would otherwise set ``max_angle_``.  Affects
        the active mask and everything measured on it (angles, clusters, the
        cosine matrix), not the singular values.

    Attributes
    ----------
    estimator_ : estimator
        The fitted network.
    singular_values_ : ndarray of shape (min(n_hidden, n_columns),)
        Of ``W`` or ``[W | b]`` (rescaled if asked), decreasing.
    numerical_rank_ : int
        ``#{sigma_i > rank_tol * sigma_1}``.
    stable_rank_ : float
        ``sum sigma_i^2 / sigma_1^2``.
    effective_rank_ : float
        ``exp(-sum p_i log p_i)``, ``p_i = sigma_i / sum sigma`` (Roy and
        Vetterli [4]_).
    nuclear_norm_ : float
        ``sum sigma_i``.
    explained_variance_ratio_ : ndarray
        ``sigma_i^2 / sum sigma^2`` (uncentred PCA of the hidden rows).
    active_mask_ : ndarray of bool, shape (n_hidden,)
        See :func:`active_neurons` (activity is tested on the ``X`` given to ``fit``).
    n_active_ : int
    max_angle_, mean_angle_ : float
        Largest and mean pairwise angle, in degrees, between the hidden vectors
        of active units (0 with fewer than two); see :func:`pairwise_angles`
        for the sampling beyond ``EXACT_UNITS`` active units.
    cosine_matrix_ : ndarray of shape (n_active_, n_active_)
        Cosines of the normalised hidden vectors of the active units, rows and
        columns in ``cluster_order_``.
    cluster_order_ : ndarray of int, shape (n_active_,)
        Indices of the active units sorted by line cluster, then orientation.
    cluster_labels_ : ndarray of int, shape (n_hidden,)
        Line cluster of each unit (0 is the largest), -1 for inactive units.
        Beyond ``EXACT_UNITS`` active units the neighbour pairs come from
        hashing (:func:`_line_pairs`), which misses a given pair with
        probability at most ``LSH_MISS``; a neighbour graph that would not fit
        in the memory available (units concentrated within
        ``cos_threshold`` of each other, whose pairs grow like the square of
        the width) raises a ``MemoryError`` that names the fixes.
    orientation_labels_ : ndarray of int, shape (n_hidden,)
        Orientation cluster of each unit, -1 for inactive units.
    n_orientations_, n_lines_ : int
        Clusters (by ``cos >= cos_threshold``, resp. ``|cos| >= cos_threshold``)
        holding at least ``min_cluster_frac`` of the active units.
    lines_to_cover_80_ : int
        Fewest line clusters that hold 80% of the active units.
    feature_map_ : ndarray of shape (n_hidden, 2) or None
        One input feature: ``(theta_k, A_k)`` of :func:`feature_map_1d`, the
        feature map of Zhou et al. [1]_; else None.
    balance_per_neuron_ : ndarray of shape (n_hidden,)
        ``v_k^2 - |(w_k, b_k)|^2`` (always with the bias), where ``v`` is the
        trained output parameter: ``output_weights_`` of a
        ``ShallowReLURegressor`` (before the output scale ``s``, which is 1 in the
        standard parametrisation); for other models the output weights of
        ``network_parameters``.  Conserved by gradient flow for ReLU, leaky
        ReLU and absolute value.
    balance_ : float
        ``max_k |balance_per_neuron_|``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    sklearn_shallowrelu.diagnostics.network_parameters : The parameter reader.
    diagnostic_scorer : One diagnostic as a ``GridSearchCV`` scorer.

    References
    ----------
    .. [1] H. Zhou, Q. Zhou, T. Luo, Y. Zhang and Z.-Q. J. Xu, "Towards
       understanding the condensation of neural networks at initial
       training", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2105.11686
    .. [2] D. Chistikov, M. Englert and R. Lazic, "Learning a neuron by a
       shallow ReLU network: dynamics and implicit bias for correlated
       inputs", Advances in Neural Information Processing Systems 36
       (NeurIPS 2023). https://arxiv.org/abs/2306.06479
    .. [3] E. Boursier, L. Pillaud-Vivien and N. Flammarion, "Gradient flow
       dynamics of shallow ReLU networks for square loss and orthogonal
       inputs", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2206.00939
    .. [4] O. Roy and M. Vetterli, "The effective rank: a measure of
       effective dimensionality", 15th European Signal Processing Conference
       (EUSIPCO 2007), 606-610.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.diagnostics.rank import RankDiagnostics
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.abs(X[:, 0])
    >>> net = ShallowReLURegressor(n_hidden=8, max_iter=50, random_state=0)
    >>> rd = RankDiagnostics(net).fit(X, y)
    >>> rd.transform(X).shape
    (20, 8)
    >>> bool(1 <= rd.stable_rank_ <= rd.numerical_rank_ <= 2)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"]), None],
        "prefit": ["boolean"],
        "use_bias": ["boolean"],
        "rescale": [StrOptions({"none", "balanced"})],
        "rank_tol": [Interval(Real, 0, None, closed="left")],
        "active_tol": [Interval(Real, 0, 1, closed="left")],
        "cos_threshold": [Interval(Real, 0, 1, closed="right")],
        "min_cluster_frac": [Interval(Real, 0, 1, closed="both")],
        "output_sign": [StrOptions({"any", "positive"})],
    }

    def __init__(self, estimator=None, *, prefit=False, use_bias=True, rescale="none", rank_tol=1e-6,
                 active_tol=1e-3, cos_threshold=0.98, min_cluster_frac=0.05, output_sign="any"):
        self.estimator = estimator
        self.prefit = prefit
        self.use_bias = use_bias
        self.rescale = rescale
        self.rank_tol = rank_tol
        self.active_tol = active_tol
        self.cos_threshold = cos_threshold
        self.min_cluster_frac = min_cluster_frac
        self.output_sign = output_sign

    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit a clone of ``estimator`` on ``(X, y)`` (unless ``prefit``) and compute the diagnostics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: the network is fitted on them (unless
            ``prefit``), and they decide which units are active.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Training targets.  Required to fit; with ``prefit=True`` it may be None.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to ``estimator.fit`` (when given and not ``prefit``).  Inputs
            of weight 0 are left out of the activity test of the units.  Must be
            finite and non-negative with a positive sum (``ValueError``
            otherwise, before anything is fitted).
        **fit_params : dict
            Passed to ``estimator.fit`` (not used with ``prefit=True``).

        Returns
        -------
        self : object
            The fitted diagnostic.
        """
        if self.prefit:
            Xv = validate_data(self, X, dtype=[np.float64, np.float32])
        else:
            Xv, _ = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True)
        sw = checked_sample_weight(sample_weight, Xv.shape[0])
        if sample_weight is not None and not self.prefit:
            fit_params["sample_weight"] = sample_weight
        self.estimator_ = diagnosed_model(self.estimator, self.prefit, X, y, self.n_features_in_, **fit_params)
        Z = hidden_inputs(self.estimator_, X, Xv)
        self._compute(Z if sample_weight is None else Z[sw > 0])
        return self

    def _compute(self, Z):
        p = network_parameters(self.estimator_)
        last = self.estimator_[-1] if isinstance(self.estimator_, Pipeline) else self.estimator_
        W, b, v = p.W, p.b, p.v
        n = W.shape[0]
        self._params = (W, b, p.activation)
        self._n_features_out = n

        M = hidden_matrix(W, b, v, use_bias=self.use_bias, rescale=self.rescale)
        measures = rank_measures(np.linalg.svd(M, compute_uv=False), self.rank_tol)
        for key, value in measures.items():
            setattr(self, key + "_", value)

        mask = active_neurons(W, b, v, Z, p.activation, self.use_bias, self.active_tol,
                              positive_output=self.output_sign == "positive")
        idx = np.flatnonzero(mask)
        U = unit_directions(hidden_matrix(W, b, use_bias=self.use_bias))[idx]
        self.active_mask_, self.n_active_ = mask, int(idx.size)
        self.max_angle_, self.mean_angle_, orient, lines = _direction_summary(U, self.cos_threshold)
        order = np.lexsort((idx, orient, lines))
        self.cluster_order_ = idx[order]
        self.cluster_labels_ = np.full(n, -1)
        self.cluster_labels_[idx] = lines
        self.orientation_labels_ = np.full(n, -1)
        self.orientation_labels_[idx] = orient
        self._sorted_directions, self._cosine_matrix = U[order], None
        self.n_lines_ = _n_large(lines, self.min_cluster_frac)
        self.n_orientations_ = _n_large(orient, self.min_cluster_frac)
        self.lines_to_cover_80_ = cover_count(lines, 0.8)

        self.feature_map_ = feature_map_1d(W[:, 0], b) if W.shape[1] == 1 else None
        scale = getattr(last, "output_scale_", None)
        v_param = v / scale if scale else v
        self.balance_per_neuron_ = balance(W, b, v_param)
        self.balance_ = float(np.max(np.abs(self.balance_per_neuron_), initial=0.0))

    @property
    def cosine_matrix_(self):
        """Cosines of the normalised hidden vectors of the active units, in ``cluster_order_``.

        Formed when first read (``n_active_^2`` floats: 800 MB for 10^4 units), not by ``fit``.
        """
        if getattr(self, "_cosine_matrix", None) is None:
            U = self._sorted_directions  # AttributeError before fit, as for any fitted attribute
            S = np.clip(U @ U.T, -1.0, 1.0)
            S = (S + S.T) / 2
            np.fill_diagonal(S, 1.0)
            self._cosine_matrix = S
        return self._cosine_matrix

    def transform(self, X):
        """Hidden activations ``act(X W^T + b)``, shape (n_samples, n_hidden), float64.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (through the earlier steps of a ``Pipeline``, if the
            estimator is one).

        Returns
        -------
        ndarray of shape (n_samples, n_hidden)
            The learned features, one column per hidden unit.
        """
        check_is_fitted(self)
        Xv = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        W, b, activation = self._params
        return get_activation(activation).value(hidden_inputs(self.estimator_, X, Xv) @ W.T + b)

    def get_feature_names_out(self, input_features=None):
        """``['hidden0', 'hidden1', ...]``, one name per hidden unit.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Not used to form the names; checked against ``feature_names_in_``
            as in scikit-learn.

        Returns
        -------
        ndarray of str objects
            The names of the columns of :meth:`transform`.
        """
        check_is_fitted(self, "_n_features_out")
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"hidden{k}" for k in range(self._n_features_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = not self.prefit
        tags.target_tags.multi_output = True
        return tags
