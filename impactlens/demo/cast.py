"""The demo organisation's fixed facts: its repositories, teams, people, bots, holidays and stories.

Everything here is data, not randomness: the generator (:mod:`impactlens.demo.generate`) draws the
day-to-day activity around these facts from one seed. ``sample_data/README.md`` tells the same cast and
stories in prose; tests, the dashboard and the evidence module use :data:`DEMO_STORIES` to find them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ORG = "acme"
SEED = 20261120
# The demo's two years end on a fixed day so that every build gives the same rows.
START = date(2024, 11, 25)  # a Monday
END = date(2026, 11, 20)  # a Friday; nothing in the demo happens after this day (UTC)

MAILMAP_EMAIL_DOMAIN = "acme.io"


@dataclass(frozen=True)
class Repo:
    """One repository: ``repo_id`` is ``owner/name`` as the collectors write it."""

    name: str
    team: str
    language: str
    merge_style: str  # "squash" (one commit per PR) or "merge" (branch commits and a merge commit)
    median_pr_lines: int
    created: date

    @property
    def repo_id(self) -> str:
        return f"{ORG}/{self.name}"

    @property
    def url(self) -> str:
        return f"https://github.com/{ORG}/{self.name}"


REPOS: tuple[Repo, ...] = (
    Repo("api", "core-api", "python", "squash", 95, date(2019, 3, 4)),
    Repo("web", "web", "typescript", "merge", 110, date(2019, 6, 17)),
    Repo("mobile", "mobile", "kotlin", "squash", 130, date(2020, 2, 3)),
    Repo("platform", "platform", "go", "squash", 75, date(2020, 9, 14)),
)
REPO_BY_TEAM = {repo.team: repo for repo in REPOS}

TEAMS: tuple[tuple[str, str], ...] = (
    ("core-api", "Core API"),
    ("web", "Web"),
    ("mobile", "Mobile"),
    ("platform", "Platform"),
)
# The services each team owns, as the incident tool names them (roster teams[].services).
TEAM_SERVICES: dict[str, tuple[str, ...]] = {
    "core-api": ("checkout-api", "mobile-backend"),
    "web": ("storefront",),
    "mobile": (),
    "platform": ("gateway", "order-queue"),
}

# Regions: the timezone people work in, and its public holidays (plus the company's winter break).
TIMEZONES = {"us": "America/New_York", "de": "Europe/Berlin", "in": "Asia/Kolkata"}
_WINTER_BREAKS = [date(y, 12, d) for y in (2024, 2025) for d in range(24, 32)] + [
    date(y, 1, 1) for y in (2025, 2026)
]
HOLIDAYS: dict[str, frozenset[date]] = {
    "us": frozenset(_WINTER_BREAKS + [
        date(2024, 11, 28), date(2024, 11, 29), date(2025, 1, 20), date(2025, 5, 26), date(2025, 7, 4),
        date(2025, 9, 1), date(2025, 11, 27), date(2025, 11, 28), date(2026, 1, 19), date(2026, 5, 25),
        date(2026, 7, 3), date(2026, 9, 7),
    ]),
    "de": frozenset(_WINTER_BREAKS + [
        date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 1), date(2025, 5, 29), date(2025, 6, 9),
        date(2025, 10, 3), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14),
        date(2026, 5, 25),
    ]),
    "in": frozenset(_WINTER_BREAKS + [
        date(2025, 3, 14), date(2025, 8, 15), date(2025, 10, 2), date(2025, 10, 20), date(2025, 10, 21),
        date(2026, 1, 26), date(2026, 3, 4), date(2026, 10, 2), date(2026, 11, 9),
    ]),
}


@dataclass(frozen=True)
class Person:
    """One engineer. ``person_id`` is the roster's id; ``teams`` are (team_id, valid_from, valid_to)."""

    person_id: str
    name: str
    login: str
    region: str
    level: str
    title: str
    teams: tuple[tuple[str, date, date | None], ...]
    start: date | None = None  # None: joined before the demo's window
    end: date | None = None  # last working day; None: still here
    manager: str | None = None
    extra_emails: tuple[str, ...] = ()  # other addresses the person commits with (not mailmapped)
    mailmap_raw: str | None = None  # an address .mailmap maps to the primary one
    noreply_id: int | None = None  # commits with GitHub's no-reply address instead of the work one

    @property
    def email(self) -> str:
        return f"{self.person_id.replace('-', '.')}@{MAILMAP_EMAIL_DOMAIN}"

    @property
    def commit_email(self) -> str:
        if self.noreply_id is not None:
            return f"{self.noreply_id}+{self.login}@users.noreply.github.com"
        return self.email

    @property
    def tz(self) -> str:
        return TIMEZONES[self.region]

    def team_at(self, day: date) -> str | None:
        for team, valid_from, valid_to in self.teams:
            if valid_from <= day and (valid_to is None or day < valid_to):
                return team
        return None


def _team(team: str, start: date | None = None) -> tuple[tuple[str, date, None], ...]:
    return ((team, start or date(2022, 1, 3), None),)


# Dates of the planted stories (see DEMO_STORIES and sample_data/README.md).
MENTEE_STARTS = {"leo-park": date(2025, 9, 8), "sofia-marin": date(2025, 9, 15)}
TEAM_MOVE_DATE = date(2025, 11, 3)
AGREEMENT_DATE = date(2025, 6, 2)
HEAVY_QUARTER = (date(2026, 1, 1), date(2026, 4, 1))
RUNBOOK_DATE = date(2026, 4, 8)
AI_REVIEWER_FROM = date(2025, 6, 2)

PEOPLE: tuple[Person, ...] = (
    # Core API (acme/api)
    Person("maya-okafor", "Maya Okafor", "mayaokafor", "us", "E6", "Staff Engineer", _team("core-api")),
    Person("tom-becker", "Tom Becker", "tbecker", "de", "E5", "Senior Engineer", _team("core-api"),
           manager="maya-okafor", mailmap_raw="tom@becker-mbp.local"),
    Person("aisha-khan", "Aisha Khan", "aishak", "in", "E4", "Software Engineer II", _team("core-api"),
           manager="maya-okafor"),
    Person("chen-wei", "Chen Wei", "chenwei", "us", "E4", "Software Engineer II", _team("core-api"),
           manager="maya-okafor", extra_emails=("chenwei.dev@gmail.com",)),
    Person("omar-haddad", "Omar Haddad", "ohaddad", "de", "E4", "Software Engineer II", _team("core-api"),
           end=date(2025, 12, 19), manager="maya-okafor"),
    Person("julia-santos", "Julia Santos", "jsantos", "us", "E4", "Software Engineer II", _team("core-api"),
           manager="maya-okafor"),
    Person("leo-park", "Leo Park", "leopark", "us", "E3", "Software Engineer",
           _team("core-api", MENTEE_STARTS["leo-park"]), start=MENTEE_STARTS["leo-park"], manager="maya-okafor"),
    Person("sofia-marin", "Sofia Marin", "sofiamarin", "us", "E3", "Software Engineer",
           _team("core-api", MENTEE_STARTS["sofia-marin"]), start=MENTEE_STARTS["sofia-marin"],
           manager="maya-okafor"),
    # Web (acme/web)
    Person("dan-kowalski", "Dan Kowalski", "dkowalski", "de", "E5", "Senior Engineer, Tech Lead", _team("web")),
    Person("nina-petrova", "Nina Petrova", "ninap", "de", "E5", "Senior Engineer", _team("web"),
           manager="dan-kowalski"),
    Person("arjun-mehta", "Arjun Mehta", "arjunm", "in", "E5", "Senior Engineer", _team("web"),
           manager="dan-kowalski", noreply_id=58123401),
    Person("kavya-iyer", "Kavya Iyer", "kavyaiyer", "in", "E3", "Software Engineer", _team("web"),
           manager="dan-kowalski"),
    Person("lukas-weber", "Lukas Weber", "lweber", "de", "E5", "Senior Engineer", _team("web"),
           manager="dan-kowalski"),
    Person("sam-rivera", "Sam Rivera", "samrivera", "us", "E4", "Software Engineer II",
           (("web", date(2022, 1, 3), TEAM_MOVE_DATE), ("platform", TEAM_MOVE_DATE, None)),
           manager="ines-duarte"),
    Person("emma-larsen", "Emma Larsen", "elarsen", "de", "E3", "Software Engineer",
           _team("web", date(2025, 3, 3)), start=date(2025, 3, 3), manager="dan-kowalski"),
    Person("rahul-verma", "Rahul Verma", "rverma", "in", "E4", "Software Engineer II", _team("web"),
           end=date(2025, 8, 29), manager="dan-kowalski"),
    # Mobile (acme/mobile)
    Person("grace-liu", "Grace Liu", "graceliu", "us", "E5", "Senior Engineer, Tech Lead", _team("mobile")),
    Person("marcus-brown", "Marcus Brown", "mbrown", "us", "E4", "Software Engineer II", _team("mobile"),
           manager="grace-liu"),
    Person("hannah-cohen", "Hannah Cohen", "hcohen", "us", "E4", "Software Engineer II", _team("mobile"),
           manager="grace-liu"),
    Person("diego-alvarez", "Diego Alvarez", "dalvarez", "us", "E3", "Software Engineer", _team("mobile"),
           manager="grace-liu"),
    Person("yuki-tanaka", "Yuki Tanaka", "ytanaka", "de", "E4", "Software Engineer II", _team("mobile"),
           manager="grace-liu"),
    Person("fatima-zahra", "Fatima Zahra", "fzahra", "de", "E4", "Software Engineer II", _team("mobile"),
           manager="grace-liu"),
    Person("ben-talbot", "Ben Talbot", "btalbot", "us", "E3", "Software Engineer",
           _team("mobile", date(2025, 5, 12)), start=date(2025, 5, 12), manager="grace-liu"),
    # Platform (acme/platform)
    Person("ines-duarte", "Ines Duarte", "inesduarte", "de", "E6", "Staff Engineer", _team("platform")),
    Person("kofi-mensah", "Kofi Mensah", "kmensah", "us", "E5", "Senior Site Reliability Engineer",
           _team("platform"), manager="ines-duarte"),
    Person("raj-patel", "Raj Patel", "rajpatel", "in", "E5", "Senior Engineer", _team("platform"),
           manager="ines-duarte"),
    Person("anna-kowalczyk", "Anna Kowalczyk", "akowalczyk", "de", "E4", "Software Engineer II",
           _team("platform"), manager="ines-duarte"),
    Person("vikram-nair", "Vikram Nair", "vnair", "in", "E4", "Software Engineer II", _team("platform"),
           manager="ines-duarte"),
    Person("olivia-grant", "Olivia Grant", "ogrant", "us", "E4", "Software Engineer II", _team("platform"),
           end=date(2026, 6, 30), manager="ines-duarte"),
    Person("pedro-silva", "Pedro Silva", "psilva", "de", "E3", "Software Engineer",
           _team("platform", date(2026, 2, 2)), start=date(2026, 2, 2), manager="ines-duarte"),
)
PEOPLE_BY_ID = {p.person_id: p for p in PEOPLE}
PEOPLE_BY_LOGIN = {p.login: p for p in PEOPLE}


@dataclass(frozen=True)
class Bot:
    """A bot account: ``bot_kind`` is 'bot' or 'ai_reviewer' (the contract in docs/schema.md)."""

    person_id: str
    login: str
    name: str
    email: str
    bot_kind: str
    repos: tuple[str, ...] = field(default=())


BOTS: tuple[Bot, ...] = (
    Bot("bot-dependabot", "dependabot[bot]", "dependabot[bot]",
        "49699333+dependabot[bot]@users.noreply.github.com", "bot", ("api", "web")),
    Bot("bot-renovate", "renovate[bot]", "renovate[bot]",
        "29139614+renovate[bot]@users.noreply.github.com", "bot", ("mobile", "platform")),
    Bot("bot-github-actions", "github-actions[bot]", "github-actions[bot]",
        "41898282+github-actions[bot]@users.noreply.github.com", "bot", ("web", "mobile")),
    Bot("bot-coderabbitai", "coderabbitai[bot]", "coderabbitai[bot]",
        "136622811+coderabbitai[bot]@users.noreply.github.com", "ai_reviewer", ("api", "web", "platform")),
)
BOTS_BY_LOGIN = {b.login: b for b in BOTS}

# Architecture decision records and design docs by the ADR author (repo, path, title, day).
ADR_AUTHOR = "ines-duarte"
ADRS: tuple[tuple[str, str, str, date], ...] = (
    ("platform", "docs/adr/0001-record-architecture-decisions.md", "ADR 0001: Record architecture decisions", date(2024, 12, 10)),
    ("platform", "docs/adr/0002-postgres-for-the-order-store.md", "ADR 0002: PostgreSQL for the order store", date(2025, 1, 22)),
    ("platform", "docs/adr/0003-one-queue-per-bounded-context.md", "ADR 0003: One queue per bounded context", date(2025, 3, 12)),
    ("api", "docs/adr/0004-idempotency-keys-for-payments.md", "ADR 0004: Idempotency keys for payment calls", date(2025, 5, 6)),
    ("platform", "docs/adr/0005-blue-green-deploys.md", "ADR 0005: Blue-green deploys for the gateway", date(2025, 7, 15)),
    ("platform", "docs/adr/0006-opentelemetry-tracing.md", "ADR 0006: OpenTelemetry for tracing", date(2025, 9, 23)),
    ("api", "docs/adr/0007-retire-the-v1-api.md", "ADR 0007: Retire the v1 API", date(2025, 12, 2)),
    ("platform", "docs/adr/0008-slo-based-alerting.md", "ADR 0008: SLO-based alerting", date(2026, 2, 17)),
    ("platform", "docs/adr/0009-multi-region-failover.md", "ADR 0009: Multi-region failover", date(2026, 6, 9)),
    ("api", "docs/adr/0010-event-sourcing-for-refunds.md", "ADR 0010: Event sourcing for refunds", date(2026, 9, 15)),
)
DESIGN_DOCS: tuple[tuple[str, str, str, date], ...] = (
    ("platform", "docs/design/queue-migration.md", "Design: migrating to one queue per context", date(2025, 2, 18)),
    ("platform", "docs/design/observability-roadmap.md", "Design: observability roadmap", date(2025, 8, 26)),
    ("api", "docs/design/payments-v2.md", "Design: payments v2", date(2025, 10, 28)),
    ("platform", "docs/design/multi-region.md", "Design: multi-region platform", date(2026, 5, 12)),
)
# One ADR by someone else, so the ADR author is the clear leader but not the only writer.
OTHER_ADRS: tuple[tuple[str, str, str, str, date], ...] = (
    ("web", "dan-kowalski", "docs/adr/0001-react-server-components.md", "ADR: React server components", date(2025, 4, 8)),
)

RUNBOOK_AUTHOR = "kofi-mensah"
RUNBOOK_PATHS = (
    "runbooks/api-latency.md", "runbooks/database-failover.md", "runbooks/queue-backlog.md", "runbooks/README.md",
)
AGREEMENT_AUTHOR = "grace-liu"
AGREEMENT_PATH = "docs/team/working-agreement.md"
MENTOR = "maya-okafor"
MENTEES = ("leo-park", "sofia-marin")
BOTTLENECK_REVIEWER = "dan-kowalski"
BOTTLENECK_TEAM = "web"
TEAM_MOVER = "sam-rivera"
TWO_EMAILS = "chen-wei"
ON_CALL = ("kofi-mensah", "raj-patel", "anna-kowalczyk", "vikram-nair", "olivia-grant", "tom-becker",
           "maya-okafor", "julia-santos", "sam-rivera", "pedro-silva")

DEMO_STORIES: dict[str, dict] = {
    "mentoring": {
        "summary": "Maya Okafor (staff, Core API) mentors the two new hires Leo Park and Sofia Marin: she "
                   "reviews almost all of their first PRs with many comments and pairs with them "
                   "(Co-authored-by trailers); their merged PRs per week grow from about 0.5 to about 3.",
        "mentor": MENTOR, "mentees": MENTEES, "team": "core-api", "repo": "acme/api",
        "mentee_starts": MENTEE_STARTS,
    },
    "review_bottleneck": {
        "summary": "In the Web team Dan Kowalski does about half of all reviews, and he is slow to pick "
                   "them up, so Web's time to first review is the longest of the four teams.",
        "team": BOTTLENECK_TEAM, "reviewer": BOTTLENECK_REVIEWER, "repo": "acme/web", "share": 0.5,
    },
    "incidents_runbook": {
        "summary": "2026 Q1 is incident-heavy (about 10 a month, slow to restore). On the runbook date Kofi "
                   "Mensah merges runbooks/*.md into acme/platform; afterwards incidents are rarer and MTTR "
                   "falls by more than half.",
        "heavy_quarter": HEAVY_QUARTER, "runbook_date": RUNBOOK_DATE, "author": RUNBOOK_AUTHOR,
        "repo": "acme/platform", "paths": RUNBOOK_PATHS,
    },
    "pr_size_agreement": {
        "summary": "The Mobile team agrees to keep PRs small (docs/team/working-agreement.md, merged by Grace "
                   "Liu); median PR size in acme/mobile drops from about 400 to about 120 changed lines.",
        "team": "mobile", "repo": "acme/mobile", "date": AGREEMENT_DATE, "author": AGREEMENT_AUTHOR,
        "path": AGREEMENT_PATH,
    },
    "adr_author": {
        "summary": "Ines Duarte (staff, Platform) writes the organisation's architecture decision records "
                   "and design docs across acme/platform and acme/api.",
        "person": ADR_AUTHOR, "adrs": tuple(a[1] for a in ADRS), "design_docs": tuple(d[1] for d in DESIGN_DOCS),
    },
    "team_move": {
        "summary": "Sam Rivera moves from Web to Platform; work before the move counts for Web, after for Platform.",
        "person": TEAM_MOVER, "from_team": "web", "to_team": "platform", "date": TEAM_MOVE_DATE,
    },
    "two_emails": {
        "summary": "Chen Wei commits with the work address and, from a personal laptop, chenwei.dev@gmail.com "
                   "(no .mailmap entry: only the roster ties them together).",
        "person": TWO_EMAILS, "emails": ("chen.wei@acme.io", "chenwei.dev@gmail.com"),
    },
    "mailmap": {
        "summary": "Tom Becker's laptop address tom@becker-mbp.local is mapped by .mailmap to tom.becker@acme.io "
                   "(author_email_raw keeps it); Arjun Mehta commits with his GitHub no-reply address.",
        "person": "tom-becker", "raw_email": "tom@becker-mbp.local",
    },
    "joiners_leavers": {
        "summary": "Emma Larsen, Ben Talbot, Leo Park, Sofia Marin and Pedro Silva join; Rahul Verma, Omar "
                   "Haddad and Olivia Grant leave.",
        "joined": {p.person_id: p.start for p in PEOPLE if p.start},
        "left": {p.person_id: p.end for p in PEOPLE if p.end},
    },
    "named_like_a_bot": {
        "summary": "Ben Talbot (Mobile, joins 2025-05-12) commits as ben.talbot@acme.io, an address that ends in "
                   "'bot@': he is a person, and every human figure counts his work.",
        "person": "ben-talbot", "email": "ben.talbot@acme.io",
    },
    "ai_reviewer": {
        "summary": "coderabbitai[bot] reviews PRs in acme/api, acme/web and acme/platform within minutes; it "
                   "must never count as the first human review.",
        "login": "coderabbitai[bot]", "from": AI_REVIEWER_FROM, "repos": ("acme/api", "acme/web", "acme/platform"),
    },
}
