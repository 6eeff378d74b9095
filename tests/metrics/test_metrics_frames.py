"""The frames' fast paths: packed group keys, the sort-based distinct count, and coded (Categorical) keys.

Expected values are worked out by hand; the last test checks that the coded frames the metrics job uses
and the plain-string frames the dashboard and evidence use give the same metric tables on the demo."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from impactlens import demo, warehouse
from impactlens.metrics import load
from impactlens.metrics.frames import distinct_count, packed_key, plain
from impactlens.metrics.job import _tables


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def keyed(frame: pl.DataFrame, coded: bool) -> pl.DataFrame:
    frame = frame.with_columns(pl.col("period_start").cast(pl.Datetime("us", "UTC")))
    return frame.with_columns(pl.col("person_key", "repo_id").cast(pl.Categorical)) if coded else frame


ROWS = pl.DataFrame({
    "period_start": [utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 8), None,
                     utc(1969, 12, 29), utc(2024, 1, 1)],
    "person_key": ["ada", "ada", "bob", "ada", "ada", None, "ada"],
    "repo_id": ["acme/api", "acme/web", "acme/api", "acme/api", "acme/api", "acme/api", "acme/api"],
})


def test_a_packed_key_is_one_integer_and_gives_back_every_value_including_nulls_and_dates_before_1970():
    frame = keyed(ROWS, coded=True)
    key, decode = packed_key(frame.schema, ["period_start", "person_key", "repo_id"])
    packed = frame.select(key.alias("k"))
    assert packed.schema["k"] == pl.UInt64
    # rows 0 and 6 are the same key; every other row differs from them
    assert packed["k"][0] == packed["k"][6] and packed["k"].n_unique() == 6
    assert_frame_equal(packed.select(decode(pl.col("k"))), frame)


def test_string_keys_fall_back_to_a_struct_with_the_same_values():
    frame = keyed(ROWS, coded=False)
    key, decode = packed_key(frame.schema, ["period_start", "person_key", "repo_id"])
    packed = frame.select(key.alias("k"))
    assert isinstance(packed.schema["k"], pl.Struct)
    assert_frame_equal(packed.select(decode(pl.col("k"))), frame)


@pytest.mark.parametrize("coded", [True, False])
def test_distinct_count_counts_each_groups_distinct_items(coded):
    frame = keyed(ROWS, coded).vstack(keyed(pl.DataFrame({
        "period_start": [utc(2024, 1, 1)], "person_key": ["bob"], "repo_id": [None]}, schema=ROWS.schema), coded))
    got = distinct_count(frame.lazy(), ["period_start", "person_key"], "repo_id", "repos").collect()
    got = plain(got).sort("period_start", "person_key", nulls_last=True)
    # By hand: week of 2024-01-01, ada: acme/api, acme/web (twice acme/api) -> 2; bob: acme/api and a
    # null repository (not counted) -> 1; week of 2024-01-08, ada -> 1; no week, ada -> 1;
    # week of 1969-12-29, nobody -> 1.
    assert got.rows() == [
        (utc(1969, 12, 29), None, 1),
        (utc(2024, 1, 1), "ada", 2),
        (utc(2024, 1, 1), "bob", 1),
        (utc(2024, 1, 8), "ada", 1),
        (None, "ada", 1),
    ]
    assert got.schema["repos"] == pl.UInt32
    whole = distinct_count(frame.lazy(), [], "repo_id", "repos").collect()
    assert whole["repos"].to_list() == [2]


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path, _ = demo.ensure(tmp_path_factory.mktemp("demo") / "demo.duckdb", rebuild=True)
    return path


def test_coded_and_plain_frames_give_the_same_metric_tables(demo_path):
    con = warehouse.read_only(demo_path)
    try:
        coded, strings = _tables(load(con)), _tables(load(con, coded=False))
        for name, build in coded.items():
            a, b = plain(build()), strings[name]()
            assert a.height > 0 or name in ("metric_artifacts",), name
            key = [c for c, t in a.schema.items() if not isinstance(t, (pl.List, pl.Struct))]
            try:
                assert_frame_equal(a.sort(key, nulls_last=True), b.sort(key, nulls_last=True),
                                   check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
            except AssertionError as error:
                raise AssertionError(f"{name}: {error}") from None
        # the temporary ENUM types of the coded reads are gone
        assert con.sql("SELECT count(*) FROM duckdb_types() WHERE type_name LIKE '_impactlens%'").fetchall() == [(0,)]
    finally:
        con.close()


def test_hours_do_not_depend_on_the_frames_length():
    # 8 days 15:13:37 = 746,017 s: divided by 3.6e9 us/h, a one-row column gave ...446 and a longer one ...443
    # (Polars multiplies by the reciprocal there), so one repository's frame differed from the organisation's.
    from datetime import datetime, timedelta, timezone

    from impactlens.metrics.calendar import hours

    start = datetime(2024, 11, 24, tzinfo=timezone.utc)
    end = start + timedelta(seconds=746_017)
    one = pl.DataFrame({"s": [start], "e": [end]}).select(hours("s", "e").alias("h"))["h"].to_list()
    many = pl.DataFrame({"s": [start] * 3, "e": [end] * 3}).select(hours("s", "e").alias("h"))["h"].to_list()
    assert one == many[:1] and len(set(many)) == 1
    assert one[0] == pytest.approx(746_017 / 3600)
