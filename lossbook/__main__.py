"""Command line: ``python -m lossbook grade ASSIGNMENT [--jobs N] [--timeout S]``.

``grade`` autogrades a whole class in parallel, in a sandbox (see :mod:`lossbook.grader.batch`);
run it from the course root (where ``nbgrader_config.py`` is), or pass ``--course``.
"""

from __future__ import annotations

import sys

COMMANDS = {"grade": "autograde every submission of an assignment, in parallel and sandboxed"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        usage = "\n".join(f"  {name:8} {what}" for name, what in COMMANDS.items())
        print(f"usage: python -m lossbook COMMAND ...\n\ncommands:\n{usage}", file=sys.stderr)
        return 2
    from lossbook.grader.batch import main as grade

    return grade(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
