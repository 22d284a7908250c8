"""Mirror potentials: phi', its inverse and phi'' against finite differences."""

import numpy as np
import pytest

from sklearn_shallowrelu.potentials import (
    HyperbolicEntropy,
    Power,
    Quadratic,
    QuadraticPlusPower,
    Scaled,
    WidthScaled,
    check_potential,
    resolve_potential,
)

POTENTIALS = [
    Quadratic(),
    HyperbolicEntropy(0.1),
    HyperbolicEntropy(2.0),
    Power(1.5),
    Power(3.0),
    QuadraticPlusPower(3.0, 1.0),
    QuadraticPlusPower(4.0, 0.5),
    QuadraticPlusPower(1.5, 2.0),
    Scaled(Power(3.0), 10.0),
    Scaled(HyperbolicEntropy(0.5), 3.0),
]
X = np.array([-2.3, -0.7, -0.05, 0.08, 0.6, 1.9])


@pytest.mark.parametrize("pot", POTENTIALS, ids=repr)
def test_grad_is_derivative_of_phi(pot):
    h = 1e-6
    fd = (pot.phi(X + h) - pot.phi(X - h)) / (2 * h)
    np.testing.assert_allclose(pot.grad(X), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("pot", POTENTIALS, ids=repr)
def test_hess_is_derivative_of_grad(pot):
    h = 1e-6
    fd = (pot.grad(X + h) - pot.grad(X - h)) / (2 * h)
    np.testing.assert_allclose(pot.hess(X), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("pot", POTENTIALS, ids=repr)
def test_grad_inv_inverts_grad(pot):
    np.testing.assert_allclose(pot.grad_inv(pot.grad(X)), X, rtol=1e-12, atol=1e-14)
    y = np.linspace(-3, 3, 11)
    np.testing.assert_allclose(pot.grad(pot.grad_inv(y)), y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pot", POTENTIALS, ids=repr)
def test_bregman_divergence_is_nonnegative_and_zero_at_start(pot):
    assert pot.bregman(np.zeros(3)) == 0
    assert pot.bregman(X) > 0


def test_width_scaled_resolves_to_scaled():
    ws = WidthScaled("power")
    with pytest.raises(ValueError, match="resolved"):
        ws.grad(1.0)
    p = resolve_potential(ws, 7.0)
    assert isinstance(p, Scaled) and p.scale == 7.0
    np.testing.assert_allclose(p.grad(X), Power().grad(7.0 * X) / 7.0)
    assert resolve_potential("quadratic", 3.0).__class__ is Quadratic


def test_bad_potentials():
    with pytest.raises(ValueError, match="Unknown potential"):
        check_potential("entropy")
    with pytest.raises(ValueError):
        Power(1.0)
    with pytest.raises(ValueError):
        HyperbolicEntropy(0)
