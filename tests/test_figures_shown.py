"""Every figure a chapter makes is shown, not only the first one of the kernel.

In Jupyter the inline backend is loaded by the kernel's first figure, and loading it switches
pyplot's interactive mode on. ``gencore.viz`` makes figures inside a style context that restores
matplotlib's settings afterwards; restoring "interactive" too would switch it off again, and
Jupyter would then display no later figure of the session (the book showed one figure per
chapter that way). A real kernel runs a small notebook here and must show every figure.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    "from gencore import viz",
    "fig, ax = viz.figure()\nax.plot([0, 1], [0, 1]);",
    "fig, ax = viz.figure(2)\nax[0].plot([0, 1], [1, 0]);",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1]);",
    "fig, ax = viz.figure()\nax.set_title('after a plain pyplot figure');",
]


@pytest.mark.slow
def test_every_figure_of_a_kernel_is_shown(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    # nbclient starts the kernel with this process's environment
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert shown == [0, 1, 1, 1, 1], shown
