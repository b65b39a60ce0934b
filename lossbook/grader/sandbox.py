"""Run a learner's kernel inside a bubblewrap sandbox while a notebook is autograded.

:class:`SandboxedKernelManager` is a ``jupyter_client`` kernel manager: nbgrader's execute step
(``lossbook.grader.preprocessors.SandboxedExecute``) starts every grading kernel through it.
The kernel command is wrapped in Debian's ``bwrap`` (package ``bubblewrap``) and a tiny launcher
that lowers resource limits before ``ipykernel`` starts.

What it protects against
------------------------
- **Reading or writing the grader's files.** The kernel sees a fresh root: read-only binds of
  the system (``/usr``, ``/etc``, the Python installation and virtualenv, the ``lossbook``
  package) and nothing else of the course. ``gradebook.db``, ``solutions/``, ``submitted/``,
  ``autograded/``, other students' files and the grader's home are not in its filesystem at
  all. Its working directory is a private copy of the submission's folder; ``/tmp`` is a small
  private tmpfs.
- **The network.** The kernel has its own network namespace (only a loopback device), so it
  cannot reach the grader, the course machine or the internet. The grader talks to it over
  Unix sockets (ZeroMQ ``ipc`` transport) in a private runtime folder.
- **Runaway resources.** Address space (``RLIMIT_AS``, default 2 GiB: a memory hog gets a
  ``MemoryError``), CPU time (``RLIMIT_CPU``: the kernel is killed when it is spent), processes
  and threads (``RLIMIT_NPROC``, default 64, counted per sandbox: a fork bomb gets
  ``BlockingIOError``), file size (``RLIMIT_FSIZE``) and the tmpfs size are capped. The kernel is
  in its own PID namespace, so killing it kills everything it started; ``--die-with-parent``
  takes it down with the grader.
- **Privilege.** When the grader runs as root, the kernel runs as an unprivileged user of its own
  (uid ``100000 + grader pid``) with no capabilities and ``no_new_privs``; otherwise it runs as
  the grader's user inside a user namespace, where the read-only binds still apply. Its
  environment is cleared (no tokens or paths of the grader leak in).

What it does not protect against
--------------------------------
- **Cheating inside the kernel.** The learner's code and the test cells share one Python
  process. The checks capture their references at import, and the grader requires a per-run
  seal from each passing test cell (see :mod:`lossbook.checks.seal`), but code that digs
  through the interpreter's memory can still forge a pass. The batch command flags such code
  for a human (:func:`lossbook.grader.suspicious.suspicious_code`).
- **Kernel exploits.** bubblewrap relies on Linux namespaces; a kernel bug that escapes them
  escapes the sandbox. Use a VM or a separate machine for untrusted classes at scale.
- **Disk, CPU share and wall time.** Files written to the working copy count against
  ``RLIMIT_FSIZE`` per file, not in total; the kernel competes for CPU like any process; wall
  time is bounded by the grader's timeouts (per cell and per notebook), not here.
- **Other operating systems.** It needs Linux with ``bwrap`` (``apt-get install -y bubblewrap``)
  and user namespaces (or root). Elsewhere, grading stops with an error unless the sandbox is
  turned off explicitly (``--no-sandbox``; ``SandboxedKernelManager.sandbox = False``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Bytes, Integer, List, Unicode, default

from lossbook.checks.seal import KEY_FILE_VARIABLE

GIB = 1024**3
MIB = 1024**2

# Runs inside the sandbox before the kernel: with -I -S it imports nothing from the course.
# The process limit is set here, after bwrap made the namespaces, so it counts this sandbox's
# processes only. Dropping to an unprivileged uid needs CAP_SETUID, granted to this step alone.
_LAUNCHER = """\
import os, resource, sys
nproc, address_space, cpu, fsize, uid = (int(value) for value in sys.argv[1:6])
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.execv(sys.argv[6], sys.argv[6:])
"""


_NOT_COPIED = ("*.ipynb", "*.py", "*.pyc", "*.pth", "*.so", "__pycache__", ".ipynb_checkpoints")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create a sandbox on this machine."""


def bwrap_path() -> str | None:
    """The ``bwrap`` executable, or None when bubblewrap is not installed."""
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None
    )


def check_sandbox() -> None:
    """Raise :class:`SandboxUnavailable`, naming the fix, unless a sandboxed process can start."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
            "Install it with `sudo apt-get install -y bubblewrap`, or grade without a sandbox "
            "(unsafe: student code runs with your rights) with --no-sandbox."
        )
    command = [bwrap, *_system_binds(), "--unshare-pid", "--unshare-net"]
    if os.geteuid() != 0:
        command.append("--unshare-user")
    command += ["--dev", "/dev", "--proc", "/proc", "--", "/bin/true"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap cannot create a sandbox here ({result.stderr.strip() or result.returncode}). "
            "Unprivileged user namespaces may be disabled: enable them "
            "(`sysctl kernel.unprivileged_userns_clone=1`, or on Ubuntu 24.04 "
            "`sysctl kernel.apparmor_restrict_unprivileged_userns=0`), run the grader as root, "
            "or grade without a sandbox (unsafe) with --no-sandbox."
        )


def _system_binds() -> list[str]:
    """Read-only views of the system folders, keeping merged-/usr symlinks as symlinks."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


def lossbook_root() -> Path:
    """The folder that holds the ``lossbook`` package (what the kernel puts on its path)."""
    import lossbook

    return Path(lossbook.__file__).resolve().parent.parent


def sandbox_uid() -> int:
    """The unprivileged uid a root grader gives its kernels: one per grading process.

    ``RLIMIT_NPROC`` counts per user, so two graders running side by side must not share one.
    """
    return 100_000 + os.getpid()


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) for every process this user can see."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def _descendants(table: dict[int, tuple[int, int]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under bubblewrap with resource limits.

    Everything else (channels, restarts, shutdown) is ``AsyncKernelManager``'s. Interrupts are
    sent as control messages, since signals to the bwrap process would not reach the kernel.
    """

    sandbox = Bool(True, help="Run kernels in the bubblewrap sandbox.").tag(config=True)
    memory_bytes = Integer(2 * GIB, help="Address-space limit of the kernel (RLIMIT_AS).").tag(
        config=True
    )
    cpu_seconds = Integer(600, help="CPU seconds before the kernel is killed.").tag(config=True)
    max_processes = Integer(64, help="Processes and threads the kernel may have at once.").tag(
        config=True
    )
    file_bytes = Integer(64 * MIB, help="Largest file the kernel may write.").tag(config=True)
    tmp_bytes = Integer(256 * MIB, help="Size of the kernel's private /tmp.").tag(config=True)
    extra_readable = List(
        Unicode(), help="More folders to show the kernel, read-only (absolute paths)."
    ).tag(config=True)

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    # -- launch ---------------------------------------------------------------------------

    seal_key = Bytes(
        None,
        allow_none=True,
        help="Secret for this run's seals (see lossbook.checks.seal); set by the grader.",
    )

    async def _async_pre_start_kernel(self, **kw):
        self._runtime = Path(tempfile.mkdtemp(prefix="lossbook-kernel-"))
        self.connection_file = str(self._runtime / "kernel.json")
        self.ip = str(self._runtime / "kernel-ipc")
        env = dict(kw.get("env") or os.environ)
        if self.seal_key is not None:
            key_file = self._runtime / "seal.key"
            key_file.write_text(self.seal_key.hex())
            env[KEY_FILE_VARIABLE] = str(key_file)
        kw["env"] = env
        if not self.sandbox:
            self.log.warning("Grading kernel runs WITHOUT a sandbox: student code has your rights.")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if command and command[0] == sys.executable:
            # -P: the working folder is never on sys.path, so a learner's torch.py or
            # ipykernel_launcher.py cannot run before the grader's first cell.
            command.insert(1, "-P")
        if not self.sandbox:
            return command
        bwrap = bwrap_path()
        if bwrap is None:
            check_sandbox()
        work = Path(self._launch_args.get("cwd") or os.getcwd()).resolve()
        scratch = self._runtime / "work"
        # The notebook is sent cell by cell; code files a learner shipped would only serve
        # to shadow modules, so the working copy holds data files alone.
        shutil.copytree(work, scratch, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_COPIED))
        uid = sandbox_uid() if os.geteuid() == 0 else -1
        if uid >= 0:
            for folder, _, files in os.walk(self._runtime):
                os.chown(folder, uid, uid)
                for name in files:
                    os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
        return [
            bwrap,
            *self._namespace_args(uid),
            *self._filesystem_args(work, scratch),
            *self._environment_args(),
            "--chdir",
            str(work),
            "--",
            sys.executable,
            "-I",
            "-S",
            "-c",
            _LAUNCHER,
            str(self.max_processes),
            str(self.memory_bytes),
            str(self.cpu_seconds),
            str(self.file_bytes),
            str(uid),
            *command,
        ]

    def _namespace_args(self, uid: int) -> list[str]:
        args = [
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "grader",
            "--die-with-parent",
            "--new-session",
        ]
        if uid >= 0:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", "--disable-userns"]
        return args

    def _filesystem_args(self, work: Path, scratch: Path) -> list[str]:
        args = _system_binds()
        args += [
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--size",
            str(self.tmp_bytes),
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
        ]
        mounted = [Path("/usr"), Path("/etc"), Path("/dev"), Path("/proc")]
        readable = {Path(sys.base_prefix), Path(sys.prefix), lossbook_root() / "lossbook"}
        readable |= {Path(path) for path in self.extra_readable}
        binds = []
        for path in sorted(readable):
            if work.is_relative_to(path):
                raise SandboxUnavailable(
                    f"{path} holds the grading folder {work}: showing it to the kernel would "
                    "show other students' work. Keep the course outside the Python installation."
                )
            if path.exists():
                binds.append(("--ro-bind", path, path))
        binds += [("--bind", self._runtime, self._runtime), ("--bind", scratch, work)]
        created: set[Path] = set()
        for kind, source, target in binds:
            # bwrap makes missing parents private (0700); the kernel's user must pass through.
            for parent in reversed(target.parents):
                inside_mount = any(parent.is_relative_to(mount) for mount in mounted)
                if parent in (Path("/"), Path("/tmp")) or parent in created or inside_mount:
                    continue
                args += ["--perms", "0755", "--dir", str(parent)]
                created.add(parent)
            args += [kind, str(source), str(target)]
            mounted.append(target)
        return args

    def _environment_args(self) -> list[str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(lossbook_root()),
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "IPYTHONDIR": "/tmp/.ipython",
            "MPLCONFIGDIR": "/tmp/.matplotlib",
            "MPLBACKEND": "Agg",
            # One thread per kernel: the batch grader runs one kernel per core.
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
            "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"),
        }
        key_file = self._launch_args.get("env", {}).get(KEY_FILE_VARIABLE)
        if key_file:
            env[KEY_FILE_VARIABLE] = key_file
        args = ["--clearenv"]
        for name, value in env.items():
            args += ["--setenv", name, value]
        return args

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # The kernel's own stdout/stderr go to a file, not the grader's terminal.
        self._log_file = open(self._runtime / "kernel.log", "wb")
        kw["stdout"] = self._log_file
        kw["stderr"] = subprocess.STDOUT
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def kernel_log(self, limit: int = 2000) -> str:
        """The last ``limit`` characters the kernel process wrote outside Jupyter's channels."""
        path = getattr(self, "_runtime", None)
        if path is None or not (path / "kernel.log").exists():
            return ""
        data = (path / "kernel.log").read_bytes()[-limit:]
        return data.decode("utf-8", "replace")

    # -- interrupt and cleanup ------------------------------------------------------------

    def kill_strays(self) -> int:
        """Kill every process in the sandbox but the kernel; return how many.

        Called after each cell: a forked child (a fork bomb's, or a forgotten background job)
        would otherwise hold the sandbox's process budget and starve the cells after it. Without
        the sandbox, only the kernel's own descendants can be found.
        """
        process = getattr(self.provisioner, "process", None)
        if process is None or process.poll() is not None:
            return 0
        killed = 0
        for _ in range(50):
            table = _process_table()
            if self.sandbox:
                # bwrap -> bwrap (the namespace's init) -> the kernel, the init's first child;
                # orphans of the kernel's children are adopted by the init.
                inits = [pid for pid, (parent, _) in table.items() if parent == process.pid]
                if len(inits) != 1:
                    return killed
                children = sorted(
                    (start, pid) for pid, (parent, start) in table.items() if parent == inits[0]
                )
                if not children:
                    return killed
                kernel = children[0][1]
                strays = [pid for _, pid in children[1:]] + _descendants(table, kernel)
                strays += [pid for _, stray in children[1:] for pid in _descendants(table, stray)]
            else:
                strays = _descendants(table, process.pid)
            if not strays:
                return killed
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        return killed

    async def _async_interrupt_kernel(self) -> None:
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        message = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, message)

    # AsyncKernelManager binds these names to KernelManager's functions, not to overrides.
    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        log_file = getattr(self, "_log_file", None)
        if log_file is not None:
            log_file.close()
            self._log_file = None
        runtime = getattr(self, "_runtime", None)
        if runtime is not None and not restart:
            shutil.rmtree(runtime, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
