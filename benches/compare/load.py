#!/usr/bin/env python3
"""Load bench (issue 6, acceptance items 4 and 5): TPC-H lineitem CSV loaded
with 1 and 2 threads by hyperctl, Tableau's Hyper (COPY) and DuckDB (COPY),
side by side in one run: MB/s of CSV, rows/s, and the peak RSS of the loading
process (hyperctl, hyperd).

    python3 benches/compare/load.py --sf 1

Writes benches/results/load.md (+ .json) and prints the table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import time
from pathlib import Path

import storage
import tpch
from tpch import MB, fmt, log, md_table


def hyperd_pid() -> int | None:
    """The pid of the hyperd child of this process, if there is one."""
    me = os.getpid()
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError):
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if fields.get("Name", "").strip().startswith("hyperd") and int(fields["PPid"]) == me:
                return int(status.parent.name)
    return None


def hyperd_hwm() -> int | None:
    """Peak RSS (VmHWM) of the hyperd child of this process, if there is one."""
    pid = hyperd_pid()
    if pid is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split(":", 1)[1].split()[0]) * 1024
    return None


def proc_cpu(pid: int | None) -> float:
    """user + system CPU seconds of a running process so far (0 if unknown)."""
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def cpu_of(who: str) -> float:
    """CPU seconds so far of waited-for children ("children") or this process ("self")."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN if who == "children" else resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    ap.add_argument("--threads", default="1,2", help="thread counts to compare (default 1,2)")
    ap.add_argument("--runs", type=int, default=1, help="loads per engine and thread count; median reported")
    ap.add_argument("--cache", type=Path, help="TPC-H CSV directory (default target/tpch/sf{N})")
    ap.add_argument("--work", type=Path, default=tpch.REPO / "target" / "bench-compare")
    ap.add_argument("--name", default="load", help="results file name (benches/results/NAME.md)")
    ap.add_argument("--budget-mib", type=int, default=32,
                    help="memory budget of the extra `hyperctl import --memory-budget` run, MiB (default 32; "
                         "0 skips it)")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    binary = tpch.hyperctl_bin()
    has_threads = tpch.hyperctl_supports(binary, "import", "--threads")
    has_budget = tpch.hyperctl_supports(binary, "import", "--memory-budget")
    has_copy_threads = tpch.hyperctl_supports(binary, "sql", "--threads")
    notes = []
    if not has_threads:
        notes.append("`hyperctl import` has no `--threads` flag on this commit: its loader is single-threaded, "
                     "so its rows for every thread count run the same command (differences are noise).")
    if not has_copy_threads:
        notes.append("`hyperctl sql` has no `--threads` flag on this commit: its COPY runs on one thread "
                     "per core for every thread count (the rows differ by noise only).")
    if not has_budget:
        notes.append("`hyperctl` exposes no memory-budget flag on this commit (storage's default buffer "
                     "budget, 512 MiB, applies); peak RSS is reported as is.")

    head = tpch.header_lines("Load: lineitem CSV, 1 vs 2 threads", args.sf, max(thread_counts),
                             {"runs per cell (median)": str(args.runs)})
    csv = tpch.generate(args.sf, ["lineitem"], args.cache)["lineitem"]
    delim = tpch.csv_delimiter(csv)
    csv_bytes = csv.stat().st_size
    rows_expected = tpch.count_rows(csv)
    work = args.work / f"load-sf{tpch.sf_label(args.sf)}"
    work.mkdir(parents=True, exist_ok=True)

    cells: dict[tuple[str, int], dict] = {}

    def record(engine: str, threads: int, walls: list[float], rss: int | None, cpu: float | None = None) -> None:
        """`cpu`: CPU seconds of all the runs together (None: not measured)."""
        wall = tpch.median(walls)
        cpu_run = cpu / len(walls) if cpu else None
        cells[(engine, threads)] = {"seconds": wall, "runs_s": walls, "mb_s": csv_bytes / MB / wall,
                                    "rows_s": rows_expected / wall, "peak_rss": rss, "cpu_s": cpu_run,
                                    "cores": cpu_run / (sum(walls) / len(walls)) if cpu_run else None}
        log(f"{engine} x{threads}: {wall:.2f} s, {csv_bytes / MB / wall:.1f} MB/s")

    for threads in thread_counts:
        walls, rss_max, cpu0 = [], None, cpu_of("children")
        for _ in range(args.runs):
            w, rss = storage.load_hyperctl_import(binary, work / "import.hxe", csv, delim, threads)
            walls.append(w)
            rss_max = max(rss_max or 0, rss or 0) or None
        record("hyperctl import", threads, walls, rss_max, cpu_of("children") - cpu0)
        assert storage.hyperctl_count(binary, work / "import.hxe", "lineitem") == rows_expected

        if has_budget and args.budget_mib:
            walls, rss_max, cpu0 = [], None, cpu_of("children")
            for _ in range(args.runs):
                w, rss = storage.load_hyperctl_import(binary, work / "import.hxe", csv, delim, threads,
                                                      args.budget_mib)
                walls.append(w)
                rss_max = max(rss_max or 0, rss or 0) or None
            record(f"hyperctl import, budget {args.budget_mib} MiB", threads, walls, rss_max,
                   cpu_of("children") - cpu0)
            assert storage.hyperctl_count(binary, work / "import.hxe", "lineitem") == rows_expected

        walls, rss_max, cpu0 = [], None, cpu_of("children")
        for _ in range(args.runs):
            w, rss = storage.load_hyperctl_copy(binary, work / "copy.hxe", csv, delim, threads)
            walls.append(w)
            rss_max = max(rss_max or 0, rss or 0) or None
        record("hyperctl COPY", threads, walls, rss_max, cpu_of("children") - cpu0)
        assert storage.hyperctl_count(binary, work / "copy.hxe", "lineitem") == rows_expected

        walls, cpu = [], 0.0
        with tpch.hyper_process(threads, work / "hyper-logs") as hp:
            pid = hyperd_pid()
            for _ in range(args.runs):
                cpu0 = proc_cpu(pid)
                w, rows = storage.load_hyper(hp, work / "load.hyper", csv, delim)
                cpu += proc_cpu(pid) - cpu0
                assert rows == rows_expected
                walls.append(w)
            rss = hyperd_hwm()
        record("Hyper COPY", threads, walls, rss, cpu if pid else None)

        walls, cpu0 = [], cpu_of("self")
        for _ in range(args.runs):
            w, rows = storage.load_duckdb(work / "load.duckdb", csv, delim, threads)
            assert rows == rows_expected
            walls.append(w)
        record("DuckDB COPY", threads, walls, None, cpu_of("self") - cpu0)
        time.sleep(0.1)

    rows_md = []
    for (engine, threads), c in cells.items():
        hyper = cells.get(("Hyper COPY", threads))
        vs_hyper = f"{c['mb_s'] / hyper['mb_s']:.2f}" if hyper else "n/a"
        one = cells.get((engine, thread_counts[0]))
        scaling = f"{c['mb_s'] / one['mb_s']:.2f}" if one and threads != thread_counts[0] else ""
        rss = tpch.fmt_mb(c["peak_rss"]) if c["peak_rss"] else ("n/a (in-process)" if engine.startswith("DuckDB") else "n/a")
        cpu = f"{c['cpu_s']:.1f}" if c.get("cpu_s") else "n/a"
        cores = f"{c['cores']:.2f}" if c.get("cores") else "n/a"
        rows_md.append([engine, str(threads), f"{c['seconds']:.2f}", fmt(c["mb_s"]), f"{c['rows_s']:,.0f}",
                        vs_hyper, scaling, rss, cpu, cores])
    rows_md.sort(key=lambda r: (int(r[1]), r[0]))
    top = max(thread_counts)
    hc = cells.get(("hyperctl COPY", top))
    hi = cells.get(("hyperctl import", top))
    hy = cells.get(("Hyper COPY", top))
    summary = (f"At {top} threads: hyperctl COPY / Hyper = **{hc['mb_s'] / hy['mb_s']:.2f}x**, "
               f"hyperctl import / Hyper = {hi['mb_s'] / hy['mb_s']:.2f}x (MB/s; target, issue 6 item 4: >= 1.2x).")
    text = "\n".join(head + [
        f"Input: `lineitem.csv`, {csv_bytes:,} bytes ({tpch.fmt_mb(csv_bytes)} MB), {rows_expected:,} rows. "
        "MB = 10^6 bytes.",
        "",
        md_table(["engine", "threads", "seconds", "CSV MB/s", "rows/s", "MB/s vs Hyper", "vs 1 thread",
                  "peak RSS MB", "CPU s", "cores used"], rows_md),
        "",
        summary,
        "",
        "- hyperctl import: `hyperctl import FILE.hxe lineitem.csv --table lineitem` (types inferred); "
        "hyperctl COPY: `hyperctl sql FILE.hxe -c 'CREATE TABLE ...' -c 'COPY ...'` (spec types). "
        "Both: wall time of the whole process (incl. checkpoint on close); peak RSS from `/usr/bin/time -v`.",
        "- Hyper: the COPY statement in a hyperd with `hard_concurrent_query_thread_limit` = threads; "
        "peak RSS = VmHWM of hyperd (its whole life: start + load).",
        "- DuckDB: COPY + CHECKPOINT with `SET threads`; runs inside this Python process, so no RSS of its own.",
        "- CPU s: user + system CPU seconds per load (hyperctl: the process, from getrusage of children; "
        "Hyper: hyperd's /proc/PID/stat around the COPY; DuckDB: this Python process around COPY + CHECKPOINT). "
        "cores used = CPU s / wall seconds: below the thread count when other processes took the cores.",
        "- hyperctl threads: `--threads N` (`hyperctl sql` for COPY, `hyperctl import`). N threads parse "
        "and as many compress blocks; with N = 1 everything runs on the calling thread (one core).",
        f"- Memory (issue 6 item 5): the budget row loads the {tpch.fmt_mb(csv_bytes)} MB file with "
        f"`hyperctl import --memory-budget {args.budget_mib}` (MiB for the CSV loader's buffers; storage's "
        "blocks being compressed, threads + 1 at most, come on top). The process's peak RSS is in the table.",
        *[f"- {n}" for n in notes],
    ])
    tpch.write_results(args.name, text, {"sf": args.sf, "csv_bytes": csv_bytes, "rows": rows_expected,
                                         "cells": {f"{e} x{t}": c for (e, t), c in cells.items()},
                                         "loadavg_end": tpch.loadavg()})


if __name__ == "__main__":
    main()
