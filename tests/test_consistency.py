"""The repository agrees with itself: table of contents, notebooks, install cells, links, labels."""
from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest
import yaml

import gencore

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import set_install_cell  # noqa: E402
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def toc_files(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root"):
                yield value
            else:
                yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


def test_every_toc_entry_exists():
    files = list(toc_files(TOC))
    assert "book/01_kl" in files
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f


def test_every_chapter_is_in_the_toc():
    files = set(toc_files(TOC))
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in files, nb.name


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(nb):
    cells = json.loads(nb.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and not cell.get("execution_count"), f"{nb.name} has stored outputs"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_matches_repository_and_version(nb):
    """The set-up cell's install part is exactly what scripts/set_install_cell.py writes.

    It pins gencore at ``gencore.__version__`` (PyPI first, then the git tag of the repository
    named in _config.yml) and takes the dependencies' lower bounds from pyproject.toml. After a
    version bump or a new URL, run ``python scripts/set_install_cell.py``.
    """
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    first = "".join(cells[0]["source"])
    urls = re.findall(r"git\+(https://[^@\"']+)@v([0-9][^\"'\s]*)", first)
    assert urls, f"the first code cell of {nb.name} must install gencore from the repository"
    url, version = urls[0]
    assert url.rstrip("/") == REPO_URL, f"{nb.name} installs from {url}, _config.yml says {REPO_URL}"
    assert version == gencore.__version__, f"{nb.name} pins v{version}, gencore is {gencore.__version__}"
    assert f'"gencore=={gencore.__version__}"' in first, f"{nb.name} must try PyPI's gencore {gencore.__version__} first"
    install, rest = set_install_cell.split_setup_cell(first)
    want = set_install_cell.install_text(gencore.__version__, REPO_URL, set_install_cell.read_lower_bounds(ROOT),
                                         set_install_cell.read_dist_name(ROOT))
    assert install == want, f"{nb.name}: the install part is out of date; run python scripts/set_install_cell.py"
    assert "gencore.device()" in rest


def test_version_is_set_in_one_place_and_has_a_changelog_entry():
    """gencore/__init__.py holds the version; pyproject.toml reads it; CHANGELOG.md describes it."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"], "pyproject.toml must not repeat the version"
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gencore.__version__"}
    assert set_install_cell.read_version(ROOT) == gencore.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[?{re.escape(gencore.__version__)}\]?", changelog, re.M), \
        f"CHANGELOG.md has no '## {gencore.__version__}' section"


def test_colab_launch_buttons_are_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert REPO_URL.startswith("https://github.com/")
    assert CONFIG["repository"]["branch"] == "main"


def test_built_pages_link_to_colab_at_the_repository():
    site = ROOT / "_build" / "html" / "book"
    if not site.exists():
        pytest.skip("website not built (make book); the browser tests require it anyway")
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    for nb in NOTEBOOKS:
        html = (site / f"{nb.stem}.html").read_text()
        want = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/book/{nb.name}"
        assert want in html, f"{nb.stem}.html has no Colab link to {want}"


def test_readme_and_intro_use_the_same_repository():
    for doc in ("README.md", "book/intro.md"):
        text = (ROOT / doc).read_text()
        found = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text))
        assert found and found == {REPO_URL}, (doc, found)


def test_docstring_labels_exist_in_the_book():
    labels = set()
    for nb in NOTEBOOKS:
        labels |= set(re.findall(r"\(((?:eq|thm|prop|ex)-[\w-]+)\)", nb.read_text()))
        labels |= set(re.findall(r":label: ((?:eq|thm|prop|ex)-[\w-]+)", nb.read_text()))
    for module in (ROOT / "gencore").rglob("*.py"):
        for ref in re.findall(r"``((?:eq|thm|prop)-[\w-]+)``", module.read_text()):
            assert ref in labels, f"{module.name} names {ref}, which no chapter defines"


def test_requirements_pin_torch_and_jupyter_book_1():
    req = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", req, re.M)
    assert re.search(r"^jupyter-book==1\.", req, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch>=2.2"' in pyproject


def test_wheel_ships_every_module(tmp_path):
    """`pip install .` must install the whole package, subpackages included."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    str(ROOT), "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("gencore-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    here = {str(p.relative_to(ROOT)) for p in (ROOT / "gencore").rglob("*.py")}
    assert here <= shipped, f"missing from the wheel: {sorted(here - shipped)}"
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
                if line.startswith("Requires-Dist")]
    assert "Requires-Dist: torch>=2.2" in requires and not any("==" in r for r in requires)


def test_bibliography_parses_without_duplicate_keys():
    import pybtex.database

    text = (ROOT / "book" / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.M)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert set(pybtex.database.parse_string(text, "bibtex").entries) == set(keys)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_answers_an_exercise_on_the_same_page(nb):
    text = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown")
    exercises = set(re.findall(r"`{3,}\{exercise\}[^\n]*\n:label: (\S+)", text))
    solutions = re.findall(r"`{3,}\{solution\} (\S+)", text)
    assert len(exercises) >= 3, f"{nb.name} has {len(exercises)} exercises"
    assert set(solutions) <= exercises, f"{nb.name}: solutions without their exercise: {set(solutions) - exercises}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_closing_fence_is_glued_to_text(nb):
    """A line like "``` For the Gaussian," opens a code block in the language 'For' and swallows the page."""
    for cell in json.loads(nb.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            bad = re.findall(r"^(?:`{3,}|:{3,})[ \t]+\S[^\n]*$", "".join(cell["source"]), re.M)
            assert not bad, f"{nb.name}: a fence followed by text on its line: {bad}"
