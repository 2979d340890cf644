"""The chapters' install cell does what it promises, in fresh venvs of every Python found here.

The install part (the text ``scripts/set_install_cell.py`` writes; ``test_consistency.py``
checks the chapters hold it) runs with ``python -c`` in a venv that pretends to be a
reader's runtime: torch, numpy and matplotlib "installed" (dist-info only), ipywidgets too old,
tqdm missing. pip sees only a local folder (the gencore wheel of this checkout and a stand-in
tqdm wheel), so nothing is downloaded. Python 3.9 and 3.13 run too where pyenv has them.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import colab_like  # noqa: E402
import set_install_cell  # noqa: E402

VERSION = set_install_cell.read_version()
CELL = set_install_cell.expected_install_text()
PRESENT = {"torch": "2.13.0+cu126", "numpy": "2.1.3", "matplotlib": "3.10.9", "ipywidgets": "7.6.5"}


def pythons() -> list[str]:
    found = {f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable}
    for exe in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        minor = Path(exe).parents[1].name.rsplit(".", 1)[0]
        if minor in ("3.9", "3.13") and minor not in found:
            found[minor] = exe
    return [found[k] for k in sorted(found, key=lambda v: tuple(map(int, v.split("."))))]


def write_wheel(folder: Path, name: str, version: str) -> None:
    """A minimal pure-Python wheel, standing in for a dependency pip would otherwise download."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def pretend_installed(site: Path, name: str, version: str) -> None:
    info = site / f"{name}-{version.split('+')[0]}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    colab_like.build_wheel(folder)  # from a copy of the sources: nothing written into the checkout
    write_wheel(folder, "tqdm", "4.0.0")
    return folder


def runtime(tmp_path: Path, python: str) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    exe = venv / "bin" / "python"
    site = Path(subprocess.run([str(exe), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for name, version in PRESENT.items():
        pretend_installed(site, name, version)
    return exe, site


def clean_env() -> dict[str, str]:
    """No PYTHONPATH (the repository would be importable) and no pip settings of this machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}


def run_cell(exe: Path, cwd: Path, find_links: Path) -> subprocess.CompletedProcess:
    env = clean_env()
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(find_links),
               PIP_DISABLE_PIP_VERSION_CHECK="1", GIT_ALLOW_PROTOCOL="file")  # no git clone reaches out
    return subprocess.run([str(exe), "-c", CELL], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def versions(exe: Path) -> dict[str, str | None]:
    code = ("import importlib.metadata as md, json\n"
            "def v(n):\n    try: return md.version(n)\n    except md.PackageNotFoundError: return None\n"
            f"print(json.dumps({{n: v(n) for n in {list(PRESENT) + ['tqdm', 'gencore']}}}))")
    return json.loads(subprocess.run([str(exe), "-c", code], check=True, capture_output=True, text=True,
                                     cwd=exe.parents[2], env=clean_env()).stdout)


@pytest.mark.parametrize("python", pythons(), ids=lambda p: "python" + subprocess.run(
    [p, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True).stdout.strip())
def test_installs_gencore_alone_and_keeps_the_runtime(tmp_path, wheels, python):
    exe, _ = runtime(tmp_path, python)
    run = run_cell(exe, tmp_path, wheels)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines == [f"gencore {VERSION} needs ipywidgets>=7.7, this runtime has 7.6.5: upgrade it and restart"], run.stdout
    after = versions(exe)
    assert after["gencore"] == VERSION
    assert after["tqdm"] == "4.0.0"  # missing, so installed
    assert {n: after[n] for n in PRESENT} == PRESENT  # present: never upgraded or downgraded

    again = run_cell(exe, tmp_path, tmp_path / "no-such-folder")  # right version there: no pip at all
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_falls_back_to_the_git_tag_and_says_why_it_failed(tmp_path, wheels):
    exe, _ = runtime(tmp_path, sys.executable)
    only_tqdm = tmp_path / "index"
    only_tqdm.mkdir()
    shutil.copy(next(wheels.glob("tqdm-*.whl")), only_tqdm)
    run = run_cell(exe, tmp_path, only_tqdm)
    failures = [line for line in run.stdout.splitlines() if line.startswith("pip install ")]
    assert len(failures) == 2, run.stdout  # PyPI (here: the folder), then the git tag
    assert failures[0].startswith(f"pip install gencore=={VERSION} failed: ERROR: "), failures[0]
    assert failures[1].startswith("pip install git+https://github.com/"), failures[1]
    assert "fatal: transport 'https' not allowed" in failures[1], failures[1]
    assert versions(exe)["gencore"] is None
