"""`impactlens collect incidents|tags|releases` and `impactlens incidents list` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from helpers import impactlens

FIXTURES = Path(__file__).parents[1] / "fixtures" / "incidents"


def count(db_path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_collect_incidents_twice_stores_once(db_path):
    db = ["--db", str(db_path)]
    first = impactlens("collect", "incidents", str(FIXTURES / "pagerduty.csv"), *db)
    assert first.returncode == 0, first.stderr
    assert "pagerduty.csv (pagerduty): 2 incidents (2 new, 1 open)" in first.stdout
    second = impactlens("collect", "incidents", str(FIXTURES / "pagerduty.json"), "--format", "pagerduty", *db)
    assert "(0 new, 1 open)" in second.stdout
    assert count(db_path, "incidents") == 2
    listed = impactlens("incidents", "list", *db)
    assert "pagerduty:1042  [resolved, 1.25 h]" in listed.stdout  # 13:00 to 14:15 UTC
    assert "no successful production deployment (any repository) before it opened" in listed.stdout


def test_a_malformed_export_is_rejected_and_nothing_stored(db_path):
    db = ["--db", str(db_path)]
    impactlens("collect", "incidents", str(FIXTURES / "generic.csv"), *db)
    bad = impactlens("collect", "incidents", str(FIXTURES / "generic_bad.csv"), *db)
    assert bad.returncode == 2
    assert "line 3, column 5 (opened)" in bad.stderr and "line 6, column 1 (id)" in bad.stderr
    assert bad.stderr.count("\n") == 1
    assert count(db_path, "incidents") == 2  # only the good file's


def test_collect_tags_and_releases(make_repo, db_path):
    repo = make_repo("shop")
    repo.write("a.py", "1\n")
    repo.commit("A", date="2024-03-01T10:00:00+00:00")
    repo.git("tag", "v1.0")
    db = ["--db", str(db_path)]
    none = impactlens("collect", "tags", str(repo.path), *db)
    assert none.returncode == 2 and "no tag patterns" in none.stderr
    tags = impactlens("collect", "tags", str(repo.path), "--pattern", "v*", "--name", "acme/shop", *db)
    assert tags.returncode == 0 and "acme/shop: 1 deployments from 1 tags." in tags.stdout
    impactlens("collect", "tags", str(repo.path), "--pattern", "v*", "--name", "acme/shop", *db)
    assert count(db_path, "deployments") == 1
    releases = impactlens("collect", "releases", *db)
    assert releases.returncode == 0 and "0 deployments from 0 releases" in releases.stdout


def test_incidents_list_shows_the_attribution_confidence(db_path):
    """d1 (acme/api) finished 2024-01-02 12:00; i-near opened 3 h later in acme/api: the latest deployment
    of its own repository within 24 h, medium confidence; i-far opened 3 days later: low."""
    from impactlens import warehouse
    from impactlens.attribution import attribute
    from builders import add_deployment, add_incident

    with warehouse.writing(db_path) as con:
        add_deployment(con, "d1", "2024-01-02 12:00")
        add_incident(con, "i-near", "2024-01-02 15:00", resolved="2024-01-02 16:00")
        add_incident(con, "i-far", "2024-01-05 12:00", resolved="2024-01-05 13:00")
        attribute(con)
    listed = impactlens("incidents", "list", "--db", str(db_path))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    near = lines[lines.index(next(x for x in lines if "i-near" in x)) + 1]
    far = lines[lines.index(next(x for x in lines if "i-far" in x)) + 1]
    assert near.startswith("    deployment d1 (medium confidence): ")
    assert far.startswith("    deployment d1 (low confidence): ")
