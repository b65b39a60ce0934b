"""nbgrader configuration for the lossbook course; every nbgrader command is run from the repo root.

- ``solutions/<assignment>/<notebook>.ipynb``: master copies with solutions and hidden tests.
- ``notebooks/<assignment>/``: the student release, made by ``make release``.
"""

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "lossbook"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# nbgrader's own Execute.timeout overrides ExecutePreprocessor.timeout: set this one.
# Every chapter runs in well under 10 s; 60 s per cell leaves room for a slow
# machine but still stops a runaway cell.
c.Execute.timeout = 60
