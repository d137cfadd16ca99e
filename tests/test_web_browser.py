"""The web page in a real browser: Debian's headless Chromium driven by selenium.

Search, filter, open a document, download an export, and a speech holding <script> that must stay
text. A screenshot of the results page is written to $ARCHIVE_SCREENSHOTS (default: the test's
temporary folder) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import docx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from archive.ingest.pipeline import run_index
from archive.web import create_app
from tests import factory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HOSTILE_TITLE = "<script>window.__pwned = 1</script>在全市安全生产工作会议上的讲话"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("web")
    source = root / "讲话稿"
    factory.write_docx(source / "2019" / "办公室.docx", [
        "在全市政府系统办公室工作会议上的讲话", "市政府秘书长  张明", "（2019年3月5日）", "同志们：",
        "市政府办公室作为政府系统的运转中心和枢纽，要倡导“务实奉献、追求卓越”的价值取向。"])
    factory.write_pdf(source / "2021" / "营商环境.pdf", [
        "在全市优化营商环境大会上的讲话", "常务副市长  李强", "（2021年4月12日）", "同志们：",
        "我们要坚持“务实奉献、追求卓越”，持续优化营商环境，2020年GDP达到65.3%。"])
    factory.write_docx(source / "2022" / "安全.docx", [
        HOSTILE_TITLE, "同志们：", "要坚持安全第一。<img src=x onerror=\"window.__pwned = 2\">务实奉献"])
    for number in range(12):  # enough for a second page of results
        factory.write_docx(source / "2023" / f"例会{number}.docx", [
            f"在第{number + 1}次政府常务会议上的讲话", "同志们：", f"第{number + 1}项议题是推进民生实事，切实做好民生实事。"])
    index = root / "index"
    run_index([source], index)
    port = free_port()
    config = uvicorn.Config(create_app(index), host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not uvicorn_server.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", root
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Chromium is needed: apt-get install chromium chromium-driver")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1200,1400", "--lang=zh-CN",
                 f"--user-data-dir={tmp_path_factory.mktemp('profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait(driver, condition, seconds: float = 15):
    return WebDriverWait(driver, seconds).until(condition)


def results(driver) -> list:
    wait(driver, EC.visibility_of_element_located((By.ID, "results-view")))
    return driver.find_elements(By.CSS_SELECTOR, "#results > li")


def test_bookmarked_search_shows_highlighted_results(server, browser) -> None:
    url, root = server
    browser.get(f"{url}/?q={quote(chr(34) + '务实奉献、追求卓越' + chr(34))}")
    items = results(browser)
    assert len(items) == 2
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#results mark")]
    assert marks == ["务实奉献、追求卓越"] * 2
    assert "共 2 篇讲话" in browser.find_element(By.ID, "summary").text
    assert browser.find_elements(By.CSS_SELECTOR, "#results .page")  # page numbers shown
    folder = Path(os.environ.get("ARCHIVE_SCREENSHOTS", root))
    folder.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(folder / "results.png"))


def test_typing_a_query_and_filtering_by_speaker(server, browser) -> None:
    url, _ = server
    browser.get(url)
    wait(browser, lambda d: len(Select(d.find_element(By.ID, "speaker")).options) > 1)
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("务实奉献")
    browser.find_element(By.ID, "search-button").click()
    assert len(results(browser)) == 3
    Select(browser.find_element(By.ID, "speaker")).select_by_value("李强")
    browser.find_element(By.ID, "search-button").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results > li")) == 1)
    assert "李强" in browser.find_element(By.CSS_SELECTOR, "#results .meta").text
    assert "speaker=" in browser.current_url  # the search is in the address: it can be bookmarked


def test_paging_through_results(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote(chr(34) + '民生实事' + chr(34))}")
    assert len(results(browser)) == 10
    assert browser.find_element(By.ID, "page-info").text == "第 1 / 2 页"
    browser.find_element(By.ID, "next").click()
    wait(browser, lambda d: d.find_element(By.ID, "page-info").text == "第 2 / 2 页")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results > li")) == 2
    assert "offset=10" in browser.current_url and not browser.find_element(By.ID, "next").is_enabled()


def test_open_a_document_with_all_its_matches(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote('运转中心和枢纽')}")
    results(browser)[0].find_element(By.CSS_SELECTOR, "a.open-document").click()
    wait(browser, EC.visibility_of_element_located((By.ID, "document-view")))
    assert browser.find_element(By.ID, "doc-title").text == "《在全市政府系统办公室工作会议上的讲话》"
    assert [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#doc-matches mark")] == ["运转中心和枢纽"]
    assert "市政府秘书长 张明" in browser.find_element(By.ID, "doc-meta").text
    browser.find_element(By.ID, "back").click()
    wait(browser, EC.visibility_of_element_located((By.ID, "results-view")))


def test_download_the_passages_as_word(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote(chr(34) + '务实奉献' + chr(34))}")
    results(browser)
    browser.find_element(By.CSS_SELECTOR, 'a.export[data-format="docx"]').click()
    deadline = time.time() + 20
    while not list(browser.downloads.glob("*.docx")):
        assert time.time() < deadline, "no download"
        time.sleep(0.2)
    time.sleep(0.5)
    path = next(browser.downloads.glob("*.docx"))
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "务实奉献" in text and "《在全市优化营商环境大会上的讲话》" in text


def test_a_speech_holding_script_stays_text(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote(chr(34) + '安全第一' + chr(34))}")
    items = results(browser)
    assert len(items) == 1
    assert browser.find_element(By.CSS_SELECTOR, "#results h3").text == f"《{HOSTILE_TITLE}》"
    assert "<img src=x" in items[0].text
    items[0].find_element(By.CSS_SELECTOR, "a.open-document").click()
    wait(browser, EC.visibility_of_element_located((By.ID, "document-view")))
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#results script, #results img, #document-view img")


def test_a_searchs_years_above_its_results_filter_when_clicked(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote(chr(34) + '务实奉献' + chr(34))}")
    results(browser)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline .bar"))
    years = [bar.find_element(By.CSS_SELECTOR, ".year").text for bar in browser.find_elements(By.CSS_SELECTOR, "#timeline .bar")]
    assert years == ["2019", "2021"]
    browser.find_elements(By.CSS_SELECTOR, "#timeline .bar")[1].click()
    wait(browser, lambda d: "since=2021" in d.current_url and len(d.find_elements(By.CSS_SELECTOR, "#results > li")) == 1)


def test_did_you_mean_and_the_draft_check_on_the_page(server, browser) -> None:
    url, _ = server
    browser.get(f"{url}/?q={quote(chr(34) + '务实奉先' + chr(34))}")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#summary a.suggestion"))
    browser.find_element(By.CSS_SELECTOR, "#summary a.suggestion").click()
    assert len(results(browser)) == 3
    browser.get(url)
    browser.find_element(By.CSS_SELECTOR, "#check-panel summary").click()
    browser.find_element(By.ID, "draft").send_keys("同志们：\n市政府办公室作为政府系统的运转中心和枢纽，要倡导务实奉献、追求卓越的价值取向。\n今天的天气很好，大家注意休息。")
    browser.find_element(By.ID, "check-button").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#check-result mark.reused"))
    assert "1 句与以往讲话相同或相近" in browser.find_element(By.ID, "check-summary").text
    assert "在全市政府系统办公室工作会议上的讲话" in browser.find_element(By.CSS_SELECTOR, "#check-result ul.sources").text
