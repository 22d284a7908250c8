"""Initialisation distributions of the hidden layer.

An initialisation samples the hidden weights and biases ``(W, b)`` of a network
and, for one-dimensional inputs, knows what it implies in function space: the
density of the knots ``xi = -b / w``, the curvature weight
``g(x) = p_xi(x) E[w^2 | xi = x]`` split into right- and left-facing parts
``g = g_+ + g_-``, and the random-feature kernel

    K(x, x') = E[relu(W x + B) relu(W x' + B)]
             = int g_+(c) [x - c]_+ [x' - c]_+ dc + int g_-(c) [c - x]_+ [c - x']_+ dc.

The kernel is computed from cumulative moments of ``g_+`` and ``g_-``
(``int_{-inf}^{u} g_+(c) c^k dc`` and ``int_{u}^{inf} g_-(c) c^k dc`` for
``k = 0, 1, 2``), so a distribution only has to provide those (closed forms
where known, quadrature otherwise).  See ``doc/theory.md`` and
``doc/initialisations_and_potentials.md``, which lists the formulas.
"""

from numbers import Real

import numpy as np
from scipy import integrate
from sklearn.utils import check_random_state, gen_batches

from ._memory import working_memory_bytes

__all__ = [
    "Initialization",
    "Gaussian",
    "RademacherUniform",
    "Uniform",
    "UniformKnots",
    "He",
    "CallableInit",
    "ExplicitInit",
    "check_init",
    "INIT_NAMES",
]


class Initialization:
    """Base class: a distribution of hidden-layer parameters ``(W, b)``.

    Subclasses implement :meth:`sample` and, when they have a one-dimensional
    curvature weight, :meth:`curvature_weight_parts` (and optionally closed-form
    cumulative moments and kernels).  Objects are immutable; data-dependent
    initialisations return a new, bound object from :meth:`bind`.
    """

    #: True when the distribution depends on the training inputs (see ``bind``).
    data_dependent = False

    def bind(self, X):
        """Return the initialisation to use for training inputs ``X``.

        Data-independent initialisations return ``self``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.

        Returns
        -------
        Initialization
            ``self``, or a new object bound to ``X`` for data-dependent
            initialisations.
        """
        return self

    def sample(self, n_components, n_features, random_state=None):
        """Draw ``n_components`` hidden units.

        Parameters
        ----------
        n_components : int
            Number of hidden units (the width).
        n_features : int
            Number of input features.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.

        Returns
        -------
        W : ndarray of shape (n_components, n_features)
            Hidden weights, one row per unit.
        b : ndarray of shape (n_components,)
            Hidden biases.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ 1-D
    def curvature_weight_parts(self, x):
        """Right- and left-facing curvature weights ``(g_+(x), g_-(x))`` in 1-D.

        Parameters
        ----------
        x : float or array-like
            Points of the input line.

        Returns
        -------
        g_plus : ndarray of the shape of ``x``
            Curvature weight of the units with ``w > 0``.
        g_minus : ndarray of the shape of ``x``
            Curvature weight of the units with ``w < 0``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form curvature weight; use one "
            "of the built-in initialisations (Gaussian, RademacherUniform, Uniform, "
            "UniformKnots, He) for function-space quantities."
        )

    def curvature_weight(self, x):
        """Curvature weight ``g(x) = p_xi(x) E[w^2 | xi = x]`` in 1-D.

        Parameters
        ----------
        x : float or array-like
            Points of the input line.

        Returns
        -------
        ndarray of the shape of ``x``
            ``g(x) = g_+(x) + g_-(x)``.
        """
        gp, gm = self.curvature_weight_parts(np.asarray(x, dtype=float))
        return gp + gm

    def knot_density(self, x):
        """Density of the knots ``xi = -b / w`` in 1-D.

        Parameters
        ----------
        x : float or array-like
            Points of the input line.

        Returns
        -------
        ndarray of the shape of ``x``
            The density ``p_xi(x)``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form knot density."
        )

    def support(self):
        """The interval outside which the curvature weight ``g`` vanishes.

        Returns
        -------
        tuple of float
            ``(low, high)``, possibly infinite.
        """
        return (-np.inf, np.inf)

    #: Whether every hidden weight has ``|w| = 1`` in 1-D (the infinite-width
    #: Bregman problem needs it: then the optimal output weight is a function
    #: of the direction and the knot alone).
    unit_norm_weights = False

    def breakpoints(self):
        """Points where the curvature weight ``g`` is not smooth.

        The exact 1-D engine splits its quadrature pieces there, so that each
        piece integrates a smooth function.

        Returns
        -------
        tuple of float
            The breakpoints (possibly infinite), empty for a smooth ``g``.
        """
        return ()

    def length_scale(self):
        """Width of the central part of the curvature weight ``g``.

        The engine's quadrature pieces are a fraction of ``max(scale, |x|)``,
        since ``g`` varies on the scale ``|x|`` in its tails.

        Returns
        -------
        float or None
            The scale; None when ``g`` is constant between its breakpoints
            (then a two-point rule on the pieces between them is exact).
        """
        return 1.0

    def cumulative_moments(self, u, side):
        """Cumulative moments of the one-sided curvature weights.

        For ``side='+'`` returns ``int_{-inf}^{u} g_+(c) c^k dc`` and for
        ``side='-'`` returns ``int_{u}^{inf} g_-(c) c^k dc``, for ``k = 0, 1, 2``,
        as an array of shape ``(3,) + u.shape``.  The generic implementation uses
        adaptive quadrature; subclasses override it with closed forms.

        Parameters
        ----------
        u : float or array-like
            Upper (``'+'``) or lower (``'-'``) ends of the integrals.
        side : {'+', '-'}
            Which one-sided weight, ``g_+`` or ``g_-``.

        Returns
        -------
        ndarray of shape ``(3,) + u.shape``
            The moments of orders 0, 1 and 2.
        """
        u = np.asarray(u, dtype=float)
        out = np.empty((3,) + u.shape)
        lo, hi = self.support()
        part = 0 if side == "+" else 1
        brk = [p for p in self.breakpoints() if np.isfinite(p)]
        for idx, uu in np.ndenumerate(u):
            a, b = (lo, min(uu, hi)) if side == "+" else (max(uu, lo), hi)
            for k in range(3):
                if not a < b:
                    out[(k,) + idx] = 0.0
                    continue
                f = lambda c, k=k: self.curvature_weight_parts(np.array(c))[part] * c**k
                out[(k,) + idx] = _quad_with_breaks(f, a, b, brk)
        return out

    def tail_moments(self, x, side):
        """Moments of the one-sided curvature weights beyond ``x``, about ``x``.

        For ``side='+'`` returns ``int_{-inf}^{x} g_+(c) (x - c)^k dc`` and for
        ``side='-'`` returns ``int_{x}^{inf} g_-(c) (c - x)^k dc``, ``k = 0, 1,
        2``: what the units whose knots lie beyond ``x`` contribute there.  The
        generic implementation expands ``(x - c)^k`` around
        :meth:`cumulative_moments`; subclasses with closed forms override it
        (the expansion cancels for ``x`` far from the origin).

        Parameters
        ----------
        x : float or array-like
            The points.
        side : {'+', '-'}
            Which one-sided weight, ``g_+`` or ``g_-``.

        Returns
        -------
        ndarray of shape ``(3,) + x.shape``
            The moments of orders 0, 1 and 2.
        """
        x = np.asarray(x, dtype=float)
        C = self.cumulative_moments(x, side)
        sign = 1.0 if side == "+" else -1.0
        out = np.empty((3,) + x.shape)
        out[0], out[1], out[2] = C[0], sign * (x * C[0] - C[1]), x * (x * C[0] - 2.0 * C[1]) + C[2]
        return out

    def kernel(self, x, y=None):
        """Random-feature kernel ``K(x, y) = E[relu(Wx+B) relu(Wy+B)]`` in 1-D.

        Parameters
        ----------
        x : array-like of shape (n,) or (n, 1)
            First inputs.
        y : array-like of shape (p,) or (p, 1), default=None
            Second inputs; None means ``x``.

        Returns
        -------
        K : ndarray of shape (n, p)
            The kernel matrix ``K[i, j] = K(x_i, y_j)``.
        """
        x, y = _one_d(x), (None if y is None else _one_d(y))
        return _kernel_from_moments(self, x, x if y is None else y)


def check_positive(name, value, allow_zero=False):
    """Return ``float(value)`` or raise a ValueError naming the parameter."""
    ok = isinstance(value, Real) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} number, got {value!r}.")
    return float(value)


def _one_d(x):
    x = np.asarray(x, dtype=float)
    if x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
        raise ValueError(
            f"This kernel is the 1-D closed form; got inputs of shape {x.shape}. Only "
            "Gaussian.kernel handles several input dimensions."
        )
    return x.reshape(-1)


def _quad_with_breaks(f, a, b, breaks):
    pts = sorted(p for p in breaks if a < p < b)
    edges = [a] + pts + [b]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += integrate.quad(f, lo, hi, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
    return total


def _kernel_from_moments(init, x, y):
    # K = int_{c < min} g_+ (x-c)(y-c) + int_{c > max} g_- (c-x)(c-y), and
    # (x-c)(y-c) = x y - (x + y) c + c^2, so three cumulative moments suffice.
    X, Y = np.meshgrid(x, y, indexing="ij")
    lo = np.minimum(X, Y)
    hi = np.maximum(X, Y)
    ulo, inv_lo = np.unique(lo, return_inverse=True)
    uhi, inv_hi = np.unique(hi, return_inverse=True)
    mp = init.cumulative_moments(ulo, "+")[:, inv_lo.reshape(lo.shape)]
    mm = init.cumulative_moments(uhi, "-")[:, inv_hi.reshape(hi.shape)]
    return (X * Y * (mp[0] + mm[0]) - (X + Y) * (mp[1] + mm[1]) + (mp[2] + mm[2]))


def _poly_moments(lo, hi, density):
    """int_lo^hi density * c^k dc for a constant density, k = 0, 1, 2.

    Written with the width ``hi - lo`` as a factor (``(hi^2 - lo^2) / 2 = (hi -
    lo) (hi + lo) / 2`` and ``(hi^3 - lo^3) / 3 = (hi - lo) (hi^2 + hi lo +
    lo^2) / 3``), so that a narrow interval far from the origin keeps its
    relative accuracy, where the differences of powers would cancel.
    """
    mass = density * (hi - lo)
    out = np.empty((3,) + np.shape(mass))
    out[0] = mass
    out[1] = mass * (hi + lo) / 2
    out[2] = mass * (hi * hi + hi * lo + lo * lo) / 3
    return out


class _ConstantKnotWeight(Initialization):
    """Unit-norm directions and knots uniform on ``[low, high]``: ``g`` constant.

    In 1-D the weights are ``+-1`` with equal probability, so ``g_+ = g_- = 1 /
    (2 (high - low))`` on the interval and zero outside.
    """

    unit_norm_weights = True

    def _interval(self):
        raise NotImplementedError

    def support(self):
        return self._interval()

    def breakpoints(self):
        return self._interval()

    def length_scale(self):
        return None

    def knot_density(self, x):
        lo, hi = self._interval()
        x = np.asarray(x, dtype=float)
        return np.where((x >= lo) & (x <= hi), 1.0 / (hi - lo), 0.0)

    def curvature_weight_parts(self, x):
        half = 0.5 * self.knot_density(x)
        return half, half

    def cumulative_moments(self, u, side):
        lo, hi = self._interval()
        u = np.minimum(np.maximum(np.asarray(u, dtype=float), lo), hi)  # np.clip's own overhead is twice this
        dens = 0.5 / (hi - lo)
        if side == "+":
            return _poly_moments(lo, u, dens)
        return _poly_moments(u, hi, dens)

    def tail_moments(self, x, side):
        # the support's part beyond x lies between the distances `near` and `far`
        # from x (both 0 where none of it does): in the offset u = |x - c| the tail
        # is int_near^far dens u^k du, without the expansion's cancellation
        lo, hi = self._interval()
        x = np.asarray(x, dtype=float)
        far, near = (x - lo, x - hi) if side == "+" else (hi - x, lo - x)
        return _poly_moments(np.maximum(near, 0.0), np.maximum(far, 0.0), 0.5 / (hi - lo))

    def _sample_offsets(self, W, rng):
        lo, hi = self._interval()
        return rng.uniform(lo, hi, size=W.shape[0])

    def sample(self, n_components, n_features, random_state=None):
        rng = check_random_state(random_state)
        W = rng.standard_normal((n_components, n_features))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        if n_features == 1:
            W = np.sign(W)
        # A unit direction u with knot (offset) tau has bias -tau.
        b = -self._sample_offsets(W, rng)
        return W, b


class RademacherUniform(_ConstantKnotWeight):
    """Unit-norm weights (``W = +-1`` in 1-D) and bias uniform on ``[-a, a]``.

    In 1-D the knots are uniform on ``[-a, a]`` and the curvature weight is the
    constant ``g = 1 / (2 a)`` there (Jin & Montufar [1]_, Theorem 2(b)), so the
    infinite-width limit is a cubic smoothing spline on that interval.  In
    ``d`` dimensions the weight direction is uniform on the sphere.

    Parameters
    ----------
    bias_range : float, default=3.0
        Half-width ``a`` of the bias distribution.  Data should lie in
        ``[-a, a]`` (standardised data mostly does for ``a = 3``).

    References
    ----------
    .. [1] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356

    Examples
    --------
    >>> from sklearn_shallowrelu.init import RademacherUniform
    >>> init = RademacherUniform(bias_range=2.0)
    >>> float(init.curvature_weight(0.5))
    0.25
    """

    def __init__(self, bias_range=3.0):
        self.bias_range = check_positive("bias_range", bias_range)

    def _interval(self):
        return (-self.bias_range, self.bias_range)

    def __repr__(self):
        return f"RademacherUniform(bias_range={self.bias_range!r})"


class UniformKnots(_ConstantKnotWeight):
    """Knots uniform over the range of the training inputs (fitted from ``X``).

    Each unit gets a direction ``u`` uniform on the sphere (``+-1`` in 1-D) and a
    knot (offset) ``tau`` uniform between the smallest and largest value of
    ``u . x`` over the training inputs, widened by ``margin`` times that range
    on each side.  In 1-D the curvature weight is constant on the widened data
    range: the infinite-width limit is the cubic smoothing spline there.

    Parameters
    ----------
    margin : float, default=0.0
        Fraction of the data range added on each side.
    X : array-like of shape (n_samples, n_features) or None, default=None
        Training inputs to bind to; :meth:`bind` passes them (estimators call
        it in ``fit``), so users leave this None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.init import UniformKnots
    >>> init = UniformKnots().bind(np.array([[0.0], [4.0]]))
    >>> float(init.curvature_weight(1.0))
    0.25
    """

    data_dependent = True

    def __init__(self, margin=0.0, X=None):
        self.margin = check_positive("margin", margin, allow_zero=True)
        self._X = None if X is None else np.asarray(X, dtype=float)
        if self._X is not None and self._X.shape[1] == 1:
            lo, hi = float(self._X.min()), float(self._X.max())
            if not hi > lo:
                raise ValueError(
                    "UniformKnots needs at least two distinct input values to "
                    "place knots; got a constant feature."
                )
            pad = self.margin * (hi - lo)
            self._range = (lo - pad, hi + pad)
            # in 1-D the range of u . x over the data is that over its two ends: keep
            # those, not the training inputs (a fitted model would carry them along)
            self._X = np.array([[lo], [hi]])

    def bind(self, X):
        return UniformKnots(margin=self.margin, X=X)

    def _check_bound(self):
        if self._X is None:
            raise ValueError(
                "UniformKnots depends on the training inputs: call bind(X) first "
                "(estimators do this in fit)."
            )

    def _interval(self):
        self._check_bound()
        if self._X.shape[1] != 1:
            raise ValueError("The curvature weight is defined for 1-D inputs only.")
        return self._range

    def _sample_offsets(self, W, rng):
        # the range of u . x over the data, unit block by unit block: the whole
        # (n_samples, n_units) projection would not fit for wide layers on large data
        lo, hi = np.empty(len(W)), np.empty(len(W))
        for units in gen_batches(len(W), max(1, working_memory_bytes() // (8 * max(len(self._X), 1)))):
            proj = self._X @ W[units].T
            lo[units], hi[units] = proj.min(axis=0), proj.max(axis=0)
        pad = self.margin * (hi - lo)
        return rng.uniform(lo - pad, hi + pad)

    def sample(self, n_components, n_features, random_state=None):
        self._check_bound()
        if self._X.shape[1] != n_features:
            raise ValueError(
                f"UniformKnots was bound to data with {self._X.shape[1]} features, "
                f"asked for {n_features}."
            )
        return super().sample(n_components, n_features, random_state)

    def __repr__(self):
        return f"UniformKnots(margin={self.margin!r})"


class Uniform(Initialization):
    """Weights uniform on ``[-a_w, a_w]`` (each coordinate), bias uniform on ``[-a_b, a_b]``.

    In 1-D the curvature weight is ``a_w^3 / (8 a_b)`` for ``|x| <= a_b / a_w``
    and ``a_b^3 / (8 a_w x^4)`` outside (Jin & Montufar [1]_, Theorem 2(c)); the knot
    density is ``min(a_b / |x|, a_w)^2 / (4 a_w a_b)``.

    Parameters
    ----------
    weight_range : float, default=1.0
        Half-width ``a_w`` of the distribution of each weight coordinate.
    bias_range : float, default=2.0
        Half-width ``a_b`` of the bias distribution.

    References
    ----------
    .. [1] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356

    Examples
    --------
    >>> from sklearn_shallowrelu.init import Uniform
    >>> float(Uniform(1.0, 2.0).curvature_weight(0.0))
    0.0625
    """

    def __init__(self, weight_range=1.0, bias_range=2.0):
        self.weight_range = check_positive("weight_range", weight_range)
        self.bias_range = check_positive("bias_range", bias_range)

    def sample(self, n_components, n_features, random_state=None):
        rng = check_random_state(random_state)
        aw, ab = self._ranges(n_features)
        W = rng.uniform(-aw, aw, size=(n_components, n_features))
        b = rng.uniform(-ab, ab, size=n_components)
        return W, b

    def _ranges(self, n_features):
        return self.weight_range, self.bias_range

    def knot_density(self, x):
        aw, ab = self._ranges(1)
        x = np.abs(np.asarray(x, dtype=float))
        with np.errstate(divide="ignore"):
            m = np.minimum(np.where(x > 0, ab / x, np.inf), aw)
        return m**2 / (4 * aw * ab)

    def curvature_weight_parts(self, x):
        aw, ab = self._ranges(1)
        x = np.abs(np.asarray(x, dtype=float))
        with np.errstate(divide="ignore"):
            m = np.minimum(np.where(x > 0, ab / x, np.inf), aw)
        half = m**4 / (16 * aw * ab)
        return half, half

    def breakpoints(self):
        aw, ab = self._ranges(1)
        return (-ab / aw, ab / aw)

    def length_scale(self):
        aw, ab = self._ranges(1)
        return ab / aw

    def cumulative_moments(self, u, side):
        # g_+ = g_- = h(c): C0 on |c| <= r and D / c^4 outside, with r = a_b / a_w,
        # C0 = a_w^3 / (16 a_b), D = a_b^3 / (16 a_w).  h is even, so the '-'
        # moments are the '+' moments at -u with the sign (-1)^k.
        aw, ab = self._ranges(1)
        r, C0, D = ab / aw, aw**3 / (16 * ab), ab**3 / (16 * aw)
        u = np.asarray(u, dtype=float)
        v = u if side == "+" else -u
        shape = (3,) + (1,) * v.ndim
        alt = np.array([1.0, -1.0, 1.0]).reshape(shape)

        def tail(t):  # int_{-inf}^{t} D c^(k-4) dc, for t <= -r
            return D * np.stack([-1 / (3 * t**3), -1 / (2 * t**2), -1 / t])

        at_r = tail(np.full_like(v, -r))
        out = np.where(v <= -r, tail(np.minimum(v, -r)), at_r)
        out = out + _poly_moments(-r, np.clip(v, -r, r), C0)
        # int_r^v D c^(k-4) dc = (-1)^k int_{-v}^{-r} D c^(k-4) dc
        out = out + np.where(v > r, alt * (at_r - tail(-np.maximum(v, r))), 0.0)
        return out if side == "+" else alt * out

    def __repr__(self):
        return f"Uniform(weight_range={self.weight_range!r}, bias_range={self.bias_range!r})"


class He(Uniform):
    """PyTorch's default ``nn.Linear`` initialisation (He-uniform with ``a = sqrt(5)``).

    Weights and bias are uniform on ``[-1/sqrt(d), 1/sqrt(d)]`` for ``d`` input
    features; in 1-D this is :class:`Uniform` with both ranges equal to one.

    Examples
    --------
    >>> from sklearn_shallowrelu.init import He
    >>> W, b = He().sample(4, 9, random_state=0)
    >>> bool(abs(W).max() <= 1 / 3)
    True
    """

    def __init__(self):
        pass

    def _ranges(self, n_features):
        bound = 1.0 / np.sqrt(n_features)
        return bound, bound

    def __repr__(self):
        return "He()"


class Gaussian(Initialization):
    """Weights ``N(0, sigma_w^2 I)``, bias ``N(0, sigma_b^2)``.

    In 1-D the knots follow a Cauchy law of scale ``s = sigma_b / sigma_w`` and
    the curvature weight is ``2 sigma_w^3 sigma_b^3 / (pi (sigma_b^2 + x^2
    sigma_w^2)^2)`` (Jin & Montufar [1]_, Theorem 2(a)).  In any dimension the kernel
    is half the degree-1 arc-cosine kernel (Cho & Saul [2]_) of ``(sigma_w x,
    sigma_b)``.

    Parameters
    ----------
    sigma_w : float, default=1.0
        Standard deviation of each weight coordinate.
    sigma_b : float, default=1.0
        Standard deviation of the bias.

    References
    ----------
    .. [1] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356
    .. [2] Y. Cho and L. K. Saul, "Kernel methods for deep learning",
       Advances in Neural Information Processing Systems 22 (NIPS 2009).

    Examples
    --------
    >>> from sklearn_shallowrelu.init import Gaussian
    >>> round(float(Gaussian().curvature_weight(0.0)), 4)
    0.6366
    """

    def __init__(self, sigma_w=1.0, sigma_b=1.0):
        self.sigma_w = check_positive("sigma_w", sigma_w)
        self.sigma_b = check_positive("sigma_b", sigma_b)

    def sample(self, n_components, n_features, random_state=None):
        rng = check_random_state(random_state)
        W = self.sigma_w * rng.standard_normal((n_components, n_features))
        b = self.sigma_b * rng.standard_normal(n_components)
        return W, b

    def length_scale(self):
        return self.sigma_b / self.sigma_w

    def knot_density(self, x):
        s = self.sigma_b / self.sigma_w
        x = np.asarray(x, dtype=float)
        return s / (np.pi * (s**2 + x**2))

    def curvature_weight_parts(self, x):
        x = np.asarray(x, dtype=float)
        sw, sb = self.sigma_w, self.sigma_b
        half = sw**3 * sb**3 / (np.pi * (sb**2 + x**2 * sw**2) ** 2)
        return half, half

    def cumulative_moments(self, u, side):
        # g_+/- = A / (s^2 + c^2)^2 with s = sb/sw, A = sb^3 / (pi sw).
        s = self.sigma_b / self.sigma_w
        A = self.sigma_b**3 / (np.pi * self.sigma_w)
        v = np.asarray(u, dtype=float)
        if side == "-":
            v = -v
        q = s**2 + v**2
        at = np.arctan(v / s) + np.pi / 2  # arctan from -inf
        m0 = (v / q + at / s) / (2 * s**2) + 0.0
        m1 = -1.0 / (2 * q)
        m2 = 0.5 * (at / s - v / q)
        out = A * np.stack([m0, m1, m2])
        if side == "-":
            out[1] = -out[1]
        return out

    def kernel(self, x, y=None):
        """Kernel in any dimension: half the arc-cosine kernel of degree one.

        Parameters
        ----------
        x : array-like of shape (n,) or (n, n_features)
            First inputs.
        y : array-like of shape (p,) or (p, n_features), default=None
            Second inputs; None means ``x``.

        Returns
        -------
        ndarray of shape (n, p)
            The kernel matrix ``K[i, j] = E[relu(W x_i + B) relu(W y_j + B)]``.
        """
        x = np.asarray(x, dtype=float)
        y = x if y is None else np.asarray(y, dtype=float)
        x = x.reshape(len(x), -1)
        y = y.reshape(len(y), -1)
        ux = np.hstack([self.sigma_w * x, np.full((len(x), 1), self.sigma_b)])
        uy = np.hstack([self.sigma_w * y, np.full((len(y), 1), self.sigma_b)])
        nx = np.linalg.norm(ux, axis=1)[:, None]
        ny = np.linalg.norm(uy, axis=1)[None, :]
        cos = np.clip(ux @ uy.T / (nx * ny), -1.0, 1.0)
        theta = np.arccos(cos)
        return nx * ny / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)

    def __repr__(self):
        return f"Gaussian(sigma_w={self.sigma_w!r}, sigma_b={self.sigma_b!r})"


class CallableInit(Initialization):
    """A user function ``func(n_components, n_features, random_state) -> (W, b)``.

    ``random_state`` is a :class:`numpy.random.RandomState`; use it for all
    randomness so that fits are reproducible.

    Parameters
    ----------
    func : callable
        ``func(n_components, n_features, random_state) -> (W, b)`` with ``W``
        of shape (n_components, n_features) and ``b`` of shape
        (n_components,), finite.

    Raises
    ------
    TypeError
        If ``func`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.init import CallableInit
    >>> init = CallableInit(lambda n, d, rs: (rs.standard_normal((n, d)), np.zeros(n)))
    >>> init.sample(3, 2, random_state=0)[0].shape
    (3, 2)
    """

    def __init__(self, func):
        if not callable(func):
            raise TypeError("CallableInit needs a callable.")
        self.func = func

    def sample(self, n_components, n_features, random_state=None):
        W, b = self.func(n_components, n_features, check_random_state(random_state))
        return _check_wb(W, b, n_components, n_features)

    def __repr__(self):
        return f"CallableInit({self.func!r})"


class ExplicitInit(Initialization):
    """Given arrays: ``W`` of shape (n_components, n_features), ``b`` of shape (n_components,).

    :meth:`sample` returns copies of them, after checking that the requested
    shape is theirs.

    Parameters
    ----------
    W : array-like of shape (n_components, n_features)
        Hidden weights.
    b : array-like of shape (n_components,)
        Hidden biases.

    Raises
    ------
    ValueError
        If the shapes of ``W`` and ``b`` do not match.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu.init import ExplicitInit
    >>> init = ExplicitInit(np.ones((2, 1)), np.array([0.0, -1.0]))
    >>> init.sample(2, 1)[1]
    array([ 0., -1.])
    """

    def __init__(self, W, b):
        W = np.asarray(W, dtype=float)
        b = np.asarray(b, dtype=float)
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(
                "ExplicitInit needs W of shape (n_components, n_features) and b of "
                f"shape (n_components,); got {W.shape} and {b.shape}."
            )
        self.W, self.b = W, b

    def sample(self, n_components, n_features, random_state=None):
        return _check_wb(self.W.copy(), self.b.copy(), n_components, n_features)

    def __repr__(self):
        return f"ExplicitInit(W=<{self.W.shape}>, b=<{self.b.shape}>)"


def _check_wb(W, b, n_components, n_features):
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float).reshape(-1)
    if W.shape != (n_components, n_features) or b.shape != (n_components,):
        raise ValueError(
            f"The initialisation returned W of shape {W.shape} and b of shape "
            f"{b.shape}; expected ({n_components}, {n_features}) and ({n_components},)."
        )
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError("The initialisation returned non-finite weights or biases.")
    return W, b


INIT_NAMES = {
    "gaussian": Gaussian,
    "rademacher_uniform": RademacherUniform,
    "uniform": Uniform,
    "uniform_knots": UniformKnots,
    "he": He,
}


def check_init(init):
    """Turn a string, callable, ``(W, b)`` pair or Initialization into an Initialization.

    Parameters
    ----------
    init : str, Initialization, callable or tuple (W, b)
        A name of ``INIT_NAMES`` (``'gaussian'``, ``'rademacher_uniform'``,
        ``'uniform'``, ``'uniform_knots'``, ``'he'``), an Initialization
        (returned as is), a callable for :class:`CallableInit` or arrays for
        :class:`ExplicitInit`.

    Returns
    -------
    Initialization
        The initialisation object.

    Raises
    ------
    ValueError
        If ``init`` is an unknown name.
    TypeError
        If ``init`` is of none of these kinds.
    """
    if isinstance(init, Initialization):
        return init
    if isinstance(init, str):
        try:
            return INIT_NAMES[init]()
        except KeyError:
            raise ValueError(
                f"Unknown init {init!r}; use one of {sorted(INIT_NAMES)} or an "
                "Initialization object."
            ) from None
    if callable(init):
        return CallableInit(init)
    if isinstance(init, tuple) and len(init) == 2:
        return ExplicitInit(*init)
    raise TypeError(
        "init must be a string, an Initialization, a callable "
        "(n_components, n_features, random_state) -> (W, b), or a tuple (W, b); "
        f"got {type(init).__name__}."
    )
