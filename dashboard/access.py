"""Who may see what when the dashboard is served to a team with sign-in (``[access] sign_in = true``).

Sign-in is Streamlit's own OIDC (``st.login``/``st.user``/``st.logout``, configured under ``[auth]`` in
``.streamlit/secrets.toml``; docs/dashboard.md "Sign-in"). The signed-in email decides, from ``[access]`` in
impactlens.toml and the warehouse:

* an admin (``admins``) sees everything, as without sign-in;
* a lead (``[access.leads]``: team id = emails) sees their own pages, the people who were ever in their
  teams, and those teams' Team health (not the organisation's);
* anyone else sees their own My impact and Promotion case only: their email must be an identity of a
  person in the warehouse (``email:<lower email>`` in ``identities``, or an unresolved actor with that key).

Without ``[access] sign_in = true`` the dashboard is unchanged (local use, everything visible).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import polars as pl
import streamlit as st

from impactlens.dashboard import state
from impactlens.errors import ImpactlensError


@dataclass(frozen=True)
class Access:
    """What the signed-in viewer may see. ``people``/``teams`` are None for "all" (admin or no sign-in)."""

    email: str | None
    me: str | None  # the viewer's person key, when their email is someone's identity
    people: frozenset[str] | None
    teams: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.people is None

    def may_see_person(self, person: str) -> bool:
        return self.people is None or person in self.people

    def may_see_team(self, team: str | None) -> bool:
        """``team`` None is the whole organisation: only for those who see everything."""
        if self.teams is None:
            return True
        return team is not None and team in self.teams


OPEN = Access(None, None, None, None)


def settings() -> Mapping[str, Any]:
    """``[access]`` of the dashboard's configuration (:func:`state.current_config`; defaults when absent).

    Raises:
        ConfigError: the file is not valid.
    """
    return state.current_config().access


def sign_in_required() -> bool:
    """True when impactlens.toml asks for sign-in (``[access] sign_in = true``)."""
    return bool(settings().get("sign_in"))


def signed_in_email() -> str | None:
    """The signed-in user's email (lower case) from ``st.user``, or None when nobody is signed in."""
    user = st.user
    if not user.get("is_logged_in", False):
        return None
    email = (user.get("email") or "").strip().lower()  # type: ignore[union-attr, operator]
    return email or None


def person_of_email(wh: state.Warehouse, email: str) -> str | None:
    """The person key whose identity is ``email:<email>`` (exact, case-insensitive), or None."""
    from impactlens.identity import identity_id

    identity = identity_id("email", email)

    def build():
        rows = wh.query("SELECT person_id FROM identities WHERE identity_id = ? AND person_id IS NOT NULL",
                        [identity])
        return rows["person_id"][0] if rows.height else None
    person = state.memo(wh, "person_of_email", identity)(build)
    if person is not None:
        return person
    hit = wh.people.filter(pl.col("person_key") == identity)
    return identity if hit.height else None


def _members_ever(wh: state.Warehouse, team: str) -> set[str]:
    rows = wh.frames.memberships.filter(pl.col("team_id") == team).select("person_key").unique().collect()
    return set(rows["person_key"].to_list())


def for_email(wh: state.Warehouse, email: str, rules: Mapping[str, Any]) -> Access:
    """What ``email`` may see under ``rules`` (the ``[access]`` table)."""
    email = email.strip().lower()
    me = person_of_email(wh, email)
    if email in {a.strip().lower() for a in rules.get("admins", [])}:
        return Access(email, me, None, None)
    teams = {team for team, leads in (rules.get("leads") or {}).items()
             if email in {lead.strip().lower() for lead in leads}}
    known = set(wh.teams["team_id"].to_list())
    teams &= known
    people: set[str] = {me} if me else set()
    for team in teams:
        people |= _members_ever(wh, team)
    return Access(email, me, frozenset(people), frozenset(teams))


_KEY = "_impactlens_access"


def _auth_configured() -> bool:
    """True when the secrets (``.streamlit/secrets.toml``) have an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises (FileNotFoundError or its own error)
        return False


def gate(wh: state.Warehouse) -> Access:
    """Sign-in at the top of the app: without ``[access] sign_in = true``, everything (:data:`OPEN`). Else a
    signed-out visitor sees only a sign-in button, and a signed-in one the pages their email allows; someone
    allowed nothing sees a notice. Stops the script run where nothing may be shown."""
    try:
        rules = settings()
    except ImpactlensError as exc:
        st.title("impactlens")
        st.error(str(exc))
        st.stop()
    if not rules.get("sign_in"):
        st.session_state[_KEY] = OPEN
        return OPEN
    email = signed_in_email()
    if email is None:
        st.session_state.pop(_KEY, None)
        st.title("impactlens")
        if not _auth_configured():
            st.error("[access] sign_in = true in impactlens.toml, but .streamlit/secrets.toml has no [auth] section: "
                     "configure the identity provider there (docs/dashboard.md \"Sign-in\").", icon=":material/lock:")
            st.stop()
        st.markdown("This dashboard shows people's evidence: sign in to see yours.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, type="primary", key="sign_in")
        st.stop()
    access = for_email(wh, email, rules)
    st.session_state[_KEY] = access
    with st.sidebar:
        st.caption(f"Signed in as {email}")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign_out")
    if not access.everything and not access.people and not access.teams:
        st.title("impactlens")
        st.warning(f"{email} is signed in but is not a person in this warehouse, a team lead or an admin: "
                   "there is nothing this dashboard may show you. Ask its owner to add your email to the "
                   "roster or to `[access]` in impactlens.toml.", icon=":material/lock:")
        st.stop()
    return access


def current() -> Access:
    """The viewer's :class:`Access` decided by :func:`gate` in this run (nothing, if the gate did not run)."""
    return st.session_state.get(_KEY) or Access(None, None, frozenset(), frozenset())
