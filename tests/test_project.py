"""pyproject.toml describes the project: every third-party package the code imports is a declared dependency,
and requirements.txt pins each of them."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from conftest import PROJECT


def imported_top_level_names():
    names = set()
    for path in [*(PROJECT / "src").rglob("*.py"), *PROJECT.glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"src", "__future__"}


def normalised(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirement):
    return normalised(re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0])


def test_every_imported_package_is_declared_and_pinned():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    dependencies = {declared(r) for r in project["dependencies"]}
    pinned = {
        declared(line)
        for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = packages_distributions()
    needed = {normalised(distributions[name][0]) for name in imported_top_level_names()}
    assert needed - dependencies == set()
    assert dependencies - pinned == set()
    assert {declared(r) for r in project["optional-dependencies"]["dev"]} <= pinned
