"""The tools can see the code: ruff and mypy pass (configured in pyproject.toml), the built wheel holds every
package, and the public surfaces (``metrics.__all__``, ``evidence.__all__``) are what they say.

mypy keeps its cache and its tree of links (.ci/typecheck.py) in the system temp folder, so after the first
run (about a minute on a busy machine) the check takes a few seconds.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["impactlens", "collectors", "metrics", "dashboard"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    done = run("-m", "ruff", "check", "--no-cache", *SOURCES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean():
    scratch = Path(tempfile.gettempdir()) / f"impactlens-mypy-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
    done = run(str(ROOT / ".ci" / "typecheck.py"), "--tree", str(scratch / "tree"), "--cache", str(scratch / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


def _installed_name(folder: Path) -> str:
    """The package a source folder installs as, by [tool.setuptools.package-dir] (longest mapping wins)."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    rel = folder.relative_to(ROOT).as_posix()
    best = max((pkg for pkg, src in mapping.items() if rel == src or rel.startswith(src + "/")),
               key=lambda pkg: len(mapping[pkg]))
    rest = rel[len(mapping[best]):].strip("/")
    return best + ("." + rest.replace("/", ".") if rest else "")


def _uv() -> list[str] | None:
    """The uv command: $UV (set by `uv run`), else uv on PATH, else `python -m uv` of the base interpreter."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    if shutil.which("uv"):
        return ["uv"]
    base = getattr(sys, "_base_executable", sys.executable)
    found = subprocess.run([base, "-m", "uv", "--version"], capture_output=True)
    return [base, "-m", "uv"] if found.returncode == 0 else None


def test_the_wheel_holds_every_package(tmp_path):
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed: cannot build the wheel")
    # A clean copy of the sources: setuptools reuses a build/ folder, which would hide a package left out.
    src = tmp_path / "src"
    for name in SOURCES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    done = subprocess.run([*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(src)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted({_installed_name(init.parent) for source in SOURCES for init in (ROOT / source).rglob("__init__.py")
                       if "__pycache__" not in init.parts})
    assert "impactlens.collectors.github" in packages and "impactlens.evidence" in packages
    missing = [p for p in packages if p.replace(".", "/") + "/__init__.py" not in names]
    assert not missing, f"packages left out of the wheel (add them to [tool.setuptools] packages): {missing}"
    # Data files the code reads at run time.
    assert any(n.startswith("impactlens/schema/") and n.endswith(".sql") for n in names)
    assert any(n.startswith("impactlens/evidence/") and n.endswith(".yaml") for n in names)


@pytest.mark.parametrize("module_name", ["impactlens.metrics", "impactlens.evidence"])
def test_public_names_exist_are_public_and_documented(module_name):
    import importlib

    module = importlib.import_module(module_name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "a name is listed twice"
    for name in exported:
        assert not name.startswith("_"), name
        assert hasattr(module, name), f"{module_name}.{name} is in __all__ but does not exist"
        member = getattr(module, name)
        if inspect.isfunction(member) or inspect.isclass(member):
            assert inspect.getdoc(member), f"{module_name}.{name} has no docstring"
            # Defined in the package it is exported from, not borrowed from elsewhere without saying.
            assert member.__module__.startswith(module_name), (name, member.__module__)
    # Every public function or class the package's modules define at its top level is exported.
    public = {n for n, m in vars(module).items() if not n.startswith("_") and (inspect.isfunction(m) or inspect.isclass(m))
              and getattr(m, "__module__", "").startswith(module_name)}
    assert public <= set(exported), f"public but not in __all__: {sorted(public - set(exported))}"


# ------------------------------------------------------------------ the layering (docs/architecture.md)

#: group -> the groups it may import (besides itself and the standard and third-party libraries).
MAY_IMPORT = {
    "core": set(),
    "collectors": {"core"},
    "metrics": {"core"},
    "evidence": {"core", "metrics"},
    "show": {"core", "metrics", "evidence"},
    "commands": {"core", "collectors", "metrics", "evidence", "show", "demo"},
    "demo": {"core", "collectors", "metrics", "evidence", "show"},
}


def _group_of_module(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "impactlens":
        return None
    if len(parts) == 1:
        return "core"
    head = parts[1]
    if head in ("collectors", "metrics", "evidence", "commands", "demo"):
        return head
    if head == "dashboard":
        return "show"
    if head in ("mcp_server", "digest"):
        return "show"
    if head in ("cli", "__main__"):
        return "commands"
    return "core"


def _module_of_file(path: Path) -> str:
    folder = _installed_name(path.parent)
    return folder if path.name == "__init__.py" else f"{folder}.{path.stem}"


def test_lower_layers_never_import_higher_ones():
    import ast

    broken = set()
    for source in SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            here = _group_of_module(_module_of_file(path))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    # `from impactlens import metrics` imports the submodule: judge each name.
                    names = ([f"{node.module}.{a.name}" for a in node.names] if node.module == "impactlens"
                             else [node.module])
                for name in names:
                    there = _group_of_module(name)
                    if there and there != here and there not in MAY_IMPORT[here]:
                        broken.add((path.relative_to(ROOT).as_posix(), there))
    assert broken == set(), "imports against docs/architecture.md"
