"""The commit-message and PR-title patterns defects and DORA read (RE2 / Rust regex syntax, case-insensitive).

Messages are matched inside the reading query (DuckDB), so 10M messages never travel to Polars;
PR titles, branches and labels are matched in Polars. Every pattern reads the same in both engines
(tests/metrics/test_metrics_patterns.py). A message is the subject, a newline and the body, so ``^`` is the start
of the subject. Definitions: docs/metrics.md "Defects" and "DORA four keys".
"""

from __future__ import annotations

import polars as pl

# A hotfix prefix: 'hotfix', 'hot-fix', 'hot fix', 'hot_fix' (and '[hotfix]') at the very start, or a
# conventional-commit type whose scope names it ('fix(hotfix):', 'feat(api,hotfix)!:').
_HOTFIX_START = r"^\s*\[?\s*hot[-_ ]?fix|^\s*\w+\([^)]*hot[-_ ]?fix[^)]*\)!?:"

#: A hotfix PR title or commit subject: one that *starts* with a hotfix prefix ('hotfix: ...', 'Hot-fix for
#: ...', '[HOTFIX] ...', 'fix(hotfix): ...'); a mention later on ('Docs: describe the hotfix process') is not.
HOTFIX = rf"(?i){_HOTFIX_START}"
#: A hotfix head branch: 'hotfix/...', 'hotfix-...', 'hotfix_...', 'hot-fix/...' (or just 'hotfix').
HOTFIX_BRANCH = r"(?i)^hot[-_]?fix([/_-]|$)"
#: A hotfix label: one containing 'hotfix' (or 'hot-fix', 'hot fix', 'hot_fix'): 'hotfix', 'type: hotfix'.
HOTFIX_LABEL = r"(?i)hot[-_ ]?fix"
#: A message that says it fixes a bug: conventional 'fix:' / 'fix(scope):' / 'bugfix:' at the start, a hotfix
#: prefix at the start (:data:`HOTFIX`), 'fix(es|ed) (a|the) bug/crash/regression/defect', or GitHub's fix
#: keywords before an issue, 'fix #12' / 'fixes #12' / 'fixed: #12'. Close/resolve keywords are not fix
#: wording: such a commit is a bug fix only when the issue is labelled a bug (the issue rule, in defects).
FIX_MESSAGE = (
    rf"(?i)(^\s*(bug)?fix(\([^)]*\))?!?:|{_HOTFIX_START}"
    r"|\bfix(e[sd])?\s+(a\s+|the\s+)?(bug|crash|regression|defect)|\bfix(e[sd])?:?\s+#\d+)"
)
_REVERTS_SHA = r"this reverts commit ([0-9a-f]{7,40})"
_REVERTS_PR = r"\breverts\s+([\w.\-]+/[\w.\-]+)?#(\d+)"
#: The commit a revert reverts (group 1).
REVERTED_SHA = rf"(?i){_REVERTS_SHA}"
#: The PR a revert reverts, as GitHub's Revert button writes it in the PR body (so in a squash commit's
#: message): 'Reverts owner/repo#12' or 'Reverts #12' (owner/repo: group 1, may be empty; number: group 2).
#: The reader keeps it only when owner/repo is absent or the commit's own repository.
REVERTED_PR = rf"(?i){_REVERTS_PR}"
#: A revert: a message starting 'Revert "', or naming what it reverts as :data:`REVERTED_SHA` ('This reverts
#: commit <sha>') or :data:`REVERTED_PR` ('Reverts owner/repo#12', 'Reverts #12') read it, so every commit
#: DORA reads as reverting something is a revert for defects too.
REVERT_MESSAGE = rf'(?i)(^\s*revert\s*"|{_REVERTS_SHA}|{_REVERTS_PR})'
#: An issue of the same repository referenced in a message, '#12' (group 1); 'owner/repo#12' names another
#: repository's issue and is not one.
ISSUE_REF = r"(?:^|[^\w/.\-])#(\d+)"


def is_hotfix_pr(title: str = "title", head_branch: str = "head_branch", labels: str = "labels") -> pl.Expr:
    """Boolean expression: the PR is a hotfix (docs/metrics.md "DORA four keys").

    Its title starts with a hotfix prefix (:data:`HOTFIX`), its head branch starts with 'hotfix/' or
    'hotfix-' (:data:`HOTFIX_BRANCH`), or one of its labels contains 'hotfix' (:data:`HOTFIX_LABEL`).
    Reads the columns ``title`` (str), ``head_branch`` (str) and ``labels`` (list[str]); nulls are false.
    """
    return (
        pl.col(title).fill_null("").str.contains(HOTFIX)
        | pl.col(head_branch).fill_null("").str.contains(HOTFIX_BRANCH)
        | pl.col(labels).list.eval(pl.element().str.contains(HOTFIX_LABEL)).list.any().fill_null(False)
    )

#: A review trailer line of a commit message: ``Reviewed-by:``, ``Acked-by:`` or ``Tested-by:`` (any case) at
#: the start of a line (the Linux kernel's "Submitting patches" tags, Gerrit's ``Reviewed-by``). The name and
#: the ``<email>`` that follow are read from the line; a trailer without an email names nobody we can resolve.
REVIEW_TRAILER = r"(?im)^\s*(?:reviewed|acked|tested)-by:[^\n]*$"
