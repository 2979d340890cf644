"""The question bank and the exams (book/questions, book/exams): every question has its key.

Each chapter's page holds at least ten exam-style questions, each an ``{exercise}`` with a label and
a kind (concept, derivation or computation) in its title, and each answered by a ``{solution}`` of
the same label, which the student edition drops. A backtick in a directive's title ends its
fence early and the key then renders as raw text with no warning, so titles may not have one, and
no page of a built site may show a raw directive.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BANK = sorted((ROOT / "book" / "questions").glob("q[0-9][0-9]_*.md"))
EXAMS = sorted((ROOT / "book" / "exams").glob("*.md"))
_OPEN = re.compile(r"^(`{3,}|:{3,})\{(exercise|solution)\}(.*)$", re.M)
_LABEL = re.compile(r"^:label: (\S+)$", re.M)


def _directives(text: str) -> list[tuple[str, str, str]]:
    """(name, argument, label) of every exercise/solution directive of a page."""
    out = []
    for m in _OPEN.finditer(text):
        rest = text[m.end():m.end() + 400]
        label = _LABEL.search(rest.split("\n\n", 1)[0])
        out.append((m[2], m[3].strip(), label[1] if label else ""))
    return out


def test_every_chapter_has_a_page_of_questions():
    chapters = sorted(p.stem[:2] for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert [p.stem[1:3] for p in BANK] == chapters
    assert {p.stem for p in EXAMS} == {"midterm", "final"}


@pytest.mark.parametrize("page", BANK + EXAMS, ids=lambda p: p.stem)
def test_every_question_has_its_key(page):
    found = _directives(page.read_text(encoding="utf-8"))
    questions = [(arg, label) for name, arg, label in found if name == "exercise"]
    keys = [arg for name, arg, _ in found if name == "solution"]
    labels = [label for _, label in questions]
    assert all(labels) and len(set(labels)) == len(labels), "every question needs its own :label:"
    assert sorted(keys) == sorted(labels), "each question is answered by exactly one {solution} of its label"
    assert not [arg for arg, _ in questions if "`" in arg], "a backtick in a title breaks the directive"
    if page in BANK:
        assert len(questions) >= 10
        kinds = {kind for arg, _ in questions for kind in ("Concept", "Derivation", "Computation") if kind in arg}
        assert kinds == {"Concept", "Derivation", "Computation"}
        assert all(any(k in arg for k in ("Concept", "Derivation", "Computation")) for arg, _ in questions)


def test_labels_are_unique_across_the_bank():
    labels = [label for page in BANK + EXAMS for _, _, label in _directives(page.read_text(encoding="utf-8")) if label]
    assert len(labels) == len(set(labels))


def test_no_directive_renders_as_raw_text():
    site = ROOT / "_build" / "html" / "book"
    pages = sorted((site / "questions").glob("*.html")) + sorted((site / "exams").glob("*.html"))
    if not pages:
        pytest.skip("the site is not built (make book)")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "{solution}" not in text and "{exercise}" not in text and ":label: q-" not in text, page.name
