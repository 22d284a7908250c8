"""The parameter adapter reproduces every network's predictions."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV, ShallowReLURegressor
from sklearn_shallowrelu.diagnostics import network_parameters


@pytest.mark.parametrize("model", [
    ShallowReLURegressor(n_hidden=12, max_iter=20, random_state=0),
    ShallowReLURegressor(n_hidden=12, parametrization="mean_field", activation="tanh", max_iter=20, random_state=0),
    RandomFeatureReLURegressor(n_hidden=30, random_state=0),
    RandomFeatureReLURegressorCV(n_hidden=30, random_state=0),
])
@pytest.mark.parametrize("k", [1, 2])
def test_adapter_reproduces_predictions(model, k):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((25, 3))
    y = np.column_stack([X[:, 0], X[:, 1] ** 2])[:, :k]
    model.fit(X, y if k > 1 else y[:, 0])
    p = network_parameters(model)
    np.testing.assert_allclose(p.predict(X).reshape(model.predict(X).shape), model.predict(X), rtol=1e-10, atol=1e-10)


def test_adapter_reads_the_last_pipeline_step_and_refuses_others():
    X = np.random.RandomState(0).standard_normal((20, 2))
    pipe = make_pipeline(StandardScaler(), ShallowReLURegressor(n_hidden=5, max_iter=5, random_state=0)).fit(X, X[:, 0])
    p = network_parameters(pipe)
    np.testing.assert_allclose(p.predict(pipe[0].transform(X))[:, 0], pipe.predict(X), rtol=1e-10)
    with pytest.raises(TypeError, match="Cannot read"):
        network_parameters(StandardScaler().fit(X))


def test_network_without_output_bias_is_read_as_such():
    import numpy as np

    from sklearn_shallowrelu import CurvatureDiagnostics, ShallowReLURegressor
    from sklearn_shallowrelu.diagnostics import network_parameters

    x = np.linspace(-1, 1, 20)[:, None]
    net = ShallowReLURegressor(n_hidden=8, fit_intercept=False, max_iter=50, learning_rate=0.05,
                               random_state=0).fit(x, x[:, 0] ** 2)
    assert network_parameters(net).has_output_bias is False
    diag = CurvatureDiagnostics(net, prefit=True).fit(x, x[:, 0] ** 2)
    with_bias = ShallowReLURegressor(n_hidden=8, max_iter=50, learning_rate=0.05, random_state=0).fit(
        x, x[:, 0] ** 2)
    # same hidden layer and output weights, but an output bias: the bound gains its constant 1
    with_bias.hidden_weights_, with_bias.hidden_bias_ = net.hidden_weights_, net.hidden_bias_
    with_bias.output_weights_, with_bias.intercept_ = net.output_weights_, 0.0
    other = CurvatureDiagnostics(with_bias, prefit=True).fit(x, x[:, 0] ** 2)
    assert other.hessian_lower_bound_ == pytest.approx(diag.hessian_lower_bound_ + 1.0, rel=1e-12)
    # and the sharpness leaves the bias direction out: never above the one with it
    assert diag.sharpness_ <= other.sharpness_ + 1e-9
