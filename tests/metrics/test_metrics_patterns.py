"""What a commit message, a PR title, branch or label says: bug fix, hotfix, revert, issue references.

Commit messages are matched in DuckDB while the commits are read (RE2), PR titles, branches and labels in
Polars (Rust regex): the tests read the commits through the frames, and check that both engines agree on
every pattern. Definitions: docs/metrics.md "Defects" and "DORA four keys".

Hand-built commits in acme/api (subject | body -> says_fix, subject_says_hotfix, is_revert, issue_refs):
  m01 'Docs: describe the hotfix process'        a mention, not a hotfix            F F F null
  m02 'Remove old hot-fix workaround'             a mention                          F F F null
  m03 'hotfix: null check in login'               starts with hotfix                 T T F null
  m04 '[Hotfix] restore the session cookie'       '[hotfix]' prefix                  T T F null
  m05 'fix(hotfix): session expiry'               conventional fix, hotfix scope     T T F null
  m06 'Hot-fix for the payment page'              starts with hot-fix                T T F null
  m07 'Refactor login' | 'hotfix: later'          hotfix only at the message start   F F F null
  m08 'Add dark mode' | 'Closes #12'              closing keyword: not a fix by message F F F [12]
  m09 'Resolve #14 by caching'                    closing keyword                    F F F [14]
  m10 'Fixes #15'                                  GitHub fix keyword                 T F F [15]
  m11 'Update parser' | 'Fixes: #16'               fix keyword with a colon           T F F [16]
  m12 'Fix crash on empty input'                  "fix ... crash"                    T F F null
  m13 'Fix typo in README'                        "fix" without bug wording          F F F null
  m14 'Port the fix from other/repo#13'           another repository's issue         F F F []
  m15 'Refactor (#21)' | 'See #22 and acme/web#23'  own references only            F F F [21, 22]
  m16 'Revert "Add dark mode"'                    revert                             F F T null
  m17 'Undo the cache' | 'This reverts commit abcdef1234567.'                        F F T null
  m18 'Roll back the cache' | 'Reverts acme/api#12'  GitHub's revert PR body         F F T []
  m19 'Mention revert in docs'                    a mention                          F F F null
  m20 'bugfix: handle null'                       conventional bugfix                T F F null
  m21 'Revert "hotfix: null check"' | 'This reverts commit 0123456789abc.'  a revert is not a hotfix
                                                                                     F F T null
  m22 'Roll back the cache' | 'Reverts #12'        GitHub's revert, no owner/repo     F F T [12]
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from impactlens.metrics import patterns
from builders import add_commit, frames_of

MESSAGES = {
    # sha prefix: (subject, body, says_fix, subject_says_hotfix, is_revert, issue_refs)
    "m01": ("Docs: describe the hotfix process", "", False, False, False, None),
    "m02": ("Remove old hot-fix workaround", "", False, False, False, None),
    "m03": ("hotfix: null check in login", "", True, True, False, None),
    "m04": ("[Hotfix] restore the session cookie", "", True, True, False, None),
    "m05": ("fix(hotfix): session expiry", "", True, True, False, None),
    "m06": ("Hot-fix for the payment page", "", True, True, False, None),
    "m07": ("Refactor login", "hotfix: later", False, False, False, None),
    "m08": ("Add dark mode", "Closes #12", False, False, False, [12]),
    "m09": ("Resolve #14 by caching", "", False, False, False, [14]),
    "m10": ("Fixes #15", "", True, False, False, [15]),
    "m11": ("Update parser", "Fixes: #16", True, False, False, [16]),
    "m12": ("Fix crash on empty input", "", True, False, False, None),
    "m13": ("Fix typo in README", "", False, False, False, None),
    "m14": ("Port the fix from other/repo#13", "", False, False, False, []),
    "m15": ("Refactor (#21)", "See #22 and acme/web#23", False, False, False, [21, 22]),
    "m16": ('Revert "Add dark mode"', "", False, False, True, None),
    "m17": ("Undo the cache", "This reverts commit abcdef1234567.", False, False, True, None),
    "m18": ("Roll back the cache", "Reverts acme/api#12", False, False, True, []),
    "m19": ("Mention revert in docs", "", False, False, False, None),
    "m20": ("bugfix: handle null", "", True, False, False, None),
    "m21": ('Revert "hotfix: null check"', "This reverts commit 0123456789abc.", False, False, True, None),
    "m22": ("Roll back the cache", "Reverts #12", False, False, True, [12]),
}


def _sha(key: str) -> str:
    return key + "0" * 37


def test_commit_message_flags_read_with_the_commits(con):
    for n, (key, (subject, body, *_)) in enumerate(MESSAGES.items()):
        add_commit(con, _sha(key), "ada@x.com", f"2024-01-01 10:{n:02d}", subject=subject, body=body)
    got = {r["sha"][:3]: r for r in frames_of(con).commits.collect().iter_rows(named=True)}
    for key, (subject, _, says_fix, hotfix, revert, refs) in MESSAGES.items():
        row = got[key]
        assert (row["says_fix"], row["subject_says_hotfix"], row["is_revert"], row["issue_refs"]) == (
            says_fix, hotfix, revert, refs), subject


#: PR titles, head branches and labels: (value, hotfix?).
TITLES = [("Docs: describe the hotfix process", False), ("Remove old hot-fix workaround", False),
          ("Hotfix: login loop", True), ("[HOTFIX] login loop", True), ("fix(hotfix): login loop", True),
          ("feat(api,hotfix)!: new limit", True), ("hot fix login loop", True), ('Revert "hotfix: x"', False),
          ("Fix login loop", False)]
BRANCHES = [("hotfix/login", True), ("hotfix-login", True), ("hot-fix/login", True), ("HOTFIX/login", True),
            ("feature/hotfix-docs", False), ("docs/hotfix-process", False), ("hotfixes-are-documented", False),
            ("main", False)]
LABELS = [("hotfix", True), ("type: hotfix", True), ("kind/Hotfix", True), ("hot-fix", True), ("bug", False),
          ("fix", False)]


def test_hotfix_prs_by_title_branch_or_label():
    # One PR per value, the other two fields neutral; plus a PR with nothing (null branch, no labels).
    rows = ([{"title": t, "head_branch": "feature/x", "labels": []} for t, _ in TITLES]
            + [{"title": "Change", "head_branch": b, "labels": []} for b, _ in BRANCHES]
            + [{"title": "Change", "head_branch": "feature/x", "labels": [label, "p1"]} for label, _ in LABELS]
            + [{"title": "Change", "head_branch": None, "labels": None}])
    expected = [h for _, h in TITLES] + [h for _, h in BRANCHES] + [h for _, h in LABELS] + [False]
    prs = pl.DataFrame(rows, schema={"title": pl.String, "head_branch": pl.String, "labels": pl.List(pl.String)})
    assert prs.select(patterns.is_hotfix_pr()).to_series().to_list() == expected


@pytest.mark.parametrize("name", ["FIX_MESSAGE", "REVERT_MESSAGE", "HOTFIX", "HOTFIX_BRANCH", "HOTFIX_LABEL"])
def test_duckdb_and_polars_read_each_pattern_alike(name):
    # The same pattern runs in both engines (messages in DuckDB, PR fields in Polars): every test string
    # above, and a few more, must get the same answer from both.
    texts = ([s + "\n" + b for s, b, *_ in MESSAGES.values()] + [t for t, _ in TITLES] + [b for b, _ in BRANCHES]
             + [label for label, _ in LABELS] + ["hotfix_login", "Fixed a regression", "Fixed #3", "FIX: x"])
    pattern = getattr(patterns, name)
    in_polars = pl.Series(texts).str.contains(pattern).to_list()
    in_duckdb = [m for (m,) in duckdb.execute(
        "SELECT regexp_matches(t, ?) FROM unnest(?::VARCHAR[]) WITH ORDINALITY u(t, i) ORDER BY i",
        [pattern, texts]).fetchall()]
    assert in_polars == in_duckdb
    # ... and the references are extracted alike.
    refs_polars = pl.Series(texts).str.extract_all(patterns.ISSUE_REF).to_list()
    refs_duckdb = [r for (r,) in duckdb.execute(
        "SELECT regexp_extract_all(t, ?, 0) FROM unnest(?::VARCHAR[]) WITH ORDINALITY u(t, i) ORDER BY i",
        [patterns.ISSUE_REF, texts]).fetchall()]
    assert refs_polars == refs_duckdb
