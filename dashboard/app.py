"""The impactlens dashboard: `streamlit run dashboard/app.py -- --db FILE` (or `impactlens dashboard`).

Draws the sidebar every page shares (date range, team, repository) and runs the page picked in the
navigation: My impact, Promotion case, Team health. The warehouse comes from ``--db`` after ``--``, else
``$IMPACTLENS_DB``, else ./impactlens.duckdb; it is read read-only, and the app reruns on the new file within
30 s of a collection publishing one (or at the next interaction).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from impactlens.dashboard import data, ui
from impactlens.errors import ImpactlensError

HERE = Path(__file__).parent

st.set_page_config(page_title="impactlens", page_icon=":material/insights:", layout="wide")

try:
    warehouse = data.current_warehouse()
except ImpactlensError as exc:
    st.title("impactlens")
    st.error(str(exc))
    st.stop()

ui.sidebar(warehouse)


@st.fragment(run_every=30)
def watch_for_new_data(identity: tuple[int, int, int]) -> None:
    """Every 30 s: when a collection has published a new warehouse file, rerun the app on it."""
    try:
        current = data.file_identity(data.db_path())
    except ImpactlensError:
        return
    if current != identity:
        st.rerun(scope="app")


watch_for_new_data(warehouse.identity)
page = st.navigation([
    st.Page(HERE / "my_impact.py", title="My impact", icon=":material/person:", default=True),
    st.Page(HERE / "promotion_case.py", title="Promotion case", icon=":material/workspace_premium:"),
    st.Page(HERE / "team_health.py", title="Team health", icon=":material/groups:"),
])
problem = ui.url_problem()
if problem:  # an unknown ?team=: never the whole organisation in its place
    st.error(problem, icon=":material/group_off:")
    st.stop()
page.run()
