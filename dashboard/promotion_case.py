"""Promotion case: the evidence packet (claims with links, rubric audit, STAR stubs) section by section, with
Markdown and HTML downloads. The page only displays :func:`impactlens.evidence.build_packet`'s packet; when the
evidence module cannot build one (a bot, a junk identity), it says why. The person picker and the packet are one
``st.fragment``: choosing another person reruns that part only, not the sidebar."""

from __future__ import annotations

import re

import streamlit as st

from impactlens.dashboard import figures, state, ui
from impactlens.errors import ImpactlensError
from impactlens.evidence.packet import figure_label
from impactlens.text import md_text


def downloads(stem: str, markdown: str, html) -> None:
    left, right, _ = st.columns([1, 1, 2])
    left.download_button("Download Markdown", markdown, file_name=f"{stem}.md", mime="text/markdown",
                         icon=":material/download:", key="case_md")
    right.download_button("Download HTML", html, file_name=f"{stem}.html", mime="text/html",
                          icon=":material/download:", key="case_html")


def show_packet(packet, stem: str, person: str) -> None:
    """The evidence packet, part by part in the packet's own rendering (impactlens.evidence.packet: the same
    labels, records and rubric text as the downloads): summary, data coverage, charts, sections, audit, STAR."""
    # The HTML embeds the charts rendered by vl-convert (seconds): build it only when the button is clicked.
    downloads(stem, packet.to_markdown(), lambda: state.memo(wh, "packet_html", person, filters.period)(packet.to_html))
    st.subheader("Summary")
    st.markdown(md_text(packet.summary))
    if packet.coverage:
        st.info("**Data coverage.** " + "\n".join(packet.coverage_markdown()), icon=":material/info:")
    else:
        st.caption(packet.coverage_markdown()[0])
    for chart in packet.charts:
        st.vega_lite_chart(chart.spec, width="stretch")
    for section in packet.sections:
        st.subheader(section.title)
        st.markdown("\n".join(packet.section_markdown(section, more_in="in the downloads")))
    st.subheader(f"Rubric audit: {packet.rubric_name}")
    st.markdown("\n".join(packet.audit_markdown()))
    st.subheader("STAR stubs for the strongest claims")
    st.caption("Situation, task and action are for the person to write; the result comes from the data.")
    for i, stub in enumerate(packet.star, 1):
        with st.expander(f"{i}. {figure_label(stub.claim_kind)}", expanded=i == 1):
            st.markdown("\n".join(packet.star_markdown(stub)))


wh, filters = ui.context()
st.title("Promotion case")
st.caption("The evidence a promotion committee reads, with a link behind every record. The period is the "
           "sidebar's date range.")

@st.fragment
def person_view() -> None:
    """The person picker and the person's packet: a new person reruns this part only (not the sidebar). The
    picker checks the viewer's access (dashboard/access.py) before any packet is built or shown."""
    person = ui.person_picker(wh, filters, key="promotion_person")
    if person is None:
        return
    ui.person_context(wh, filters, person)
    slug = re.sub(r"[^a-z0-9]+", "-", wh.name(person).lower()).strip("-") or "person"
    stem = f"promotion-case-{slug}-{filters.period.start:%Y%m%d}-{filters.period.end:%Y%m%d}"
    try:
        with st.spinner("Building the evidence packet…"):
            packet = figures.evidence_packet(wh, person, filters.period)
    except ImpactlensError as exc:  # a bot, a junk identity: the evidence module says why there is no packet
        st.warning(f"No evidence packet for {wh.name(person)}: {str(exc).splitlines()[0]}", icon=":material/info:")
        return
    except Exception as exc:  # the evidence module's failure must not take the page down
        problem = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:200]
        st.error(f"The evidence packet could not be built ({problem}).", icon=":material/error:")
        return
    if filters.repo:
        st.caption(f"The packet covers every repository of {wh.name(person)}'s work: the sidebar's repository "
                   "does not narrow it.")
    show_packet(packet, stem, person)


person_view()
