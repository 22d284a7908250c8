"""Displays in scikit-learn's style: ``Display.from_estimator(...)`` computes what
to draw and draws it, ``display.plot(ax=...)`` draws it again, and ``ax_`` and
``figure_`` hold the axes and figure drawn on.

matplotlib is imported here only, when a display is drawn (``pip install
".[plot]"``); the rest of the package does not need it.

* :class:`FunctionDisplay` -- a fitted 1-D network with its data, its knots
  (the kinks, where units switch on) and its function-space limits;
* :class:`TrainingCurveDisplay` -- the training (and validation) loss per
  iteration and the sharpness against the stability limit ``2 / eta``;
* :class:`NeuronDisplay` -- each hidden unit's direction and amplitude: at a
  small initialisation the units condense onto a few directions.
"""

import numpy as np

__all__ = ["FunctionDisplay", "TrainingCurveDisplay", "NeuronDisplay"]


def _axes(ax):
    """``ax``, or new axes of a new figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _name(estimator):
    return type(estimator).__name__


class FunctionDisplay:
    """A fitted function of one input with its data, knots and limits.

    Parameters
    ----------
    grid : ndarray of shape (n_points,)
        Where the function is drawn.
    values : ndarray of shape (n_points,)
        The function on ``grid``.
    X, y : ndarray of shape (n_samples,), optional
        The data, drawn as points.
    knots : ndarray, optional
        The kinks of the function (drawn as ticks on the lower edge).
    limits : dict of str to ndarray of shape (n_points,), optional
        Other functions on ``grid`` (the network's limits), by label.
    name : str, optional
        The function's label.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    line_ : matplotlib Line2D
        The function's line.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import RandomFeatureReLURegressor
    >>> from sklearn_shallowrelu.plotting import FunctionDisplay
    >>> X = np.linspace(-2, 2, 40)[:, None]
    >>> net = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0).fit(X, np.sin(2 * X[:, 0]))
    >>> display = FunctionDisplay.from_estimator(net, X, np.sin(2 * X[:, 0]), limits="auto")  # doctest: +SKIP
    """

    def __init__(self, grid, values, X=None, y=None, knots=None, limits=None, name=None):
        self.grid, self.values, self.X, self.y = grid, values, X, y
        self.knots, self.limits, self.name = knots, limits or {}, name

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, limits=None, n_points=400, ax=None):
        """Evaluate a fitted 1-D estimator and draw it.

        Parameters
        ----------
        estimator : fitted regressor of one input feature
            Its ``knots_`` are drawn when it has them (the networks of the
            package on 1-D inputs).
        X : array-like of shape (n_samples, 1) or (n_samples,)
            The data (and the range of the grid).
        y : array-like of shape (n_samples,), optional
        limits : 'auto', list of fitted estimators, or None, default=None
            Functions drawn beside: fitted estimators (labelled by their
            class), or ``'auto'``: for a
            :class:`~sklearn_shallowrelu.RandomFeatureReLURegressor`, its
            infinite-width limit
            (:meth:`~sklearn_shallowrelu.SmoothingSplineEquivalent.from_estimator`,
            fitted on ``X``, ``y``).
        n_points : int, default=400
        ax : matplotlib Axes, default=None

        Returns
        -------
        FunctionDisplay
        """
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        if X.shape[1] != 1:
            raise ValueError(f"FunctionDisplay draws functions of one input; X has {X.shape[1]} columns.")
        x = X[:, 0]
        pad = 0.05 * (x.max() - x.min())
        grid = np.linspace(x.min() - pad, x.max() + pad, n_points)
        G = grid[:, None]
        if limits == "auto":
            from .random_features import RandomFeatureReLURegressor
            from .spline import SmoothingSplineEquivalent

            if not isinstance(estimator, RandomFeatureReLURegressor) or y is None:
                raise ValueError("limits='auto' needs a RandomFeatureReLURegressor and y (its limit is fitted on "
                                 f"them); got {_name(estimator)} and y={'given' if y is not None else None}.")
            limits = [SmoothingSplineEquivalent.from_estimator(estimator).fit(X, y)]
        curves = {f"{_name(e)} (limit)": np.ravel(e.predict(G)) for e in (limits or [])}
        knots = getattr(estimator, "knots_", None)
        display = cls(grid, np.ravel(estimator.predict(G)), x, None if y is None else np.ravel(y), knots, curves,
                      _name(estimator))
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (new axes if None); returns the display."""
        ax = _axes(ax)
        if self.X is not None and self.y is not None:
            ax.plot(self.X, self.y, ".", color="0.6", ms=3, label="data", zorder=1)
        (self.line_,) = ax.plot(self.grid, self.values, lw=2, label=self.name or "fit", zorder=3)
        for label, values in self.limits.items():
            ax.plot(self.grid, values, "--", lw=1.5, label=label, zorder=2)
        if self.knots is not None and len(self.knots):
            inside = self.knots[(self.knots >= self.grid[0]) & (self.knots <= self.grid[-1])]
            # a rug whose shade shows the knots' density when there are thousands
            ax.plot(inside, np.zeros_like(inside), "|", color="C3", ms=8, transform=ax.get_xaxis_transform(),
                    alpha=float(np.clip(100.0 / max(len(inside), 1), 0.02, 1.0)), label=f"knots ({len(inside)} in view)")
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        ax.legend(fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class TrainingCurveDisplay:
    """Training curves: the loss per iteration and the sharpness against ``2 / eta``.

    Parameters
    ----------
    loss : ndarray of shape (n_iter + 1,)
        The training loss at every iterate, the start included.
    validation_loss : ndarray of shape (n_iter + 1,), optional
    sharpness : ndarray, optional
        The sharpness at ``sharpness_iterations``.
    sharpness_iterations : ndarray, optional
    learning_rate : float, optional
        The step ``eta``: the stability limit ``2 / eta`` is drawn beside the
        sharpness.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The loss (log scale).
    ax_sharpness_ : matplotlib Axes or None
        The sharpness, on the right (None without a sharpness curve).
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn_shallowrelu.plotting import TrainingCurveDisplay
    >>> display = TrainingCurveDisplay.from_estimator(fitted_network)  # doctest: +SKIP
    """

    def __init__(self, loss, validation_loss=None, sharpness=None, sharpness_iterations=None, learning_rate=None):
        self.loss, self.validation_loss = np.asarray(loss), validation_loss
        self.sharpness, self.sharpness_iterations, self.learning_rate = sharpness, sharpness_iterations, learning_rate

    @classmethod
    def from_estimator(cls, estimator, ax=None):
        """Read the curves of a fitted network (``loss_curve_``,
        ``validation_loss_curve_``, ``sharpness_curve_`` with
        ``compute_sharpness=True``, ``learning_rate_``) and draw them.

        Parameters
        ----------
        estimator : fitted ShallowReLURegressor or RandomFeatureReLURegressor
            Trained by an iterative solver (it has ``loss_curve_``).
        ax : matplotlib Axes, default=None

        Returns
        -------
        TrainingCurveDisplay
        """
        loss = getattr(estimator, "loss_curve_", None)
        if loss is None:
            raise ValueError(f"{_name(estimator)} has no loss_curve_: fit it with an iterative solver "
                             "('gd', 'sgd' or 'mirror').")
        display = cls(loss, getattr(estimator, "validation_loss_curve_", None),
                      getattr(estimator, "sharpness_curve_", None), getattr(estimator, "sharpness_iterations_", None),
                      getattr(estimator, "learning_rate_", None))
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (new axes if None; the sharpness on its twin); returns the display."""
        ax = _axes(ax)
        t = np.arange(len(self.loss))
        ax.plot(t, self.loss, color="C0", label="training loss")
        if self.validation_loss is not None:
            ax.plot(t, self.validation_loss, color="C0", ls="--", label="validation loss")
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        self.ax_sharpness_ = None
        if self.sharpness is not None:
            right = ax.twinx()
            right.plot(self.sharpness_iterations, self.sharpness, color="C1", label="sharpness")
            if self.learning_rate:
                right.axhline(2.0 / self.learning_rate, color="C1", ls=":", label="2 / eta")
            right.set_ylabel("sharpness")
            right.legend(loc="upper right", fontsize=8)
            self.ax_sharpness_ = right
        ax.legend(loc="upper left", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class NeuronDisplay:
    """Each hidden unit's direction and amplitude.

    The direction is the angle of ``(w_k, b_k)`` in 1-D (of ``w_k`` in the
    plane of the first two inputs otherwise), the amplitude ``|v_k| ||(w_k,
    b_k)||``: the size of the unit's contribution.  Units that condense onto
    a few directions show as a few columns of points.

    Parameters
    ----------
    angle : ndarray of shape (n_hidden,)
        In degrees, in ``(-180, 180]``.
    amplitude : ndarray of shape (n_hidden,)
    xlabel : str

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn_shallowrelu.plotting import NeuronDisplay
    >>> display = NeuronDisplay.from_estimator(fitted_network)  # doctest: +SKIP
    """

    def __init__(self, angle, amplitude, xlabel="direction (degrees)"):
        self.angle, self.amplitude, self.xlabel = angle, amplitude, xlabel

    @classmethod
    def from_estimator(cls, estimator, ax=None):
        """Read a fitted network's parameters (any network of the package, through
        :func:`~sklearn_shallowrelu.diagnostics.network_parameters`) and draw them.

        Parameters
        ----------
        estimator : fitted network
        ax : matplotlib Axes, default=None

        Returns
        -------
        NeuronDisplay
        """
        from .diagnostics import network_parameters

        p = network_parameters(estimator)
        W, b, v = np.asarray(p.W), np.asarray(p.b), np.asarray(p.v).reshape(len(p.b), -1)
        if W.shape[1] == 1:
            angle, xlabel = np.degrees(np.arctan2(b, W[:, 0])), "angle of (w, b) (degrees)"
        else:
            angle, xlabel = np.degrees(np.arctan2(W[:, 1], W[:, 0])), "angle of (w_1, w_2) (degrees)"
        amplitude = np.linalg.norm(v, axis=1) * np.hypot(np.linalg.norm(W, axis=1), b)
        return cls(angle, amplitude, xlabel).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (new axes if None); returns the display."""
        ax = _axes(ax)
        ax.plot(self.angle, self.amplitude, "o", ms=3, alpha=0.6)
        ax.set_xlim(-180, 180)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel("amplitude |v| ||(w, b)||")
        self.ax_, self.figure_ = ax, ax.figure
        return self
