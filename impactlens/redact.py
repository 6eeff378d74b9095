"""Secrets out of every message and log line: the one redaction function (issue 23 item 6).

:func:`remember` registers a secret this process holds (the GitHub token read from the environment);
:func:`redact` replaces it, and anything shaped like a GitHub token (``ghp_``, ``gho_``, ``ghu_``,
``ghs_``, ``ghr_``, ``github_pat_``), with ``[redacted]``. Errors (:class:`impactlens.errors.ImpactlensError`),
the CLI's error line and the logging handler installed by :func:`install_logging` all go through it.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_TOKEN_SHAPE = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,})")
_known: set[str] = set()


def remember(secret: str | None) -> None:
    """Redact ``secret`` from every later message (values shorter than 6 characters are ignored)."""
    if secret and len(secret.strip()) >= 6:
        _known.add(secret.strip())


def redact(text: object) -> str:
    """``text`` with every remembered secret and every GitHub-token-shaped word replaced by ``[redacted]``."""
    value = str(text)
    for secret in sorted(_known, key=len, reverse=True):
        value = value.replace(secret, MASK)
    return _TOKEN_SHAPE.sub(MASK, value)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments and traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def install_logging() -> None:
    """Log warnings to stderr as ``impactlens: ...``, redacted (once per process)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("impactlens: %(message)s"))
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)
