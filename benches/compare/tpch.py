"""Shared helpers of the side-by-side benches (hyperctl vs Tableau's Hyper vs DuckDB).

- TPC-H data: generated with `tpchgen-cli` (crates.io) as CSV into a cache
  directory (default `target/tpch/sf{N}`), once per scale factor and table.
- TPC-H schemas with the spec's types. Hyper and DuckDB get their natural
  types (char(n), varchar(n), decimal(15,2), date); hyperctl gets text for the
  character columns (its char(n) is blank-padded like Hyper's, but text is what
  our users load), the same numeric and date types.
- Engines: how to start each one with a given thread count, how to load a CSV
  into it, and the versions and machine facts every results file carries.

Standard library plus `tableauhyperapi` and `duckdb` only.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPARE = Path(__file__).resolve().parent
RESULTS = REPO / "benches" / "results"
QUERIES = COMPARE / "queries"

MB = 1_000_000  # MB in all reports is 10^6 bytes

# ---------------------------------------------------------------------------
# schemas

# (column, natural type); every TPC-H column is NOT NULL.
TABLES: dict[str, list[tuple[str, str]]] = {
    "region": [
        ("r_regionkey", "integer"),
        ("r_name", "char(25)"),
        ("r_comment", "varchar(152)"),
    ],
    "nation": [
        ("n_nationkey", "integer"),
        ("n_name", "char(25)"),
        ("n_regionkey", "integer"),
        ("n_comment", "varchar(152)"),
    ],
    "part": [
        ("p_partkey", "integer"),
        ("p_name", "varchar(55)"),
        ("p_mfgr", "char(25)"),
        ("p_brand", "char(10)"),
        ("p_type", "varchar(25)"),
        ("p_size", "integer"),
        ("p_container", "char(10)"),
        ("p_retailprice", "decimal(15,2)"),
        ("p_comment", "varchar(23)"),
    ],
    "supplier": [
        ("s_suppkey", "integer"),
        ("s_name", "char(25)"),
        ("s_address", "varchar(40)"),
        ("s_nationkey", "integer"),
        ("s_phone", "char(15)"),
        ("s_acctbal", "decimal(15,2)"),
        ("s_comment", "varchar(101)"),
    ],
    "partsupp": [
        ("ps_partkey", "integer"),
        ("ps_suppkey", "integer"),
        ("ps_availqty", "integer"),
        ("ps_supplycost", "decimal(15,2)"),
        ("ps_comment", "varchar(199)"),
    ],
    "customer": [
        ("c_custkey", "integer"),
        ("c_name", "varchar(25)"),
        ("c_address", "varchar(40)"),
        ("c_nationkey", "integer"),
        ("c_phone", "char(15)"),
        ("c_acctbal", "decimal(15,2)"),
        ("c_mktsegment", "char(10)"),
        ("c_comment", "varchar(117)"),
    ],
    "orders": [
        ("o_orderkey", "bigint"),
        ("o_custkey", "integer"),
        ("o_orderstatus", "char(1)"),
        ("o_totalprice", "decimal(15,2)"),
        ("o_orderdate", "date"),
        ("o_orderpriority", "char(15)"),
        ("o_clerk", "char(15)"),
        ("o_shippriority", "integer"),
        ("o_comment", "varchar(79)"),
    ],
    "lineitem": [
        ("l_orderkey", "bigint"),
        ("l_partkey", "integer"),
        ("l_suppkey", "integer"),
        ("l_linenumber", "integer"),
        ("l_quantity", "decimal(15,2)"),
        ("l_extendedprice", "decimal(15,2)"),
        ("l_discount", "decimal(15,2)"),
        ("l_tax", "decimal(15,2)"),
        ("l_returnflag", "char(1)"),
        ("l_linestatus", "char(1)"),
        ("l_shipdate", "date"),
        ("l_commitdate", "date"),
        ("l_receiptdate", "date"),
        ("l_shipinstruct", "char(25)"),
        ("l_shipmode", "char(10)"),
        ("l_comment", "varchar(44)"),
    ],
}

def column_type(natural: str, engine: str) -> str:
    """The type of a column in `engine` ("hyperctl", "hyper", "duckdb")."""
    if engine == "hyperctl" and natural.startswith(("char", "varchar")):
        return "text"
    return natural


def create_table_sql(table: str, engine: str) -> str:
    cols = ",\n  ".join(
        f"{name} {column_type(ty, engine)} NOT NULL" for name, ty in TABLES[table]
    )
    return f"CREATE TABLE {table} (\n  {cols}\n)"


def sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def copy_sql(table: str, csv: Path, delimiter: str, engine: str) -> str:
    """`COPY table FROM 'csv'` with a header row, in `engine`'s dialect."""
    path = sql_string(str(csv))
    delim = sql_string(delimiter)
    if engine == "duckdb":
        return f"COPY {table} FROM {path} (FORMAT csv, HEADER true, DELIMITER {delim})"
    # Hyper and hyperctl: PostgreSQL style.
    return f"COPY {table} FROM {path} WITH (FORMAT csv, HEADER true, DELIMITER {delim})"


# ---------------------------------------------------------------------------
# data


def sf_label(sf: float) -> str:
    return f"{sf:g}"


def default_cache(sf: float) -> Path:
    return REPO / "target" / "tpch" / f"sf{sf_label(sf)}"


def tpchgen_bin() -> str:
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    home = Path.home() / ".cargo" / "bin" / "tpchgen-cli"
    if home.exists():
        return str(home)
    sys.exit("tpchgen-cli not found: cargo install tpchgen-cli")


def find_csv(directory: Path, table: str) -> Path | None:
    hits = sorted(directory.rglob(f"{table}.csv"))
    return hits[0] if hits else None


def generate(sf: float, tables: list[str], cache: Path | None = None) -> dict[str, Path]:
    """CSV files of `tables` at scale factor `sf` (`tpchgen-cli csv`: comma,
    header row, comments quoted), generated on first use and then cached."""
    cache = cache or default_cache(sf)
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for table in tables:
        path = find_csv(cache, table)
        if path is None:
            log(f"generating {table} at SF {sf_label(sf)} into {cache}")
            common = ["--scale-factor", sf_label(sf), "--tables", table, "--output-dir", str(cache)]
            # tpchgen-cli 2.x+ takes the format as a subcommand; 1.x as --format.
            p = subprocess.run([tpchgen_bin(), "csv", *common])
            if p.returncode != 0:
                subprocess.run([tpchgen_bin(), "--format", "csv", *common], check=True)
            path = find_csv(cache, table)
            if path is None:
                sys.exit(f"tpchgen-cli wrote no {table}.csv under {cache}")
        out[table] = path
    return out


def csv_delimiter(path: Path) -> str:
    """The delimiter tpchgen-cli used: the header row has only names and it."""
    with open(path, encoding="utf-8") as f:
        header = f.readline()
    for d in ("|", ",", "\t"):
        if d in header:
            return d
    return ","


def count_rows(path: Path) -> int:
    """Data rows of a CSV with a header (TPC-H fields hold no line breaks)."""
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n - 1


# ---------------------------------------------------------------------------
# timing


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def timed(fn) -> float:
    """Seconds `fn()` takes."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[round((len(s) - 1) * p)]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def file_size(path: Path) -> int:
    """Bytes of a database file plus any side files (WAL) left beside it."""
    total = path.stat().st_size if path.exists() else 0
    for suffix in ("-wal", ".wal", "-journal"):
        side = Path(str(path) + suffix)
        if side.exists():
            total += side.stat().st_size
    return total


def remove_db(path: Path) -> None:
    for p in (path, Path(str(path) + "-wal"), Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()


# ---------------------------------------------------------------------------
# engines


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def hyperctl_bin() -> Path:
    """The release `hyperctl` (HYPERCTL_BIN, else built with cargo)."""
    if "HYPERCTL_BIN" in os.environ:
        return Path(os.environ["HYPERCTL_BIN"])
    subprocess.run(
        ["cargo", "build", "--release", "-p", "hyperctl"], cwd=REPO, check=True
    )
    return target_dir() / "release" / "hyperctl"


def cargo_example(name: str) -> Path:
    """Builds the release example `name` of hyperctl-benches; its path."""
    subprocess.run(
        ["cargo", "build", "--release", "-p", "hyperctl-benches", "--example", name],
        cwd=REPO,
        check=True,
    )
    return target_dir() / "release" / "examples" / name


def hyperctl_supports(binary: Path, subcommand: str, flag: str) -> bool:
    out = subprocess.run(
        [str(binary), subcommand, "--help"], capture_output=True, text=True
    ).stdout
    return flag in out


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, int | None, subprocess.CompletedProcess]:
    """Runs `cmd`; (wall seconds, peak RSS in bytes or None, the process).

    Peak RSS comes from `/usr/bin/time -v` when present, else from polling
    VmHWM in /proc/<pid>/status (which can miss a final spike).
    """
    gnu_time = Path("/usr/bin/time")
    full_env = {**os.environ, **(env or {})}
    if gnu_time.exists():
        t = time.perf_counter()
        p = subprocess.run([str(gnu_time), "-v", *cmd], capture_output=True, text=True, env=full_env)
        wall = time.perf_counter() - t
        rss = None
        for line in p.stderr.splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1]) * 1024
        # Keep only the program's own stderr.
        own = p.stderr.split("\tCommand being timed:")[0]
        own = own.split("Command exited with non-zero status")[0]
        return wall, rss, subprocess.CompletedProcess(cmd, p.returncode, p.stdout, own)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    hwm = 0
    while proc.poll() is None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]) * 1024)
        time.sleep(0.02)
    wall = time.perf_counter() - t
    out, err = proc.communicate()
    return wall, hwm or None, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def hyperctl_sql(binary: Path, db: Path, statements: list[str]) -> float:
    """Runs SQL statements with `hyperctl sql` (one process); wall seconds."""
    cmd = [str(binary), "sql", str(db)]
    for s in statements:
        cmd += ["-c", s]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"hyperctl sql failed ({p.returncode}): {p.stderr.strip()}")
    return wall


@contextlib.contextmanager
def hyper_process(threads: int, log_dir: Path):
    """Tableau's hyperd, each query limited to `threads` threads."""
    from tableauhyperapi import HyperProcess, Telemetry

    log_dir.mkdir(parents=True, exist_ok=True)
    params = {
        "log_dir": str(log_dir),
        # Hyper's per-query worker limit (its default is the core count).
        "hard_concurrent_query_thread_limit": str(threads),
    }
    with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters=params) as hp:
        yield hp


def hyper_connect(hp, db: Path, create: bool):
    from tableauhyperapi import Connection, CreateMode

    mode = CreateMode.CREATE_AND_REPLACE if create else CreateMode.NONE
    return Connection(hp.endpoint, str(db), mode)


def duckdb_connect(db: Path, threads: int):
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(f"SET threads = {int(threads)}")
    return con


# ---------------------------------------------------------------------------
# reporting


def versions() -> dict[str, str]:
    import duckdb

    try:
        from importlib.metadata import version

        hyper_version = version("tableauhyperapi")
    except Exception:  # noqa: BLE001 - any failure means "unknown"
        import tableauhyperapi

        hyper_version = getattr(tableauhyperapi, "__version__", "unknown")
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "hyperctl": commit + (" (dirty)" if dirty else ""),
        "tableauhyperapi": hyper_version,
        "duckdb": duckdb.__version__,
    }


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "os": platform.platform(),
    }


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def header_lines(title: str, sf: float, threads: int, extra: dict[str, str] | None = None) -> list[str]:
    v = versions()
    m = machine()
    lines = [
        f"# {title}",
        "",
        f"- date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {m['nproc']} cores ({m['cpu']}), {m['memory']}, {m['os']}",
        f"- load average at start (1/5/15 min): {loadavg()}"
        + (" -- the machine was busy; treat timings as noisy" if _busy() else ""),
        f"- hyperctl {v['hyperctl']}, tableauhyperapi {v['tableauhyperapi']}, duckdb {v['duckdb']}",
        f"- TPC-H scale factor {sf_label(sf)} (tpchgen-cli), threads {threads}",
    ]
    for k, val in (extra or {}).items():
        lines.append(f"- {k}: {val}")
    lines.append("")
    return lines


def _busy() -> bool:
    with contextlib.suppress(Exception):
        return float(loadavg().split()[0]) > (os.cpu_count() or 1) * 0.75
    return False


def md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_results(name: str, text: str, raw: dict | None = None, out_dir: Path | None = None) -> Path:
    """Writes `benches/results/<name>.md` (and the raw numbers as JSON); prints it."""
    out_dir = out_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    text = text.rstrip() + f"\n\nLoad average at the end (1/5/15 min): {loadavg()}.\n"
    path.write_text(text)
    if raw is not None:
        (out_dir / f"{name}.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
    print(text)
    log(f"wrote {path}")
    return path


def fmt_mb(n: float) -> str:
    return f"{n / MB:,.1f}"


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"
