"""Merges benchmark outputs into one bench.json and prints them as a table,
with each timing's ratio to the floor of a SQL-callable function where that is
measured. An entry with "ratio" instead of times (a hit ratio, bytes per byte)
is printed as it is.

  report.py OUT.json PART.json [PART.json ...]
"""
import json
import sys


def main():
    out, parts = sys.argv[1], sys.argv[2:]
    results = []
    for part in parts:
        with open(part) as f:
            results.extend(json.load(f))
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    by_name = {r["name"]: r for r in results}
    floor = by_name.get("floor/sql_const_1k")
    print(f"{'name':40} {'ns/op':>12} {'ops/s':>14} {'x floor':>9}")
    for r in results:
        if "ratio" in r:
            print(f"{r['name']:40} {'ratio':>12} {r['ratio']:14.4f}")
            continue
        ratio = f"{r['ns_per_op'] / floor['ns_per_op']:9.2f}" if floor else ""
        print(f"{r['name']:40} {r['ns_per_op']:12.1f} {r['ops_per_s']:14.0f} {ratio}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
