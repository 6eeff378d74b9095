"""How the git collector writes its batches: plain inserts for new commits, upserts when a row is stored already."""

from __future__ import annotations

from impactlens.collectors.git import collect_git


def rows(con, sql: str, params=()):
    return con.execute(sql, list(params)).fetchall()


def test_files_left_without_their_commit_are_written_once_when_the_commit_is_read_again(con, make_repo):
    # c2's commit row is deleted by hand while its file and co-author rows stay, and the cursor is
    # dropped so the next run lists the whole history: it reads c2 alone (c1 and c3 are stored), whose
    # file rows then conflict with the stored ones; the batch is upserted instead, so nothing is
    # duplicated and the run succeeds.
    repo = make_repo()
    repo.write("a.txt", "one\n")
    repo.commit("First", date="2024-01-01T10:00:00+00:00")
    repo.write("a.txt", "one\ntwo\n")
    repo.write("b.txt", "x\ny\nz\n")
    c2 = repo.commit("Second\n\nCo-authored-by: Grace Hopper <grace@example.com>\n",
                     date="2024-01-02T10:00:00+00:00")
    repo.write("b.txt", "x\n")
    repo.commit("Third", date="2024-01-03T10:00:00+00:00")
    collect_git(con, repo.path)
    files_before = rows(con, "SELECT * FROM commit_files ORDER BY sha, path")
    con.execute("DELETE FROM commits WHERE sha = ?", [c2])
    con.execute("DELETE FROM sync_state WHERE source = 'git'")

    result = collect_git(con, repo.path)

    assert (result.in_range, result.already_stored, result.commits_stored, result.files_stored) == (3, 2, 1, 2)
    assert rows(con, "SELECT sha, insertions, deletions, files_changed FROM commits WHERE sha = ?", [c2]) == [
        (c2, 4, 0, 2),  # a.txt +1, b.txt +3
    ]
    assert rows(con, "SELECT * FROM commit_files ORDER BY sha, path") == files_before
    assert rows(con, "SELECT count(*) FROM commit_files") == [(4,)]  # c1 a.txt; c2 a.txt, b.txt; c3 b.txt
    assert rows(con, "SELECT sha, email, name FROM commit_coauthors") == [(c2, "grace@example.com", "Grace Hopper")]
    assert rows(con, "SELECT count(*), count(DISTINCT sha) FROM commits") == [(3, 3)]
