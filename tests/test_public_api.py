"""`import graders` exposes its public names lazily; each resolves to its module's object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import graders


def test_every_exported_name_resolves_to_its_module_object() -> None:
    assert graders.__all__, "nothing exported"
    for name in graders.__all__:
        module = importlib.import_module(graders._EXPORTS[name])
        assert getattr(graders, name) is getattr(module, name), name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        graders.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("graders.no_such_name resolved")


def test_import_graders_loads_no_heavy_module() -> None:
    code = "import sys, graders; print(sorted(m for m in ('pydantic', 'asyncio', 'rapidfuzz', 'nltk') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
