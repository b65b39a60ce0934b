"""nbgrader's file-system exchange, with collect refusing submissions forged in another's name.

In nbgrader's shared exchange every student may create entries in ``<exchange>/<course>/inbound``
(mode ``2733``), and an entry's name says whose submission it is:
``<student>+<assignment>+<timestamp>[+<random>]``. nbgrader 0.9.6's ``collect`` compares the
entry's owner with the student it names, but only *warns* ("cheating attempt?") and then collects
it anyway; with ``--update`` a forgery with a later timestamp replaces the student's genuine
submission. :class:`OwnerCheckedCollect` is the same collect with the check made binding:

- a submission is accepted only when the entry *and everything inside it* belong to the student it
  names and contain no symbolic link (a link would make the instructor's collect copy files the
  student cannot read: ``solutions/`` or another student's work);
- among a student's submissions the newest *genuine* one is collected: a forgery never replaces
  or shadows it, with or without ``--update``;
- an entry whose name cannot be parsed (which makes nbgrader's collect stop for the whole class)
  is refused instead;
- every refusal is logged as an error, appended to ``refused_submissions.csv`` in the course root,
  and the refused entry is renamed to ``.refused-<name>`` in ``inbound`` (nbgrader's glob skips
  dot-names), so it stays as evidence but is not offered again. The collect then exits non-zero
  (``nbgrader collect failed``) after collecting every genuine submission, so a forgery cannot go
  unnoticed.

Enable it for a course (``deploy/jupyter/common/nbgrader_config.py`` does)::

    c.ExchangeFactory.collect = "lossbook.grader.exchange.OwnerCheckedCollect"

Known limit: the check and the copy are two steps, so a student who swaps files inside their own
submission in the moment between them is not caught; the copy runs with the instructor's rights
but the autograder never runs student code with them (``python -m lossbook grade`` sandboxes it).
"""

from __future__ import annotations

import csv
import datetime
import os
import pwd
import stat

from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Bool, Unicode

REFUSED_PREFIX = ".refused-"


def owner_name(uid: int) -> str:
    """The login name of ``uid``, or ``"uid <n>"`` when no user has it.

    >>> owner_name(0)
    'root'
    >>> owner_name(2**31 - 7)
    'uid 2147483641'
    """
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def submission_problems(path: str, student: str) -> list[str]:
    """Why the submission folder ``path`` cannot be ``student``'s; empty when it can.

    The entry and everything below it must be owned by ``student`` and must not be symbolic links
    (checked with ``lstat``: links are never followed).

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> me = owner_name(os.getuid())
    >>> submission_problems(folder, me)
    []
    >>> submission_problems(folder, "mallory")  # doctest: +ELLIPSIS
    ['tmp... is owned by ..., not by mallory']
    >>> os.symlink("/etc/passwd", os.path.join(folder, "answer.ipynb"))
    >>> submission_problems(folder, me)
    ['answer.ipynb is a symbolic link']
    >>> import shutil; shutil.rmtree(folder)
    """
    name = os.path.basename(path)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return [f"{name} is a symbolic link"]
    if not stat.S_ISDIR(info.st_mode):
        return [f"{name} is not a folder"]
    problems = []
    if owner_name(info.st_uid) != student:
        problems.append(f"{name} is owned by {owner_name(info.st_uid)}, not by {student}")
    for folder, subfolders, files in os.walk(path):
        for entry in subfolders + files:
            full = os.path.join(folder, entry)
            relative = os.path.relpath(full, path)
            entry_info = os.lstat(full)
            if stat.S_ISLNK(entry_info.st_mode):
                problems.append(f"{relative} is a symbolic link")
            elif owner_name(entry_info.st_uid) != student:
                problems.append(
                    f"{relative} is owned by {owner_name(entry_info.st_uid)}, not by {student}"
                )
    # The first few reasons say enough; a folder of thousands of foreign files needs no list.
    return problems[:5]


class OwnerCheckedCollect(ExchangeCollect):
    """``nbgrader collect`` that refuses, reports and quarantines forged submissions."""

    refusal_report = Unicode(
        "refused_submissions.csv",
        help="CSV (relative to the course root) to which every refused submission is appended.",
    ).tag(config=True)

    fail_on_refusal = Bool(
        True,
        help="Exit non-zero after collecting the genuine submissions when any was refused.",
    ).tag(config=True)

    def _path_to_record(self, path):
        """nbgrader's record, plus why it is refused (``problems``); never stops the collect."""
        filename = os.path.basename(path)
        try:
            record = super()._path_to_record(path)
            record["problems"] = submission_problems(path, record["username"])
        except (ExchangeError, ValueError, OverflowError) as error:
            # nbgrader's timestamps are naive UTC; the oldest one never shadows a real submission.
            record = {
                "username": filename.split("+", 1)[0],
                "filename": filename,
                "timestamp": datetime.datetime.min,
                "problems": [f"{filename} has an invalid name ({error})"],
            }
        self._records_seen.append(record)
        return record

    def _sort_by_timestamp(self, records):
        """Genuine submissions first, newest first: nbgrader collects the first of this list."""
        return sorted(
            records, key=lambda record: (not record["problems"], record["timestamp"]), reverse=True
        )

    def init_src(self):
        """nbgrader's choice of one submission per student, with every refused entry set aside."""
        self._records_seen = []
        super().init_src()
        self.refused_records = [record for record in self._records_seen if record["problems"]]
        self.src_records = [record for record in self.src_records if not record["problems"]]

    def copy_files(self):
        """Collect the genuine submissions, then report and quarantine the refused ones."""
        super().copy_files()
        for record in self.refused_records:
            self._refuse(record)
        if self.refused_records and self.fail_on_refusal:
            self.fail(
                f"{len(self.refused_records)} submission(s) of {self.coursedir.assignment_id} "
                f"refused (listed in {self._report_path()}); every genuine submission was collected"
            )

    def _report_path(self) -> str:
        return os.path.join(self.coursedir.root, self.refusal_report)

    def _refuse(self, record: dict) -> None:
        source = os.path.join(self.inbound_path, record["filename"])
        quarantined = os.path.join(self.inbound_path, REFUSED_PREFIX + record["filename"])
        reasons = "; ".join(record["problems"])
        self.log.error(
            "Refused submission %s in the name of %s: %s", source, record["username"], reasons
        )
        try:
            os.rename(source, quarantined)
        except OSError as error:
            self.log.error("Could not move the refused submission aside: %s", error)
            quarantined = source
        report = self._report_path()
        new_file = not os.path.exists(report)
        with open(report, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new_file:
                writer.writerow(["refused_at", "assignment", "named_student", "entry", "reasons"])
            writer.writerow(
                [
                    datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    self.coursedir.assignment_id,
                    record["username"],
                    quarantined,
                    reasons,
                ]
            )
