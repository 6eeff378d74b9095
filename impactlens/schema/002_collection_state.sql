-- impactlens warehouse, version 2: incremental-collection state and the detail tables that
-- co-authors, review timing, projects and ownership need.

CREATE TABLE sync_state (
    source      VARCHAR NOT NULL,
    target      VARCHAR NOT NULL,
    resource    VARCHAR NOT NULL,
    cursor      VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, target, resource)
);

CREATE TABLE commit_coauthors (
    repo_id  VARCHAR NOT NULL,
    sha      VARCHAR NOT NULL,
    email    VARCHAR NOT NULL,
    name     VARCHAR NOT NULL,
    PRIMARY KEY (repo_id, sha, email)
);

CREATE TABLE pr_timeline_events (
    repo_id        VARCHAR NOT NULL,
    pr_number      INTEGER NOT NULL,
    event_id       VARCHAR NOT NULL,
    event_type     VARCHAR NOT NULL,
    actor_login    VARCHAR,
    subject_login  VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (repo_id, event_id)
);

CREATE TABLE milestones (
    repo_id        VARCHAR NOT NULL,
    number         INTEGER NOT NULL,
    title          VARCHAR NOT NULL,
    description    VARCHAR,
    state          VARCHAR NOT NULL,
    creator_login  VARCHAR,
    created_at     TIMESTAMPTZ,
    due_on         TIMESTAMPTZ,
    closed_at      TIMESTAMPTZ,
    url            VARCHAR,
    PRIMARY KEY (repo_id, number)
);

CREATE TABLE releases (
    repo_id          VARCHAR NOT NULL,
    release_id       VARCHAR NOT NULL,
    tag_name         VARCHAR NOT NULL,
    name             VARCHAR,
    author_login     VARCHAR,
    is_draft         BOOLEAN NOT NULL DEFAULT false,
    is_prerelease    BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ,
    published_at     TIMESTAMPTZ,
    target_commitish VARCHAR,
    url              VARCHAR,
    PRIMARY KEY (repo_id, release_id)
);

CREATE TABLE codeowners (
    repo_id     VARCHAR NOT NULL,
    path        VARCHAR NOT NULL,
    valid_from  TIMESTAMPTZ NOT NULL,
    commit_sha  VARCHAR,
    source      VARCHAR NOT NULL,
    content     VARCHAR NOT NULL,
    PRIMARY KEY (repo_id, path, valid_from)
);

CREATE TABLE teams (
    team_id         VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    parent_team_id  VARCHAR
);

CREATE TABLE team_memberships (
    person_id   VARCHAR NOT NULL,
    team_id     VARCHAR NOT NULL,
    valid_from  DATE NOT NULL,
    valid_to    DATE,
    role        VARCHAR,
    PRIMARY KEY (person_id, team_id, valid_from)
);

CREATE TABLE identity_merges (
    merge_id          VARCHAR PRIMARY KEY,
    merged_at         TIMESTAMPTZ NOT NULL,
    from_person_id    VARCHAR NOT NULL,
    into_person_id    VARCHAR NOT NULL,
    identity_ids      VARCHAR[] NOT NULL,
    reason            VARCHAR NOT NULL,
    undone_at         TIMESTAMPTZ
);

-- Identity resolution (impactlens/people.py, docs/identities.md).
-- An email GitHub ties to a login (a commit's author.login, a public profile email).
CREATE TABLE login_emails (
    login    VARCHAR NOT NULL,
    email    VARCHAR NOT NULL,
    source   VARCHAR NOT NULL,
    seen_at  TIMESTAMPTZ,
    PRIMARY KEY (login, email)
);

-- The services each team owns, from the roster (replaced whole by `people import`): incidents name a
-- service, so "incidents and MTTR of the services you own" join incidents.service to this table.
CREATE TABLE team_services (
    team_id  VARCHAR NOT NULL,
    service  VARCHAR NOT NULL,
    PRIMARY KEY (team_id, service)
);

-- The identities the roster file gives each person (replaced whole by `people import`).
CREATE TABLE roster_identities (
    identity_id  VARCHAR PRIMARY KEY,
    person_id    VARCHAR NOT NULL
);

-- One row per identity: the actor key metrics count (coalesce(person_id, identity_id)) and
-- whether the actor is a bot (the person's flag wins when the identity belongs to a person).
CREATE VIEW actors AS
SELECT i.identity_id,
       coalesce(i.person_id, i.identity_id)                 AS actor_id,
       i.person_id,
       coalesce(p.display_name, i.display_name, i.value)     AS display_name,
       coalesce(p.is_bot, i.is_bot)                          AS is_bot,
       CASE WHEN p.person_id IS NOT NULL THEN p.bot_kind ELSE i.bot_kind END AS bot_kind
FROM identities i LEFT JOIN people p ON p.person_id = i.person_id;
