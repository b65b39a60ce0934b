"""The two ways to install the course must agree: pyproject.toml (pip) and environment.yml (conda/Binder)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement.strip())
        assert match, f"pyproject.toml: {requirement!r} is not pinned as name==version"
        pins[_canonical(match[1])] = match[2]
    return pins


def environment_pins() -> dict[str, str]:
    """The `pip:` list of environment.yml (read as text: PyYAML is not a dependency)."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    pins = {}
    for line in lines[start + 1 :]:
        item = line.strip()
        if not item.startswith("- "):
            break
        item = item[2:].strip()
        if item == "-e .":
            continue
        match = PIN.match(item)
        assert match, f"environment.yml: {item!r} is not pinned as name==version"
        pins[_canonical(match[1])] = match[2]
    return pins


def test_environment_yml_matches_pyproject():
    pyproject, environment = pyproject_pins(), environment_pins()
    only_pyproject = {k: v for k, v in pyproject.items() if environment.get(k) != v}
    only_environment = {k: v for k, v in environment.items() if pyproject.get(k) != v}
    assert not only_pyproject and not only_environment, (
        f"pyproject.toml and environment.yml disagree.\n"
        f"  in pyproject.toml only (or pinned differently): {only_pyproject}\n"
        f"  in environment.yml only (or pinned differently): {only_environment}"
    )


def test_environment_yml_installs_lossbook_and_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "- -e ." in text
    assert re.search(r"^\s*- python=3\.11\s*$", text, re.M)


def test_torch_is_pinned_to_the_offline_cpu_build():
    assert pyproject_pins()["torch"] == "2.13.0"


def test_pin_parser_rejects_an_unpinned_requirement():
    assert PIN.match("torch>=2.0") is None
    assert PIN.match("torch==2.13.0")[2] == "2.13.0"
