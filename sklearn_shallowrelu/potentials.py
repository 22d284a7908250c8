"""Mirror-descent potentials, shared by every solver of the package.

A potential is a strictly convex function ``phi`` applied coordinate-wise to the
displacement from the start, ``Phi(v) = sum_k phi(v_k - v_k(0))``.  Mirror descent
updates ``phi'(v_{t+1} - v_0) = phi'(v_t - v_0) - eta * grad L(v_t)``, and for
under-determined least squares it converges to the interpolant nearest ``v_0``
in the Bregman divergence of ``Phi`` (Gunasekar et al. 2018).

Each potential gives ``phi``, ``grad`` (``phi'``), ``grad_inv`` (the inverse of
``phi'``) and ``hess`` (``phi''``).  A :class:`WidthScaled` potential
(Liang & Montufar) is ``phi(s x) / s^2`` with ``s`` tied to the width; the
estimators resolve it with :func:`resolve_potential`.
"""

import numpy as np

from .init import check_positive

__all__ = [
    "Potential",
    "Quadratic",
    "HyperbolicEntropy",
    "Power",
    "QuadraticPlusPower",
    "Scaled",
    "WidthScaled",
    "check_potential",
    "resolve_potential",
    "POTENTIAL_NAMES",
]


def _check_exponent(p):
    if not (check_positive("p", p) > 1):
        raise ValueError(f"p must be a number greater than 1, got {p!r}.")
    return float(p)


class Potential:
    """Base class of coordinate-wise mirror potentials ``phi``.

    Mirror descent with ``Phi(v) = sum_k phi(v_k - v_k(0))`` on an
    under-determined least-squares problem converges to the interpolant
    nearest the start in the Bregman divergence of ``Phi`` (Gunasekar et al.
    [1]_).  Subclasses implement :meth:`phi`, :meth:`grad`, :meth:`grad_inv`
    and :meth:`hess`, elementwise.

    References
    ----------
    .. [1] S. Gunasekar, J. Lee, D. Soudry and N. Srebro, "Characterizing
       implicit bias in terms of optimization geometry", Proceedings of the
       35th International Conference on Machine Learning (ICML 2018).
       https://arxiv.org/abs/1802.08246
    """

    def phi(self, x):
        """``phi(x)``, elementwise.

        Parameters
        ----------
        x : float or array-like
            Displacements from the start.

        Returns
        -------
        ndarray
            ``phi(x)``, of the shape of ``x``.
        """
        raise NotImplementedError

    def grad(self, x):
        """``phi'(x)``, elementwise.

        Parameters
        ----------
        x : float or array-like
            Displacements from the start.

        Returns
        -------
        ndarray
            ``phi'(x)``, of the shape of ``x``.
        """
        raise NotImplementedError

    def grad_inv(self, y):
        """The inverse of ``phi'``: the ``x`` with ``phi'(x) = y``, elementwise.

        Parameters
        ----------
        y : float or array-like
            Values of ``phi'`` (mirror coordinates).

        Returns
        -------
        ndarray
            The displacements ``x``, of the shape of ``y``.
        """
        raise NotImplementedError

    def hess(self, x):
        """``phi''(x)``, elementwise.

        Parameters
        ----------
        x : float or array-like
            Displacements from the start.

        Returns
        -------
        ndarray
            ``phi''(x)``, of the shape of ``x`` (may be 0 or ``inf`` at 0).
        """
        raise NotImplementedError

    def bregman(self, x, x0=0.0):
        """Bregman divergence ``sum phi(x) - phi(x0) - phi'(x0) (x - x0)``.

        Parameters
        ----------
        x : float or array-like
            Point whose divergence is measured.
        x0 : float or array-like, default=0.0
            Reference point, broadcast against ``x``.

        Returns
        -------
        float
            The divergence summed over coordinates, non-negative for a convex ``phi``.
        """
        x = np.asarray(x, dtype=float)
        return np.sum(self.phi(x) - self.phi(x0) - self.grad(x0) * (x - x0))

    def step_scale(self, displacement=None):
        """Smallest curvature ``phi''`` over ``displacement`` (default: at 0).

        Mirror descent behaves locally like gradient descent preconditioned by
        ``diag(phi'')``, so a step ``eta`` is stable while ``eta lambda_max <
        2 min_k phi''(displacement_k)``.  Infinite or zero curvature (``|x|^p``
        at 0) gives 1 instead, the scale of a unit displacement.

        Parameters
        ----------
        displacement : array-like or None, default=None
            Current displacements ``v_t - v_0``; None means 0.

        Returns
        -------
        float
            ``min_k phi''(displacement_k)``, or 1.0 if that is not finite and positive.
        """
        x = np.zeros(1) if displacement is None else np.asarray(displacement, dtype=float)
        h = float(np.min(self.hess(x)))
        return h if np.isfinite(h) and h > 0 else 1.0


class Quadratic(Potential):
    """``phi(x) = x^2 / 2``: mirror descent is plain gradient descent.

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import Quadratic
    >>> float(Quadratic().grad_inv(3.0))
    3.0
    """

    def phi(self, x):
        return 0.5 * np.square(x)

    def grad(self, x):
        return np.asarray(x, dtype=float)

    def grad_inv(self, y):
        return np.asarray(y, dtype=float)

    def hess(self, x):
        return np.ones_like(np.asarray(x, dtype=float))

    def __repr__(self):
        return "Quadratic()"


class HyperbolicEntropy(Potential):
    """``phi(x) = x arcsinh(x / beta) - sqrt(x^2 + beta^2)``.

    ``phi'(x) = arcsinh(x / beta)``, ``phi''(x) = 1 / sqrt(x^2 + beta^2)``.  Small
    ``beta`` interpolates toward an l1 bias, large ``beta`` toward l2.

    Parameters
    ----------
    beta : float, default=1.0
        Scale of the transition between the two regimes, positive.

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import HyperbolicEntropy
    >>> p = HyperbolicEntropy(beta=0.5)
    >>> round(float(p.grad_inv(p.grad(1.3))), 12)
    1.3
    """

    def __init__(self, beta=1.0):
        self.beta = check_positive("beta", beta)

    def phi(self, x):
        x = np.asarray(x, dtype=float)
        return x * np.arcsinh(x / self.beta) - np.sqrt(x**2 + self.beta**2)

    def grad(self, x):
        return np.arcsinh(np.asarray(x, dtype=float) / self.beta)

    def grad_inv(self, y):
        return self.beta * np.sinh(np.asarray(y, dtype=float))

    def hess(self, x):
        return 1.0 / np.sqrt(np.square(x) + self.beta**2)

    def __repr__(self):
        return f"HyperbolicEntropy(beta={self.beta!r})"


class Power(Potential):
    """``phi(x) = |x|^p / p`` with ``p > 1``.

    ``phi'(x) = sign(x) |x|^(p-1)``; ``phi''(x) = (p-1) |x|^(p-2)``, which is
    infinite at 0 for ``p < 2`` and zero there for ``p > 2``.

    Parameters
    ----------
    p : float, default=3.0
        Exponent, greater than 1.

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import Power
    >>> float(Power(3).grad_inv(4.0))
    2.0
    """

    def __init__(self, p=3.0):
        self.p = _check_exponent(p)

    def phi(self, x):
        return np.abs(x) ** self.p / self.p

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        return np.sign(x) * np.abs(x) ** (self.p - 1)

    def grad_inv(self, y):
        y = np.asarray(y, dtype=float)
        return np.sign(y) * np.abs(y) ** (1.0 / (self.p - 1))

    def hess(self, x):
        with np.errstate(divide="ignore"):
            return (self.p - 1) * np.abs(np.asarray(x, dtype=float)) ** (self.p - 2)

    def __repr__(self):
        return f"Power(p={self.p!r})"


class QuadraticPlusPower(Potential):
    """``phi(x) = x^2 / 2 + c |x|^p / p`` (Liang & Montufar's ``x^2 + |x|^3`` family).

    The potentials ``x^2 + |x|^3`` and ``x^2 + x^4`` of Liang and Montufar
    [1]_, up to scale.  ``phi''(0) = 1`` for ``p > 2``, so the unscaled
    potential behaves like gradient descent at small displacements.  ``phi'``
    is inverted in closed form for ``p = 3`` and for ``p = 4`` with ``c > 0``,
    by safeguarded Newton iterations otherwise.

    Parameters
    ----------
    p : float, default=3.0
        Exponent of the power term, greater than 1.
    c : float, default=1.0
        Weight of the power term, non-negative.

    References
    ----------
    .. [1] S. Liang and G. Montufar, "Implicit bias of mirror flow for shallow
       neural networks in univariate regression", International Conference
       on Learning Representations (ICLR 2025).
       https://arxiv.org/abs/2410.03988

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import QuadraticPlusPower
    >>> p = QuadraticPlusPower(p=4, c=1.0)
    >>> round(float(p.grad_inv(p.grad(0.7))), 12)
    0.7
    """

    def __init__(self, p=3.0, c=1.0):
        self.p = _check_exponent(p)
        self.c = check_positive("c", c, allow_zero=True)

    def phi(self, x):
        x = np.asarray(x, dtype=float)
        return 0.5 * x**2 + self.c * np.abs(x) ** self.p / self.p

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        return x + self.c * np.sign(x) * np.abs(x) ** (self.p - 1)

    def hess(self, x):
        x = np.abs(np.asarray(x, dtype=float))
        with np.errstate(divide="ignore"):
            return 1.0 + self.c * (self.p - 1) * x ** (self.p - 2)

    def grad_inv(self, y):
        y = np.asarray(y, dtype=float)
        a = np.abs(y)
        if self.p == 3.0:
            # x + c x^2 = a, the root written without cancellation
            return np.sign(y) * 2 * a / (1 + np.sqrt(1 + 4 * self.c * a))
        if self.p == 4.0 and self.c > 0:
            # x + c x^3 = a: the hyperbolic form of Cardano's root, stable for all a
            r = np.sqrt(1.0 / (3 * self.c))
            return np.sign(y) * 2 * r * np.sinh(np.arcsinh(1.5 * a * np.sqrt(3 * self.c)) / 3)
        # phi' is odd and increasing with phi'(x) >= x, so |x| lies in [0, |y|];
        # safeguarded Newton inside that bracket.
        lo, hi = np.zeros_like(a), a.copy()
        x = a.copy()
        for _ in range(200):
            f = self.grad(x) - a
            hi = np.where(f > 0, x, hi)
            lo = np.where(f <= 0, x, lo)
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = x - f / self.hess(x)
            bad = ~np.isfinite(xn) | (xn < lo) | (xn > hi)
            xn = np.where(bad, 0.5 * (lo + hi), xn)
            done = np.all(np.abs(xn - x) <= 4 * np.finfo(float).eps * np.abs(x)) or np.all(hi - lo <= 4 * np.finfo(float).eps * hi)
            x = xn
            if done:
                break
        return np.sign(y) * x

    def __repr__(self):
        return f"QuadraticPlusPower(p={self.p!r}, c={self.c!r})"


class Scaled(Potential):
    """``phi_s(x) = phi(s x) / s^2`` for a fixed scale ``s``.

    ``phi_s'(x) = phi'(s x) / s`` and ``phi_s''(x) = phi''(s x)``: the Hessian at
    the start is that of ``phi``, and the shape of ``phi`` is probed at
    displacements of order ``1 / s``.

    Parameters
    ----------
    base : Potential
        The potential ``phi``.
    scale : float
        The scale ``s``, positive.

    Raises
    ------
    TypeError
        If ``base`` is not a Potential.

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import Scaled, Power
    >>> p = Scaled(Power(3), scale=10.0)
    >>> round(float(p.grad_inv(p.grad(0.02))), 12)
    0.02
    """

    def __init__(self, base, scale):
        if not isinstance(base, Potential):
            raise TypeError("base must be a Potential.")
        self.base, self.scale = base, check_positive("scale", scale)

    def phi(self, x):
        return self.base.phi(self.scale * np.asarray(x, dtype=float)) / self.scale**2

    def grad(self, x):
        return self.base.grad(self.scale * np.asarray(x, dtype=float)) / self.scale

    def grad_inv(self, y):
        return self.base.grad_inv(self.scale * np.asarray(y, dtype=float)) / self.scale

    def hess(self, x):
        return self.base.hess(self.scale * np.asarray(x, dtype=float))

    def __repr__(self):
        return f"Scaled({self.base!r}, scale={self.scale!r})"


class WidthScaled(Potential):
    """A potential rescaled by the network width (Liang & Montufar's scaled potentials).

    Resolved by the estimator to ``Scaled(base, scale)`` with the scale at which
    one output weight moves by ``O(1)`` in units of ``scale``: ``sqrt(n)`` for the
    ``1/sqrt(n)``-scaled random features of this package, ``n`` for the
    standard parametrisation of a two-layer network.  With such scaled
    potentials mirror descent on a wide network is still lazy but not in the
    kernel regime: its implicit bias is a non-quadratic curvature penalty
    (Liang and Montufar [1]_).  Its methods raise ``ValueError`` until it is
    resolved.

    Parameters
    ----------
    base : str or Potential
        The potential ``phi`` to scale (a name of ``POTENTIAL_NAMES`` or an
        object).

    References
    ----------
    .. [1] S. Liang and G. Montufar, "Implicit bias of mirror flow for shallow
       neural networks in univariate regression", International Conference
       on Learning Representations (ICLR 2025).
       https://arxiv.org/abs/2410.03988

    Examples
    --------
    >>> from sklearn_shallowrelu.potentials import WidthScaled, Power, resolve_potential
    >>> resolve_potential(WidthScaled(Power(3)), width_scale=30.0)
    Scaled(Power(p=3.0), scale=30.0)
    """

    def __init__(self, base):
        self.base = check_potential(base)

    def _unresolved(self, *args):
        """Raise ``ValueError``: resolve the potential to a width first.

        ``phi``, ``grad``, ``grad_inv`` and ``hess`` of a ``WidthScaled``
        potential are defined only once it is resolved to
        ``Scaled(base, scale)`` by :func:`resolve_potential` (estimators do
        this in ``fit``).

        Parameters
        ----------
        *args : object
            The arguments of the method called; ignored.

        Raises
        ------
        ValueError
            Always.
        """
        raise ValueError(
            "A WidthScaled potential must be resolved to a width first: pass it to "
            "an estimator, or call resolve_potential(potential, width_scale)."
        )

    phi = grad = grad_inv = hess = _unresolved

    def __repr__(self):
        return f"WidthScaled({self.base!r})"


POTENTIAL_NAMES = {
    "quadratic": Quadratic,
    "hyperbolic_entropy": HyperbolicEntropy,
    "power": Power,
    "quadratic_plus_power": QuadraticPlusPower,
}


def check_potential(potential):
    """Turn a name or a Potential into a Potential.

    Parameters
    ----------
    potential : str or Potential
        A name of ``POTENTIAL_NAMES`` (``'quadratic'``,
        ``'hyperbolic_entropy'``, ``'power'``, ``'quadratic_plus_power'``) or a
        Potential (returned as is).

    Returns
    -------
    Potential
        The potential object, with default parameters for a name.

    Raises
    ------
    ValueError
        If ``potential`` is an unknown name.
    TypeError
        If ``potential`` is neither a string nor a Potential.
    """
    if isinstance(potential, Potential):
        return potential
    if isinstance(potential, str):
        try:
            return POTENTIAL_NAMES[potential]()
        except KeyError:
            raise ValueError(
                f"Unknown potential {potential!r}; use one of "
                f"{sorted(POTENTIAL_NAMES)} or a Potential object."
            ) from None
    raise TypeError(f"potential must be a string or a Potential, got {type(potential).__name__}.")


def resolve_potential(potential, width_scale):
    """Return a concrete potential: ``WidthScaled`` becomes ``Scaled(base, width_scale)``.

    Parameters
    ----------
    potential : str or Potential
        A potential or its name, as for :func:`check_potential`.
    width_scale : float
        The scale of a ``WidthScaled`` potential at this width (``sqrt(n)``
        for the random-feature networks, ``n * s`` for
        ``ShallowReLURegressor``).

    Returns
    -------
    Potential
        ``Scaled(base, width_scale)`` for a ``WidthScaled`` potential, else
        the potential of :func:`check_potential`.
    """
    potential = check_potential(potential)
    if isinstance(potential, WidthScaled):
        return Scaled(potential.base, width_scale)
    return potential
