"""The demo generator: one seed, two years of an organisation's activity, as warehouse rows.

:func:`generate` returns ``{table: {column: [values]}}`` for every table it fills, in the shapes the
collectors write (git collector: ``commits``, ``commit_files``, ``commit_coauthors``; GitHub collector:
``pull_requests``, ``pr_timeline_events``, ``reviews``, ``comments``, ``issues``, ``milestones``,
``releases``, ``deployments``, ``codeowners``; and ``incidents`` as the incident import stores them, which
:func:`impactlens.demo.store.build` turns into the generic incident CSV and loads through that import). People,
identities and teams come from the roster (:mod:`impactlens.demo.samples`). The same seed gives the same rows,
value for value.

Randomness comes from named streams (``random.Random(f"{seed}:{name}")``), so that changing one part of
the generator does not reshuffle every other part; nothing reads the clock.
"""

from __future__ import annotations

import gc
import hashlib
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from impactlens import config as config_mod
from impactlens.categories import categorizer
from impactlens.demo import cast
from impactlens.demo.calendar import UTC, Calendar, days, lognormal, zone
from impactlens.demo.cast import BOTS, BOTS_BY_LOGIN, PEOPLE, PEOPLE_BY_ID, REPOS, Bot, Person, Repo
from impactlens.demo.files import AREAS, NOUNS, FileChange, dependency_files, doc_file, pr_files, title_for

END_AT = datetime.combine(cast.END, time(23, 59, 59), UTC)
START_AT = datetime.combine(cast.START, time(0), UTC)
GITHUB_COMMITTER = ("GitHub", "noreply@github.com")
LEVEL_REVIEW_WEIGHT = {"E3": 0.5, "E4": 1.0, "E5": 1.6, "E6": 1.3}
LEVEL_PR_RATE = {"E3": 2.0, "E4": 2.6, "E5": 2.2, "E6": 1.4}  # PRs per working week
LEADS = {"maya-okafor", "dan-kowalski", "grace-liu", "ines-duarte"}


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def fake_sha(*parts: Any) -> str:
    """A stable 40-hex commit sha for the demo's ``parts`` (repository, kind, number...): the SHA-1 of them joined."""
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


@dataclass
class Comment:
    author: str
    at: datetime
    length: int
    kind: str  # 'review' or 'issue'
    path: str | None = None
    reply_to: "Comment | None" = None
    comment_id: str = ""


@dataclass
class Review:
    reviewer: str
    state: str
    at: datetime
    body_length: int
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Issue:
    repo: Repo
    author: str
    created: datetime
    title: str
    labels: list[str]
    closed: datetime | None = None
    assignees: list[str] = field(default_factory=list)
    milestone: int | None = None
    comments: list[Comment] = field(default_factory=list)
    linked: bool = False
    number: int = 0


@dataclass
class PullRequest:
    repo: Repo
    author: str  # login
    created: datetime
    title: str
    kind: str
    files: list[FileChange]
    first_commit_at: datetime
    branch: str
    body_length: int
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    coauthors: list[str] = field(default_factory=list)  # person ids
    requested: list[str] = field(default_factory=list)
    events: list[tuple[str, str, str | None, datetime]] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    milestone: int | None = None
    state: str = "open"
    closed: datetime | None = None
    merged: datetime | None = None
    merged_by: str | None = None
    commit_count: int = 1
    number: int = 0
    merge_sha: str | None = None
    mentee_index: int | None = None  # the author's n-th PR when the author is a mentee
    planted: bool = False  # a story's PR: always merged
    reverts: "PullRequest | None" = None  # the merged PR this one reverts


def _actor(login: str) -> Person | Bot:
    return BOTS_BY_LOGIN.get(login) or cast.PEOPLE_BY_LOGIN[login]


def _person(login: str) -> Person:
    """The person behind a login that is a person's by construction (a human PR's author, a reviewer)."""
    return cast.PEOPLE_BY_LOGIN[login]


def _started(person: Person) -> date:
    """The start day of someone who joined in the demo's window (a mentee)."""
    assert person.start is not None, person.person_id
    return person.start


def _merged(pr: "PullRequest") -> datetime:
    """The merge time of a PR that is merged by construction."""
    assert pr.merged is not None, pr.number
    return pr.merged


class Generator:
    """Builds the organisation step by step; :meth:`tables` gives the rows."""

    def __init__(self, seed: int = cast.SEED) -> None:
        self.seed = seed
        self.calendar = Calendar(PEOPLE, _rng(seed, "vacations"))
        self.categorize = categorizer(config_mod.defaults())
        self.issues: list[Issue] = []
        self.prs: list[PullRequest] = []
        self.milestones: list[dict[str, Any]] = []
        self.incidents: list[dict[str, Any]] = []
        self.direct_commits: list[dict[str, Any]] = []
        self.releases: list[dict[str, Any]] = []
        self.deployments: list[dict[str, Any]] = []
        self._members: dict[tuple[str, date], list[Person]] = {}
        self._commit_rng = _rng(seed, "branch-commits")
        self._ids = {"review": 1_650_000_000, "comment": 1_720_000_000, "event": 13_400_000_000,
                     "deployment": 1_900_000_000, "release": 180_000_000}

    def _next_id(self, kind: str) -> str:
        self._ids[kind] += 1 + (self._ids[kind] * 7919) % 13
        return str(self._ids[kind])

    # --- people over time ---------------------------------------------------------------------
    def team_members(self, team: str, day: date) -> list[Person]:
        key = (team, day)
        members = self._members.get(key)
        if members is None:
            members = [p for p in PEOPLE if p.team_at(day) == team and self.calendar.employed(p, day)]
            self._members[key] = members
        return members

    def home_repo(self, person: Person, day: date) -> Repo | None:
        team = person.team_at(day)
        return cast.REPO_BY_TEAM.get(team) if team else None

    # --- the plan -----------------------------------------------------------------------------
    def run(self) -> "Generator":
        self._milestones()
        self._issues()
        self._incident_times()
        self._human_prs()
        self._story_prs()
        self._bot_prs()
        self.prs.sort(key=lambda pr: (pr.repo.name, pr.created, pr.author, pr.title))
        lifecycle_rng = _rng(self.seed, "lifecycle")
        mentee_counts: dict[str, int] = {}
        for pr in sorted(self.prs, key=lambda pr: (pr.created, pr.repo.name, pr.author)):
            if pr.author in {PEOPLE_BY_ID[m].login for m in cast.MENTEES}:
                mentee_counts[pr.author] = mentee_counts.get(pr.author, 0) + 1
                pr.mentee_index = mentee_counts[pr.author]
            self._lifecycle(pr, lifecycle_rng)
        self._reverts(lifecycle_rng)
        self._link_issues()
        self._number()
        self._commits_and_deployments()
        return self

    def _milestones(self) -> None:
        rng = _rng(self.seed, "milestones")
        themes = {"api": ("Payments v2", "Refunds", "Search relevance", "API v1 retirement", "Webhooks GA",
                          "Auth hardening", "Order history", "Billing exports"),
                  "web": ("Checkout redesign", "Design system 2.0", "Account self-service", "Search UX",
                          "Performance budget", "Accessibility audit", "Cart revamp", "Catalog filters"),
                  "mobile": ("Offline cart", "Onboarding v2", "Push campaigns", "Dark mode", "Checkout v2",
                             "Deep links", "Profile rewrite", "Image pipeline"),
                  "platform": ("Queue migration", "Observability", "Cost reduction", "Blue-green deploys",
                               "SLO alerting", "Multi-region", "Kubernetes upgrade", "Secrets rotation")}
        for repo in REPOS:
            quarter_start = date(2024, 10, 1)
            for number in range(1, 10):
                due = date(quarter_start.year + (quarter_start.month + 2) // 12,
                           (quarter_start.month + 2) % 12 + 1, 1) - timedelta(days=1)
                lead = next(p for p in PEOPLE if p.person_id in LEADS and p.team_at(cast.START) == repo.team)
                closed = datetime.combine(due + timedelta(days=rng.randint(-5, 12)), time(16), UTC)
                self.milestones.append({
                    "repo": repo, "number": number, "title": f"{quarter_start.year} Q{(quarter_start.month - 1) // 3 + 1}: "
                    f"{themes[repo.name][(number - 1) % 8]}", "creator": lead.login,
                    "created": datetime.combine(quarter_start - timedelta(days=10), time(14), UTC),
                    "due": datetime.combine(due, time(8), UTC),
                    "closed": closed if closed < END_AT else None,
                    "start": quarter_start, "end": due,
                })
                quarter_start = due + timedelta(days=1)

    def milestone_for(self, repo: Repo, day: date) -> int | None:
        for m in self.milestones:
            if m["repo"] is repo and m["start"] <= day <= m["end"]:
                return m["number"]
        return None

    def _issues(self) -> None:
        rng = _rng(self.seed, "issues")
        for day in days():
            for person in PEOPLE:
                if not self.calendar.is_workday(person, day) or rng.random() > 0.075:
                    continue
                repo = self.home_repo(person, day)
                if repo is None:
                    continue
                kind = rng.choices(("bug", "enhancement", "chore"), (0.45, 0.4, 0.15))[0]
                created = self.calendar.work_time(person, day, rng)
                noun = rng.choice(NOUNS[repo.name])
                title = {"bug": f"{noun.capitalize()} broken when {rng.choice(('retrying', 'offline', 'logged out', 'paginating', 'under load'))}",
                         "enhancement": f"Improve {noun}", "chore": f"Tidy up {noun}"}[kind]
                labels = [kind] + (["priority:high"] if rng.random() < 0.15 else [])
                issue = Issue(repo, person.login, created, title, labels,
                              milestone=self.milestone_for(repo, day) if rng.random() < 0.4 else None)
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    other = rng.choice(self.team_members(repo.team, day) or [person])
                    at = self.calendar.add_working_hours(other, created, lognormal(rng, 6, 1.0))
                    issue.comments.append(Comment(other.login, at, int(lognormal(rng, 160, 0.8)), "issue"))
                self.issues.append(issue)

    def _incident_times(self) -> None:
        """Incident openings and restore times; the heavy quarter and the runbook shape them."""
        rng = _rng(self.seed, "incidents")
        heavy_from, heavy_to = cast.HEAVY_QUARTER
        services = (("checkout-api", "api"), ("storefront", "web"), ("gateway", "platform"),
                    ("order-queue", "platform"), ("mobile-backend", "api"))
        titles = {"checkout-api": ("Checkout API 5xx spike", "Payment provider timeouts", "Order writes failing"),
                  "storefront": ("Storefront blank page", "Cart not updating", "CDN cache poisoning"),
                  "gateway": ("Gateway latency above SLO", "Gateway TLS handshake errors", "Gateway pods crash-looping"),
                  "order-queue": ("Order queue backlog", "Queue consumers stuck", "Duplicate order events"),
                  "mobile-backend": ("Mobile login failures", "Push notifications delayed")}
        for day in days():
            if day < heavy_from:
                rate, mttr, tta = 2.3 / 30.4, 3.2, 7.0
            elif day < cast.RUNBOOK_DATE:
                rate, mttr, tta = 10.0 / 30.4, 6.5, 14.0
            else:
                rate, mttr, tta = 1.9 / 30.4, 1.2, 4.0
            if rng.random() >= rate:
                continue
            if heavy_from <= day < cast.RUNBOOK_DATE:
                service, repo_name = rng.choices(services, (3, 1, 4, 4, 1))[0]
            else:
                service, repo_name = rng.choices(services, (3, 2, 2, 2, 1))[0]
            hour = rng.choices(range(24), [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 6, 6, 6, 5, 4, 3, 2, 2, 1, 1])[0]
            opened = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), UTC)
            severity = rng.choices(("sev1", "sev2", "sev3"), (0.15, 0.35, 0.5))[0]
            restore_hours = lognormal(rng, mttr * (1.4 if severity == "sev1" else 1.0), 0.55)
            on_call = [p for p in (PEOPLE_BY_ID[i] for i in cast.ON_CALL) if self.calendar.employed(p, day)]
            week = (day - cast.START).days // 7
            commander = on_call[week % len(on_call)]
            others = [p for p in on_call if p is not commander]
            responders = rng.sample(others, rng.randint(1, 3))
            acknowledged = opened + timedelta(minutes=lognormal(rng, tta, 0.7))
            resolved = acknowledged + timedelta(hours=restore_hours)
            external = "P" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
            self.incidents.append({
                "external_id": external, "title": rng.choice(titles[service]), "severity": severity,
                "service": service, "repo": repo_name, "opened": opened.replace(microsecond=0),
                "acknowledged": acknowledged.replace(microsecond=0),
                "resolved": resolved.replace(microsecond=0) if resolved < END_AT else None,
                "commander": commander, "responders": responders, "postmortem": None,
            })

    # --- pull requests ---------------------------------------------------------------------------
    def _pr_rate(self, person: Person, day: date) -> float:
        rate = LEVEL_PR_RATE[person.level]
        if person.person_id in cast.MENTEES:
            weeks = (day - _started(person)).days / 7
            rate = 0.5 if weeks < 3 else min(3.2, 0.5 + 2.7 * (weeks - 3) / 14)
        elif person.start and (day - person.start).days < 42:
            rate *= 0.5
        team = person.team_at(day)
        if team == "mobile":
            rate *= 0.6 if day < cast.AGREEMENT_DATE else 1.3
        if person.person_id == cast.ADR_AUTHOR:
            rate *= 0.8
        return rate

    def _pr_lines(self, person: Person, repo: Repo, day: date, rng: random.Random) -> int:
        median, sigma = repo.median_pr_lines, 1.0
        if repo.name == "mobile":
            median, sigma = (400, 0.8) if day < cast.AGREEMENT_DATE else (115, 0.85)
        if person.start and (day - person.start).days < 56:
            median = 45
        return max(1, min(6000, int(lognormal(rng, median, sigma))))

    def _human_prs(self) -> None:
        rng = _rng(self.seed, "prs")
        for person in PEOPLE:
            for day in days():
                if not self.calendar.is_workday(person, day):
                    continue
                if rng.random() >= self._pr_rate(person, day) / 5:
                    continue
                repo = self.home_repo(person, day)
                if repo is None:
                    continue
                onboarding = person.start is not None and (day - person.start).days < 150
                if rng.random() < 0.08 and not onboarding:  # the occasional change in another team's repository
                    repo = rng.choice([r for r in REPOS if r is not repo])
                kind = rng.choices(("feature", "fix", "refactor", "test", "perf"), (0.42, 0.3, 0.14, 0.08, 0.06))[0]
                area = rng.choice(AREAS[repo.name])
                lines = self._pr_lines(person, repo, day, rng)
                files = pr_files(repo.name, lines, rng)
                self._new_pr(person, repo, day, title_for(repo.name, kind, area, rng), kind, files, rng)

    def _new_pr(self, person: Person, repo: Repo, day: date, title: str, kind: str,
                files: list[FileChange], rng: random.Random, *, at: datetime | None = None,
                labels: list[str] | None = None, planted: bool = False) -> PullRequest:
        created = at or self.calendar.work_time(person, day, rng)
        first_commit = self.calendar.workdays_before(person, created, min(15, int(rng.expovariate(0.8))), rng)
        slug = "-".join(title.lower().replace(":", "").split()[:5])
        pr = PullRequest(
            repo=repo, author=person.login, created=created, title=title, kind=kind, files=files,
            first_commit_at=first_commit, branch=f"{person.login}/{slug}",
            body_length=int(lognormal(rng, 420, 0.9)), draft=rng.random() < 0.15,
            labels=labels if labels is not None else ([{"fix": "bug", "feature": "enhancement"}.get(kind, kind)]),
            milestone=self.milestone_for(repo, day) if rng.random() < 0.35 else None, planted=planted,
        )
        self.prs.append(pr)
        return pr

    def _story_prs(self) -> None:
        rng = _rng(self.seed, "stories")
        ines = PEOPLE_BY_ID[cast.ADR_AUTHOR]
        repos = {r.name: r for r in REPOS}
        for repo_name, path, title, day in cast.ADRS + cast.DESIGN_DOCS:
            self._new_pr(ines, repos[repo_name], day, title, "docs", [doc_file(path, rng)], rng, planted=True, labels=["documentation"])
        for repo_name, person_id, path, title, day in cast.OTHER_ADRS:
            self._new_pr(PEOPLE_BY_ID[person_id], repos[repo_name], day, title, "docs", [doc_file(path, rng)], rng,
                         planted=True, labels=["documentation"])
        kofi = PEOPLE_BY_ID[cast.RUNBOOK_AUTHOR]
        self._new_pr(kofi, repos["platform"], cast.RUNBOOK_DATE, "Add on-call runbooks for the gateway, queue and database",
                     "docs", [doc_file(p, rng) for p in cast.RUNBOOK_PATHS], rng, planted=True, labels=["documentation", "ops"])
        grace = PEOPLE_BY_ID[cast.AGREEMENT_AUTHOR]
        self._new_pr(grace, repos["mobile"], cast.AGREEMENT_DATE,
                     "Team working agreement: PRs under 200 lines, reviews within a day", "docs",
                     [doc_file(cast.AGREEMENT_PATH, rng)], rng, planted=True, labels=["documentation"])
        # Postmortems for sev1 and sev2 incidents, written by the commander within a week.
        for incident in self.incidents:
            if incident["severity"] == "sev3" or incident["resolved"] is None:
                continue
            author = incident["commander"]
            day = (incident["resolved"] + timedelta(days=rng.randint(1, 6))).date()
            while not self.calendar.is_workday(author, day) and day < cast.END:
                day += timedelta(days=1)
            if day >= cast.END:
                continue
            slug = incident["title"].lower().replace(" ", "-")
            path = f"docs/postmortems/{incident['opened']:%Y-%m-%d}-{slug}.md"
            incident["postmortem"] = f"https://github.com/{cast.ORG}/platform/blob/main/{path}"
            self._new_pr(author, repos["platform"], day, f"Postmortem: {incident['title']} ({incident['opened']:%Y-%m-%d})",
                         "docs", [doc_file(path, rng)], rng, planted=True, labels=["postmortem"])

    def _bot_prs(self) -> None:
        rng = _rng(self.seed, "bots")
        repos = {r.name: r for r in REPOS}
        packages = {"api": ("fastapi", "sqlalchemy", "pydantic", "httpx", "boto3", "pytest"),
                    "web": ("react", "next", "typescript", "eslint", "@tanstack/react-query", "vite"),
                    "mobile": ("kotlin", "androidx.compose", "okhttp", "retrofit", "coil"),
                    "platform": ("golang.org/x/net", "google.golang.org/grpc", "hashicorp/aws", "prometheus/client_golang")}
        for bot in BOTS:
            if bot.bot_kind != "bot" or bot.login == "github-actions[bot]":
                continue
            for repo_name in bot.repos:
                repo = repos[repo_name]
                for day in days():
                    if day.weekday() != 0 or rng.random() > 0.8:
                        continue
                    for _ in range(rng.choice((1, 1, 2, 3))):
                        package = rng.choice(packages[repo_name])
                        version = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
                        verb = "Bump" if bot.login.startswith("dependabot") else "Update dependency"
                        title = (f"Bump {package} to {version}" if verb == "Bump"
                                 else f"Update dependency {package} to v{version}")
                        at = datetime.combine(day, time(rng.randint(3, 6), rng.randrange(60), rng.randrange(60)), UTC)
                        pr = PullRequest(
                            repo=repo, author=bot.login, created=at, title=title, kind="deps",
                            files=dependency_files(repo_name, rng), first_commit_at=at - timedelta(seconds=40),
                            branch=f"{bot.login.split('[')[0]}/{package.replace('/', '-')}-{version}",
                            body_length=int(lognormal(rng, 2400, 0.4)), labels=["dependencies"],
                        )
                        self.prs.append(pr)

    # --- what happens to a PR ----------------------------------------------------------------------
    def _pick_reviewers(self, pr: PullRequest, pool: list[Person], rng: random.Random) -> list[Person]:
        names = [p for p in pool if p.login != pr.author]
        if not names:
            return []
        mentor = PEOPLE_BY_ID[cast.MENTOR]
        dan = PEOPLE_BY_ID[cast.BOTTLENECK_REVIEWER]
        first: Person
        if pr.mentee_index is not None and mentor in names and (pr.mentee_index <= 30 or rng.random() < 0.6):
            first = mentor
        elif pr.repo.team == cast.BOTTLENECK_TEAM and dan in names and rng.random() < 0.74:
            first = dan
        else:
            weights = [self._review_weight(p, pr) for p in names]
            if pr.repo.team == cast.BOTTLENECK_TEAM:
                weights = [0.15 if p is dan else w for p, w in zip(names, weights)]
            first = rng.choices(names, weights)[0]
        chosen = [first]
        rest = [p for p in names if p is not first and not (pr.repo.team == cast.BOTTLENECK_TEAM and p is dan)]
        if rest and rng.random() < (0.2 if pr.repo.team == cast.BOTTLENECK_TEAM else 0.35):
            chosen.append(rng.choices(rest, [self._review_weight(p, pr) for p in rest])[0])
        return chosen

    def _review_weight(self, person: Person, pr: PullRequest) -> float:
        """How likely ``person`` is picked to review: seniors more, the mentor most, new hires hardly at first."""
        weight = LEVEL_REVIEW_WEIGHT[person.level] * (1.8 if person.person_id == cast.MENTOR else 1.0)
        if person.start is not None:
            weeks = (pr.created.date() - person.start).days / 7
            weight *= min(1.0, 0.1 + weeks / 12)
        return weight

    def _review_delay(self, reviewer: Person, pr: PullRequest, rng: random.Random) -> float:
        """Working hours until ``reviewer`` picks the PR up."""
        if reviewer.person_id == cast.BOTTLENECK_REVIEWER and pr.repo.team == cast.BOTTLENECK_TEAM:
            return lognormal(rng, 13.0, 0.6)
        if reviewer.person_id == cast.MENTOR and pr.mentee_index is not None:
            return lognormal(rng, 1.2, 0.7)
        return lognormal(rng, 2.4, 0.95)

    def _review_comments(self, pr: PullRequest, author: str, at: datetime, n: int, rng: random.Random) -> list[Comment]:
        paths = [f.path for f in pr.files if not f.is_binary] or [pr.files[0].path]
        return [Comment(author, at, int(lognormal(rng, 140, 0.8)), "review", path=rng.choice(paths)) for _ in range(n)]

    def _lifecycle(self, pr: PullRequest, rng: random.Random) -> None:
        author = _actor(pr.author)
        day = pr.created.date()
        team_pool = self.team_members(pr.repo.team, day)
        if isinstance(author, Bot):
            self._bot_lifecycle(pr, team_pool, rng)
            return
        # Draft, ready, converted back to draft.
        ready = pr.created
        if pr.draft:
            ready = self.calendar.add_working_hours(author, pr.created, lognormal(rng, 5, 1.0))
            pr.events.append(("ready_for_review", pr.author, None, ready))
        elif rng.random() < 0.03:
            back = pr.created + timedelta(minutes=rng.randint(20, 180))
            pr.events.append(("convert_to_draft", pr.author, None, back))
            ready = self.calendar.add_working_hours(author, back, lognormal(rng, 4, 0.8))
            pr.events.append(("ready_for_review", pr.author, None, ready))
        pr.draft = False
        reviewers = self._pick_reviewers(pr, team_pool, rng)
        pr.requested = [r.login for r in reviewers]
        for reviewer in reviewers:
            pr.events.append(("review_requested", pr.author, reviewer.login, ready))
        # The AI reviewer answers within minutes.
        if pr.repo.name in ("api", "web", "platform") and ready.date() >= cast.AI_REVIEWER_FROM:
            at = ready + timedelta(seconds=rng.randint(150, 540))
            review = Review("coderabbitai[bot]", "COMMENTED", at, int(lognormal(rng, 1800, 0.5)))
            review.comments = self._review_comments(pr, "coderabbitai[bot]", at, rng.randint(0, 6), rng)
            pr.reviews.append(review)
        lines = sum((f.additions or 0) + (f.deletions or 0) for f in pr.files)
        mentoring = pr.mentee_index is not None
        early_mentee = pr.mentee_index is not None and pr.mentee_index <= 30  # the mentee's first 30 PRs
        approved_at: list[datetime] = []
        t_author = ready
        for reviewer in reviewers:
            at = self.calendar.add_working_hours(reviewer, ready, self._review_delay(reviewer, pr, rng))
            for round_ in range(4):
                if not self.calendar.employed(reviewer, at.date()):
                    break  # the reviewer left before getting to it
                if early_mentee and reviewer.person_id == cast.MENTOR and round_ == 0:
                    state = rng.choices(("CHANGES_REQUESTED", "COMMENTED", "APPROVED"), (0.5, 0.35, 0.15))[0]
                    n_comments = rng.randint(3, 9)
                elif round_ == 0:
                    state = rng.choices(("APPROVED", "COMMENTED", "CHANGES_REQUESTED"), (0.56, 0.24, 0.2))[0]
                    base = 0 if state == "APPROVED" else 1
                    n_comments = base + min(8, int(rng.expovariate(1.0) * (1 + lines / 300)))
                else:
                    state = rng.choices(("APPROVED", "COMMENTED"), (0.85, 0.15))[0]
                    n_comments = rng.choice((0, 0, 1, 2))
                if state != "APPROVED" and n_comments == 0:
                    n_comments = 1
                review = Review(reviewer.login, state, at, int(lognormal(rng, 90, 1.1)) if state != "APPROVED" or rng.random() < 0.3 else 0)
                review.comments = self._review_comments(pr, reviewer.login, at, n_comments, rng)
                pr.reviews.append(review)
                if state == "APPROVED":
                    approved_at.append(at)
                    break
                # The author answers some comments, pushes fixes and asks again.
                t_author = self.calendar.add_working_hours(author, at, lognormal(rng, 2.5, 0.9))
                replies = [c for c in review.comments if rng.random() < 0.45]
                if replies:
                    answer = Review(pr.author, "COMMENTED", t_author, 0)
                    answer.comments = [Comment(pr.author, t_author, int(lognormal(rng, 80, 0.7)), "review",
                                               path=c.path, reply_to=c) for c in replies]
                    pr.reviews.append(answer)
                pr.events.append(("review_requested", pr.author, reviewer.login, t_author))
                at = self.calendar.add_working_hours(reviewer, t_author, self._review_delay(reviewer, pr, rng) * 0.6)
        # Conversation on the PR itself.
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            who = rng.choice([pr.author] + [r.login for r in reviewers])
            at = self.calendar.add_working_hours(_person(who), ready, lognormal(rng, 3, 1.0))
            pr.comments.append(Comment(who, at, int(lognormal(rng, 150, 0.9)), "issue"))
        if pr.repo.name == "web" and rng.random() < 0.5:
            pr.comments.append(Comment("github-actions[bot]", pr.created + timedelta(minutes=rng.randint(4, 9)),
                                       380, "issue"))
        if mentoring and (early_mentee or rng.random() < 0.4):
            mentor = PEOPLE_BY_ID[cast.MENTOR]
            at = self.calendar.add_working_hours(mentor, ready, lognormal(rng, 2, 0.8))
            pr.comments.append(Comment(mentor.login, at, int(lognormal(rng, 320, 0.6)), "issue"))
            if early_mentee and rng.random() < 0.4:
                pr.coauthors.append(cast.MENTOR)
        elif pr.author == PEOPLE_BY_ID[cast.MENTOR].login:
            mentees = [PEOPLE_BY_ID[m] for m in cast.MENTEES if self.calendar.employed(PEOPLE_BY_ID[m], day)]
            if mentees and (day - min(_started(m) for m in mentees)).days < 150 and rng.random() < 0.3:
                pr.coauthors.append(rng.choice(mentees).person_id)
        elif rng.random() < 0.03 and len(team_pool) > 1:
            pr.coauthors.append(rng.choice([p for p in team_pool if p.login != pr.author]).person_id)
        # Outcome.
        roll = 1.0 if pr.planted else rng.random()
        if (roll < 0.05 or not approved_at) and not pr.planted:
            closed = self.calendar.add_working_hours(author, ready, lognormal(rng, 20, 1.0))
            self._finish(pr, closed=closed)
            return
        if roll < 0.07:  # closed by mistake, reopened a little later
            shut = self.calendar.add_working_hours(author, ready, 1.0)
            pr.events.append(("reopened", pr.author, None, shut + timedelta(minutes=rng.randint(5, 600))))
        last = max(approved_at) if approved_at else t_author
        merged = self.calendar.add_working_hours(author, last, lognormal(rng, 0.8, 1.0))
        merger = pr.author
        if pr.repo.name == "web" and rng.random() < 0.3 and reviewers:
            merger = reviewers[0].login
        if author.end and merged.date() > author.end and reviewers:  # the author left: a reviewer lands it
            merger = reviewers[0].login
            merged = self.calendar.add_working_hours(reviewers[0], last, 1.0)
        self._finish(pr, merged=merged, merged_by=merger)

    def _reverts(self, rng: random.Random) -> None:
        """About one merged change in eighty is reverted within hours, by its author or a teammate."""
        pick = _rng(self.seed, "reverts")
        candidates = [pr for pr in self.prs if pr.merged and pr.kind in ("feature", "fix", "refactor", "perf")]
        for original in candidates:
            if pick.random() >= 0.0125:
                continue
            author, merged = _person(original.author), _merged(original)
            team = [p for p in self.team_members(original.repo.team, merged.date()) if p is not author]
            reverter = author if pick.random() < 0.7 or not team else pick.choice(team)
            if not self.calendar.employed(reverter, merged.date()):
                continue
            created = self.calendar.add_working_hours(reverter, merged, lognormal(pick, 3, 1.0))
            if created > END_AT - timedelta(days=2):
                continue
            files = [FileChange(f.path, {"A": "D", "D": "A"}.get(f.change_type, "M"), f.deletions, f.additions,
                                is_binary=f.is_binary) for f in original.files]
            pr = PullRequest(
                repo=original.repo, author=reverter.login, created=created, title=f'Revert "{original.title}"',
                kind="revert", files=files, first_commit_at=created - timedelta(minutes=pick.randint(2, 20)),
                branch=f"revert-{original.branch}", body_length=int(lognormal(pick, 120, 0.5)), labels=["revert"],
                planted=True, reverts=original,
            )
            self.prs.append(pr)
            self._lifecycle(pr, rng)

    def _bot_lifecycle(self, pr: PullRequest, pool: list[Person], rng: random.Random) -> None:
        if not pool:
            self._finish(pr, closed=pr.created + timedelta(days=7))
            return
        if rng.random() < 0.18:  # superseded by a newer bump
            self._finish(pr, closed=pr.created + timedelta(days=rng.randint(3, 14), hours=rng.randint(0, 12)))
            return
        reviewer = rng.choice(pool)
        pr.requested = [reviewer.login]
        pr.events.append(("review_requested", pr.author, reviewer.login, pr.created))
        at = self.calendar.add_working_hours(reviewer, pr.created, lognormal(rng, 6, 1.0))
        pr.reviews.append(Review(reviewer.login, "APPROVED", at, 0))
        merged = self.calendar.add_working_hours(reviewer, at, 0.1)
        self._finish(pr, merged=merged, merged_by=reviewer.login)

    def _finish(self, pr: PullRequest, *, merged: datetime | None = None, merged_by: str | None = None,
                closed: datetime | None = None) -> None:
        """Cut the PR at the demo's end: what happens after END_AT has not happened yet."""
        pr.events = [e for e in pr.events if e[3] <= END_AT]
        pr.reviews = [r for r in pr.reviews if r.at <= END_AT]
        for review in pr.reviews:
            review.comments = [c for c in review.comments if c.at <= END_AT]
        pr.comments = [c for c in pr.comments if c.at <= END_AT]
        pr.commit_count = 1 if pr.kind == "deps" else 1 + min(9, int(self._commit_rng.expovariate(0.7)))
        if merged is not None and merged <= END_AT:
            pr.state, pr.merged, pr.closed, pr.merged_by = "merged", merged, merged, merged_by
        elif closed is not None and closed <= END_AT:
            pr.state, pr.closed = "closed", closed
        else:
            pr.state = "open"
            if not any(e[0] == "ready_for_review" for e in pr.events) and pr.created.date() > cast.END - timedelta(days=3):
                pr.draft = random.Random(pr.title).random() < 0.3

    # --- issues and numbers ----------------------------------------------------------------------
    def _link_issues(self) -> None:
        rng = _rng(self.seed, "links")
        open_issues: dict[str, list[Issue]] = {r.name: [] for r in REPOS}
        events = sorted(
            [(i.created, 0, k) for k, i in enumerate(self.issues)] + [(p.created, 1, k) for k, p in enumerate(self.prs)]
        )
        for _, is_pr, k in events:
            if not is_pr:
                issue = self.issues[k]
                open_issues[issue.repo.name].append(issue)
                continue
            pr = self.prs[k]
            if pr.kind in ("deps", "docs", "revert") or rng.random() > 0.4 or not open_issues[pr.repo.name]:
                continue
            issue = open_issues[pr.repo.name].pop(rng.randrange(len(open_issues[pr.repo.name])))
            pr.issues.append(issue)
            issue.linked = True
            issue.assignees = [pr.author]
            if pr.merged:
                issue.closed = pr.merged + timedelta(seconds=2)
        for issue in self.issues:
            if not issue.linked and rng.random() < 0.55:
                closed = issue.created + timedelta(hours=lognormal(rng, 24 * 12, 1.2))
                issue.closed = closed.replace(microsecond=0) if closed < END_AT else None

    def _number(self) -> None:
        """Issues and PRs share one number sequence per repository, in creation order (as on GitHub)."""
        for repo in REPOS:
            items: list[tuple[datetime, int, str, Issue | PullRequest]] = [
                (i.created, 0, i.title, i) for i in self.issues if i.repo is repo]
            items += [(p.created, 1, p.title, p) for p in self.prs if p.repo is repo]
            items.sort(key=lambda item: item[:3])
            for number, (_, _, _, item) in enumerate(items, start=1):
                item.number = number

    # --- commits, releases, deployments ----------------------------------------------------------
    def _commits_and_deployments(self) -> None:
        rng = _rng(self.seed, "commits")
        self.commit_rows: list[dict[str, Any]] = []
        for repo in REPOS:
            merged = sorted((p for p in self.prs if p.repo is repo and p.merged), key=lambda p: (p.merged, p.number))
            head = fake_sha(repo.repo_id, "root")
            self.commit_rows.append(self._commit_row(
                repo, head, next(p for p in PEOPLE if p.person_id in LEADS and p.teams[0][0] == repo.team),
                START_AT - timedelta(days=1),
                "Import history before the demo window", "", [], [], committer=GITHUB_COMMITTER, author_bot=None,
            ))
            main_chain: list[tuple[datetime, str]] = [(START_AT - timedelta(days=1), head)]
            self._chain_times = [main_chain[0][0]]
            releases = self._release_days(repo, rng)
            queue: list[tuple[datetime, int, int, PullRequest | str]] = [(_merged(p), 1, p.number, p) for p in merged]
            queue += [(at, 0, k, tag) for k, (at, tag) in enumerate(releases)]
            queue.sort(key=lambda item: item[:3])
            for at, _, _, item in queue:
                if isinstance(item, PullRequest):
                    head = self._merge_pr(repo, item, head, main_chain, rng)
                else:
                    head = self._release_commit(repo, item, at, head, rng)
                main_chain.append((at, head))
                self._chain_times.append(at)
            self._deploy(repo, main_chain, releases, rng)

    def _commit_row(self, repo: Repo, sha: str, person: Person | None, at: datetime, subject: str, body: str,
                    parents: list[str], files: list[FileChange], *, committer: tuple[str, str] | None = None,
                    author_bot: Bot | None = None, committed: datetime | None = None, pr_number: int | None = None,
                    rng: random.Random | None = None) -> dict[str, Any]:
        if author_bot is not None:
            name, email, raw_name, raw_email, offset = author_bot.name, author_bot.email, author_bot.name, author_bot.email, 0
        elif person is not None:
            email = raw_email = person.commit_email
            if person.extra_emails and rng is not None and rng.random() < 0.35:
                email = raw_email = person.extra_emails[0]
            if person.mailmap_raw and rng is not None and rng.random() < 0.3:
                raw_email = person.mailmap_raw
            name = raw_name = person.name
            if raw_email == person.mailmap_raw:
                raw_name = person.name.split()[0].lower()
            local_offset = at.astimezone(zone(person.tz)).utcoffset()
            assert local_offset is not None  # a zone from zoneinfo always has one
            offset = int(local_offset.total_seconds() // 60)
        else:
            name = raw_name = "Acme Engineering"
            email = raw_email = "engineering@acme.io"
            offset = 0
        c_name, c_email = committer or (name, email)
        c_raw = committer or (raw_name, raw_email)
        committed = committed or at
        c_offset = 0 if committer else offset
        insertions = sum(f.additions or 0 for f in files)
        deletions = sum(f.deletions or 0 for f in files)
        return {
            "repo_id": repo.repo_id, "sha": sha, "author_name": name, "author_email": email,
            "author_name_raw": raw_name, "author_email_raw": raw_email, "committer_name": c_name,
            "committer_email": c_email, "committer_name_raw": c_raw[0], "committer_email_raw": c_raw[1],
            "authored_at": at, "author_utc_offset_minutes": offset, "committed_at": committed,
            "committer_utc_offset_minutes": c_offset, "subject": subject, "body": body, "parent_shas": parents,
            "is_merge": len(parents) > 1, "insertions": insertions, "deletions": deletions,
            "files_changed": len(files), "pr_number": pr_number, "_files": files,
        }

    def _merge_pr(self, repo: Repo, pr: PullRequest, head: str, chain: list[tuple[datetime, str]],
                  rng: random.Random) -> str:
        author, merged = _actor(pr.author), _merged(pr)
        person = author if isinstance(author, Person) else None
        bot = author if isinstance(author, Bot) else None
        coauthors = [PEOPLE_BY_ID[c] for c in pr.coauthors]
        trailers = "".join(f"\nCo-authored-by: {c.name} <{c.commit_email}>" for c in coauthors)
        fixes = "".join(f"\nFixes #{i.number}" for i in pr.issues)
        if repo.merge_style == "squash":
            sha = fake_sha(repo.repo_id, "squash", pr.number)
            body = f"* {pr.title.lower()}" + ("\n* address review comments" if pr.commit_count > 1 else "")
            if pr.reverts is not None:
                body = f"This reverts commit {pr.reverts.merge_sha}."
            body = (body + "\n" + fixes + ("\n" if trailers else "") + trailers).strip("\n")
            row = self._commit_row(repo, sha, person, merged, f"{pr.title} (#{pr.number})", body, [head], pr.files,
                                   committer=GITHUB_COMMITTER, author_bot=bot, pr_number=pr.number, rng=rng)
            row["_coauthors"] = coauthors
            self.commit_rows.append(row)
            pr.merge_sha = sha
            return sha
        # Merge-commit style: the branch's commits, then a merge commit by whoever merged.
        base = chain[max(0, bisect_right(self._chain_times, pr.first_commit_at) - 1)][1]
        n = max(1, min(pr.commit_count, len(pr.files)))
        pr.commit_count = n
        groups: list[list[FileChange]] = [[] for _ in range(n)]
        for k, change in enumerate(pr.files):
            groups[k % n].append(change)
        parent = base
        at = pr.first_commit_at
        subjects = [pr.title] + ["Address review comments", "Add tests", "Fix lint", "Rename per review",
                                 "Handle empty state", "Update snapshots"]
        for k, group in enumerate(groups):
            if k:
                at = self.calendar.add_working_hours(person, at, lognormal(rng, 1.5, 0.8)) if person else at
                at = min(at, merged - timedelta(minutes=2 * (n - k)))
            sha = fake_sha(repo.repo_id, "branch", pr.number, k)
            body = trailers.strip("\n") if k == 0 else ""
            if k == 0 and pr.reverts is not None:
                body = f"This reverts commit {pr.reverts.merge_sha}."
            row = self._commit_row(repo, sha, person, at, subjects[min(k, len(subjects) - 1)], body, [parent], group,
                                   author_bot=bot, rng=rng)
            row["_coauthors"] = coauthors if k == 0 else []
            self.commit_rows.append(row)
            parent = sha
        assert pr.merged_by is not None, pr.number
        merger = _actor(pr.merged_by)
        sha = fake_sha(repo.repo_id, "merge", pr.number)
        row = self._commit_row(repo, sha, merger if isinstance(merger, Person) else None, merged,
                               f"Merge pull request #{pr.number} from {cast.ORG}/{pr.branch}", pr.title, [head, parent],
                               [], committer=GITHUB_COMMITTER, author_bot=merger if isinstance(merger, Bot) else None,
                               pr_number=pr.number, rng=rng)
        self.commit_rows.append(row)
        pr.merge_sha = sha
        return sha

    def _release_days(self, repo: Repo, rng: random.Random) -> list[tuple[datetime, str]]:
        """Mobile ships every other Thursday, Platform tags a release on the first Tuesday of a month."""
        out = []
        if repo.name == "mobile":
            minor = 20
            for day in days():
                if day.weekday() == 3 and ((day - cast.START).days // 7) % 2 == 1 and day not in cast.HOLIDAYS["us"]:
                    minor += 1
                    out.append((datetime.combine(day, time(18, rng.randrange(60)), UTC), f"v4.{minor}.0"))
        elif repo.name == "platform":
            minor = 8
            for day in days():
                if day.weekday() == 1 and day.day <= 7:
                    minor += 1
                    out.append((datetime.combine(day, time(10, rng.randrange(60)), UTC), f"v2.{minor}.0"))
        return out

    def _release_commit(self, repo: Repo, tag: str, at: datetime, head: str, rng: random.Random) -> str:
        sha = fake_sha(repo.repo_id, "release", tag)
        bot = BOTS_BY_LOGIN["github-actions[bot]"]
        files = [FileChange("CHANGELOG.md", "M", rng.randint(8, 40), 0)]
        if repo.name == "mobile":
            files.append(FileChange("app/build.gradle.kts", "M", 2, 2))
        self.commit_rows.append(self._commit_row(repo, sha, None, at, f"chore(release): {tag}", "", [head], files,
                                                 author_bot=bot))
        author = "github-actions[bot]" if repo.name == "mobile" else PEOPLE_BY_ID["kofi-mensah"].login
        self.releases.append({"repo": repo, "tag": tag, "at": at, "sha": sha, "author": author,
                              "id": self._next_id("release")})
        return sha

    def _deploy(self, repo: Repo, chain: list[tuple[datetime, str]], releases: list[tuple[datetime, str]],
                rng: random.Random) -> None:
        times = [c[0] for c in chain]

        def head_at(at: datetime) -> str:
            return chain[max(0, bisect_right(times, at) - 1)][1]

        def add(at: datetime, environment: str, sha: str, status: str | None = None) -> None:
            if at > END_AT:
                return
            status = status or ("failure" if rng.random() < 0.04 else "success")
            self.deployments.append({
                "id": f"github:{repo.repo_id}:{self._next_id('deployment')}", "repo": repo, "environment": environment,
                "production": environment == "production", "sha": sha, "created": at.replace(microsecond=0),
                "finished": (at + timedelta(seconds=rng.randint(90, 900))).replace(microsecond=0), "status": status,
            })
            if status == "failure" and environment == "production":
                retry = at + timedelta(minutes=rng.randint(20, 90))
                add(retry, environment, head_at(retry), "success")

        if repo.name == "mobile":
            for at, _tag in releases:
                add(at + timedelta(hours=2), "production", head_at(at + timedelta(minutes=1)))
            return
        merges = [(at, sha) for at, sha in chain[1:]]
        if repo.name == "api":
            for at, sha in merges:
                add(at + timedelta(minutes=rng.randint(6, 15)), "staging", sha)
            for day in days():
                if day.weekday() >= 5 or day in cast.HOLIDAYS["us"]:
                    continue
                at = datetime.combine(day, time(15, rng.randrange(30)), UTC)
                previous = at - timedelta(days=3 if day.weekday() == 0 else 1)
                if any(previous < m < at for m, _ in merges[max(0, bisect_right(times, previous) - 2):bisect_right(times, at)]):
                    add(at, "production", head_at(at))
            return
        for at, sha in merges:  # web and platform deploy every merge to main
            add(at + timedelta(minutes=rng.randint(8, 25)), "production", sha)


def generate(seed: int = cast.SEED) -> dict[str, dict[str, list[Any]]]:
    """All the demo's rows: ``{table: {column: [values]}}``, timestamps as UTC ``datetime``s.

    Deterministic: the same ``seed`` gives the same rows in the same order.
    """
    from impactlens.demo.rows import to_tables

    # Hundreds of thousands of small objects stay alive until the end: the cyclic garbage collector would
    # rescan them again and again (a third of the run) and find nothing to free.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return to_tables(Generator(seed).run())
    finally:
        if enabled:
            gc.enable()
