"""Three places say what gets installed, and they must agree.

- pyproject.toml declares ranges (lossbook installs into an environment that already has a torch);
- constraints.txt pins the course environment exactly (`make lab`/`make test` install with it);
- environment.yml (conda/Binder) lists the same pins as constraints.txt for Python 3.11.
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)$")
PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # every version torch 2.13.0 ships wheels for


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_requirements() -> list[Requirement]:
    requirements = [Requirement(r) for r in project()["dependencies"]]
    for extra in project()["optional-dependencies"].values():
        requirements += [Requirement(r) for r in extra]
    return requirements


def constraint_pins(python: str) -> dict[str, str]:
    """constraints.txt as {name: version} for one Python version (markers evaluated)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _, marker = line.partition(";")
        if marker and not Marker(marker).evaluate({"python_version": python}):
            continue
        match = PIN.match(requirement.strip())
        assert match, f"constraints.txt: {line!r} is not pinned as name==version"
        name = _canonical(match[1])
        assert name not in pins, f"constraints.txt pins {name} twice for Python {python}"
        pins[name] = match[2]
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
        if item.startswith("-e ."):
            continue
        match = PIN.match(item)
        assert match, f"environment.yml: {item!r} is not pinned as name==version"
        pins[_canonical(match[1])] = match[2]
    return pins


def test_environment_yml_lists_the_constraints_for_python_311():
    constraints, environment = constraint_pins("3.11"), environment_pins()
    assert constraints == environment, (
        "constraints.txt (Python 3.11) and environment.yml disagree:\n"
        f"  only in constraints.txt (or pinned differently): "
        f"{ {k: v for k, v in constraints.items() if environment.get(k) != v} }\n"
        f"  only in environment.yml (or pinned differently): "
        f"{ {k: v for k, v in environment.items() if constraints.get(k) != v} }"
    )


@pytest.mark.parametrize("python", PYTHONS)
def test_every_requirement_is_a_range_the_pins_satisfy(python):
    pins = constraint_pins(python)
    for requirement in pyproject_requirements():
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=False), (
            f"Python {python}: constraints.txt pins {name}=={pins[name]}, "
            f"outside pyproject.toml's range {requirement.specifier}"
        )
    declared = {_canonical(r.name) for r in pyproject_requirements()}
    assert set(pins) == declared, f"pinned but not declared: {set(pins) - declared}"


def test_lossbook_itself_declares_ranges_not_pins():
    """`pip install lossbook` must not replace a learner's torch."""
    for requirement in project()["dependencies"]:
        assert "==" not in requirement, f"{requirement}: declare a range, pin in constraints.txt"
    torch = next(r for r in pyproject_requirements() if r.name == "torch")
    assert torch.specifier.contains("2.13.0") and torch.specifier.contains("2.20.0")


def test_torch_is_pinned_to_the_offline_cpu_build():
    assert all(constraint_pins(python)["torch"] == "2.13.0" for python in PYTHONS)


def makefile_accepts(python: str) -> bool:
    """Evaluate the Makefile's own version check for a given Python version."""
    check = re.search(r"sys\.exit\(0 if (.*?) else", (ROOT / "Makefile").read_text())[1]
    version_info = tuple(int(part) for part in python.split("."))
    return eval(check, {"sys": type("FakeSys", (), {"version_info": version_info})})


@pytest.mark.parametrize("python", PYTHONS)
def test_python_versions_torch_ships_for_are_accepted(python):
    assert SpecifierSet(project()["requires-python"]).contains(f"{python}.0")
    assert makefile_accepts(python)


@pytest.mark.parametrize("python", ["3.9", "3.14"])
def test_other_python_versions_are_refused(python):
    assert not SpecifierSet(project()["requires-python"]).contains(f"{python}.0")
    assert not makefile_accepts(python)


def test_environment_yml_installs_lossbook_with_its_extras_on_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "- -e .[course,lab,dev,classroom]" in text
    assert re.search(r"^\s*- python=3\.11\s*$", text, re.M)


def test_pin_parser_rejects_an_unpinned_requirement():
    assert PIN.match("torch>=2.0") is None
    assert PIN.match("torch==2.13.0")[2] == "2.13.0"
