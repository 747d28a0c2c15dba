"""Drives report.html in a real headless Chromium (selenium) and checks it
against Python's own pstats and the profile.json it came from.

Usage: report.py DIR ARTIFACTS
  DIR holds report.html, profile.prof and profile.json of one profile;
  ARTIFACTS receives a screenshot of each step.
Exit status 0 when every check passed; 77 (with the reason printed) when
selenium or Chromium is missing; 1 otherwise.
"""
import json
import os
import pstats
import re
import shutil
import sys
import time

DIR, ARTIFACTS = sys.argv[1], sys.argv[2]
os.makedirs(ARTIFACTS, exist_ok=True)

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.chrome.service import Service
except ImportError:
    print("skipped: selenium is not installed (python3 -m pip install selenium)")
    sys.exit(77)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
if not CHROMIUM or not DRIVER:
    print("skipped: chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def driver(javascript=True):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--allow-file-access-from-files"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        o.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(DRIVER), options=o)


def shot(d, name):
    d.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def wait_ready(d, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if d.execute_script("return document.body && document.body.getAttribute('data-ready')") == "1":
            return True
        time.sleep(0.05)
    return False


def table_labels(d):
    show = d.find_element(By.ID, "show-all")
    if show.is_displayed():
        show.click()
    return d.execute_script(
        "return Array.from(document.querySelectorAll('#stats tbody tr'))"
        ".map(tr => tr.lastElementChild.textContent)")


url = "file://" + os.path.abspath(os.path.join(DIR, "report.html"))
stats = pstats.Stats(os.path.join(DIR, "profile.prof"))
profile = json.load(open(os.path.join(DIR, "profile.json")))["profile"]
label = pstats.func_std_string


def is_root(f):
    """The roots profile.prof puts over the threads (PROGRAM:0(<module>) and
    {thread NAME}): pstats.txt and the page show the profiled functions only."""
    return f[1] == 0 and (f[2] == "<module>" or (f[0] == "~" and f[2].startswith("<thread ")))


roots = [f for f in stats.stats if is_root(f)]
busy = sum(1 for t in profile["threads"] if t["nodes"])
assert len(roots) == 1 + busy, (roots, busy)
for f in roots:
    del stats.stats[f]
for f, v in list(stats.stats.items()):
    stats.stats[f] = v[:4] + ({c: e for c, e in v[4].items() if not is_root(c)},)

d = driver()
try:
    t0 = time.time()
    d.get(url)
    ready = wait_ready(d)
    check(ready, "the page becomes interactive (%.2f s)" % (time.time() - t0))
    logs = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    check(not logs, "no console error: %s" % logs)
    shot(d, "1-loaded")

    # The embedded data equals the profile it came from.
    data = d.execute_script("return JSON.parse(document.getElementById('report-data').textContent)")
    rows = {(r[1], r[2], r[3]): r for r in data["rows"]}
    same = len(rows) == len(stats.stats)
    for func, (cc, nc, tt, ct, callers) in stats.stats.items():
        r = rows.get(func)
        same = same and r is not None and (r[4], r[5]) == (nc, cc) \
            and r[6] / 1e9 == tt and r[7] / 1e9 == ct and r[0] == label(func)
    check(same, "every row's ncalls, primitive calls, tottime and cumtime equal pstats' (%d functions)" % len(rows))
    sites = profile["sites"]
    ok = len(data["threads"]) == len(profile["threads"])
    for page, t in zip(data["threads"], profile["threads"]):
        nodes = t["nodes"]
        # Paths from the file (site ids from the root down) with their calls and time.
        def path(i):
            p = []
            while i is not None:
                p.append(nodes[i]["site"])
                par = nodes[i]["parent"]
                i = None if par == 4294967295 else par
            return tuple(reversed(p))
        want = sorted((path(i), n["calls"], n["time_ns"]) for i, n in enumerate(nodes))
        got, stack = [], []
        tr = page["tree"]
        for s, dep, c, tm in zip(tr["site"], tr["depth"], tr["calls"], tr["time"]):
            del stack[dep:]
            stack.append(s)
            got.append((tuple(stack), c, tm))
        ok = ok and sorted(got) == want and page["name"] == t["name"] \
            and len(page["timeline"]["start"]) + page["timeline"]["left_out"] == len(t.get("timeline", []))
    check(ok, "every thread's call tree and timeline on the page equals profile.json's")
    check(data["run"]["wall_ns"] == profile["meta"]["duration_ns"], "the run's wall time equals profile.json's")
    check(d.find_element(By.CSS_SELECTOR, "#run td[data-field=wall-time]").text.strip() != "",
          "the run header shows the wall time")

    # Sorting by tottime orders the rows as pstats' sort_stats("tottime").
    d.find_element(By.CSS_SELECTOR, "#stats th[data-key=tottime]").click()
    got = table_labels(d)
    stats.sort_stats("tottime")
    want = [label(f) for f in stats.fcn_list]
    check(got == want, "clicking tottime orders the table as sort_stats('tottime'): %s" % (got[:5],))
    shot(d, "2-sorted-by-tottime")
    for key in ("calls", "cumulative", "name", "nfl", "stdname", "pcalls", "filename", "line"):
        d.execute_script("const s=document.getElementById('sort-key'); s.value=arguments[0];"
                         "s.dispatchEvent(new Event('change'))", key)
        stats.sort_stats(key)
        got = table_labels(d)
        check(got == [label(f) for f in stats.fcn_list], "sort_stats(%r) order" % key)

    # Search keeps exactly the matching rows (pstats' print_stats restriction).
    # A term from the data: the first four letters of the most called
    # function's name.
    busiest = max(stats.stats, key=lambda f: (stats.stats[f][1], label(f)))
    term = re.escape(busiest[2][:4])
    box = d.find_element(By.ID, "search")
    box.send_keys(term)
    got = table_labels(d)
    stats.sort_stats("line")  # the table's order: the last key chosen above
    want = [label(f) for f in stats.fcn_list if re.search(term, label(f))]
    check(got == want and len(want) > 0, "searching %r keeps exactly %s" % (term, want))
    shot(d, "3-search")
    box.clear()
    box.send_keys(" ")
    box.clear()
    d.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")

    # A row's callers are pstats' callers.
    many = max(stats.stats, key=lambda f: (len(stats.stats[f][4]), label(f)))
    d.execute_script(
        "const tr = Array.from(document.querySelectorAll('#stats tbody tr'))"
        ".find(tr => tr.lastElementChild.textContent === arguments[0]); tr.scrollIntoView(); tr.click()",
        label(many))
    got = sorted(e.get_attribute("data-label") for e in d.find_elements(By.CSS_SELECTOR, "#callers tr[data-label]"))
    want = sorted(label(f) for f in stats.stats[many][4])
    check(got == want and want, "the callers of %s are pstats' %s" % (label(many), want))
    got = sorted(e.get_attribute("data-label") for e in d.find_elements(By.CSS_SELECTOR, "#callees tr[data-label]"))
    stats.calc_callees()
    want = sorted(label(f) for f in stats.all_callees.get(many, {}))
    check(got == want, "its callees are pstats' %s" % want)
    shot(d, "4-callers")

    # Clicking a frame zooms the icicle to it.
    chart = d.find_element(By.ID, "icicle-chart")
    d.execute_script("arguments[0].scrollIntoView()", chart)
    before = chart.get_attribute("data-zoom")
    canvas = d.find_element(By.ID, "icicle-canvas")
    # The root's largest child is drawn first in the second row, from x = 0.
    d.execute_script("""
        const c = arguments[0], r = c.getBoundingClientRect();
        const o = {clientX: r.left + 3, clientY: r.top + 18 + 9, bubbles: true};
        c.dispatchEvent(new MouseEvent('click', o));""", canvas)
    after = chart.get_attribute("data-zoom")
    merged = {}
    for t in profile["threads"]:
        for n in t["nodes"]:
            if n["parent"] == 4294967295:
                name = sites[n["site"]]["name"]
                merged[name] = merged.get(name, 0) + n["time_ns"]
    biggest = max(merged, key=lambda k: merged[k])
    check(before == "all threads" and after == biggest,
          "clicking the first frame zooms from %r to it: %r (want %r)" % (before, after, biggest))
    check(d.find_element(By.ID, "icicle-path").text.endswith(biggest), "the path shows the zoomed frame")
    shot(d, "5-icicle-zoomed")
    # One thread's own tree: its name at the root, its busy time the root's.
    last = len(profile["threads"]) - 1
    d.execute_script("const s=document.getElementById('icicle-thread'); s.value=arguments[0];"
                     "s.dispatchEvent(new Event('change'))", str(last))
    check(chart.get_attribute("data-zoom") == profile["threads"][last]["name"],
          "choosing a thread shows its own tree, rooted at %r" % profile["threads"][last]["name"])

    # An MPI program's page: one lane per rank and thread, the matrix.
    if profile.get("mpi"):
        ranks = sorted({t["rank"] for t in profile["threads"] if t.get("rank") is not None})
        cells = d.find_elements(By.CSS_SELECTOR, "#mpi-matrix tr")
        check(len(cells) == len(ranks) + 1, "the communication matrix has a row per rank (%d)" % len(ranks))
        names = [l.text for l in d.find_elements(By.CSS_SELECTOR, "#timeline-lanes .lane-name")]
        check(names and all(n.startswith("rank ") for n in names), "timeline lanes are named by rank: %s" % names)
        shot(d, "mpi")

    # The timeline: one lane per thread that recorded one.
    lanes = d.find_elements(By.CSS_SELECTOR, "#timeline-lanes .lane")
    want = [("rank %d \u00b7 %s" % (t["rank"], t["name"])) if t.get("rank") is not None else t["name"]
            for t in profile["threads"] if t.get("timeline")]
    check([l.find_element(By.CLASS_NAME, "lane-name").text for l in lanes] == want,
          "the timeline shows one lane per thread: %s" % want)
    lanes_box = d.find_element(By.ID, "timeline-lanes")
    d.execute_script("arguments[0].scrollIntoView()", lanes_box)
    v0 = lanes_box.get_attribute("data-view")
    d.find_element(By.ID, "timeline-in").click()
    check(lanes_box.get_attribute("data-view") != v0, "zooming the timeline changes its window")
    shot(d, "6-timeline")
    logs = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    check(not logs, "still no console error: %s" % logs)
finally:
    d.quit()

# Without JavaScript: the run header and the top table are there.
d = driver(javascript=False)
try:
    d.get(url)
    head = d.find_elements(By.CSS_SELECTOR, "#run table tr")
    rows = d.find_elements(By.CSS_SELECTOR, "#static-table table tr")
    where = d.find_elements(By.ID, "where")
    check(len(head) >= 10 and len(rows) > 1 and where,
          "without JavaScript the header (%d rows), where the time goes and the top table (%d rows) show"
          % (len(head), len(rows) - 1))
    shot(d, "7-without-javascript")
finally:
    d.quit()

# `profiler diff --html` and `workloads scale` pages, when given.
d = driver()
try:
    for name in ("diff.html", "scale.html"):
        path = os.path.join(DIR, name)
        if not os.path.exists(path):
            continue
        d.get("file://" + os.path.abspath(path))
        check(wait_ready(d), "%s becomes interactive" % name)
        logs = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        check(not logs, "%s: no console error: %s" % (name, logs))
        data = d.execute_script("return JSON.parse(document.getElementById('report-data').textContent)")
        if data["kind"] == "diff":
            shown = d.find_elements(By.CSS_SELECTOR, "#stats tbody tr")
            check(len(shown) == min(500, len(data["rows"])) and len(shown) > 0,
                  "diff.html lists every function (%d)" % len(shown))
            d.find_element(By.CSS_SELECTOR, "#stats th[data-col='2']").click()
            first = d.find_element(By.CSS_SELECTOR, "#stats tbody tr td.name").text
            want = max(data["rows"], key=lambda r: abs(r[2][2] - r[1][2]))[0]
            check(first == want, "sorting by the change in tottime puts %s first (got %s)" % (want, first))
            shot(d, "8-diff")
        else:
            points = len(data["scaling"]["points"])
            dots = d.find_elements(By.CSS_SELECTOR, "#speedup-plot circle")
            fit = d.find_elements(By.CSS_SELECTOR, "#speedup-plot polyline")
            check(len(dots) == points and len(fit) == 3,
                  "scale.html plots %d measured speed-ups, the ideal line and the Amdahl fit" % points)
            shot(d, "9-scale")
finally:
    d.quit()

print("%d check(s) failed" % len(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
