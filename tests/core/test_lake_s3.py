"""A lake on S3-compatible object storage (impactlens/lake.py, docs/scale.md "Object storage"), against a real
S3 server on 127.0.0.1: moto's server (a dev dependency) in its own process, with IAM authentication on, so a
wrong key is refused as AWS refuses it, and with S3's conditional writes (``If-None-Match``), which delta-rs
commits with."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import GitRepo
from core.test_lake import assert_both_repositories_landed
from helpers import impactlens
from impactlens import config as config_mod
from impactlens import lake, warehouse
from impactlens.errors import ConfigError

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

BUCKET = "lake"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3:
    """The running server: its endpoint and the one IAM user's key (allowed s3:*)."""

    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        self.endpoint, self.key_id, self.secret = endpoint, key_id, secret

    def env(self, **extra: str) -> dict[str, str]:
        """The standard AWS variables pointing at the server (what a user exports), over a clean environment."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_", "AWS_"))}
        return {**base, "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": REGION, "AWS_ALLOW_HTTP": "true", **extra}

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key_id,
                            aws_secret_access_key=self.secret, region_name=REGION)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Authentication is on after the first three actions (the IAM user, its policy and its key are made
    # with them): every later request must be signed with that key.
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.1)
        iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="setup", aws_secret_access_key="setup",
                           region_name=REGION)
        iam.create_user(UserName="lake")
        iam.put_user_policy(UserName="lake", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="lake")["AccessKey"]
        store = S3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        store.client().create_bucket(Bucket=BUCKET)
        yield store
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def aws(s3, monkeypatch, tmp_path):
    """This process pointed at the server by the standard environment (as a user's shell would be)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in s3.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv(lake.STAGING_ENV, str(tmp_path / "staging"))
    lake.configure(None)
    return s3


def _history(repo: GitRepo, who: str, n: int, year: int = 2024) -> None:
    for i in range(n):
        repo.write(f"f{i}.py", f"x = {i}\n")
        repo.commit(f"change {i}", author=who, date=f"{year}-0{1 + i % 3}-0{1 + i}T10:00:00+00:00")


def _tables(con) -> list[str]:
    return [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' "
                                  "AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'").fetchall()]


def test_export_to_s3_reads_back_row_for_row_and_a_rerun_writes_nothing(aws, tmp_path):
    repo = GitRepo(tmp_path / "svc")
    _history(repo, "Ada Lovelace <ada@example.com>", 6)
    db = tmp_path / "wh.duckdb"
    env = aws.env(IMPACTLENS_LAKE_STAGING=str(tmp_path / "staging"))
    collected = impactlens("collect", "git", str(repo.path), "--db", str(db), "-q", env=env)
    assert collected.returncode == 0, collected.stderr
    dest = f"s3://{BUCKET}/exported"

    first = impactlens("export", "lake", dest, "--db", str(db), env=env)
    assert first.returncode == 0, first.stderr
    with warehouse.read_only(db) as con:
        n = con.sql("SELECT count(*) - 1 FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()[0][0]
    assert f"Lake {dest}: wrote {n} of {n} tables" in first.stdout
    assert lake.tables(dest) == sorted(lake.tables(dest)) and len(lake.tables(dest)) == n

    read = lake.open_lake(dest)
    read.execute(f"ATTACH '{db}' AS wh (READ_ONLY)")
    assert sorted(_tables(read)) == lake.tables(dest)
    for name in _tables(read):
        counts = read.sql(f'SELECT (SELECT count(*) FROM "{name}"), (SELECT count(*) FROM wh."{name}"), '
                          f'(SELECT count(*) FROM (SELECT * FROM "{name}" EXCEPT ALL SELECT * FROM wh."{name}")), '
                          f'(SELECT count(*) FROM (SELECT * FROM wh."{name}" EXCEPT ALL SELECT * FROM "{name}"))').fetchall()
        assert counts == [(counts[0][1], counts[0][1], 0, 0)], name
    assert read.sql("SELECT count(*), typeof(any_value(committed_at)) FROM commits").fetchall() == [
        (6, "TIMESTAMP WITH TIME ZONE")]

    # The objects are where a Delta reader looks (hive paths under the prefix), and nothing local-only went up:
    # no lock file, no staging warehouse.
    keys = aws.keys("exported/")
    assert any(k.startswith("exported/commits/repo_id=svc/lake_month=2024-01/") for k in keys)
    assert "exported/commits/_delta_log/00000000000000000000.json" in keys
    assert not [k for k in keys if "_impactlens.lock" in k or "_staging" in k]

    # A rerun compares and commits nothing; the report reads the same from the lake as from the file.
    before = len(keys)
    second = impactlens("export", "lake", dest, "--db", str(db), env=env)
    assert second.returncode == 0 and "up to date" in second.stdout, second.stderr
    assert len(aws.keys("exported/")) == before
    args = ("report", "--person", "ada@example.com", "--since", "2024-01-01", "--until", "2024-12-31", "--format", "json")
    from_db, from_lake = impactlens(*args, "--db", str(db), env=env), impactlens(*args, "--lake", dest, env=env)
    assert from_db.returncode == 0 and from_lake.returncode == 0, from_lake.stderr
    assert json.loads(from_lake.stdout) == json.loads(from_db.stdout)
    assert f"read lake {dest}" in from_lake.stderr
    upgraded = impactlens("db", "upgrade", "--lake", dest, env=env)
    assert upgraded.returncode == 0 and upgraded.stdout.strip() == f"{dest}: schema version {warehouse.SCHEMA_VERSION}"

    # No secret in what the lake stores: the commit metadata and every log file.
    for key in [k for k in keys if "/_delta_log/" in k]:
        body = aws.client().get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert aws.secret not in body and aws.key_id not in body, key


def test_two_collectors_publish_different_repositories_into_one_s3_lake_at_once(aws, tmp_path):
    one, two = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    _history(one, "Ada Lovelace <ada@example.com>", 5)
    _history(two, "Ada Lovelace <ada@example.com>", 3, year=2025)
    two.write("z.py", "z = 1\n")
    two.commit("bob's", author="Bob Byte <bob@example.com>", date="2025-03-09T10:00:00+00:00")
    dest = f"s3://{BUCKET}/collected"
    staging = tmp_path / "staging"
    env = aws.env(IMPACTLENS_LAKE_STAGING=str(staging))

    def collect(path: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "impactlens", "collect", "git", str(path), "--lake", dest, "-q"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    running = [collect(one.path), collect(two.path)]
    for proc in running:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    read = lake.open_lake(dest)
    assert_both_repositories_landed(read)
    # Both collectors merged their identities into the one unpartitioned table: Ada once, Bob once.
    assert read.sql("SELECT identity_id FROM identities WHERE kind = 'email' ORDER BY 1").fetchall() == [
        ("email:ada@example.com",), ("email:bob@example.com",)]
    # The staging warehouses stayed on local disk, one per repository, named after the lake's URL.
    assert sorted(p.name for p in (staging / "s3__lake__collected").iterdir() if p.suffix == ".duckdb") == [
        "one.duckdb", "two.duckdb"]
    assert not [k for k in aws.keys("collected/") if "_staging" in k or "_impactlens.lock" in k]

    # A rerun with nothing new adds no row and no commit to the repository partitions.
    from deltalake import DeltaTable

    before = DeltaTable(lake.table_path(dest, "commits")).version()
    again = subprocess.run([sys.executable, "-m", "impactlens", "collect", "git", str(one.path), "--lake", dest, "-q"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert DeltaTable(lake.table_path(dest, "commits")).version() == before
    read = lake.open_lake(dest)
    assert read.sql("SELECT count(*) FROM commits").fetchall() == [(9,)]
    assert read.sql("SELECT count(*), count(DISTINCT identity_id) FROM identities").fetchall()[0][0] == \
        read.sql("SELECT count(DISTINCT identity_id) FROM identities").fetchall()[0][0]


def test_a_commit_that_loses_the_race_is_retried_and_keeps_the_winners_rows(aws, tmp_path, monkeypatch):
    """Two writers read the same version of the unpartitioned ``identities`` table; the other commits first
    (S3 refuses our put of that version: If-None-Match), delta-rs finds the two conflict (both rewrote the
    table's file), and the publish retries from the new snapshot: both writers' rows are there."""
    import deltalake
    import pyarrow as pa

    one = GitRepo(tmp_path / "one")
    _history(one, "Ada Lovelace <ada@example.com>", 2)
    staging = lake.staging_path(f"s3://{BUCKET}/race", "one")
    staging.parent.mkdir(parents=True)
    assert staging.is_relative_to(tmp_path / "staging")
    done = impactlens("collect", "git", str(one.path), "--db", str(staging), "-q",
                      env=aws.env(IMPACTLENS_LAKE_STAGING=str(tmp_path / "staging")))
    assert done.returncode == 0, done.stderr
    dest = f"s3://{BUCKET}/race"
    lake.publish(staging, dest)  # the lake's first version of every table

    # Ada's identity changes in the staging warehouse, so the next publish merges into identities.
    with warehouse.open_for_write(staging) as con:
        con.execute("UPDATE identities SET display_name = 'Ada King' WHERE identity_id = 'email:ada@example.com'")
    original = deltalake.DeltaTable.merge
    raced: list[str] = []

    def merge_after_another_writer(self, source, *args, **kwargs):
        if not raced and self.table_uri.rstrip("/").endswith("/identities"):
            # Another writer commits between our read and our commit: it rewrites the table with a new row.
            theirs = self.to_pyarrow_table()
            carol = {c: [None] for c in theirs.column_names}
            carol.update(identity_id=["email:carol@example.com"], kind=["email"], value=["carol@example.com"],
                         is_bot=[False], source=["git"])
            table = pa.concat_tables([theirs, pa.table(carol, schema=theirs.schema)])
            deltalake.write_deltalake(self.table_uri, table, mode="overwrite")
            raced.append(self.table_uri)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(deltalake.DeltaTable, "merge", merge_after_another_writer)
    waits: list[float] = []
    # lake's retry loop waits before each new attempt. `lake.time` is the time module itself: count only this
    # thread's waits, other threads of the process (a Spark session's, the S3 server's) keep sleeping.
    real_sleep, this_thread = time.sleep, threading.get_ident()
    monkeypatch.setattr(lake.time, "sleep",
                        lambda s: waits.append(s) if threading.get_ident() == this_thread else real_sleep(s))
    result = lake.publish(staging, dest)
    assert raced and waits == [0.2]  # the race happened, our commit failed once and was retried once
    assert "identities" in [t.table for t in result.changed]
    read = lake.open_lake(dest)
    assert read.sql("SELECT identity_id, display_name FROM identities WHERE kind = 'email' ORDER BY 1").fetchall() == [
        ("email:ada@example.com", "Ada King"), ("email:carol@example.com", None)]


def test_wrong_credentials_give_one_clear_line_without_the_secret(s3, tmp_path):
    dest = f"s3://{BUCKET}/exported-for-credentials"
    wrong_secret = "wrong-secret-value-0123456789"
    wrong = {"AWS_SECRET_ACCESS_KEY": wrong_secret}
    for bad, code, args in (
            (wrong, "SignatureDoesNotMatch", ("report", "--team", "web", "--week", "2026-W10", "--lake", dest)),
            ({"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000"}, "InvalidAccessKeyId", ("dashboard", "--lake", dest, "--no-browser")),
            (wrong, "SignatureDoesNotMatch", ("db", "upgrade", "--lake", dest))):
        started = time.monotonic()
        result = impactlens(*args, env=s3.env(**bad))
        assert result.returncode == 2, (args, result.stderr)
        assert "the object store refused the credentials" in result.stderr, result.stderr
        assert f"403 Forbidden {code}" in result.stderr and "AWS_SECRET_ACCESS_KEY" in result.stderr
        assert wrong_secret not in result.stderr + result.stdout and s3.secret not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
        assert time.monotonic() - started < 60


def test_an_unreachable_endpoint_gives_one_clear_line(s3, tmp_path):
    closed = f"http://127.0.0.1:{_free_port()}"
    result = impactlens("report", "--team", "web", "--week", "2026-W10", "--lake", f"s3://{BUCKET}/x",
                        env=s3.env(AWS_ENDPOINT_URL=closed))
    assert result.returncode == 2, result.stderr
    assert f"cannot reach the object store of lake s3://{BUCKET}/x (endpoint {closed})" in result.stderr
    assert "AWS_ENDPOINT_URL" in result.stderr and "Traceback" not in result.stderr


def test_an_empty_prefix_is_no_lake_and_a_missing_bucket_is_named(aws):
    with pytest.raises(lake.LakeError, match=f"no lake at s3://{BUCKET}/nothing-here"):
        lake.check(f"s3://{BUCKET}/nothing-here")
    with pytest.raises(lake.LakeError, match="the bucket does not exist"):
        lake.check("s3://no-such-bucket/lake")


def test_locations_staging_and_configured_options(tmp_path, monkeypatch):
    # A Path collapses s3:// to s3:/; file:// URLs are local folders; a trailing slash does not matter.
    assert lake.location(Path("s3://bucket/prefix")) == "s3://bucket/prefix"
    assert lake.location("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert lake.location(f"file://{tmp_path}/lake") == f"{tmp_path}/lake"
    assert lake.location(Path(f"file://{tmp_path}/lake")) == f"{tmp_path}/lake"
    assert lake.is_remote("gs://b/p") and lake.is_remote("abfss://c@acct.dfs.core.windows.net/p")
    assert not lake.is_remote(tmp_path / "lake") and not lake.is_remote(f"file://{tmp_path}")
    assert lake.table_path("s3://b/p/", "commits") == "s3://b/p/commits"
    assert lake.table_path(tmp_path / "lake", "commits") == str(tmp_path / "lake" / "commits")
    # Staging of a local lake stays in it; of a remote one, in the user's cache (or $IMPACTLENS_LAKE_STAGING).
    assert lake.staging_path(tmp_path / "lake", "Acme/API") == tmp_path / "lake" / "_staging" / "acme__api.duckdb"
    monkeypatch.delenv(lake.STAGING_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert lake.staging_path("s3://b/p", "acme/api") == \
        tmp_path / "cache" / "impactlens" / "lake-staging" / "s3__b__p" / "acme__api.duckdb"
    # [lake.storage_options] reaches delta-rs for remote lakes only, and refuses credentials.
    cfg = config_mod.from_dict({"lake": {"storage_options": {"AWS_ENDPOINT_URL": "http://minio:9000",
                                                             "AWS_ALLOW_HTTP": "true"}}})
    lake.configure(cfg.lake.storage_options)
    try:
        assert lake.storage_options("s3://b/p") == {"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_ALLOW_HTTP": "true"}
        assert lake.storage_options(tmp_path) is None
    finally:
        lake.configure(None)
    for key in ("AWS_SECRET_ACCESS_KEY", "aws_session_token", "AZURE_STORAGE_ACCOUNT_KEY"):
        with pytest.raises(ConfigError, match="is a credential: set it in the environment"):
            config_mod.from_dict({"lake": {"storage_options": {key: "s3cr3t-value"}}})
    with pytest.raises(ConfigError, match="must be a string"):
        config_mod.from_dict({"lake": {"storage_options": {"AWS_ALLOW_HTTP": True}}})


def test_a_secret_in_an_object_store_error_is_redacted(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-0123456789")
    lake.storage_options("s3://b/p")  # remembers the environment's secrets
    message = lake._describe(OSError("Generic S3 error: 403 Forbidden <Code>AccessDenied</Code> key "
                                     "env-secret-0123456789"), "s3://b/p")
    assert "refused the credentials" in message
    assert "env-secret-0123456789" not in str(lake.LakeError(message + " env-secret-0123456789"))


def test_threads_publishing_into_one_s3_lake(aws, tmp_path):
    """Three threads of one process publishing at once (a program driving lake.publish itself)."""
    repos = []
    for name in ("t1", "t2", "t3"):
        repo = GitRepo(tmp_path / name)
        _history(repo, f"{name} <{name}@example.com>", 2)
        staging = lake.staging_path(f"s3://{BUCKET}/threads", name)
        staging.parent.mkdir(parents=True, exist_ok=True)
        done = impactlens("collect", "git", str(repo.path), "--db", str(staging), "-q", env=aws.env())
        assert done.returncode == 0, done.stderr
        repos.append(staging)
    errors: list[BaseException] = []

    def publish(staging: Path) -> None:
        try:
            lake.publish(staging, f"s3://{BUCKET}/threads")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(s,)) for s in repos]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    read = lake.open_lake(f"s3://{BUCKET}/threads")
    assert read.sql("SELECT repo_id, count(*) FROM commits GROUP BY 1 ORDER BY 1").fetchall() == [
        ("t1", 2), ("t2", 2), ("t3", 2)]
    assert read.sql("SELECT count(*), count(DISTINCT identity_id) FROM identities WHERE kind = 'email'").fetchall() == [
        (3, 3)]
