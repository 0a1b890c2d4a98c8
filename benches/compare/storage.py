#!/usr/bin/env python3
"""Storage bench (issue 3, acceptance item 6): TPC-H lineitem in a .hxe, a
Tableau .hyper and a .duckdb file: file sizes, bulk-insert throughput, and
point-commit latency (single-row INSERT, each its own committed transaction).

    python3 benches/compare/storage.py --sf 1

Writes benches/results/storage.md (+ .json) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import tpch
from tpch import MB, fmt, log, md_table

POINT_TABLE = {
    "hyper": "CREATE TABLE point (id bigint NOT NULL, amount numeric(15,2) NOT NULL, note text NOT NULL)",
    "duckdb": "CREATE TABLE point (id bigint NOT NULL, amount decimal(15,2) NOT NULL, note text NOT NULL)",
}


def point_row(i: int) -> str:
    # Identical to benches/examples/point_commits.rs.
    return f"INSERT INTO point VALUES ({i}, {i % 10_000}.{i % 100:02d}, 'point commit {i}')"


def load_hyperctl_copy(binary: Path, db: Path, csv: Path, delim: str,
                       threads: int | None = None) -> tuple[float, int | None]:
    """CREATE TABLE (spec types) + COPY in one `hyperctl sql` process
    (`--threads` when given and the binary has it)."""
    tpch.remove_db(db)
    cmd = [str(binary), "sql", str(db), "-c", tpch.create_table_sql("lineitem", "hyperctl"),
           "-c", tpch.copy_sql("lineitem", csv, delim, "hyperctl")]
    if threads is not None and tpch.hyperctl_supports(binary, "sql", "--threads"):
        cmd += ["--threads", str(threads)]
    wall, rss, p = tpch.run_measured(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"hyperctl COPY failed: {p.stderr.strip()}")
    return wall, rss


def load_hyperctl_import(binary: Path, db: Path, csv: Path, delim: str, threads: int,
                         budget_mib: int | None = None) -> tuple[float, int | None]:
    """`hyperctl import` (types inferred from the file), with `--memory-budget`
    when `budget_mib` is given."""
    tpch.remove_db(db)
    cmd = [str(binary), "import", str(db), str(csv), "--table", "lineitem", "--delimiter", delim]
    if tpch.hyperctl_supports(binary, "import", "--threads"):
        cmd += ["--threads", str(threads)]
    if budget_mib is not None:
        cmd += ["--memory-budget", str(budget_mib)]
    wall, rss, p = tpch.run_measured(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"hyperctl import failed: {p.stderr.strip()}")
    return wall, rss


def hyperctl_count(binary: Path, db: Path, table: str) -> int:
    p = subprocess.run([str(binary), "sql", str(db), "-c", f"SELECT count(*) FROM {table}", "--format", "csv"],
                       capture_output=True, text=True, check=True)
    return int(p.stdout.strip().splitlines()[-1])


def load_hyper(hp, db: Path, csv: Path, delim: str) -> tuple[float, int]:
    """Seconds of the COPY statement (autocommit); rows."""
    tpch.remove_db(db)
    with tpch.hyper_connect(hp, db, create=True) as con:
        con.execute_command(tpch.create_table_sql("lineitem", "hyper"))
        t = time.perf_counter()
        con.execute_command(tpch.copy_sql("lineitem", csv, delim, "hyper"))
        wall = time.perf_counter() - t
        rows = con.execute_scalar_query("SELECT count(*) FROM lineitem")
    return wall, rows


def load_duckdb(db: Path, csv: Path, delim: str, threads: int) -> tuple[float, int]:
    """Seconds of COPY + CHECKPOINT; rows."""
    tpch.remove_db(db)
    con = tpch.duckdb_connect(db, threads)
    con.execute(tpch.create_table_sql("lineitem", "duckdb"))
    t = time.perf_counter()
    con.execute(tpch.copy_sql("lineitem", csv, delim, "duckdb"))
    con.execute("CHECKPOINT")
    wall = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM lineitem").fetchone()[0]
    con.close()
    return wall, rows


def points_summary(lat_s: list[float], total_s: float) -> dict:
    return {
        "commits": len(lat_s),
        "seconds": total_s,
        "p50_ms": tpch.percentile(lat_s, 0.5) * 1000,
        "p99_ms": tpch.percentile(lat_s, 0.99) * 1000,
        "max_ms": max(lat_s) * 1000,
    }


def points_hyper(hp, db: Path, n: int) -> dict:
    tpch.remove_db(db)
    lat = []
    with tpch.hyper_connect(hp, db, create=True) as con:
        con.execute_command(POINT_TABLE["hyper"])
        start = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            con.execute_command(point_row(i))
            lat.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        assert con.execute_scalar_query("SELECT count(*) FROM point") == n
    return points_summary(lat, total)


def points_duckdb(db: Path, n: int, threads: int) -> dict:
    tpch.remove_db(db)
    con = tpch.duckdb_connect(db, threads)
    con.execute(POINT_TABLE["duckdb"])
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        con.execute(point_row(i))
        lat.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    assert con.execute("SELECT count(*) FROM point").fetchone()[0] == n
    con.close()
    return points_summary(lat, total)


def points_hyperctl(example: Path, db: Path, n: int) -> dict:
    tpch.remove_db(db)
    p = subprocess.run([str(example), str(db), str(n)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"point_commits failed: {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every engine (default: cores)")
    ap.add_argument("--runs", type=int, default=1, help="bulk loads per engine; the median is reported")
    ap.add_argument("--commits", type=int, default=2000, help="single-row commits per engine")
    ap.add_argument("--cache", type=Path, help="TPC-H CSV directory (default target/tpch/sf{N})")
    ap.add_argument("--work", type=Path, default=tpch.REPO / "target" / "bench-compare",
                    help="where the database files go")
    ap.add_argument("--name", default="storage", help="results file name (benches/results/NAME.md)")
    ap.add_argument("--skip-import", action="store_true", help="skip the `hyperctl import` (inferred types) variant")
    args = ap.parse_args()

    head = tpch.header_lines("Storage: lineitem file size, bulk insert, point commits", args.sf, args.threads,
                             {"bulk-insert runs per engine (median)": str(args.runs),
                              "point commits per engine": str(args.commits)})
    csv = tpch.generate(args.sf, ["lineitem"], args.cache)["lineitem"]
    delim = tpch.csv_delimiter(csv)
    csv_bytes = csv.stat().st_size
    expected_rows = tpch.count_rows(csv)
    work = args.work / f"storage-sf{tpch.sf_label(args.sf)}"
    work.mkdir(parents=True, exist_ok=True)
    binary = tpch.hyperctl_bin()
    example = tpch.cargo_example("point_commits")

    results: dict[str, dict] = {}

    def record(engine: str, db: Path, walls: list[float], rows: int, rss: int | None = None) -> None:
        if rows != expected_rows:
            raise RuntimeError(f"{engine}: {rows} rows loaded, the CSV has {expected_rows}")
        wall = tpch.median(walls)
        results[engine] = {"file": db.name, "bytes": tpch.file_size(db), "seconds": wall, "runs_s": walls,
                           "csv_mb_s": csv_bytes / MB / wall, "rows_s": rows / wall, "rows": rows,
                           "peak_rss": rss}
        log(f"{engine}: {results[engine]['bytes']:,} bytes, {wall:.2f} s")

    hxe = work / "lineitem.hxe"
    walls, rss = [], None
    for _ in range(args.runs):
        w, rss = load_hyperctl_copy(binary, hxe, csv, delim)
        walls.append(w)
    record("hyperctl (COPY, spec types)", hxe, walls, hyperctl_count(binary, hxe, "lineitem"), rss)

    if not args.skip_import:
        hxe_i = work / "lineitem-import.hxe"
        walls = []
        for _ in range(args.runs):
            w, rss = load_hyperctl_import(binary, hxe_i, csv, delim, args.threads)
            walls.append(w)
        record("hyperctl (import, inferred types)", hxe_i, walls, hyperctl_count(binary, hxe_i, "lineitem"), rss)

    hyper_db = work / "lineitem.hyper"
    walls = []
    with tpch.hyper_process(args.threads, work / "hyper-logs") as hp:
        for _ in range(args.runs):
            w, rows = load_hyper(hp, hyper_db, csv, delim)
            walls.append(w)
    record("Hyper", hyper_db, walls, rows)

    duck_db = work / "lineitem.duckdb"
    walls = []
    for _ in range(args.runs):
        w, rows = load_duckdb(duck_db, csv, delim, args.threads)
        walls.append(w)
    record("DuckDB", duck_db, walls, rows)

    log(f"point commits: {args.commits} per engine")
    points = {"hyperctl": points_hyperctl(example, work / "point.hxe", args.commits)}
    with tpch.hyper_process(args.threads, work / "hyper-logs") as hp:
        points["Hyper"] = points_hyper(hp, work / "point.hyper", args.commits)
    points["DuckDB"] = points_duckdb(work / "point.duckdb", args.commits, args.threads)

    hxe_bytes = results["hyperctl (COPY, spec types)"]["bytes"]
    size_rows = [[e, f"`{r['file']}`", f"{r['bytes']:,}", tpch.fmt_mb(r["bytes"]),
                  f"{r['bytes'] / csv_bytes:.3f}", f"{hxe_bytes / r['bytes']:.3f}"]
                 for e, r in results.items()]
    bulk_rows = [[e, f"{r['seconds']:.2f}", fmt(r["csv_mb_s"]), f"{r['rows_s']:,.0f}",
                  "n/a" if r["peak_rss"] is None else tpch.fmt_mb(r["peak_rss"])]
                 for e, r in results.items()]
    point_rows = [[e, str(p["commits"]), f"{p['commits'] / p['seconds']:,.0f}", f"{p['p50_ms']:.3f}",
                   f"{p['p99_ms']:.3f}", f"{p['max_ms']:.3f}"] for e, p in points.items()]
    hyper_bytes, duck_bytes = results["Hyper"]["bytes"], results["DuckDB"]["bytes"]
    text = "\n".join(head + [
        f"Input: `lineitem.csv`, {csv_bytes:,} bytes ({tpch.fmt_mb(csv_bytes)} MB), {expected_rows:,} rows, "
        f"delimiter `{delim}`. MB = 10^6 bytes.",
        "",
        "## File size",
        "",
        md_table(["engine", "file", "bytes", "MB", "size / CSV", "hxe (COPY) / this"], size_rows),
        "",
        f"**hxe / hyper = {hxe_bytes / hyper_bytes:.3f}**, hxe / duckdb = {hxe_bytes / duck_bytes:.3f} "
        "(target, issue 3 item 6: hxe / hyper <= 1).",
        "",
        "## Bulk insert",
        "",
        md_table(["engine", "seconds", "CSV MB/s", "rows/s", "peak RSS MB"], bulk_rows),
        "",
        "hyperctl: wall time of the whole `hyperctl` process (start, load, commit, checkpoint on close); "
        "Hyper: the COPY statement; DuckDB: COPY + CHECKPOINT. Peak RSS only for the hyperctl process.",
        "",
        "## Point commits (single-row INSERT, autocommit)",
        "",
        md_table(["engine", "commits", "commits/s", "p50 ms", "p99 ms", "max ms"], point_rows),
        "",
        "hyperctl: `benches/examples/point_commits.rs` (SQL facade, in-process, commit = WAL fsync); "
        "Hyper: `Connection.execute_command` per row (client/server round trip); DuckDB: `execute` per row.",
    ])
    tpch.write_results(args.name, text, {"sf": args.sf, "threads": args.threads, "csv_bytes": csv_bytes,
                                         "rows": expected_rows, "load": results, "points": points,
                                         "loadavg_end": tpch.loadavg()})


if __name__ == "__main__":
    main()
