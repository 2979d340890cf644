"""The student edition (scripts/build_student.py) is sealed: no solution anywhere a student can reach.

A student reaches the student site (every page: HTML, search index, copied sources, every text
file), the executed outputs on its pages (among them the exercise stubs' checker messages), and
the notebooks its Colab buttons open (the student tree, published to the ``student`` branch).
The slow test builds the student site **with** the chapters' outputs, and checks all of these
for the solutions' phrases, code lines and formulas. A **control** runs the same search on the
instructor site, which must find them, and checks that its Colab buttons open ``main``.

Execution costs nothing here: the student notebooks have the chapters' code cells, unchanged,
and jupyter-cache keys an executed notebook by its code cells, so the build takes its outputs
from a copy of the book's cache, ``_build/.jupyter_cache``, which ``make test`` fills from the
Colab-style run of the chapters (``scripts/cache_executed.py``). Without those executed
chapters (a unit-test run outside ``make test``) the test is skipped, with the command that
fills the cache. The control uses ``make test``'s instructor site, ``_build/html``, or builds its
own from the same cache. Measured on the shared 2-core machine (load 9): 44 s with ``_build/html``
there, 90-120 s building both sites.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_student  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
OWNER_REPO = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
PAGES = sorted(p for p in (ROOT / "book").rglob("*") if p.suffix in {".ipynb", ".md"}
               and not (build_student.SKIP & set(p.relative_to(ROOT).parts)))

# A directive block ```{name} ... ``` or :::{name} ... ::: with 3 or more fence characters.
_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|solution)\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.S | re.M)


def _markdown(page: Path) -> str:
    if page.suffix == ".md":
        return page.read_text(encoding="utf-8")
    cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _blocks(name: str) -> dict[str, list[str]]:
    """Body text of every `{name}` directive, per page of the book (chapters, question bank, ...)."""
    return {str(p.relative_to(ROOT)): [m["body"] for m in _BLOCK.finditer(_markdown(p)) if m["name"] == name]
            for p in PAGES}


def _text_outside_solutions() -> str:
    """The markdown of every page with its `{solution}` blocks cut out, and the chapters' code."""
    parts = [_BLOCK.sub(lambda m: m[0] if m["name"] == "exercise" else " | ", _markdown(p)) for p in PAGES]
    for nb in CHAPTERS:
        parts += ["".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                  if c["cell_type"] == "code"]
    return "\n".join(parts)


def _phrases(body: str) -> list[str]:
    """Runs of at least five plain words (no math, code, roles or markup) in a directive body."""
    body = re.sub(r"^:\w[\w-]*:.*$", " ", body, flags=re.M)            # directive options
    body = re.sub(r"```.*?```", " | ", body, flags=re.S)                # code blocks
    body = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|\{\w+\}`[^`]*`|`[^`]*`", " | ", body, flags=re.S)
    runs = re.split(r"[^A-Za-z' ]+", body.replace("\n", " "))
    return [" ".join(r.split()) for r in runs if len(r.split()) >= 5]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _code_and_math(body: str) -> list[str]:
    """The solution's code lines and formulas, without spaces (highlighting splits code into spans)."""
    found = []
    for block in re.findall(r"```[\w-]*\n(.*?)```", body, flags=re.S):
        found += [line for line in block.splitlines() if len(_squash(line)) >= 16]
    found += [a or b for a, b in re.findall(r"\$\$(.*?)\$\$|\$([^$]+)\$", body, flags=re.S)]
    return [_squash(s) for s in found if len(_squash(s)) >= 16]


def _secrets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(page, phrase) and (page, squashed code line or formula) of the solutions that the book
    writes nowhere else (a phrase also in an exercise or the prose is no leak)."""
    public = " ".join(_text_outside_solutions().split())
    public_squashed = _squash(public)
    public = " ".join(re.sub(r"[*_]+", "", public).split())  # emphasis: the prose's **word** is "word"
    phrases, code = [], []
    for page, bodies in _blocks("solution").items():
        for body in bodies:
            phrases += [(page, p) for p in _phrases(body) if p not in public]
            code += [(page, c) for c in _code_and_math(body) if c not in public_squashed]
    return phrases, code


def _readable(path: Path) -> str:
    text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8", errors="replace"))
    text = html.unescape(text).replace("\u2019", "'").replace("\u2018", "'")  # smart quotes
    return text


def _site_files(html_dir: Path) -> list[Path]:
    """Every text file of a built site but the theme's and MathJax's assets."""
    return [p for p in html_dir.rglob("*") if p.is_file() and p.suffix not in {".png", ".jpg", ".svg", ".woff",
            ".woff2", ".ttf", ".eot", ".ico", ".gif", ".pickle", ".doctree", ".inv"}
            and not ("_static" in p.relative_to(html_dir).parts and p.name != "documentation_options.js")]


def _found(texts: dict[str, str], phrases, code) -> list[tuple[str, str, str]]:
    """(file, page of the solution, what) for every solution phrase or code line in ``texts``."""
    hits = []
    for name, text in texts.items():
        normal, squashed = " ".join(text.split()), _squash(text)
        hits += [(name, page, p) for page, p in phrases if p in normal]
        hits += [(name, page, c) for page, c in code if c in squashed]
    return hits


# ---------------------------------------------------------------------------------------- fast
def test_student_config_changes_only_what_the_edition_needs():
    student = build_student.student_config(CONFIG, execute=False)
    assert student["repository"]["branch"] == "student" and CONFIG["repository"]["branch"] == "main"
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert student["execute"]["execute_notebooks"] == "off"
    assert "hide_solutions" not in CONFIG["sphinx"]["config"], "the book's config was modified"
    for key in ("bibtex_bibfiles", "parse", "launch_buttons", "html", "only_build_toc_files", "exclude_patterns"):
        assert student[key] == CONFIG[key], key
    assert {k: v for k, v in student["repository"].items() if k != "branch"} == \
        {k: v for k, v in CONFIG["repository"].items() if k != "branch"}


def test_strip_solutions_removes_every_form():
    text = ("Intro.\n\n````{solution} ex-a\n:class: dropdown\n\nSecret one.\n\n```python\nsecret = 2\n```\n````\n\n"
            ":::{solution} ex-b\nSecret two.\n:::\n\n```{exercise}\n:label: ex-c\nKept.\n```\n\n"
            "```{solution-start} ex-c\n```\nSecret three.\n```{solution-end}\n```\nAfter.\n")
    out, gated, removed = build_student.strip_solutions(text)
    assert removed == 3 and not gated
    assert "Secret" not in out and "secret" not in out
    assert "Intro." in out and "Kept." in out and "After." in out and "{exercise}" in out


def test_student_notebooks_keep_the_code_and_lose_the_solutions(tmp_path):
    removed = build_student.write_tree(tmp_path)
    assert sum(removed.values()) == sum(len(b) for b in _blocks("solution").values())
    for nb in CHAPTERS:
        mine, theirs = (nbformat.read(p, as_version=4) for p in (nb, tmp_path / "book" / nb.name))
        code = [(c.source, c.metadata) for c in mine.cells if c.cell_type == "code"]
        assert [(c.source, c.metadata) for c in theirs.cells if c.cell_type == "code"] == code, nb.name
        assert all(not c.get("outputs") for c in theirs.cells if c.cell_type == "code"), nb.name
        assert "{solution" not in (tmp_path / "book" / nb.name).read_text(encoding="utf-8"), nb.name
    assert yaml.safe_load((tmp_path / "_config.yml").read_text())["repository"]["branch"] == "student"
    assert (tmp_path / "_toc.yml").read_text() == (ROOT / "_toc.yml").read_text()


def test_no_gated_solutions():
    """The book writes a solution as one {solution} block of markdown (code in a ```python fence
    inside it): a gated solution (``solution-start`` ... cells ... ``solution-end``) would take
    code cells out of the student notebook, which would then no longer match its executed copy."""
    for nb in CHAPTERS:
        text = "".join("".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"])
        assert "{solution-start}" not in text, f"{nb.name} uses a gated solution"


def test_every_chapter_has_solution_phrases():
    solutions = _blocks("solution")
    assert all(solutions[f"book/{nb.name}"] for nb in CHAPTERS if nb.stem != "00_overview")
    phrases, code = _secrets()
    assert len(phrases) >= 20 and len(code) >= 20, (len(phrases), len(code))


# ---------------------------------------------------------------------------------------- slow
def _executed_cache(tmp_path: Path, tree: Path) -> Path:
    """A copy of the book's jupyter-cache holding every student notebook's executed copy, or skip."""
    from jupyter_cache import get_cache
    cache_dir = ROOT / "_build" / ".jupyter_cache"
    why = ("needs the chapters executed into _build/.jupyter_cache (make test does it; or "
           "python scripts/cache_executed.py <folder of executed chapters>)")
    if not cache_dir.exists():
        pytest.skip(why)
    copy = tmp_path / "instructor" / "_build" / ".jupyter_cache"  # where an instructor build there looks
    shutil.copytree(cache_dir, copy)
    cache = get_cache(copy)
    for nb in CHAPTERS:
        try:
            cache.match_cache_notebook(nbformat.read(tree / "book" / nb.name, as_version=4))
        except KeyError:
            pytest.skip(f"{nb.name} has no executed copy for its code now: {why}")
    return copy


def _build(args: list[str], what: str) -> None:
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0 and "build succeeded" in run.stdout, \
        f"{what}:\n" + run.stdout[-3000:] + run.stderr[-3000:]
    assert "Executing" not in run.stdout, f"{what} executed a chapter instead of taking it from the cache"


@pytest.mark.slow
def test_student_edition_is_sealed_and_the_instructor_edition_is_not(tmp_path):
    tree = tmp_path / "student"
    build_student.write_tree(tree)
    cache = _executed_cache(tmp_path, tree)
    _build([sys.executable, str(ROOT / "scripts" / "build_student.py"), "--out", str(tree), "--cache", str(cache)],
           "student build")
    site = tree / "_build" / "html"
    instructor = ROOT / "_build" / "html"
    if not (instructor / "book" / f"{CHAPTERS[0].stem}.html").exists():  # make test builds it; else build it here,
        # from the same copy of the cache (myst-nb's default: beside the html output folder)
        _build([str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output",
                str(tmp_path / "instructor"), "--builder", "html", "-W", "-n", "--keep-going"], "instructor build")
        instructor = tmp_path / "instructor" / "_build" / "html"
        shutil.rmtree(tmp_path / "instructor" / "_build" / "jupyter_execute", ignore_errors=True)

    phrases, code = _secrets()
    student_texts = {str(p.relative_to(tree)): _readable(p) for p in _site_files(site)}
    student_texts |= {str(p.relative_to(tree)): p.read_text(encoding="utf-8") for p in (tree / "book").rglob("*")
                      if p.suffix in {".ipynb", ".md"}}
    assert any(name.endswith("searchindex.js") for name in student_texts)
    normal = " ".join(" ".join(student_texts.values()).split())

    # The exercises are all there (so the search can find text), and no solution is.
    for page, bodies in _blocks("exercise").items():
        for body in bodies:  # (an exercise of formulas alone has no phrase to look for)
            found = _phrases(body)
            assert not found or any(p in normal for p in found), f"an exercise of {page} is missing"
    leaked = _found(student_texts, phrases, code)
    assert not leaked, f"solutions in the student edition: {leaked[:5]}"
    assert "Solution to" not in normal and "{solution" not in normal

    # The pages show the executed stubs' checker verdicts, and none of them gives the answer away.
    from test_check import CHECKERS, _norm
    for nb in CHAPTERS:
        page = (site / "book" / f"{nb.stem}.html").read_text(encoding="utf-8")
        module = re.search(r"gencore\.exercises\.(\w+)\.check_", nb.read_text(encoding="utf-8"))[1]
        verdicts = re.findall(r"<b>Not yet\.</b>(.*?)</div>", page, flags=re.S)
        assert verdicts, f"{nb.stem}: no executed checker output on the student page"
        for verdict in verdicts:
            said = _norm(html.unescape(verdict))
            assert not [t for t in CHECKERS[module][3] if _norm(t) in said], (nb.stem, verdict)
        # Colab opens the student notebook, on the student branch, at the path it has in the tree.
        links = set(re.findall(r"https://colab\.research\.google\.com/github/[^\"'<> ]+", page))
        assert links == {f"https://colab.research.google.com/github/{OWNER_REPO}/blob/student/book/{nb.name}"}, links
        assert (tree / "book" / nb.name).exists()
    assert "/blob/main/" not in normal

    # Control: the same search finds the solutions in the instructor's site, whose Colab opens main.
    instructor_texts = {str(p): _readable(p) for p in _site_files(instructor)}
    found = _found(instructor_texts, phrases, code)
    assert {what for _, _, what in found} == {what for _, what in phrases + code}, \
        "the instructor site lacks solution text the book has (is _build/html older than book/? make book-build)"
    assert {page for _, page, _ in found} == {page for page, _ in phrases + code}
    assert {f"book/{nb.name}" for nb in CHAPTERS if nb.stem != "00_overview"} <= {page for page, _ in phrases + code}
    for nb in CHAPTERS:
        page = (instructor / "book" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert f"https://colab.research.google.com/github/{OWNER_REPO}/blob/main/book/{nb.name}" in page
        assert "/blob/student/" not in page


def test_release_publishes_the_student_tree_to_the_student_branch():
    """The student site's Colab buttons open .../blob/student/...: a release must put the tree there."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in wf["jobs"].values()
              if any("build_student.py --tree-only" in s.get("run", "") for s in j.get("steps", []))]
    assert job["permissions"] == {"contents": "write"}
    push = "\n".join(s.get("run", "") for s in job["steps"])
    assert re.search(r"git push --force \S+ student$", push, re.M), push
    assert build_student.BRANCH == "student"
