"""nbgrader settings of the instructor's server and commands: the course lives in ~/lossbook.

Formgrader and the ``nbgrader`` commands then work on the course wherever they are started;
the course's own ``nbgrader_config.py`` (root ``.``) says the same when run from there.
"""

import os

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.root = os.path.expanduser("~/lossbook")
