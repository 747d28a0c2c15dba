"""Prints what pstats prints for .prof files, for the import tests.

    python3 pstats_report.py REPORT [SORT,KEY...] FILE...

REPORT is stats, callers or callees; SORT is a comma-separated list of
sort keys, or `-` for none. The header line pstats prints for each loaded
file (its date and path) and the blank line after them are left out.
"""

import io
import pstats
import sys

report, sort, files = sys.argv[1], sys.argv[2], sys.argv[3:]
out = io.StringIO()
st = pstats.Stats(*files, stream=out)
if sort != "-":
    st.sort_stats(*sort.split(","))
getattr(st, "print_" + report)()
text = out.getvalue()
# One header line per file ("<date>    <path>"), then a blank line.
lines = text.split("\n")
if report == "stats":
    lines = lines[len(files) + 1 :]
sys.stdout.write("\n".join(lines))
