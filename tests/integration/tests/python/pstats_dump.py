"""Loads a .prof with pstats and dumps what the Rust tests compare.

Usage: python3 pstats_dump.py PROFILE.prof CONFIGS.json

CONFIGS.json is a list of reports to print, each
  {"report": "stats" | "callers" | "callees",
   "sort": null | ["cumulative", ...],        # null: sort_stats is not called
   "amount": [{"re": "..."} | {"int": n} | {"float": x}, ...]}

Prints one JSON object:
  {"stats": [[file, line, name, cc, nc, tt, ct,
              [[file, line, name, nc, cc, tt, ct], ...]], ...],   # dict order
   "reports": ["<text>", ...]}
Times are repr() strings so that they parse back to the exact double.
print_stats' first two lines (the "<date>    <path>" header and a blank
line, which a live profile does not have) are removed.
"""
import io
import json
import marshal
import pstats
import sys


def amount(a):
    if "re" in a:
        return a["re"]
    if "int" in a:
        return int(a["int"])
    return float(a["float"])


def main():
    path, configs_path = sys.argv[1], sys.argv[2]
    with open(configs_path, encoding="utf-8") as f:
        configs = json.load(f)
    with open(path, "rb") as f:
        raw = marshal.load(f)
    stats = []
    for (file, line, name), (cc, nc, tt, ct, callers) in raw.items():
        edges = [
            [cf, cl, cn, enc, ecc, repr(ett), repr(ect)]
            for (cf, cl, cn), (enc, ecc, ett, ect) in callers.items()
        ]
        stats.append([file, line, name, cc, nc, repr(tt), repr(ct), edges])
    reports = []
    for cfg in configs:
        out = io.StringIO()
        s = pstats.Stats(path, stream=out)
        if cfg.get("sort") is not None:
            s.sort_stats(*cfg["sort"])
        args = [amount(a) for a in cfg.get("amount", [])]
        kind = cfg["report"]
        if kind == "stats":
            s.print_stats(*args)
            text = out.getvalue()
            lines = text.split("\n")
            if not lines[0].endswith("    " + path) or lines[1] != "":
                raise SystemExit("unexpected print_stats header: %r" % lines[:2])
            text = "\n".join(lines[2:])
        elif kind == "callers":
            s.print_callers(*args)
            text = out.getvalue()
        elif kind == "callees":
            s.print_callees(*args)
            text = out.getvalue()
        else:
            raise SystemExit("unknown report %r" % kind)
        reports.append(text)
    json.dump({"stats": stats, "reports": reports}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
