"""The weekly digest: a team's health review as a short message, with alerts (docs/assistant.md).

:func:`build_digest` takes the weekly team review (:func:`impactlens.evidence.build_team_review`) and adds
alerts whose thresholds live in ``[digest]`` of impactlens.toml. Every alert cites its records (PRs,
incidents) with links. Renderings: Markdown, JSON, a Slack incoming-webhook payload and a Microsoft Teams
(Workflows) Adaptive Card payload; :func:`post` sends one to a webhook URL.

Privacy: the review-concentration alert gives the largest share, never the reviewer, unless asked
(``names=True``, ``--show-names``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb
import polars as pl

from impactlens.errors import ConfigError, ImpactlensError
from impactlens.evidence.model import Record, to_jsonable
from impactlens.evidence.tables import repo_urls
from impactlens.evidence.team_review import TeamReview, build_team_review
from impactlens.text import md_link, md_text, slack_link, slack_text
from impactlens.metrics import Scope, human_reviews, incident_facts, incident_roles, load, pr_facts, review_load, with_team
from impactlens.config import Config

#: Exit code of ``impactlens digest`` when at least one alert fired (0: none).
ALERT_EXIT_CODE = 3
FORMATS = ("md", "json", "slack", "teams")
#: Records listed per alert in the message (the JSON keeps them all).
SHOWN = 5


class DigestError(ImpactlensError):
    """The digest cannot be sent (webhook unreachable or refused)."""


@dataclass
class Alert:
    """One alert: ``kind`` (stale_pr, merged_without_review, review_concentration,
    incident_without_postmortem, large_pr), a one-line ``title``, the measured ``value`` against its
    ``threshold`` (units in ``unit``) and the records behind it."""

    kind: str
    title: str
    value: float
    threshold: float
    unit: str
    records: list[Record] = field(default_factory=list)


@dataclass
class Digest:
    """A team's weekly digest. Build it with :func:`build_digest`."""

    review: TeamReview
    alerts: list[Alert]
    settings: dict[str, Any]

    @property
    def title(self) -> str:
        return f"Weekly digest: {self.review.team_name}, {self.review.week_label}"

    def _figures(self) -> list[str]:
        return [f"{m.figure.name}: {m.figure.text()}" for m in self.review.moved[:3]]

    def to_markdown(self) -> str:
        """The digest as Markdown: up to three figures that moved, then each alert with its records."""
        out = [f"# {md_text(self.title)}", ""]
        out += [f"- {md_text(line)}" for line in self._figures()] or ["- No team figures this week."]
        out += ["", f"## Alerts ({len(self.alerts)})" if self.alerts else "## No alerts", ""]
        for a in self.alerts:
            out.append(f"- **{md_text(a.title)}**")
            out += [f"  - {r.markdown()}" for r in a.records[:SHOWN]]
            if len(a.records) > SHOWN:
                out.append(f"  - and {len(a.records) - SHOWN} more")
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"team_id": self.review.team_id, "team_name": self.review.team_name,
                            "week_start": self.review.week_start, "figures": self._figures(),
                            "alerts": self.alerts, "settings": self.settings})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    def _lines(self, link, text) -> list[str]:
        """One line per figure and alert; ``text`` escapes what comes from the data, ``link`` makes a
        record's link in the target's syntax (only http(s) URLs become links)."""
        lines = [text(line) for line in self._figures()]
        for a in self.alerts:
            refs = ", ".join(link(r.label, r.url) for r in a.records[:SHOWN]) + (
                f" and {len(a.records) - SHOWN} more" if len(a.records) > SHOWN else "")
            lines.append(f"⚠ {text(a.title)}" + (f": {refs}" if refs else ""))
        return lines or ["No alerts."]

    def to_slack(self) -> dict[str, Any]:
        """A Slack incoming-webhook payload (``text`` fallback plus mrkdwn blocks; links as ``<url|label>``)."""
        body = "\n".join(f"• {line}" for line in self._lines(slack_link, slack_text))
        return {"text": self.title, "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}}]}

    def to_teams(self) -> dict[str, Any]:
        """A Microsoft Teams Workflows webhook payload: a message with one Adaptive Card (links in Markdown)."""
        blocks = [{"type": "TextBlock", "text": md_text(self.title), "weight": "Bolder", "size": "Medium", "wrap": True}]
        blocks += [{"type": "TextBlock", "text": f"- {line}", "wrap": True} for line in self._lines(md_link, md_text)]
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": blocks}}]}

    def render(self, fmt: str) -> str:
        """The digest in ``fmt`` (one of :data:`FORMATS`) as text (webhook payloads as JSON)."""
        if fmt == "md":
            return self.to_markdown()
        if fmt == "json":
            return self.to_json()
        payload = self.to_slack() if fmt == "slack" else self.to_teams()
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def settings(config: Config) -> dict[str, Any]:
    """The ``[digest]`` settings of ``config``, checked.

    Raises:
        ConfigError: a threshold out of range or an unknown webhook format.
    """
    s = dict(config["digest"])
    if s["stale_days"] < 1 or s["review_window_weeks"] < 1 or s["min_reviews"] < 1 or s["max_pr_lines"] < 1:
        raise ConfigError("digest.stale_days, review_window_weeks, min_reviews and max_pr_lines must be at least 1.")
    if not 0 < s["review_share_max"] <= 1:
        raise ConfigError("digest.review_share_max must be a share between 0 and 1 (e.g. 0.4).")
    if s["webhook_format"] not in ("slack", "teams"):
        raise ConfigError("digest.webhook_format must be slack or teams.")
    return s


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _pr_record(r: dict[str, Any], urls: dict[str, str]) -> Record:
    url = r["url"] or (f"{urls[r['repo_id']]}/pull/{r['number']}" if r["repo_id"] in urls else None)
    return Record("pr", str(r["number"]), f"{r['repo_id']}#{r['number']}", r["repo_id"], url, r["title"])


def build_digest(con: duckdb.DuckDBPyConnection, team: str, week: str, config: Config, *,
                 names: bool = False) -> Digest:
    """The digest of ``team`` (id or name) for the ISO week ``week`` (``2026-W14`` or a date in it).

    Alerts (thresholds from ``config["digest"]``; times UTC; the week is [Monday, next Monday)):
      * stale_pr: team members' ready, non-draft PRs still open at the week's end with no human response,
        waiting more than ``stale_days`` days since ready.
      * merged_without_review: team members' PRs merged in the week with no human review submitted before
        the merge (bots, AI reviewers and the author's own reviews do not count; comments are not reviews).
      * review_concentration: over the ``review_window_weeks`` weeks ending with this one, one member gave
        more than ``review_share_max`` of the team's human reviews (with at least ``min_reviews`` reviews).
      * incident_without_postmortem: incidents the team took part in, resolved in the week, of a severity in
        ``postmortem_severities`` (all when empty), with no postmortem linked.
      * large_pr: team members' PRs merged in the week with more than ``max_pr_lines`` changed lines
        (generated, lockfile and vendored files excluded).

    Raises:
        EvidenceError: unknown team or week. ConfigError: bad ``[digest]`` settings.
    """
    s = settings(config)
    review = build_team_review(con, team, week, names=False, config=config)
    team_id = review.team_id
    start = datetime.combine(review.week_start, datetime.min.time(), timezone.utc)
    end = start + timedelta(days=7)
    frames = load(con, coded=False, config=config)
    urls = repo_urls(con)
    facts = pr_facts(frames).filter(~pl.col("author_is_bot"))
    alerts: list[Alert] = []

    waiting = with_team(frames, facts.filter(~pl.col("is_draft")), "author_key", "ready_at").filter(
        (pl.col("team_id") == team_id) & (pl.col("ready_at") < end)
        & (pl.col("first_human_response_at").is_null() | (pl.col("first_human_response_at") >= end))
        & (pl.col("merged_at").is_null() | (pl.col("merged_at") >= end))
        & (pl.col("closed_at").is_null() | (pl.col("closed_at") >= end))
    ).with_columns(((pl.lit(end) - pl.col("ready_at")).dt.total_seconds() / 86400).alias("days")).filter(
        pl.col("days") > s["stale_days"]).sort("days", descending=True).collect()
    if waiting.height:
        alerts.append(Alert("stale_pr", f"{_n(waiting.height, 'PR')} open more than {s['stale_days']} days without a "
                            f"human review (longest {waiting['days'].max():.0f} days)", float(waiting.height),
                            float(s["stale_days"]), "days", [_pr_record(r, urls) for r in waiting.iter_rows(named=True)]))

    merged = with_team(frames, facts, "author_key", "merged_at").filter(
        (pl.col("team_id") == team_id) & (pl.col("merged_at") >= start) & (pl.col("merged_at") < end))
    reviewed = human_reviews(frames).join(frames.prs.select("pr_id", "merged_at"), on="pr_id").filter(
        pl.col("submitted_at") <= pl.col("merged_at")).select("pr_id").unique()
    unreviewed = merged.join(reviewed, on="pr_id", how="anti").sort("repo_id", "number").collect()
    if unreviewed.height:
        alerts.append(Alert("merged_without_review", f"{_n(unreviewed.height, 'PR')} merged without a human review",
                            float(unreviewed.height), 0.0, "PRs", [_pr_record(r, urls) for r in unreviewed.iter_rows(named=True)]))

    window = Scope(team=team_id, start=end - timedelta(weeks=s["review_window_weeks"]), end=end)
    shares, _ = review_load(frames, window, grain="week")
    per_person = shares.group_by("person_key").agg(pl.col("reviews").sum()).collect()
    total = int(per_person["reviews"].sum() or 0)
    if total >= s["min_reviews"]:
        top = per_person.sort("reviews", descending=True).row(0, named=True)
        share = top["reviews"] / total
        if share > s["review_share_max"]:
            who = "one member"
            if names:
                people = dict(frames.people.select("person_key", "display_name").collect().iter_rows())
                who = people.get(top["person_key"], top["person_key"])
            theirs = human_reviews(frames).filter(
                (pl.col("reviewer_key") == top["person_key"]) & (pl.col("submitted_at") >= window.start)
                & (pl.col("submitted_at") < end)).select("repo_id", "review_id", "pr_number").collect()
            review_urls = dict(con.sql("SELECT repo_id || ':' || review_id, url FROM reviews").fetchall())
            records = [Record("review", r["review_id"], f"review on {r['repo_id']}#{r['pr_number']}", r["repo_id"],
                              review_urls.get(f"{r['repo_id']}:{r['review_id']}")) for r in theirs.iter_rows(named=True)]
            alerts.append(Alert("review_concentration", f"{who} gave {share:.0%} of the team's {total} reviews in "
                                f"the last {s['review_window_weeks']} weeks (threshold {s['review_share_max']:.0%})",
                                share, s["review_share_max"], "share", records))

    members = frames.memberships.filter(pl.col("team_id") == team_id).collect()["person_key"].implode()
    involved = incident_roles(frames).filter(pl.col("person_key").is_in(members)).select("incident_id").unique()
    severities = [v.lower() for v in s["postmortem_severities"]]
    missing = incident_facts(frames).join(involved, on="incident_id").filter(
        (pl.col("resolved_at") >= start) & (pl.col("resolved_at") < end) & ~pl.col("has_postmortem")
        & (pl.col("severity").str.to_lowercase().is_in(severities) if severities else pl.lit(True))
    ).sort("resolved_at").collect()
    if missing.height:
        alerts.append(Alert("incident_without_postmortem", f"{_n(missing.height, 'incident')} resolved without a linked "
                            "postmortem", float(missing.height), 0.0, "incidents",
                            [Record("incident", r["incident_id"], r["incident_id"], r["repo_id"], r["url"], r["title"])
                             for r in missing.iter_rows(named=True)]))

    large = merged.filter(pl.col("changed_lines") > s["max_pr_lines"]).sort("changed_lines", descending=True).collect()
    if large.height:
        alerts.append(Alert("large_pr", f"{_n(large.height, 'merged PR')} above the agreed {s['max_pr_lines']} changed lines "
                            f"(largest {large['changed_lines'].max()})", float(large.height), float(s["max_pr_lines"]),
                            "lines", [_pr_record(r, urls) for r in large.iter_rows(named=True)]))
    return Digest(review, alerts, s)


def post(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON to an incoming-webhook ``url``; the HTTP status.

    Raises:
        DigestError: unreachable, or a status other than 2xx (the URL, which holds a secret, is not repeated).
    """
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DigestError(f"the webhook refused the digest (HTTP {exc.code}).") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DigestError(f"the webhook could not be reached ({reason}).") from None
