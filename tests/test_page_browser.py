"""The page end to end: headless Chromium (Debian's chromium and chromium-driver, driven by Selenium)
against the real server (gunicorn on 127.0.0.1) serving the default model trained in this session.

Set ``OUTSORT_SCREENSHOT`` to a path to keep the screenshot of an analysed job description there
(``scripts/screenshot`` does, for docs/page.png); otherwise it goes to the test's temporary folder.
"""
from __future__ import annotations

import contextlib
import csv
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import service
from service.server import gunicorn_argv, server_environment

ROOT = Path(service.__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT_WIDTH = 1280


def _missing_browser() -> str | None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        return (f"no headless browser: {' and '.join(missing)} missing (apt-get install chromium "
                "chromium-driver; .ci/run does this as root)")
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing_browser() is not None, reason=str(_missing_browser()))]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium.common.exceptions import TimeoutException  # noqa: E402  (after the skip above)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CLEAR_TASKS = [
    ("Answer inbound customer calls about billing questions", "bpo_front_office"),
    ("Reconcile vendor statements against the general ledger", "bpo_back_office"),
    ("Build financial models to value acquisition targets", "kpo"),
]
DUTIES = [
    "Answer inbound calls and chats from customers about bills, plans and roaming",
    "Explain charges on the bill and apply credits within your authority limit",
    "Help customers change or upgrade their plan and place handset orders",
    "Process refund requests and update account records in the billing system",
    "Analyse complaint trends and recommend changes to the retention offers",
    "Log every interaction in the CRM and escalate complex faults to technical support",
]
JOB_DESCRIPTION = """About us
We are one of the fastest-growing mobile networks in the region.

What you'll do:
""" + "\n".join("* " + duty for duty in DUTIES) + """

Requirements
- 1+ years of experience in a contact centre
- Clear spoken English; a second language is a plus

Benefits: competitive salary, monthly bonus, hybrid work after training.
We are an equal opportunity employer."""


# ------------------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def running_server(folder: Path, registry_root: Path):
    """gunicorn over ``registry_root`` with a feedback database in ``folder``; yields (url, database)."""
    port, database = free_port(), folder / "feedback.sqlite3"
    env = server_environment(registry_root, environ={
        **{k: v for k, v in os.environ.items() if not k.startswith("OUTSORT_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "OUTSORT_DATABASE": str(database), "OUTSORT_SECRET_KEY": "page-test-" + "k" * 40,
        "OUTSORT_METRICS_DIR": str(folder / "metrics"),
    })
    log_path = folder / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(gunicorn_argv(port=port, workers=2, graceful_timeout=5), cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _ready(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("server did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}", database
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory, registry):
    """The real server over a private copy of the session's registry."""
    folder = tmp_path_factory.mktemp("page-server")
    shutil.copytree(registry.root, folder / "registry")
    with running_server(folder, folder / "registry") as running:
        yield running


# ------------------------------------------------------------------------------ the browser
@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, downloads):
    """Headless Chromium that downloads nothing of its own: the system driver, Selenium Manager offline."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--hide-scrollbars", f"--window-size={SCREENSHOT_WIDTH},900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, server):
    """The page freshly loaded at laptop width; yields the driver."""
    url, _ = server
    browser.set_window_size(SCREENSHOT_WIDTH, 900)
    browser.get(url + "/")
    WebDriverWait(browser, 10).until(EC.element_to_be_clickable((By.ID, "analyse")))
    return browser


def wait_for(driver, condition, timeout: float = 60, message: str = ""):
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        error = driver.find_element(By.ID, "error").text
        status = driver.find_element(By.ID, "status").text
        pytest.fail(f"{message} (page error: {error!r}, status: {status!r})")


def result_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#results-body tr")


def paste(driver, text: str) -> None:
    """Put ``text`` into the text box as if pasted, and tell the page it changed."""
    box = driver.find_element(By.ID, "input-text")
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input'));", box, text)


# ------------------------------------------------------------------------------ cases
def test_three_clear_tasks_give_three_rows_with_the_expected_categories(page):
    paste(page, "\n".join(text for text, _ in CLEAR_TASKS))
    assert page.find_element(By.ID, "input-stats").text.startswith("Detected: 3 task line(s)")
    page.find_element(By.ID, "input-text").send_keys(Keys.CONTROL, Keys.ENTER)  # the keyboard shortcut
    wait_for(page, lambda d: len(result_rows(d)) == 3, message="three result rows")
    rows = result_rows(page)
    assert [row.get_attribute("data-category") for row in rows] == [label for _, label in CLEAR_TASKS]
    for row in rows:
        assert row.find_elements(By.CSS_SELECTOR, ".label"), "the category is shown as a label"
        assert len(row.find_elements(By.CSS_SELECTOR, ".bars .meter")) == 3, "three probability bars"
        assert "Level" in row.find_element(By.CSS_SELECTOR, ".automation").text
        assert row.find_elements(By.CSS_SELECTOR, "mark.drive"), "driving words are highlighted"
    marked = [m.text.lower() for m in rows[1].find_elements(By.CSS_SELECTOR, "mark.drive")]
    assert "reconcile" in marked


def test_job_description_shows_the_mix_above_the_tasks(page):
    paste(page, JOB_DESCRIPTION)
    assert page.find_element(By.ID, "input-stats").text.startswith("Detected: one job description")
    page.find_element(By.ID, "analyse").click()
    summary = wait_for(page, EC.visibility_of_element_located((By.ID, "job-summary")), message="the job mix")
    legend = {item.get_attribute("data-label"): int(item.find_element(By.TAG_NAME, "strong").text.rstrip("%"))
              for item in summary.find_elements(By.CSS_SELECTOR, "#job-legend li")}
    assert set(legend) == {"bpo_front_office", "bpo_back_office", "kpo", "not_outsourceable"}
    assert abs(sum(legend.values()) - 100) <= 2  # rounded shares
    assert max(legend, key=legend.get) == "bpo_front_office"
    segments = summary.find_elements(By.CSS_SELECTOR, "#job-stack span")
    assert len(segments) == 4 and sum(s.size["width"] for s in segments) > 0
    assert "Level" in page.find_element(By.ID, "job-automation-text").text
    assert "Job mix" in page.find_element(By.ID, "job-stack").get_attribute("aria-label")
    texts = [row.find_element(By.CSS_SELECTOR, "td.text").text.split("\nDriven by:")[0] for row in result_rows(page)]
    assert texts == DUTIES  # the bullet duties, in order; company, requirements and benefits set aside
    assert "set aside" in page.find_element(By.ID, "job-left-out-summary").get_attribute("textContent")
    save_screenshot(page)


BORDERLINE_TASK = "Prepare reports summarizing findings"


@pytest.mark.parametrize("title, label", [("Financial Analyst", "kpo"), ("Data Entry Keyer", "bpo_back_office")])
def test_a_job_title_reads_the_tasks_in_the_light_of_the_role(page, title, label):
    page.find_element(By.ID, "input-title").send_keys(title)
    paste(page, BORDERLINE_TASK)
    page.find_element(By.ID, "analyse").click()
    wait_for(page, lambda d: len(result_rows(d)) == 1, message="one result row")
    row = result_rows(page)[0]
    assert row.get_attribute("data-category") == label
    drivers = row.find_element(By.CSS_SELECTOR, ".drivers").text
    assert any(f"{word} (title)" in drivers for word in title.lower().split()), drivers
    marked = {m.text.lower() for m in row.find_elements(By.CSS_SELECTOR, "mark.drive")}
    assert marked and not marked & set(title.lower().split()), "only the task's own words are marked in it"
    page.find_element(By.ID, "clear").click()
    assert page.find_element(By.ID, "input-title").get_attribute("value") == ""


def test_a_job_title_alone_shows_its_mix_and_nearest_occupations(page):
    page.find_element(By.ID, "input-title").send_keys("Accounts Payable Clerk")
    page.find_element(By.ID, "analyse").click()
    summary = wait_for(page, EC.visibility_of_element_located((By.ID, "job-summary")), message="the title's mix")
    assert page.find_element(By.ID, "job-heading").text == "Title mix: Accounts Payable Clerk"
    legend = {item.get_attribute("data-label"): int(item.find_element(By.TAG_NAME, "strong").text.rstrip("%"))
              for item in summary.find_elements(By.CSS_SELECTOR, "#job-legend li")}
    assert max(legend, key=legend.get) == "bpo_back_office"
    line = page.find_element(By.ID, "job-tasks").text
    assert "from the title alone" in line and "payable" in line and "Clerks" in line
    assert not page.find_element(By.ID, "results").is_displayed()
    assert not page.find_element(By.ID, "error").is_displayed()


def test_classify_over_http_reads_each_text_with_its_own_title(server):
    url, _ = server
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    body = {"texts": [{"text": BORDERLINE_TASK, "title": "Financial Analyst"},
                      {"text": BORDERLINE_TASK, "title": "Data Entry Keyer"}, BORDERLINE_TASK]}
    connection.request("POST", "/v1/classify", body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    predictions = json.loads(response.read())["predictions"]
    assert [p["category"] for p in predictions[:2]] == ["kpo", "bpo_back_office"]
    assert not any(t["from_title"] for t in predictions[2]["explanation"]["category"])
    assert {t["term"] for t in predictions[0]["explanation"]["category"] if t["from_title"]} <= {"financial", "analyst"}


def save_screenshot(driver) -> None:
    """The whole analysed page, at laptop width, for docs/page.png."""
    target = Path(os.environ.get("OUTSORT_SCREENSHOT") or Path(driver.capabilities["chrome"]["userDataDir"]) / "page.png")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(SCREENSHOT_WIDTH, height + 140)  # the window frame is counted in the height
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.png")
    assert driver.save_screenshot(str(partial))
    os.replace(partial, target)


def write_upload(path: Path, n_rows: int) -> list[dict]:
    """A CSV with a text column that is not the first, and cells a spreadsheet would run."""
    rows = []
    tricky_notes = ["=HYPERLINK(\"http://example.invalid\",\"click\")", "+1 555 0100", "@SUM(A1:A9)",
                    "\tindented", "plain, with \"quotes\"\nand a line break"]
    for i in range(n_rows):
        text, _ = CLEAR_TASKS[i % len(CLEAR_TASKS)]
        rows.append({"id": str(i + 1), "task": f"- {text}" if i == 0 else f"{text} (batch {i})",
                     "notes": tricky_notes[i % len(tricky_notes)]})
    rows[5]["task"] = ""  # an empty row: skipped, kept in the download
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "notes", "task"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_csv_upload_shows_progress_and_downloads_escaped_results(page, tmp_path, downloads):
    uploaded = write_upload(tmp_path / "tasks.csv", 450)  # three requests of at most 200 texts
    page.find_element(By.ID, "csv-file").send_keys(str(tmp_path / "tasks.csv"))
    wait_for(page, lambda d: d.find_element(By.ID, "csv-column").is_enabled(), message="column chooser")
    column = Select(page.find_element(By.ID, "csv-column"))
    assert [o.text for o in column.options] == ["id", "notes", "task"]
    assert column.first_selected_option.text == "task"  # guessed from the header
    page.find_element(By.ID, "csv-run").click()
    wait_for(page, lambda d: "Classified 449 rows" in d.find_element(By.ID, "status").text, message="file classified")
    progress = page.find_element(By.ID, "progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "449"
    assert "449 of 449" in page.find_element(By.ID, "progress-label").text
    assert len(result_rows(page)) == 449

    for stale in downloads.glob("tasks-classified*.csv"):
        stale.unlink()
    page.find_element(By.ID, "download").click()
    target = downloads / "tasks-classified.csv"
    wait_for(page, lambda d: target.exists() and not list(downloads.glob("*.crdownload")), timeout=20,
             message="downloaded file")
    with open(target, newline="", encoding="utf-8-sig") as handle:
        got = list(csv.DictReader(handle))
    assert len(got) == len(uploaded)
    assert list(got[0]) == ["id", "notes", "task", "category", "confidence", "p_bpo_front_office",
                            "p_bpo_back_office", "p_kpo", "outsourceable", "out_of_scope", "automation_score",
                            "automation_level", "driving_words"]
    assert got[0]["task"].startswith("'- ")  # a leading minus is escaped ...
    assert [row["notes"] for row in got[:5]] == ["'=HYPERLINK(\"http://example.invalid\",\"click\")", "'+1 555 0100",
                                                 "'@SUM(A1:A9)", "'\tindented", "plain, with \"quotes\"\nand a line break"]
    assert got[1]["task"] == uploaded[1]["task"]  # ... and ordinary text is left alone
    assert got[5]["task"] == "" and got[5]["category"] == ""  # the empty row keeps its place
    expected = {text: label for text, label in CLEAR_TASKS}
    for row, source in zip(got[1:30], uploaded[1:30]):
        if source["task"]:
            assert row["category"] == expected[source["task"].rsplit(" (batch", 1)[0]]
            assert row["out_of_scope"] in ("true", "false") and 0 <= float(row["p_kpo"]) <= 1


def test_correction_is_recorded_in_the_feedback_database(page, server):
    _, database = server
    text = "Key supplier invoices into the finance system"
    paste(page, text)
    page.find_element(By.ID, "analyse").click()
    wait_for(page, lambda d: len(result_rows(d)) == 1, message="one result row")
    row = result_rows(page)[0]
    row.find_element(By.CSS_SELECTOR, "details summary").click()
    Select(row.find_element(By.CSS_SELECTOR, "select[id^='fix-category']")).select_by_value("kpo")
    Select(row.find_element(By.CSS_SELECTOR, "select[id^='fix-level']")).select_by_value("1")
    row.find_element(By.CSS_SELECTOR, "details button").click()
    wait_for(page, lambda d: "Recorded" in row.find_element(By.CSS_SELECTOR, ".recorded").text,
             message="correction recorded")
    assert "corrected" in row.get_attribute("class")
    db = sqlite3.connect(database)
    try:
        stored = db.execute("SELECT category, automation_level, client, prediction_id FROM feedback WHERE text = ?",
                            (text,)).fetchall()
    finally:
        db.close()
    assert len(stored) == 1
    category, level, client, prediction_id = stored[0]
    assert (category, level, client) == ("kpo", 1, "page")
    assert prediction_id and prediction_id.endswith("-0")


def test_server_errors_are_shown_from_the_json_error(page):
    paste(page, CLEAR_TASKS[0][0])
    page.find_element(By.ID, "analyse").click()
    wait_for(page, lambda d: len(result_rows(d)) == 1, message="one result row")
    page.delete_all_cookies()  # the CSRF token no longer belongs to this browser's session
    row = result_rows(page)[0]
    row.find_element(By.CSS_SELECTOR, "details summary").click()
    row.find_element(By.CSS_SELECTOR, "details button").click()
    status = wait_for(page, lambda d: row.find_element(By.CSS_SELECTOR, ".recorded.failed"), message="refusal shown")
    assert "403" in status.text and "csrf_failed" in status.text and "reload the page" in status.text


@pytest.mark.parametrize("text, mode, message", [
    ("   \n  ", "auto", "Nothing to analyse"),
    ("Answer calls\n" + "x" * 10_001, "tasks", "Line 2 has 10,001 characters; the limit for one task is 10,000"),
    ("Responsibilities:\n" + "Process invoices. " * 3000, "job", "the limit is 50,000"),
])
def test_bad_input_gets_a_clear_message_without_a_request(page, text, mode, message):
    page.find_element(By.CSS_SELECTOR, f"input[name='mode'][value='{mode}']").click()
    paste(page, text)
    page.find_element(By.ID, "analyse").click()
    error = page.find_element(By.ID, "error")
    assert error.is_displayed() and message in error.text
    assert error.get_attribute("role") == "alert"
    assert not result_rows(page)


def test_phone_width_shows_cards_without_sideways_scrolling(page):
    page.set_window_size(390, 844)
    paste(page, "\n".join(text for text, _ in CLEAR_TASKS))
    page.find_element(By.ID, "analyse").click()
    wait_for(page, lambda d: len(result_rows(d)) == 3, message="three result rows")
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    cell = result_rows(page)[0].find_element(By.CSS_SELECTOR, "td.text")
    assert page.execute_script("return getComputedStyle(arguments[0]).display", cell) == "block"


def test_keyboard_reaches_every_control_with_a_visible_focus(page):
    page.find_element(By.TAG_NAME, "h1").click()  # the document, not the browser window, has the keyboard
    keys = ActionChains(page)
    seen = []
    for _ in range(13):
        keys.send_keys(Keys.TAB).perform()  # to the page, not to an element: a file input would take it as a path
        active = page.switch_to.active_element
        if active.tag_name == "body":  # past the last control
            break
        seen.append(active.get_attribute("id") or active.get_attribute("value")
                    or active.get_attribute("href").rsplit("/", 1)[-1])
        outline = page.execute_script("return getComputedStyle(arguments[0]).outlineStyle", active)
        assert outline != "none", f"no focus outline on {seen[-1]}"
    # The column chooser and "Classify file" stay disabled, so skipped, until a file is chosen.
    assert seen == ["auto", "input-title", "input-text", "analyse", "clear", "csv-file", "docs", "openapi.json"]
