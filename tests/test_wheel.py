"""lossbook installs anywhere: its wheel, in a fresh environment, runs a chapter in plain Jupyter.

- ``python -m build --wheel`` on a copy of this checkout (the build must not write into the
  repository) makes a wheel that holds the package and the widgets' JavaScript, and nothing of
  the course's repository (tests, solutions, notebooks, npm's node_modules).
- A fresh venv outside the repository gets the wheel with its ``[course]`` extra, under the
  course's ``constraints.txt``, and no nbgrader. One chapter's solutions notebook, copied next to
  it, runs there in plain Jupyter (nbclient and jupyter_client from this environment, the kernel
  from the fresh venv, ``PYTHONPATH`` cleared, working directory outside the repository): every
  check cell passes, and lossbook is imported from the venv, not from the checkout.
- Installing the wheel into an environment that already has another torch keeps that torch:
  the package declares ranges, not pins.

The durations of the build, the install and the run are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "constraints.txt"
CHAPTER = "02_regression"
STATIC = REPO / "lossbook" / "course" / "static"

# Not part of a source tree: left out of the copy the wheel is built from.
NOT_SOURCE_ANYWHERE = {"__pycache__", ".ipynb_checkpoints", "node_modules", ".hypothesis"}
NOT_SOURCE_AT_TOP = {
    ".git",
    ".venv",
    "site",
    "artifacts",
    "build",
    "dist",
    "grades",
    "submitted",
    "autograded",
    "feedback",
    "exchange",
    "release",
    "source",
    "gradebook.db",
    ".pytest_cache",
}

# Outside the kernel: a learner's Jupyter sets none of these.
LEFT_OUT_OF_THE_KERNEL = ("PYTHONPATH", "LOSSBOOK_STATIC", "NBGRADER_EXECUTION", "MPLBACKEND")

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def print_timings():
    """After the module: every measured duration, for the report (``pytest -s``)."""
    yield
    for name, seconds in TIMINGS.items():
        print(f"[test_wheel] {name}: {seconds:.1f} s")


def timed(name: str, command: list[str], **options) -> subprocess.CompletedProcess:
    """Run ``command`` (check=True, output captured) and record how long it took."""
    start = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    finally:
        TIMINGS[name] = time.perf_counter() - start
    assert result.returncode == 0, (
        f"{name}: {' '.join(map(str, command))} exited {result.returncode}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    print(f"[test_wheel] {name}: {TIMINGS[name]:.1f} s")
    return result


def copy_source_tree(destination: Path) -> Path:
    """Copy the checkout's source files (what an sdist would hold, roughly) to ``destination``."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        at_top = Path(folder).resolve() == REPO
        return {
            name
            for name in names
            if name in NOT_SOURCE_ANYWHERE
            or name.endswith(".egg-info")
            or (at_top and name in NOT_SOURCE_AT_TOP)
        }

    shutil.copytree(REPO, destination, ignore=ignore)
    return destination


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in LEFT_OUT_OF_THE_KERNEL}
    environment.pop("VIRTUAL_ENV", None)
    return {**environment, **extra}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def make_venv(venv: Path) -> Path:
    # From the base interpreter: a venv made from this venv's python would still be a fresh one,
    # but say so plainly.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    timed(f"create venv {venv.name}", [str(base), "-m", "venv", str(venv)], env=clean_environment())
    return venv_python(venv)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = copy_source_tree(work / "source")
    timed(
        "python -m build --wheel",
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
        cwd=work,
        env=clean_environment(),
    )
    wheels = sorted((work / "dist").glob("lossbook-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def course_venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the repository with ``lossbook[course]`` from the wheel."""
    assert CONSTRAINTS.exists(), f"{CONSTRAINTS} is missing: the course's exact pins live there"
    venv = tmp_path_factory.mktemp("venv") / "course"
    assert REPO not in venv.resolve().parents
    python = make_venv(venv)
    timed(
        "pip install lossbook[course] (wheel, constraints.txt)",
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            # Byte-compiling torch's thousands of modules is most of an install's time; the
            # kernel compiles what it imports.
            "--no-compile",
            f"lossbook[course] @ {wheel.as_uri()}",
            "-c",
            str(CONSTRAINTS),
        ],
        cwd=venv,
        env=clean_environment(),
    )
    return venv


# --------------------------------------------------------------------------- the wheel


def test_wheel_holds_the_package_and_the_widget_javascript_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    others = {name.split("/")[0] for name in names} - {"lossbook"}
    assert len(others) == 1 and others.pop().endswith(".dist-info"), sorted(set(names))[:20]
    static_files = sorted(p.relative_to(REPO).as_posix() for p in STATIC.rglob("*") if p.is_file())
    assert any(name.endswith(".js") for name in static_files), "no widget JavaScript to ship"
    missing = [name for name in static_files if name not in names]
    assert not missing, f"the wheel lacks the widgets' assets: {missing}"
    for forbidden in ("tests/", "solutions/", "notebooks/", "node_modules/", "bench/"):
        leaked = [name for name in names if forbidden in name]
        assert not leaked, f"the wheel holds {forbidden}: {leaked[:5]}"
    assert "lossbook/functional.py" in names and "lossbook/checks/__init__.py" in names


def test_wheel_declares_ranges_for_torch_and_numpy(wheel):
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    requirements = {
        (requirement := Requirement(line.split(":", 1)[1].strip())).name: requirement
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    for name, other_versions in (("torch", ("2.13.0", "2.14.1")), ("numpy", ("2.2.6", "2.4.6"))):
        specifier = requirements[name].specifier
        assert all(specifier.contains(v) for v in other_versions), (name, str(specifier))
        assert not any(s.operator == "==" for s in specifier), f"{name} is pinned: {specifier}"


# --------------------------------------------------------------------------- a chapter


def solutions_notebook() -> Path:
    notebooks = sorted((REPO / "solutions" / CHAPTER).glob("*.ipynb"))
    assert len(notebooks) == 1, notebooks
    return notebooks[0]


PROBE = """\
import importlib.util, json, sys
import lossbook, torch
print("LOSSBOOK_PROBE " + json.dumps({
    "executable": sys.executable,
    "lossbook": lossbook.__file__,
    "nbgrader": importlib.util.find_spec("nbgrader") is not None,
    "torch": torch.__version__,
    "path": sys.path,
}))
"""


def kernel_manager(venv: Path, kernels: Path):
    """A jupyter_client kernel manager whose kernel is the venv's Python (its own kernelspec)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec = kernels / "lossbook-wheel"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(venv_python(venv)),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "lossbook wheel",
                "language": "python",
            }
        )
    )
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    return KernelManager(kernel_name="lossbook-wheel", kernel_spec_manager=specs)


def test_a_chapter_passes_its_checks_in_plain_jupyter_from_the_wheel(course_venv, tmp_path):
    from nbclient import NotebookClient

    workdir = tmp_path / "learner"
    workdir.mkdir()
    assert REPO not in workdir.resolve().parents
    notebook = workdir / solutions_notebook().name
    shutil.copy2(solutions_notebook(), notebook)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))

    manager = kernel_manager(course_venv, tmp_path / "kernels")
    client = NotebookClient(
        nb,
        km=manager,
        timeout=600,
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute(cwd=str(workdir), env=clean_environment())
    TIMINGS["run the chapter"] = time.perf_counter() - start
    print(f"[test_wheel] run {CHAPTER} in the venv's kernel: {TIMINGS['run the chapter']:.1f} s")

    failures = [
        f"cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not failures, "\n".join(failures)
    checks = [
        cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]
    assert checks, f"{CHAPTER} has no check cell"
    assert all(cell.execution_count for cell in checks), "a check cell did not run"

    probe_text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    probe = json.loads(probe_text.split("LOSSBOOK_PROBE ", 1)[1])
    venv = course_venv.resolve()
    assert Path(probe["executable"]).parent.parent.resolve() == venv, probe["executable"]
    assert venv in Path(probe["lossbook"]).resolve().parents, probe["lossbook"]
    assert not any(str(REPO) in entry for entry in probe["path"]), probe["path"]
    assert probe["nbgrader"] is False, "nbgrader is installed in the course venv"


# --------------------------------------------------------------------------- an existing torch


def test_installing_the_wheel_keeps_an_existing_torch(wheel, tmp_path):
    """An environment with a torch the course never pinned (2.14.1 here, written as installed
    metadata: a real one is 1 GB) keeps it: pip's plan installs no torch. The same plan for the
    old exact pin replaces it, so the test can tell the two apart."""
    venv = tmp_path / "has-torch"
    python = make_venv(venv)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dist_info = Path(purelib) / "torch-2.14.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.14.1\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    (dist_info / "RECORD").write_text("")

    def planned(requirement: str) -> dict[str, str]:
        report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
        timed(
            f"pip install --dry-run {requirement.split(' @ ')[0]}",
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--report",
                str(report),
                requirement,
            ],
            cwd=tmp_path,
            env=clean_environment(),
        )
        install = json.loads(report.read_text())["install"]
        return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in install}

    plan = planned(f"lossbook @ {wheel.as_uri()}")
    assert "lossbook" in plan and "torch" not in plan, plan
    # The control: an exact pin, as lossbook declared before, would replace the learner's torch.
    assert planned("torch==2.13.0").get("torch", "").startswith("2.13.0")
