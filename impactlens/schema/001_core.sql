-- impactlens warehouse, version 1: the core tables every part of the pipeline shares.
-- Conventions (docs/schema.md): timestamps are TIMESTAMPTZ in UTC; durations carry their unit in
-- the column name (_hours, _minutes); repo_id is "owner/name" when known, else the clone's folder name.

CREATE TABLE repositories (
    repo_id            VARCHAR PRIMARY KEY,
    name               VARCHAR NOT NULL,
    owner              VARCHAR,
    url                VARCHAR,
    source_path        VARCHAR,
    default_branch     VARCHAR,
    is_fork            BOOLEAN,
    is_archived        BOOLEAN,
    created_at         TIMESTAMPTZ,
    last_collected_at  TIMESTAMPTZ
);

CREATE TABLE commits (
    repo_id                       VARCHAR NOT NULL,
    sha                           VARCHAR NOT NULL,
    author_name                   VARCHAR,
    author_email                  VARCHAR,
    author_name_raw               VARCHAR,
    author_email_raw              VARCHAR,
    committer_name                VARCHAR,
    committer_email               VARCHAR,
    committer_name_raw            VARCHAR,
    committer_email_raw           VARCHAR,
    authored_at                   TIMESTAMPTZ NOT NULL,
    author_utc_offset_minutes     SMALLINT NOT NULL,
    committed_at                  TIMESTAMPTZ NOT NULL,
    committer_utc_offset_minutes  SMALLINT NOT NULL,
    subject                       VARCHAR NOT NULL,
    body                          VARCHAR NOT NULL,
    parent_shas                   VARCHAR[] NOT NULL,
    is_merge                      BOOLEAN NOT NULL,
    insertions                    INTEGER NOT NULL,
    deletions                     INTEGER NOT NULL,
    files_changed                 INTEGER NOT NULL,
    pr_number                     INTEGER,
    PRIMARY KEY (repo_id, sha)
);

CREATE TABLE commit_files (
    repo_id      VARCHAR NOT NULL,
    sha          VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    old_path     VARCHAR,
    change_type  VARCHAR NOT NULL,
    additions    INTEGER,
    deletions    INTEGER,
    is_binary    BOOLEAN NOT NULL,
    category     VARCHAR NOT NULL,
    PRIMARY KEY (repo_id, sha, path)
);

CREATE TABLE people (
    person_id          VARCHAR PRIMARY KEY,
    display_name       VARCHAR NOT NULL,
    primary_email      VARCHAR,
    github_login       VARCHAR,
    level              VARCHAR,
    title              VARCHAR,
    start_date         DATE,
    end_date           DATE,
    manager_person_id  VARCHAR,
    is_bot             BOOLEAN NOT NULL DEFAULT false,
    bot_kind           VARCHAR,
    source             VARCHAR
);

CREATE TABLE identities (
    identity_id    VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL,
    value          VARCHAR NOT NULL,
    display_name   VARCHAR,
    person_id      VARCHAR,
    is_bot         BOOLEAN NOT NULL DEFAULT false,
    bot_kind       VARCHAR,
    source         VARCHAR NOT NULL,
    first_seen_at  TIMESTAMPTZ,
    last_seen_at   TIMESTAMPTZ,
    link_reason    VARCHAR
);

CREATE TABLE pull_requests (
    repo_id               VARCHAR NOT NULL,
    number                INTEGER NOT NULL,
    node_id               VARCHAR,
    title                 VARCHAR NOT NULL,
    body_length           INTEGER,
    author_login          VARCHAR,
    author_is_bot         BOOLEAN NOT NULL DEFAULT false,
    state                 VARCHAR NOT NULL,
    is_draft              BOOLEAN NOT NULL DEFAULT false,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ,
    closed_at             TIMESTAMPTZ,
    merged_at             TIMESTAMPTZ,
    merged_by_login       VARCHAR,
    base_branch           VARCHAR,
    head_branch           VARCHAR,
    additions             INTEGER,
    deletions             INTEGER,
    changed_files         INTEGER,
    commit_count          INTEGER,
    labels                VARCHAR[],
    requested_reviewers   VARCHAR[],
    linked_issues         INTEGER[],
    merge_commit_sha      VARCHAR,
    first_commit_at       TIMESTAMPTZ,
    milestone_number      INTEGER,
    url                   VARCHAR,
    PRIMARY KEY (repo_id, number)
);

CREATE TABLE reviews (
    repo_id          VARCHAR NOT NULL,
    review_id        VARCHAR NOT NULL,
    pr_number        INTEGER NOT NULL,
    reviewer_login   VARCHAR,
    reviewer_is_bot  BOOLEAN NOT NULL DEFAULT false,
    state            VARCHAR NOT NULL,
    submitted_at     TIMESTAMPTZ,
    body_length      INTEGER,
    comment_count    INTEGER,
    commit_sha       VARCHAR,
    url              VARCHAR,
    PRIMARY KEY (repo_id, review_id)
);

CREATE TABLE comments (
    repo_id          VARCHAR NOT NULL,
    comment_id       VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    parent_number    INTEGER NOT NULL,
    parent_type      VARCHAR NOT NULL,
    review_id        VARCHAR,
    in_reply_to_id   VARCHAR,
    author_login     VARCHAR,
    author_is_bot    BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ,
    body_length      INTEGER,
    path             VARCHAR,
    url              VARCHAR,
    PRIMARY KEY (repo_id, comment_id)
);

CREATE TABLE issues (
    repo_id           VARCHAR NOT NULL,
    number            INTEGER NOT NULL,
    title             VARCHAR NOT NULL,
    author_login      VARCHAR,
    author_is_bot     BOOLEAN NOT NULL DEFAULT false,
    state             VARCHAR NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ,
    closed_at         TIMESTAMPTZ,
    labels            VARCHAR[],
    assignees         VARCHAR[],
    milestone_number  INTEGER,
    comment_count     INTEGER,
    url               VARCHAR,
    PRIMARY KEY (repo_id, number)
);

CREATE TABLE incidents (
    incident_id         VARCHAR PRIMARY KEY,
    source              VARCHAR NOT NULL,
    external_id         VARCHAR NOT NULL,
    repo_id             VARCHAR,
    title               VARCHAR,
    severity            VARCHAR,
    service             VARCHAR,
    status              VARCHAR NOT NULL,
    opened_at           TIMESTAMPTZ NOT NULL,
    acknowledged_at     TIMESTAMPTZ,
    resolved_at         TIMESTAMPTZ,
    commander           VARCHAR,
    responders          VARCHAR[],
    postmortem_url      VARCHAR,
    url                 VARCHAR,
    deployment_id       VARCHAR,
    attribution_reason  VARCHAR,
    cause_sha           VARCHAR
);

CREATE TABLE deployments (
    deployment_id  VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,
    repo_id        VARCHAR NOT NULL,
    environment    VARCHAR,
    is_production  BOOLEAN NOT NULL DEFAULT true,
    sha            VARCHAR,
    ref            VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    status         VARCHAR NOT NULL,
    creator_login  VARCHAR,
    url            VARCHAR
);

CREATE TABLE collection_runs (
    run_id       VARCHAR PRIMARY KEY,
    source       VARCHAR NOT NULL,
    target       VARCHAR NOT NULL,
    cursor       VARCHAR,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,
    counts       VARCHAR,
    error        VARCHAR
);
