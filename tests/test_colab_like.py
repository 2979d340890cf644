"""Every chapter runs as on Colab: fresh runtime, notebook alone, gencore from its own set-up cell.

Driven by ``scripts/colab_like.py`` (see its docstring): a venv with Colab's package versions
as far as this machine allows (``tests/requirements-colab.txt``), the gencore wheel of this
checkout as the only package index, each notebook alone in an empty folder, Run all with
nbclient, then every slider demo moved once (its live view must update in place under
ipywidgets 7.7.1: a new image in the same widget, no added output).

It runs only when asked: ``make test-colab`` (which sets ``GENCORE_COLAB_TEST=1``), on two
workers, each with its own copy of the venv (kept in ``_build/colab/`` while
tests/requirements-colab.txt is unchanged).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import colab_like  # noqa: E402
import set_install_cell  # noqa: E402

NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("GENCORE_COLAB_TEST") != "1",
                       reason="the Colab-like run takes 15-25 minutes: make test-colab (GENCORE_COLAB_TEST=1)"),
]


# With pytest-xdist (make test-colab runs two workers) each worker builds its own wheel folder and
# venv (a copy of the first); GENCORE_SAVE_EXECUTED names a folder for the executed notebooks,
# which `make test` hands to the website build (scripts/cache_executed.py) so that CI executes
# each chapter once.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
SAVE = os.environ.get("GENCORE_SAVE_EXECUTED")


@pytest.fixture(scope="module")
def runtime():
    suffix = f"-{WORKER}" if WORKER else ""
    wheel = colab_like.build_wheel(colab_like.WORK / f"wheels{suffix}")
    exe = colab_like.colab_venv(colab_like.WORK / f"venv{suffix}")
    versions = colab_like.installed(exe)
    assert versions["ipywidgets"] == "7.7.1" and versions["numpy"].startswith("2.1.")
    assert versions["matplotlib"].startswith("3.10.")
    return exe, wheel.parent


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_runs_colab_style(nb, runtime):
    exe, wheels = runtime
    result = colab_like.run_chapter(nb, exe, wheels, save=Path(SAVE) / nb.name if SAVE else None)
    print(f"{nb.name}: {result['seconds']} s, sliders moved: {result.get('sliders_moved')}")
    assert "error" not in result, result["error"]
    assert result["returncode"] == 0
    assert result["gencore_installed"] == set_install_cell.read_version(), \
        "the set-up cell did not install gencore from the local wheel"
    assert result["changed_packages"] == [], "the set-up cell changed the runtime's packages"
    assert result["slider_problems"] == []
    assert result["ok"]


def test_the_slider_check_catches_a_stacking_demo(runtime, tmp_path):
    """The check has teeth: a demo that displays a new image on every move is reported."""
    import nbformat

    exe, wheels = runtime
    setup = set_install_cell.expected_install_text() + "\n\nimport gencore"
    stacking = (
        "from IPython.display import display\n"
        "from gencore.widgets import slider\n"
        "demo = slider(lambda fig, a: fig.add_subplot().plot([0, a]), a=(1, 2, 3))\n"
        "box = demo.widget()\n"
        "box.sliders[0].observe(lambda change: display(box.image), names='value')  # stacks\n"
        "demo"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(stacking)])
    path = tmp_path / "99_stacking.ipynb"
    nbformat.write(nb, path)
    result = colab_like.run_chapter(path, exe, wheels)
    assert result.get("sliders_moved") == 1, result
    assert any("added an output" in p for p in result["slider_problems"]), result
    assert not result["ok"]
