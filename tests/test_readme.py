"""README's commands are the ones CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = _blocks(readme)
    assert len(blocks) >= 2, "README must open with the demo and the test commands"
    assert "keras-ae demo" in blocks[0]
    test_lines = [l for l in blocks[1].strip().splitlines() if l.strip()]
    assert any("pytest" in l for l in test_lines)
    ci_lines = [l.strip() for l in ci.splitlines()]
    for line in test_lines:
        assert line.strip() in ci_lines, f"CI does not run README's `{line}`"
