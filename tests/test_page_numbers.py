"""Numbers in a chapter's prose come from the page: glued from the cell that computes them.

Two static checks over ``book/*.ipynb``:

- every decimal number or percentage typed in a chapter's markdown is on that chapter's
  reviewed allowlist (``tests/typed_numbers.yml``: closed forms, constants, settings and
  papers' published figures), so a computed result cannot be typed by hand; a listed number
  that no longer appears must leave the list, so the list stays short;
- every ``{glue:...}`` role in the markdown names a key that a code cell of the same notebook
  glues, so a renamed key fails here rather than only in the website build.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
ALLOWLIST = yaml.safe_load((ROOT / "tests" / "typed_numbers.yml").read_text()) or {}

# A decimal (0.5, 12.75) or a percentage (43 %, 99%), not part of a word, label or version.
NUMBER = re.compile(r"(?<![\w.\-/])(?:\d+\.\d+|\d+(?:\.\d+)?\s?%)(?![\w.]\d)")
# Roles whose argument is a name, not prose: citations, references, glue keys.
ROLE = re.compile(r"\{(?:cite(?::\w+)?|eq|ref|numref|doc|prf:ref|glue(?::\w+)?)\}`[^`]*`")
GLUE_ROLE = re.compile(r"\{glue(?::(?:text|math|figure|any))?\}`([^`]*)`")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.M)
GLUE_CALL = re.compile(r"""\bglue\(\s*(?:f?["']([^"']+)["'])""")


def _markdown(nb_path: pathlib.Path) -> str:
    nb = json.loads(nb_path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _code(nb_path: pathlib.Path) -> str:
    nb = json.loads(nb_path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def typed_numbers(markdown: str) -> set[str]:
    """The decimal numbers and percentages typed in ``markdown``, as written (spaces removed)."""
    text = ROLE.sub("", markdown)
    text = re.sub(r"https?://\S+", "", text)
    return {m.replace(" ", "") for m in NUMBER.findall(text)}


def test_the_number_pattern_finds_results_and_skips_names():
    found = typed_numbers("KL 0.174 and 43 % of 8, eq. {eq}`eq-1.5`, {glue:text}`kl_0.5`, v0.1.0")
    assert found == {"0.174", "43%"}


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_typed_numbers_are_on_the_reviewed_allowlist(nb_path):
    allowed = {str(k).replace(" ", ""): v for k, v in (ALLOWLIST.get(nb_path.stem) or {}).items()}
    found = typed_numbers(_markdown(nb_path))
    unlisted = sorted(found - set(allowed))
    assert not unlisted, (
        f"{nb_path.name} types these numbers in its prose: {unlisted}. Glue a computed result "
        "from the cell that computes it ({glue:text}`key:.3f`); list a constant, setting or "
        "published figure with its reason in tests/typed_numbers.yml."
    )
    stale = sorted(set(allowed) - found)
    assert not stale, f"tests/typed_numbers.yml lists {stale} for {nb_path.stem}, no longer typed there"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_every_glue_reference_is_glued_on_the_same_page(nb_path):
    markdown = _markdown(nb_path)
    referenced = {key.split(":")[0] for key in GLUE_ROLE.findall(markdown) + GLUE_DIRECTIVE.findall(markdown)}
    glued = set(GLUE_CALL.findall(_code(nb_path)))
    dynamic = [k for k in glued if "{" in k]  # f-string keys: compare by prefix
    missing = sorted(k for k in referenced if k not in glued and not any(k.startswith(d.split("{")[0]) for d in dynamic))
    assert not missing, f"{nb_path.name} refers to glue keys no cell glues: {missing}"


def test_allowlist_names_only_existing_chapters():
    assert set(ALLOWLIST) <= {p.stem for p in CHAPTERS}
