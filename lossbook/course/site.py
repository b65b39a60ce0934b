"""The course website: every chapter as a learner reads it, sliders live, no kernel, no network.

``python -m lossbook.course.site`` (what ``make site`` runs) builds ``site/``:

- ``index.html``: one entry per chapter, its title and first paragraph;
- ``<assignment>.html``: the chapter's *released* notebook (``notebooks/``, what nbgrader hands
  out: exercise cells as handed out, no solutions, no hidden tests), run once with nbclient with
  its widget state saved (``store_widget_state``), then turned into HTML by nbconvert's
  JupyterLab template with that state embedded: text, figures, demo outputs and the widgets,
  whose sliders draw in the page (lossbook's widgets are anywidgets drawing on a canvas);
- ``notebooks/<assignment>/<name>.ipynb``: the released notebook, to download;
- ``_static/``: everything a page loads.

Offline by construction
-----------------------
nbconvert's template fetches RequireJS, MathJax, mermaid and the widget manager from CDNs, and
the widget manager fetches every widget module it does not bundle from jsDelivr. Here every one
of them is served by the site itself:

- the widget manager (``@jupyter-widgets/html-manager``'s ``embed-amd.js`` and its icon fonts),
  RequireJS and MathJax 3 come from the npm registry at the exact versions of
  ``site_assets/package.json`` / ``package-lock.json`` (:func:`install_runtime` runs ``npm ci``
  into ``site_assets/node_modules``, ignored by git, when it is missing or stale);
- anywidget's own AMD module comes from its installed wheel (``anywidget/nbextension/index.js``);
  RequireJS is configured to find it in ``_static/``, and the manager's fallback "CDN" is a
  folder of the site, so a missing module shows as a 404 on the page's host, never as a
  request elsewhere;
- mermaid, which no chapter uses, is left out.

A released notebook as a learner reads it
-----------------------------------------
Released exercise cells end in ``raise NotImplementedError()``, so the run goes on past errors
(``allow_errors``) and :func:`present_as_released` then:

- tags each answer cell ``lossbook-exercise`` and each test cell ``lossbook-check`` (the page
  labels them) and removes their error outputs: an exercise is shown as an exercise, not as a
  traceback;
- replaces with a one-line note the outputs of a demonstration cell that failed because an
  exercise is not answered yet: it raised the exercise's ``NotImplementedError``, or a
  ``NameError`` for a name only an exercise would define, or it reads what an exercise (or a
  demonstration waiting for one) binds;
- reports every other error (a chapter that is broken in its own code): the build writes the
  pages and then fails, listing them. A cell tagged ``raises-exception`` keeps its traceback.

The repository setting
----------------------
The "open in JupyterLab / Binder / Colab" links of each page are built from
:data:`REPOSITORY_URL` and :data:`BRANCH`: set them to where the course is published (a GitHub
repository; Binder and Colab read it from there), or pass ``--repository`` / ``--branch`` for
one build. "JupyterLab" opens the chapter in a local ``make lab`` (:data:`LOCAL_LAB_URL`).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

# --------------------------------------------------------------------------- settings

REPOSITORY_URL = "https://github.com/lossbook/lossbook"
"""Where the course is published: the GitHub repository Binder and Colab open chapters from.

Not settled yet: this address is a placeholder until the course is published; set it here (or
pass ``--repository``) before putting a site online.
"""

BRANCH = "main"
"""The branch of :data:`REPOSITORY_URL` the Binder and Colab links open."""

LOCAL_LAB_URL = "http://localhost:8888/lab/tree"
"""A local JupyterLab over ``notebooks/`` (``make lab``, default port): the "JupyterLab" link."""

ASSETS = Path(__file__).resolve().with_name("site_assets")
NODE_MODULES = ASSETS / "node_modules"
TEMPLATES = ASSETS / "templates"
STATIC = "_static"
MARKER = ".lossbook-site"
"""A file in every folder this module built: the only kind of folder it will empty."""

# Left out of the kernel's environment: the first two make lossbook's widgets static PNGs (the
# site needs live widgets and their state); MPLBACKEND=Agg would keep figures from showing.
STATIC_MODE_VARIABLES = ("LOSSBOOK_STATIC", "NBGRADER_EXECUTION", "MPLBACKEND")

AWAITS_ANSWER = "This cell uses your answer to an exercise above: it runs once you have written it."


class SiteBuildError(RuntimeError):
    """The site cannot be built, or a chapter's own cells failed (the message lists them)."""


# --------------------------------------------------------------------------- chapters


@dataclass(frozen=True)
class Chapter:
    """One released notebook and the page it becomes."""

    assignment: str
    notebook: Path
    page: str
    title: str
    summary: str

    @property
    def released_path(self) -> str:
        """The notebook's path inside ``notebooks/`` (and inside the site), e.g.
        ``02_regression/regression.ipynb``."""
        return f"{self.assignment}/{self.notebook.name}"


def heading_and_summary(nb: NotebookNode) -> tuple[str, str]:
    """The first ``# heading`` of a notebook and the paragraph right after it ("" if none).

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        ...     "# Chapter 2 · Regression\\n\\nHow far each prediction\\nlands.\\n\\nMore.")])
        >>> heading_and_summary(nb)
        ('Chapter 2 · Regression', 'How far each prediction lands.')
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("# "):
                paragraphs = "\n".join(lines[index + 1 :]).strip().split("\n\n")
                first = paragraphs[0] if paragraphs and not paragraphs[0].startswith("#") else ""
                return line[2:].strip(), " ".join(first.split())
    return "", ""


def find_chapters(notebooks_dir: Path, only: Sequence[str] | None = None) -> list[Chapter]:
    """Every ``<assignment>/<name>.ipynb`` under ``notebooks_dir``, in assignment order.

    ``only`` keeps those assignments (ids such as ``02_regression``). An assignment with
    several notebooks gets one page per notebook (``<assignment>_<name>.html``).
    """
    notebooks_dir = Path(notebooks_dir)
    assignments = (
        sorted(p for p in notebooks_dir.iterdir() if p.is_dir()) if notebooks_dir.is_dir() else []
    )
    known = [a.name for a in assignments if any(a.glob("*.ipynb"))]
    if not known:
        raise SiteBuildError(
            f"no released notebooks under {notebooks_dir}: run `make release` "
            "(or pass --notebooks with the folder of <assignment>/<name>.ipynb)"
        )
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise SiteBuildError(f"no such assignment {unknown} in {notebooks_dir}; there are {known}")
    chapters = []
    for assignment in assignments:
        if assignment.name not in known or (only and assignment.name not in only):
            continue
        notebooks = sorted(assignment.glob("*.ipynb"))
        for notebook in notebooks:
            title, summary = heading_and_summary(nbformat.read(notebook, as_version=4))
            page = assignment.name if len(notebooks) == 1 else f"{assignment.name}_{notebook.stem}"
            chapters.append(
                Chapter(assignment.name, notebook, f"{page}.html", title or page, summary)
            )
    return chapters


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class Link:
    kind: str
    label: str
    url: str
    hint: str


def github_repository(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a GitHub repository URL.

    Example:
        >>> github_repository("https://github.com/someone/lossbook.git")
        ('someone', 'lossbook')
    """
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url.strip())
    if match is None:
        raise SiteBuildError(
            f"repository URL {url!r} is not https://github.com/<owner>/<name>: Binder and "
            "Colab open notebooks from GitHub; set REPOSITORY_URL in lossbook/course/site.py "
            "or pass --repository"
        )
    return match[1], match[2]


def launch_links(
    released_path: str, repository: str = REPOSITORY_URL, branch: str = BRANCH
) -> list[Link]:
    """The "open in …" links of the page of ``released_path`` (inside ``notebooks/``).

    Example:
        >>> for link in launch_links("02_regression/regression.ipynb", "https://github.com/a/b"):
        ...     print(link.label, link.url)
        JupyterLab http://localhost:8888/lab/tree/02_regression/regression.ipynb
        Binder https://mybinder.org/v2/gh/a/b/main?labpath=notebooks%2F02_regression%2Fregression.ipynb
        Colab https://colab.research.google.com/github/a/b/blob/main/notebooks/02_regression/regression.ipynb
        download .ipynb notebooks/02_regression/regression.ipynb
    """
    owner, name = github_repository(repository)
    in_repository = f"notebooks/{released_path}"
    return [
        Link(
            "lab",
            "JupyterLab",
            f"{LOCAL_LAB_URL}/{quote(released_path)}",
            "in your own JupyterLab: clone the repository and run `make lab` first",
        ),
        Link(
            "binder",
            "Binder",
            f"https://mybinder.org/v2/gh/{owner}/{name}/{quote(branch)}"
            f"?labpath={quote(in_repository, safe='')}",
            "JupyterLab in the cloud, nothing to install (starts in a minute or two)",
        ),
        Link(
            "colab",
            "Colab",
            f"https://colab.research.google.com/github/{owner}/{name}/blob/"
            f"{quote(branch)}/{quote(in_repository)}",
            "Google Colab: its first cell installs lossbook",
        ),
        Link(
            "download",
            "download .ipynb",
            quote(in_repository),
            "the notebook as handed out, to open in any Jupyter",
        ),
    ]


# --------------------------------------------------------------------------- running a chapter


def kernel_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: ours without the variables that make widgets static."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items() if k not in STATIC_MODE_VARIABLES}


def execute_release(chapter: Chapter, workdir: Path, timeout_s: float = 600) -> NotebookNode:
    """Run ``chapter``'s released notebook in a copy of its folder, past errors, widget state saved."""
    from nbclient import NotebookClient

    folder = Path(workdir) / chapter.assignment
    if not folder.exists():
        # A copy: a chapter that writes files must not write them into notebooks/.
        shutil.copytree(
            chapter.notebook.parent,
            folder,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    nb = nbformat.read(folder / chapter.notebook.name, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        allow_errors=True,
        store_widget_state=True,
        kernel_name=kernel,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=kernel_environment())
    return nb


def cell_role(cell: NotebookNode) -> str:
    """``"exercise"`` (an nbgrader answer cell), ``"check"`` (a test cell) or ``"demo"``.

    Example:
        >>> cell_role(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"solution": True}}))
        'exercise'
        >>> cell_role(nbformat.v4.new_code_cell("check(x)", metadata={"nbgrader": {"grade": True}}))
        'check'
        >>> cell_role(nbformat.v4.new_code_cell("print(x)"))
        'demo'
    """
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution") or nbgrader.get("task"):
        return "exercise"
    if nbgrader.get("grade"):
        return "check"
    return "demo"


def _syntax_tree(source: str) -> ast.Module | None:
    """A cell's code as Python syntax (IPython's ``%magics`` and ``!shell`` translated first);
    None when it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def bound_names(source: str) -> set[str]:
    """The names a cell's code binds (assignments, definitions, imports, loop targets).

    Example:
        >>> sorted(bound_names("import torch.nn as nn\\nfrom math import pi\\n"
        ...                    "def f(x):\\n    y = x\\nfor i, j in []: pass\\n%pip install x"))
        ['f', 'i', 'j', 'nn', 'pi', 'y']
    """
    names = set()
    for node in ast.walk(_syntax_tree(source) or ast.Module(body=[], type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return names


def read_names(source: str) -> set[str]:
    """The names a cell's code reads.

    Example:
        >>> sorted(read_names("loss = mse(pred, target)\\nprint(loss)"))
        ['loss', 'mse', 'pred', 'print', 'target']
    """
    return {
        node.id
        for node in ast.walk(_syntax_tree(source) or ast.Module(body=[], type_ignores=[]))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def awaits_answer(error: NotebookNode, defined: set[str]) -> bool:
    """Whether an error, by itself, says that an exercise is not answered yet.

    True for the ``NotImplementedError`` of a released exercise, and for a ``NameError`` on a
    name outside ``defined`` (the names that cells which are not waiting for an exercise bind).

    Example:
        >>> error = nbformat.v4.new_output(
        ...     "error", ename="NameError", evalue="name 'per_sample' is not defined", traceback=[])
        >>> awaits_answer(error, {"logits"}), awaits_answer(error, {"per_sample"})
        (True, False)
    """
    if error.ename == "NotImplementedError":
        return True
    missing = re.fullmatch(r"name '(\w+)' is not defined", error.get("evalue", ""))
    return error.ename == "NameError" and missing is not None and missing[1] not in defined


def awaiting_note() -> NotebookNode:
    """The output that stands in for a demonstration's traceback while its exercise is open."""
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": f'<p class="lossbook-awaits-answer">{AWAITS_ANSWER}</p>',
            "text/plain": AWAITS_ANSWER,
        },
    )


@dataclass(frozen=True)
class CellError:
    """A cell of a chapter that failed in its own code."""

    cell: int
    ename: str
    evalue: str
    source: str

    def __str__(self) -> str:
        first_line = self.source.strip().splitlines()[0] if self.source.strip() else ""
        evalue = " ".join(self.evalue.split())[:200]
        return f"cell {self.cell} ({first_line[:60]!r}): {self.ename}: {evalue}"


def present_as_released(nb: NotebookNode) -> list[CellError]:
    """Show an executed release as a learner reads it (module docstring); the errors left.

    Changes ``nb`` in place: tags exercise and check cells, drops their error outputs, and
    replaces with a note the traceback of each demonstration that waits for an exercise. A
    demonstration waits when it reads a name that an exercise binds, or that an earlier waiting
    demonstration binds (``standardize`` is an exercise, so ``X = standardize(...)`` waits, and so
    does every later cell reading ``X``), or when each of its errors awaits an answer by itself
    (:func:`awaits_answer`). Anything else is the chapter's own failure, returned.
    """

    def failed(cell: NotebookNode) -> bool:
        tags = cell.metadata.get("tags", [])
        return "raises-exception" not in tags and any(
            o.output_type == "error" for o in cell.get("outputs", [])
        )

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    ran_cleanly = set().union(
        *(bound_names(c.source) for c in code if cell_role(c) != "exercise" and not failed(c))
    )
    waiting = set().union(*(bound_names(c.source) for c in code if cell_role(c) == "exercise"))
    failed_on_its_own = set()
    errors = []
    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if role != "demo":
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), f"lossbook-{role}"]
        if cell.cell_type != "code" or not failed(cell):
            continue
        failures = [o for o in cell.outputs if o.output_type == "error"]
        kept = [o for o in cell.outputs if o.output_type != "error"]
        if role != "demo":
            cell.outputs = kept
        elif read_names(cell.source) & waiting or all(
            awaits_answer(error, ran_cleanly | failed_on_its_own) for error in failures
        ):
            # Only the note: what it printed or drew before it stopped is half a result.
            cell.outputs = [awaiting_note()]
            waiting |= bound_names(cell.source)
        else:
            errors += [CellError(index, e.ename, e.evalue, cell.source) for e in failures]
            failed_on_its_own |= bound_names(cell.source)
    return errors


# --------------------------------------------------------------------------- the runtime


def pinned_versions(assets: Path = ASSETS) -> dict[str, str]:
    """The npm packages of ``site_assets/package.json`` and their exact versions."""
    return json.loads((assets / "package.json").read_text())["dependencies"]


def installed_versions(node_modules: Path) -> dict[str, str | None]:
    """The version of each pinned package found in ``node_modules`` (None: missing)."""
    found = {}
    for package in pinned_versions():
        manifest = node_modules / package / "package.json"
        found[package] = json.loads(manifest.read_text())["version"] if manifest.exists() else None
    return found


def install_runtime(assets: Path = ASSETS, log: Callable[[str], None] = print) -> Path:
    """``site_assets/node_modules`` at the pinned versions, running ``npm ci`` when needed.

    Two builds at once (two test workers, two terminals) would run ``npm ci`` into the same
    folder, and each deletes what the other writes: an exclusive lock makes the second one
    wait, then find the runtime installed.
    """
    import fcntl

    with open(assets / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _install_runtime(assets, log)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install_runtime(assets: Path, log: Callable[[str], None]) -> Path:
    node_modules = assets / "node_modules"
    if installed_versions(node_modules) == pinned_versions(assets):
        return node_modules
    npm = shutil.which("npm")
    if npm is None:
        raise SiteBuildError(
            "the site serves the widget runtime from npm packages, and `npm` is not on PATH: "
            "install Node.js and npm (Debian: apt-get install npm), then build again"
        )
    log(f"npm ci in {assets} (pinned: {pinned_versions(assets)})")
    result = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=assets,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or installed_versions(node_modules) != pinned_versions(assets):
        raise SiteBuildError(
            f"`npm ci` in {assets} did not install {pinned_versions(assets)} "
            f"(exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return node_modules


MATHJAX_PARTS = ("tex-chtml-full.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors")
"""What of MathJax's ``es5/`` a page may load: the TeX-to-HTML bundle and its lazy parts."""

HTML_MANAGER_FILES = ("embed-amd.js", "*.woff", "*.woff2", "*.ttf", "*.eot", "*.svg")
"""The widget manager's AMD bundle and the icon fonts its CSS refers to."""


def copy_runtime(static: Path, node_modules: Path) -> None:
    """Copy into ``static`` everything the pages load (module docstring)."""
    static.mkdir(parents=True, exist_ok=True)
    shutil.copy2(node_modules / "requirejs" / "require.js", static / "require.js")
    manager = static / "html-manager"
    manager.mkdir(exist_ok=True)
    dist = node_modules / "@jupyter-widgets" / "html-manager" / "dist"
    for pattern in HTML_MANAGER_FILES:
        for path in dist.glob(pattern):
            shutil.copy2(path, manager / path.name)
    anywidget = static / "anywidget"
    anywidget.mkdir(exist_ok=True)
    module = resources.files("anywidget") / "nbextension" / "index.js"
    (anywidget / "index.js").write_bytes(module.read_bytes())
    (static / "widget-modules").mkdir(exist_ok=True)
    mathjax = node_modules / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        source, target = mathjax / part, static / "mathjax" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    shutil.copy2(ASSETS / "site.css", static / "site.css")


REQUIRE_PATHS = {"anywidget": f"{STATIC}/anywidget/index"}
"""Where RequireJS finds each widget module the manager does not bundle (relative to a page)."""


# --------------------------------------------------------------------------- pages


def render_chapter(
    nb: NotebookNode,
    chapter: Chapter,
    links: Sequence[Link],
    previous: Chapter | None = None,
    following: Chapter | None = None,
) -> str:
    """The HTML page of an executed, presented chapter (``templates/lossbook_page.html.j2``)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file="lossbook_page.html.j2",
    )
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "metadata": {"name": chapter.title},
            "lossbook": {
                "static": STATIC,
                "require_paths": REQUIRE_PATHS,
                "chapter": chapter,
                "links": links,
                "previous": previous,
                "next": following,
            },
        },
    )
    return body


def render_index(chapters: Sequence[Chapter]) -> str:
    """The front page (``templates/lossbook_index.html.j2``)."""
    import jinja2
    from markupsafe import Markup
    from nbconvert.filters import markdown2html_mistune

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True
    )
    entries = [
        # The summary is the chapter's own Markdown (code spans, emphasis), rendered as nbconvert does.
        {"page": c.page, "title": c.title, "summary": Markup(markdown2html_mistune(c.summary))}
        for c in chapters
    ]
    return environment.get_template("lossbook_index.html.j2").render(
        title="lossbook: the loss functions of deep learning, in PyTorch",
        tagline="An interactive course: predict what a slider does, compute each loss by hand, "
        "implement it, and debug the training runs a wrong loss breaks.",
        chapters=entries,
        static=STATIC,
    )


def prepare_output(out: Path) -> None:
    """Empty ``out`` for a new build: only if it is missing, empty, or built by this module."""
    if out.exists():
        if not out.is_dir():
            raise SiteBuildError(f"{out} is a file, not a folder for the site")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise SiteBuildError(
                f"{out} is not empty and was not built by lossbook.course.site: "
                "choose another --out, or empty it yourself"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by python -m lossbook.course.site; emptied by each build\n")


def build_site(
    out: Path,
    notebooks_dir: Path,
    only: Sequence[str] | None = None,
    repository: str = REPOSITORY_URL,
    branch: str = BRANCH,
    timeout_s: float = 600,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Build the site in ``out`` from the releases in ``notebooks_dir``; the pages written.

    Raises :class:`SiteBuildError` after writing every page when a chapter's own cells failed.
    """
    out, notebooks_dir = Path(out), Path(notebooks_dir)
    chapters = find_chapters(notebooks_dir, only)
    github_repository(repository)  # a wrong setting fails before minutes of running
    node_modules = install_runtime(log=log)
    prepare_output(out)
    copy_runtime(out / STATIC, node_modules)
    pages, problems = [], []
    with tempfile.TemporaryDirectory(prefix="lossbook-site-") as workdir:
        for index, chapter in enumerate(chapters):
            start = time.perf_counter()
            nb = execute_release(chapter, Path(workdir), timeout_s)
            errors = present_as_released(nb)
            problems += [f"{chapter.released_path}: {error}" for error in errors]
            page = render_chapter(
                nb,
                chapter,
                launch_links(chapter.released_path, repository, branch),
                chapters[index - 1] if index > 0 else None,
                chapters[index + 1] if index + 1 < len(chapters) else None,
            )
            (out / chapter.page).write_text(page, encoding="utf-8")
            download = out / "notebooks" / chapter.released_path
            download.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(chapter.notebook, download)
            pages.append(out / chapter.page)
            log(f"{chapter.page}: {time.perf_counter() - start:.1f} s, {len(errors)} errors")
    (out / "index.html").write_text(render_index(chapters), encoding="utf-8")
    if problems:
        raise SiteBuildError(
            "these cells failed in the chapters' own code (the pages show their tracebacks):\n  "
            + "\n  ".join(problems)
        )
    return pages


# --------------------------------------------------------------------------- command line


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lossbook.course.site",
        description="Build the course website: each released chapter run once, sliders live, "
        "everything served from the site itself.",
    )
    parser.add_argument("--out", type=Path, default=Path("site"), help="output folder (site)")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=Path("notebooks"),
        help="the released notebooks (notebooks)",
    )
    parser.add_argument(
        "--chapter",
        action="append",
        dest="chapters",
        metavar="ASSIGNMENT",
        help="build only this assignment (repeat for more); default: all",
    )
    parser.add_argument(
        "--repository", default=REPOSITORY_URL, help=f"GitHub URL ({REPOSITORY_URL})"
    )
    parser.add_argument("--branch", default=BRANCH, help=f"branch for Binder and Colab ({BRANCH})")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (600)")
    arguments = parser.parse_args(None if argv is None else list(argv))
    start = time.perf_counter()
    try:
        pages = build_site(
            arguments.out,
            arguments.notebooks,
            arguments.chapters,
            arguments.repository,
            arguments.branch,
            arguments.timeout,
        )
    except SiteBuildError as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    print(f"site: {len(pages)} chapters in {arguments.out}/ ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
