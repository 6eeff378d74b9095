"""The collector's connection to GitHub: PyGithub with credentials, retries and a request budget.

* Credentials come from the environment, never from the command line: a token from ``GITHUB_TOKEN``
  (or the variable named by ``token_env``), else a GitHub App installation (``GITHUB_APP_ID`` and
  ``GITHUB_APP_PRIVATE_KEY``, the PEM text or a path to it; ``GITHUB_APP_INSTALLATION_ID`` or
  looked up for the owner). The secret lives only inside PyGithub's ``Auth`` object; every error
  this module raises names the variable, never its value.
* Retries are PyGithub's :class:`github.GithubRetry` (an ``urllib3`` ``Retry``): transient 5xx and
  429 with exponential backoff, 403/429 secondary limits after their ``Retry-After``, and the primary
  limit (``X-RateLimit-Remaining: 0``) by waiting for ``X-RateLimit-Reset`` if that is at most
  ``max_rate_limit_wait`` seconds away, else stopping with :class:`RateLimited` (which says when to
  run again).
* :attr:`GitHubClient.budget` tracks requests sent, GraphQL points spent and the budget left.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import urlparse

import requests
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.GithubException import BadCredentialsException, RateLimitExceededException, UnknownObjectException

from impactlens.errors import CollectionError
from impactlens.redact import remember

DEFAULT_API_URL = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
APP_ID_ENV = "GITHUB_APP_ID"
APP_KEY_ENV = "GITHUB_APP_PRIVATE_KEY"
APP_INSTALLATION_ENV = "GITHUB_APP_INSTALLATION_ID"
USER_AGENT = "impactlens"
RETRIES = 6
TIMEOUT_SECONDS = 60


class RateLimited(CollectionError):
    """GitHub's budget is spent (or a limit would need a longer wait than allowed).

    ``reset_at`` (UTC, or None if GitHub did not say) is when a new run can continue. The collector
    keeps every page stored before it.
    """

    def __init__(self, message: str, reset_at: datetime | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class CredentialsError(CollectionError):
    """GitHub refused the credentials (401): nothing else will work until they are fixed."""


class ServerError(CollectionError):
    """GitHub kept answering 5xx after the retries (an outage, or a GraphQL query too heavy to answer)."""


class UnreachableError(CollectionError):
    """The API address could not be reached (DNS, connection refused, TLS, timeout)."""


class BadAnswerError(CollectionError):
    """The API answered something that is not the expected JSON: an HTML page with status 200 (a proxy,
    a login or maintenance page), JSON cut off part-way, or a GraphQL answer without data."""


log = logging.getLogger("impactlens.github")


class _Retry(GithubRetry):
    """PyGithub's retry policy that says each 5xx retry on stderr (through logging) before waiting."""

    def new(self, **kw: Any) -> "_Retry":
        return super().new(**kw)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[override]
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        status = getattr(response, "status", None)
        if status is not None and status >= 500:
            attempt = len(retry.history)
            total = attempt + (retry.total if isinstance(retry.total, int) else 0)
            log.warning("GitHub answered %s for %s %s; retrying in %.0f s (attempt %d of %d)",
                        status, method, urlparse(url or "").path, retry.get_backoff_time(), attempt, total)
        return retry


@dataclass
class Budget:
    """Requests this client sent and what GitHub reports about its budget.

    ``remaining``/``limit`` are REST or GraphQL figures from the last response (None before the
    first); ``points`` sums the GraphQL ``rateLimit.cost`` of every query sent.
    """

    requests: int = 0
    graphql_requests: int = 0
    points: int = 0
    remaining: int | None = None
    limit: int | None = None
    reset_at: datetime | None = None

    def describe(self) -> str:
        """A short phrase for a progress line, e.g. ``4,812/5,000 left``."""
        if self.remaining is None:
            return f"{self.requests} requests"
        return f"{self.requests} requests, {self.remaining:,}/{self.limit or 0:,} left"


@dataclass(frozen=True)
class Settings:
    """Knobs of the HTTP layer (defaults suit github.com; tests make every wait short).

    ``seconds_between_requests``/``seconds_between_writes`` are PyGithub's pacing (GraphQL queries
    are POSTs, so the second applies to them); ``backoff_factor`` scales the exponential backoff
    between retries of 5xx answers; ``retry_after_max`` caps a ``Retry-After`` wait;
    ``secondary_rate_wait`` is the wait after a secondary limit that gave no ``Retry-After``;
    ``max_rate_limit_wait`` is the longest wait for the primary limit's reset before stopping.
    """

    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    backoff_factor: float = 1.0
    retry_after_max: int = 300
    secondary_rate_wait: float = 60.0
    max_rate_limit_wait: float = 900.0
    retries: int = RETRIES
    timeout: int = TIMEOUT_SECONDS

    def retry(self) -> GithubRetry:
        """The urllib3 retry policy PyGithub applies to every request (GET and POST): 5xx and 429 with
        exponential backoff (each retry logged as a warning), but a refused or failed connection is
        retried once only, so an unreachable address fails in seconds rather than a minute."""
        return _Retry(
            total=self.retries,
            connect=1,
            backoff_factor=self.backoff_factor,
            backoff_max=60,
            status_forcelist=[429, 500, 502, 503, 504],
            retry_after_max=self.retry_after_max,
            raise_on_status=False,
            secondary_rate_wait=self.secondary_rate_wait,
            max_rate_limit_wait=self.max_rate_limit_wait,
        )


def _fix(credential: str) -> str:
    return (
        f"set {credential} to a token with read access to the repositories "
        "(github.com: Settings > Developer settings > Personal access tokens), "
        f"or configure a GitHub App ({APP_ID_ENV}, {APP_KEY_ENV})"
    )


def api_root(api_url: str | None) -> str:
    """The REST root for ``api_url``: GitHub's by default; ``https://github.com`` means
    ``https://api.github.com``, and a bare Enterprise host ``https://HOST`` means ``https://HOST/api/v3``.

    Raises:
        CollectionError: not an http(s) address.
    """
    url = (api_url or DEFAULT_API_URL).strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CollectionError(
            f"--api-url must be an https:// address (got {url!r}); GitHub Enterprise: https://HOST/api/v3"
        )
    if parsed.netloc.lower() in ("github.com", "www.github.com"):
        return DEFAULT_API_URL
    if not parsed.path and parsed.netloc.lower() != "api.github.com":
        return f"{url}/api/v3"
    return url


class GitHubClient:
    """One authenticated PyGithub connection plus its :class:`Budget`.

    Build it with :meth:`from_environment`; tests build it the same way against a local server.
    """

    def __init__(self, github: Github, *, api_url: str, credential: str, settings: Settings | None = None) -> None:
        self.github = github
        self.settings = settings or Settings()
        self.api_url = api_url
        self.credential = credential  # the *name* of the secret's source, for error messages
        self.budget = Budget()
        # Count every REST and GraphQL request (PyGithub sends both through requestJsonAndCheck);
        # retries inside urllib3 are not counted, as GitHub does not charge them twice either.
        requester = github.requester
        send = requester.requestJsonAndCheck

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.budget.requests += 1
            return send(*args, **kwargs)

        requester.requestJsonAndCheck = counted  # type: ignore[method-assign]
        # Every answer must be JSON: a proxy's HTML page with status 200, or JSON cut off part-way,
        # is a one-line error naming the host and the path, not a traceback deep in PyGithub.
        raw = requester.requestJson

        def checked(verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
            status, headers, output = raw(verb, url, *args, **kwargs)
            where = f"{urlparse(self.api_url).netloc} ({verb} {urlparse(url).path or url})"
            lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
            kind = lowered.get("content-type", "")
            if output and status < 400:
                if "json" not in kind.lower():
                    raise BadAnswerError(
                        f"GitHub at {where} answered {status} with {kind.split(';')[0] or 'no content type'}, "
                        "not JSON (a proxy, login or maintenance page?); check --api-url and run again later "
                        "(what was collected is kept)."
                    )
                try:
                    json.loads(output)
                except ValueError as exc:
                    raise BadAnswerError(
                        f"GitHub at {where} answered {status} with JSON that is cut off or malformed ({exc}); "
                        "run again later (what was collected is kept)."
                    ) from None
            return status, headers, output

        requester.requestJson = checked  # type: ignore[method-assign]

    @classmethod
    def from_environment(
        cls,
        *,
        api_url: str | None = None,
        token_env: str = TOKEN_ENV,
        owner: str | None = None,
        repo: str | None = None,
        environ: Mapping[str, str] | None = None,
        settings: Settings | None = None,
    ) -> GitHubClient:
        """Authenticate from ``environ`` (default ``os.environ``).

        A token in ``token_env`` wins; otherwise a GitHub App from ``GITHUB_APP_ID`` and
        ``GITHUB_APP_PRIVATE_KEY`` (PEM text or file path), for the installation in
        ``GITHUB_APP_INSTALLATION_ID`` or the one installed on ``owner``/``repo``.

        Raises:
            CollectionError: no credentials, an unreadable App key, or no installation for ``owner``.
        """
        env = os.environ if environ is None else environ
        settings = settings or Settings()
        url = api_root(api_url)
        common: dict[str, Any] = dict(
            base_url=url, user_agent=USER_AGENT, per_page=100, timeout=settings.timeout,
            retry=settings.retry(), seconds_between_requests=settings.seconds_between_requests,
            seconds_between_writes=settings.seconds_between_writes,
        )
        token = env.get(token_env, "").strip()
        remember(token)  # never shown in a message or log line
        if token:
            return cls(
                Github(auth=Auth.Token(token), **common), api_url=url, credential=f"${token_env}", settings=settings
            )
        app_id = env.get(APP_ID_ENV, "").strip()
        if not app_id:
            raise CollectionError(f"no GitHub credentials: {_fix('$' + token_env)}.")
        app_auth = Auth.AppAuth(app_id, _private_key(env.get(APP_KEY_ENV, "")))
        credential = f"the GitHub App in ${APP_ID_ENV}/${APP_KEY_ENV}"
        installation = env.get(APP_INSTALLATION_ENV, "").strip()
        if installation:
            if not installation.isdigit():
                raise CollectionError(f"${APP_INSTALLATION_ENV} must be a number (the installation id).")
            installation_id = int(installation)
        else:
            installation_id = _find_installation(
                GithubIntegration(auth=app_auth, **common), owner, repo, credential
            )
        auth = Auth.AppInstallationAuth(app_auth, installation_id)
        return cls(Github(auth=auth, **common), api_url=url, credential=credential, settings=settings)

    # -- requests ---------------------------------------------------------------------------------

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        """Turn PyGithub's and requests' exceptions into one-line :class:`CollectionError` s."""
        try:
            yield
        except BadCredentialsException:
            raise CredentialsError(
                f"GitHub rejected {self.credential} (401 Bad credentials: wrong, expired or revoked); "
                f"{_fix(self.credential)}."
            ) from None
        except RateLimitExceededException as exc:
            raise self._rate_limited(exc.headers) from None
        except UnknownObjectException:
            raise CollectionError(
                f"GitHub has no {what} at {self.api_url}, or {self.credential} cannot see it (404)."
            ) from None
        except GithubException as exc:
            raise self._github_error(exc, what) from None
        except requests.RequestException as exc:
            raise UnreachableError(
                f"cannot reach {self.api_url} ({type(exc).__name__}); check --api-url and the network, "
                "then run again (what was collected is kept)."
            ) from None
        finally:
            self._observe()

    def _github_error(self, exc: GithubException, what: str) -> CollectionError:
        data = exc.data if isinstance(exc.data, dict) else {}
        errors: list[Any] = data["errors"] if isinstance(data.get("errors"), list) else []
        types = {e.get("type") for e in errors if isinstance(e, dict)}
        if exc.status == 429 or "RATE_LIMITED" in types:
            return self._rate_limited(exc.headers)
        if exc.status == 403 and "resource not accessible" in str(data.get("message", "")).lower():
            return CollectionError(f"{self.credential} may not read {what} (403): grant it read access.")
        message = data.get("message") or "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        message = " ".join(str(message or "no message").split())[:200]
        if exc.status >= 500:
            return ServerError(
                f"GitHub kept failing for {what} ({exc.status} after {self.settings.retries} retries: {message}); "
                "run again later, what was collected is kept."
            )
        return CollectionError(f"GitHub refused the request for {what} ({exc.status}: {message}).")

    def _rate_limited(self, headers: Mapping[str, Any] | None) -> RateLimited:
        reset_at = self.budget.reset_at
        lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
        value = str(lowered.get("x-ratelimit-reset", ""))
        if value.isdigit():
            reset_at = datetime.fromtimestamp(int(value), timezone.utc)
        when = f"after {reset_at:%Y-%m-%d %H:%M} UTC" if reset_at else "in an hour"
        return RateLimited(
            f"GitHub's rate limit for {self.credential} is spent; what was collected is kept: run again {when}.",
            reset_at,
        )

    def _observe(self) -> None:
        requester = self.github.requester
        remaining, limit = requester.rate_limiting
        if remaining >= 0:
            self.budget.remaining, self.budget.limit = remaining, limit
        if requester.rate_limiting_resettime:
            self.budget.reset_at = datetime.fromtimestamp(requester.rate_limiting_resettime, timezone.utc)

    def check_budget(self) -> None:
        """Raise :class:`RateLimited` when the last figures GitHub gave say the budget is spent until a
        later reset (no request is sent)."""
        self._check_budget()

    def _check_budget(self) -> None:
        now = datetime.now(timezone.utc)
        if self.budget.remaining == 0 and self.budget.reset_at and self.budget.reset_at > now:
            raise self._rate_limited(None)

    def graphql(self, query: str, variables: dict[str, Any], *, what: str) -> dict[str, Any]:
        """Send one GraphQL query; returns its ``data``. ``what`` names the object in errors.

        Raises:
            CollectionError: bad credentials, not found, a GraphQL error, or GitHub failing after retries.
            RateLimited: the budget is spent.
        """
        self._check_budget()
        self.budget.graphql_requests += 1
        requester = self.github.requester
        with self._translate(what):
            headers, payload = requester.requestJsonAndCheck(
                "POST", requester.graphql_url, input={"query": query, "variables": variables})
        data = self._graphql_data(payload, headers, what)
        rate = data.get("rateLimit") or {}
        self.budget.points += int(rate.get("cost") or 0)
        if rate.get("remaining") is not None:
            self.budget.remaining, self.budget.limit = rate["remaining"], rate.get("limit")
            if rate.get("resetAt"):
                self.budget.reset_at = datetime.fromisoformat(rate["resetAt"])
        return data

    def _graphql_data(self, payload: Any, headers: Mapping[str, Any], what: str) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer, or the one-line error its ``errors`` describe."""
        host = urlparse(self.api_url).netloc
        if not isinstance(payload, dict):
            raise BadAnswerError(f"GitHub's GraphQL API at {host} answered {what} with something that is not "
                                 "a JSON object; run again later (what was collected is kept).")
        errors = payload.get("errors")
        if errors:
            listed = errors if isinstance(errors, list) else [errors]
            types = {e.get("type") for e in listed if isinstance(e, dict)}
            if "RATE_LIMITED" in types:
                raise self._rate_limited(headers)
            if types == {"NOT_FOUND"} and len(listed) == 1:
                raise CollectionError(f"GitHub has no {what} at {self.api_url}, or {self.credential} cannot see it (404).")
            messages = "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in listed)
            raise CollectionError(f"GitHub's GraphQL API at {host} answered errors for {what}: "
                                  f"{' '.join(messages.split())[:300].rstrip('.')}.")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise BadAnswerError(f"GitHub's GraphQL API at {host} answered {what} without data and without "
                                 "errors; run again later (what was collected is kept).")
        return data

    def verify(self) -> Budget:
        """Check the credentials with ``GET /rate_limit`` (free: GitHub does not count it) and
        return the budget. Raises :class:`CredentialsError` for a wrong or revoked token.

        GitHub Enterprise Server with rate limiting turned off answers 404 "Rate limiting is not
        enabled": the credentials passed, and there is no budget to report."""
        with self._translate("the rate limit endpoint"):
            try:
                limits = self.github.get_rate_limit()
            except GithubException as exc:
                if exc.status != 404:
                    raise
                return self.budget
        graphql = limits.resources.graphql
        self.budget.remaining, self.budget.limit = graphql.remaining, graphql.limit
        self.budget.reset_at = graphql.reset.astimezone(timezone.utc) if graphql.reset else None
        return self.budget

    def _viewer(self) -> str | None:
        """The login (lower case) the token belongs to; None for a GitHub App installation, which
        is no user (``GET /user`` answers 403)."""
        try:
            return self.github.get_user().login.lower()
        except GithubException as exc:
            if exc.status in (401, 404) or isinstance(exc, RateLimitExceededException):
                raise
            return None

    def owner_repositories(self, owner: str) -> list[dict[str, Any]]:
        """Every repository of a user or organisation, over REST (``Link``-paginated, 100 a page).

        Returns dicts with ``full_name``, ``name``, ``archived``, ``fork``. An organisation's list
        includes the private repositories the credentials can see; so does the token owner's own
        account (``GET /user/repos``); another user's list holds their public repositories.

        Raises:
            CollectionError: no such owner (404), bad credentials, or GitHub failing.
        """
        self._check_budget()
        with self._translate(f"user or organisation '{owner}'"):
            account = self.github.get_user(owner)
            if account.type == "Organization":
                listed = self.github.get_organization(owner).get_repos(type="all")
            elif self._viewer() == owner.lower():
                listed = self.github.get_user().get_repos(affiliation="owner")
            else:
                listed = account.get_repos(type="owner")
            return [
                {"full_name": r.full_name, "name": r.name, "archived": r.archived, "fork": r.fork}
                for r in listed
            ]


def _private_key(value: str) -> str:
    """The App's private key from ``$GITHUB_APP_PRIVATE_KEY`` (PEM text or a file's path), checked
    to be a usable key now, so a bad one is one line here rather than a failure at the first request."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    value = value.strip()
    if not value:
        raise CollectionError(f"${APP_ID_ENV} is set but ${APP_KEY_ENV} is not: give the App's private key (PEM or its path).")
    if not value.startswith("-----BEGIN"):
        path = Path(value).expanduser()
        if not path.is_file():
            raise CollectionError(f"${APP_KEY_ENV} is neither a PEM private key nor the path of one.")
        value = path.read_text(encoding="utf-8")
    try:
        load_pem_private_key(value.encode(), password=None)
    except (ValueError, TypeError):
        raise CollectionError(
            f"${APP_KEY_ENV} is not a usable PEM private key: download a new one from the App's settings."
        ) from None
    return value


def _find_installation(integration: GithubIntegration, owner: str | None, repo: str | None, credential: str) -> int:
    if not owner:
        raise CollectionError(f"set ${APP_INSTALLATION_ENV}: the App's installation cannot be looked up without an owner.")
    try:
        if repo:
            return integration.get_repo_installation(owner, repo).id
        try:
            return integration.get_org_installation(owner).id
        except UnknownObjectException:
            return integration.get_user_installation(owner).id
    except BadCredentialsException:
        raise CollectionError(
            f"GitHub rejected {credential} (401): check the App id and private key."
        ) from None
    except UnknownObjectException:
        raise CollectionError(
            f"the GitHub App in ${APP_ID_ENV} is not installed on {owner}: install it there, "
            f"or set ${APP_INSTALLATION_ENV}."
        ) from None
    except GithubException as exc:
        raise CollectionError(f"GitHub refused the App installation lookup for {owner} ({exc.status}).") from None
    except requests.RequestException as exc:
        raise CollectionError(f"cannot reach GitHub to look up the App installation ({type(exc).__name__}).") from None
