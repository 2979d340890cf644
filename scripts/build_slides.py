"""Render the lecture decks in ``slides/`` to reveal.js pages in ``_build/slides``, offline.

One deck per chapter, ``slides/NN_<stem>.md`` for ``book/NN_<stem>.ipynb``: markdown slides
separated by a line ``---``, ``$...$`` and ``$$...$$`` math (typeset by the site's own MathJax),
and a few references into the executed chapter, by cell ``id`` so that a deck does not break
when cells move:

- ``![alt text](cell:<id>)`` (or ``![alt](cell:<id> "300")`` for a figure 300 px high): the PNG
  the cell shows; for a slider cell, the frame it shows first, or ``cell:<id>?frame=<key>`` (the
  frame's ``data-key``, e.g. ``2,0``). The alt text is required and must describe the figure
  (a deck with an empty or "frame k" alt fails to build).
- ``{{output:<id>}}``: the text the cell prints (a numerical check), as a block.
- ``{{glue:<name>}}``: a number the chapter glues.
- ``[text](site:<anchor>)``: the chapter's page on the website (``_build/html``), at that
  section; ``[text](colab:)``: the chapter in Colab.
- ``|||`` on its own line starts a column (what comes before the first one spans the slide);
  ``Note:`` starts the speaker notes (press ``s`` in a deck).

Executed chapters are read from, in this order: ``--executed DIR``; ``_build/colab/executed``
(written by ``make test``); the build's jupyter-cache ``_build/.jupyter_cache`` (``make book``);
else the chapter is executed here (said on the terminal), and the copy is kept in
``_build/slides/_executed`` for the next build. A copy is used only if its code is the
chapter's code now. reveal.js comes from ``slides/_vendor/reveal`` (scripts/fetch_reveal.sh)
and MathJax from ``book/_static/mathjax`` (scripts/fetch_mathjax.sh); both are copied into the
output, so ``_build/slides`` is a folder a lecturer can carry to any classroom.

Usage: ``python scripts/build_slides.py [--executed DIR] [--out DIR] [NN ...]``
"""
from __future__ import annotations

import argparse
import base64
import html
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import nbformat
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parents[1]
DECKS = ROOT / "slides"
BOOK = ROOT / "book"
REVEAL = DECKS / "_vendor" / "reveal"
MATHJAX = BOOK / "_static" / "mathjax"
OUT = ROOT / "_build" / "slides"
COLAB_EXECUTED = ROOT / "_build" / "colab" / "executed"
CACHE = ROOT / "_build" / ".jupyter_cache"
SITE = "../html/book"  # the website, relative to _build/slides

CELL = re.compile(r"^cell:([0-9A-Za-z_-]+)(?:\?frame=([0-9,]+))?$")
TOKEN = re.compile(r"\{\{(output|glue):([0-9A-Za-z_-]+)\}\}")
SLIDER_IMG = re.compile(r'<img class="gs-frame" data-key="([0-9,]+)"[^>]*src="data:image/png;base64,([^"]+)"')
FRAMES_MIME = "application/vnd.gencore.frames+json"  # as gencore.live writes it
SLIDER_VALUE = re.compile(r'<input type="range"[^>]*value="([0-9]+)"')
WEAK_ALT = re.compile(r"^(frame\b.*|image|figure|plot|)$", re.IGNORECASE)


class DeckError(Exception):
    """A deck refers to something its chapter does not have, or lacks alt text."""


def decks(only: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in DECKS.glob("[0-9][0-9]_*.md"))
    return [p for p in found if not only or p.name[:2] in only]


def chapter_of(deck: Path) -> Path:
    return BOOK / f"{deck.stem}.ipynb"


def split_slides(text: str) -> list[str]:
    """The deck's slides: the text between lines that are exactly ``---``."""
    return [s.strip("\n") for s in re.split(r"^---[ \t]*$", text, flags=re.MULTILINE) if s.strip()]


def cell_refs(text: str) -> list[tuple[str, str | None]]:
    """Every ``cell:<id>`` (with its frame key or None) the deck shows as a figure."""
    return [(m.group(1), m.group(2)) for src in re.findall(r"!\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
            if (m := CELL.match(src))]


def token_refs(text: str) -> list[tuple[str, str]]:
    return TOKEN.findall(text)


def site_anchors(text: str) -> list[str]:
    return re.findall(r"\]\(site:([^)\s]*)\)", text)


# --- executed chapters -------------------------------------------------------------------

def code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def find_executed(chapter: Path, folders: list[Path], log=lambda message: None):
    """The chapter with outputs from the first folder (then the jupyter-cache) whose copy has the
    chapter's code now; None when there is none (nothing is executed here)."""
    source = nbformat.read(chapter, as_version=4)
    for folder in folders:
        candidate = folder / chapter.name
        if candidate.exists():
            nb = nbformat.read(candidate, as_version=4)
            if code(nb) == code(source) and [c.get("id") for c in nb.cells] == [c.get("id") for c in source.cells]:
                return nb
            log(f"  {candidate} is not the code of book/{chapter.name} now: not used")
    if (CACHE / "global.db").exists():
        from jupyter_cache import get_cache

        try:
            return get_cache(CACHE).merge_match_into_notebook(source)[1]
        except KeyError:
            pass
    return None


def executed_chapter(chapter: Path, folders: list[Path], log, keep: Path = OUT / "_executed") -> nbformat.NotebookNode:
    """The chapter with outputs (:func:`find_executed`), or executed here and kept in ``keep``."""
    found = find_executed(chapter, folders, log)
    if found is not None:
        return found
    source = nbformat.read(chapter, as_version=4)
    target = keep / chapter.name
    log(f"  no executed copy of {chapter.name}: executing it now (once; kept in {target.parent})")
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(source, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    log(f"  executed {chapter.name} in {time.perf_counter() - start:.0f} s")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(source, target)
    return source


def cell_png(nb, cell_id: str, frame: str | None) -> bytes:
    """The PNG that cell ``cell_id`` shows: one frame of its slider (the first one shown, or
    ``frame``; a live demo's frames ride in its output's metadata), else its image output."""
    cells = [c for c in nb.cells if c.get("id") == cell_id]
    if not cells:
        raise DeckError(f"no cell with id {cell_id}")
    outputs = [(o.get("data", {}), o.get("metadata", {})) for o in cells[0].get("outputs", [])]
    for data, meta in outputs:
        page = "".join(data.get("text/html", ""))
        if "gencore-slider" in page:
            frames = dict(SLIDER_IMG.findall(page))
            key = frame or ",".join(SLIDER_VALUE.findall(page))
            if key not in frames:
                raise DeckError(f"cell {cell_id}: its slider has no frame {key!r} (it has {sorted(frames)[:4]}…)")
            return base64.b64decode(frames[key])
        if FRAMES_MIME in meta and frame is not None:  # a live demo (gencore.live): its frames ride along
            if frame not in meta[FRAMES_MIME]:
                raise DeckError(f"cell {cell_id}: its live demo has no frame {frame!r} (it has {sorted(meta[FRAMES_MIME])[:4]}…)")
            return base64.b64decode(meta[FRAMES_MIME][frame])
    for data, _ in outputs:
        if "image/png" in data and frame is None:
            return base64.b64decode(data["image/png"])
    raise DeckError(f"cell {cell_id} shows no image" + (f" with frame {frame}" if frame else ""))


def cell_text(nb, cell_id: str) -> str:
    cells = [c for c in nb.cells if c.get("id") == cell_id]
    if not cells:
        raise DeckError(f"no cell with id {cell_id}")
    text = "".join("".join(o.get("text", "")) for o in cells[0].get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    if not text.strip():
        raise DeckError(f"cell {cell_id} prints nothing")
    return text.rstrip("\n")


def glued(nb, name: str) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                data = out.get("data", {})
                value = data.get("text/plain") or data.get("application/papermill.record/text/plain", "")
                return str(value).strip("'\"")
    raise DeckError(f"nothing is glued as {name!r}")


# --- rendering ---------------------------------------------------------------------------

def markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable("table")
    md.use(dollarmath_plugin, allow_labels=True, allow_space=True, double_inline=True)
    # MathJax's own delimiters, \( \) and \[ \]: a dollar sign in a check's output stays text.
    md.add_render_rule("math_inline", lambda self, tokens, i, o, e: rf"\({html.escape(tokens[i].content)}\)")

    def display(self, tokens, i, options, env):
        return rf"<p class='eq'>\[{html.escape(tokens[i].content)}\]</p>" + "\n"

    md.add_render_rule("math_block", display)
    md.add_render_rule("math_block_label", display)  # $$...$$ (label): the label is dropped
    return md


def colab_url(chapter: Path) -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    base = config["launch_buttons"]["colab_url"]
    return f"{base}/github/{repo}/blob/{branch}/book/{chapter.name}"


def render_deck(deck: Path, nb, out: Path) -> tuple[str, int]:
    """The deck's HTML (and its figures written under ``out/figures``); its title and slide count."""
    md = markdown()
    chapter = chapter_of(deck)
    figures = out / "figures" / deck.stem
    figures.mkdir(parents=True, exist_ok=True)
    text = deck.read_text(encoding="utf-8")
    text = TOKEN.sub(lambda m: ("\n```check\n" + cell_text(nb, m.group(2)) + "\n```\n") if m.group(1) == "output"
                     else glued(nb, m.group(2)), text)

    def image(self, tokens, i, options, env):
        tok = tokens[i]
        src, alt = tok.attrGet("src"), self.renderInlineAsText(tok.children, options, env).strip()
        if WEAK_ALT.match(alt) or len(alt) < 15:
            raise DeckError(f"{deck.name}: the figure {src} needs alt text that describes it (has {alt!r})")
        m = CELL.match(src)
        if m:
            name = m.group(1) + (f"-{m.group(2).replace(',', '-')}" if m.group(2) else "") + ".png"
            (figures / name).write_bytes(cell_png(nb, m.group(1), m.group(2)))
            src = f"figures/{deck.stem}/{name}"
        title = tok.attrGet("title") or ""  # a number: the figure's height in pixels on the slide
        style = f' style="height: {int(title)}px"' if title.isdigit() else ""
        return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}"{style}>'

    md.add_render_rule("image", image)
    sections = []
    for body in split_slides(text):
        body, _, notes = body.partition("\nNote:")
        body = re.sub(r"\]\(site:([^)\s]*)\)", lambda m: f"]({SITE}/{chapter.stem}.html#{m.group(1)})", body)
        body = body.replace("](colab:)", f"]({colab_url(chapter)})")
        head, *columns = [md.render(part) for part in re.split(r"^\|\|\|[ \t]*$", body, flags=re.MULTILINE)]
        inner = head + ('<div class="cols">' + "".join(f'<div class="col">{c}</div>' for c in columns) + "</div>"
                        if columns else "")
        aside = f'<aside class="notes">{md.render(notes)}</aside>' if notes.strip() else ""
        sections.append(f"<section>\n{inner}{aside}\n</section>")
    title = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    title = title.group(1).strip() if title else deck.stem
    page = TEMPLATE.format(title=html.escape(re.sub(r"\$[^$]*\$", "", title)), slides="\n".join(sections))
    page = page.replace('<pre><code class="language-check">', '<pre class="check"><code>')
    (out / f"{deck.stem}.html").write_text(page, encoding="utf-8")
    return title, len(sections)


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="stylesheet" href="reveal/reset.css">
<link rel="stylesheet" href="reveal/reveal.css">
<link rel="stylesheet" href="reveal/theme/white.css">
<link rel="stylesheet" href="slides.css">
<script>
window.MathJax = {{
  // An undefined macro is an error (mjx-merror), not red text that a test could miss.
  tex: {{inlineMath: [['\\\\(', '\\\\)']], displayMath: [['\\\\[', '\\\\]']], tags: 'none',
        packages: {{'[-]': ['noundefined']}}}},
  chtml: {{scale: 1.0}},
  startup: {{pageReady: () => MathJax.startup.defaultPageReady().then(() => {{
    document.body.classList.add('math-ready');
    if (window.Reveal && Reveal.isReady()) Reveal.layout();
  }})}}
}};
</script>
<script defer src="mathjax/tex-chtml.js"></script>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<script src="reveal/reveal.js"></script>
<script src="reveal/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({{hash: true, width: 1280, height: 720, margin: 0.04, center: false,
  slideNumber: 'c/t', transition: 'none', plugins: [RevealNotes]}});
</script>
</body>
</html>
"""

CSS = """/* The decks' look: one size of text a back row can read, figures that fit the slide. */
.reveal {font-size: 30px;}
.reveal .slides section {text-align: left; height: 100%;}
.reveal h1, .reveal h2, .reveal h3 {text-transform: none;}
.reveal h1 {font-size: 1.9em; margin-top: 1.2em;}
.reveal h2 {font-size: 1.35em; border-bottom: 2px solid #2a6fb0; padding-bottom: .15em; margin-bottom: .5em;}
.reveal h3 {font-size: 1.05em; color: #2a6fb0;}
.reveal p, .reveal li {line-height: 1.35;}
.reveal ul, .reveal ol {margin-left: 1.1em;}
.reveal li {margin: .2em 0;}
.reveal p.eq {text-align: center; margin: .35em 0;}
.reveal mjx-container[display="true"] {margin: .2em 0 !important;}
.reveal img {display: block; margin: .3em auto; width: 100%; height: 440px; object-fit: contain;
  border: 0; box-shadow: none;}
.reveal .cols {display: flex; gap: 1.2em; align-items: flex-start;}
.reveal .col {flex: 1 1 0; min-width: 0;}
.reveal .col img {height: 520px;}
.reveal pre.check {font-size: .7em; width: 100%; box-shadow: none; margin: .4em 0;}
.reveal pre.check code {background: #f3f6fa; border-left: 4px solid #2a6fb0; padding: .5em .8em;
  max-height: none; white-space: pre-wrap; font-family: "DejaVu Sans Mono", monospace; color: #222;}
.reveal blockquote {width: 100%; background: #f3f6fa; border-left: 4px solid #c0392b; box-shadow: none;
  font-style: normal; padding: .4em .8em; margin: .4em 0;}
.reveal table {font-size: .8em; margin: .4em auto;}
.reveal a {color: #1f5f9e; text-decoration: underline;}
.reveal .slide-number {font-size: 18px;}
"""

INDEX = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Deep Generative Models in 2D: lecture slides</title>
<style>body {{font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5; color: #222;}}
li {{margin: .3em 0;}} .n {{color: #666;}}</style></head>
<body>
<h1>Deep Generative Models in 2D: lecture slides</h1>
<p>One deck per chapter (arrow keys move; <kbd>s</kbd> opens the speaker notes, <kbd>f</kbd> full
screen, <kbd>Esc</kbd> the overview). Every figure is taken from the executed chapter; each deck
ends with a live demo on the <a href="../html/index.html">website</a> or in Colab.</p>
<ol start="0">
{items}
</ol>
</body>
</html>
"""


def copy_tree(src: Path, dst: Path) -> None:
    if not src.exists():
        raise SystemExit(f"{src} is missing: run `bash scripts/setup.sh` (or `make slides`)")
    if dst.exists() and (dst / "VERSION").exists() and (dst / "VERSION").read_text() == (src / "VERSION").read_text():
        return
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="two-digit chapter numbers (default: every deck)")
    parser.add_argument("--executed", type=Path, help="a folder of executed chapters (NN_<stem>.ipynb)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    copy_tree(REVEAL, out / "reveal")
    copy_tree(MATHJAX, out / "mathjax")
    (out / "slides.css").write_text(CSS)
    folders = [p for p in (args.executed, COLAB_EXECUTED, out / "_executed") if p is not None]
    start = time.perf_counter()
    built = []
    for deck in decks(args.chapters):
        nb = executed_chapter(chapter_of(deck), folders, print, out / "_executed")
        try:
            title, n = render_deck(deck, nb, out)
        except DeckError as exc:
            raise SystemExit(f"{deck.name}: {exc}") from None
        built.append((deck, title, n))
        print(f"  {deck.stem}.html: {n} slides")
    items = "\n".join(f'<li><a href="{d.stem}.html">{html.escape(re.sub(r"^[0-9]+[.] *", "", t))}</a> '
                      f'<span class="n">({n} slides)</span></li>' for d, (t, n) in _all_titles(out, built))
    (out / "index.html").write_text(INDEX.format(items=items), encoding="utf-8")
    print(f"{len(built)} decks in {out} ({time.perf_counter() - start:.1f} s)")
    return 0


def _all_titles(out: Path, built) -> list:
    """Titles of every deck in ``out`` (those built now and those from an earlier build)."""
    now = {d.stem: (t, n) for d, t, n in built}
    rows = []
    for deck in decks():
        page = out / f"{deck.stem}.html"
        if deck.stem in now:
            rows.append((deck, now[deck.stem]))
        elif page.exists():
            text = page.read_text(encoding="utf-8")
            title = html.unescape(re.search(r"<title>(.*?)</title>", text).group(1))
            rows.append((deck, (title, text.count("<section>"))))
    return rows


if __name__ == "__main__":
    sys.exit(main())
