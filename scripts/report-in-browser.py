#!/usr/bin/env python3
"""Opens a simverify HTML report in Debian's Chromium (headless, through chromedriver) and checks
what a reader sees: the title, every section heading asked for, and every plot drawn (each SVG
laid out at a real size, with its curves or bars), with no request leaving the page (the report is
self-contained). Saves a screenshot of the whole page next to the report (.png).

  report-in-browser.py REPORT.html [--section HEADING ...] [--plots N]

Exit status 0 when every check holds; each failed check is printed.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

report = os.path.abspath(sys.argv[1])
sections, plots = [], 1
args = sys.argv[2:]
while args:
    flag, value, args = args[0], args[1], args[2:]
    if flag == "--section":
        sections.append(value)
    elif flag == "--plots":
        plots = int(value)
    else:
        sys.exit("report-in-browser: unknown option %s" % flag)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
failures = []
try:
    driver.set_page_load_timeout(30)
    driver.get("file://" + report)
    title = driver.title
    if not title.startswith("simverify"):
        failures.append("title is %r" % title)
    headings = driver.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    for wanted in sections:
        if not any(h.startswith(wanted) for h in headings):
            failures.append("no section %r (the page has %s)" % (wanted, headings))
    drawn = driver.execute_script("""
        return Array.from(document.querySelectorAll('svg')).map(svg => {
            const box = svg.getBoundingClientRect();
            const marks = svg.querySelectorAll('polyline, path, rect, circle').length;
            let longest = 0;
            for (const line of svg.querySelectorAll('polyline')) longest = Math.max(longest, line.getTotalLength());
            return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height, marks: marks, longest: longest};
        })""")
    if len(drawn) < plots:
        failures.append("%d plots drawn, %d expected" % (len(drawn), plots))
    for plot in drawn:
        if plot["width"] < 200 or plot["height"] < 150 or plot["marks"] < 3:
            failures.append("plot %r is not drawn: %s" % (plot["label"], plot))
        if "DET" in (plot["label"] or "") and plot["longest"] < 50:
            failures.append("the DET plot %r has no curve (%s)" % (plot["label"], plot))
    # Self-contained: no request other than the file itself.
    requests = [e for e in driver.get_log("performance") if '"Network.requestWillBeSent"' in e["message"]]
    outside = [e["message"][:200] for e in requests if "file://" + report not in e["message"]]
    if outside:
        failures.append("the page made requests: %s" % outside[:3])
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        failures.append("console errors: %s" % errors[:3])
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(900, height), 16000))
    shot = os.path.splitext(report)[0] + ".png"
    driver.save_screenshot(shot)
    print("report-in-browser: %s: %d sections, %d plots (%s), screenshot %s" % (
        os.path.basename(report), len(headings), len(drawn), ", ".join("%s %dx%d" % (p["label"], p["width"], p["height"]) for p in drawn), shot))
finally:
    driver.quit()
for failure in failures:
    print("report-in-browser: FAILED: " + failure, file=sys.stderr)
sys.exit(1 if failures else 0)
