"""Identity resolution: one person, many identities (emails, GitHub logins, names); teams over time.

How it works (docs/identities.md):

1. :func:`refresh` gathers every identity the activity tables name (commit authors, committers and
   co-authors, both mailmapped and raw; PR authors and mergers; reviewers; commenters; issue authors
   and assignees; timeline actors; release and deployment creators; incident commanders and
   responders) into ``identities``, keyed ``kind:lower(trim(value))`` (the shared data contract, built only
   by :mod:`impactlens.identity`).
2. It links identities that evidence says are one person (a union-find over these edges):
   ``mailmap`` (git mapped a raw email to another), ``noreply`` (``12345+login@users.noreply.github.com``
   or ``login@users.noreply.github.com`` is ``login``), ``login_email`` (GitHub tied the email to the
   login: table ``login_emails``), ``github_merge`` (the author email of a PR's merge or self-merged
   squash commit that GitHub wrote is the merger's), ``roster`` (the roster file lists both for one person; a ``name:``
   identity, as incident tools record people, is the one roster person of exactly that name) and
   ``merge`` (``impactlens people merge``, recorded in ``identity_merges``).
3. A group holding identities the roster gives one person belongs to that roster person; a group of
   two or more identities with no roster person becomes an automatic person ``auto:<identity_id>``;
   a lone identity stays unresolved (``person_id`` NULL; metrics count it as its own actor).
   A group that evidence ties to two roster people is a conflict: each roster person keeps the
   identities the roster gives them, the rest stay unresolved, and ``refresh`` reports it.
4. Bots are flagged (:mod:`impactlens.bots`) on identities and people, and the ``*_is_bot`` flags
   of activity rows are aligned.

Resolution is recomputed from scratch each time from the evidence, the roster and the merges not
undone, so ``people unmerge`` restores exactly what the evidence alone says.

Metrics count an actor as ``coalesce(identities.person_id, identity_id)`` (view ``actors``), and a
person's work at time *t* counts for the team(s) they were in at *t* (:func:`attach_teams`).

The package: :mod:`impactlens.people.resolution` (refresh, merges), :mod:`impactlens.people.roster` (the roster
file) and :mod:`impactlens.people.queries` (reading it back); their public names are importable from here.
"""

from impactlens.identity import KINDS, identity_id  # the key's rule, re-exported
from impactlens.people.queries import (
    ACTIVITY_SQL, JUNK_WORDS, actor_of, attach_teams, is_junk_identity, is_junk_key, list_people, person_activity,
    service_owners, suggestions, teams_at, unresolved,
)
from impactlens.people.resolution import MergeError, Resolution, find_actor, merge, refresh, unmerge
from impactlens.people.roster import (
    CSV_COLUMNS, EPOCH, MEMBERSHIP_KEYS, PERSON_KEYS, Membership, Roster, RosterError, RosterPerson, import_roster,
    load_roster, person_identity_ids, slug,
)

__all__ = [
    "KINDS", "identity_id",
    # resolution
    "Resolution", "refresh", "MergeError", "find_actor", "merge", "unmerge",
    # the roster file
    "Roster", "RosterPerson", "Membership", "RosterError", "load_roster", "import_roster", "person_identity_ids",
    "slug", "PERSON_KEYS", "MEMBERSHIP_KEYS", "CSV_COLUMNS", "EPOCH",
    # reading
    "ACTIVITY_SQL", "list_people", "unresolved", "suggestions", "actor_of", "service_owners", "teams_at",
    "attach_teams", "JUNK_WORDS", "is_junk_identity", "is_junk_key", "person_activity",
]
