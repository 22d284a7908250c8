"""Every example runs end to end (without drawing) and returns its results."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
# Files starting with "_" are the examples' shared helpers, not examples.
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))


def _load(path, monkeypatch):
    # A script finds the helpers next to it because its folder is on sys.path; do the same.
    monkeypatch.syspath_prepend(str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    module = _load(path, monkeypatch)
    assert module.main(plot_figure=False) is not None


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


def test_figure_is_optional(monkeypatch, tmp_path, capsys):
    """Without matplotlib an example still runs, and says that it skipped the figure."""
    monkeypatch.chdir(tmp_path)
    plotting = _load(EXAMPLES_DIR / "_plotting.py", monkeypatch)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    assert plotting.pyplot() is None

    def draw(plt):
        raise AssertionError("drawn without matplotlib")

    assert plotting.save_figure(draw, "figure.png", blank_line=True) is None
    assert capsys.readouterr().out == "\n" + plotting.NOT_INSTALLED + "\n"
    assert not (tmp_path / "figure.png").exists()


def test_figure_is_saved_in_the_working_directory(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    plotting = _load(EXAMPLES_DIR / "_plotting.py", monkeypatch)

    def draw(plt, values):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot(values)
        return fig

    path = plotting.save_figure(draw, "figure.png", [0, 1, 0], dpi=50)
    assert Path(path) == tmp_path / "figure.png" and Path(path).stat().st_size > 0
    assert capsys.readouterr().out == f"Figure saved to {path}\n"
