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
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SWITCH_ON = f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import fakedevice; fakedevice.enter()"
# After the last cell: how many of the chapter's global tensors (and modules' parameters) live on
# the device, so that "ok" for a chapter that kept everything on the host is not mistaken for a pass.
CENSUS = """
import torch as _torch
_on = _off = 0
for _v in list(globals().values()):
    _ts = [_v] if isinstance(_v, _torch.Tensor) else list(_v.parameters()) if isinstance(_v, _torch.nn.Module) else []
    for _t in _ts:
        if isinstance(_t, fakedevice.OnDevice): _on += 1
        else: _off += 1
print(f"CENSUS {_on} {_off}")
"""


def short_traceback(text: str) -> str:
    """The failing cell, then only the frames in the book and gencore (each with its marked line)."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    cell_end = next((i for i, line in enumerate(lines[3:], 3) if line.startswith("-----")), 0)
    keep, frame = lines[: cell_end + 1], False
    for line in lines[cell_end + 1 : -1]:
        if line.startswith(("File ", "Cell In")):
            frame = "site-packages" not in line and "fakedevice.py" not in line
            if frame:
                keep.append(line)
        elif frame and line.lstrip().startswith("-->"):
            keep.append(line)
    return "\n".join(keep + lines[-1:])


def run(path: pathlib.Path) -> tuple[float, str | None, tuple[int, int]]:
    """Execute ``path`` on the stand-in device: its wall time, the error (None when it ran), and
    how many of its global tensors (and parameters) ended on the device and on the host."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SWITCH_ON))
    nb.cells.append(nbformat.v4.new_code_cell(CENSUS))
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        return time.perf_counter() - start, short_traceback(str(err)), (0, 0)
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    on, off = text.split()[1:3]
    return seconds, None, (int(on), int(off))


def main(argv: list[str]) -> int:
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if argv:
        chapters = [p for p in chapters if p.name[:2] in argv]
    failed = 0
    for path in chapters:
        seconds, error, (on, off) = run(path)
        census = f"global tensors: {on} on the device, {off} on the host" if error is None else ""
        print(f"{path.name:32s} {seconds:7.1f} s  {'ok' if error is None else 'FAILED'}  {census}", flush=True)
        if error is not None:
            failed += 1
            print(error, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
