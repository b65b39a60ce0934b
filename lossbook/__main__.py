"""Command line: ``python -m lossbook grade ASSIGNMENT`` and ``python -m lossbook report ASSIGNMENT``.

``grade`` autogrades a whole class in parallel, in a sandbox, then writes the class report;
``report`` writes it again (``--all``: every assignment, and the view across chapters). Run them
from the course root (where ``nbgrader_config.py`` is), or pass ``--course``. See
:mod:`lossbook.grader.cli`.
"""

import sys

from lossbook.grader.cli import main

if __name__ == "__main__":
    sys.exit(main())
