#!/usr/bin/env python3
"""Query bench (issue 4, acceptance items 3 and 4): the 22 TPC-H queries on
hyperctl, Tableau's Hyper and DuckDB, same data, same thread count; median of
warm runs per query, hyperctl / faster peer per query, geometric means; and
Q1 and Q6 on hyperctl with 1 vs 2 threads.

    python3 benches/compare/queries.py --sf 1

Writes benches/results/queries.md (+ .json) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import time
from pathlib import Path

import tpch
from tpch import log, md_table

ENGINES = ("hyperctl", "Hyper", "DuckDB")


def query_files(selection: str) -> list[Path]:
    wanted: set[int] = set()
    for part in selection.split(","):
        lo, _, hi = part.partition("-")
        wanted.update(range(int(lo), int(hi or lo) + 1))
    return [tpch.QUERIES / f"q{n:02d}.sql" for n in sorted(wanted)]


def query_text(path: Path) -> str:
    return path.read_text().strip().rstrip(";")


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:160] if lines else "no output"


def first_line(e: BaseException | str) -> str:
    text = str(e).strip()
    return (text.splitlines() or ["?"])[0][:160]


# ---------------------------------------------------------------------------
# loading


def load_hyperctl(binary: Path, db: Path, csvs: dict[str, Path]) -> float:
    tpch.remove_db(db)
    stmts = []
    for table, csv in csvs.items():
        stmts.append(tpch.create_table_sql(table, "hyperctl"))
        stmts.append(tpch.copy_sql(table, csv, tpch.csv_delimiter(csv), "hyperctl"))
    return tpch.hyperctl_sql(binary, db, stmts)


def load_hyper(hp, db: Path, csvs: dict[str, Path]) -> float:
    tpch.remove_db(db)
    t = time.perf_counter()
    with tpch.hyper_connect(hp, db, create=True) as con:
        for table, csv in csvs.items():
            con.execute_command(tpch.create_table_sql(table, "hyper"))
            con.execute_command(tpch.copy_sql(table, csv, tpch.csv_delimiter(csv), "hyper"))
    return time.perf_counter() - t


def load_duckdb(db: Path, csvs: dict[str, Path], threads: int) -> float:
    tpch.remove_db(db)
    t = time.perf_counter()
    con = tpch.duckdb_connect(db, threads)
    for table, csv in csvs.items():
        con.execute(tpch.create_table_sql(table, "duckdb"))
        con.execute(tpch.copy_sql(table, csv, tpch.csv_delimiter(csv), "duckdb"))
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - t


# ---------------------------------------------------------------------------
# running


def run_hyperctl(example: Path, db: Path, files: list[Path], runs: int, threads: int, timeout: float) -> dict:
    """One process per query (so that a timeout loses only that query); the
    query is timed in-process after an untimed warm-up run."""
    out = {}
    env = {**os.environ, "HYPERCTL_THREADS": str(threads)}
    meta = {"threads": None}
    for f in files:
        name = f.stem
        try:
            p = subprocess.run([str(example), str(db), "--runs", str(runs), str(f)], capture_output=True,
                               text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            out[name] = {"error": f"timeout (> {timeout:g} s for {runs + 1} runs)"}
            log(f"hyperctl {name}: timeout")
            continue
        lines = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        result = next((x for x in lines if x.get("query") == name), None)
        meta = next((x for x in lines if "threads" in x), meta)
        if result is None:
            result = {"error": f"crashed (exit {p.returncode}): {last_line(p.stderr)}"}
        out[name] = result
        log(f"hyperctl {name}: {result.get('median_ms', result.get('error'))}")
    return {"queries": out, "threads_effective": meta.get("threads")}


def run_peer(engine: str, execute, files: list[Path], runs: int) -> dict:
    out = {}
    for f in files:
        name, sql = f.stem, query_text(f)
        try:
            rows = len(execute(sql))
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                execute(sql)
                times.append((time.perf_counter() - t) * 1000)
            out[name] = {"median_ms": tpch.median(times), "runs_ms": times, "rows": rows}
        except Exception as e:  # noqa: BLE001 - a failing query is a result
            out[name] = {"error": first_line(e)}
        log(f"{engine} {name}: {out[name].get('median_ms', out[name].get('error'))}")
    return {"queries": out}


def geomean(xs: list[float]) -> float | None:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def cell(r: dict) -> str:
    if "error" in r:
        return "error: " + r["error"].replace("|", "\\|")
    return f"{r['median_ms']:,.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every engine (default: cores)")
    ap.add_argument("--runs", type=int, default=5, help="timed warm runs per query (after one warm-up)")
    ap.add_argument("--queries", default="1-22", help="e.g. 1-22 or 1,6,14")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per hyperctl query process")
    ap.add_argument("--reuse", action="store_true", help="reuse database files loaded by an earlier run")
    ap.add_argument("--cache", type=Path, help="TPC-H CSV directory (default target/tpch/sf{N})")
    ap.add_argument("--work", type=Path, default=tpch.REPO / "target" / "bench-compare")
    ap.add_argument("--name", default="queries", help="results file name (benches/results/NAME.md)")
    args = ap.parse_args()

    head = tpch.header_lines("TPC-H queries: hyperctl vs Hyper vs DuckDB", args.sf, args.threads,
                             {"timing": f"median of {args.runs} warm runs after 1 untimed run"})
    csvs = tpch.generate(args.sf, list(tpch.TABLES), args.cache)
    work = args.work / f"queries-sf{tpch.sf_label(args.sf)}"
    work.mkdir(parents=True, exist_ok=True)
    files = query_files(args.queries)
    binary = tpch.hyperctl_bin()
    example = tpch.cargo_example("tpch_queries")
    hxe, hyper_db, duck_db = work / "tpch.hxe", work / "tpch.hyper", work / "tpch.duckdb"
    results: dict[str, dict] = {}
    load_s: dict[str, float | None] = {e: None for e in ENGINES}

    if not (args.reuse and hxe.exists()):
        log("loading hyperctl")
        load_s["hyperctl"] = load_hyperctl(binary, hxe, csvs)
    results["hyperctl"] = run_hyperctl(example, hxe, files, args.runs, args.threads, args.timeout)

    with tpch.hyper_process(args.threads, work / "hyper-logs") as hp:
        if not (args.reuse and hyper_db.exists()):
            log("loading Hyper")
            load_s["Hyper"] = load_hyper(hp, hyper_db, csvs)
        with tpch.hyper_connect(hp, hyper_db, create=False) as con:
            results["Hyper"] = run_peer("Hyper", con.execute_list_query, files, args.runs)

    if not (args.reuse and duck_db.exists()):
        log("loading DuckDB")
        load_s["DuckDB"] = load_duckdb(duck_db, csvs, args.threads)
    con = tpch.duckdb_connect(duck_db, args.threads)
    results["DuckDB"] = run_peer("DuckDB", lambda q: con.execute(q).fetchall(), files, args.runs)
    con.close()

    # Issue 4 item 4: Q1 and Q6, hyperctl, 1 vs 2 threads.
    scaling = {}
    for t in (1, 2):
        scaling[t] = run_hyperctl(example, hxe, query_files("1,6"), args.runs, t, args.timeout)
    threads_supported = scaling[2]["threads_effective"] is not None

    rows, ratios = [], []
    for f in files:
        q = f.stem
        r = {e: results[e]["queries"][q] for e in ENGINES}
        peers = [r[e]["median_ms"] for e in ("Hyper", "DuckDB") if "median_ms" in r[e]]
        ratio = ""
        if "median_ms" in r["hyperctl"] and peers:
            x = r["hyperctl"]["median_ms"] / min(peers)
            ratios.append(x)
            ratio = f"{x:.2f}"
        counts = {r[e]["rows"] for e in ENGINES if "rows" in r[e]}
        check = "" if len(counts) <= 1 else " (row counts differ: " + "/".join(
            str(r[e].get("rows", "-")) for e in ENGINES) + ")"
        rows.append([q.upper(), cell(r["hyperctl"]), cell(r["Hyper"]), cell(r["DuckDB"]), ratio + check])

    def gm(engine: str) -> str:
        xs = [v["median_ms"] for v in results[engine]["queries"].values() if "median_ms" in v]
        g = geomean(xs)
        return "n/a" if g is None else f"{g:,.1f} ms over {len(xs)}"

    ok = len(ratios)
    g = geomean(ratios)
    summary = [
        f"- hyperctl ran {ok} of {len(files)} queries; geometric mean of hyperctl / faster peer over those: "
        + ("n/a" if g is None else f"**{g:.2f}x**, worst {max(ratios):.2f}x")
        + " (target, issue 4 item 3: <= 1.5x, no query > 4x, over all 22).",
        f"- geometric means of the medians: hyperctl {gm('hyperctl')}, Hyper {gm('Hyper')}, DuckDB {gm('DuckDB')} "
        "(each over the queries it ran, so not comparable to each other unless all ran).",
        "- load seconds (all 8 tables, COPY from CSV): "
        + ", ".join(f"{e} {'reused' if s is None else f'{s:.1f}'}" for e, s in load_s.items()),
    ]
    sc_rows = []
    for q in ("q01", "q06"):
        one, two = scaling[1]["queries"].get(q, {}), scaling[2]["queries"].get(q, {})
        if "median_ms" in one and "median_ms" in two:
            speedup = f"{one['median_ms'] / two['median_ms']:.2f}" if threads_supported else \
                "n/a (exec has no thread setting yet; both runs are single-threaded)"
            sc_rows.append([q.upper(), f"{one['median_ms']:,.1f}", f"{two['median_ms']:,.1f}", speedup])
        else:
            sc_rows.append([q.upper(), cell(one or {"error": "?"}), cell(two or {"error": "?"}), "n/a"])
    text = "\n".join(head + [
        "Milliseconds, median of warm runs, results fetched to the client (hyperctl: in-process Arrow batches via "
        "`benches/examples/tpch_queries.rs`; Hyper: `execute_list_query`; DuckDB: `fetchall`). "
        "Ratio = hyperctl / faster of Hyper and DuckDB (< 1: hyperctl is faster).",
        "",
        md_table(["query", "hyperctl ms", "Hyper ms", "DuckDB ms", "hyperctl / faster peer"], rows),
        "",
        *summary,
        "",
        "## hyperctl, Q1 and Q6, 1 vs 2 threads (issue 4 item 4: >= 1.8x)",
        "",
        md_table(["query", "1 thread ms", "2 threads ms", "speed-up"], sc_rows),
    ])
    tpch.write_results(args.name, text, {"sf": args.sf, "threads": args.threads, "results": results,
                                         "scaling": scaling, "load_s": load_s, "loadavg_end": tpch.loadavg()})


if __name__ == "__main__":
    main()
