"""ShallowReLURegressor: a two-layer network with both layers trained by GD, SGD
or mirror descent, with the knobs the implicit-bias theory studies."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._exact1d.network import set_knot_attributes
from ._result import ShallowResult
from ._update import move_groups
from ._memory import available_memory, working_memory_bytes
from ._descent import (Diverged, Walk, auto_step, check_early_stopping, descend, divergence_warning, mirror_step,
                       rounding_slack, stability_limit, stopping_rule, validation_split)
from ._network import (BLOCK_BYTES, GROUPS, Batch, L2Penalty, Network, Params, block_rows, curvature_bytes,
                       n_params)
from .activations import ACTIVATIONS, get_activation
from .init import INIT_NAMES, Initialization, check_init
from .potentials import POTENTIAL_NAMES, Potential, resolve_potential
from ._atomic import atomic_fit
from ._warn import warn

__all__ = ["ShallowReLURegressor"]

_OUTPUT_SCALE = {"standard": lambda n: 1.0, "ntk": lambda n: 1.0 / np.sqrt(n), "mean_field": lambda n: 1.0 / n}
_GROUP_OF = {"W": "hidden", "b": "hidden", "v": "output", "c": "output"}
_PARAM_KEYS = ("hidden_weights", "hidden_bias", "output_weights", "intercept")
# learning_rate='auto': power-iteration steps for the curvature at the start.  The estimate
# approaches the largest absolute eigenvalue from below; an underestimate costs at most a
# few rejected (halved) steps, which is cheaper than more products at the start
_AUTO_POWER_STEPS = 20
# Peak memory of a training step, in arrays of the parameters' size: the current, previous,
# best and initial parameters, the gradient, the transposed [W | b] and its gradient, the
# update's temporary; mirror descent adds the dual variables (old and new) and the inverse
# mirror map's temporaries.  tracemalloc (m = 60; n = 10^6, d = 1 and n = 3 10^5, d = 5)
# measured 7.9 to 8.4 (gd), 6.9 to 7.4 (sgd), 9.9 to 10.4 (mirror)
_TRAIN_ARRAYS = {"gd": 9, "sgd": 9, "mirror": 13}
# the loss curve grows as a list of Python floats while training: an 8-byte pointer
# and a 24-byte float object per entry
_CURVE_ENTRY_BYTES = 32


class ShallowReLURegressor(RegressorMixin, BaseEstimator):
    """Two-layer network ``f(x) = s * sum_k v_k act(<w_k, x> + b_k) + c``, all parameters trained.

    Loss convention: ``L = sum_i w_i |f(x_i) - y_i|^2 / (2 sum_i w_i)`` (half the
    weighted mean squared error, summed over outputs; ``MLPRegressor``'s loss
    for one output and unit weights), so gradient descent with step ``eta`` is
    stable at a minimum only if its sharpness (top Hessian eigenvalue) is at
    most ``2 / eta``.  With weight decay ``alpha > 0`` the objective is
    ``L + alpha (|W|^2 + |v|^2) / (2 sum_i w_i)`` (plus ``|b|^2`` with
    ``penalize_bias``), ``MLPRegressor``'s penalty: every trainer minimises it,
    and ``loss_curve_``, the gradient and the Hessian (hence the sharpness and
    ``learning_rate='auto'``) include it.

    Divergence: a run with a fixed ``learning_rate`` that diverges (the
    parameters or the training loss stop being finite, or the loss exceeds
    ``1e8 (L_0 + 1)``) ends there and keeps its best finite iterate, the one
    with the lowest training loss seen in this call: the parameters, the
    counters and the curves are rolled back to it, and a ``ConvergenceWarning``
    names the cause and the fix (the targets' scale when it is large, the
    sharpness at the kept parameters against ``2 / learning_rate``).  If no
    step improved on the start of the call, there is nothing worth keeping:
    ``fit`` (or ``partial_fit``) raises ``ValueError`` with the cause and the
    fix, and a previously fitted model is left exactly as it was.  With
    ``learning_rate='auto'`` no step that raises the loss is taken, so the run
    does not diverge.

    Memory: before anything is allocated, ``fit`` predicts the peak memory of
    the training state (about ``9`` arrays of the parameters' size, ``13``
    for mirror descent, plus ``param_history_``) and of the curvature
    estimates, and raises ``MemoryError`` naming the fix if it exceeds the
    memory available.  No ``m x n`` array is formed whole unless it fits in
    scikit-learn's ``working_memory``.

    Parameters
    ----------
    n_hidden : int, default=100
        Width.
    activation : {'relu', 'leaky_relu', 'abs', 'tanh', 'xtanh', 'x2tanh'}, default='relu'
        ``'xtanh'`` is ``x tanh x`` and ``'x2tanh'`` is ``x^2 tanh x`` (multiplicity 2
        and 3, for condensation studies).
    parametrization : {'standard', 'ntk', 'mean_field'}, default='standard'
        Output scale ``s``: 1, ``1/sqrt(n_hidden)`` or ``1/n_hidden``.
    init : str, Initialization, callable or tuple (W, b), default='he'
        Distribution of the hidden weights and biases (see
        :mod:`sklearn_shallowrelu.init`); ``'he'`` is PyTorch's default.
    init_scale : float, default=1.0
        Multiplies every initial parameter; small values give the condensed
        regime (Zhou et al. [2]_).
    output_init : {'auto', 'zero', 'balanced', 'antisymmetric'}, default='auto'
        Output weights at the start.  ``'auto'``: uniform on ``[-1/sqrt(n),
        1/sqrt(n)]`` with the same for the output bias (PyTorch) in the standard
        parametrisation, uniform on ``[-1, 1]`` and zero bias otherwise.
        ``'zero'``: all zero.  ``'balanced'``: ``|v_k| = |(w_k, b_k)|`` with
        random signs, zero bias.  ``'antisymmetric'``: units in pairs with equal
        hidden parameters and opposite output weights, so that the network is
        zero at the start (Jin & Montufar's ASI [1]_; needs an even width).
    alpha : float, default=0.0
        Weight decay: the L2 penalty ``alpha |theta|^2 / (2 sum_i w_i)`` on the
        weights ``W`` and ``v`` (``sum_i w_i`` is the number of training samples
        with unit weights), as in ``MLPRegressor`` (whose default is ``1e-4``;
        here 0, the unpenalised training of the implicit-bias studies).  The
        denominator is the weight of the whole training set for every solver,
        so SGD minimises the same objective as GD (``MLPRegressor``'s SGD
        divides by the batch's weight instead); for ``partial_fit``, of the
        samples passed to that call, as in ``MLPRegressor``.  The output bias ``c`` is never
        penalised.  Its infinite-width limit in 1-D is
        :class:`~sklearn_shallowrelu.MinimumNormNetwork`.
    penalize_bias : bool, default=False
        Whether the hidden biases ``b`` are penalised too (``MLPRegressor``:
        no).  With them, a unit's cost depends on where its knot is (the weight
        ``sqrt(1 + x^2)`` of the minimum-norm network).
    fit_intercept : bool, default=True
        Whether the output bias ``c`` is trained.  False: ``c`` is 0 at the start
        (the other parameters start as with True, from the same
        ``random_state``), is never updated and ``intercept_`` is 0, as in the
        models without output bias of the implicit-bias literature; the
        sharpness is then that of the trained parameters (the Hessian without
        the rows and columns of ``c``).  A warm start from a model fitted with
        an intercept keeps that intercept, fixed.
    solver : {'gd', 'sgd', 'mirror'}, default='gd'
        Full-batch gradient descent, mini-batch SGD, or full-batch mirror descent
        ``phi'(theta_{t+1} - theta_0) = phi'(theta_t - theta_0) - eta grad L``.
    learning_rate : 'auto' or float, default='auto'
        A float: that fixed step, as in ``MLPRegressor``.  ``'auto'``: the step
        starts at ``1 / lambda``, half the linear stability limit ``2 / lambda``,
        with ``lambda`` the largest absolute eigenvalue of the Hessian of the
        loss at the start (the full Hessian, whose residual term grows with
        the targets' scale; for mirror descent, of ``M^{-1/2} H M^{-1/2}`` with
        ``M`` the potential's curvature at the start, 1 where that is zero or
        infinite), estimated by 20 power iterations on Hessian-vector products.
        The curvature grows along the run when the targets are large (the
        output weights grow to fit them), so the start does not bound it: a
        step (an epoch for ``'sgd'``) that would raise the training loss is
        undone and retried with half the step, which is kept; after 20 steps
        in a row without a halving it is doubled again, up to the estimate at
        the start (a step halved at a kink of the loss would otherwise stay
        small for good).
        ``loss_curve_`` then never increases; the step used at the end is
        ``learning_rate_``.  A ``warm_start`` fit or ``partial_fit`` continues
        with that step.
    max_iter : int, default=200
        Steps (``'gd'``, ``'mirror'``) or epochs (``'sgd'``); exactly this many
        unless a stopping rule is asked for.
    batch_size : int or 'auto', default='auto'
        ``'sgd'`` only; ``'auto'`` is ``min(200, n_samples)``.
    shuffle : bool, default=True
        ``'sgd'``: reshuffle every epoch (from ``random_state``).
    potential : str, Potential or dict, default='quadratic'
        ``'mirror'`` only: one potential for every parameter, or a dict with
        keys ``'hidden'`` and ``'output'``.  ``WidthScaled`` potentials are scaled
        by ``n_hidden * s`` (the scaled potentials of Liang and Montufar [3]_).
    tol : float or None, default=None
        Without early stopping: stop when the training loss has not decreased by
        ``tol`` for ``n_iter_no_change`` iterations.  ``None``: no rule.
    n_iter_no_change : int, default=10
        Iterations without improvement by ``tol`` after which a stopping rule
        stops.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; stop when the validation
        loss has not decreased by ``tol`` (0 if None) for ``n_iter_no_change``
        iterations and keep the best parameters.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    warm_start : bool, default=False
        ``fit`` continues from the current parameters (and mirror state).
    record_every : int or None, default=None
        Keep parameter snapshots every ``record_every`` iterations in
        ``param_history_``.
    compute_sharpness : bool, default=False
        Record the top Hessian eigenvalue (Lanczos on analytic Hessian-vector
        products; for mirror descent, of ``M^{-1/2} H M^{-1/2}`` with ``M`` the
        potential's Hessian) every ``sharpness_every`` iterations, to watch
        progressive sharpening and the edge of stability (Cohen et al. [4]_).
    sharpness_every : int, default=10
        Iterations between two sharpness records (``compute_sharpness=True``).
    verbose : int, default=0
        1: print the training (and validation) loss about ten times per call
        to ``fit``, in ``MLPRegressor``'s style, and why a run ends early; 2
        and more: at every iteration.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, then the validation split and the SGD shuffling.

    Attributes
    ----------
    hidden_weights_ : ndarray of shape (n_hidden, n_features_in_)
    hidden_bias_ : ndarray of shape (n_hidden,)
    output_weights_ : ndarray of shape (n_hidden,) or (n_hidden, n_outputs)
    intercept_ : float or ndarray of shape (n_outputs,)
    output_scale_ : float
        ``s``.
    learning_rate_ : float
        The step in use at the end of the fit: ``learning_rate`` when it is a
        float; with ``'auto'``, the estimate at the start after its halvings
        (one per rejected step) and doublings (after 20 steps in a row
        without a halving, up to the estimate).
    loss_curve_ : ndarray
        Training loss after ``t = 0, 1, ..., n_iter_`` iterations (a warm start
        appends to it).
    validation_loss_curve_ : ndarray or None
    best_iteration_ : int or None
        With early stopping, the iteration whose parameters were kept.  (After
        a divergence the run is rolled back to the kept iterate, so
        ``n_iter_`` is that iteration.)
    n_iter_ : int
        Iterations run in total.
    t_ : int
        Parameter updates in total (``n_iter_`` times the batches per epoch for SGD).
    sharpness_curve_, sharpness_iterations_ : ndarray or None
    param_history_ : dict of ndarrays or None
        ``'iteration'`` and stacked ``'hidden_weights'``, ``'hidden_bias'``,
        ``'output_weights'``, ``'intercept'``.
    knots_, slope_jumps_ : ndarray
        1-D inputs and piecewise-linear activations: knots ``-b_k / w_k``
        (sorted) and the jump of ``f'`` there, ``kink_jump * s * v_k * |w_k|``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    RandomFeatureReLURegressor : The same network with a frozen, random first layer.
    sklearn_shallowrelu.diagnostics.CurvatureDiagnostics : Minima-stability diagnostics of the fit.
    sklearn_shallowrelu.diagnostics.RankDiagnostics : Rank and condensation of the hidden layer.

    References
    ----------
    .. [1] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356
    .. [2] H. Zhou, Q. Zhou, T. Luo, Y. Zhang and Z.-Q. J. Xu, "Towards
       understanding the condensation of neural networks at initial
       training", Advances in Neural Information Processing Systems 35
       (NeurIPS 2022). https://arxiv.org/abs/2105.11686
    .. [3] S. Liang and G. Montufar, "Implicit bias of mirror flow for shallow
       neural networks in univariate regression", International Conference
       on Learning Representations (ICLR 2025).
       https://arxiv.org/abs/2410.03988
    .. [4] J. Cohen, S. Kaur, Y. Li, J. Z. Kolter and A. Talwalkar, "Gradient
       descent on neural networks typically occurs at the edge of
       stability", International Conference on Learning Representations
       (ICLR 2021). https://arxiv.org/abs/2103.00065

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.cos(3 * X[:, 0])
    >>> net = ShallowReLURegressor(n_hidden=50, learning_rate=0.1, max_iter=2000, random_state=0).fit(X, y)
    >>> bool(net.loss_curve_[-1] < 0.01 * net.loss_curve_[0])
    True
    """

    _parameter_constraints = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "parametrization": [StrOptions(set(_OUTPUT_SCALE))],
        "init": [StrOptions(set(INIT_NAMES)), Initialization, callable, tuple],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "output_init": [StrOptions({"auto", "zero", "balanced", "antisymmetric"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalize_bias": ["boolean"],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"gd", "sgd", "mirror"})],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "potential": [StrOptions(set(POTENTIAL_NAMES)), Potential, dict],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "record_every": [Interval(Integral, 1, None, closed="left"), None],
        "compute_sharpness": ["boolean"],
        "sharpness_every": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_hidden=100,
        activation="relu",
        parametrization="standard",
        init="he",
        init_scale=1.0,
        output_init="auto",
        alpha=0.0,
        penalize_bias=False,
        fit_intercept=True,
        solver="gd",
        learning_rate="auto",
        max_iter=200,
        batch_size="auto",
        shuffle=True,
        potential="quadratic",
        tol=None,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        record_every=None,
        compute_sharpness=False,
        sharpness_every=10,
        verbose=0,
        random_state=None,
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.parametrization = parametrization
        self.init = init
        self.init_scale = init_scale
        self.output_init = output_init
        self.alpha = alpha
        self.penalize_bias = penalize_bias
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.potential = potential
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.record_every = record_every
        self.compute_sharpness = compute_sharpness
        self.sharpness_every = sharpness_every
        self.verbose = verbose
        self.random_state = random_state

    # ---------------------------------------------------------------- set-up
    def _network(self, batch=None):
        """The network; with the training ``batch``, its loss with the weight decay."""
        penalty = None
        if batch is not None and self.alpha > 0:
            penalty = L2Penalty.weight_decay(self.alpha, batch.weight_sum, self.penalize_bias)
        return Network(get_activation(self.activation), _OUTPUT_SCALE[self.parametrization](self.n_hidden),
                       penalty)

    def _frozen(self):
        """The parameter groups that training does not move."""
        return () if self.fit_intercept else ("c",)

    def _validate(self, X, y, sample_weight, reset):
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True,
                             reset=reset)
        Y = np.asarray(y, dtype=X.dtype).reshape(len(y), -1)
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        return X, y, Y, sw

    def _initial_params(self, X, n_outputs, rng):
        n, d = self.n_hidden, X.shape[1]
        if self.output_init == "antisymmetric" and n % 2:
            raise ValueError(f"output_init='antisymmetric' pairs the units: n_hidden must be even, got {n}.")
        init = check_init(self.init).bind(X)
        half = n // 2 if self.output_init == "antisymmetric" else n
        W, b = init.sample(half, d, rng)
        if self.output_init == "antisymmetric":
            W, b = np.vstack([W, W]), np.concatenate([b, b])
        if self.output_init == "zero":
            v, c = np.zeros((n, n_outputs)), np.zeros(n_outputs)
        elif self.output_init == "balanced":
            direction = rng.standard_normal((n, n_outputs))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            v, c = direction * np.sqrt(np.sum(W**2, axis=1) + b**2)[:, None], np.zeros(n_outputs)
        else:
            bound = 1.0 / np.sqrt(n) if self.parametrization == "standard" else 1.0
            v = rng.uniform(-bound, bound, (half, n_outputs))
            c = rng.uniform(-bound, bound, n_outputs) if self.parametrization == "standard" else np.zeros(n_outputs)
            if self.output_init == "antisymmetric":
                v, c = np.vstack([v, -v]), np.zeros(n_outputs)
        if not self.fit_intercept:
            c = np.zeros(n_outputs)  # after the draws above, so that W, b and v do not depend on fit_intercept
        k = self.init_scale
        return Params(k * W, k * b, k * v, k * c)

    def initialize(self, X, y=None):
        """The initial parameters that ``fit`` would start from, without training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: their number of features, and their range for
            data-dependent initialisations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Training targets, used only for their number of outputs (one if
            None).

        Returns
        -------
        dict
            ``'hidden_weights'`` (n_hidden, n_features), ``'hidden_bias'``
            (n_hidden,), ``'output_weights'`` (n_hidden, n_outputs) and
            ``'intercept'`` (n_outputs,), with ``init_scale`` applied: a valid
            ``init_params`` for :meth:`fit`.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False) if hasattr(self, "n_features_in_") \
            else np.asarray(X, dtype=float)
        k = 1 if y is None or np.ndim(y) == 1 else np.shape(y)[1]
        self._check_memory(X.shape[0], X.shape[1], k, X.dtype)
        return _as_dict(self._initial_params(X, k, check_random_state(self.random_state)))

    def _check_init_params(self, init_params, d, k, dtype):
        shapes = {"hidden_weights": (self.n_hidden, d), "hidden_bias": (self.n_hidden,),
                  "output_weights": (self.n_hidden, k), "intercept": (k,)}
        if not hasattr(init_params, "keys"):
            raise ValueError(f"init_params must be a dict with the keys {list(_PARAM_KEYS)} (as returned by "
                             f"initialize); got {type(init_params).__name__}.")
        optional = set() if self.fit_intercept else {"intercept"}
        missing = [key for key in _PARAM_KEYS if key not in init_params and key not in optional]
        unexpected = sorted(str(key) for key in init_params if key not in shapes)
        if missing or unexpected:
            raise ValueError(
                f"init_params needs the keys {list(_PARAM_KEYS)}"
                + (" ('intercept' may be left out with fit_intercept=False)" if optional else "")
                + f", as returned by initialize(X, y); missing: {missing or 'none'}, unexpected: "
                f"{unexpected or 'none'}.")
        given = dict(init_params) if self.fit_intercept else {"intercept": np.zeros(k), **init_params}
        arrays = []
        for name, shape in shapes.items():
            a = np.asarray(given[name], dtype=dtype)
            a = a.reshape(shape) if a.size == np.prod(shape) else a
            if a.shape != shape or not np.all(np.isfinite(a)):
                raise ValueError(f"init_params[{name!r}] must be finite with shape {shape}; got {np.shape(given[name])}.")
            arrays.append(a)
        if not self.fit_intercept and np.any(arrays[-1]):
            raise ValueError("With fit_intercept=False, init_params['intercept'] must be zero or left out.")
        return Params(*arrays)

    def _check_memory(self, m, d, k, dtype, warm=False):
        """Raise ``MemoryError`` naming the fix if the predicted peak memory of the fit
        exceeds the memory available; called before the parameters are allocated."""
        n, item = self.n_hidden, np.dtype(dtype).itemsize
        P = n_params(n, d, k)
        arrays = _TRAIN_ARRAYS[self.solver]
        # the row blocks of a step, [X, 1], residuals, and a mini-batch's copy of its rows
        rows = 2 * block_rows(m, n, d, item) * n * item + 3 * m * (d + 1 + 2 * k) * item
        need = {"training": arrays * P * item + rows}
        smooth = get_activation(self.activation).kink_jump is None
        # the curvature estimates run while the current and initial parameters and a
        # gradient are alive, and for mirror descent three float64 vectors of the
        # preconditioner (tracemalloc, same sizes as above: 31.4 arrays with 'auto' for gd,
        # 35.4 for mirror, of 36 and 39 predicted)
        alive = 3 * P * item + (3 * 8 * P if self.solver == "mirror" else 0)
        if self.learning_rate == "auto" and not warm:
            need["the curvature estimate of learning_rate='auto'"] = (
                alive + curvature_bytes(m, n, d, k, dtype, "power", smooth))
        if self.compute_sharpness:
            need["compute_sharpness (Lanczos)"] = alive + curvature_bytes(m, n, d, k, dtype, "lanczos", smooth)
        what = max(need, key=need.get)
        total = need[what]
        if self.record_every:
            total += (self.max_iter // self.record_every + 1) * P * item
        curve = _CURVE_ENTRY_BYTES * (self.max_iter + 1) if self.tol is None and not self.early_stopping else 0
        total += curve  # without a stopping rule the loss curve grows to max_iter + 1 entries
        available = available_memory()
        if available is None or total <= available:
            return
        fixes = [f"a smaller n_hidden (the memory grows linearly with it; about {max(1, int(n * available / total))} "
                 "would fit)"]
        if what.startswith("compute_sharpness"):
            fixes.append("compute_sharpness=False")
        if self.record_every:
            fixes.append("a larger record_every or record_every=None")
        if curve > total / 2:
            fixes.append("a smaller max_iter or a stopping rule (tol=..., early_stopping=True)")
        if smooth and what != "training":
            fixes.append("a piecewise-linear activation (whose curvature needs no m x n arrays)")
        raise MemoryError(
            f"Fitting ShallowReLURegressor(n_hidden={n}) on {m} samples with {d} features "
            f"({P} parameters) needs about {total / 2**20:.0f} MiB (peak: {what}"
            + (", plus param_history_" if self.record_every else "")
            + (f", plus a loss curve of {self.max_iter + 1} entries" if curve else "")
            + f"), more than the {available / 2**20:.0f} MiB of memory available. Use "
            + ", or ".join(fixes) + ".")

    def _potentials(self):
        pot = self.potential
        groups = pot if isinstance(pot, dict) else {"hidden": pot, "output": pot}
        if set(groups) != {"hidden", "output"}:
            raise ValueError(f"A potential dict needs the keys 'hidden' and 'output'; got {sorted(groups)}.")
        scale = self.n_hidden * _OUTPUT_SCALE[self.parametrization](self.n_hidden)
        return {g: resolve_potential(p, max(scale, 1.0)) for g, p in groups.items()}

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None, init_params=None):
        """Train for ``max_iter`` iterations (or until a stopping rule fires).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 is kept, anything else becomes float64).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights ``w_i`` of the squared errors in the loss
            ``sum_i w_i |f(x_i) - y_i|^2 / (2 sum_i w_i)``; None weighs the
            samples equally.
        init_params : dict, default=None
            Explicit start (keys as returned by :meth:`initialize`; with
            ``fit_intercept=False``, ``'intercept'`` may be left out and must be
            zero otherwise).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        warm = self.warm_start and hasattr(self, "_state")
        return self._fit(X, y, sample_weight, init_params, warm, self.max_iter)

    @atomic_fit
    def partial_fit(self, X, y, sample_weight=None):
        """One more iteration (one step, or one epoch for SGD) on the same trajectory.

        The first call starts as :meth:`fit` would (with ``max_iter=1``);
        later calls continue from the current parameters, step size and
        mirror state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets, with as many outputs as the fitted model.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors in the loss; None
            weighs the samples equally.

        Returns
        -------
        self : object
            The regressor after one more iteration.
        """
        if not hasattr(self, "_state"):
            self._validate_params()
        return self._fit(X, y, sample_weight, None, hasattr(self, "_state"), 1)

    def _fit(self, X, y, sample_weight, init_params, warm, n_iter):
        X, y, Y, sw = self._validate(X, y, sample_weight, reset=not warm)
        if warm and Y.shape[1] != self._state["params"].v.shape[1]:
            raise ValueError("y has a different number of outputs than the fitted model.")
        if self.early_stopping:
            check_early_stopping(X.shape[0])
        # a warm start already on 'auto' keeps its step: no curvature estimate then
        self._check_memory(X.shape[0], X.shape[1], Y.shape[1], X.dtype, warm and self._state.get("auto", False))
        if warm:
            # copies, lists too: the run appends to them, and a fit that raises must leave
            # the previous state as it was
            state = {key: (val.copy() if isinstance(val, Params) else list(val) if isinstance(val, list) else val)
                     for key, val in self._state.items()}
        else:
            rng = check_random_state(self.random_state)
            if init_params is not None:
                params = self._check_init_params(init_params, X.shape[1], Y.shape[1], X.dtype)
            else:
                params = self._initial_params(X, Y.shape[1], rng)
            params = Params(*(a.astype(X.dtype) for a in params.arrays()))
            state = {"params": params, "start": params.copy(), "rng": rng, "n_iter": 0, "t": 0,
                     "losses": [], "val_losses": [], "sharpness": [], "sharpness_at": [], "history": []}
            if self.solver == "mirror":
                pots = self._potentials()
                state["dual"] = Params(*(pots[_GROUP_OF[g]].grad(np.zeros_like(a)) for g, a in zip(GROUPS, params.arrays())))
        if X.shape[0] < 1:
            raise ValueError("No samples.")
        train, val = self._split(X, Y, sw, state["rng"])
        state = _Trainer(self, train, val, state).run(n_iter)
        self._state = state
        self._publish(state, y)
        return self

    def _split(self, X, Y, sw, rng):
        if not self.early_stopping:
            return Batch(X, Y, sw), None
        train, val = validation_split(X, Y, sw, self.validation_fraction, rng)
        return Batch(*train), Batch(*val)

    def _publish(self, state, y):
        """Set the fitted attributes (listed in :class:`._result.ShallowResult`) from the trainer's state."""
        params = state["params"] if state.get("best") is None else state["best"]
        single = np.ndim(y) == 1
        sharp = bool(state["sharpness"])
        result = ShallowResult(
            hidden_weights_=np.ascontiguousarray(params.W), hidden_bias_=params.b,
            output_weights_=params.v[:, 0] if single else params.v,
            intercept_=float(params.c[0]) if single else params.c,
            output_scale_=self._network().s, learning_rate_=float(state["eta"]),
            loss_curve_=np.asarray(state["losses"]),
            validation_loss_curve_=np.asarray(state["val_losses"]) if self.early_stopping else None,
            best_iteration_=state.get("best_iter"), n_iter_=state["n_iter"], t_=state["t"],
            sharpness_curve_=np.asarray(state["sharpness"]) if sharp else None,
            sharpness_iterations_=np.asarray(state["sharpness_at"]) if sharp else None,
            param_history_=_stack_history(state["history"]) if state["history"] else None,
        )
        result.publish(self)
        jump = get_activation(self.activation).kink_jump  # None: a smooth activation has no knots
        set_knot_attributes(self, params.W, params.b,
                            None if jump is None else jump * self.output_scale_ * params.v, single)

    # -------------------------------------------------------------- predict
    def _params(self):
        v = self.output_weights_.reshape(self.n_hidden, -1)
        return Params(self.hidden_weights_, self.hidden_bias_, v, np.atleast_1d(self.intercept_))

    def predict(self, X):
        """Network output ``s * sum_k v_k act(w_k . x + b_k) + c``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, one column per output for multi-output ``y``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        out = self._network().predict(self._params(), X)
        return out[:, 0] if self.output_weights_.ndim == 1 else out

    def predict_derivative(self, X):
        """Gradient of the output with respect to the input, ``s sum_k v_k act'(z_k) w_k``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_features) or (n_samples, n_outputs, n_features)
            The gradient at each input, with an output axis for multi-output ``y``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        net, p = self._network(), self._params()
        out = np.empty((X.shape[0], p.v.shape[1], X.shape[1]), dtype=np.result_type(X.dtype, p.W.dtype))
        # row blocks: the m x n derivatives of a wide network are never formed whole
        rows = max(1, BLOCK_BYTES // (self.n_hidden * out.itemsize))
        for i in range(0, X.shape[0], rows):
            out[i : i + rows] = net.s * np.einsum("mn,nk,nd->mkd", net.act.first(net.pre(p, X[i : i + rows])), p.v, p.W)
        return out[:, 0, :] if self.output_weights_.ndim == 1 else out

    def sharpness(self, X, y, sample_weight=None, gauss_newton=False):
        """Top eigenvalue of the Hessian of the loss on ``(X, y)`` at the fitted parameters.

        The Hessian is taken in the trained parameters (without the intercept
        if ``fit_intercept=False``), by Lanczos on analytic Hessian-vector
        products.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs of the loss.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets of the loss.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the squared errors in the loss; None
            weighs the samples equally.
        gauss_newton : bool, default=False
            Use the Gauss-Newton matrix (the Hessian without its residual
            term) instead of the Hessian.

        Returns
        -------
        float
            The sharpness; gradient descent with step ``eta`` can stay at these
            parameters only if it is at most ``2 / eta``.
        """
        check_is_fitted(self)
        X, y, Y, sw = self._validate(X, y, sample_weight, reset=False)
        batch = Batch(X, Y, sw)
        return self._network(batch).sharpness(self._params(), batch, gauss_newton=gauss_newton,
                                              frozen=self._frozen())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _as_dict(params):
    return {"hidden_weights": params.W, "hidden_bias": params.b, "output_weights": params.v, "intercept": params.c}


def _stack_history(history):
    out = {"iteration": np.array([t for t, _ in history])}
    for key in ("hidden_weights", "hidden_bias", "output_weights", "intercept"):
        out[key] = np.stack([_as_dict(p)[key] for _, p in history])
    return out


class _Trainer(Walk):
    """Both layers' descent: :func:`._descent.descend` with the network's gradient, over
    full batches or SGD epochs, and for mirror descent a mirror step per parameter group.

    It runs on the estimator's training state, the dict that warm starts and
    ``partial_fit`` continue from, and writes it back at the end of :meth:`run`.
    """

    def __init__(self, est, train, val, state):
        rule = stopping_rule(est.tol, est.n_iter_no_change, val is not None)
        super().__init__(None, state["losses"], None if val is None else state["val_losses"], rule,
                         rounding_slack(train.X.dtype), state["n_iter"], state.get("best"), state.get("best_iter"))
        self.est, self.train, self.val, self.state = est, train, val, state
        # the weight decay's denominator is the whole training set's weight, for SGD's batches too
        self.net = est._network(train)
        self.auto = est.learning_rate == "auto"
        self.pots = est._potentials() if est.solver == "mirror" else None
        self.full_batch = est.solver != "sgd"
        self.params, self.dual, self.t, self.grad = state["params"], state.get("dual"), state["t"], None
        self._checked = (None, False)  # (parameters, whether they are finite) as the last update found
        if not self.params.W.flags.f_contiguous:
            # W in Fortran order (the transpose of a C-ordered (d, n) array), as the gradient's
            # W, a transposed view of the step's [W, b]^T gradient: the update then runs over
            # both in memory order, and [W, b]^T is a plain copy (at (1e3, 4096, 100) float64
            # 0.25 and 0.09 ms a step instead of 1.66 and 0.32 with W in C order; at width
            # 8192, 0.76 and 0.19 instead of 3.52 and 0.74)
            self.params = Params(np.asfortranarray(self.params.W), self.params.b, self.params.v, self.params.c)

    # ------------------------------------------------------------- the walk
    def _batches(self):
        est, m = self.est, self.train.X.shape[0]
        size = min(200, m) if est.batch_size == "auto" else min(est.batch_size, m)
        order = self.state["rng"].permutation(m) if est.shuffle else np.arange(m)
        for rows in gen_batches(m, size):
            idx = order[rows]
            yield Batch(self.train.X[idx], self.train.Y[idx], self.train.p[idx])

    def _update(self, grad, step):
        """Move the parameters (and the mirror dual) by ``step`` against ``grad``."""
        if not self.est.fit_intercept:  # c is no parameter then: it keeps its value, in mirror descent too
            grad.c = np.zeros_like(grad.c)
        if self.pots is None:
            # one compiled pass per group, which also notes whether the new point is finite
            moved, finite = move_groups(self.params.arrays(), grad.arrays(), step)
            self.params = Params(*moved)
            self._checked = (self.params, finite)
        else:
            moved = [mirror_step(a0, z, g, step, self.pots[_GROUP_OF[name]])
                     for name, a0, z, g in zip(GROUPS, self.state["start"].arrays(), self.dual.arrays(),
                                               grad.arrays())]
            self.params, self.dual = Params(*(a for a, _ in moved)), Params(*(z for _, z in moved))
        self.t += 1

    def advance(self, step):
        if self.full_batch:
            # the loss at the new parameters comes with their gradient: a step costs one
            # forward and one backward pass
            self._update(self.grad, step)
            loss, self.grad = self.net.loss_and_grad(self.params, self.train)
            return loss
        for batch in self._batches():
            self._update(self.net.loss_and_grad(self.params, batch)[1], step)
        return self.net.loss(self.params, self.train)

    def point(self):
        return self.params, self.dual, self.t, self.grad

    def set_point(self, point):
        self.params, self.dual, self.t, self.grad = point

    def model(self):
        return self.params

    def finite(self):
        checked, finite = self._checked
        return finite if checked is self.params else self.params.all_finite()

    def validation_loss(self):
        return self.net.loss(self.params, self.val, penalized=False)  # the error on held-out data

    def on_record(self):
        est, t, state = self.est, self.n_iter, self.state
        if est.compute_sharpness and t % est.sharpness_every == 0:
            state["sharpness"].append(self._sharpness())
            state["sharpness_at"].append(t)
        if est.record_every and t % est.record_every == 0:
            state["history"].append((t, self.params.copy()))

    def lists(self):
        return super().lists() + [self.state[key] for key in ("sharpness", "sharpness_at", "history")]

    # ------------------------------------------------------------ curvature
    def _preconditioner(self):
        if self.pots is None:
            return None
        return np.concatenate([self.pots[_GROUP_OF[name]].hess(a - a0).ravel().astype(np.float64)
                               for name, a, a0 in zip(GROUPS, self.params.arrays(), self.state["start"].arrays())])

    def _sharpness(self):
        """Sharpness (preconditioned for mirror descent); NaN where the potential's
        curvature is zero or infinite (``|x|^p`` at the start), where it is undefined."""
        M = self._preconditioner()
        if M is not None and not (np.all(np.isfinite(M)) and np.all(M > 0)):
            return np.nan
        return self.net.sharpness(self.params, self.train, preconditioner=M, frozen=self.est._frozen())

    def _initial_step(self):
        """``learning_rate='auto'``: :func:`._descent.auto_step` of ``lambda``, the largest
        absolute eigenvalue of the (preconditioned) Hessian at the current parameters, by
        power iteration; a warm start that was already on 'auto' keeps its step."""
        if self.state.get("auto") and self.state.get("eta"):
            return self.state["eta"]
        M = self._preconditioner()
        if M is not None:
            # where phi'' is zero or infinite (|x|^p at the start) the local scale is
            # undefined; 1 is the scale of a unit displacement (Potential.step_scale)
            M = np.where(np.isfinite(M) & (M > 0), M, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            top = self.net.sharpness(self.params, self.train, preconditioner=M, frozen=self.est._frozen(),
                                     method="power", n_iter=_AUTO_POWER_STEPS)
        if not np.isfinite(top):
            raise ValueError(
                "learning_rate='auto': the curvature of the loss at the start is not finite (the targets or "
                "the initial parameters are too large to square in this dtype). Standardize y, e.g. with "
                "TransformedTargetRegressor(transformer=StandardScaler()), or use float64 inputs.")
        return auto_step(top)

    # ------------------------------------------------------------------ run
    def run(self, n_iter):
        """Train for up to ``n_iter`` iterations; return the training state, brought up to date."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.full_batch:
                loss, self.grad = self.net.loss_and_grad(self.params, self.train)
            else:
                loss = self.net.loss(self.params, self.train)
        self.begin(loss)
        self.eta = self._initial_step() if self.auto else float(self.est.learning_rate)
        if self.auto:
            # a halved step grows back to the estimate at the start (see _descent.GROW_AFTER);
            # the ceiling and the count carry over to warm starts and partial_fit
            self.eta_cap = self.state.get("eta_cap") or self.eta
            self.accepted = self.state.get("accepted", 0)
        self.t0 = self.n_iter
        try:
            descend(self, n_iter, backtrack=self.auto, verbose=self.est.verbose)
        except Diverged as exc:
            self._diverged(exc)
        self._check_not_worse()
        self.state.update(eta_cap=self.eta_cap, accepted=self.accepted)
        self.state.update(params=self.params, t=self.t, n_iter=self.n_iter, eta=self.eta, auto=self.auto,
                          best=self.best, best_iter=self.best_iter)
        if self.dual is not None:
            self.state["dual"] = self.dual
        return self.state

    def _check_not_worse(self):
        """A fixed step that neither diverged nor helped: the loss ended well above where this
        call started (twice, more than SGD's noise), so the model is worse than its start."""
        first, last = self.losses[self.t0], self.losses[-1]
        if self.auto or not last > 2.0 * first:
            return
        warn(f"The training loss ended at {last:.4g}, above its value at the start of this fit ({first:.4g}): "
             f"learning_rate={self.eta:.4g} is too large for this problem, and the model is worse than its "
             f"initialisation. {self._divergence_cause()}", ConvergenceWarning)

    def _diverged(self, exc):
        """A fixed step diverged: roll back to the best iterate of this call (early stopping's
        kept iterate goes back with it, to one of the iterations kept) and warn, or raise if
        that is where the call started."""
        first_loss = self.losses[self.t0]
        self.restore(exc.best)
        cause = self._divergence_cause()
        if self.n_iter == self.t0:
            raise ValueError(
                f"Training diverged at iteration {exc.iteration} with learning_rate={self.eta:.4g}, and no step "
                f"improved on the start (training loss {first_loss:.4g}), so there is no trained model to keep (a "
                f"previously fitted model is left unchanged). {cause}")
        divergence_warning("Training", exc.iteration, self.eta,
                           f"The best finite iterate was kept: iteration {self.n_iter}, training loss "
                           f"{self.loss:.4g} (the lowest seen; {first_loss:.4g} at the start of this fit).", cause)

    def _divergence_cause(self):
        """The cause and the fix: the targets' scale when it is large, and the sharpness at
        the kept parameters against ``2 / eta``, estimated within ``working_memory``."""
        budget = working_memory_bytes()
        sharp, how = None, ""
        M = self._preconditioner()
        if M is not None and not (np.all(np.isfinite(M)) and np.all(M > 0)):
            how = ("The potential's curvature is zero or infinite at the kept parameters, so no sharpness is "
                   "defined there.")
        else:
            for method in ("lanczos", "power"):
                try:
                    with np.errstate(over="ignore", invalid="ignore"):
                        sharp = self.net.sharpness(self.params, self.train, preconditioner=M,
                                                   frozen=self.est._frozen(), method=method, max_bytes=budget)
                except MemoryError:
                    continue
                how = "sharpness" if method == "lanczos" else "largest absolute Hessian eigenvalue (power iteration)"
                break
            else:
                m, (n, d), k = self.train.X.shape[0], self.params.W.shape, self.params.v.shape[1]
                need = curvature_bytes(m, n, d, k, self.train.X.dtype, "power")
                how = (f"The sharpness was not estimated: even a power iteration needs about {need / 2**20:.0f} "
                       f"MiB, more than working_memory = {budget / 2**20:.0f} MiB "
                       "(sklearn.set_config(working_memory=...) raises it).")
        limit = stability_limit(self.eta)  # the largest sharpness that the step tolerates
        below = "a smaller learning_rate"
        if sharp is not None and np.isfinite(sharp) and sharp > 0:
            how = (f"The {how} at the kept parameters is {sharp:.4g} against 2/learning_rate = {limit:.4g} "
                   f"({sharp / limit:.3g} times the limit)")
            if sharp > limit:
                how += "."
                below = f"a learning_rate below {stability_limit(sharp):.4g}"
            else:  # stable where it was kept: the curvature rose past the limit further on
                how += ", so the curvature grew past the limit further along the run."
        Y, p = self.train.Y.astype(np.float64), self.train.p.astype(np.float64)
        mean = p @ Y
        std = np.sqrt(p @ (Y - mean) ** 2)
        j = int(np.argmax(np.hypot(mean, std)))
        if np.hypot(mean[j], std[j]) > 10.0:
            # the network starts at outputs of order one (with standardized X), so the
            # residuals, and the curvature they bring, are of the targets' size
            return (f"The targets have standard deviation {std[j]:.3g} and mean {mean[j]:.3g}: the curvature of "
                    "the loss grows with their scale (through the residuals and the output weights that fit "
                    f"them), and this step is too large for it. {how} Standardize y, e.g. "
                    "TransformedTargetRegressor(regressor=ShallowReLURegressor(...), transformer=StandardScaler()), "
                    f"or use learning_rate='auto', or {below}.")
        return f"The step exceeds the stability limit. {how} Use learning_rate='auto' or {below}."
