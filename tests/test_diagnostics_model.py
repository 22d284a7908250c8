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
