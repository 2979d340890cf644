"""The README's headline table and benchmarks/RESULTS.md are generated from benchmarks/results.json."""
from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_table", ROOT / "benchmarks" / "table.py")
table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table)


def test_readme_headline_table_is_the_generated_one():
    rows = table.load_rows()
    readme = (ROOT / "README.md").read_text()
    assert readme == table.readme_with_table(readme, table.headline_table(rows)), (
        "README.md's headline table differs from results.json: run benchmarks/table.py --write")


def test_every_headline_row_exists_and_shows_its_floor_spread_where_measured():
    rows = table.load_rows()
    generated = table.headline_table(rows)
    for chapter, model, metric, label in table.HEADLINE:
        row = table.find(rows, chapter, model, metric)
        assert row is not None, f"no benchmark row for {chapter} / {model} / {metric}"
        assert label in generated
        if row.get("floor_sd") is not None:
            assert f"± {row['floor_sd']:.2g}" in generated


def test_results_md_is_the_generated_one():
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    assert table.full_table(table.load_rows()) in text, "RESULTS.md is stale: run benchmarks/table.py --write"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glued_numbers_are_read_as_myst_nb_stores_them_and_compared_across_devices():
    import nbformat

    run, compare = _load("run"), _load("compare_devices")
    prefix = "application/papermill.record/"
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={prefix + "text/plain": "0.031"},
                                           metadata={"scrapbook": {"name": "kl", "mime_prefix": prefix}}),
                    nbformat.v4.new_output("display_data", data={"text/plain": "not glued"})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert run.glued_values(nb) == {"kl": "0.031"}
    row = dict(metric="notebook wall time", value=30.0, device="cpu")
    a = {"06": row | {"glued": {"kl": "0.031", "n": "8"}}}
    b = {"06": row | {"value": 6.0, "device": "cuda", "glued": {"kl": "0.032", "n": "8"}}}
    lines = compare.compare(a, b)
    assert "5.00" in lines[1] and "1 of 2" in lines[1]
    assert lines[2].strip() == "kl: 0.031 | 0.032"
