"""Hand executed chapters to the website build, so that CI runs each chapter once.

``make test`` first runs every chapter as a Colab reader would (``make test-colab`` with
``GENCORE_SAVE_EXECUTED=<folder>``), which writes each executed notebook into that folder. This
script stores them in the build's jupyter-cache (``_build/.jupyter_cache``, where myst-nb looks
when ``_config.yml`` says ``execute_notebooks: cache``), keyed as jupyter-cache keys them: by the
chapter's code cells. The build then takes their outputs instead of executing the chapters again.

A notebook is stored only if its code is the chapter's code in ``book/`` now; any other (an
older run, an edited chapter) is refused with a message and the script fails (the build would
execute that chapter a second time). ``make book`` empties the cache first and reads every page
again (``--all``), so a book built on its own executes every chapter against the gencore beside it.

Usage: ``python scripts/cache_executed.py <folder>``
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"  # myst-nb's default: beside the html output folder


def code(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def main(folder: Path) -> int:
    """Cache every executed chapter in ``folder`` that is the chapter's code now; report the rest."""
    cache = get_cache(CACHE)
    stored = refused = 0
    for executed in sorted(folder.glob("*.ipynb")):
        chapter = ROOT / "book" / executed.name
        nb = nbformat.read(executed, as_version=4)
        source = nbformat.read(chapter, as_version=4) if chapter.exists() else None
        if source is None or code(nb) != code(source) or len(nb.cells) != len(source.cells):
            print(f"not cached: {executed.name} is not the code of book/{executed.name} now")
            refused += 1
            continue
        for ran, cell in zip(nb.cells, source.cells):  # the key includes cell metadata; execution adds timings
            ran.metadata = cell.metadata
        seconds = nb.metadata.pop("gencore_executed_seconds", None)  # shown by the book's exec_stats page
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(chapter), data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)
        try:
            cache.match_cache_notebook(nbformat.read(chapter, as_version=4))
        except KeyError:
            raise SystemExit(f"{chapter.name}: cached, but the build would not find it") from None
        stored += 1
    print(f"{stored} executed chapters handed to the build ({CACHE}), {refused} refused")
    return 1 if refused else 0  # a refused chapter would be executed a second time by the build


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.split("Usage: ", 1)[1])
    sys.exit(main(Path(sys.argv[1])))
