"""The README's first screen gives the two commands, and CI runs the test one verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _first_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()], text


def test_readme_first_screen_has_the_two_commands():
    commands, text = _first_commands()
    assert len(commands) == 2
    assert commands[0].endswith("python -m sklearn_shallowrelu")
    assert commands[1].endswith("pytest") and "[test]" in commands[1]
    assert text.index("```bash") < len("\n".join(text.splitlines()[:25]))


def test_ci_runs_the_readme_test_command():
    commands, _ = _first_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
    assert "venv" in ci
