"""Times report pages in headless Chromium: from navigation to the page
marking itself interactive (body[data-ready]), median of 3 loads each.
Usage: report_load.py PAGE.html..."""
import os
import shutil
import statistics
import sys
import time

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    print("skipped: selenium is not installed (python3 -m pip install selenium)")
    sys.exit(0)
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
driver_path = shutil.which("chromedriver")
if not chromium or not driver_path:
    print("skipped: chromium and chromedriver are needed")
    sys.exit(0)

o = webdriver.ChromeOptions()
o.binary_location = chromium
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1400,1000"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service(driver_path), options=o)
d.set_page_load_timeout(120)
print("%-40s %14s %10s" % ("page", "interactive s", "MB"))
try:
    for page in sys.argv[1:]:
        times = []
        for _ in range(3):
            d.get("about:blank")
            t = time.time()
            d.get("file://" + os.path.abspath(page))
            while d.execute_script("return document.body && document.body.getAttribute('data-ready')") != "1":
                if time.time() - t > 120:
                    break
                time.sleep(0.01)
            times.append(time.time() - t)
        print("%-40s %14.2f %10.2f" % (os.path.basename(page), statistics.median(times),
                                        os.path.getsize(page) / 1e6))
finally:
    d.quit()
