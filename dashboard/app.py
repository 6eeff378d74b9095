"""The impactlens dashboard: `streamlit run dashboard/app.py -- --db FILE` (or `impactlens dashboard`).

Draws the sidebar every page shares (date range, team, repository) and runs the page picked in the
navigation: My impact, Promotion case, Team health. The warehouse comes from ``--db`` after ``--``, else
``$IMPACTLENS_DB``, else ./impactlens.duckdb; it is read read-only, and the app reruns on the new file within
30 s of a collection publishing one (or at the next interaction), saying so ("Newer data arrived"). While a
collection writes its copy (``<db>.writing``) the pages keep showing the last published file and say that.
``impactlens dashboard --lake DEST`` serves a file materialised from the lake and passes ``--lake DEST`` too:
it reads the lake again into that file when the lake changes (impactlens/commands/dashboard.py), and the
sidebar says so.
With ``[access] sign_in = true`` in impactlens.toml, visitors sign in first (dashboard/access.py).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from impactlens.dashboard import access, state, ui
from impactlens.errors import ImpactlensError

HERE = Path(__file__).parent

st.set_page_config(page_title="impactlens", page_icon=":material/insights:", layout="wide")

try:
    warehouse = state.current_warehouse()
except ImpactlensError as exc:
    st.title("impactlens")
    st.error(str(exc))
    st.stop()

viewer = access.gate(warehouse)  # [access] sign_in = true: sign in first, then only what the allow-list permits
ui.freshness(warehouse)  # "Newer data arrived" after a publication; a collection under way
ui.sidebar(warehouse)


@st.fragment(run_every=30)
def watch_for_new_data(identity: tuple[int, int, int]) -> None:
    """Every 30 s: when a collection has published a new warehouse file, rerun the app on it."""
    try:
        current = state.file_identity(state.db_path())
    except ImpactlensError:
        return
    if current != identity:
        st.rerun(scope="app")


watch_for_new_data(warehouse.identity)
pages = [
    st.Page(HERE / "my_impact.py", title="My impact", icon=":material/person:", default=True),
    st.Page(HERE / "promotion_case.py", title="Promotion case", icon=":material/workspace_premium:"),
]
if viewer.teams is None or viewer.teams:  # Team health: for those who may see a team
    pages.append(st.Page(HERE / "team_health.py", title="Team health", icon=":material/groups:"))
page = st.navigation(pages)
problem = ui.url_problem()
if problem:  # an unknown ?team=: never the whole organisation in its place
    st.error(problem, icon=":material/group_off:")
    st.stop()
page.run()
