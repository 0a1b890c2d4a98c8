#!/usr/bin/env python3
"""Writes the reference answers of the TPC-H test (sql/tests/tpch/main.rs).

How they were made (once; rerun only when the queries change):

    tpchgen-cli csv -s 0.1 --output-dir /tmp/tpch-sf0.1      # crates.io, 4.0.0
    python3 sql/tests/tpch/make_answers.py /tmp/tpch-sf0.1    # duckdb from PyPI

The data is the same as the test's: tpchgen-cli is the command-line face of
the `tpchgen` crate that the test generates its tables with. DuckDB loads the
CSV files with the TPC-H spec's types (`benches/compare/tpch.py`), runs the
query files of `benches/compare/queries/`, and each answer is written as
`answers/qNN.csv`: a header row of column names, then the rows in DuckDB's
order, NULL as an empty field, decimals in their exact text, floats with
Python's repr. The test compares numbers with a tolerance and the rest as
text; rows in order where the query has ORDER BY.
"""

import csv
import datetime
import decimal
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "benches" / "compare"))
import tpch  # noqa: E402


def cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (decimal.Decimal, int)):
        return str(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def main() -> None:
    data = Path(sys.argv[1])
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for table in tpch.TABLES:
        con.execute(tpch.create_table_sql(table, "duckdb"))
        con.execute(tpch.copy_sql(table, data / f"{table}.csv", ",", "duckdb"))
    out = HERE / "answers"
    out.mkdir(exist_ok=True)
    for n in range(1, 23):
        sql = (tpch.QUERIES / f"q{n:02d}.sql").read_text().strip().rstrip(";")
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        with open(out / f"q{n:02d}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(names)
            for r in rows:
                w.writerow([cell(v) for v in r])
        print(f"q{n:02d}: {len(rows)} rows")


if __name__ == "__main__":
    main()
