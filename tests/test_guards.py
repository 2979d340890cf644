"""Every public function of gencore's library layer guards its door (see tests/guards/).

Bad arguments, spoiled one at a time, must raise ``ValueError`` or ``TypeError`` naming the
argument; returning silently or failing deep inside torch fails the test. Hypothesis draws the
details (where the NaN goes, how far out of range a value is) on every run.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gencore
from guards import Case, spoil, spoils_for

# The library layer: modules a reader calls directly (not the experiments, figures, exercises).
LIBRARY = sorted(m.name for m in pkgutil.iter_modules(gencore.__path__)
                 if not m.ispkg and m.name not in ("viz", "widgets", "blit", "pixels"))  # plotting, not the library


def _guard_module(name):
    try:
        return importlib.import_module(f"guards.{name}")
    except ModuleNotFoundError:
        return None


def _public(mod):
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == mod.__name__:
            yield name


def _all_cases() -> list[Case]:
    cases = []
    for name in LIBRARY:
        g = _guard_module(name)
        cases += list(getattr(g, "CASES", [])) if g else []
    return cases


CASES = _all_cases()


@pytest.mark.parametrize("module", LIBRARY)
def test_every_public_callable_has_a_case_or_a_reason(module):
    mod = importlib.import_module(f"gencore.{module}")
    g = _guard_module(module)
    covered = {c.target.split(".", 1)[1] for c in getattr(g, "CASES", []) if c.target.startswith(module + ".")}
    exempt = dict(getattr(g, "EXEMPT", {}))
    assert all(isinstance(v, str) and v for v in exempt.values()), "each exemption needs its reason"
    missing = [n for n in _public(mod) if n not in covered and n not in exempt]
    assert not missing, f"gencore.{module}: no bad-input case (tests/guards/{module}.py) for {missing}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_good_call_works(case):
    (case.call or _resolve(case.target))(**case.args())


def _resolve(target):
    module, name = target.split(".", 1)
    obj = importlib.import_module(f"gencore.{module}")
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_arguments_are_rejected_by_name(case, data):
    fn = case.call or _resolve(case.target)
    good = case.args()
    problems = []
    for name, value in good.items():
        for how in spoils_for(case, name, value):
            kwargs = case.args()
            kwargs[name] = spoil(case, name, kwargs[name], how, data.draw)
            names = {name} | {n for p in case.pairs if name in p for n in p}
            try:
                fn(**kwargs)
            except (ValueError, TypeError) as err:
                if not any(n in str(err) for n in names):
                    problems.append(f"{name} {how}: {type(err).__name__} does not name it: {err}")
            except Exception as err:  # noqa: BLE001 - any other failure is a deep one
                problems.append(f"{name} {how}: failed deep inside, {type(err).__name__}: {str(err)[:120]}")
            else:
                problems.append(f"{name} {how}: returned silently")
    assert not problems, f"{case.target}:\n  " + "\n  ".join(problems)
