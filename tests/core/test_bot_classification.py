"""Bot detection that cannot swallow a person (issue: `*bot@*` matched surnames, `renovate*` human logins),
`people bots` saying why each identity is a bot, and `people unbot` correcting a wrong call."""

from __future__ import annotations

import pytest

from helpers import impactlens
from impactlens import config as config_mod
from impactlens import warehouse
from impactlens.bots import AI_REVIEWER, BOT, rules
from impactlens.metrics import load, ownership

RULES = rules(config_mod.load(None))


@pytest.mark.parametrize("email", ["sam.talbot@acme.com", "j.abbot@acme.com", "anne.cabot@acme.com",
                                   "robot.fan@acme.com", "abbott@acme.com"])
def test_surnames_are_people(email):
    assert RULES.email_kind(email) is None


@pytest.mark.parametrize("login", ["cursor-dev", "copilotfan", "renovate-jane", "dependabot-fan", "codecovered",
                                   "talbot", "abbot"])
def test_logins_that_share_a_prefix_are_people(login):
    assert RULES.login_kind(login) is None


@pytest.mark.parametrize("identity_kind, value, kind", [
    ("github_login", "dependabot[bot]", BOT),
    ("github_login", "ImgBotApp", BOT),
    ("github_login", "renovate", BOT),
    ("github_login", "release-bot", BOT),
    ("github_login", "coderabbitai[bot]", AI_REVIEWER),
    ("github_login", "copilot-pull-request-reviewer[bot]", AI_REVIEWER),
    ("github_login", "Copilot", AI_REVIEWER),
    ("email", "49699333+dependabot[bot]@users.noreply.github.com", BOT),
    ("email", "ci@acme.com", BOT),
    ("email", "deploy-bot@acme.com", BOT),
    ("email", "ImgBotHelp@gmail.com", BOT),
])
def test_bots_are_bots(identity_kind, value, kind):
    assert RULES.kind(identity_kind, value) == kind


def test_people_bots_explains_and_unbot_gives_the_work_back(make_repo, db_path):
    """Worked by hand: in src/api, Sam Talbot writes 300 lines, Ada 120, and Jo (whose address is
    jo-bot@acme.com, which the `*-bot@*` pattern takes for a bot) 100; dependabot 1,000 (never counted).
    With Jo a bot: 420 human lines, Sam first with 300/420. After `people unbot`: 520 lines, Sam 300/520,
    Jo 100/520."""
    repo = make_repo("svc")
    for author, name, lines in (("Sam Talbot <sam.talbot@acme.com>", "sam", 300), ("Ada <ada@acme.com>", "ada", 120),
                                ("Jo <jo-bot@acme.com>", "jo", 100),
                                ("dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>", "dep", 1000)):
        repo.write(f"src/api/{name}.py", "".join(f"x{i} = {i}\n" for i in range(lines)))
        repo.commit(f"{name} writes", author=author, date="2025-01-06T10:00:00+00:00")
    done = impactlens("collect", "git", str(repo.path), "--db", str(db_path), "-q")
    assert done.returncode == 0, done.stderr

    def shares():
        with warehouse.read_only(db_path) as con:
            frame = ownership(load(con, coded=False)).collect()
            by = {r["person_key"]: (r["lines"], round(r["share"], 4)) for r in frame.iter_rows(named=True)
                  if r["directory"] == "src/api"}
        return {k.split(":")[-1]: v for k, v in by.items()}

    assert shares() == {"sam.talbot@acme.com": (300, round(300 / 420, 4)), "ada@acme.com": (120, round(120 / 420, 4))}
    listed = impactlens("people", "bots", "--db", str(db_path))
    assert listed.returncode == 0, listed.stderr
    assert "email:jo-bot@acme.com" in listed.stdout and "email pattern '*-bot@*'" in listed.stdout
    assert "dependabot[bot]" in listed.stdout and "sam.talbot" not in listed.stdout

    fixed = impactlens("people", "unbot", "jo-bot@acme.com", "--reason", "Jo's own address", "--db", str(db_path))
    assert fixed.returncode == 0, fixed.stderr
    assert "Recorded as a person: email:jo-bot@acme.com." in fixed.stdout
    assert shares() == {"sam.talbot@acme.com": (300, round(300 / 520, 4)), "ada@acme.com": (120, round(120 / 520, 4)),
                        "jo-bot@acme.com": (100, round(100 / 520, 4))}
    listed = impactlens("people", "bots", "--db", str(db_path))
    assert "jo-bot" not in listed.stdout

    undone = impactlens("people", "unbot", "jo-bot@acme.com", "--undo", "--db", str(db_path))
    assert undone.returncode == 0, undone.stderr
    assert "jo-bot@acme.com" not in shares()
    unknown = impactlens("people", "unbot", "nobody@acme.com", "--db", str(db_path))
    assert unknown.returncode == 2 and "no identity or person 'nobody@acme.com'" in unknown.stderr
