"""Promotion evidence: claims with links, a rubric audit, self-reported entries, and the packet.

Public API (docs/evidence.md)::

    from impactlens import warehouse
    from impactlens.evidence import build_packet, build_team_review
    with warehouse.read_only(db) as con:
        packet = build_packet(con, "maya-okafor", date(2026, 1, 1), date(2026, 6, 30), rubric=None, brag=None)
    packet.to_markdown(); packet.to_html(); packet.to_json(); packet.write(path, "md")
"""

from impactlens.evidence.brag import append_entry, load_brag
from impactlens.evidence.model import SECTIONS, Claim, Figure, Record, Section, SelfReported
from impactlens.evidence.packet import Packet, build_packet
from impactlens.evidence.rubric import EVIDENCED, NO_EVIDENCE, NOT_JUDGED, PARTLY, Rubric, RubricError, audit, load_rubric, parse_rubric
from impactlens.evidence.tables import EvidenceError
from impactlens.evidence.team_review import TeamReview, build_team_review

__all__ = [
    "SECTIONS", "Claim", "Figure", "Record", "Section", "SelfReported", "Packet", "build_packet",
    "TeamReview", "build_team_review", "Rubric", "RubricError", "load_rubric", "parse_rubric", "audit",
    "EVIDENCED", "PARTLY", "NO_EVIDENCE", "NOT_JUDGED", "load_brag", "append_entry", "EvidenceError",
]
