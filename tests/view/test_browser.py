"""`envarena view` in a real headless Chromium: the page loads, filters work, episodes open.

Screenshots go to the test's tmp folder and are copied to /tmp/view-screens/ for a person to
look at. Needs Debian's `chromium` and `chromium-driver` and the `selenium` package, which
`scripts/setup.sh --test` installs; without them the test skips, except under CI=true.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import ViewServer

SCREENS = Path("/tmp/view-screens")


def _browser_parts() -> tuple[str, str]:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing = "the selenium package"
    else:
        missing = "chromium" if chromium is None else "chromedriver" if driver is None else ""
    if missing:
        reason = f"{missing} is not installed (scripts/setup.sh --test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = _browser_parts()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def shoot(browser, tmp_path):
    SCREENS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        assert browser.save_screenshot(str(path)), name
        shutil.copy(path, SCREENS / path.name)
        return path

    return take


def _wait(browser, condition, what: str, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda d: condition(d), message=what)


def _rows(browser):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "#episodes tbody tr")


def _texts(browser, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, css)]


def _no_script_errors(browser) -> None:
    severe = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe


def test_rollout_files_table_filters_episode_and_side_by_side(browser, shoot, rollout_files):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    server = ViewServer(*rollout_files)
    try:
        browser.get(server.url)
        _wait(browser, lambda d: len(_rows(d)) == 16, "all 16 episodes listed")
        assert browser.find_element(By.ID, "count").text == "1–16 of 16 episodes"
        shoot("01-table")

        Select(browser.find_element(By.ID, "f-env")).select_by_value("text/countdown-v0")
        _wait(browser, lambda d: len(_rows(d)) == 11, "countdown episodes only")
        assert set(_texts(browser, "#episodes tbody td:nth-child(3) a")) == {"text/countdown-v0"}
        Select(browser.find_element(By.ID, "f-error")).select_by_value("yes")
        _wait(browser, lambda d: len(_rows(d)) == 2, "the two failed episodes")
        assert all("TimeoutError" in t for t in _texts(browser, "#episodes tbody td.errcell"))
        shoot("02-filtered-errors")
        Select(browser.find_element(By.ID, "f-error")).select_by_value("")
        Select(browser.find_element(By.ID, "f-env")).select_by_value("")
        search = browser.find_element(By.ID, "f-q")
        search.send_keys("calculate")
        _wait(browser, lambda d: len(_rows(d)) == 3, "search finds the calculator episodes")

        _rows(browser)[0].click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#episode .turn"), "the episode opens")
        page = browser.find_element(By.ID, "episode").text
        assert "tools/calculator-v0" in page and "→ calculate" in page and "TOOL RESULT" in page.upper()
        assert "Turn 2" in page and "verifier's feedback" in page and "Correct." in page
        assert "outcome +1.000" in page.replace("\n", " ") or "outcome 1.000" in page
        shoot("03-episode-tool-calls")

        browser.back()
        _wait(browser, lambda d: len(_rows(d)) == 3, "back to the filtered table")
        assert browser.find_element(By.ID, "f-q").get_attribute("value") == "calculate"
        browser.find_element(By.ID, "f-q").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)  # as a person clears it
        Select(browser.find_element(By.ID, "f-env")).select_by_value("text/countdown-v0")
        Select(browser.find_element(By.ID, "f-error")).select_by_value("no")
        _wait(browser, lambda d: len(_rows(d)) == 9, "the countdown groups")
        _rows(browser)[0].click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".group-table tbody tr"), "the task's group")
        assert len(browser.find_elements(By.CSS_SELECTOR, ".group-table tbody tr")) == 3
        browser.find_elements(By.CSS_SELECTOR, "a.compare-link")[0].click()
        _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".compare-col .turn")) >= 2, "two episodes side by side")
        columns = browser.find_elements(By.CSS_SELECTOR, ".compare-col")
        assert len(columns) == 2 and all("text/countdown-v0" in c.text for c in columns)
        assert columns[0].text != columns[1].text
        shoot("04-side-by-side")
        _no_script_errors(browser)
    finally:
        server.stop()


def test_training_run_curves_steps_and_tokens(browser, shoot, train_run):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server = ViewServer(train_run)
    try:
        browser.get(server.url)
        _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#charts svg")) >= 6, "the curves")
        _wait(browser, lambda d: len(_rows(d)) == 6, "the last step's rollouts")
        source = Select(browser.find_element(By.ID, "f-src"))
        assert source.first_selected_option.text == "step 2"
        assert browser.find_elements(By.CSS_SELECTOR, "#charts polyline")
        shoot("05-run-curves")

        chart = browser.find_elements(By.CSS_SELECTOR, "#charts svg")[0]
        width = chart.size["width"]
        ActionChains(browser).move_to_element_with_offset(chart, -width // 2 + 48, 0).click().perform()
        _wait(browser, lambda d: Select(d.find_element(By.ID, "f-src")).first_selected_option.text == "step 0",
              "a click on the curve opens step 0")
        _wait(browser, lambda d: len(_rows(d)) == 6, "step 0's rollouts")

        _rows(browser)[0].click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#tokens .tok"), "the token view")
        sampled = browser.find_elements(By.CSS_SELECTOR, "#tokens .tokens .tok.m1")
        prompt = browser.find_elements(By.CSS_SELECTOR, "#tokens .tokens .tok.m0")
        assert 1 <= len(sampled) <= 4 and len(prompt) > 20
        assert all("background" in (s.get_attribute("style") or "") for s in sampled), "sampled tokens coloured by log-prob"
        assert "<|im_start|>" in browser.find_element(By.CSS_SELECTOR, "#tokens .tokens").text
        browser.execute_script("document.getElementById('tokens').scrollIntoView()")
        shoot("06-tokens-logprob")
        browser.find_element(By.CSS_SELECTOR, "#tokens input[value=mask]").click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#tokens .tokens .tok.m1.mask"), "loss-mask colouring")
        browser.execute_script("document.getElementById('tokens').scrollIntoView()")
        shoot("07-tokens-mask")
        _no_script_errors(browser)
    finally:
        server.stop()
