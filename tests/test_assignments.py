"""The autograded assignments grade as they should (issue 21, item 2).

For every master notebook ``assignments/NN_*/NN_*.ipynb``: ``otter assign`` splits it into the
student notebook (public tests only) and the autograder (solutions and hidden tests); the
solution notebook, graded by ``assignments/grade.py`` (``otter run``'s grading, no Docker),
scores full marks on every test, hidden ones included; the blank student notebook scores zero
on every hidden test; and nothing of the solutions or hidden tests reaches the student's folder.
Each grading executes a notebook in a fresh kernel (a few seconds each, at one thread).
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MASTERS = sorted(ROOT.glob("assignments/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

# otter 7.0 calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates: its warning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")
pytest.importorskip("otter", reason="otter-grader is in requirements.txt; this environment lacks it")
sys.path.insert(0, str(ROOT / "assignments"))
sys.path.insert(0, str(ROOT / "scripts"))
import grade  # noqa: E402
import set_install_cell  # noqa: E402


def test_one_assignment_per_chapter():
    assert [p.stem for p in MASTERS] == CHAPTERS
    for master in MASTERS:
        assert master.parent.name == master.stem
        nb = json.loads(master.read_text())
        outputs = [c for c in nb["cells"] if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
        assert not outputs, f"{master.name}: commit the master notebook without outputs"
        config = "".join(nb["cells"][0]["source"])
        assert config.startswith("# ASSIGNMENT CONFIG") and f"name: {master.stem}" in config
        raw = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "raw"]
        written = [r for r in raw if r.startswith("# BEGIN QUESTION") and "manual: true" in r]
        assert written and all(re.search(r"^points: \d", r, re.M) for r in written), \
            f"{master.name}: a written question, with its points, graded by hand"


def test_setup_cells_install_the_pinned_gencore_and_otter():
    """On Colab the first code cell installs what the grader needs: the chapters' own install
    text (gencore at this release) and otter-grader at requirements.txt's pin."""
    pin = re.search(r"^otter-grader==([\w.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    install = set_install_cell.expected_install_text()
    for master in MASTERS:
        code = [c for c in json.loads(master.read_text())["cells"] if c["cell_type"] == "code"]
        first = "".join(code[0]["source"])
        assert first.startswith(install), f"{master.name}: its set-up cell is not the chapters' install text"
        assert f'pip("otter-grader=={pin}")' in first and f'found("otter-grader") != "{pin}"' in first
        assert "grader = otter.Notebook()" in first  # no file name: a renamed submission still grades


@pytest.fixture(scope="module")
def kernel_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_solution_full_marks_student_zero_on_hidden(master, tmp_path, kernel_env, monkeypatch):
    dist = tmp_path / master.stem
    subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests", "--no-pdfs", master.name, str(dist)],
                   cwd=master.parent, env=kernel_env, check=True, capture_output=True, text=True)
    student = dist / "student"
    leaked = [p.name for p in student.rglob("*") if p.is_file() and any(
        marker in p.read_text(errors="ignore") for marker in ("BEGIN SOLUTION", "'hidden': True", "**Answer.**"))]
    assert not leaked, f"solutions or hidden tests in the student folder: {leaked}"

    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONPATH"):  # the grading kernel inherits them
        monkeypatch.setenv(key, kernel_env[key])
    submission = tmp_path / "submission.ipynb"  # as handed in: renamed
    submission.write_bytes((dist / "autograder" / master.name).read_bytes())
    solved = grade.grade(dist, submission)
    assert solved, "no autograded questions"
    for name, q in solved.items():
        assert q["score"] == q["possible"] > 0, f"{master.stem} {name}: solution scores {q['score']}/{q['possible']}"
        assert any(hidden for hidden, _ in q["cases"]), f"{master.stem} {name}: no hidden test"

    blank = grade.grade(dist, student / master.name)
    for name, q in blank.items():
        passed_hidden = [i for i, (hidden, ok) in enumerate(q["cases"]) if hidden and ok]
        assert not passed_hidden, f"{master.stem} {name}: the blank notebook passes hidden tests {passed_hidden}"
    assert sum(q["score"] for q in blank.values()) == 0
