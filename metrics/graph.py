"""The commit graph of a repository, from the stored parents (``commits.parent_shas``).

Used for the PR size of merge-commit PRs (the PR's own commits are the history of the merge's second
parent that its first parent cannot reach) and for deployment containment (a deployment contains the
commits its sha reaches and the previous deployment's sha does not). docs/metrics.md "PR size" and
"Deployments".
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

_KEEP, _DROP = 1, 2


@dataclass
class Graph:
    """One repository's commits: sha -> parent shas (first parent first) and sha -> commit time (epoch
    seconds). A parent that is not stored (shallow clone, outside the collected window) is a leaf."""

    parents: dict[str, list[str]] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, list[str] | None, datetime | None]]) -> "Graph":
        """From (sha, parent_shas, committed_at) rows."""
        graph = cls()
        for sha, parents, at in rows:
            graph.parents[sha] = list(parents or [])
            graph.times[sha] = at.timestamp() if at is not None else 0.0
        return graph

    def only_reachable(self, include: Iterable[str], exclude: Iterable[str]) -> set[str]:
        """The stored commits reachable from any of ``include`` (themselves included) and from none of
        ``exclude`` (git's ``include ^exclude`` range).

        The walk goes from the newest commit time down, painting each commit with the sides that reach
        it (a commit painted again with a new side is walked again), and stops once every commit left to
        walk is reached by ``exclude``; the commits painted by ``include`` only are the answer. Like
        git's walk by commit date, a commit whose committer clock ran far behind its parents' can end the
        walk early (the answer then holds a few commits too many); shas not stored are ignored.
        """
        flags: dict[str, int] = {}
        heap: list[tuple[float, str]] = []
        pending: set[str] = set()  # queued commits not (yet) reached by ``exclude``

        def paint(sha: str, side: int) -> None:
            if sha not in self.parents:
                return
            old = flags.get(sha, 0)
            if old | side == old:
                return
            flags[sha] = old | side
            heapq.heappush(heap, (-self.times[sha], sha))
            if flags[sha] & _DROP:
                pending.discard(sha)
            else:
                pending.add(sha)

        for sha in exclude:
            if sha:
                paint(sha, _DROP)
        for sha in include:
            if sha:
                paint(sha, _KEEP)
        while heap and pending:
            _, sha = heapq.heappop(heap)
            pending.discard(sha)
            side = flags[sha]
            for parent in self.parents[sha]:
                paint(parent, side)
        return {sha for sha, side in flags.items() if side == _KEEP}

    def first_parent_chain(self, head: str, stop: Iterable[str] = ()) -> list[str]:
        """``head`` and its first parents, newest first, up to (not including) any of ``stop`` or the
        first commit not stored."""
        sha: str | None
        stops, out, sha = set(stop), [], head
        while sha in self.parents and sha not in stops:
            out.append(sha)
            parents = self.parents[sha]
            sha = parents[0] if parents else None
        return out
