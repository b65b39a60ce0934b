"""A lossbook classroom on one machine: JupyterHub, one Linux user per person, nbgrader's exchange.

Run as root from the repository (``make classroom`` does)::

    python deploy/classroom.py up --students 5     # prints the logins
    python deploy/classroom.py stop                # stops the hub and servers; users and work stay
    python deploy/classroom.py down                # stops, deletes the users, homes and state

What ``up`` sets up, all under ``--root`` (default ``/srv/lossbook-classroom``) and idempotently:

- **users**: ``<prefix>instructor`` and ``<prefix>student01..NN``, real Linux users with private
  homes (mode 700) and random passwords (PAM login), listed in ``<root>/logins.txt`` (root only);
- **the course environment**, shared read-only: ``<root>/env``, a virtual environment of a Python
  every user may run, that uses the course venv's packages (``.venv``) and its own copy of the
  ``lossbook`` package. The checkout itself is made private (``solutions/``, ``gradebook.db``...
  become unreadable to others; only ``.venv`` stays traversable), see :func:`make_checkout_private`;
- **the course**: ``~<instructor>/lossbook``, a copy of ``nbgrader_config.py``, ``solutions/`` and
  ``notebooks/`` owned by the instructor;
- **the exchange**: ``<root>/exchange`` (mode 1777: anyone may create a course there, nobody may
  rename another's); collect is :class:`lossbook.grader.exchange.OwnerCheckedCollect`;
- **roles**: students' servers load the Assignments tab only (no Formgrader, no Create
  Assignment, no Courses); the instructor's loads everything and opens in the course folder;
- **the hub**: JupyterHub with ``LocalProcessSpawner`` on 127.0.0.1 (``deploy/jupyterhub_config.py``),
  configurable-http-proxy from npm, an admin service token in ``<root>/hub/admin-token``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
VENV = REPO / ".venv"
JUPYTERHUB_VERSION = "6.1.1"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
DEFAULT_ROOT = Path("/srv/lossbook-classroom")
SETTINGS = "classroom.json"
# What stays visible to other users in the checkout: the environment their Python imports from.
SHARED_IN_CHECKOUT = {".venv"}


@dataclass
class Classroom:
    """Where a classroom lives and who is in it; saved as ``<root>/classroom.json``."""

    root: Path = DEFAULT_ROOT
    prefix: str = "lb-"
    students: int = 3
    port: int = 8000
    course_id: str = "lossbook"

    @property
    def instructor(self) -> str:
        return f"{self.prefix}instructor"

    @property
    def student_names(self) -> list[str]:
        return [f"{self.prefix}student{number:02d}" for number in range(1, self.students + 1)]

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.student_names]

    @property
    def env(self) -> Path:
        return self.root / "env"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def hub_dir(self) -> Path:
        return self.root / "hub"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def course_dir(self) -> Path:
        return home(self.instructor) / self.course_id

    def admin_token(self) -> str:
        return (self.hub_dir / "admin-token").read_text().strip()

    def save(self) -> None:
        settings = {**asdict(self), "root": str(self.root)}
        (self.root / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def load(cls, root: Path) -> Classroom:
        settings = json.loads((Path(root) / SETTINGS).read_text())
        return cls(**{**settings, "root": Path(settings["root"])})


def home(user: str) -> Path:
    return Path(pwd.getpwnam(user).pw_dir)


def role_of(classroom: Classroom, user: str) -> str:
    """``"instructor"`` or ``"student"``: which Jupyter configuration ``user``'s server gets."""
    return "instructor" if user == classroom.instructor else "student"


def user_environment(classroom: Classroom, user: str) -> dict[str, str]:
    """The environment of ``user``'s server, terminals and nbgrader commands (one definition).

    ``JUPYTER_CONFIG_PATH`` lists the role's configuration first (highest priority), then the
    classroom's shared nbgrader settings, then the course venv's own (the extensions it enables).
    """
    config = classroom.root / "jupyter"
    return {
        "PATH": f"{classroom.env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": os.pathsep.join(
            [
                str(config / role_of(classroom, user)),
                str(config / "common"),
                str(VENV / "etc" / "jupyter"),
            ]
        ),
        "JUPYTER_PATH": str(VENV / "share" / "jupyter"),
        "LOSSBOOK_CLASSROOM": str(classroom.root),
        "MPLBACKEND": "Agg",
    }


# ---------------------------------------------------------------------------------------------
# Requirements: JupyterHub in the venv, configurable-http-proxy from npm


def proxy_command() -> str:
    """configurable-http-proxy's path, installed from npm when missing."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    ensure_command("npm", "npm")
    run(["npm", "install", "--global", "--no-fund", "--no-audit", PROXY_PACKAGE])
    prefix = subprocess.run(["npm", "prefix", "--global"], capture_output=True, text=True).stdout
    return shutil.which("configurable-http-proxy") or str(
        Path(prefix.strip()) / "bin" / "configurable-http-proxy"
    )


def ensure_jupyterhub() -> None:
    """JupyterHub in the course venv (the hub and every single-user server import it)."""
    probe = [str(VENV / "bin" / "python"), "-c", "import jupyterhub, pamela, yaml"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        run(
            [
                str(VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"jupyterhub=={JUPYTERHUB_VERSION}",
                "pamela",
                "PyYAML",
            ]
        )


# ---------------------------------------------------------------------------------------------
# The shared, read-only course environment


def usable_by_everyone(path: Path) -> bool:
    """Can any user run ``path``: executable by others, every folder above it traversable?

    >>> usable_by_everyone(Path("/bin/sh"))
    True
    """
    real = Path(os.path.realpath(path))
    if not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in real.parents)


def base_python(classroom: Classroom) -> Path:
    """The venv's Python interpreter, or a copy of it that every user may run.

    The venv's interpreter may live where students cannot reach it (pyenv under ``/root``, mode
    700, on the CI machines). Then its installation, without its own site-packages and test
    suite (~90 MB), is copied to ``<root>/python``, and the copy's binary is told to load
    ``libpython`` from beside itself (``patchelf``). Another Python of the same minor version is
    not a safe substitute: compiled packages would load, but pure-Python ones can depend on
    fixes between patch releases (soupsieve 4.1 fails on Python 3.11.2's ``re``).
    """
    venv_python = VENV / "bin" / "python"
    if usable_by_everyone(venv_python):
        return Path(os.path.realpath(venv_python))
    probe = "import sys, sysconfig; print(sys.base_prefix); print(sysconfig.get_python_version())"
    prefix, version = run([str(venv_python), "-c", probe]).stdout.split()
    source, target = Path(prefix), classroom.root / "python"
    if target.exists():
        shutil.rmtree(target)
    skip = shutil.ignore_patterns("site-packages", "test", "config-*", "__pycache__", "idlelib")
    for part in ("bin", "lib"):
        shutil.copytree(source / part, target / part, symlinks=True, ignore=skip)
    binary = target / "bin" / f"python{version}"
    if list((target / "lib").glob("libpython*.so*")):
        ensure_command("patchelf", "patchelf")
        run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(binary)])
    return binary


def ensure_command(command: str, package: str) -> None:
    """Install Debian's ``package`` when ``command`` is missing."""
    if shutil.which(command) is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", package], env=env)


def venv_site_packages() -> Path:
    return next((VENV / "lib").glob("python3.*/site-packages"))


def build_course_env(classroom: Classroom) -> None:
    """``<root>/env``: the course venv's packages, this checkout's ``lossbook``, owned by root.

    A ``.pth`` line adds the venv's site-packages (its own ``.pth`` hooks, such as the editable
    install pointing into the private checkout, are not run); ``lossbook`` is copied in, so
    students import it without reading the checkout. The venv's scripts get copies whose first
    line names this environment's Python.
    """
    env = classroom.env
    if env.exists():
        shutil.rmtree(env)
    run([str(base_python(classroom)), "-m", "venv", "--without-pip", str(env)])
    site = next((env / "lib").glob("python3.*/site-packages"))
    (site / "lossbook-course.pth").write_text(f"{venv_site_packages()}\n")
    shutil.copytree(
        REPO / "lossbook",
        site / "lossbook",
        # What git ignores there (npm packages of the course website) is not the package.
        ignore=shutil.ignore_patterns("__pycache__", "node_modules"),
    )
    shebang = f"#!{VENV / 'bin' / 'python'}"
    for script in sorted((VENV / "bin").iterdir()):
        target = env / "bin" / script.name
        if not script.is_file() or target.exists():
            continue
        with open(script, "rb") as handle:
            first = handle.readline().decode(errors="replace").rstrip("\n")
        if first.startswith(shebang):
            body = script.read_text()
            target.write_text(f"#!{env / 'bin' / 'python'}" + body[len(first) :])
            target.chmod(0o755)
    for folder, _, files in [*os.walk(env), *os.walk(classroom.root / "python")]:
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)


def make_checkout_private(classroom: Classroom) -> None:
    """Others may pass through the checkout to ``.venv`` but read nothing else in it.

    The modes before the change are kept in ``<root>/checkout-modes.json``; ``down`` restores them.
    """
    saved = classroom.root / "checkout-modes.json"
    modes = json.loads(saved.read_text()) if saved.exists() else {}
    entries = [REPO, *(entry for entry in REPO.iterdir() if entry.name not in SHARED_IN_CHECKOUT)]
    for entry in entries:
        if entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.stat().st_mode)
        modes.setdefault(str(entry), mode)
        private = (mode & ~0o007) | (0o001 if entry == REPO else 0)
        entry.chmod(private)
    saved.write_text(json.dumps(modes, indent=2) + "\n")


def restore_checkout(classroom: Classroom) -> None:
    saved = classroom.root / "checkout-modes.json"
    if saved.exists():
        for path, mode in json.loads(saved.read_text()).items():
            if os.path.lexists(path):
                os.chmod(path, mode)


def install_jupyter_config(classroom: Classroom) -> None:
    """Copy ``deploy/jupyter/{common,student,instructor}`` to ``<root>/jupyter`` (root-owned)."""
    target = classroom.root / "jupyter"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(DEPLOY / "jupyter", target, ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)


# ---------------------------------------------------------------------------------------------
# Users, course, exchange


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_user(name: str, password: str | None = None) -> str:
    """A Linux user with a private home (700); a new one gets a random password (returned).

    An existing user keeps ``password`` when it is given (``up`` run again), so logins handed
    out stay valid.
    """
    if not user_exists(name):
        run(["useradd", "--create-home", "--shell", "/bin/bash", name])
        password = None
    home(name).chmod(0o700)
    if password is None:
        password = secrets.token_urlsafe(12)
        run(["chpasswd"], input=f"{name}:{password}\n")
    return password


def known_logins(classroom: Classroom) -> dict[str, str]:
    """``{user: password}`` from ``<root>/logins.txt`` (empty before the first ``up``)."""
    logins_file = classroom.root / "logins.txt"
    if not logins_file.exists():
        return {}
    return dict(line.split(" ", 1) for line in logins_file.read_text().splitlines() if line)


def as_user(user: str, command: list[str], classroom: Classroom, **kwargs):
    """Run ``command`` as ``user`` in their home, with their server's environment."""
    env = {"HOME": str(home(user)), "USER": user, "LOGNAME": user}
    env.update(user_environment(classroom, user))
    return subprocess.run(
        ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
        cwd=home(user),
        capture_output=True,
        text=True,
        **kwargs,
    )


def set_up_course(classroom: Classroom) -> None:
    """The instructor's course folder: config, solutions and release, owned by the instructor.

    Its ``nbgrader_config.py`` is the checkout's plus ``deploy/course_config.py``.
    """
    course = classroom.course_dir()
    if not course.exists():
        course.mkdir()
        config = (REPO / "nbgrader_config.py").read_text() + (
            DEPLOY / "course_config.py"
        ).read_text()
        (course / "nbgrader_config.py").write_text(config)
        for folder in ("solutions", "notebooks"):
            shutil.copytree(
                REPO / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
            )
        user = pwd.getpwnam(classroom.instructor)
        for folder, _, files in os.walk(course):
            os.chown(folder, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(Path(folder) / name, user.pw_uid, user.pw_gid)


def set_up_exchange(classroom: Classroom) -> None:
    classroom.exchange.mkdir(parents=True, exist_ok=True)
    # Sticky: anyone creates their course folder, nobody renames or deletes another's.
    classroom.exchange.chmod(0o1777)


# ---------------------------------------------------------------------------------------------
# The hub


def hub_pid(classroom: Classroom) -> int | None:
    try:
        pid = int((classroom.hub_dir / "jupyterhub.pid").read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def start_hub(classroom: Classroom, timeout: float = 60) -> None:
    """Start JupyterHub in the background and wait until its API answers."""
    if hub_pid(classroom):
        return
    log = open(classroom.hub_dir / "jupyterhub.log", "ab")
    env = {**os.environ, "LOSSBOOK_CLASSROOM": str(classroom.root)}
    env["PATH"] = (
        f"{VENV / 'bin'}:{Path(proxy_command()).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    )
    process = subprocess.Popen(
        [str(VENV / "bin" / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
        cwd=classroom.hub_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (classroom.hub_dir / "jupyterhub.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"JupyterHub exited; see {classroom.hub_dir / 'jupyterhub.log'}")
        try:
            urllib.request.urlopen(f"{classroom.url}/hub/api/", timeout=2)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit(f"JupyterHub did not answer in {timeout:.0f} s; see its log")


def stop_hub(classroom: Classroom, timeout: float = 30) -> None:
    """SIGTERM the hub (it stops the proxy and every server it started); SIGKILL what is left."""
    pid = hub_pid(classroom)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)  # reap it when this process started it
    except ChildProcessError:
        pass


def _alive(pid: int) -> bool:
    try:
        # A zombie has no cmdline: the hub is gone even if its parent has not reaped it.
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except FileNotFoundError:
        return False


def processes_of(uids: set[int]) -> list[int]:
    """Ids of the processes whose real uid is in ``uids``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            if int(uid_line.split()[1]) in uids:
                found.append(int(entry.name))
    return found


def kill_processes_of(names: list[str]) -> None:
    """SIGKILL every process of these users (until none is left, or about two seconds)."""
    uids = {pwd.getpwnam(name).pw_uid for name in names if user_exists(name)}
    for _ in range(20):
        pids = processes_of(uids)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def remove_users(names: list[str]) -> None:
    """Kill every process of these users, then delete them with their homes."""
    kill_processes_of(names)
    for name in names:
        if user_exists(name):
            subprocess.run(["userdel", "--remove", name], capture_output=True)


def users_with_prefix(prefix: str) -> list[str]:
    return [entry.pw_name for entry in pwd.getpwall() if entry.pw_name.startswith(prefix)]


class HubClient:
    """The hub's REST API as the admin service: start servers, act through users' servers."""

    def __init__(self, classroom: Classroom):
        import requests  # JupyterHub's own dependency: present wherever the hub runs

        self.classroom = classroom
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {classroom.admin_token()}"
        self.tokens: dict[str, str] = {}

    def api(self, method: str, path: str, **kwargs):
        """``method`` on the hub's ``/hub/api<path>``; raises on an error status."""
        url = f"{self.classroom.url}/hub/api{path}"
        response = self.session.request(method, url, timeout=120, **kwargs)
        response.raise_for_status()
        return response

    def start_server(self, user: str, timeout: float = 300) -> float:
        """Start ``user``'s server, wait until it is ready, get them a token; returns seconds."""
        started = time.monotonic()
        self.api("POST", f"/users/{user}/server")
        while time.monotonic() - started < timeout:
            if self.api("GET", f"/users/{user}").json()["servers"].get("", {}).get("ready"):
                elapsed = time.monotonic() - started
                self.tokens[user] = self.api(
                    "POST", f"/users/{user}/tokens", json={"note": "classroom"}
                ).json()["token"]
                return elapsed
            time.sleep(0.25)
        raise TimeoutError(f"{user}'s server was not ready in {timeout:.0f} s")

    def stop_server(self, user: str, timeout: float = 120) -> None:
        self.api("DELETE", f"/users/{user}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api("GET", f"/users/{user}").json()["servers"]:
                return
            time.sleep(0.25)
        raise TimeoutError(f"{user}'s server did not stop in {timeout:.0f} s")

    def on_server(self, user: str, method: str, path: str, token_of: str = "", **kwargs):
        """``method`` on ``user``'s server at ``path``, with ``token_of``'s token (default: own)."""
        headers = {"Authorization": f"token {self.tokens[token_of or user]}"}
        url = f"{self.classroom.url}/user/{user}{path}"
        return self.session.request(method, url, headers=headers, timeout=300, **kwargs)

    def assignment_action(self, user: str, action: str, assignment: str) -> dict:
        """What the Assignments tab does: ``fetch``, ``submit``, ``fetch_feedback``..."""
        data = {"course_id": self.classroom.course_id, "assignment_id": assignment}
        response = self.on_server(user, "POST", f"/assignments/{action}", data=data)
        response.raise_for_status()
        body = response.json()
        if not body.get("success"):
            raise RuntimeError(f"{user}: {action} {assignment} failed: {body}")
        return body


# ---------------------------------------------------------------------------------------------
# up / down


def up(classroom: Classroom) -> dict[str, str]:
    """Set up what is missing and start the hub; returns ``{user: password}``.

    Run again after ``stop`` (or with more ``students``), it keeps the users, their homes and
    passwords, and the course folder.
    """
    if os.geteuid() != 0:
        raise SystemExit("the classroom creates Linux users: run it as root (sudo make classroom)")
    if hub_pid(classroom):
        raise SystemExit(
            f"the classroom at {classroom.root} is running: "
            f"python deploy/classroom.py stop --root {classroom.root}, then up again"
        )
    ensure_jupyterhub()
    proxy_command()
    classroom.root.mkdir(parents=True, exist_ok=True)
    classroom.root.chmod(0o755)
    classroom.hub_dir.mkdir(exist_ok=True)
    classroom.hub_dir.chmod(0o700)
    token_file = classroom.hub_dir / "admin-token"
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(32) + "\n")
    token_file.chmod(0o600)
    classroom.save()
    build_course_env(classroom)
    install_jupyter_config(classroom)
    make_checkout_private(classroom)
    set_up_exchange(classroom)
    known = known_logins(classroom)
    logins = {user: create_user(user, known.get(user)) for user in classroom.users}
    set_up_course(classroom)
    logins_file = classroom.root / "logins.txt"
    logins_file.write_text("".join(f"{user} {password}\n" for user, password in logins.items()))
    logins_file.chmod(0o600)
    start_hub(classroom)
    return logins


def down(classroom: Classroom) -> None:
    """Stop the hub, delete the class's users and homes, restore the checkout, remove the root.

    The users' processes are killed first: their homes are deleted anyway, and the hub then
    stops in a second instead of shutting every server down in turn.
    """
    kill_processes_of(classroom.users)
    stop_hub(classroom)
    remove_users(classroom.users)
    restore_checkout(classroom)
    shutil.rmtree(classroom.root, ignore_errors=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a set-up command; stop with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python deploy/classroom.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "action",
        choices=["up", "stop", "down"],
        help="up: set up and start; stop: stop the hub and every server (users and work stay); "
        "down: stop and delete the users, their homes and all state",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="state folder")
    parser.add_argument("--students", type=int, default=3, help="demo students (up)")
    parser.add_argument("--port", type=int, default=8000, help="hub port on 127.0.0.1 (up)")
    parser.add_argument("--prefix", default="lb-", help="prefix of the users' names (up)")
    args = parser.parse_args(argv)
    if args.action in ("stop", "down"):
        if not (args.root / SETTINGS).exists():
            print(f"no classroom at {args.root}")
            return 0
        if args.action == "stop":
            stop_hub(Classroom.load(args.root))
            print(f"classroom at {args.root} stopped; start it again with up --root {args.root}")
            return 0
        down(Classroom.load(args.root))
        print(f"classroom at {args.root} removed")
        return 0
    classroom = Classroom(args.root, args.prefix, args.students, args.port)
    logins = up(classroom)
    print(f"JupyterHub is up at {classroom.url}/  (log: {classroom.hub_dir / 'jupyterhub.log'})")
    print(f"course folder: {classroom.course_dir()}   exchange: {classroom.exchange}")
    print("logins (user password), also in", classroom.root / "logins.txt")
    for user, password in logins.items():
        print(f"  {user:24} {password}   ({role_of(classroom, user)})")
    print(f"stop: python deploy/classroom.py stop --root {classroom.root}   (users and work stay)")
    print(f"remove everything: python deploy/classroom.py down --root {classroom.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
