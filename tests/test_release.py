"""notebooks/ must be exactly what `nbgrader generate_assignment` makes from solutions/."""

import json

import pytest

from tests.course import ASSIGNMENTS, ROOT, make_course, nbgrader

VOLATILE_METADATA = ("widgets", "execution", "collapsed", "scrolled", "jupyter", "vscode")


def normalised(path):
    """The notebook's content, minus metadata that editors rewrite without changing anything."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for key in VOLATILE_METADATA:
            cell.get("metadata", {}).pop(key, None)
    for key in VOLATILE_METADATA + ("language_info",):
        nb.get("metadata", {}).pop(key, None)
    return nb


def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_course_has_chapters():
    assert ASSIGNMENTS, "solutions/ has no assignments"
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()) == ASSIGNMENTS


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_matches_nbgrader_output(tmp_path, assignment):
    course = make_course(tmp_path, [assignment])
    nbgrader(course, "generate_assignment", assignment, "--force")
    generated_dir, committed_dir = (
        course / "notebooks" / assignment,
        ROOT / "notebooks" / assignment,
    )
    generated = files_under(generated_dir)
    assert files_under(committed_dir) == generated, (
        f"notebooks/{assignment} holds different files from what nbgrader generates: run `make release`"
    )
    for name in generated:
        if name.suffix != ".ipynb":
            continue
        fresh, kept = generated_dir / name, committed_dir / name
        assert normalised(kept) == normalised(fresh), (
            f"{kept.relative_to(ROOT)} differs from nbgrader's output for solutions/{assignment}: "
            f"edit solutions/, then run `make release`"
        )
