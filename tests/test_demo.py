"""The demo behind the README's first command, and the built-in data sets."""

import numpy as np

from sklearn_shallowrelu.__main__ import main
from sklearn_shallowrelu.datasets import load_boursier_orthogonal, load_jin_montufar, make_wiggly_curve


def test_quick_demo_prints_the_table_and_writes_the_figure(tmp_path, capsys):
    out = tmp_path / "demo.png"
    main(["--quick", "--output", str(out)])
    text = capsys.readouterr().out
    for row in ("ridge, alpha by exact LOO", "GD, stopping time by exact LOO", "5-fold grid", "MLPRegressor"):
        assert row in text
    assert out.exists() and out.stat().st_size > 10_000


def test_datasets():
    X, y = make_wiggly_curve(100, random_state=1)
    assert X.shape == (100, 1) and np.all(np.diff(X[:, 0]) >= 0)
    X2, y2 = make_wiggly_curve(100, random_state=1)
    np.testing.assert_array_equal(y, y2)
    X, y = load_jin_montufar()
    np.testing.assert_array_equal(y, [1.5, 0.5, 1.5, 0.5, 1.5])
    X, y = load_boursier_orthogonal()
    assert np.dot(np.append(X[0], 1), np.append(X[1], 1)) == 0  # augmented inputs are orthogonal
