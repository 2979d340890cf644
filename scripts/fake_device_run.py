"""Execute chapters with every tensor on a stand-in accelerator (tests/fakedevice.py).

    .venv/bin/python scripts/fake_device_run.py               # every chapter
    .venv/bin/python scripts/fake_device_run.py 06 08          # some of them

Each notebook runs in a fresh kernel whose first cell switches the stand-in device on, so
``gencore.device()`` is that device and any host tensor meeting a device tensor, any CPU generator
asked for device numbers and any ``.numpy()`` of a device tensor stops the chapter with the cell
and the line. This is what a reader's GPU would find, on a machine without one. Prints one line
a chapter (seconds, or the error) and exits non-zero if any chapter failed.
"""
from __future__ import annotations

import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SWITCH_ON = f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import fakedevice; fakedevice.enter()"


def run(path: pathlib.Path) -> tuple[float, str | None]:
    """Execute ``path`` on the stand-in device: its wall time and the error (None when it ran)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SWITCH_ON))
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        lines = str(err).splitlines()
        return time.perf_counter() - start, "\n".join(lines[-40:])
    return time.perf_counter() - start, None


def main(argv: list[str]) -> int:
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if argv:
        chapters = [p for p in chapters if p.name[:2] in argv]
    failed = 0
    for path in chapters:
        seconds, error = run(path)
        print(f"{path.name:32s} {seconds:7.1f} s  {'ok' if error is None else 'FAILED'}", flush=True)
        if error is not None:
            failed += 1
            print(error, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
