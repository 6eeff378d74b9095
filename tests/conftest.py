"""Shared fixtures: a fresh warehouse file and real git repositories built in temporary folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from impactlens import warehouse


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet."""
    return tmp_path / "impactlens.duckdb"


@pytest.fixture
def con(db_path: Path):
    """A real DuckDB file with the current schema, open for writing."""
    connection = warehouse.open_for_write(db_path)
    yield connection
    connection.close()


class GitRepo:
    """A real git repository in a temporary folder, with commits made at chosen times and people."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.path.parent), **(env or {})}
        result = subprocess.run(
            ["git", "-C", str(self.path), *args], env=full_env, input=input, capture_output=True, check=True
        )
        return result.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, content: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def commit(
        self,
        message: str | bytes,
        *,
        author: str = "Ada Lovelace <ada@example.com>",
        date: str = "2024-01-01T10:00:00+00:00",
        committer: str | None = None,
        committer_date: str | None = None,
        all: bool = True,
    ) -> str:
        name, email = author.rsplit(" <", 1)
        c_name, c_email = (committer or author).rsplit(" <", 1)
        env = {
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"), "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": c_name, "GIT_COMMITTER_EMAIL": c_email.rstrip(">"),
            "GIT_COMMITTER_DATE": committer_date or date,
        }
        if all:
            self.git("add", "-A")
        data = message if isinstance(message, bytes) else message.encode("utf-8")
        self.git("commit", "-q", "--allow-empty", "-F", "-", env=env, input=data)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path):
    """Factory: ``make_repo("name")`` returns an empty :class:`GitRepo` under the test's tmp folder."""

    def factory(name: str = "repo") -> GitRepo:
        return GitRepo(tmp_path / name)

    return factory
