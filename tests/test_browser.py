"""The web app in a real browser: Debian's Chromium driven by Selenium, against a live server on 127.0.0.1.

Skips (with a message) when chromium / chromedriver are not installed; CI installs them.
Screenshots, if any, go to the pytest temporary folder, never into the repository.
"""
from __future__ import annotations

import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)
pytest.importorskip("selenium")
uvicorn = pytest.importorskip("uvicorn")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import web_store  # noqa: E402
from test_watch import server as feed_server  # noqa: E402,F401  (a local HTTP server on 127.0.0.1)
from test_web import _analyse_stories_only  # noqa: E402
from storydesk.web.app import WebConfig, create_app  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, db: str, **cfg):
        self.port = _free_port()
        app = create_app(WebConfig(db=db, encoder=web_store.fake_encoder, analyse=_analyse_stories_only, **cfg))
        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                h11_max_incomplete_event_size=256 * 1024)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        assert self.server.started, "the test server did not start"
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    db = str(work / "b.db")
    ids = web_store.build(db, work)
    server = LiveServer(db)
    yield server, ids
    server.stop()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, css: str, timeout: float = 15):
    return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def _width(driver, width: int) -> None:
    driver.set_window_size(width, 900)
    # The viewport, not the window: make the inner width what the test names.
    inner = driver.execute_script("return window.innerWidth")
    if inner != width:
        outer = driver.get_window_size()["width"]
        driver.set_window_size(outer + (width - inner), 900)


def test_stories_story_and_citation_lands_on_the_span(site, browser):
    server, ids = site
    _width(browser, 1400)
    browser.get(server.url + "/")
    link = _wait(browser, "a.story-link")
    assert "Tessaly dam collapse floods Brellin" in link.text
    link.click()
    title = _wait(browser, "#story-title")
    assert title.text == "Tessaly dam collapse floods Brellin"
    # A citation number opens the cited words (no script: a checkbox toggle); their link goes to the span.
    browser.find_element(By.CSS_SELECTOR, "#summary .cite label").click()
    cite = browser.find_element(By.CSS_SELECTOR, "#summary .cite a.tip-src")
    WebDriverWait(browser, 5).until(lambda d: cite.is_displayed())
    href = cite.get_attribute("href")
    cite.click()
    WebDriverWait(browser, 15).until(lambda d: "/articles/" in d.current_url)
    fragment = href.split("#")[1]
    assert browser.current_url.endswith("#" + fragment)
    anchor = browser.find_element(By.ID, fragment)
    cited = "".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".m.cited"))
    start, end = map(int, fragment.split("-")[1:])
    text = browser.execute_script("return document.getElementById('text').textContent")
    assert cited == text[start:end] and cited
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", anchor)
    assert 0 <= top < browser.execute_script("return window.innerHeight")  # scrolled to the span


def test_search_and_follow_a_result(site, browser):
    server, _ = site
    browser.get(server.url + "/search")
    box = _wait(browser, "#q")
    box.send_keys("cracks western wall")
    box.submit()
    first = _wait(browser, "#results a.hit-link")
    assert "cracks" in first.text.lower()
    first.click()
    _wait(browser, ".m.cited")
    assert "/articles/" in browser.current_url and "#span-" in browser.current_url
    cited = "".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".m.cited"))
    assert "cracks" in cited


def test_bad_search_shows_the_error_not_a_crash(site, browser):
    server, _ = site
    browser.get(server.url + "/search?q=" + "x" * 10_000)
    err = _wait(browser, "#error")
    assert err.get_attribute("data-code") == "query_too_long"
    browser.get(server.url + "/search?q=%22+*+-")
    assert _wait(browser, "#error").get_attribute("data-code") == "empty_query"
    browser.get(server.url + "/search?q=NEAR+dam+-cracks+%22western")
    assert _wait(browser, "#result-count")


DOM_CHECK = """
const bad = [];
for (const el of document.querySelectorAll('*')) {
  for (const attr of el.attributes) {
    if (attr.name.startsWith('on')) bad.push(el.tagName + ' ' + attr.name);
    if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name) &&
        attr.value.trim().toLowerCase().startsWith('javascript:')) bad.push(el.tagName + ' ' + attr.value);
  }
}
const scripts = document.querySelectorAll('script').length;
const svgs = [...document.querySelectorAll('svg')].filter(s => !s.matches('.tl-svg, .prov-svg')).length;
const styles = document.querySelectorAll('style').length;
return {bad, scripts, svgs, styles, text: document.body.textContent};
"""


def test_injection_payloads_stay_text_in_the_live_dom(site, browser, feed_server):  # noqa: F811
    server, ids = site
    # Sources whose URLs carry the payloads, polled once (the local server answers 404): the job page
    # names them in its error, /watch lists them and sends them back from each stop button.
    _, feed_base = feed_server
    sources = [f"{feed_base}/gone/{payload}" for payload in web_store.PAYLOADS.values()]
    job = server.app.state.jobs.submit_watch(sources, min_interval=0.0, timeout=2.0)
    assert server.app.state.jobs.wait(60) and job.status == "done" and job.error
    pages = [f"/stories/{ids['payload_story']}", *(f"/articles/{a}" for a in ids["payloads"]), "/",
             "/search?q=notice+board", f"/articles/{ids['hostile']}", f"/entities/{ids['payload_entity']}",
             "/watch", f"/jobs/{job.id}"]
    for path in pages:
        browser.get(server.url + path)
        _wait(browser, "main")
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        found = browser.execute_script(DOM_CHECK)
        assert found["bad"] == [] and found["scripts"] == 0 and found["svgs"] == 0 and found["styles"] == 0, path
    browser.get(server.url + f"/articles/{ids['payloads'][0]}")
    text = browser.execute_script(DOM_CHECK)["text"]
    for payload in ("script", "handler", "style", "svg", "js_url"):
        assert web_store.PAYLOADS[payload] in text, payload  # shown, as words
    browser.get(server.url + f"/entities/{ids['payload_entity']}")
    text = browser.execute_script(DOM_CHECK)["text"]
    for payload in ("handler", "js_url", "style", "svg"):  # variants, role, the quote said and the one about her
        assert web_store.PAYLOADS[payload] in text, payload
    for path in (f"/jobs/{job.id}", "/watch"):
        browser.get(server.url + path)
        text = browser.execute_script(DOM_CHECK)["text"]
        assert all(source in text for source in sources), path
    values = browser.execute_script("return [...document.querySelectorAll('.stop-form input[name=source]')]"
                                    ".map(e => e.value)")
    assert sorted(values) == sorted(sources)  # the stop buttons send each source back intact


@pytest.mark.parametrize("width", [1400, 400])
def test_pages_fit_the_width_and_timeline_is_legible(site, browser, width):
    server, ids = site
    _width(browser, width)
    for path in ("/", f"/stories/{ids['story']}", f"/articles/{ids['wire']}", "/search?q=flood+dam", "/add"):
        browser.get(server.url + path)
        _wait(browser, "main")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        inner = browser.execute_script("return window.innerWidth")
        assert scroll <= inner, f"{path} scrolls sideways at {width}px ({scroll} > {inner})"
    browser.get(server.url + f"/stories/{ids['story']}")
    svg = browser.find_element(By.CSS_SELECTOR, "#timeline svg.tl-svg")
    if width >= 700:  # the overview drawing: on a phone it is hidden and the dated list carries the timeline
        box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.width]",
                                     svg)
        assert box[0] >= 0 and box[1] <= width and box[2] >= 600
        label = browser.execute_script("return arguments[0].querySelector('text').getBoundingClientRect().height", svg)
        assert label >= 9, f"timeline labels are {label:.1f}px tall at {width}px"
    else:
        assert not svg.is_displayed()
    dates = browser.find_elements(By.CSS_SELECTOR, "#timeline .events li time")
    assert dates and all(d.is_displayed() and d.text for d in dates)
    right = browser.execute_script("return Math.max(...[...document.querySelectorAll('#timeline .events li')]"
                                   ".map(e => e.getBoundingClientRect().right))")
    assert right <= width
    size = browser.execute_script("return parseFloat(getComputedStyle(document.querySelector('#timeline .events li')"
                                  ").fontSize)")
    assert size >= 14
    browser.save_screenshot(str(Path(server.app.state.config.db).parent / f"story-{width}.png"))


def test_upload_an_article_and_see_it_in_its_story(tmp_path, browser):
    db = str(tmp_path / "u.db")
    web_store.build(db, tmp_path)
    server = LiveServer(db)
    try:
        _width(browser, 1400)
        upload = tmp_path / "quay_times.txt"
        upload.write_text(
            "title: Divers search the flooded market of Brellin\nsource: Quay Times\ndate: 2031-03-19\n\n"
            "The Tessaly dam on the Varno river partly collapsed on Tuesday night, flooding the lower districts of "
            "Brellin. Divers searched the old market on Saturday, Governor Ilse Marquand said, and the national "
            "water agency sent engineers to Brellin to inspect the western wall of the Tessaly dam.\n",
            encoding="utf-8")
        browser.get(server.url + "/add")
        _wait(browser, "#files").send_keys(str(upload))
        browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
        WebDriverWait(browser, 120).until(
            lambda d: d.find_element(By.ID, "job-status").get_attribute("data-status") in ("done", "failed"))
        assert browser.find_element(By.ID, "job-status").get_attribute("data-status") == "done"
        browser.find_element(By.CSS_SELECTOR, "a.job-story").click()
        _wait(browser, "#sources")
        assert "Quay Times" in browser.find_element(By.ID, "sources").text
    finally:
        server.stop()


def test_watch_a_feed_and_see_when_it_was_checked_and_what_failed(tmp_path, browser, feed_server):  # noqa: F811
    _, feed_base = feed_server
    db = str(tmp_path / "w.db")
    web_store.build(db, tmp_path)
    server = LiveServer(db, watch_every=None, watch_rate=0.0, watch_timeout=2.0)
    try:
        _width(browser, 1400)
        for path in ("feed.rss", "error"):
            browser.get(server.url + "/add")
            _wait(browser, "#watch-source").send_keys(f"{feed_base}/{path}")
            browser.find_element(By.CSS_SELECTOR, "#watch-form button").click()
            WebDriverWait(browser, 120).until(
                lambda d: d.find_element(By.ID, "job-status").get_attribute("data-status") in ("done", "failed"))
            assert browser.find_element(By.ID, "job-status").get_attribute("data-status") == "done"
        browser.find_element(By.ID, "watched-link").click()
        rows = {r.find_element(By.CSS_SELECTOR, ".source").text.rsplit("/", 1)[-1]: r
                for r in _wait(browser, "#watched").find_elements(By.CSS_SELECTOR, "tr.watched-source")}
        assert rows["feed.rss"].get_attribute("data-status") == "new" and "not yet" not in rows["feed.rss"].text
        assert rows["error"].get_attribute("data-status") == "failed"
        assert "HTTP 500" in rows["error"].find_element(By.CSS_SELECTOR, ".last-error").text
        _width(browser, 400)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        # Stop watching the failing source: the list comes back without it, the feed still watched.
        _width(browser, 1400)
        rows["error"].find_element(By.CSS_SELECTOR, "button.stop-watching").click()
        WebDriverWait(browser, 15).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.watched-source")) == 1)
        left = browser.find_element(By.CSS_SELECTOR, "tr.watched-source .source").text
        assert left.endswith("/feed.rss")
    finally:
        server.stop()
