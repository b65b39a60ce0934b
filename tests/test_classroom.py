"""The classroom on JupyterHub, end to end, with real Linux users (run by ``make test-classroom``).

One module fixture brings up ``deploy/classroom.py`` on 127.0.0.1 with an instructor and three
students, and runs a whole assignment cycle the way a class would: release (instructor, CLI),
fetch (through the hub's REST API and the CLI, as each student), submit (one correct, one wrong,
one blank), a forged submission and a symbolic-link submission, collect, ``collect --update``,
sandboxed batch grading as the instructor, feedback generated, released and fetched by every
student. The tests then check the grades, the refusals, what students can and cannot read, and
that Formgrader exists only for the instructor. Everything (users, homes, hub, proxy, servers,
state) is removed afterwards, also when a step fails, and stale users of a crashed run are
removed first.

Needs root (it creates users), npm (configurable-http-proxy) and bubblewrap.

The last tests check the Kubernetes path (deploy/k8s/): values.yaml against the schema and
defaults of the Zero to JupyterHub chart version it names, and the files it relies on.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pwd
import re
import shutil
import socket
import stat
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from lossbook.grader.exchange import REFUSED_PREFIX
from tests.course import ROOT, read, with_answers

sys.path.insert(0, str(ROOT / "deploy"))
import classroom as deploy  # noqa: E402

# The hub tests need root and take minutes: `make test-classroom` runs them (-m classroom); the
# Kubernetes checks at the end are quick and run with every `make test`.
classroom = pytest.mark.classroom
slow = pytest.mark.slow

PREFIX = "lbtest-"
ASSIGNMENT = "01_why_losses"  # the smallest chapter: grading stays quick
NOTEBOOK = "why_losses.ipynb"
STALE_ROOTS = Path(tempfile.gettempdir())


# ---------------------------------------------------------------------------------------------
# Submissions


MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION"}


def correct_answers() -> dict[str, str]:
    """Every answer cell as the solutions write it, without nbgrader's solution markers."""
    answers = {}
    for cell in read(ROOT / "solutions" / ASSIGNMENT / NOTEBOOK).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = cell.source.splitlines()
            kept = [line for line in lines if line.strip() not in MARKERS]
            answers[meta["grade_id"]] = "\n".join(kept) + "\n"
    return answers


def wrong_submission():
    """The first crafted mistake of the chapter: its answers, failing cells and feedback."""
    return importlib.import_module(f"tests.crafted.{ASSIGNMENT}").CRAFTED[0]


# ---------------------------------------------------------------------------------------------
# Helpers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def remove_stale() -> None:
    """Users, processes and state left by a crashed run of this test."""
    for root in STALE_ROOTS.glob(f"{PREFIX}classroom-*"):
        if (root / deploy.SETTINGS).exists():
            deploy.down(deploy.Classroom.load(root))
        shutil.rmtree(root, ignore_errors=True)
    deploy.remove_users(deploy.users_with_prefix(PREFIX))


def as_user(room, user: str, *command: str, check: bool = True):
    result = deploy.as_user(user, list(command), room, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{user}: {' '.join(command)} exited {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def write_as(user: str, path: Path, notebook) -> None:
    """Save ``notebook`` at ``path``, owned by ``user`` (as if they had edited it)."""
    nbformat.write(notebook, path)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Cycle:
    """What one run of the assignment cycle left behind, for the tests to check."""

    room: deploy.Classroom
    hub: deploy.HubClient
    logins: dict[str, str]
    correct: str
    wrong: str
    blank: str
    inbound: Path
    listed: dict[str, list] = field(default_factory=dict)
    genuine_timestamp: str = ""
    genuine_digest: str = ""
    collect_output: str = ""
    collect_returncode: int = 0
    update_output: str = ""
    update_returncode: int = 0
    grade_output: str = ""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def forge(room, forger: str, named: str, source: Path, timestamp: str) -> Path:
    """``forger`` copies ``source`` into the exchange as a submission in ``named``'s name."""
    inbound = room.exchange / room.course_id / "inbound"
    entry = inbound / f"{named}+{ASSIGNMENT}+{timestamp}"
    as_user(room, forger, "cp", "-r", str(source), str(entry))
    as_user(room, forger, "sh", "-c", f"printf '%s' '{timestamp}' > '{entry}/timestamp.txt'")
    return entry


def run_cycle(room: deploy.Classroom, logins: dict[str, str]) -> Cycle:
    instructor = room.instructor
    correct, wrong, blank = room.student_names
    hub = deploy.HubClient(room)
    cycle = Cycle(room, hub, logins, correct, wrong, blank, room.exchange / "lossbook" / "inbound")
    course = room.course_dir()

    as_user(
        room,
        instructor,
        "sh",
        "-c",
        f"cd {course} && nbgrader generate_assignment {ASSIGNMENT} --force "
        f"&& nbgrader release_assignment {ASSIGNMENT}",
    )

    with ThreadPoolExecutor(len(room.users)) as pool:
        list(pool.map(hub.start_server, room.users))

    # Fetch: two students through their server's REST API (what the Assignments tab calls),
    # one with the command line; every student lists the course through the API.
    for student in room.student_names:
        response = hub.on_server(student, "GET", "/assignments", params={"course_id": "lossbook"})
        cycle.listed[student] = response.json()["value"]
    hub.assignment_action(correct, "fetch", ASSIGNMENT)
    hub.assignment_action(wrong, "fetch", ASSIGNMENT)
    as_user(room, blank, "nbgrader", "fetch_assignment", ASSIGNMENT)

    release = read(course / "notebooks" / ASSIGNMENT / NOTEBOOK)
    write_as(
        correct,
        deploy.home(correct) / ASSIGNMENT / NOTEBOOK,
        with_answers(release, correct_answers()),
    )
    write_as(
        wrong,
        deploy.home(wrong) / ASSIGNMENT / NOTEBOOK,
        with_answers(release, wrong_submission().answers),
    )

    hub.assignment_action(correct, "submit", ASSIGNMENT)
    hub.assignment_action(wrong, "submit", ASSIGNMENT)
    as_user(room, blank, "nbgrader", "submit", ASSIGNMENT)

    # The blank student forges a later submission in the correct student's name, and submits
    # one in their own name whose notebook is a link to the instructor's solutions.
    forge(room, blank, correct, deploy.home(blank) / ASSIGNMENT, "2099-01-01 00:00:00.000000 UTC")
    linked = deploy.home(blank) / "linked"
    as_user(room, blank, "mkdir", str(linked))
    solution = course / "solutions" / ASSIGNMENT / NOTEBOOK
    as_user(room, blank, "ln", "-s", str(solution), str(linked / NOTEBOOK))
    forge(room, blank, blank, linked, "2099-01-02 00:00:00.000000 UTC")

    collected = as_user(
        room, instructor, "sh", "-c", f"cd {course} && nbgrader collect {ASSIGNMENT}", check=False
    )
    cycle.collect_output = collected.stdout + collected.stderr
    cycle.collect_returncode = collected.returncode
    submitted = course / "submitted" / correct / ASSIGNMENT
    cycle.genuine_timestamp = (submitted / "timestamp.txt").read_text()
    cycle.genuine_digest = digest(submitted / NOTEBOOK)

    # Again, and now with --update: nbgrader's own collect would replace the genuine copy.
    forge(room, blank, correct, deploy.home(blank) / ASSIGNMENT, "2099-02-01 00:00:00.000000 UTC")
    updated = as_user(
        room,
        instructor,
        "sh",
        "-c",
        f"cd {course} && nbgrader collect --update {ASSIGNMENT}",
        check=False,
    )
    cycle.update_output = updated.stdout + updated.stderr
    cycle.update_returncode = updated.returncode

    graded = as_user(
        room,
        instructor,
        "sh",
        "-c",
        f"cd {course} && python -m lossbook grade {ASSIGNMENT} --no-feedback --no-progress",
        check=False,
    )
    cycle.grade_output = graded.stdout + graded.stderr
    graded_copies = list((course / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}"))
    assert len(graded_copies) == len(room.student_names), cycle.grade_output
    as_user(
        room,
        instructor,
        "sh",
        "-c",
        f"cd {course} && nbgrader generate_feedback {ASSIGNMENT} --force "
        f"&& nbgrader release_feedback {ASSIGNMENT}",
    )

    hub.assignment_action(correct, "fetch_feedback", ASSIGNMENT)
    as_user(room, wrong, "nbgrader", "fetch_feedback", ASSIGNMENT)
    hub.assignment_action(blank, "fetch_feedback", ASSIGNMENT)
    return cycle


@pytest.fixture(scope="module")
def cycle():
    if os.geteuid() != 0:
        pytest.fail("the classroom test creates Linux users: run it as root (make test-classroom)")
    remove_stale()
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}classroom-", dir=STALE_ROOTS))
    room = deploy.Classroom(root=root, prefix=PREFIX, students=3, port=free_port())
    uids: set[int] = set()
    checkout_mode = ROOT.stat().st_mode
    try:
        logins = deploy.up(room)
        uids = {pwd.getpwnam(user).pw_uid for user in room.users}
        yield run_cycle(room, logins)
    finally:
        hub_pid = deploy.hub_pid(room)
        deploy.down(room)
        assert not deploy.users_with_prefix(PREFIX), "users left behind"
        assert not deploy.processes_of(uids), "processes of the class left behind"
        assert hub_pid is None or not deploy._alive(hub_pid), "JupyterHub left running"
        assert not root.exists(), "classroom state left behind"
        assert ROOT.stat().st_mode == checkout_mode, "checkout's mode not restored"


# ---------------------------------------------------------------------------------------------
# Tests


def grades_of(cycle: Cycle) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    url = f"sqlite:///{cycle.room.course_dir() / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        return {
            student: (
                gradebook.find_submission(ASSIGNMENT, student).score,
                gradebook.find_submission(ASSIGNMENT, student).max_score,
            )
            for student in cycle.room.student_names
        }


def login(room: deploy.Classroom, user: str, password: str) -> int:
    """The status of a login through the hub's form (a redirect means logged in)."""
    import requests

    browser = requests.Session()
    browser.get(f"{room.url}/hub/login", timeout=60)
    form = {"username": user, "password": password, "_xsrf": browser.cookies.get("_xsrf", "")}
    response = browser.post(f"{room.url}/hub/login", data=form, allow_redirects=False, timeout=60)
    return response.status_code


@classroom
@slow
def test_each_user_logs_in_with_their_own_password_only(cycle):
    room = cycle.room
    for user in room.users:
        assert login(room, user, cycle.logins[user]) == 302, user
    assert login(room, cycle.correct, cycle.logins[cycle.wrong]) == 403
    assert login(room, "root", cycle.logins[cycle.wrong]) == 403


@classroom
@slow
def test_every_student_sees_the_released_assignment(cycle):
    for student, assignments in cycle.listed.items():
        assert [a["assignment_id"] for a in assignments] == [ASSIGNMENT], student


@classroom
@slow
def test_grades_correct_wrong_and_blank(cycle):
    grades = grades_of(cycle)
    max_score = grades[cycle.correct][1]
    assert max_score > 0
    assert grades[cycle.correct] == (max_score, max_score), cycle.grade_output
    failing = len(wrong_submission().failing)
    assert grades[cycle.wrong] == (max_score - failing, max_score), cycle.grade_output
    assert grades[cycle.blank] == (0, max_score), cycle.grade_output


@classroom
@slow
def test_every_student_fetched_their_own_feedback(cycle):
    scores = {student: score for student, (score, _) in grades_of(cycle).items()}
    for student in cycle.room.student_names:
        pages = list(
            (deploy.home(student) / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK[:-6]}.html")
        )
        assert len(pages) == 1, student
        text = pages[0].read_text()
        assert re.search(rf"Score:\s*{scores[student]:g}\b", re.sub(r"<[^>]+>", " ", text)), student
        assert pages[0].stat().st_uid == pwd.getpwnam(student).pw_uid
    wrong_page = next((deploy.home(cycle.wrong) / ASSIGNMENT / "feedback").glob("*/*.html"))
    for phrase in wrong_submission().feedback:
        assert phrase in wrong_page.read_text(), phrase


@classroom
@slow
def test_forged_submissions_are_refused_and_change_nothing(cycle):
    course = cycle.room.course_dir()
    submitted = course / "submitted" / cycle.correct / ASSIGNMENT
    # The genuine submission is the one collected, and --update did not replace it.
    assert not cycle.genuine_timestamp.startswith("2099"), cycle.collect_output
    assert (submitted / "timestamp.txt").read_text() == cycle.genuine_timestamp
    assert digest(submitted / NOTEBOOK) == cycle.genuine_digest
    # The linked "submission" was refused; the blank student's genuine one was collected.
    blank_copy = course / "submitted" / cycle.blank / ASSIGNMENT / NOTEBOOK
    assert not blank_copy.is_symlink() and "### BEGIN SOLUTION" not in blank_copy.read_text()
    # Both collects said so and failed; the report lists all three refusals.
    for output, returncode in [
        (cycle.collect_output, cycle.collect_returncode),
        (cycle.update_output, cycle.update_returncode),
    ]:
        assert returncode != 0 and "Refused submission" in output, output
    report = (course / "refused_submissions.csv").read_text().splitlines()
    assert len(report) == 1 + 3, report
    assert sum(f"owned by {cycle.blank}, not by {cycle.correct}" in line for line in report) == 2
    assert sum("is a symbolic link" in line for line in report) == 1
    # The refused entries stay, set aside, as evidence.
    assert len(list(cycle.inbound.glob(f"{REFUSED_PREFIX}*"))) == 3


@classroom
@slow
def test_students_cannot_read_instructor_files_or_each_other(cycle):
    room = cycle.room
    course = room.course_dir()
    forbidden = [
        course / "solutions" / ASSIGNMENT / NOTEBOOK,
        course / "gradebook.db",
        course / "submitted" / cycle.correct / ASSIGNMENT / NOTEBOOK,
        deploy.home(cycle.correct) / ASSIGNMENT / NOTEBOOK,
        ROOT / "solutions" / ASSIGNMENT / NOTEBOOK,  # the checkout the environment comes from
        room.hub_dir / "jupyterhub.sqlite",
        room.root / "logins.txt",
    ]
    for path in forbidden:
        assert path.exists(), path
        result = as_user(room, cycle.wrong, "cat", str(path), check=False)
        assert result.returncode != 0 and "Permission denied" in result.stderr, path
    listing = as_user(room, cycle.wrong, "ls", str(cycle.inbound), check=False)
    assert listing.returncode != 0, "students can list the inbound submissions"
    assert stat.S_IMODE(deploy.home(cycle.wrong).stat().st_mode) == 0o700
    # Nor can they use another student's server with their own token.
    response = cycle.hub.on_server(
        cycle.correct, "GET", "/api/contents", token_of=cycle.wrong, allow_redirects=False
    )
    assert response.status_code in (302, 403, 404), response.status_code


@classroom
@slow
def test_students_can_run_but_not_change_the_course_environment(cycle):
    room = cycle.room
    result = as_user(
        room, cycle.blank, "python", "-c", "import torch, lossbook.checks; print(lossbook.__file__)"
    )
    assert result.stdout.startswith(str(room.env)), result.stdout
    for target in [room.env / "lib", ROOT / ".venv" / "lib"]:
        result = as_user(room, cycle.blank, "touch", str(target / "planted.py"), check=False)
        assert result.returncode != 0, target


@classroom
@slow
def test_formgrader_only_for_the_instructor(cycle):
    hub = cycle.hub
    assert hub.on_server(cycle.room.instructor, "GET", "/formgrader").status_code == 200
    for student in cycle.room.student_names:
        assert hub.on_server(student, "GET", "/formgrader").status_code == 404, student
    lab_pages = {user: hub.on_server(user, "GET", "/lab").text for user in cycle.room.users}
    hidden = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]
    for user, page in lab_pages.items():
        disabled = re.search(r'"disabledExtensions": \[([^\]]*)\]', page).group(1)
        for plugin in hidden:
            assert (plugin in disabled) == (user != cycle.room.instructor), (user, plugin)
        assert "@jupyter/nbgrader:assignment-list" not in disabled, user


# ---------------------------------------------------------------------------------------------
# Kubernetes: deploy/k8s/

K8S = ROOT / "deploy" / "k8s"
CHART_VERSION = "4.4.0"


def load_values() -> dict:
    import yaml

    return yaml.safe_load((K8S / "values.yaml").read_text())


def chart_file(kind: str) -> dict:
    """The chart's values schema or default values, as vendored from its source at the tag."""
    return json.loads((K8S / f"z2jh-{CHART_VERSION}.{kind}.json").read_text())


def unknown_keys(values, schema: dict, path: str = "") -> list[str]:
    """Keys of ``values`` that ``schema`` does not declare (where it does not allow any key).

    >>> unknown_keys({"cull": {"enabled": True, "timeuot": 1}}, {"properties": {"cull": {
    ...     "properties": {"enabled": {}, "timeout": {}}, "additionalProperties": False}}})
    ['cull.timeuot']
    """
    if not isinstance(values, dict) or not isinstance(schema, dict):
        return []
    declared = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties")
    unknown = []
    for key, value in values.items():
        matching = [sub for pattern, sub in patterns.items() if re.search(pattern, key)]
        if key in declared:
            sub = declared[key]
        elif matching:
            sub = matching[0]
        elif isinstance(extra, dict):
            sub = extra
        elif extra is True:
            continue  # free-form (hub.extraConfig, custom...)
        else:
            unknown.append(path + key)
            continue
        unknown += unknown_keys(value, sub, f"{path}{key}.")
    return unknown


def merged(defaults: dict, values: dict) -> dict:
    """``values`` over ``defaults``, mapping by mapping, as Helm merges them."""
    result = dict(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            value = merged(defaults[key], value)
        result[key] = value
    return result


def test_values_name_the_chart_version_the_schema_comes_from():
    header = (K8S / "values.yaml").read_text().split("\n\n")[0]
    assert f"version {CHART_VERSION}" in header


def test_every_values_key_exists_in_the_chart_schema():
    schema = chart_file("values.schema")
    assert unknown_keys(load_values(), schema) == []
    # The check is not vacuous: a misspelt key is caught.
    assert unknown_keys({"singleuser": {"memroy": {}}}, schema) == ["singleuser.memroy"]


def test_values_validate_against_the_chart_schema():
    import jsonschema

    jsonschema.validate(
        merged(chart_file("default-values"), load_values()), chart_file("values.schema")
    )


def bytes_of(quantity: str) -> int:
    """KubeSpawner's byte specification: K, M, G, T are powers of 1024."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    return int(float(quantity[:-1]) * units[quantity[-1]])


def test_values_size_and_secure_the_class():
    values = load_values()
    single = values["singleuser"]
    assert bytes_of(single["memory"]["guarantee"]) >= 512 * 2**20
    assert bytes_of(single["memory"]["limit"]) >= bytes_of(single["memory"]["guarantee"])
    assert values["cull"]["enabled"] and values["cull"]["timeout"] > 0
    profiles = {profile["slug"]: profile for profile in single["profileList"]}
    assert set(profiles) == {"student", "instructor"}
    instructor_env = profiles["instructor"]["kubespawner_override"]["environment"]
    assert instructor_env["JUPYTER_CONFIG_PATH"].endswith("/instructor")
    assert single["extraEnv"]["JUPYTER_CONFIG_PATH"].endswith("/student")
    assert values["custom"]["lossbook"]["instructors"] == ["instructor"]
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, name, "exec")
    assert "ngshare" in values["hub"]["services"]


def test_k8s_files_build_the_image_ngshare_and_the_grading_job():
    import yaml

    dockerfile = (K8S / "Dockerfile").read_text()
    assert "--file environment.yml" in dockerfile
    image = load_values()["singleuser"]["image"]
    assert f"{image['name']}:{image['tag']}" in dockerfile
    for role in ("student", "instructor"):
        assert (
            ROOT / "deploy" / "jupyter" / role
        ).is_dir() and f"deploy/jupyter/{role}" in dockerfile
    pins = (K8S / "ngshare" / "requirements.txt").read_text()
    assert re.search(r"^SQLAlchemy==1\.", pins, re.M) and re.search(r"^ngshare==0\.6\.", pins, re.M)
    manifests = list(yaml.safe_load_all((K8S / "ngshare.yaml").read_text()))
    assert {m["kind"] for m in manifests} == {"PersistentVolumeClaim", "Deployment", "Service"}
    job = yaml.safe_load((K8S / "grading-job.yaml").read_text())
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert job["kind"] == "Job" and container["image"] == f"{image['name']}:{image['tag']}"
    assert "python -m lossbook grade ASSIGNMENT_ID" in container["args"][0]


# ---------------------------------------------------------------------------------------------
# OwnerCheckedCollect without a hub (any user): entries owned by this user, named after others


def exchange_course(tmp_path: Path) -> tuple[Path, Path]:
    """A course folder using OwnerCheckedCollect, and the inbound folder of its exchange."""
    course, inbound = tmp_path / "course", tmp_path / "exchange" / "lossbook" / "inbound"
    course.mkdir()
    inbound.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'lossbook'\n"
        f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n"
        "c.ExchangeFactory.collect = 'lossbook.grader.exchange.OwnerCheckedCollect'\n"
    )
    return course, inbound


def submission(inbound: Path, name: str, timestamp: str, text: str) -> Path:
    entry = inbound / f"{name}+a1+{timestamp}"
    entry.mkdir()
    (entry / "timestamp.txt").write_text(timestamp)
    (entry / "answer.ipynb").write_text(text)
    return entry


def collect(course: Path, *args: str):
    import subprocess

    return subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "collect", *args, "a1"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )


@slow
def test_collect_refuses_forged_linked_and_misnamed_entries(tmp_path):
    me = pwd.getpwuid(os.getuid()).pw_name
    course, inbound = exchange_course(tmp_path)
    submission(inbound, me, "2026-01-01 10:00:00.000000 UTC", "genuine")
    # Later entries that must never win: a link to a file I could not otherwise submit, and a
    # name nbgrader cannot parse (which would stop nbgrader's collect for the whole class).
    linked = submission(inbound, me, "2026-01-02 10:00:00.000000 UTC", "")
    (linked / "answer.ipynb").unlink()
    (linked / "answer.ipynb").symlink_to(course / "nbgrader_config.py")
    submission(inbound, me, "garbage", "misnamed")
    # An entry in someone else's name (owned by me, so not theirs).
    submission(inbound, "nobody", "2026-01-03 10:00:00.000000 UTC", "forged")

    first = collect(course)
    assert first.returncode != 0 and "3 submission(s) of a1 refused" in first.stderr, first.stderr
    assert (course / "submitted" / me / "a1" / "answer.ipynb").read_text() == "genuine"
    assert not (course / "submitted" / "nobody").exists()
    report = (course / "refused_submissions.csv").read_text()
    assert "is a symbolic link" in report and "invalid name" in report
    assert f"is owned by {me}, not by nobody" in report
    assert sorted(p.name.split("+")[0] for p in inbound.iterdir()) == [
        f"{REFUSED_PREFIX}nobody",
        f"{REFUSED_PREFIX}{me}",
        f"{REFUSED_PREFIX}{me}",
        me,
    ]

    # A later forgery in my name, with --update: nbgrader's collect would replace my copy.
    forged = submission(inbound, me, "2026-01-04 10:00:00.000000 UTC", "forged")
    os.symlink("/etc/hostname", forged / "extra.txt")
    second = collect(course, "--update")
    assert second.returncode != 0 and "1 submission(s) of a1 refused" in second.stderr
    assert (course / "submitted" / me / "a1" / "answer.ipynb").read_text() == "genuine"
    # With nothing refused, collect succeeds as nbgrader's does.
    assert collect(course, "--update").returncode == 0
