-- A person's decision that an identity is, or is not, a bot (`impactlens people unbot ID`, docs/identities.md
-- "Bots"). It wins over GitHub's account type and every pattern; undoing it deletes the row.
CREATE TABLE bot_overrides (
    identity_id  VARCHAR PRIMARY KEY,
    is_bot       BOOLEAN NOT NULL,
    reason       VARCHAR NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL
);
