"""Promotion case: the evidence packet (claims with links, rubric audit, STAR stubs) section by section, with
Markdown and HTML downloads. Without the evidence module (or when it cannot build a packet for someone), the
person's figures grouped the way committees read them."""

from __future__ import annotations

import re

import streamlit as st

from impactlens.dashboard import case as case_mod
from impactlens.dashboard import figures, state, ui
from impactlens.evidence.packet import figure_label
from impactlens.text import md_link, md_text


def downloads(stem: str, markdown: str, html) -> None:
    left, right, _ = st.columns([1, 1, 2])
    left.download_button("Download Markdown", markdown, file_name=f"{stem}.md", mime="text/markdown",
                         icon=":material/download:", key="case_md")
    right.download_button("Download HTML", html, file_name=f"{stem}.html", mime="text/html",
                          icon=":material/download:", key="case_html")


def show_packet(packet, stem: str) -> None:
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


def show_case(case: case_mod.Case, stem: str) -> None:
    """The committee-shaped figures and records (no evidence module, or no packet for this person)."""
    downloads(stem, case_mod.markdown(case), case_mod.html_page(case))
    for section in case.sections:
        st.subheader(section.title)
        st.caption(section.about)
        ui.figures(section.figures, per_row=4)
        with st.expander(f"Records ({section.total_records})", expanded=bool(section.records)):
            if section.records:
                lines = [f"- {md_link(r.text, r.url)}" + (f" — {md_text(r.detail)}" if r.detail else "")
                         for r in section.records]
                if section.total_records > len(section.records):
                    lines.append(f"- … and {section.total_records - len(section.records)} more")
                st.markdown("\n".join(lines))
            else:
                st.write(section.empty)


wh, filters = ui.context()
st.title("Promotion case")
st.caption("The evidence a promotion committee reads, with a link behind every record. The period is the "
           "sidebar's date range.")

person = ui.person_picker(wh, filters, key="promotion_person")
if person is not None:
    ui.person_context(wh, filters, person)
    slug = re.sub(r"[^a-z0-9]+", "-", wh.name(person).lower()).strip("-") or "person"
    stem = f"promotion-case-{slug}-{filters.period.start:%Y%m%d}-{filters.period.end:%Y%m%d}"
    packet, problem = None, None
    if figures.evidence_api() is not None:
        try:
            with st.spinner("Building the evidence packet…"):
                packet = figures.evidence_packet(wh, person, filters.period)
        except Exception as exc:  # the evidence module's failure must not take the page down
            problem = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:200]
    if packet is not None:
        show_packet(packet, stem)
    else:
        if problem:
            st.warning(f"The evidence packet could not be built ({problem}); showing the figures instead.")
        else:
            st.caption("Figures grouped the way committees read them. Claims, the rubric audit and STAR stubs "
                       "appear here once the evidence module is installed.")
        show_case(case_mod.build(wh, person, filters), stem)
