"""The house rules of gencore's layout (CONTRIBUTING.md, "Where code goes").

- Imports point down only: the library (chapter mathematics and shared pieces) imports neither
  experiments nor figures; experiments import no figures and no plotting library; exercises
  import the library only.
- No module reaches into another's private names, and every gencore import sits at the top of
  its module (a dependency is visible at a glance).
- The benchmarks run headless: importing them loads no matplotlib or ipywidgets.
- Every module has ``__all__`` and stays near 400 lines; the ``Example:`` blocks in docstrings
  run (as zuko's do), and the main public classes have one.
"""
from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "gencore"
MODULES = sorted(p for p in PKG.rglob("*.py"))
MAX_LINES = 450  # "near 400": a module past this is split

FIGURE_LIBS = {"matplotlib", "ipywidgets"}


def _dotted(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(dotted: str) -> str:
    parts = dotted.split(".")
    if len(parts) > 1 and parts[1] in ("figures", "viz", "widgets", "blit", "pixels"):
        return "figures"
    if len(parts) > 1 and parts[1] == "experiments":
        return "experiments"
    if len(parts) > 1 and parts[1] == "exercises":
        return "exercises"
    return "library"


ALLOWED = {  # layer -> layers it may import from
    "library": {"library"},
    "experiments": {"library", "experiments"},
    "exercises": {"library", "exercises"},
    "figures": {"library", "experiments", "figures"},
}


def _imports(path: pathlib.Path):
    """``(node, absolute module name, imported names, at_top_level)`` for every import in ``path``."""
    tree = ast.parse(path.read_text())
    here = _dotted(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name, [], id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [a.name for a in node.names]
            if mod in ("gencore", "gencore.experiments", "gencore.figures", "gencore.exercises") or not node.module:
                # `from . import x` / `from gencore import data`: each name is a module
                for n in names:
                    yield node, f"{mod}.{n}" if importlib.util.find_spec(f"{mod}.{n}") else mod, [n], id(node) in top
            else:
                yield node, mod, names, id(node) in top


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    layer = _layer(_dotted(path))
    bad = []
    for node, mod, _, _ in _imports(path):
        if mod.startswith("gencore") and _layer(mod) not in ALLOWED[layer] and mod not in ("gencore",):
            bad.append(f"line {node.lineno}: {layer} imports {mod} ({_layer(mod)})")
        if layer != "figures" and any(mod == lib or mod.startswith(lib + ".") for lib in FIGURE_LIBS):
            bad.append(f"line {node.lineno}: {layer} imports the plotting library {mod}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_across_modules_and_gencore_imports_at_the_top(path):
    bad = []
    tree = ast.parse(path.read_text())
    aliases = {}
    for node, mod, names, at_top in _imports(path):
        if mod.startswith("gencore"):
            if not at_top:
                bad.append(f"line {node.lineno}: import of {mod} inside a function (move it to the top)")
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"line {node.lineno}: imports the private name {mod}.{n}")
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    aliases[a.asname or a.name] = mod
            else:
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    # Names this module defines itself (functions, classes, variables, attributes it assigns).
    own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    own |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
    own |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in aliases:
            bad.append(f"line {node.lineno}: uses the private name {node.value.id}.{node.attr}")
        elif node.attr not in own and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            # e.g. data._log_v on another module's object: a private attribute this module does not define
            bad.append(f"line {node.lineno}: uses another module's private attribute {ast.unparse(node)}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_are_small_and_say_what_they_export(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it (near 400 is the rule)"
    if path.name != "__init__.py" or path.parent == PKG:
        tree = ast.parse(path.read_text())
        assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
                   for n in tree.body), f"{path.name} has no __all__"


def test_benchmarks_run_headless():
    code = ("import sys, importlib.util, pathlib\n"
            "for p in sorted(pathlib.Path('benchmarks').glob('bench_*.py')):\n"
            "    spec = importlib.util.spec_from_file_location(p.stem, p)\n"
            "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets'))\n"
            "print(' '.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"importing the benchmarks loads {out.stdout.strip()}"


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks").glob("bench_*.py")), ids=lambda p: p.name)
def test_benchmarks_call_gencore_functions_that_exist_with_arguments_they_take(path):
    # the benchmarks train for minutes, so the suite does not run them; a renamed argument
    # (seed= -> generator=) would surface only at the end of a long `make benchmark`
    import inspect

    sys.path[:0] = [str(ROOT / "benchmarks")]
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        del sys.path[0]
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and node.keywords):
            continue
        try:  # a function named by module-level names only (locals are not resolved)
            fn = eval(compile(ast.Expression(node.func), str(path), "eval"), vars(module))
            params = inspect.signature(fn).parameters
        except AttributeError as err:  # a gencore module without that function
            wrong.append(f"line {node.lineno}: {ast.unparse(node.func)}: {err}")
            continue
        except Exception:  # noqa: BLE001 - not resolvable statically, or no signature
            continue
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        wrong += [f"line {node.lineno}: {ast.unparse(node.func)}({k.arg}=...)"
                  for k in node.keywords if k.arg and k.arg not in params]
    assert not wrong, f"{path.name} calls gencore with names or arguments it does not have: {wrong}"


def test_the_demos_package_is_gone():
    assert not (PKG / "demos").exists(), "gencore/demos was split into experiments/ and figures/"


# The main public classes each show their use in a doctested Example: block.
MAIN_CLASSES = [
    "nn.StackedMLP", "nn.TimeMLP", "data.GaussianMixture", "divergences.DiagonalNormal",
    "reparam.InverseCDF", "vae.VAE", "gan.LogitDiscriminator", "flows.Flow", "flows.Planar",
    "diffusion.NoiseSchedule", "score.ScoreNet", "ebm.EnergyNet", "flow_matching.Classifier",
    "autoregressive.MADE", "autoregressive.AR2D", "metrics.Floor", "train.EMA", "overview.ClassGaussians",
]


@pytest.mark.parametrize("target", MAIN_CLASSES)
def test_main_classes_have_an_example(target):
    module, name = target.split(".")
    obj = getattr(importlib.import_module(f"gencore.{module}"), name)
    assert "Example:" in (obj.__doc__ or ""), f"{target} needs a doctested Example: block"


LIBRARY_FILES = [p for p in MODULES if _layer(_dotted(p)) != "figures"]


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docstring_examples_run(path):
    mod = importlib.import_module(_dotted(path))
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, mod.__name__, globs={"torch": importlib.import_module("torch"), **vars(mod)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {mod.__name__} failed"
