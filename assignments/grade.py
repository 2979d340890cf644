"""Grade submitted notebooks of one assignment locally, without Docker, and write a CSV.

``otter grade`` runs each submission in a Docker container; this does what ``otter run`` does
(the submission executed in this Python environment, then every test, hidden ones included)
for a whole folder of submissions, one after another, and tabulates the points per question.

    python assignments/grade.py _build/assignments/01_kl submissions/ -o scores.csv

The first argument is the assignment's folder written by ``make assignments`` (it holds
``autograder/<name>-autograder_<time>.zip``); the second is a folder of ``.ipynb`` files (or one
file). Written questions are graded by hand: they are not in the table. Run it in the
environment the course uses (``.venv``: torch, gencore and otter-grader are there).
"""
from __future__ import annotations

import argparse
import csv
import pathlib
import sys


def autograder_zip(folder: pathlib.Path) -> pathlib.Path:
    """The newest autograder zip ``otter assign`` wrote under ``folder/autograder``."""
    found = sorted((folder / "autograder").glob("*-autograder_*.zip"))
    if not found:
        raise FileNotFoundError(f"no autograder zip under {folder / 'autograder'}: run make assignments first")
    return found[-1]


def grade(folder: pathlib.Path, submission: pathlib.Path) -> dict[str, dict]:
    """Per question: its score, its possible points, and the pass/fail of each test case."""
    from otter.api import grade_submission  # imported here so --help works without otter

    results = grade_submission(str(submission), str(autograder_zip(folder)), quiet=True)
    return {name: {"score": r.score, "possible": r.possible,
                   "cases": [(case.test_case.hidden, case.passed) for case in r.test_case_results]}
            for name, r in sorted(results.results.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", type=pathlib.Path, help="the assignment's folder from make assignments")
    parser.add_argument("submissions", type=pathlib.Path, help="a folder of .ipynb files, or one file")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("scores.csv"))
    args = parser.parse_args(argv)
    files = sorted(args.submissions.glob("*.ipynb")) if args.submissions.is_dir() else [args.submissions]
    rows = []
    for path in files:
        scores = grade(args.assignment, path)
        row = {"submission": path.name}
        row.update({name: s["score"] for name, s in scores.items()})
        row["total"] = sum(s["score"] for s in scores.values())
        row["possible"] = sum(s["possible"] for s in scores.values())
        rows.append(row)
        print(f"{path.name}: {row['total']:g} / {row['possible']:g}")
    if rows:
        with open(args.output, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
