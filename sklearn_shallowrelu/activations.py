"""Activations of the two-layer network, with their first and second derivatives.

Piecewise-linear ones (ReLU, leaky ReLU, absolute value) have a second derivative
that is zero away from the kink; their knots and slope jumps are what the
curvature diagnostics read.  The smooth ones of multiplicity 1, 2 and 3 are those
used in condensation studies (Zhou et al.): ``tanh``, ``x tanh x`` and
``x^2 tanh x``.
"""

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get_activation"]


class Activation:
    """An activation ``act`` with ``act'`` and ``act''`` (all elementwise, in place where possible).

    ``kink_jump`` is the jump of ``act'`` at 0 for piecewise-linear activations
    (None for smooth ones): a unit ``v act(w x + b)`` in 1-D changes the slope of
    the network by ``kink_jump * v * |w|`` at its knot ``-b / w``.  Every
    parameter is stored as an attribute of the same name.

    Parameters
    ----------
    name : str
        Name of the activation (a key of ``ACTIVATIONS``).
    value : callable
        ``act(z)``, elementwise on an ndarray ``z``.
    first : callable
        ``act'(z)``, elementwise (a one-sided derivative at a kink).
    second : callable
        ``act''(z)``, elementwise (zero for piecewise-linear activations).
    kink_jump : float or None, default=None
        Jump of ``act'`` at 0 for piecewise-linear activations; None for
        smooth ones.
    multiplicity : int or None, default=None
        Order of the first non-zero derivative of a smooth activation at 0,
        as in the condensation study of Zhou et al. [1]_; None for
        piecewise-linear ones.
    slopes : tuple of 3 floats or None, default=None
        ``act'`` above 0, below 0 and at 0 for piecewise-linear activations
        (``act(z) = z act'(z)``; the value at 0 is the one ``first`` gives);
        None for smooth ones.

    References
    ----------
    .. [1] H. Zhou, Q. Zhou, T. Luo, Y. Zhang and Z.-Q. J. Xu, "Towards
       understanding the condensation of neural networks at initial
       training", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2105.11686
    """

    def __init__(self, name, value, first, second, kink_jump=None, multiplicity=None, slopes=None):
        self.name, self.value, self.first, self.second = name, value, first, second
        self.kink_jump, self.multiplicity, self.slopes = kink_jump, multiplicity, slopes

    def __repr__(self):
        return f"Activation({self.name!r})"


_LEAK = 0.01


def _tanh2(z):
    return 1.0 - np.tanh(z) ** 2


ACTIVATIONS = {
    "relu": Activation(
        "relu",
        lambda z: np.maximum(z, 0),
        lambda z: (z > 0).astype(z.dtype),
        np.zeros_like,
        kink_jump=1.0,
        slopes=(1.0, 0.0, 0.0),
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: np.where(z > 0, z, _LEAK * z),
        lambda z: np.where(z > 0, 1.0, _LEAK).astype(z.dtype),
        np.zeros_like,
        kink_jump=1.0 - _LEAK,
        slopes=(1.0, _LEAK, _LEAK),
    ),
    "abs": Activation(
        "abs",
        np.abs,
        lambda z: np.sign(z).astype(z.dtype),
        np.zeros_like,
        kink_jump=2.0,
        slopes=(1.0, -1.0, 0.0),
    ),
    "tanh": Activation(
        "tanh",
        np.tanh,
        _tanh2,
        lambda z: -2 * np.tanh(z) * _tanh2(z),
        multiplicity=1,
    ),
    # x tanh x: (x tanh x)' = tanh x + x sech^2 x, '' = 2 sech^2 x (1 - x tanh x)
    "xtanh": Activation(
        "xtanh",
        lambda z: z * np.tanh(z),
        lambda z: np.tanh(z) + z * _tanh2(z),
        lambda z: 2 * _tanh2(z) * (1 - z * np.tanh(z)),
        multiplicity=2,
    ),
    # x^2 tanh x: ' = 2x tanh x + x^2 sech^2 x, '' = 2 tanh x + 4x sech^2 x - 2x^2 sech^2 x tanh x
    "x2tanh": Activation(
        "x2tanh",
        lambda z: z**2 * np.tanh(z),
        lambda z: 2 * z * np.tanh(z) + z**2 * _tanh2(z),
        lambda z: 2 * np.tanh(z) + 4 * z * _tanh2(z) - 2 * z**2 * _tanh2(z) * np.tanh(z),
        multiplicity=3,
    ),
}


def get_activation(name):
    """Return the :class:`Activation` called ``name``.

    Parameters
    ----------
    name : {'relu', 'leaky_relu', 'abs', 'tanh', 'xtanh', 'x2tanh'}
        Name of the activation.

    Returns
    -------
    Activation
        The activation with its first and second derivatives.

    Raises
    ------
    ValueError
        If ``name`` is not a known activation.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}.") from None
