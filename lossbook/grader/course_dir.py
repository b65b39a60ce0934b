"""The course folder as nbgrader configures it: its config, and where solutions and releases live."""

from __future__ import annotations

from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def course_config(course: Path) -> Config:
    """The course's ``nbgrader_config.py`` (empty if it has none)."""
    config_file = Path(course) / "nbgrader_config.py"
    if not config_file.exists():
        return Config()
    return PyFileConfigLoader(config_file.name, path=str(course)).load_config()


def folders(course: Path) -> CourseDirectory:
    """nbgrader's view of the course's folders (``source_directory``, ``release_directory``...)."""
    config = course_config(course)
    config.CourseDirectory.root = str(course)
    return CourseDirectory(config=config)
