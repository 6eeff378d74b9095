#!/usr/bin/env python3
"""mypy on impactlens as it installs (`python3 -m uv run python .ci/typecheck.py`; exit code is mypy's).

pyproject's package-dir puts impactlens.collectors, .metrics and .dashboard in top-level folders, a
mapping mypy cannot follow. So this lays out a tree of symlinks like the installed package (read from
[tool.setuptools.package-dir]) and checks it with the settings of [tool.mypy]; paths in mypy's output are
the repository's. Options: --tree DIR (default build/mypy-tree), --cache DIR (default .mypy_cache).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_tree(tree: Path) -> dict[str, str]:
    """Symlink the package into ``tree`` as it installs; returns {tree prefix: repository folder}."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    if tree.exists():
        shutil.rmtree(tree)
    renames: dict[str, str] = {}
    # Parents first; a subpackage inside a mapped folder (impactlens.collectors.github) is linked with it.
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        target = tree / package.replace(".", "/")
        if target.is_symlink() or target.exists():
            continue  # inside an already linked folder (impactlens.collectors.github)
        target.mkdir(parents=True, exist_ok=True)
        for entry in sorted((ROOT / folder).iterdir()):
            if entry.name != "__pycache__" and not (target / entry.name).exists():
                (target / entry.name).symlink_to(entry)
        prefix = package.replace(".", "/") + "/"
        if prefix != folder.rstrip("/") + "/":
            renames[prefix] = folder.rstrip("/") + "/"
    return renames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT / "build" / "mypy-tree")
    parser.add_argument("--cache", type=Path, default=ROOT / ".mypy_cache")
    args, rest = parser.parse_known_args(argv)
    renames = build_tree(args.tree)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(args.cache), "-p", "impactlens", *rest],
        cwd=args.tree, capture_output=True, text=True, env={**os.environ, "MYPY_FORCE_COLOR": "0"},
    )
    pattern = re.compile("^(" + "|".join(re.escape(p) for p in sorted(renames, key=len, reverse=True)) + ")",
                         re.M) if renames else None
    out = pattern.sub(lambda m: renames[m[1]], done.stdout) if pattern else done.stdout
    sys.stdout.write(out)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
