-- The rule that attributed an incident to its deployment (docs/incidents.md "Attribution"), stored beside the
-- reason's words so the metrics read the rule itself: 'named_commit' (its text names a commit), 'latest_deployment'
-- (the latest successful production deployment before it opened), NULL (no deployment, or one recorded by hand).
ALTER TABLE incidents ADD COLUMN attribution_rule VARCHAR;
UPDATE incidents SET attribution_rule = CASE
    WHEN deployment_id IS NULL THEN NULL
    WHEN starts_with(attribution_reason, 'its text names ') THEN 'named_commit'
    WHEN starts_with(attribution_reason, 'latest successful production deployment ') THEN 'latest_deployment'
END;
