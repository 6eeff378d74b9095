"""The commit-message and PR-title patterns defects and DORA read (RE2 / Rust regex syntax, case-insensitive).

Messages are matched inside the reading query (DuckDB), so 10M messages never travel to Polars;
PR titles, branches and labels are matched in Polars. Definitions: docs/metrics.md "Defects" and
"DORA four keys".
"""

from __future__ import annotations

#: A message that says it fixes a bug (conventional-commit "fix:", "fixes a bug/crash...", "fixes #12").
FIX_MESSAGE = (
    r"(?i)(^(bug)?fix(\([^)]*\))?!?:|^hotfix\b|\bfix(e[sd])?\s+(a\s+|the\s+)?(bug|crash|regression|defect)"
    r"|\b(fix(e[sd])?|close[sd]?|resolve[sd]?)\s+#\d+)"
)
#: A revert: a message starting 'Revert "' or saying 'This reverts commit <sha>'.
REVERT_MESSAGE = r'(?i)(^revert\s*"|this reverts commit [0-9a-f]{7,40})'
#: The commit a revert reverts (group 1).
REVERTED_SHA = r"(?i)this reverts commit ([0-9a-f]{7,40})"
#: The PR a revert reverts, GitHub's 'Reverts owner/repo#12' (group 1).
REVERTED_PR = r"(?i)\breverts\s+[\w.\-]+/[\w.\-]+#(\d+)"
#: A hotfix, in a PR title, branch or label, or a commit subject.
HOTFIX = r"(?i)(^|[\s/(\[])hot[\s_-]?fix"
#: An issue reference in a message (group 1).
ISSUE_REF = r"#(\d+)"
