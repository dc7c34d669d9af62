"""Prints bench-suite.json as one table and draws bench-suite.png (Debian's
python3-matplotlib): aggregate reads/s against worker processes for every
design, and the CDF of single gets, cached and uncached.

  /usr/bin/python3 report.py bench-suite.json [bench-suite.png]
  /usr/bin/python3 report.py --check bench-suite.json

--check prints nothing and exits 1 unless every design has its concurrent
rows, from both drivers, and docstore served no stale read and failed no get (the smoke test
bench_suite_smoke).

In each comparison column, (x N) is how many times docstore is better on
that line: its throughput over theirs, or their latency over its.
"""
import json
import sys

DESIGNS = ["docstore", "plain", "pass1", "pass2", "redis"]
LABELS = {"docstore": "docstore", "plain": "plain SQLite", "pass1": "Pass-1 (UPDATE/read)",
          "pass2": "Pass-2 (LRU/worker)", "redis": "Redis + SQLite"}
COLORS = {"docstore": "tab:blue", "plain": "tab:orange", "pass1": "tab:green", "pass2": "tab:red",
          "redis": "tab:purple"}


def number(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


class Table:
    def __init__(self, designs):
        self.designs = designs
        self.lines = []

    def add(self, label, values, higher_is_better=True, factor=True):
        """values: design -> number (or None)."""
        cells = []
        base = values.get("docstore")
        for d in self.designs:
            v = values.get(d)
            cell = number(v)
            if factor and d != "docstore" and v is not None and base is not None and v > 0 and base > 0:
                cell += f" (x{(base / v if higher_is_better else v / base):.1f})"
            cells.append(cell)
        self.lines.append([label] + cells)

    def note(self, label, text):
        self.lines.append([label, text] + [""] * (len(self.designs) - 1))

    def print(self):
        header = ["row"] + [LABELS[d] for d in self.designs]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in self.lines:
            print("| " + " | ".join(line) + " |")


def check(path):
    with open(path) as f:
        suite = json.load(f)
    records = suite["records"]
    designs = DESIGNS if suite["settings"]["design"] == "compare" else ["docstore"]
    problems = []
    for d in designs:
        for driver in ("c++", "python"):
            rows = [r for r in records if r["row"] == "concurrent" and r["design"] == d and r["driver"] == driver]
            if not any(r["writer"] for r in rows) or not any(not r["writer"] for r in rows):
                problems.append(f"{d}/{driver}: concurrent rows missing")
    stale = [r for r in records if r["row"] == "concurrent" and r["design"] == "docstore"
             and (r["stale"] != 0 or r.get("failed"))]
    if stale:
        problems.append(f"docstore served stale reads or failed: {stale}")
    for p in problems:
        print(p)
    return 1 if problems else 0


def main():
    if sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    with open(sys.argv[1]) as f:
        suite = json.load(f)
    settings, records = suite["settings"], suite["records"]
    designs = DESIGNS if settings["design"] == "compare" else ["docstore"]

    def find(row, design=None, **where):
        for r in records:
            if r["row"] == row and (design is None or r["design"] == design) and \
                    all(r.get(k) == v for k, v in where.items()):
                return r
        return None

    def per_design(row, key, scale=1.0, **where):
        out = {}
        for d in designs:
            r = find(row, d, **where)
            out[d] = r[key] * scale if r and r.get(key) is not None else None
        return out

    docs, workers = int(settings["docs"]), int(settings["workers"])
    print(f"docstore suite: mode {settings['design']}, {docs:,} documents, {workers} workers, "
          f"{'quick' if settings['quick'] else 'full'}, {int(settings['nproc'])} CPUs, "
          f"DOCSTORE_CACHE_BYTES={int(settings['cache_bytes']):,} (holds the 80/20 hot set: "
          f"{docs // 5:,} documents), {settings['seconds']:.0f} s")
    t = Table(designs)
    for per_txn in (1, 1000):
        r = find("create", "docstore", per_txn=per_txn)
        t.add(f"create, {per_txn}/txn (docs/s; same SQL in every design)", {"docstore": r and r["docs_per_s"]},
              factor=False)
    imp = find("import", "docstore", docs=docs)
    if imp:
        t.note(f"import {docs:,} docs (1000/txn + 2 indexes)",
               f"{imp['seconds']:.1f} s, file {imp['file_bytes'] / 2**20:,.0f} MiB")
    for row, label in (("get_uncached", "get by id, uncached"), ("get_cached", "get by id, cached")):
        for key, name in (("p50_ns", "p50"), ("p99_ns", "p99"), ("p999_ns", "p99.9")):
            t.add(f"{label}: {name} (us)", per_design(row, key, 1e-3), higher_is_better=False)
        t.add(f"{label}: reads/s, 1 thread", per_design(row, "ops_per_s"))
    t.add("batch of 10: p50 (us)", per_design("batch10", "p50_ns", 1e-3), higher_is_better=False)
    t.add("batch of 10: docs/s", per_design("batch10", "docs_per_s"))
    t.add("list 20 by updated_at (pages/s)", per_design("list_updated", "pages_per_s"))
    t.add("list 20 by metadata.category (pages/s)", per_design("list_metadata", "pages_per_s"))
    t.add("search, 2 words, top 10 (queries/s)", per_design("search", "queries_per_s"))
    for driver in ("c++", "python"):
        counts = sorted({int(r["workers"]) for r in records if r["row"] == "concurrent" and r["driver"] == driver})
        for w in counts:
            t.add(f"concurrent {driver}, {w} workers: reads/s",
                  per_design("concurrent", "ops_per_s", driver=driver, workers=w, writer=0))
        t.add(f"concurrent {driver}, {workers} workers + writer (1%/s): reads/s",
              per_design("concurrent", "ops_per_s", driver=driver, workers=workers, writer=1))
        t.add(f"concurrent {driver}, {workers} workers + writer: writes/s achieved",
              per_design("concurrent", "writes_per_s", driver=driver, workers=workers, writer=1), factor=False)
        t.add(f"concurrent {driver}, {workers} workers + writer: STALE reads",
              per_design("concurrent", "stale", driver=driver, workers=workers, writer=1), factor=False)
        t.add(f"concurrent {driver}, {workers} workers (+ writer): failed gets",
              {d: sum(r.get("failed", 0) for r in records if r["row"] == "concurrent" and r["design"] == d
                      and r["driver"] == driver) for d in designs}, factor=False)
        t.add(f"concurrent {driver}, {workers} workers + writer: reads checked",
              per_design("concurrent", "ops", driver=driver, workers=workers, writer=1), factor=False)
        t.add(f"concurrent {driver}, {workers} workers: RSS per worker (MiB)",
              per_design("concurrent", "max_rss_kb", 1 / 1024, driver=driver, workers=workers, writer=0),
              factor=False)
        t.add(f"concurrent {driver}, {workers} workers: private (RssAnon) per worker (MiB)",
              per_design("concurrent", "max_anon_kb", 1 / 1024, driver=driver, workers=workers, writer=0),
              factor=False)
    for phase in ("first 1e5", "next 1e5"):
        r = find("coldwarm", "docstore", phase=phase)
        if r:
            t.note(f"cold->warm, {phase} reads after a fresh segment",
                   f"hit ratio {r['hit_ratio']:.3f}, {r['ops_per_s']:,.0f} reads/s")
    for r in records:
        if r["row"] == "memory" and r["design"] == "docstore":
            lru = find("memory", "pass2", docs=r["docs"])
            text = (f"segment {r['segment_bytes'] / 2**20:,.0f} MiB ({r['entries']:,.0f} docs cached), "
                    f"{r['bytes_per_cached_doc']:,.0f} B per cached doc, reader RSS {r['rss_kb'] / 1024:,.0f} MiB")
            if lru:
                text += (f"; Pass-2 LRU {lru['bytes_per_cached_doc']:,.0f} B per doc private, "
                         f"x{workers} workers x 10,000 docs = "
                         f"{workers * 10000 * lru['bytes_per_cached_doc'] / 2**20:,.0f} MiB")
            t.note(f"memory at {r['docs']:,.0f} docs", text)
    t.print()
    if len(sys.argv) > 2:
        chart(records, designs, sys.argv[2])


def chart(records, designs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for d in designs:
        points = sorted((r["workers"], r["ops_per_s"]) for r in records
                        if r["row"] == "concurrent" and r["design"] == d and r["driver"] == "c++" and not r["writer"])
        if points:
            left.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=LABELS[d],
                      color=COLORS[d])
    left.set_xlabel("worker processes (C++)")
    left.set_ylabel("aggregate reads/s")
    left.set_yscale("log")
    left.axhline(200000, color="grey", linestyle=":", label="200,000 q/s target")
    left.legend(fontsize=8)
    left.set_title("throughput, 80/20 ids")
    for d in designs:
        for row, style in (("get_cached", "-"), ("get_uncached", "--")):
            r = next((r for r in records if r["row"] == row and r["design"] == d), None)
            if r:
                cdf = [x / 1000 for x in r["cdf_ns"]]
                right.plot(cdf, [i / len(cdf) for i in range(len(cdf))], style, color=COLORS[d],
                           label=f"{LABELS[d]} {'cached' if row == 'get_cached' else 'uncached'}")
    right.set_xscale("log")
    right.set_xlabel("latency of one get (us, C++, 1 thread)")
    right.set_ylabel("fraction of gets")
    right.legend(fontsize=6)
    right.set_title("get by id: cached (solid), uncached (dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
