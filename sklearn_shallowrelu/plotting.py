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
  small initialisation the units condense onto a few directions;
* :class:`CurvatureDisplay` -- the curvature density ``|f''| g_s`` of a 1-D
  network: each knot's share of the stability-weighted curvature, over the
  stability weight of the data;
* :class:`CVGridDisplay` -- a cross-validation grid over two parameters
  (width and step size, say), the error beside a diagnostic.
"""

import numpy as np

__all__ = ["FunctionDisplay", "TrainingCurveDisplay", "NeuronDisplay", "CurvatureDisplay", "CVGridDisplay"]


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

    References
    ----------
    .. [1] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import RandomFeatureReLURegressor
    >>> from sklearn_shallowrelu.plotting import FunctionDisplay
    >>> X = np.linspace(-2, 2, 40)[:, None]
    >>> net = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0).fit(X, np.sin(2 * X[:, 0]))
    >>> display = FunctionDisplay.from_estimator(net, X, np.sin(2 * X[:, 0]), limits="auto")
    >>> [line.get_label() for line in display.ax_.get_lines()][:3]
    ['data', 'RandomFeatureReLURegressor', 'SmoothingSplineEquivalent (limit)']
    """

    def __init__(self, grid, values, X=None, y=None, knots=None, limits=None, name=None):
        self.grid, self.values, self.X, self.y = grid, values, X, y
        self.knots, self.limits, self.name = knots, limits or {}, name

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, limits=None, target=None, n_points=400, ax=None):
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
        target : int, default=None
            With several outputs, the one drawn (required then).
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
        def one(values):
            values = np.asarray(values).reshape(len(values), -1)
            if values.shape[1] > 1 and target is None:
                raise ValueError(f"{_name(estimator)} has {values.shape[1]} outputs: pick one with target=.")
            return values[:, 0 if target is None else target]

        curves = {f"{_name(e)} (limit)": one(e.predict(G)) for e in (limits or [])}
        knots = getattr(estimator, "knots_", None)
        display = cls(grid, one(estimator.predict(G)), x, None if y is None else one(y), knots, curves,
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

    References
    ----------
    .. [1] J. Cohen, S. Kaur, Y. Li, J. Z. Kolter and A. Talwalkar, "Gradient
       descent on neural networks typically occurs at the edge of
       stability", International Conference on Learning Representations
       (ICLR 2021). https://arxiv.org/abs/2103.00065

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.plotting import TrainingCurveDisplay
    >>> X = np.linspace(-2, 2, 30)[:, None]
    >>> net = ShallowReLURegressor(n_hidden=20, max_iter=50, compute_sharpness=True,
    ...                            random_state=0).fit(X, np.sin(2 * X[:, 0]))
    >>> display = TrainingCurveDisplay.from_estimator(net)
    >>> len(display.ax_.get_lines()[0].get_ydata())  # the start and 50 steps
    51
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

    References
    ----------
    .. [1] H. Zhou, Q. Zhou, T. Luo, Y. Zhang and Z.-Q. J. Xu, "Towards
       understanding the condensation of neural networks at initial
       training", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2105.11686

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.plotting import NeuronDisplay
    >>> X = np.linspace(-2, 2, 30)[:, None]
    >>> net = ShallowReLURegressor(n_hidden=20, max_iter=20, random_state=0).fit(X, np.abs(X[:, 0]))
    >>> NeuronDisplay.from_estimator(net).amplitude.shape
    (20,)
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


class CurvatureDisplay:
    """The curvature density ``|f''| g_s`` of a network of one input.

    ``f''`` of a ReLU network is a sum of spikes at its knots, of sizes the
    jumps ``a_k`` of ``f'``; weighted by the stability weight ``g_s`` of the
    training inputs (Mulayoff et al.), their sum ``sum_k |a_k| g_s(c_k)`` is
    the weighted curvature that a stable step size bounds.  The display draws
    each knot's share as a stem and ``g_s`` on the right axis.

    Parameters
    ----------
    knots : ndarray of shape (n_knots,)
    shares : ndarray of shape (n_knots,)
        ``|a_k| g_s(c_k)``.
    grid, weight : ndarray of shape (n_points,)
        ``g_s`` on a grid.
    total : float
        The weighted curvature (the sum of the shares).

    Attributes
    ----------
    ax_ : matplotlib Axes
        The shares.
    ax_weight_ : matplotlib Axes
        The stability weight (right).
    figure_ : matplotlib Figure

    References
    ----------
    .. [1] R. Mulayoff, T. Michaeli and D. Soudry, "The implicit bias of
       minima stability: a view from function space", Advances in Neural
       Information Processing Systems 34 (NeurIPS 2021), 17749-17761.
       https://papers.neurips.cc/paper/2021/hash/944a5ae3483ed5c1e10bbccb7942a279-Abstract.html

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.plotting import CurvatureDisplay
    >>> X = np.linspace(-2, 2, 30)[:, None]
    >>> y = np.abs(X[:, 0])
    >>> net = ShallowReLURegressor(n_hidden=20, max_iter=100, random_state=0).fit(X, y)
    >>> display = CurvatureDisplay.from_estimator(net, X, y)
    >>> bool(np.isclose(display.shares.sum(), display.total))
    True
    """

    def __init__(self, knots, shares, grid, weight, total):
        self.knots, self.shares, self.grid, self.weight, self.total = knots, shares, grid, weight, total

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, sample_weight=None, n_points=400, ax=None):
        """Measure a fitted network of one input with
        :class:`~sklearn_shallowrelu.diagnostics.CurvatureDiagnostics` (or read
        one fitted already) and draw the density.

        Parameters
        ----------
        estimator : fitted network or pipeline ending in one, or fitted CurvatureDiagnostics
        X : array-like of shape (n_samples, 1)
            The training inputs (they define ``g_s``); a pipeline's earlier
            steps transform them, as the diagnostics do.
        y : array-like, optional
            The targets (the diagnostics' Hessian quantities need them).
        sample_weight : array-like of shape (n_samples,), default=None
            The weights of ``g_s`` (those a given CurvatureDiagnostics was fitted with).
        n_points : int, default=400
        ax : matplotlib Axes, default=None

        Returns
        -------
        CurvatureDisplay
        """
        from sklearn.pipeline import Pipeline

        from .diagnostics import CurvatureDiagnostics, stability_weight

        diag = estimator if isinstance(estimator, CurvatureDiagnostics) else \
            CurvatureDiagnostics(estimator, prefit=True).fit(X, y, sample_weight=sample_weight)
        network = diag.estimator_
        if isinstance(network, Pipeline):  # the knots live where the network's inputs do
            X = network[:-1].transform(X)
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        if X.shape[1] != 1:
            raise ValueError(f"CurvatureDisplay draws networks of one input; the network sees {X.shape[1]} columns.")
        amplitude = np.asarray(diag.merged_amplitudes_, dtype=float)
        amplitude = np.abs(amplitude) if amplitude.ndim == 1 else np.linalg.norm(amplitude, axis=1)
        grid = np.linspace(X.min(), X.max(), n_points)
        return cls(np.asarray(diag.merged_knots_), amplitude * np.asarray(diag.merged_weights_), grid,
                   stability_weight(X, grid, sample_weight), float(diag.weighted_curvature_)).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (new axes if None; ``g_s`` on its twin); returns the display."""
        ax = _axes(ax)
        # g_s vanishes outside the data: knots there have no share, and the view stays on the data
        pad = 0.05 * (self.grid[-1] - self.grid[0])
        lo, hi = self.grid[0] - pad, self.grid[-1] + pad
        inside = (self.knots >= lo) & (self.knots <= hi)
        ax.vlines(self.knots[inside], 0, self.shares[inside], color="C3", lw=1)
        label = "|a_k| g_s(c_k) per knot"
        if not inside.all():
            label += f"\n({int((~inside).sum())} knots outside the data: 0)"
        ax.plot(self.knots[inside], self.shares[inside], "o", color="C3", ms=3, label=label)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("x")
        ax.set_ylabel("share of the weighted curvature")
        ax.set_title(f"weighted curvature integral |f''| g_s = {self.total:.4g}", fontsize=10)
        right = ax.twinx()
        right.plot(self.grid, self.weight, color="0.4", lw=1, label="stability weight g_s")
        right.set_ylabel("g_s")
        right.set_ylim(bottom=0)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize=7)
        self.ax_, self.ax_weight_, self.figure_ = ax, right, ax.figure
        return self


def _ordered(values):
    """The distinct values of a parameter: numbers in order, then the rest (``'auto'``) by name."""
    distinct = {repr(v): v for v in values}.values()
    return sorted(distinct, key=lambda v: (isinstance(v, str) or not np.isscalar(v),
                                           v if np.isscalar(v) and not isinstance(v, str) else 0, repr(v)))


def _position(values, v):
    return [repr(u) for u in values].index(repr(v))


def _label(v):
    return f"{v:g}" if np.isscalar(v) and not isinstance(v, str) else str(v)


class CVGridDisplay:
    """A cross-validation grid over two parameters: the error beside a diagnostic.

    Parameters
    ----------
    x_values, y_values : ndarray
        The grid's values of the two parameters (columns, rows).
    error, diagnostic : ndarray of shape (len(y_values), len(x_values))
        The mean test error and the mean test value of the diagnostic (NaN
        where the fits failed).
    x_name, y_name, error_name, diagnostic_name : str

    Attributes
    ----------
    ax_ : ndarray of two matplotlib Axes
        The error (left) and the diagnostic (right).
    figure_ : matplotlib Figure

    References
    ----------
    .. [1] F. Pedregosa et al., "Scikit-learn: machine learning in Python",
       Journal of Machine Learning Research, 12:2825-2830, 2011 (the
       search whose ``cv_results_`` this arranges).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> from sklearn_shallowrelu.diagnostics import diagnostic_scorers
    >>> from sklearn_shallowrelu.plotting import CVGridDisplay
    >>> X = np.linspace(-2, 2, 30)[:, None]
    >>> scoring = {"mse": "neg_mean_squared_error", "sharpness": diagnostic_scorers()["sharpness"]}
    >>> search = GridSearchCV(ShallowReLURegressor(max_iter=20, random_state=0),
    ...                       {"n_hidden": [5, 10], "learning_rate": [0.01, 0.05]},
    ...                       scoring=scoring, refit=False, cv=2).fit(X, np.abs(X[:, 0]))
    >>> CVGridDisplay.from_cv_results(search, "n_hidden", "learning_rate", error="mse",
    ...                               diagnostic="sharpness").error.shape
    (2, 2)
    """

    def __init__(self, x_values, y_values, error, diagnostic, x_name, y_name, error_name, diagnostic_name):
        self.x_values, self.y_values, self.error, self.diagnostic = x_values, y_values, error, diagnostic
        self.x_name, self.y_name, self.error_name, self.diagnostic_name = x_name, y_name, error_name, diagnostic_name

    @classmethod
    def from_cv_results(cls, search, x, y, *, error, diagnostic, axes=None):
        """Arrange a search's ``cv_results_`` on its two parameters and draw it.

        Parameters
        ----------
        search : fitted GridSearchCV (or its ``cv_results_`` dict)
            Over exactly the parameters ``x`` and ``y`` (others, if any, must
            take one value).
        x, y : str
            The two parameters (``'n_hidden'``, ``'learning_rate'``, with a
            pipeline's prefix if any).
        error, diagnostic : str
            Names of two scorers of the search (``mean_test_<name>``); a score
            that scikit-learn negates (``'neg_...'``, or, given the search, a
            scorer made with ``greater_is_better=False``) is drawn with its
            sign restored.
        axes : array of two matplotlib Axes, default=None

        Returns
        -------
        CVGridDisplay
        """
        results = getattr(search, "cv_results_", search)
        scorers = getattr(search, "scorer_", None)
        xs, ys = np.asarray(results[f"param_{x}"], dtype=object), np.asarray(results[f"param_{y}"], dtype=object)
        others = [k for k in results if k.startswith("param_") and k not in (f"param_{x}", f"param_{y}")
                  and len({repr(v) for v in results[k]}) > 1]
        if others:
            raise ValueError(f"CVGridDisplay draws a grid over {x!r} and {y!r}; the search also varies "
                             f"{[k[6:] for k in others]}: select the rows of one value of those first.")
        x_values, y_values = _ordered(xs), _ordered(ys)
        grids = []
        for name in (error, diagnostic):
            key = f"mean_test_{name}"
            if key not in results:
                raise ValueError(f"cv_results_ has no {key!r}: pass the name of one of the search's scorers "
                                 f"({sorted(k[10:] for k in results if k.startswith('mean_test_'))}).")
            values = np.asarray(results[key], dtype=float)
            # scikit-learn maximises: a scorer of an error reports it negated; its size is shown
            sign = getattr(scorers.get(name), "_sign", 1) if isinstance(scorers, dict) else 1
            values = -values if (name.startswith("neg_") or sign < 0) else values
            grid = np.full((len(y_values), len(x_values)), np.nan)
            for xv, yv, val in zip(xs, ys, values):
                grid[_position(y_values, yv), _position(x_values, xv)] = val
            grids.append(grid)
        return cls(np.array(x_values, dtype=object), np.array(y_values, dtype=object), grids[0], grids[1], x, y,
                   error, diagnostic).plot(axes=axes)

    def plot(self, axes=None):
        """Draw the two heat maps on ``axes`` (new if None); returns the display."""
        if axes is None:
            import matplotlib.pyplot as plt

            _, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, values, name in zip(axes, (self.error, self.diagnostic), (self.error_name, self.diagnostic_name)):
            image = ax.imshow(np.ma.masked_invalid(values), origin="lower", aspect="auto", cmap="viridis")
            ax.figure.colorbar(image, ax=ax, label=name)
            ax.set_xticks(range(len(self.x_values)), [_label(v) for v in self.x_values])
            ax.set_yticks(range(len(self.y_values)), [_label(v) for v in self.y_values])
            ax.set_xlabel(self.x_name)
            ax.set_ylabel(self.y_name)
            ax.set_title(name + (" (blank: failed fits)" if np.isnan(values).any() else ""), fontsize=10)
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):  # dark text on the light end of the colour map
                    light = image.norm(v) > 0.6
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="k" if light else "w")
        self.ax_, self.figure_ = np.asarray(axes), axes[0].figure
        return self
