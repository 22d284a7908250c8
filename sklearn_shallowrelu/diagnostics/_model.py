"""Read the parameters of any network of the package the same way."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["NetworkParameters", "network_parameters"]


class NetworkParameters:
    """``f(x) = sum_k v_k act(w_k . x + b_k) + c`` with the output scale folded into ``v``.

    Attributes
    ----------
    W : (n, d) hidden weights;  b : (n,) hidden biases
    v : (n, k) output weights (times the output scale);  c : (k,) output bias
    activation : str
    has_output_bias : bool
        Whether ``c`` is a trained parameter (it enters the Hessian bounds).
    """

    def __init__(self, W, b, v, c, activation="relu", has_output_bias=True):
        self.W = np.asarray(W, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.v = np.asarray(v, dtype=np.float64).reshape(len(self.b), -1)
        self.c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        self.activation, self.has_output_bias = activation, has_output_bias

    def predict(self, X):
        from ..activations import get_activation

        return get_activation(self.activation).value(X @ self.W.T + self.b) @ self.v + self.c


def network_parameters(model):
    """The :class:`NetworkParameters` of a fitted network of the package.

    Accepts ``ShallowReLURegressor``, ``RandomFeatureReLURegressor`` and
    ``RandomFeatureReLURegressorCV`` (also as the last step of a ``Pipeline``,
    whose earlier steps must then be applied to the inputs by the caller).
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
                                 has_output_bias=getattr(model, "fit_intercept", True))
    if isinstance(model, RandomFeatureReLURegressor):
        coef = model.coef_.reshape(-1, model.n_hidden).T / np.sqrt(model.n_hidden)
        return NetworkParameters(model.hidden_weights_, model.hidden_bias_, coef, model.intercept_, "relu",
                                 has_output_bias=model.fit_intercept)
    raise TypeError(
        f"Cannot read network parameters from {type(model).__name__}; pass a fitted "
        "ShallowReLURegressor or RandomFeatureReLURegressor."
    )


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
