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
        return NetworkParameters(model.hidden_weights_, model.hidden_bias_, v, model.intercept_, model.activation)
    if isinstance(model, RandomFeatureReLURegressor):
        coef = model.coef_.reshape(-1, model.n_hidden).T / np.sqrt(model.n_hidden)
        return NetworkParameters(model.hidden_weights_, model.hidden_bias_, coef, model.intercept_, "relu",
                                 has_output_bias=model.fit_intercept)
    raise TypeError(
        f"Cannot read network parameters from {type(model).__name__}; pass a fitted "
        "ShallowReLURegressor or RandomFeatureReLURegressor."
    )
