"""scripts/cache_executed.py: executed chapters reach the build's cache only if they are the chapter's code now."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import cache_executed  # noqa: E402

CHAPTER = ROOT / "book" / "01_kl.ipynb"


def executed_copy(folder: Path, edit: str = "") -> Path:
    """The chapter as an executed run leaves it: an output and nbclient's timing metadata per cell."""
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.metadata["gencore_executed_seconds"] = 12.5
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
            cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source += edit
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / CHAPTER.name)
    return folder


def test_an_executed_chapter_is_found_by_the_build(tmp_path, monkeypatch):
    from jupyter_cache import get_cache

    monkeypatch.setattr(cache_executed, "CACHE", tmp_path / "cache")
    assert cache_executed.main(executed_copy(tmp_path / "ran")) == 0
    cache = get_cache(tmp_path / "cache")
    # what myst-nb does with `execute_notebooks: cache`: match the chapter, merge the outputs in
    record = cache.match_cache_notebook(nbformat.read(CHAPTER, as_version=4))
    assert record is not None
    _, merged = cache.merge_match_into_notebook(nbformat.read(CHAPTER, as_version=4))
    code = [c for c in merged.cells if c.cell_type == "code"]
    assert code and all(c.outputs[0]["text"] == "ran\n" for c in code)
    assert record.data["execution_seconds"] == 12.5  # the book's exec_stats table shows it


def test_a_run_of_other_code_is_refused(tmp_path, monkeypatch, capsys):
    from jupyter_cache import get_cache

    monkeypatch.setattr(cache_executed, "CACHE", tmp_path / "cache")
    assert cache_executed.main(executed_copy(tmp_path / "ran", edit="\nx = 1")) == 1
    assert "not cached: 01_kl.ipynb" in capsys.readouterr().out
    with pytest.raises(KeyError):
        get_cache(tmp_path / "cache").match_cache_notebook(nbformat.read(CHAPTER, as_version=4))
