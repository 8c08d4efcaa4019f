"""The dashboard in a real headless browser (Chromium through chromedriver, driven by selenium).

Run by dashboard_browser.rs against the real `flotilla` binary:
    python dashboard_browser.py LINK BASE_URL CLUSTER_ID SCREENSHOT_DIR
with FLOTILLA_ADMIN_PASSWORD, FLOTILLA_TEST_CHROMIUM and FLOTILLA_TEST_CHROMEDRIVER set.
It signs in through the one-time link, watches containers appear without a reload (one that
fits, one that cannot and its reason), scales a cluster from its page, and saves a screenshot of
every page. Prints one JSON line with what it saw; any failed check raises (exit code 1).
"""

import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 30


def api(base, method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def container(name, cpu):
    spec = {"image": "flotilla/workload:latest", "cpu": cpu, "memory": 16}
    return {"name": name, "spec": spec, "run": True}


def row(driver, name):
    rows = driver.find_elements(By.CSS_SELECTOR, 'tr[data-name="%s"]' % name)
    return rows[0] if rows else None


def main():
    link, base, cluster, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    token = api(base, "POST", "/v1/auth/tokens", body={
        "user": "admin", "password": os.environ["FLOTILLA_ADMIN_PASSWORD"], "project": "admin"})["token"]

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ["FLOTILLA_TEST_CHROMIUM"]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(os.environ["FLOTILLA_TEST_CHROMEDRIVER"]), options=options)
    # A page that navigates (a form's redirect) between finding an element and reading it
    # leaves a stale reference: the wait looks again.
    wait = WebDriverWait(driver, WAIT_S, ignored_exceptions=[StaleElementReferenceException])
    seen = {}
    try:
        def shot(name):
            path = os.path.join(shots, name + ".png")
            driver.save_screenshot(path)
            seen.setdefault("screenshots", []).append(path)

        def stream_open():
            wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-stream") == "open")

        # Signed in through the one-time link: the overview with real data.
        driver.get(link)
        wait.until(lambda d: d.current_url.rstrip("/").endswith("/ui"))
        assert driver.find_element(By.TAG_NAME, "h1").text == "Overview", driver.page_source
        assert "admin @ admin" in driver.find_element(By.CSS_SELECTOR, ".who").text
        seen["overview"] = driver.find_element(By.ID, "live").text
        shot("overview")

        # The containers page: a new container appears without a reload.
        driver.get(base + "/ui/containers")
        stream_open()
        driver.execute_script("window.__notReloaded = true;")
        api(base, "POST", "/v1/containers", token, container("browser-web", 0.25))
        wait.until(lambda d: row(d, "browser-web") is not None)
        assert driver.execute_script("return window.__notReloaded === true;"), "the page was reloaded"

        # One that cannot fit shows why, where the eye falls.
        api(base, "POST", "/v1/containers", token, container("browser-huge", 900))
        wait.until(lambda d: row(d, "browser-huge") is not None
                   and row(d, "browser-huge").find_elements(By.CSS_SELECTOR, ".reason.error"))
        reason = row(driver, "browser-huge").find_element(By.CSS_SELECTOR, ".reason.error").text
        assert "no host fits" in reason, reason
        assert driver.execute_script("return window.__notReloaded === true;"), "the page was reloaded"
        seen["no_fit_reason"] = reason
        shot("containers")

        # The one-time link is spent.
        driver.get(link)
        assert "used already" in driver.page_source
        seen["second_use_refused"] = True

        # Scale the cluster from its page; the members follow without a reload.
        driver.get(base + "/ui/clusters/" + cluster)
        field = wait.until(lambda d: d.find_element(By.ID, "scale-capacity"))
        field.clear()
        field.send_keys("3")
        driver.find_element(By.ID, "scale-submit").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("Cluster"))
        stream_open()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#live table")) > 0
                   and "3 members" in d.find_element(By.ID, "live").text)
        seen["scaled"] = api(base, "GET", "/v1/clusters/" + cluster, token)["desired_capacity"]
        shot("cluster")

        for page in ("clusters", "hosts", "networks", "quotas", "events"):
            driver.get(base + "/ui/" + page)
            wait.until(lambda d: d.find_element(By.ID, "live"))
            seen[page] = driver.find_element(By.ID, "live").text
            shot(page)
    finally:
        driver.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
