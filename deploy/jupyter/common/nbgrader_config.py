"""nbgrader settings every member of the classroom shares (deploy/classroom.py installs them)."""

import os

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "lossbook"
c.Exchange.root = os.path.join(os.environ["LOSSBOOK_CLASSROOM"], "exchange")
# Collect refuses (not just warns about) a submission in another student's name.
c.ExchangeFactory.collect = "lossbook.grader.exchange.OwnerCheckedCollect"
