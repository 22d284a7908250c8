"""Read the parameters of any network of the package the same way."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["NetworkParameters", "network_parameters"]


def checked_sample_weight(sample_weight, n_samples):
    """Sample weights as a float64 array of shape ``(n_samples,)``, ones for None.

    Weights define a distribution of the inputs and the normalised loss
    ``sum w r^2 / (2 sum w)``: they must be finite and non-negative with a
    positive sum.  Anything else raises a ``ValueError`` that says so, before
    it could become a negative loss, a division by zero or a failed
    eigensolver.
    """
    if sample_weight is None:
        return np.ones(n_samples)
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be an array of numbers, one weight per sample.") from None
    if w.ndim == 0:  # a scalar weighs every sample alike, as in scikit-learn
        w = np.full(n_samples, float(w))
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {w.shape}; pass one weight per sample, shape ({n_samples},).")
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinite values; pass finite weights.")
    if np.any(w < 0):
        raise ValueError(
            f"sample_weight has {int(np.sum(w < 0))} negative entries (smallest {w.min():.4g}); weights must "
            "be non-negative: give a sample weight 0 to leave it out."
        )
    if not np.sum(w) > 0:
        raise ValueError("sample_weight sums to zero (no sample carries weight); give at least one sample a "
                         "positive weight.")
    return w


class NetworkParameters:
    """The parameters of ``f(x) = sum_k v_k act(<w_k, x> + b_k) + c``, the output scale folded into ``v``.

    Every parameter is stored as an attribute of the same name: the arrays as
    float64, ``v`` reshaped to ``(n, k)`` and ``c`` to at least one dimension.

    Parameters
    ----------
    W : array-like of shape (n, d)
        Hidden weights.
    b : array-like of shape (n,)
        Hidden biases.
    v : array-like of shape (n,) or (n, k)
        Output weights, times the output scale.
    c : float or array-like of shape (k,)
        Output bias.
    activation : str, default='relu'
        Name of the activation (see :func:`~sklearn_shallowrelu.activations.get_activation`).
    has_output_bias : bool, default=True
        Whether the network has an output bias ``c`` fitted to the data (it
        enters the Hessian bounds).
    trained : {'all', 'output_layer'}, default='all'
        Which parameters training moves.  ``'all'``: ``W``, ``b``, ``v`` (and
        ``c`` with an output bias), by gradient descent on all of them
        (``ShallowReLURegressor``).  ``'output_layer'``: the first layer is
        frozen and only the output coefficients ``v / coef_scale`` are trained
        (random-feature networks); the output bias is then not a descent
        parameter but kept at its optimum for the current ``v``.
    coef_scale : float, default=1.0
        ``v = coef_scale * coef`` for the trained output coefficients ``coef``:
        ``1 / sqrt(n_hidden)`` for the random-feature networks, the output
        scale ``s`` of the parametrisation for ``ShallowReLURegressor``.
    penalty : float, default=0.0
        ``alpha`` of the objective ``sum_i w_i r_i^2 + alpha |coef|^2`` the
        trained coefficients minimise (0.0 without a penalty); for ``'all'``,
        the weight decay ``alpha (|W|^2 + |coef|^2)`` (and ``|b|^2`` with
        ``penalize_bias``).
    penalize_bias : bool, default=False
        Whether the weight decay of an ``'all'`` network penalises ``b``.

    Raises
    ------
    ValueError
        If ``trained`` is neither ``'all'`` nor ``'output_layer'``.
    """

    def __init__(self, W, b, v, c, activation="relu", has_output_bias=True, trained="all", coef_scale=1.0,
                 penalty=0.0, penalize_bias=False):
        self.W = np.asarray(W, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.v = np.asarray(v, dtype=np.float64).reshape(len(self.b), -1)
        self.c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        self.activation, self.has_output_bias = activation, has_output_bias
        if trained not in ("all", "output_layer"):
            raise ValueError(f"trained must be 'all' or 'output_layer'; got {trained!r}.")
        self.trained, self.coef_scale, self.penalty = trained, float(coef_scale), float(penalty)
        self.penalize_bias = bool(penalize_bias)

    def predict(self, X):
        """Evaluate the network ``sum_k v_k act(w_k . x + b_k) + c``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, d)
            Inputs of the hidden layer.

        Returns
        -------
        ndarray of shape (n_samples, k)
            The network's outputs, one column per output.
        """
        from ..activations import get_activation

        return get_activation(self.activation).value(X @ self.W.T + self.b) @ self.v + self.c


def network_parameters(model):
    """Read the :class:`NetworkParameters` of a fitted network of the package.

    Parameters
    ----------
    model : estimator
        A fitted ``ShallowReLURegressor``, ``RandomFeatureReLURegressor`` or
        ``RandomFeatureReLURegressorCV``, or a ``Pipeline`` whose last step is
        one (its earlier steps must then be applied to the inputs by the
        caller).

    Returns
    -------
    NetworkParameters
        The hidden and output parameters, with the output scale folded into
        ``v``, and what training moves (``trained``, ``coef_scale``,
        ``penalty``).

    Raises
    ------
    TypeError
        If ``model`` is not one of these networks.
    """
    from sklearn.pipeline import Pipeline

    from ..random_features import RandomFeatureReLURegressor
    from ..shallow import ShallowReLURegressor

    if isinstance(model, Pipeline):
        model = model[-1]
    check_is_fitted(model)
    if isinstance(model, ShallowReLURegressor):
        v = model.output_weights_.reshape(model.n_hidden, -1) * model.output_scale_
        return NetworkParameters(model.hidden_weights_, model.hidden_bias_, v, model.intercept_, model.activation,
                                 has_output_bias=getattr(model, "fit_intercept", True), coef_scale=model.output_scale_,
                                 penalty=getattr(model, "alpha", 0.0),
                                 penalize_bias=getattr(model, "penalize_bias", False))
    if isinstance(model, RandomFeatureReLURegressor):
        scale = 1.0 / np.sqrt(model.n_hidden)
        coef = model.coef_.reshape(-1, model.n_hidden).T * scale
        return NetworkParameters(model.hidden_weights_, model.hidden_bias_, coef, model.intercept_, "relu",
                                 has_output_bias=model.fit_intercept, trained="output_layer", coef_scale=scale,
                                 penalty=_random_feature_penalty(model))
    raise TypeError(
        f"Cannot read network parameters from {type(model).__name__}; pass a fitted "
        "ShallowReLURegressor or RandomFeatureReLURegressor."
    )


def _random_feature_penalty(model):
    """The ``alpha`` a fitted random-feature network's coefficients minimise with."""
    from ..random_features import resolve_alpha

    chosen = getattr(model, "alpha_", None)  # RandomFeatureReLURegressorCV: the alpha it selected
    if chosen is not None:
        return float(chosen)
    return float(resolve_alpha(model.alpha, model.solver))


def diagnosed_model(estimator, prefit, X, y, n_features, **fit_params):
    """The model a diagnostic reads: a copy of a fitted ``estimator`` (``prefit``)
    or a clone fitted on ``(X, y)`` (``ShallowReLURegressor()`` when None)."""
    from copy import deepcopy

    from sklearn.base import clone

    from ..shallow import ShallowReLURegressor

    if prefit:
        if estimator is None:
            raise ValueError("prefit=True needs a fitted estimator.")
        check_is_fitted(estimator)
        n_in = getattr(estimator, "n_features_in_", None)
        if n_in is not None and n_in != n_features:
            raise ValueError(f"X has {n_features} features, but the prefit estimator was fitted with {n_in}.")
        return deepcopy(estimator)
    return clone(ShallowReLURegressor() if estimator is None else estimator).fit(X, y, **fit_params)


def hidden_inputs(model, X, X_valid):
    """The inputs of the hidden layer: ``X`` (as the user gave it) through the
    earlier steps of a Pipeline, or the validated array for a bare network."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model) > 1:
        return np.asarray(model[:-1].transform(X), dtype=np.float64)
    return np.asarray(X_valid, dtype=np.float64)
