"""The dashboard served by ``streamlit run`` and driven in headless Chromium, for the browser test
(tests/dashboard/test_dashboard_browser.py) and benchmark (benchmarks/dashboard_browser.py).

Nothing here runs inside the app: :func:`serve` starts the server in a child process, :func:`chromium`
launches the system browser (``/usr/bin/chromium``, no Playwright download) and :func:`settle` waits, in the
page, until the script stopped running. Playwright is imported by the callers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
MAIN = '[data-testid="stMainBlockContainer"]'
STATUS = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
CHART = '[data-testid="stVegaLiteChart"]'
NAV_LINK = 'a[data-testid="stSidebarNavLink"]'


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(str):
    """The base URL of a served dashboard (a ``str``), with its process id (``pid``), the seconds from starting
    it until it answered (``ready``) and :meth:`cpu`."""

    pid: int
    ready: float

    def cpu(self) -> float:
        """CPU seconds (user + system) the server process has used so far (Linux ``/proc``; 0.0 elsewhere)."""
        try:
            return _proc_cpu(self.pid)[1]
        except OSError:
            return 0.0


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds) of ``pid`` from ``/proc`` (Linux); raises OSError when it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu(skip: int | None = None) -> dict[int, float]:
    """CPU seconds used so far by each of this process's descendants (Playwright's driver and the Chromium
    it launched), by pid, leaving out ``skip`` (the server, a child too) and its descendants; empty without
    ``/proc``. Subtract two readings with :func:`cpu_since` (a tab closed in between drops out)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)], cpu[int(entry.name)] = _proc_cpu(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    me, mine = os.getpid(), {}
    for pid in cpu:
        ancestor = pid
        while ancestor not in (me, skip, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == me and pid != me:
            mine[pid] = cpu[pid]
    return mine


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two :func:`browser_cpu` readings, over the processes alive at the second."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@contextlib.contextmanager
def serve(db: Path, log: Path, *, port: int | None = None, timeout: float = 120,
          extra: list[str] | None = None, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``streamlit run`` of the dashboard on ``db`` (127.0.0.1, a free port unless ``port``), output to ``log``;
    yields the base URL (a :class:`Server`) once ``/_stcore/health`` answers, stops the server on exit. ``env``: the server's
    environment (default this process's).

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout`` seconds (the log's tail says why).
    """
    from impactlens.dashboard.serve import streamlit_command

    port = port or free_port()
    command = streamlit_command(db, port=port, address="127.0.0.1")
    if extra:  # Streamlit options go before the `--` that starts the app's own arguments
        cut = command.index("--")
        command = [*command[:cut], *extra, *command[cut:]]
    started = time.monotonic()
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    base = Server(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        base.ready = time.monotonic() - started
                        break
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer on {base}/_stcore/health within {timeout:.0f} s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def chromium(playwright):
    """Headless system Chromium (``/usr/bin/chromium``) from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


# In the page: resolve once an element is inside the main block and, for `quiet` ms, neither the status widget
# ("Running…", which appears late) has shown nor the app's DOM changed. Times are epoch ms (the clock Python's
# time.time() reads); `first` is when the main block first held an element, `done` the last sign of running.
_SETTLE = """
async ({quiet, main, status}) => new Promise(resolve => {
  let first = null, busy = 0, changed = 0;
  const now = () => performance.timeOrigin + performance.now();
  const observer = new MutationObserver(() => { changed = now(); });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  const tick = () => {
    const t = now();
    const block = document.querySelector(main);
    if (first === null && block && block.querySelector('[data-testid="stElementContainer"]')) first = t;
    if (document.querySelector(status)) busy = t;
    const last = Math.max(busy, changed, first || 0);
    if (first !== null && t - last >= quiet) {
      observer.disconnect();
      resolve({first: first / 1000, done: last / 1000, status: busy / 1000});
    } else {
      setTimeout(tick, 20);
    }
  };
  tick();
})
"""


@dataclass
class Settled:
    """When a page had settled, in seconds since ``since``: ``first`` element in the main block, ``done`` (the
    last time the status widget showed or the app's DOM changed, the quiet window left out)."""

    first: float
    done: float


def settle(page, since: float, quiet: float = 1.0, timeout: float = 60) -> Settled:
    """Wait until ``page`` stopped running (see :data:`_SETTLE`); times relative to ``since`` (time.time())."""
    page.set_default_timeout(timeout * 1000)
    found = page.evaluate(_SETTLE, {"quiet": quiet * 1000, "main": MAIN, "status": STATUS})
    return Settled(max(0.0, found["first"] - since), max(0.0, found["done"] - since))


@dataclass
class Traffic:
    """What the server sent the page over its websocket: ``received`` bytes (the frames' payloads), when each
    script run finished (``finished``: time.time() of each ``script_finished`` ForwardMsg), the charts and
    table cells of the elements sent (``charts``, ``cells``: rows × columns of st.dataframe/st.table data and of
    Markdown record tables, in hidden tabs too; a message the browser already cached, sent as a reference, counts as its original)."""

    received: int = 0
    finished: list[float] = field(default_factory=list)
    charts: int = 0
    cells: int = 0
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def attach(self, page) -> "Traffic":
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        return self

    def reset(self) -> None:
        self.received = self.charts = self.cells = 0
        self.finished.clear()

    def _frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        data = payload.encode() if isinstance(payload, str) else payload
        self.received += len(data)
        try:
            msg = ForwardMsg.FromString(data)
        except Exception:  # not a ForwardMsg (never expected): counted, not decoded
            return
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            self.finished.append(time.time())
        elif kind == "ref_hash":
            charts, cells = self._seen.get(msg.ref_hash, (0, 0))
            self.charts, self.cells = self.charts + charts, self.cells + cells
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            charts, cells = _element_size(msg.delta.new_element)
            if msg.hash:
                self._seen[msg.hash] = (charts, cells)
            self.charts, self.cells = self.charts + charts, self.cells + cells


def _element_size(element) -> tuple[int, int]:
    """(charts, table cells) of one Element message."""
    kind = element.WhichOneof("type")
    if kind == "vega_lite_chart":
        return 1, 0
    if kind == "dataframe" and element.dataframe.HasField("arrow_data"):
        return 0, _arrow_cells(element.dataframe.arrow_data.data)
    if kind == "dataframe" and element.dataframe.HasField("lazy_data"):
        lazy = element.dataframe.lazy_data
        return 0, lazy.row_count * max(1, len(element.dataframe.columns) or 1)
    if kind == "table":
        return 0, _arrow_cells(element.table.arrow_data.data)
    if kind == "markdown":  # a record table as Markdown (dashboard.ui.link_table): body rows × columns
        lines = element.markdown.body.splitlines()
        if len(lines) > 2 and lines[0].startswith("| ") and lines[1].startswith("| --- |"):
            return 0, (len(lines) - 2) * lines[1].count("---")
    return 0, 0


def _arrow_cells(data: bytes) -> int:
    import pyarrow as pa

    if not data:
        return 0
    table = pa.ipc.open_stream(data).read_all()
    return table.num_rows * table.num_columns


def table_cells(page) -> int:
    """Cells in the page's tables: rows × columns of every st.dataframe grid (its aria counts, header row left
    out) plus every st.table body cell."""
    return page.evaluate("""() => {
      let cells = 0;
      for (const grid of document.querySelectorAll('[data-testid="stDataFrame"] [role="grid"], [data-testid="stDataFrame"] table')) {
        const rows = +grid.getAttribute('aria-rowcount') || 0, cols = +grid.getAttribute('aria-colcount') || 0;
        cells += Math.max(0, rows - 1) * cols;
      }
      return cells + document.querySelectorAll('[data-testid="stTable"] tbody td').length;
    }""")


def screenshot(page, path: Path, charts: int = 0, width: int = 1400) -> Path:
    """A PNG of the whole settled page at ``path``. Streamlit scrolls inside its main block and draws charts as
    they come into view, so the page first grows to a tall viewport (every chart draws; waits for ``charts`` of
    them), then shrinks to its content so one PNG shows it all."""
    page.set_viewport_size({"width": width, "height": 6000})
    if charts:
        page.wait_for_function(
            f"n => document.querySelectorAll('{CHART} canvas, {CHART} svg.marks').length >= n", arg=charts,
            timeout=60_000)
    page.wait_for_timeout(1000)
    height = page.evaluate(f"() => document.querySelector('{MAIN}').getBoundingClientRect().bottom")
    page.set_viewport_size({"width": width, "height": int(max(1000, min(height + 40, 9000)))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    return path


def choose(page, label: str, option: str | int, *, where: str = "") -> None:
    """Pick ``option`` in the st.selectbox labelled ``label``: its visible text, or its index among the options
    not chosen now (``where``: a CSS scope such as ``[data-testid="stSidebar"]``). Returns once it was clicked."""
    box = page.locator(f'{where} [data-testid="stSelectbox"]'.strip()).filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=label)).first
    box.locator("input").click()
    if isinstance(option, int):
        page.locator('[role="option"]:not([aria-selected="true"])').nth(option).click()
    else:
        page.locator('[role="option"]', has_text=option).first.click()
