"""The packages of src/ import only downwards (pyproject.toml's import-linter `layers` contract): no import cycles."""

import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def contract():
    return tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]


def test_every_package_of_src_has_a_floor():
    named = {p.strip() for floor in contract()["layers"] for p in floor.split("|")}
    packages = {f"src.{p.name}" for p in (PROJECT / "src").iterdir() if (p / "__init__.py").exists()}
    assert named == packages


def test_lint_imports_keeps_the_layers_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
