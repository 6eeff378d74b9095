-- The metric tables `impactlens metrics` fills (metrics/job.py; columns in docs/schema.md "Metric tables").
-- They are derived data: each run deletes a table's rows and inserts the new ones, all in one transaction.
-- A warehouse of version 4 or older holds the tables the job used to create on its own (CREATE TABLE AS), in
-- whatever shape the impactlens of that day gave them: they are replaced here, empty, and the next
-- `impactlens metrics` refills them (metric_runs is emptied with them, so nothing claims a computation).
-- Types are what the Polars frames give (tests/metrics/test_metrics_command.py checks that they still agree).

CREATE OR REPLACE TABLE metric_prs (
    pr_id                                UBIGINT,
    repo_id                              VARCHAR,
    number                               INTEGER,
    url                                  VARCHAR,
    title                                VARCHAR,
    author_key                           VARCHAR,
    author_is_bot                        BOOLEAN,
    state                                VARCHAR,
    is_draft                             BOOLEAN,
    created_at                           TIMESTAMPTZ,
    ready_at                             TIMESTAMPTZ,
    first_human_response_at              TIMESTAMPTZ,
    first_response_at                    TIMESTAMPTZ,
    first_response_kind                  VARCHAR,
    never_reviewed                       BOOLEAN,
    merged_unreviewed                    BOOLEAN,
    merged_at                            TIMESTAMPTZ,
    closed_at                            TIMESTAMPTZ,
    reverted                             BOOLEAN,
    reverted_by                          VARCHAR,
    deployed_at                          TIMESTAMPTZ,
    deployment_id                        VARCHAR,
    coding_start_at                      TIMESTAMPTZ,
    changed_lines                        BIGINT,
    excluded_lines                       BIGINT,
    files_changed                        BIGINT,
    size_source                          VARCHAR,
    time_to_first_review_hours           DOUBLE,
    time_to_first_review_business_hours  DOUBLE,
    coding_hours                         DOUBLE,
    pickup_hours                         DOUBLE,
    review_hours                         DOUBLE,
    deploy_hours                         DOUBLE,
    cycle_time_to_merge_hours            DOUBLE,
    cycle_time_hours                     DOUBLE
);

CREATE OR REPLACE TABLE metric_review_cycles (
    repo_id                    VARCHAR,
    pr_number                  INTEGER,
    reviewer_key               VARCHAR,
    author_key                 VARCHAR,
    start_at                   TIMESTAMPTZ,
    start_kind                 VARCHAR,
    reviewed_at                TIMESTAMPTZ,
    state                      VARCHAR,
    turnaround_hours           DOUBLE,
    turnaround_business_hours  DOUBLE
);

CREATE OR REPLACE TABLE metric_incidents (
    incident_id                VARCHAR,
    repo_id                    VARCHAR,
    title                      VARCHAR,
    severity                   VARCHAR,
    service                    VARCHAR,
    url                        VARCHAR,
    opened_at                  TIMESTAMPTZ,
    acknowledged_at            TIMESTAMPTZ,
    resolved_at                TIMESTAMPTZ,
    is_open                    BOOLEAN,
    time_to_restore_hours      DOUBLE,
    time_to_acknowledge_hours  DOUBLE,
    invalid_times              BOOLEAN,
    commander_key              VARCHAR,
    responder_keys             VARCHAR[],
    has_postmortem             BOOLEAN,
    deployment_id              VARCHAR,
    attribution                VARCHAR,
    is_restored                BOOLEAN,
    attribution_confidence     VARCHAR
);

CREATE OR REPLACE TABLE metric_deployments (
    deployment_id    VARCHAR,
    repo_id          VARCHAR,
    deployed_at      TIMESTAMPTZ,
    changes          UINTEGER,
    rework           BOOLEAN,
    failed           BOOLEAN,
    failure_reasons  VARCHAR[],
    recovered_at     TIMESTAMPTZ,
    recovery_hours   DOUBLE
);

CREATE OR REPLACE TABLE metric_changes (
    repo_id          VARCHAR,
    change_id        VARCHAR,
    author_key       VARCHAR,
    started_at       TIMESTAMPTZ,
    landed_at        TIMESTAMPTZ,
    deployed_at      TIMESTAMPTZ,
    deployment_id    VARCHAR,
    is_rework        BOOLEAN,
    lead_time_hours  DOUBLE
);

CREATE OR REPLACE TABLE metric_commits (
    repo_id        VARCHAR,
    sha            VARCHAR,
    author_key     VARCHAR,
    author_is_bot  BOOLEAN,
    authored_at    TIMESTAMPTZ,
    is_bug_fix     BOOLEAN,
    fix_reason     VARCHAR,
    is_revert      BOOLEAN
);

CREATE OR REPLACE TABLE metric_touchpoints (
    mentor_key  VARCHAR,
    mentee_key  VARCHAR,
    "at"        TIMESTAMPTZ,
    kind        VARCHAR,
    repo_id     VARCHAR,
    ref         VARCHAR,
    basis       VARCHAR
);

CREATE OR REPLACE TABLE metric_ownership (
    repo_id     VARCHAR,
    directory   VARCHAR,
    person_key  VARCHAR,
    lines       BIGINT,
    share       DOUBLE,
    rank        UINTEGER
);

CREATE OR REPLACE TABLE metric_bus_factor (
    repo_id         VARCHAR,
    directory       VARCHAR,
    contributors    UINTEGER,
    lines           BIGINT,
    bus_factor      UINTEGER,
    top_person_key  VARCHAR,
    top_share       DOUBLE
);

CREATE OR REPLACE TABLE metric_artifacts (
    person_key  VARCHAR,
    repo_id     VARCHAR,
    path        VARCHAR,
    category    VARCHAR,
    action      VARCHAR,
    "at"        TIMESTAMPTZ,
    sha         VARCHAR,
    commits     UINTEGER
);

CREATE OR REPLACE TABLE metric_throughput_weekly (
    period_start         TIMESTAMPTZ,
    person_key           VARCHAR,
    prs_merged           UINTEGER,
    prs_opened           UINTEGER,
    commits              UINTEGER,
    reviews_given        UINTEGER,
    repos_touched        UINTEGER,
    directories_touched  UINTEGER
);

CREATE OR REPLACE TABLE metric_mentoring_monthly (
    period_start     TIMESTAMPTZ,
    person_key       VARCHAR,
    touchpoints      UINTEGER,
    reviews          UINTEGER,
    comments         UINTEGER,
    onboarding       UINTEGER,
    pairing_commits  UINTEGER,
    people_helped    UINTEGER,
    mentees          UINTEGER
);

CREATE OR REPLACE TABLE metric_review_load_monthly (
    period_start  TIMESTAMPTZ,
    team_id       VARCHAR,
    members       UINTEGER,
    reviews       UINTEGER,
    gini          DOUBLE,
    top_share     DOUBLE
);

CREATE OR REPLACE TABLE metric_review_shares_monthly (
    period_start  TIMESTAMPTZ,
    team_id       VARCHAR,
    person_key    VARCHAR,
    reviews       UINTEGER,
    share         DOUBLE
);

CREATE OR REPLACE TABLE metric_dora_repo_monthly (
    period_start                             TIMESTAMPTZ,
    repo_id                                  VARCHAR,
    deployments                              UINTEGER,
    deploy_days                              UINTEGER,
    median_deploy_days_per_week              DOUBLE,
    deployments_per_week                     DOUBLE,
    deployment_frequency_band                VARCHAR,
    changes_deployed                         UINTEGER,
    lead_time_median_hours                   DOUBLE,
    lead_time_band                           VARCHAR,
    failed_deployments                       UINTEGER,
    change_failure_rate                      DOUBLE,
    change_failure_band                      VARCHAR,
    recovered_deployments                    UINTEGER,
    failed_deployment_recovery_median_hours  DOUBLE,
    failed_deployment_recovery_band          VARCHAR,
    rework_deployments                       UINTEGER,
    rework_rate                              DOUBLE,
    incidents                                UINTEGER,
    restored_incidents                       UINTEGER,
    time_to_restore_median_hours             DOUBLE,
    time_to_restore_mean_hours               DOUBLE
);

CREATE OR REPLACE TABLE metric_dora_team_monthly (
    period_start                             TIMESTAMPTZ,
    team_id                                  VARCHAR,
    deployments                              UINTEGER,
    deploy_days                              UINTEGER,
    median_deploy_days_per_week              DOUBLE,
    deployments_per_week                     DOUBLE,
    deployment_frequency_band                VARCHAR,
    changes_deployed                         UINTEGER,
    lead_time_median_hours                   DOUBLE,
    lead_time_band                           VARCHAR,
    failed_deployments                       UINTEGER,
    change_failure_rate                      DOUBLE,
    change_failure_band                      VARCHAR,
    recovered_deployments                    UINTEGER,
    failed_deployment_recovery_median_hours  DOUBLE,
    failed_deployment_recovery_band          VARCHAR,
    rework_deployments                       UINTEGER,
    rework_rate                              DOUBLE,
    incidents                                UINTEGER,
    restored_incidents                       UINTEGER,
    time_to_restore_median_hours             DOUBLE,
    time_to_restore_mean_hours               DOUBLE
);

-- Only with `impactlens metrics --szz`.
CREATE OR REPLACE TABLE metric_bug_introductions (
    repo_id          VARCHAR,
    fix_sha          VARCHAR,
    introducing_sha  VARCHAR,
    path             VARCHAR
);

CREATE OR REPLACE TABLE metric_szz_repositories (
    repo_id    VARCHAR,
    bug_fixes  UINTEGER
);

-- One row per table the last run wrote.
CREATE OR REPLACE TABLE metric_runs (
    table_name   VARCHAR PRIMARY KEY,
    row_count    BIGINT NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL
);
