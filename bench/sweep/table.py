#!/usr/bin/env python3
"""The sweep's table, from what scripts/bench_sweep.sh left in target/sweep/<groups>/.

    python3 bench/sweep/table.py target/sweep 200 2000

Each size's folder holds estate.json, moto_reads.json, scan.time and
scan.stderr (when the scan ran), prowler.time (when Prowler ran). A *.time
file is GNU time's "%e %M": wall seconds and peak RSS in KiB, one line per
run. With scan-before.time (SWEEP_BEFORE_CLI), a second table compares the
earlier build with this one on the same estate. Prints the Markdown tables
and writes results.json beside the folders.
"""
import json
import os
import re
import sys


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_times(path):
    """[(seconds, peak KiB)] of each run, or [] when it did not run."""
    if not os.path.exists(path):
        return []
    runs = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            # GNU time writes "Command exited with non-zero status 1" before
            # the figures when the command fails (the scan's exit 1 is a result).
            if len(fields) == 2 and all(re.fullmatch(r"[0-9.]+", x) for x in fields):
                runs.append((float(fields[0]), int(fields[1])))
    return runs


def api_calls(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        found = re.findall(r"api calls: ([0-9]+)", f.read())
    return int(found[-1]) if found else None


def mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib is not None else "–"


def secs(value):
    return f"{value:.2f} s" if value is not None else "–"


def ratio(a, b):
    return f"{a / b:.1f}×" if a is not None and b else "–"


def main():
    root, sizes = sys.argv[1], sys.argv[2:]
    prowler_version = os.environ.get("PROWLER_VERSION", "")
    rows, results, before_rows, map_rows = [], {}, [], []
    for size in sizes:
        folder = os.path.join(root, size)
        estate = read_json(os.path.join(folder, "estate.json")) or {}
        moto = read_json(os.path.join(folder, "moto_reads.json")) or {}
        scans = read_times(os.path.join(folder, "scan.time"))
        prowler = read_times(os.path.join(folder, "prowler.time"))
        scan_s = min(s for s, _ in scans) if scans else None
        scan_kib = max(k for _, k in scans) if scans else None
        prowler_s, prowler_kib = prowler[0] if prowler else (None, None)
        calls = api_calls(os.path.join(folder, "scan.stderr"))
        moto_s = moto.get("seconds")
        befores = read_times(os.path.join(folder, "scan-before.time"))
        before_result = None
        if befores:
            before_s = min(s for s, _ in befores)
            before_calls = api_calls(os.path.join(folder, "scan-before.stderr"))
            before_result = {
                "runs": befores, "best_seconds": before_s, "api_calls": before_calls,
                "peak_rss_kib": max(k for _, k in befores)}
            before_rows.append([
                f"{estate.get('groups', size):,} groups, {estate.get('load_balancers', 0)} load balancers",
                f"{before_calls} calls, {secs(before_s)}, {mib(max(k for _, k in befores))}",
                f"{calls} calls, {secs(scan_s)}, {mib(scan_kib)}",
                secs(moto.get("seconds_without_way_in")), secs(moto_s),
            ])
        maps = read_times(os.path.join(folder, "map.time"))
        map_result = None
        if maps:
            with open(os.path.join(folder, "map.stderr")) as f:
                found = re.findall(r"access map: ([0-9]+) targets in ([0-9.]+) ms", f.read())
            html = os.path.join(folder, "map.html")
            size_bytes = os.path.getsize(html) if os.path.exists(html) else None
            targets, map_ms = (int(found[-1][0]), float(found[-1][1])) if found else (None, None)
            map_result = {"runs": maps, "best_seconds": min(s for s, _ in maps),
                          "peak_rss_kib": max(k for _, k in maps), "targets": targets,
                          "map_ms": map_ms, "html_bytes": size_bytes}
            map_rows.append([
                f"{estate.get('groups', size):,} groups, {estate.get('services', '?')} services, "
                f"{estate.get('load_balancers', 0)} load balancers",
                f"{secs(scan_s)}, {mib(scan_kib)}",
                f"{secs(map_result['best_seconds'])}, {mib(map_result['peak_rss_kib'])}",
                f"{map_ms} ms for {targets} targets" if map_ms is not None else "–",
                f"{size_bytes / 1024:.0f} KiB" if size_bytes else "–",
            ])
        results[size] = {
            "estate": estate, "moto_reads": moto,
            "scan": {"runs": scans, "best_seconds": scan_s, "peak_rss_kib": scan_kib,
                     "api_calls": calls},
            "prowler": {"version": prowler_version, "seconds": prowler_s,
                        "peak_rss_kib": prowler_kib},
            "scan_before": before_result,
            "map": map_result,
        }
        rows.append([
            f"{estate.get('groups', size):,} groups, {estate.get('services', '?')} services, "
            f"{estate.get('task_definitions', '?')} task definitions",
            secs(moto_s), secs(scan_s), ratio(scan_s, moto_s), secs(prowler_s),
            ratio(prowler_s, scan_s), mib(scan_kib), mib(prowler_kib),
            f"{calls if calls is not None else '–'} / {moto.get('calls', '–')}",
        ])
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    scan_runs = os.environ.get("SCAN_RUNS", "3")
    print(f"| estate | moto reads (best of 3) | access-guard scan (best of {scan_runs}) "
          f"| scan ÷ moto | Prowler {prowler_version} | Prowler ÷ scan | scan peak RSS "
          f"| Prowler peak RSS | API calls: scan / moto reads |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if map_rows:
        print()
        print("| estate | scan --format json: best time, peak RSS | scan --format html | "
              "the map alone (inside the scan) | HTML report |")
        print("| --- | --- | --- | --- | --- |")
        for row in map_rows:
            print("| " + " | ".join(row) + " |")
    if before_rows:
        print()
        print("| estate | scan before: calls, best time, peak RSS | scan after | "
              "moto reads without the way in | moto reads with it |")
        print("| --- | --- | --- | --- | --- |")
        for row in before_rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
