"""CODEOWNERS resolved as GitHub resolves it, from the warehouse and from git history."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impactlens import codeowners as ownership
from impactlens.collectors.codeowners import collect_codeowners

# The rules of the example in GitHub's "About code owners" page, in its order.
GITHUB_EXAMPLE = """\
# Comment lines and blank lines are ignored.

*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),  # only '*' matches
        ("src/app.js", ("@js-owner",)),  # '*.js' is after '*': last match wins
        ("main.go", ("docs@example.com",)),
        ("notes/todo.txt", ("@octo-org/octocats",)),
        ("build/logs/run.txt", ("@octocat",)),  # '/build/logs/' then '**/logs' later: octocat
        ("deep/build/logs/x.js", ("@octocat",)),  # '/build/logs/' is anchored, '**/logs' is not
        ("docs/getting-started.md", ("@doctocat",)),  # 'docs/*' then '/docs/': doctocat
        ("src/docs/guide.md", ("@global-owner1", "@global-owner2")),  # 'docs/*' and '/docs/' are rooted
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("web/apps/main.py", ("@octocat",)),  # 'apps/' matches a folder anywhere
        ("apps/github/index.js", ()),  # '/apps/github' has no owners: unowned
        ("apps/web/index.js", ("@octocat",)),
    ],
)
def test_github_example_last_match_wins(path, owners):
    assert ownership.parse(GITHUB_EXAMPLE).owners(path) == owners


def test_a_trailing_star_owns_only_the_folder_itself():
    rules = ownership.parse("* @all\ndocs/* @docs-team\n")
    assert rules.owners("docs/getting-started.md") == ("@docs-team",)
    assert rules.owners("docs/build-app/troubleshooting.md") == ("@all",)


def test_lines_github_skips_are_reported():
    parsed = ownership.parse("*.py @py\n!vendor/ @x\n[abc].txt @y\n*.md not-an-owner\n\\#notes @hash\n")
    assert [r.line for r in parsed.rules] == [1, 5]
    assert parsed.errors == (
        "line 2: negation (!vendor/) is not supported by GitHub",
        "line 3: character ranges ([abc].txt) are not supported by GitHub",
        "line 4: invalid owner(s) not-an-owner",
    )
    assert parsed.owners("#notes") == ("@hash",)


def test_owner_keys():
    assert ownership.owner_key("@octo-org/Octocats") == ("team", "octo-org/octocats")
    assert ownership.owner_key("@Ada-L") == ("identity", "github_login:ada-l")
    assert ownership.owner_key("Docs@Example.com") == ("identity", "email:docs@example.com")


def test_ownership_over_time_from_git_history(con, make_repo):
    repo = make_repo("svc")
    repo.write("CODEOWNERS", "* @ada\n")
    repo.write("api/handler.py", "x\n")
    repo.commit("Owners", date="2024-01-10T10:00:00+00:00")
    repo.write("api/handler.py", "y\n")
    repo.commit("Unrelated", date="2024-01-20T10:00:00+00:00")
    repo.write(".github/CODEOWNERS", "* @ada\n/api/ @bob @acme/api-team\n")
    repo.commit("api belongs to Bob; .github/ wins over the root file", date="2024-02-01T10:00:00+00:00")
    repo.git("rm", "-q", ".github/CODEOWNERS")
    repo.commit("Back to the root file", date="2024-03-01T10:00:00+00:00")

    assert collect_codeowners(con, repo.path, repo_id="acme/svc") == 3
    assert collect_codeowners(con, repo.path, repo_id="acme/svc") == 3
    assert con.sql("SELECT count(*) FROM codeowners").fetchall() == [(3,)]  # stored once

    def at(day):
        return dt.datetime.fromisoformat(day + "T12:00:00+00:00")

    hist = ownership.history(con, "acme/svc")
    assert hist.owners("api/handler.py", at("2024-01-01")) == ()  # before any CODEOWNERS
    assert hist.owners("api/handler.py", at("2024-01-15")) == ("@ada",)
    assert hist.owners("api/handler.py", at("2024-02-15")) == ("@bob", "@acme/api-team")
    assert hist.owners("README.md", at("2024-02-15")) == ("@ada",)
    assert hist.owners("api/handler.py", at("2024-03-15")) == ("@ada",)
    assert ownership.owners_at(con, "acme/svc", "api/handler.py", at("2024-02-15")) == ("@bob", "@acme/api-team")


def test_owners_resolve_to_people_and_roster_teams(con, tmp_path):
    from impactlens import config as config_mod
    from impactlens import people

    roster = tmp_path / "roster.yaml"
    roster.write_text("teams: [{id: api-team, name: API}]\npeople:\n- {id: bob, name: Bob, login: bob-s, team: api-team}\n")
    people.import_roster(con, roster, config_mod.DEFAULTS)
    assert ownership.resolve_owner(con, "@acme/api-team") == ("team", "api-team")
    assert ownership.resolve_owner(con, "@acme/web") == ("team", "acme/web")
    assert ownership.resolve_owner(con, "@Bob-S") == ("actor", "bob")
    assert ownership.resolve_owner(con, "carol@example.com") == ("actor", "email:carol@example.com")


def test_attach_owners_gives_each_changed_file_its_owners_at_that_time(con, make_repo, tmp_path):
    import polars as pl

    from impactlens import config as config_mod
    from impactlens import people

    repo = make_repo("svc")
    repo.write("CODEOWNERS", "* @ada\n/api/ @bob @acme/api-team\n")
    repo.commit("Owners", date="2024-01-10T10:00:00+00:00")
    repo.write("CODEOWNERS", "* @ada\n")
    repo.commit("api back to Ada", date="2024-03-01T10:00:00+00:00")
    collect_codeowners(con, repo.path, repo_id="acme/svc")
    roster = tmp_path / "roster.yaml"
    roster.write_text("- {id: bob, name: Bob, login: bob, team: api-team}\n")
    people.import_roster(con, roster, config_mod.DEFAULTS)

    changes = pl.DataFrame({
        "repo_id": ["acme/svc", "acme/svc", "acme/svc"],
        "path": ["api/x.py", "README.md", "api/x.py"],
        "at": [dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc), dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc),
               dt.datetime(2024, 3, 2, tzinfo=dt.timezone.utc)],
    })
    out = ownership.attach_owners(con, changes, time_col="at")
    assert out.select("path", "owner", "owner_kind", "owner_key").rows() == [
        ("api/x.py", "@bob", "actor", "bob"),
        ("api/x.py", "@acme/api-team", "team", "api-team"),
        ("README.md", "@ada", "actor", "github_login:ada"),
        ("api/x.py", "@ada", "actor", "github_login:ada"),
    ]



PATHS = st.lists(st.sampled_from(["api", "docs", "web", "a.py", "b.md", "x"]), min_size=1, max_size=4).map("/".join)
RULES = st.lists(
    st.tuples(
        st.sampled_from(["*", "*.py", "*.md", "docs/", "/api/", "api/*", "**/x", "/web/a.py", "x"]),
        st.lists(st.sampled_from(["@ada", "@bob", "@acme/web", "ops@example.com"]), max_size=2),
    ).map(lambda rule: " ".join([rule[0], *rule[1]])),
    max_size=6,
).map("\n".join)


@settings(max_examples=200, deadline=None)
@given(RULES, PATHS)
def test_last_match_wins_properties(text, path):
    base = ownership.parse(text)
    # A catch-all rule at the end decides every path.
    assert ownership.parse(text + "\n* @last").owners(path) == ("@last",)
    # A catch-all rule at the start only decides the paths no other rule matches.
    expected = base.owners(path) if base.rule_for(path) else ("@first",)
    assert ownership.parse("* @first\n" + text).owners(path) == expected
