"""Drive the course in a real browser: JupyterLab on localhost, Chromium through Playwright.

Shared by ``tests/test_browser.py`` (does every slider redraw its plot, does every
chapter run) and ``bench/bench_browser.py`` (how fast, seen from the page).

- :func:`jupyter_lab` starts a server on 127.0.0.1 (free port, random token, a
  temporary root, settings and runtime directory) whose kernels are *live*:
  ``LOSSBOOK_STATIC`` and ``NBGRADER_EXECUTION``, which ``make test`` and the
  test suite set, are removed from its environment. On exit it ends the server
  and every process it started (kernels run in sessions of their own, so a
  process-group kill alone would leave them behind).
- :func:`chromium` launches Debian's ``/usr/bin/chromium`` (Playwright's own
  browser download does not work offline) with a fresh profile.
- :class:`NotebookPage` opens a notebook in a page and JupyterLab workspace
  of its own, runs all cells from the Run menu, waits until the kernel is
  idle, and opens the next notebook in the same JupyterLab.
- :class:`WidgetHandle` reaches a lossbook widget through the DOM hooks of
  :mod:`lossbook.course.widgets`: ``lossbook-widget``, ``lossbook-slider-<name>``
  (a range input and a ``lossbook-readout``), the ``lossbook-plot`` canvas,
  ``lossbook-values``; it presses keys on a slider and drags its thumb.
- :data:`KERNEL_VALUES_SPY` makes the kernel write every widget's ``values``
  after each step the browser sends, so a test can check that they follow.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
README_SCREENSHOT = REPO / "tests" / "screenshots" / "cross_entropy_pipeline.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A headless page is never in front: keep its timers and frames at full rate anyway.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)
VIEWPORT = {"width": 1400, "height": 1000}

# Left out of the server's environment: the first two make lossbook.course.widgets draw
# static PNGs (the browser needs live sliders); MPLBACKEND=Agg (make test) would
# keep the chapters' matplotlib figures from showing inline.
STATIC_MODE_VARIABLES = ("LOSSBOOK_STATIC", "NBGRADER_EXECUTION", "MPLBACKEND")

# JupyterLab settings for a quiet, deterministic session: the kernel starts
# without asking, no news or update checks (there is no network), no autosave
# racing the test. Windowing stays JupyterLab's default, as learners have it.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


# --------------------------------------------------------------------------- Chromium


def ensure_chromium() -> Path:
    """Path of Debian's Chromium, installing the ``chromium`` package when it is missing.

    The same step as ``make test``'s ``system-deps`` target, for a test run on
    its own. Raises ``RuntimeError`` saying what to install when that fails.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(
            [*sudo, *command], env=environment, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            break
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing and `apt-get install chromium` did not provide it; "
            "install Debian's chromium package (make test does it through `make system-deps`)."
        )
    return CHROMIUM


@contextlib.contextmanager
def chromium(profile: Path, *, viewport: dict | None = None) -> Iterator:
    """A Playwright browser context on ``/usr/bin/chromium`` with a fresh profile in ``profile``."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=viewport or VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------- JupyterLab


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def live_environment(state: Path) -> dict[str, str]:
    """The server's environment: ours without static mode, Jupyter's state under ``state``."""
    environment = {k: v for k, v in os.environ.items() if k not in STATIC_MODE_VARIABLES}
    venv_bin = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([venv_bin, environment.get("PATH", "")])
    # This checkout's lossbook, even while `pip install -e .` is rewriting the venv.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH", "")])
    )
    for variable, folder in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("IPYTHONDIR", "ipython"),
    ):
        (state / folder).mkdir(parents=True, exist_ok=True)
        environment[variable] = str(state / folder)
    return environment


@dataclass
class Lab:
    """A running JupyterLab server."""

    base_url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def notebook_url(self, notebook: str, workspace: str) -> str:
        """URL opening ``notebook`` (relative to the root) alone, in a new workspace."""
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:]


class LabExited(RuntimeError):
    """JupyterLab stopped before it served (e.g. its port was taken meanwhile)."""


@contextlib.contextmanager
def jupyter_lab(
    root: Path, state: Path, *, timeout_s: float = 120.0, attempts: int = 3
) -> Iterator[Lab]:
    """Run JupyterLab over ``root`` with live widgets; on exit end it and all it started."""
    settings = state / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for attempt in range(1, attempts + 1):
        lab = _start_lab(root, state, settings)
        try:
            _wait_until_serving(lab, timeout_s)
            break
        except LabExited:
            stop_process_tree(lab.process)
            # A free port can be taken between the probe and the server's bind.
            if attempt == attempts:
                raise
        except BaseException:
            stop_process_tree(lab.process)
            raise
    try:
        yield lab
    finally:
        stop_process_tree(lab.process)


def _start_lab(root: Path, state: Path, settings: Path) -> Lab:
    port, token = free_port(), secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        # Should this process die without cleaning up, the server still goes away.
        "--ServerApp.shutdown_no_activity_timeout=900",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        # window.jupyterapp: NotebookPage.open_next opens the next chapter in the same page.
        "--LabApp.expose_app_in_browser=True",
    ]
    log = state / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=live_environment(state),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Lab(f"http://127.0.0.1:{port}", token, root, process, log)


def _wait_until_serving(lab: Lab, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise LabExited(
                f"JupyterLab exited with code {lab.process.returncode}:\n{lab.log_tail()}"
            )
        with contextlib.suppress(OSError):
            lab.api("status")
            return
        time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer within {timeout_s:.0f} s:\n{lab.log_tail()}")


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command name (field 2) may hold spaces: the parent pid follows its ')'.
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    children = _children_by_parent()
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def _signal(pid: int, signum: int, *, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def stop_process_tree(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop ``process`` (a session leader) and everything it started, politely then surely.

    SIGTERM lets Jupyter shut its kernels down; whatever is still there after
    ``grace_s`` (kernels included: each runs in its own session) gets SIGKILL.
    """
    family = descendants(process.pid)
    _signal(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    leftovers = [pid for pid in family if Path(f"/proc/{pid}").exists()]
    for pid in leftovers:
        leftovers.extend(p for p in descendants(pid) if p not in leftovers)
    _signal(process.pid, signal.SIGKILL, group=True)
    for pid in leftovers:
        _signal(pid, signal.SIGKILL, group=True)
        _signal(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    deadline = time.monotonic() + 5
    while any(is_running(pid) for pid in leftovers) and time.monotonic() < deadline:
        time.sleep(0.05)


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (a dead process its parent has not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --------------------------------------------------------------------------- notebooks


WIDGET_ARGUMENTS: dict[str, dict[str, float]] = {
    # With alpha given, the focal explorer grows its second slider.
    "focal_gamma_explorer": {"gamma": 2.0, "alpha": 0.25},
}
"""Arguments the widgets notebook passes, by widget name (default: none)."""


def widget_call(name: str) -> str:
    """The source line that displays widget ``name`` in the widgets notebook."""
    arguments = ", ".join(f"{k}={v!r}" for k, v in WIDGET_ARGUMENTS.get(name, {}).items())
    return f"widgets.{name}({arguments})"


def write_widgets_notebook(
    path: Path, names: Sequence[str], setup: str = "", extra_cells: Sequence[str] = ()
) -> None:
    """Write a notebook that displays the widgets ``names``, one per cell, in that order.

    ``setup`` is extra source for the first cell and ``extra_cells`` more cells
    at the end (a benchmark's instrumentation and baseline).
    """
    import nbformat

    first = "from lossbook.course import widgets" + (f"\n\n{setup}" if setup else "")
    cells = [nbformat.v4.new_code_cell(first)]
    cells += [nbformat.v4.new_code_cell(widget_call(name)) for name in names]
    cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
    )
    nbformat.write(notebook, path)


def copy_course_notebooks(root: Path) -> list[str]:
    """Copy ``solutions/<assignment>/`` folders into ``root``; returns the notebooks' paths."""
    notebooks = []
    for assignment in sorted((REPO / "solutions").iterdir()):
        if not assignment.is_dir():
            continue
        shutil.copytree(
            assignment,
            root / assignment.name,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        notebooks += [
            p.relative_to(root).as_posix() for p in sorted((root / assignment.name).glob("*.ipynb"))
        ]
    return notebooks


# Polled in the page: where the notebook's execution stands.
_EXECUTION_STATE_JS = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .map((prompt) => prompt.textContent.trim());
    const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return {
        status: indicator ? indicator.dataset.status : null,
        cells: prompts.length,
        numbered: prompts.filter((p) => /\\[\\d+\\]/.test(p)).length,
        running: prompts.filter((p) => p.includes('*')).length,
        errors: document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').length,
    };
}"""


# Through window.jupyterapp (the server runs with expose_app_in_browser).
_CLOSE_ALL_JS = """() => {
    // dispose(): closed without the "save your changes?" dialog.
    for (const widget of [...window.jupyterapp.shell.widgets('main')]) {
        widget.dispose();
    }
}"""
_OPEN_JS = """async (path) => {
    await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
}"""


@dataclass
class ExecutionState:
    status: str | None
    cells: int
    numbered: int
    running: int
    errors: int


class NotebookPage:
    """A JupyterLab page (its own workspace) showing one notebook at a time.

    :meth:`open_next` replaces the notebook inside the same JupyterLab, as a
    learner opens the next chapter from the file browser: no page reload.
    """

    def __init__(self, context, lab: Lab, notebook: str, workspace: str) -> None:
        self.lab = lab
        self.notebook = notebook
        self.page = context.new_page()
        # Uncaught exceptions and console errors of the page (widget views, extensions).
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.console_errors.append(message.text),
        )
        self.page.goto(lab.notebook_url(notebook, workspace), wait_until="commit")
        self.run_state: ExecutionState | None = None

    def open_next(self, notebook: str) -> None:
        """Close the current notebook, shut its kernel down, and open ``notebook``."""
        self.page.evaluate(_CLOSE_ALL_JS)
        self.shutdown_kernel()
        self.notebook, self.run_state = notebook, None
        self.page_errors.clear()
        self.console_errors.clear()
        self.page.evaluate(_OPEN_JS, notebook)

    def state(self) -> ExecutionState:
        return ExecutionState(**self.page.evaluate(_EXECUTION_STATE_JS))

    def kernel_status(self) -> str | None:
        """The server's view of this notebook's kernel (None: no kernel yet)."""
        for session in self.lab.api("sessions"):
            if session["path"] == self.notebook and session.get("kernel"):
                return session["kernel"]["execution_state"]
        return None

    def wait_for_kernel_idle(self, timeout_s: float) -> None:
        """Wait until the kernel has started and both the server and the page call it idle."""
        self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
            timeout=timeout_s * 1000
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.kernel_status() == "idle" and self.state().status == "idle":
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.notebook}: no idle kernel after {timeout_s:.0f} s")

    def menu(self, menu: str, command: str) -> None:
        """Click ``menu`` in the menu bar, then its item running JupyterLab command ``command``."""
        self.page.locator(".lm-MenuBar-item", has_text=menu).first.click()
        self.page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()

    def start_run_all(self, timeout_s: float = 120.0) -> None:
        """Once the kernel is idle: Run → Run All Cells (returns at once)."""
        self.wait_for_kernel_idle(timeout_s)
        self.menu("Run", "runmenu:run-all")

    def wait_until_run(self, timeout_s: float = 180.0) -> ExecutionState:
        """Wait until no cell runs or waits and the kernel is idle; the final state."""
        deadline = time.monotonic() + timeout_s
        settled = 0
        state = self.state()
        while time.monotonic() < deadline:
            state = self.state()
            done = state.status == "idle" and state.running == 0 and state.numbered > 0
            # Three polls in a row: not the idle before the first cell starts.
            settled = settled + 1 if done else 0
            if settled >= 3:
                self.run_state = state
                return state
            time.sleep(0.3)
        raise TimeoutError(f"{self.notebook} still running after {timeout_s:.0f} s: {state}")

    def shutdown_kernel(self) -> None:
        """Shut down this notebook's kernel (it holds torch: free the memory)."""
        for session in self.lab.api("sessions"):
            if session["path"] == self.notebook:
                with contextlib.suppress(urllib.error.HTTPError):
                    self.lab.api(f"sessions/{session['id']}", method="DELETE")

    def error_texts(self) -> list[str]:
        outputs = self.page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
        )
        return [outputs.nth(i).inner_text() for i in range(outputs.count())]

    def widget_display_errors(self) -> list[str]:
        """Texts of outputs where the widget manager failed ("Error displaying widget")."""
        outputs = self.page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
        return [outputs.nth(i).inner_text() for i in range(outputs.count())]

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)

    def close(self) -> None:
        """Close the page and shut down its kernel."""
        with contextlib.suppress(Exception):
            self.page.close()
        self.shutdown_kernel()


# --------------------------------------------------------------------------- widgets


_SETTLED_JS = """([root, shows, quietMs]) => {
    // One "name = value" per entry: split before every "name = ".
    const numbers = root.querySelector('.lossbook-values').textContent;
    const readouts = [...root.querySelectorAll('.lossbook-readout')].map((r) => r.textContent);
    const key = [numbers, ...readouts].join('|');
    const now = performance.now();
    if (!root.lossbookSettle || root.lossbookSettle.key !== key) {
        root.lossbookSettle = {key, since: now};
        return false;
    }
    const entries = numbers.split(/\\s+(?=\\S+ = )/).map((entry) => entry.trim());
    if (shows !== null && !entries.includes(shows)) {
        return false;
    }
    return now - root.lossbookSettle.since >= quietMs;
}"""


class WidgetHandle:
    """The ``index``-th lossbook widget on a page, reached through its DOM hooks."""

    def __init__(self, page, index: int) -> None:
        self.page = page
        self.root = page.locator(".lossbook-widget").nth(index)
        self.plot = self.root.locator("canvas.lossbook-plot")
        self.values = self.root.locator(".lossbook-values")

    def slider_names(self) -> list[str]:
        classes = self.root.locator(".lossbook-slider").evaluate_all(
            "(nodes) => nodes.map((node) => [...node.classList]"
            ".find((c) => c.startsWith('lossbook-slider-')))"
        )
        return [name.removeprefix("lossbook-slider-") for name in classes]

    def handle(self, slider: str):
        """The slider's range input (it takes the keyboard focus and the mouse)."""
        return self.root.locator(f".lossbook-slider-{slider} input[type=range]")

    def readout(self, slider: str) -> str:
        return (
            self.root.locator(f".lossbook-slider-{slider} .lossbook-readout").inner_text().strip()
        )

    def shown_values(self) -> dict[str, str]:
        """The numbers under the plot, name → text as printed."""
        return parse_values(self.values.inner_text())

    def plot_pixels(self, path: Path | None = None) -> bytes:
        """Screenshot of the canvas alone (never the slider: its thumb moves too)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return self.plot.screenshot(path=None if path is None else str(path))

    def wait_until_settled(
        self, shows: str | None = None, quiet_ms: float = 200, timeout_s: float = 30
    ) -> bool:
        """Wait until the numbers show ``shows`` (e.g. ``"w = -1.47"``) and nothing has
        changed for ``quiet_ms`` (polled in the page).

        Returns False after ``timeout_s`` instead of raising: the caller's
        assertions then say what the widget shows.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.root.evaluate("(root) => { delete root.lossbookSettle; }")
        try:
            self.page.wait_for_function(
                _SETTLED_JS,
                arg=[self.root.element_handle(), shows, quiet_ms],
                polling=40,
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return False
        return True

    def press(self, slider: str, key: str, times: int, interval_s: float = 0.05) -> None:
        """Focus the slider and press ``key`` ``times`` times."""
        handle = self.handle(slider)
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(times):
            handle.press(key)
            time.sleep(interval_s)

    def thumb_position(
        self, slider: str, value: float, low: float, high: float
    ) -> tuple[float, float]:
        """Page coordinates of the slider's thumb at ``value`` (range ``[low, high]``).

        A range input's thumb travels the input's width less its own width
        (Chromium's default thumb is 16 px wide).
        """
        box = self.handle(slider).bounding_box()
        thumb = 16.0
        travel = box["width"] - thumb
        x = box["x"] + thumb / 2 + travel * (value - low) / (high - low)
        return x, box["y"] + box["height"] / 2

    def pixels_per_step(self, slider: str, step: float, low: float, high: float) -> float:
        return (self.handle(slider).bounding_box()["width"] - 16.0) * step / (high - low)

    def drag(
        self,
        slider: str,
        start: float,
        low: float,
        high: float,
        dx_per_move: float,
        moves: int,
        interval_s: float = 0.033,
    ) -> None:
        """Press the mouse on the thumb (at ``start``), move it ``moves`` times by ``dx_per_move``
        pixels every ``interval_s``, release."""
        self.handle(slider).scroll_into_view_if_needed()
        x, y = self.thumb_position(slider, start, low, high)
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        due = time.perf_counter()
        for move in range(1, moves + 1):
            self.page.mouse.move(x + move * dx_per_move, y)
            due += interval_s
            time.sleep(max(0.0, due - time.perf_counter()))
        self.page.mouse.up()


def parse_values(text: str) -> dict[str, str]:
    """``"a = 1  b = [0.5, 0.5]"`` → ``{"a": "1", "b": "[0.5, 0.5]"}`` (the widget's numbers)."""
    import re

    entries = re.split(r"\s+(?=\S+ = )", text.strip())
    return dict(entry.split(" = ", 1) for entry in entries if " = " in entry)


# Added to the widgets notebook's first cell: after every slider step the browser
# sends, the kernel writes every widget's values (by kind) to KERNEL_VALUES_FILE.
KERNEL_VALUES_FILE = "kernel_values.json"
KERNEL_VALUES_SPY = f"""\
import json as _json
import os as _os

_kernel_values = {{}}
_on_browser_state = widgets.LossWidget._on_browser_state


def _record_values(self, change):
    _on_browser_state(self, change)
    _kernel_values[self.kind] = {{
        name: widgets._format_number(value) for name, value in self.values.items()
    }}
    with open("{KERNEL_VALUES_FILE}.tmp", "w") as _file:
        _json.dump(_kernel_values, _file)
    _os.replace("{KERNEL_VALUES_FILE}.tmp", "{KERNEL_VALUES_FILE}")


widgets.LossWidget._on_browser_state = _record_values
"""


def kernel_values(root: Path, kind: str) -> dict[str, str]:
    """The values the kernel last recorded for widget ``kind``, formatted as the page prints them."""
    with contextlib.suppress(OSError, ValueError):
        return json.loads((root / KERNEL_VALUES_FILE).read_text()).get(kind, {})
    return {}


def pixels_differ(png_a: bytes, png_b: bytes) -> int:
    """How many pixels differ between two PNG screenshots of the same size."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png_a)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(png_b)).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return max(a.shape[0] * a.shape[1], b.shape[0] * b.shape[1])
    return int(np.any(a != b, axis=2).sum())


def readout_value(text: str) -> float:
    """A slider's readout as a number (U+2212 MINUS SIGN accepted too)."""
    return float(text.replace("\u2212", "-"))


def format_number(value: float) -> str:
    """A number as ``lossbook-values`` prints it (4 significant digits)."""
    return f"{value:.4g}"


def step_value(start: float, step: float, steps: int, low: float, high: float) -> float:
    """Where ``steps`` key presses (signed) take a slider: on its grid, inside its range."""
    return min(high, max(low, round((start + steps * step - low) / step) * step + low))
