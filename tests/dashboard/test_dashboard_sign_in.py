"""Sign-in and the allow-list of a team dashboard (issue 18 item 4), through streamlit.testing.v1.AppTest and its
own ``at.user`` (what the run reads as ``st.user``: AppTest's mechanism, no seam in the app).

The history, built here and collected with ``collect git`` (all in June 2025, inside the default period):

* Ada Lovelace (ada@example.com), team core: commits on 06-02, 06-09, 06-16: 3 commits.
* Grace Hopper (grace@example.com), team core: 06-03, 06-10: 2 commits.
* Linus Torvalds (linus@example.com), team web: 06-04: 1 commit.
* Margaret (margaret@example.com) is in no history and no roster: the lead of core by ``[access.leads]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import impactlens
from impactlens import warehouse

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADA, GRACE, LINUS = "Ada Lovelace <ada@example.com>", "Grace Hopper <grace@example.com>", \
    "Linus Torvalds <linus@example.com>"
RULES = ('[access]\nsign_in = true\nadmins = ["Boss@Example.com"]\n'
         '[access.leads]\ncore = ["margaret@example.com"]\n')


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    from conftest import GitRepo

    root = tmp_path_factory.mktemp("signin")
    repo = GitRepo(root / "tool")
    for n, (who, day) in enumerate([(ADA, "06-02"), (GRACE, "06-03"), (LINUS, "06-04"), (ADA, "06-09"),
                                    (GRACE, "06-10"), (ADA, "06-16")]):
        repo.write(f"src/f{n}.py", f"x = {n}\n")
        repo.commit(f"Change {n}", author=who, date=f"2025-{day}T10:00:00+00:00")
    path = root / "w.duckdb"
    assert impactlens("collect", "git", str(repo.path), "--db", str(path)).returncode == 0
    roster = root / "roster.yaml"
    roster.write_text(
        "- name: Ada Lovelace\n  id: ada\n  email: ada@example.com\n  teams:\n    - {team: core, from: 2024-01-01}\n"
        "- name: Grace Hopper\n  id: grace\n  email: grace@example.com\n  teams:\n    - {team: core, from: 2024-01-01}\n"
        "- name: Linus Torvalds\n  id: linus\n  email: linus@example.com\n  teams:\n"
        "    - {team: web, from: 2024-01-01}\n")
    assert impactlens("people", "import", str(roster), "--db", str(path)).returncode == 0
    return path


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: Path):
    def make(rules: str | None = RULES, user: dict | None = None, query: dict | None = None,
             page: str | None = None, auth: bool = True) -> AppTest:
        monkeypatch.setenv(warehouse.DB_ENV, str(db))
        monkeypatch.chdir(tmp_path)
        if rules is not None:
            (tmp_path / "impactlens.toml").write_text(rules)
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.user = user if user is not None else {"is_logged_in": False}
        if auth:
            at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
                                  "client_id": "id", "client_secret": "secret",
                                  "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}
        at.query_params.update(query or {})
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return make


def signed_in(email: str) -> dict:
    return {"is_logged_in": True, "email": email, "name": email.split("@")[0]}


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.title, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def commits(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Commits"]


def test_without_sign_in_configured_nothing_changes(app):
    at = app(rules=None)
    assert not [b for b in at.button if b.key == "sign_in"]
    assert at.selectbox(key="my_impact_person").options == ["Ada Lovelace", "Grace Hopper", "Linus Torvalds"]
    at = app(rules=None, query={"person": "linus@example.com"})
    assert commits(at) == "1"


def test_signed_out_sees_only_the_sign_in_button(app):
    at = app()
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.selectbox and not at.get("vega_lite_chart") and not at.dataframe
    assert "Ada" not in texts(at) and "Linus" not in texts(at)


def test_sign_in_without_an_identity_provider_says_what_to_configure(app):
    at = app(auth=False)
    assert "no [auth] section" in at.error[0].value
    assert not at.button and not at.metric


def test_a_person_sees_only_themselves(app):
    at = app(user=signed_in("ADA@example.com"))  # the provider's case does not matter
    picker = at.selectbox(key="my_impact_person")
    assert picker.options == ["Ada Lovelace"] and picker.value == "ada"
    assert commits(at) == "3"
    assert "Signed in as ada@example.com" in texts(at)
    assert at.selectbox(key="team").options == ["Everyone I may see"]  # no team to pick


def test_another_persons_link_is_refused_with_a_notice(app):
    at = app(user=signed_in("ada@example.com"), query={"person": "grace@example.com"})
    assert any("You may not see grace@example.com's pages" in e.value for e in at.error)
    assert at.selectbox(key="my_impact_person").value == "ada"
    assert commits(at) == "3"  # Ada's, never Grace's 2
    # Someone who does not exist is refused the same way: no "did you mean" naming people.
    at = app(user=signed_in("ada@example.com"), query={"person": "gracie"})
    assert any("You may not see gracie's pages" in e.value for e in at.error)
    assert "Grace" not in texts(at)


def test_the_promotion_case_follows_the_same_rule(app):
    at = app(user=signed_in("ada@example.com"), query={"person": "linus"}, page="promotion_case.py")
    assert at.selectbox(key="promotion_person").options == ["Ada Lovelace"]
    assert "Linus" not in texts(at)


def test_a_person_has_no_team_health_page(app):
    at = app(user=signed_in("ada@example.com"))
    with pytest.raises(ValueError, match="Known pages: .*my_impact.py.*promotion_case.py'\\]"):
        at.switch_page("team_health.py")  # the page is not registered for her


def test_a_lead_sees_their_teams_people_and_team_health(app):
    at = app(user=signed_in("margaret@example.com"))
    assert at.selectbox(key="team").options == ["Everyone I may see", "core"]  # not web
    assert at.selectbox(key="team").value == "core"
    picker = at.selectbox(key="my_impact_person")
    assert picker.options == ["Ada Lovelace", "Grace Hopper"] and picker.value is None  # not in the data herself
    picker.set_value("grace").run()
    assert commits(at) == "2"
    at.switch_page("team_health.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Team health: ")
    assert "Pick one of your teams" not in texts(at)


def test_a_lead_is_refused_other_teams_and_their_people(app):
    at = app(user=signed_in("margaret@example.com"), query={"person": "linus@example.com"})
    assert any("You may not see linus@example.com's pages" in e.value for e in at.error)
    assert "1" not in [m.value for m in at.metric]
    at = app(user=signed_in("margaret@example.com"), query={"team": "web"})
    assert any("You may not see team 'web'" in e.value for e in at.error)
    assert not at.metric


def test_an_admin_sees_everyone(app):
    at = app(user=signed_in("boss@example.com"), query={"person": "linus@example.com"})
    assert commits(at) == "1"
    assert at.selectbox(key="team").options == ["All teams", "core", "web"]


def test_signed_in_but_allowed_nothing_sees_a_notice(app):
    at = app(user=signed_in("stranger@example.com"))
    assert any("there is nothing this dashboard may show you" in w.value for w in at.warning)
    assert not at.metric and not at.selectbox
    assert [b.label for b in at.button] == ["Sign out"]


def test_a_misspelt_access_key_is_a_one_line_error(app):
    at = app(rules="[access]\nsign_inn = true\n")
    assert any("unknown key 'access.sign_inn'" in e.value for e in at.error)
    assert not at.metric


def test_a_figure_cached_for_an_admin_is_never_shown_to_a_viewer_who_may_not_see_it(app):
    # Figures and packets are cached per warehouse file, shared by every session: the access check runs before
    # any cached call, so a cache the admin filled (Grace's figures and packet, core's Team health) shows
    # Ada nothing of Grace's, and Linus no Team health.
    boss = app(user=signed_in("boss@example.com"), query={"person": "grace@example.com"})
    assert commits(boss) == "2"
    boss.switch_page("promotion_case.py").run()
    assert "Grace Hopper" in texts(boss)
    boss.selectbox(key="team").set_value("core").run()
    boss.switch_page("team_health.py").run()
    assert boss.title[0].value == "Team health: core"  # the roster names no team, its id stands in
    at = app(user=signed_in("ada@example.com"), query={"person": "grace@example.com"})
    assert any("You may not see grace@example.com's pages" in e.value for e in at.error)
    assert commits(at) == "3"  # Ada's own, not Grace's cached 2
    at.switch_page("promotion_case.py").run()
    assert at.selectbox(key="promotion_person").options == ["Ada Lovelace"]
    assert "Grace Hopper" not in texts(at) and "Ada Lovelace" in texts(at)
    linus = app(user=signed_in("linus@example.com"), query={"team": "core"})
    assert any("You may not see team 'core'" in e.value for e in linus.error)
    with pytest.raises(ValueError, match="Known pages"):
        linus.switch_page("team_health.py")
