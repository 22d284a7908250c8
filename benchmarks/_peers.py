"""The peers of the both-layer benchmarks: MLPRegressor and a jitted JAX loop doing the
same full-batch gradient descent from the same start (a helper, not a benchmark).

Both take the start ``p0`` (``ShallowReLURegressor.initialize``) and the step ``eta``
and return the time per step, the best of repeated fits of ``T`` steps.  The
``*_runner`` functions return the fit itself (one call: ``T`` steps from ``p0``), for
a benchmark that alternates the peers' runs.
"""

import warnings

import numpy as np
from _timing import best_of
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

SEED = 0


def mlp(x, y, n, p0, eta, T, budget=10.0):
    """``MLPRegressor`` as full-batch GD (``solver='sgd'``, ``batch_size=m``, no momentum);
    the set-up step is charged too (one step in ``T + 1``)."""
    t, _ = best_of(mlp_runner(x, y, n, p0, eta, T), 3, budget=budget)
    return t / T


def mlp_runner(x, y, n, p0, eta, T):
    """The fit that :func:`mlp` times."""
    net = MLPRegressor(hidden_layer_sizes=(n,), activation="relu", solver="sgd", batch_size=len(y), momentum=0.0,
                       alpha=0.0, learning_rate_init=eta, learning_rate="constant", shuffle=False, max_iter=T,
                       n_iter_no_change=10**9, tol=0.0, random_state=SEED)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.set_params(max_iter=1, warm_start=False)
            net.fit(x, y)  # builds the layers; the start is set next
            net.coefs_ = [p0["hidden_weights"].T.astype(x.dtype), p0["output_weights"].astype(x.dtype)]
            net.intercepts_ = [p0["hidden_bias"].astype(x.dtype), p0["intercept"].astype(x.dtype)]
            net.set_params(max_iter=T, warm_start=True)
            net.fit(x, y)

    return run


def jax_gd(x, y, n, p0, eta, T, budget=10.0):
    """A jitted ``lax.fori_loop`` of the plain gradient step on the CPU, in the dtype of
    ``x``; None when ``jax`` is not installed (it is not a dependency)."""
    run = jax_runner(x, y, n, p0, eta, T)
    if run is None:
        return None
    t, _ = best_of(run, 3, budget=budget)
    return t / T


def jax_runner(x, y, n, p0, eta, T):
    """The fit that :func:`jax_gd` times, compiled (None without ``jax``)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    dt = x.dtype
    X, Y = jnp.asarray(x), jnp.asarray(y.astype(dt))

    def loss(params):
        W, b, v, c = params
        f = jnp.maximum(X @ W.T + b, 0.0) @ v + c
        return 0.5 * jnp.mean((f - Y) ** 2)

    grad = jax.grad(loss)
    step_size = np.asarray(eta, dtype=dt)

    @jax.jit
    def run(params):
        def step(_, p):
            g = grad(p)
            return tuple(a - step_size * ga for a, ga in zip(p, g))
        return jax.lax.fori_loop(0, T, step, params)

    params = tuple(jnp.asarray(np.asarray(a, dtype=dt)) for a in (
        p0["hidden_weights"], p0["hidden_bias"], p0["output_weights"][:, 0], p0["intercept"][0]))
    jax.block_until_ready(run(params))  # compile
    return lambda: jax.block_until_ready(run(params))
