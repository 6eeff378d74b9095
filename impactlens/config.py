"""The one configuration file, ``impactlens.toml``, and its defaults.

The command line looks for the file in the working directory unless ``--config`` names one
(:func:`resolve`, the one place that does); library functions are given a frozen :class:`Config`. Every key is optional;
a key the tool does not know is an error that names it (a typo never passes silently).

Sections (all shown by ``impactlens config show``):

* ``[categories]``: gitignore-style globs (GitHub/CODEOWNERS syntax, via ``pathspec``) per file
  category; a listed category replaces that category's default globs.
* ``[bots]``: login and email patterns of bots and AI reviewers (``extra_*`` extends the defaults).
* ``[incidents]``: issue labels that mark an incident; whether reverts count as incidents.
* ``[deployments]``: git tag patterns that mark a deployment; production environment names.
* ``[business_hours]``: working week and timezone for business-hours figures.
* ``[people]``: path of the roster file.
* ``[review]``: what ends the wait for a first review (docs/metrics.md "Time to first review").
* ``[assistant]``: ``me``, the one person ``impactlens mcp`` answers about (empty: anyone).
* ``[dashboard]``: ``me``, the person the dashboard opens on (an id, email, login or display name; empty:
  the dashboard asks who).
* ``[digest]``: alert thresholds of ``impactlens digest`` and its webhook (docs/assistant.md).
* ``[access]``: optional sign-in for a team dashboard (``sign_in``) and who sees what: ``admins`` (emails that
  see everything) and ``[access.leads]`` (team id = list of lead emails); docs/dashboard.md "Sign-in".
* ``[lake.storage_options]``: delta-rs storage options for a lake on object storage (endpoint, region,
  ``AWS_ALLOW_HTTP``...; docs/scale.md "Object storage"). No secrets: credentials come from the environment.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from impactlens.errors import ConfigError

CONFIG_FILE = "impactlens.toml"
#: How ``impactlens dashboard`` tells the Streamlit process which file the command line resolved.
CONFIG_ENV = "IMPACTLENS_CONFIG"

# Evaluated in this order; the first category whose globs match a path wins; no match is "other".
CATEGORY_ORDER = (
    "vendored", "lockfile", "generated", "adr", "design_doc", "postmortem", "runbook",
    "test", "docs", "code",
)

DEFAULTS: dict[str, Any] = {
    "categories": {
        "vendored": ["vendor/", "vendored/", "third_party/", "third-party/", "node_modules/", "external/"],
        "lockfile": [
            "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb",
            "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "Cargo.lock", "Gemfile.lock",
            "go.sum", "composer.lock", "mix.lock", "pubspec.lock", "flake.lock", "packages.lock.json",
        ],
        "generated": [
            "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.pb.cc",
            "*.pb.h", "*.generated.*", "*_generated.*", "generated/", "__generated__/", "*.snap",
        ],
        "adr": ["**/adr/**", "**/adrs/**", "**/decisions/**", "**/architecture-decisions/**"],
        "design_doc": [
            "**/rfc/**", "**/rfcs/**", "**/design/**", "**/designs/**", "**/design-docs/**",
            "**/design_docs/**", "*design-doc*.md", "*design_doc*.md", "RFC-*.md", "rfc-*.md",
        ],
        "postmortem": [
            "**/postmortems/**", "**/post-mortems/**", "**/postmortem/**", "*postmortem*.md",
            "*post-mortem*.md", "**/incident-reports/**",
        ],
        "runbook": ["**/runbooks/**", "**/runbook/**", "**/playbooks/**", "*runbook*.md"],
        "test": [
            "test/", "tests/", "testing/", "__tests__/", "spec/", "test_*.py", "*_test.py",
            "*_test.go", "*.test.*", "*.spec.*", "*Test.java", "*Tests.java", "*_spec.rb",
            "conftest.py",
        ],
        "docs": [
            "docs/", "doc/", "*.md", "*.rst", "*.adoc", "*.txt", "README*", "CHANGELOG*",
            "CONTRIBUTING*", "LICENSE*", "AUTHORS*",
        ],
        "code": [
            "*.py", "*.pyi", "*.pyx", "*.js", "*.mjs", "*.cjs", "*.ts", "*.tsx", "*.jsx", "*.go",
            "*.rs", "*.java", "*.kt", "*.kts", "*.scala", "*.c", "*.h", "*.cc", "*.cpp", "*.cxx",
            "*.hpp", "*.cs", "*.fs", "*.rb", "*.php", "*.swift", "*.m", "*.mm", "*.sh", "*.bash",
            "*.sql", "*.vue", "*.svelte", "*.css", "*.scss", "*.less", "*.html", "*.ex", "*.exs",
            "*.erl", "*.hs", "*.ml", "*.clj", "*.lua", "*.r", "*.R", "*.jl", "*.dart", "*.pl",
            "*.tf", "*.toml", "*.yaml", "*.yml", "*.json", "*.cfg", "*.ini", "*.gradle", "*.xml",
            "Makefile", "Dockerfile", "*.cmake", "CMakeLists.txt", "*.proto",
        ],
    },
    "bots": {
        # Anchored patterns: each names a bot account, never a prefix a person's login or surname can share
        # (`renovate*` would flag renovate-jane, `*bot@*` sam.talbot@). GitHub's own account type (Bot) is
        # read first by the collectors; docs/identities.md "Bots" gives the precedence.
        "login_patterns": [
            "*[bot]", "*-bot", "*_bot", "dependabot", "dependabot-preview", "renovate", "renovate-bot",
            "github-actions", "greenkeeper", "greenkeeperio-bot", "snyk-bot", "pre-commit-ci", "codecov",
            "codecov-io", "codecov-commenter", "mergify", "allcontributors", "imgbot", "imgbotapp",
        ],
        "email_patterns": [
            "*[bot]@users.noreply.github.com", "bot@*", "*-bot@*", "*_bot@*", "*.bot@*", "noreply@github.com",
            "action@github.com", "actions@github.com", "*@dependabot.com", "bot@renovateapp.com",
            "*@renovateapp.com", "imgbothelp@gmail.com", "jenkins@*", "ci@*", "*-ci@*", "build@*",
        ],
        "ai_reviewer_patterns": [
            "copilot", "copilot-pull-request-reviewer", "copilot-swe-agent", "coderabbitai", "codeant-ai",
            "sourcery-ai", "cursor", "cursor-agent", "graphite-app", "ellipsis-dev", "greptile-apps",
            "qodo-merge", "qodo-merge-pro", "codiumai-pr-agent-pro",
        ],
        "extra_login_patterns": [],
        "extra_email_patterns": [],
        "extra_ai_reviewer_patterns": [],
        # Logins or emails (exact, case-insensitive) that match a pattern above but are people.
        "not_bots": [],
    },
    "incidents": {
        "labels": ["incident", "outage", "sev1", "sev2", "postmortem"],
        "reverts_as_incidents": False,
    },
    "deployments": {
        "tag_patterns": [],
        "production_environments": ["production", "prod", "live", "github-pages"],
    },
    "business_hours": {
        "workdays": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "start": "09:00",
        "end": "17:00",
        "timezone": "UTC",
    },
    "people": {
        "roster": "",
        # The career ladder, lowest first (e.g. ["IC1", "IC2", "IC3", "IC4", "IC5", "M1", "M2"]): how levels
        # compare for mentoring. Empty: the number in the level decides (L3 < L5); a level not listed is unknown.
        "ladder": [],
    },
    "review": {
        # What ends the wait for a first review: "review_or_comment" (a submitted review or a PR comment,
        # CHAOSS time to first response) or "review" (a submitted review only: a "+1" comment does not).
        "first_response": "review_or_comment",
    },
    # impactlens mcp: a person id, login or email; when set, person tools answer only about them.
    "assistant": {
        "me": "",
    },
    # impactlens dashboard: the person My impact and Promotion case open on (empty: a chooser, no default).
    "dashboard": {
        "me": "",
    },
    # impactlens dashboard served to a team: sign in with Streamlit's OIDC (.streamlit/secrets.toml [auth]),
    # then a person sees their own pages, a team's leads see its people and its Team health, admins see all.
    "access": {
        "sign_in": False,
        "admins": [],
        "leads": {},  # team id = ["lead@example.com", ...]: free keys (team ids), each a list of emails
    },
    # impactlens digest: alert thresholds (docs/assistant.md) and where --post sends the message.
    "digest": {
        "stale_days": 3,
        "review_share_max": 0.4,
        "review_window_weeks": 4,
        "min_reviews": 10,
        "postmortem_severities": ["sev1", "sev2"],
        "max_pr_lines": 400,
        "webhook_url": "",
        "webhook_format": "slack",
    },
    # A lake on object storage (--lake s3://bucket/prefix): delta-rs storage options over the environment's,
    # e.g. AWS_ENDPOINT_URL = "http://minio:9000", AWS_REGION, AWS_ALLOW_HTTP = "true" (docs/scale.md).
    "lake": {
        "storage_options": {},  # option name = string value; credentials belong in the environment
    },
}


#: Tables whose keys are the user's own (team ids): each value must be a list of strings.
_FREE_TABLES = {"access.leads"}
#: Tables whose keys are the user's own (storage option names): each value must be a string.
_FREE_STRING_TABLES = {"lake.storage_options"}
#: Storage options that are credentials: refused in the file (``impactlens config show`` prints it).
_SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "ACCOUNT_KEY", "ACCESS_KEY", "SAS", "SERVICE_ACCOUNT_KEY")


def _check(data: dict[str, Any], defaults: dict[str, Any], where: str) -> None:
    if where in _FREE_STRING_TABLES:
        for key, value in data.items():
            if not isinstance(value, str):
                raise ConfigError(f"'{where}.{key}' must be a string.")
            if any(word in key.upper() for word in _SECRET_WORDS) and "KEY_ID" not in key.upper():
                raise ConfigError(f"'{where}.{key}' is a credential: set it in the environment ({key.upper()}), "
                                  "not in the configuration file (docs/scale.md).")
        return
    if where in _FREE_TABLES:
        for key, value in data.items():
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"'{where}.{key}' must be a list of strings (emails).")
        return
    for key, value in data.items():
        name = f"{where}.{key}" if where else key
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(f"unknown key '{name}' in the configuration (known here: {known}).")
        expected = defaults[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{name}' must be a table ([{name}]).")
            _check(value, expected, name)
        elif isinstance(expected, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"'{name}' must be a list of strings.")
        elif isinstance(expected, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"'{name}' must be true or false.")
        elif isinstance(expected, float) and isinstance(value, int) and not isinstance(value, bool):
            pass  # 1 is a fine float
        elif not isinstance(value, type(expected)) or (isinstance(value, bool) and not isinstance(expected, bool)):
            raise ConfigError(f"'{name}' must be a {type(expected).__name__}.")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Section(Mapping[str, Any]):
    """A section read like the TOML table it came from (``section["key"]``, ``section.get("key")``)
    as well as by attribute; frozen."""

    def __getitem__(self, key: str) -> Any:
        if key in self._keys():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Categories(_Section):
    """``[categories]``: gitignore-style globs per file category (:data:`CATEGORY_ORDER`)."""

    vendored: tuple[str, ...]
    lockfile: tuple[str, ...]
    generated: tuple[str, ...]
    adr: tuple[str, ...]
    design_doc: tuple[str, ...]
    postmortem: tuple[str, ...]
    runbook: tuple[str, ...]
    test: tuple[str, ...]
    docs: tuple[str, ...]
    code: tuple[str, ...]


@dataclass(frozen=True)
class Bots(_Section):
    """``[bots]``: login and email globs of bots and AI reviewers; ``not_bots`` are people."""

    login_patterns: tuple[str, ...]
    email_patterns: tuple[str, ...]
    ai_reviewer_patterns: tuple[str, ...]
    extra_login_patterns: tuple[str, ...]
    extra_email_patterns: tuple[str, ...]
    extra_ai_reviewer_patterns: tuple[str, ...]
    not_bots: tuple[str, ...]


@dataclass(frozen=True)
class Incidents(_Section):
    """``[incidents]``: issue labels that mark an incident; whether reverts count as incidents."""

    labels: tuple[str, ...]
    reverts_as_incidents: bool


@dataclass(frozen=True)
class Deployments(_Section):
    """``[deployments]``: git tag globs that mark a deployment; production environment names."""

    tag_patterns: tuple[str, ...]
    production_environments: tuple[str, ...]


@dataclass(frozen=True)
class BusinessHours(_Section):
    """``[business_hours]``: working days (Mon..Sun), start and end (HH:MM) and an IANA timezone."""

    workdays: tuple[str, ...]
    start: str
    end: str
    timezone: str


@dataclass(frozen=True)
class People(_Section):
    """``[people]``: the roster file ('' none) and the career ladder, lowest level first."""

    roster: str
    ladder: tuple[str, ...]


@dataclass(frozen=True)
class Review(_Section):
    """``[review]``: what ends the wait for a first review (``review_or_comment`` or ``review``)."""

    first_response: str


@dataclass(frozen=True)
class Me(_Section):
    """``[assistant]`` and ``[dashboard]``: ``me``, an id, email, login or name ('' unset)."""

    me: str


@dataclass(frozen=True)
class Access(_Section):
    """``[access]``: sign-in, admin emails and ``leads`` (team id -> lead emails)."""

    sign_in: bool
    admins: tuple[str, ...]
    leads: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Digest(_Section):
    """``[digest]``: alert thresholds of ``impactlens digest`` (days, shares, counts) and its webhook."""

    stale_days: int
    review_share_max: float
    review_window_weeks: int
    min_reviews: int
    postmortem_severities: tuple[str, ...]
    max_pr_lines: int
    webhook_url: str
    webhook_format: str


@dataclass(frozen=True)
class Lake(_Section):
    """``[lake]``: ``storage_options`` (option name -> string) a lake on object storage is opened with."""

    storage_options: Mapping[str, str]


@dataclass(frozen=True)
class Config(_Section):
    """The effective configuration: one frozen section per table of ``impactlens.toml``.

    Read by attribute (``config.bots.not_bots``) or like the TOML (``config["bots"]["not_bots"]``);
    lists are tuples. Build it with :func:`load` (a file, or the defaults) or :func:`from_dict`.
    """

    categories: Categories
    bots: Bots
    incidents: Incidents
    deployments: Deployments
    business_hours: BusinessHours
    people: People
    review: Review
    assistant: Me
    dashboard: Me
    access: Access
    digest: Digest
    lake: Lake

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain TOML-shaped data (tables as dicts, tuples as lists)."""
        return _thaw(self)


_SECTIONS: dict[str, type[_Section]] = {
    "categories": Categories, "bots": Bots, "incidents": Incidents, "deployments": Deployments,
    "business_hours": BusinessHours, "people": People, "review": Review, "assistant": Me,
    "dashboard": Me, "access": Access, "digest": Digest, "lake": Lake,
}


class Table(Mapping[str, Any]):
    """A read-only table whose keys are the user's own (``[access.leads]``: team ids)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Table({self._items!r})"

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Table, (self._items,))


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return Table({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


def from_dict(data: Mapping[str, Any] | None = None) -> Config:
    """The configuration from TOML-shaped ``data`` (what an ``impactlens.toml`` would hold) over the defaults.

    Raises:
        ConfigError: an unknown key (named) or a value of the wrong type.
    """
    plain: dict[str, Any] = _thaw(dict(data or {}))
    _check(plain, DEFAULTS, "")
    merged = _merge(DEFAULTS, plain)
    sections: dict[str, Any] = {name: cls(**{k: _freeze(v) for k, v in merged[name].items()})
                                for name, cls in _SECTIONS.items()}
    return Config(**sections)


def defaults() -> Config:
    """The default configuration (no file)."""
    return from_dict({})


def find(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file a command uses: ``path`` when given (``--config``), else ``./impactlens.toml``
    when the working directory has one, else None (the defaults).

    This is the only place that looks in the working directory; library functions take a :class:`Config`.

    Raises:
        ConfigError: ``path`` is given and does not exist.
    """
    if path is None:
        candidate = Path(CONFIG_FILE)
        return candidate if candidate.is_file() else None
    candidate = Path(path)
    if not candidate.exists():
        raise ConfigError(f"configuration file {candidate} does not exist.")
    return candidate


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """The configuration in the file ``path`` over the defaults; None: the defaults (no file is looked for:
    :func:`resolve` applies the command line's rule).

    Raises:
        ConfigError: the file is missing, is not valid TOML (with its line), has an unknown key (named),
            or a value of the wrong type.
    """
    if path is None:
        return defaults()
    candidate = Path(path)
    if not candidate.exists():
        raise ConfigError(f"configuration file {candidate} does not exist.")
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate} is not valid TOML: {exc}.") from None
    return from_dict(data)


def resolve(path: str | os.PathLike[str] | None = None) -> Config:
    """The configuration of a command: ``--config path`` when given, else ``./impactlens.toml`` when present,
    else the defaults (``load(find(path))``).

    Raises:
        ConfigError: as :func:`find` and :func:`load`.
    """
    return load(find(path))


def dumps(config: Config | Mapping[str, Any]) -> str:
    """``config`` as TOML text (what ``impactlens config show`` prints)."""
    import tomli_w

    return tomli_w.dumps(_thaw(config))
