"""The data makers: their documented draw order, so that a seed always gives the same data.

The references below are the formulas the examples and benchmarks used before
they called the makers; a change of draw order would change every table they
print.
"""

import numpy as np
import pytest

from sklearn_shallowrelu.datasets import make_curve, make_neuron_teacher, make_single_index


def test_make_curve_draws_x_then_noise():
    rng = np.random.RandomState(3)
    x = rng.uniform(-3, 3, 50)
    y = np.sin(x) + 0.3 * rng.standard_normal(50)
    X_got, y_got = make_curve(50, target=np.sin, x_range=(-3, 3), noise=0.3, random_state=3)
    assert X_got.shape == (50, 1)
    np.testing.assert_array_equal(X_got[:, 0], x)
    np.testing.assert_array_equal(y_got, y)


def test_make_curve_sorts_before_the_outputs():
    rng = np.random.RandomState(0)
    x = np.sort(rng.uniform(-2, 2, 30))
    y = np.sin(2 * x) + 0.2 * rng.standard_normal(30)
    X_got, y_got = make_curve(30, noise=0.2, sort=True, random_state=0)
    np.testing.assert_array_equal(X_got[:, 0], x)
    np.testing.assert_array_equal(y_got, y)


def test_make_curve_continues_a_shared_stream():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(100, 1))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.standard_normal(100)
    X_test = rng.uniform(-2, 2, size=(40, 1))
    y_test = np.sin(2 * X_test[:, 0]) + 0.3 * rng.standard_normal(40)
    shared = np.random.RandomState(0)
    got = make_curve(100, random_state=shared) + make_curve(40, random_state=shared)
    for a, b in zip(got, (X, y, X_test, y_test)):
        np.testing.assert_array_equal(a, b)


def test_make_curve_grid_draws_only_the_noise():
    x = np.linspace(-2, 2, 25)
    y = np.sin(3 * x) + 0.1 * np.random.RandomState(0).standard_normal(25)
    X_got, y_got = make_curve(25, target=lambda t: np.sin(3 * t), noise=0.1, sampling="grid", random_state=0)
    np.testing.assert_array_equal(X_got[:, 0], x)
    np.testing.assert_array_equal(y_got, y)


def test_make_curve_without_noise_is_the_target():
    X, y = make_curve(20, target=lambda t: 4 * t**3 - 3 * t, x_range=(-1, 1), noise=0, sampling="grid")
    np.testing.assert_array_equal(X[:, 0], np.linspace(-1, 1, 20))
    np.testing.assert_array_equal(y, 4 * X[:, 0] ** 3 - 3 * X[:, 0])
    # no noise, no draw: the stream is untouched
    rng = np.random.RandomState(0)
    make_curve(20, noise=0, sampling="grid", random_state=rng)
    assert rng.uniform() == np.random.RandomState(0).uniform()


def test_make_curve_rejects_an_unknown_sampling():
    with pytest.raises(ValueError, match="sampling"):
        make_curve(10, sampling="sobol")


def test_make_single_index_draws_direction_inputs_noise():
    rng = np.random.RandomState(1)
    u = rng.standard_normal(10)
    u /= np.linalg.norm(u)
    X = rng.standard_normal((300, 10))
    y = np.sin(2.0 * X @ u) + 0.1 * rng.standard_normal(300)
    X_got, y_got = make_single_index(300, 10, random_state=1)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(y_got, y)


def test_make_single_index_with_a_given_direction_draws_no_direction():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 3))
    y = np.sin(X[:, 0]) + 0.1 * rng.standard_normal(200)
    X_got, y_got = make_single_index(200, 3, target=np.sin, direction=[1.0, 0.0, 0.0], random_state=0)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(y_got, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_make_neuron_teacher_is_the_centred_scheme(seed):
    rng = np.random.RandomState(seed)
    while True:  # Chistikov et al.'s rejection loop, as low_rank_one_neuron.py wrote it
        mu = rng.standard_normal(4)
        mu /= np.linalg.norm(mu)
        X = mu + rng.standard_normal((4, 4)) / np.sqrt(4)
        if np.all(X @ mu > 0):
            break
    X_got, y_got, mu_got = make_neuron_teacher(4, 4, return_teacher=True, random_state=seed)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(mu_got, mu)
    np.testing.assert_array_equal(y_got, np.maximum(X @ mu, 0.0))
    assert len(make_neuron_teacher(4, 4, random_state=seed)) == 2


def test_make_neuron_teacher_sizes():
    X, y = make_neuron_teacher(10, 6, random_state=0)
    assert X.shape == (10, 6) and y.shape == (10,) and np.all(y > 0)
