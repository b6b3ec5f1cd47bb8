"""The report page in a real browser: headless Chromium (the Debian package) driven by selenium
through the system chromium-driver, with the network cut off.

Skipped, with the reason, where Chromium or its driver is not installed (`apt-get install chromium
chromium-driver`); `.ci/run` installs both and sets ANNEAL_PLANNER_REQUIRE_BROWSER=1, under which a
missing browser is an error instead, so CI always runs these.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from planner.plans.result import open_plan
from planner.views.page import PLOT_ID, render
from tests.helpers import solve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
MISSING = (
    "no Chromium here: install it with `apt-get install chromium chromium-driver`"
    if not (CHROMIUM and DRIVER)
    else "selenium is not installed: pip install -e '.[dev]'"
    if importlib.util.find_spec("selenium") is None
    else None
)
if MISSING and os.environ.get("ANNEAL_PLANNER_REQUIRE_BROWSER") == "1":  # CI (.ci/run) must run these
    raise RuntimeError(f"the browser test cannot run: {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
if MISSING is None:
    from selenium import webdriver


@pytest.fixture(scope="module")
def browser():
    driver = _driver()
    yield driver
    driver.quit()


def _driver():
    """Headless Chromium, offline."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root
        "--window-size=1500,1100",
        "--use-angle=swiftshader",  # WebGL (the slews are scattergl) without a GPU
        "--enable-unsafe-swiftshader",
        # No network at all: every host name fails and any proxy use goes nowhere.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_network_conditions(offline=True, latency=0, throughput=0)
    return driver


@pytest.fixture(scope="module")
def page(tmp_path_factory, shipped, browser):
    """The report of the optimal Cycle 2 plan, loaded once; its console log read once."""
    folder = tmp_path_factory.mktemp("report")
    solve(shipped).to_parquet(folder / "plan.parquet")
    path = folder / "report.html"
    path.write_text(render(open_plan(folder / "plan.parquet"), "Cycle 2"), encoding="utf-8")
    browser.get(path.as_uri())
    browser.implicitly_wait(0)
    # Plotly draws asynchronously: wait until the figure has its full layout.
    for _ in range(100):
        if browser.execute_script(
            f"var gd = document.getElementById('{PLOT_ID}'); return !!(gd && gd._fullLayout)"
        ):
            break
        browser.execute_script("return new Promise(r => setTimeout(r, 100))")
    return browser, browser.get_log("browser")


def _image(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_page_renders_without_console_errors_offline(page):
    driver, log = page
    severe = [entry["message"] for entry in log if entry["level"] == "SEVERE"]
    assert severe == []
    # Nothing was fetched from anywhere but the file itself (the page is self-contained).
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []


@pytest.fixture(scope="module")
def slew_counts(tmp_path_factory, shipped):
    """How many slews of the page's cycle each rule leaves (ELIGIBLE: "") or excludes."""
    from planner.views.cycle_view import cycle_view

    path = tmp_path_factory.mktemp("view") / "plan.parquet"
    solve(shipped).to_parquet(path)
    return cycle_view(open_plan(path)).slews["rule"].value_counts().to_dict()


def test_plot_and_traces_exist(page, slew_counts):
    driver, _ = page
    traces = driver.execute_script(
        f"return document.getElementById('{PLOT_ID}').data.map(t => [t.name, t.type, (t.x || []).length])"
    )
    by_name = {name.split(" (")[0]: (kind, n) for name, kind, n in traces}
    # 50: under the slew-time rule Anneals 04, 07 and 13 have no eligible slew (tests/problem/test_rules.py)
    assert by_name["planned anneal"] == ("scatter", 50)
    assert by_name["flown anneal"][1] == 53  # Cycle 2 flew one anneal every week (docs/domain.md)
    # Every slew is drawn: since the slew-time rule about 470 remain eligible (more than 1000 before)
    assert by_name["eligible slew"][0] == "scattergl" and by_name["eligible slew"][1] == slew_counts[""] > 400
    assert by_name["excluded: to-miri"][1] == slew_counts["to-miri"] > 1000
    assert by_name["excluded: slew-time"][1] == slew_counts["slew-time"] > 1000
    assert by_name["windows"] == ("bar", 53)
    # Drawn, not just defined: the SVG layers and the WebGL canvas are in the page.
    assert driver.execute_script(f"return document.querySelectorAll('#{PLOT_ID} .main-svg').length") >= 1
    assert driver.execute_script(f"return document.querySelectorAll('#{PLOT_ID} canvas').length") >= 1


def test_screenshot_is_not_blank(page):
    driver, _ = page
    plot = driver.find_element("id", PLOT_ID)
    pixels = _image(plot.screenshot_as_png)[..., :3]
    not_white = (pixels < 0.95).any(axis=-1).mean()
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert not_white > 0.05 and colours > 20, (not_white, colours)


def _whole_cycle(driver) -> None:
    """Back to the whole cycle; returns once Plotly has redrawn (selenium awaits the promise)."""
    driver.execute_script(
        f"return Plotly.relayout('{PLOT_ID}', {{'xaxis.autorange': true, 'xaxis2.autorange': true}})"
        ".then(() => 1)"
    )


def _click_window(driver, index: int) -> list[str]:
    """A click on window `index`'s bar; the x range once the zoom it asks for is drawn."""
    _whole_cycle(driver)
    return driver.execute_script(
        f"""var gd = document.getElementById('{PLOT_ID}');
        var windows = gd.data.find(t => t.name === 'windows');
        var done = new Promise(r => gd.once('plotly_relayout', () => r(gd.layout.xaxis.range)));
        gd.emit('plotly_click', {{points: [{{data: windows, customdata: windows.customdata[{index}]}}]}});
        return done;"""
    )


def test_click_on_a_window_zooms_to_its_week(page):
    driver, _ = page
    span = _click_window(driver, 9)
    lo, hi = (pd.Timestamp(t) for t in span)
    # week 10 starts 63 days after 2023-07-03; the view is that week with half a day either side
    assert lo == pd.Timestamp("2023-09-04") - pd.Timedelta(hours=12)
    assert hi - lo == pd.Timedelta(days=8)
    _whole_cycle(driver)


def test_plan_table_sorts_by_a_column(page):
    driver, _ = page
    header = driver.find_element("xpath", "//table[contains(@class,'sortable')]//th[text()='deviation']")
    header.click()
    first = driver.find_element("xpath", "//table[contains(@class,'sortable')]/tbody/tr[1]/td[8]").text
    values = driver.execute_script(
        """return Array.from(document.querySelector('table.sortable').tBodies[0].rows)
           .map(r => r.cells[7].dataset.sort).filter(v => v !== '').map(Number)"""
    )
    assert values == sorted(values) and len(values) == 49  # 50 anneals placed, 49 intervals
    assert first == f"{values[0]:+.2f} h"


def test_the_harness_sees_errors_and_network_use(tmp_path, browser):
    """The checks above could fail: a page that needs the network and throws is caught by both."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><body><script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script>'
        "<script>Plotly.newPlot('x', [])</script></body></html>"
    )
    report_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")  # the report stays loaded in its own tab for the other tests
    try:
        browser.get(bad.as_uri())
        severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.close()
        browser.switch_to.window(report_tab)
    assert any("cdn.plot.ly" in m for m in severe) and any("Plotly is not defined" in m for m in severe)


def test_hovering_a_slew_names_its_visit_mode_target_and_time(page):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = page
    plot = driver.find_element("id", PLOT_ID)
    # Zoom to week 21, let Plotly redraw, then put the mouse on the first eligible slew in view.
    _click_window(driver, 20)
    driver.execute_script("return new Promise(r => setTimeout(r, 500))")  # WebGL redraw
    where = driver.execute_script(
        f"""var gd = document.getElementById('{PLOT_ID}');
        var slews = gd.data.find(t => t.name === 'eligible slew');
        var xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        var lo = xa.r2l(xa.range[0]), hi = xa.r2l(xa.range[1]);
        var i = slews.x.findIndex(x => xa.d2l(x) > lo && xa.d2l(x) < hi);
        return [xa._offset + xa.d2p(slews.x[i]), ya._offset + ya.d2p(slews.y[i]), slews.x[i],
                slews.customdata[i][0]];"""
    )
    x, y, time, visit = where
    # The whole plot in view: offsets below count from the centre of the element's visible part.
    driver.execute_script("arguments[0].scrollIntoView(true)", plot)
    size = plot.size
    ActionChains(driver).move_to_element_with_offset(
        plot, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).perform()
    label = ""
    for _ in range(30):
        label = driver.execute_script(
            f"var h = document.querySelector('#{PLOT_ID} .hoverlayer .hovertext'); "
            "return h ? h.textContent : ''"
        )
        if label:
            break
        driver.execute_script("return new Promise(r => setTimeout(r, 100))")
    assert visit in label and f"{time} UTC" in label and "target" in label and "eligible" in label
    _whole_cycle(driver)


@pytest.fixture
def own_browser():
    """A browser of the test's own: the module's stays on the Cycle 2 page the other tests read."""
    driver = _driver()
    yield driver
    driver.quit()


def test_a_joint_plans_page_draws_one_lane_per_program_offline(tmp_path, own_browser):
    """A joint plan's report in the browser: the figure is drawn, one lane per program on the y axis,
    no console error, nothing fetched, and the hostile program name shown as text, not markup."""
    from planner.plans.joint_file import open_joint_plan
    from planner.views import joint_page
    from tests.joint_helpers import HOSTILE, joint_plan

    path = tmp_path / "joint.html"
    path.write_text(joint_page.render_joint(open_joint_plan(joint_plan(tmp_path, lamp_name=HOSTILE)), "j"))
    own_browser.get(path.as_uri())
    for _ in range(100):
        if own_browser.execute_script(f"var gd = document.getElementById('{joint_page.PLOT_ID}'); "
                                  "return !!(gd && gd._fullLayout)"):  # fmt: skip
            break
        own_browser.execute_script("return new Promise(r => setTimeout(r, 100))")
    ticks = own_browser.execute_script(
        f"return document.getElementById('{joint_page.PLOT_ID}')._fullLayout.yaxis.ticktext"
    )
    assert len(ticks) == 2 and ticks[0] == "seed-4485"
    assert (
        own_browser.execute_script("return document.querySelectorAll('img').length") == 0
    )  # no injected tag
    assert [e["message"] for e in own_browser.get_log("browser") if e["level"] == "SEVERE"] == []
    fetched = own_browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []
