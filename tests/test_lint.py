"""The reference code is read by learners: it must pass the linter and the formatter the project pins."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check_finds_nothing():
    result = ruff("check", "lossbook", "tests", "bench", "nbgrader_config.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_whole_tree_is_ruff_formatted():
    """`ruff format` is the tree's only style (notebooks/ is nbgrader's output of solutions/)."""
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr
