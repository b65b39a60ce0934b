"""The classroom on JupyterHub (deploy/classroom.py): spawn time, memory per student, exchange steps.

Brings up a throw-away classroom on 127.0.0.1 (real Linux users ``lbbench-*``, removed at the
end, also on failure), then measures:

1. **spawn**: for each class size in ``--sizes`` (default 10 and 30), every student's server is
   started at once through the hub's REST API; the seconds from request to ready, per student.
2. **memory**: the resident memory of each student's processes with the server idle, then with
   one kernel that imported ``torch`` and ``lossbook.checks`` (what a chapter's first cell
   does), for up to ``--kernels`` students. RSS counts shared libraries in full for every
   process (what a container's limit sees); PSS divides shared pages among the processes
   sharing them (what one machine really spends per extra student).
3. **exchange**: for the largest class, each step of an assignment's cycle: release (instructor,
   CLI), fetch and submit (every student through their server's REST API, as the Assignments
   tab does, all at once), collect, sandboxed batch grading, feedback (generate, release),
   fetch_feedback (every student).

Run as root from the repository root::

    .venv/bin/python bench/bench_classroom.py [--sizes 10 30] [--kernels 10] [--assignment 01_why_losses]

Timings depend on the machine's load; the number of cores is printed with them.
"""

from __future__ import annotations

import argparse
import os
import pwd
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
import classroom as deploy  # noqa: E402

PREFIX = "lbbench-"
MIB = 2**20


def memory_of(uid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of all processes of ``uid``, from /proc (smaps_rollup for PSS)."""
    rss = pss = 0
    for pid in deploy.processes_of({uid}):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in rollup[1:] if ":" in line}
        rss += int(fields.get("Rss", 0)) * 1024
        pss += int(fields.get("Pss", 0)) * 1024
    return rss, pss


def summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    scaled = [value / scale for value in values]
    return (
        f"median {statistics.median(scaled):7.1f} {unit}   min {min(scaled):7.1f}   "
        f"max {max(scaled):7.1f}   (n={len(scaled)})"
    )


def start_kernel_with_torch(hub: deploy.HubClient, user: str) -> None:
    """Start a kernel on ``user``'s server and import torch and lossbook.checks in it."""
    from jupyter_client import BlockingKernelClient

    kernel = hub.on_server(user, "POST", "/api/kernels", json={"name": "python3"}).json()
    runtime = deploy.home(user) / ".local" / "share" / "jupyter" / "runtime"
    deadline = time.monotonic() + 120
    connection = runtime / f"kernel-{kernel['id']}.json"
    while not connection.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    # No heartbeat: on a loaded machine a late beat would count as a dead kernel.
    client.start_channels(hb=False)
    try:
        reply = client.execute_interactive("import torch, lossbook.checks", timeout=300)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{user}'s kernel could not import torch: {reply['content']}")
    finally:
        client.stop_channels()


def bench_spawn(hub: deploy.HubClient, students: list[str], kernels: int) -> None:
    with ThreadPoolExecutor(len(students)) as pool:
        started = time.monotonic()
        seconds = list(pool.map(hub.start_server, students))
        wall = time.monotonic() - started
    print(f"\n{len(students)} students at once: all ready in {wall:.1f} s")
    print(f"  spawn, per student:           {summary(seconds, 's')}")
    uids = [pwd.getpwnam(student).pw_uid for student in students]
    idle = [memory_of(uid) for uid in uids]
    print(f"  idle server, RSS per student: {summary([m[0] for m in idle], 'MiB', MIB)}")
    print(f"  idle server, PSS per student: {summary([m[1] for m in idle], 'MiB', MIB)}")
    with_kernel = students[:kernels]
    if with_kernel:
        for (
            user
        ) in with_kernel:  # one at a time: jupyter_client's blocking client is not thread-safe
            start_kernel_with_torch(hub, user)
        loaded = [memory_of(uid) for uid in uids[: len(with_kernel)]]
        rss, pss = [m[0] for m in loaded], [m[1] for m in loaded]
        print(f"  server + torch kernel, RSS:   {summary(rss, 'MiB', MIB)}")
        print(f"  server + torch kernel, PSS:   {summary(pss, 'MiB', MIB)}")


def timed(label: str, step) -> None:
    started = time.monotonic()
    step()
    print(f"  {label:44} {time.monotonic() - started:7.1f} s")


def bench_exchange(room: deploy.Classroom, hub: deploy.HubClient, assignment: str) -> None:
    instructor, students = room.instructor, room.student_names
    course = room.course_dir()

    def instructor_does(command: str, check: bool = True) -> None:
        result = deploy.as_user(instructor, ["sh", "-c", f"cd {course} && {command}"], room)
        if check and result.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def everyone(action: str) -> None:
        with ThreadPoolExecutor(len(students)) as pool:
            list(pool.map(lambda user: hub.assignment_action(user, action, assignment), students))

    print(f"\nexchange steps, {len(students)} students, {assignment}:")
    instructor_does(f"nbgrader generate_assignment {assignment} --force")
    timed(
        "release_assignment (instructor)",
        lambda: instructor_does(f"nbgrader release_assignment {assignment}"),
    )
    timed("fetch (every student, REST, at once)", lambda: everyone("fetch"))
    timed("submit (every student, REST, at once)", lambda: everyone("submit"))
    timed("collect (instructor)", lambda: instructor_does(f"nbgrader collect {assignment}"))
    # Blank submissions "need a human" (exit 1): the time is what matters here.
    timed(
        "python -m lossbook grade (sandboxed)",
        lambda: instructor_does(
            f"python -m lossbook grade {assignment} --no-feedback --no-progress", check=False
        ),
    )
    timed(
        "generate_feedback (instructor)",
        lambda: instructor_does(f"nbgrader generate_feedback {assignment} --force"),
    )
    timed(
        "release_feedback (instructor)",
        lambda: instructor_does(f"nbgrader release_feedback {assignment}"),
    )
    timed("fetch_feedback (every student, REST, at once)", lambda: everyone("fetch_feedback"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--kernels", type=int, default=10, help="students given a torch kernel")
    parser.add_argument("--assignment", default="01_why_losses")
    parser.add_argument("--root", type=Path, default=Path("/tmp/lbbench-classroom"))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_classroom creates Linux users: run it as root", file=sys.stderr)
        return 2
    deploy.remove_users(deploy.users_with_prefix(PREFIX))
    if (args.root / deploy.SETTINGS).exists():
        deploy.down(deploy.Classroom.load(args.root))
    room = deploy.Classroom(root=args.root, prefix=PREFIX, students=max(args.sizes), port=18765)
    print(
        f"classroom bench: {os.cpu_count()} cores, sizes {args.sizes}, {args.kernels} torch kernels"
    )
    try:
        started = time.monotonic()
        deploy.up(room)
        print(f"set-up (users, environment, hub): {time.monotonic() - started:.1f} s")
        hub = deploy.HubClient(room)
        for size in sorted(args.sizes):
            students = room.student_names[:size]
            bench_spawn(hub, students, min(args.kernels, size))
            if size != max(args.sizes):
                with ThreadPoolExecutor(size) as pool:
                    list(pool.map(hub.stop_server, students))
        bench_exchange(room, hub, args.assignment)
    finally:
        deploy.down(room)
    return 0


if __name__ == "__main__":
    sys.exit(main())
