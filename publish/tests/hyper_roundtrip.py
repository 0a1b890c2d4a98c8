"""The real Tableau Hyper API's side of the bridge tests (publish/tests/it/bridge.rs).

  python3 hyper_roundtrip.py read FILE    prints every table of FILE as JSON
  python3 hyper_roundtrip.py write FILE   creates FILE with the Hyper API (version 2)

Values are printed in a form both sides can produce exactly:
numerics as decimal strings with their scale, floats via repr (round trip),
dates as [year, month, day] (years 1..9999: Python's datetime cannot hold
others, so BC dates are covered by the Rust-only round trip), times as
microseconds, timestamps as [date, microseconds of day], timestamptz in
UTC, intervals as [months, days, microseconds], bytes as hex, geography as WKT
(cast in SQL: the API hands out Tableau's internal blob otherwise).
"""

import datetime
import json
import sys
from decimal import Decimal

from tableauhyperapi import (
    Connection, CreateMode, HyperProcess, Inserter, SqlType, TableDefinition,
    TableName, Telemetry, TypeTag, Nullability, Interval, Date, Timestamp,
)
from datetime import time as Time


def encode(value, tag):
    if value is None:
        return None
    if tag == TypeTag.NUMERIC:
        return str(value)
    if tag in (TypeTag.DOUBLE, TypeTag.FLOAT):
        return repr(float(value))
    if tag == TypeTag.DATE:
        return [value.year, value.month, value.day]
    if tag == TypeTag.TIME:
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    if tag in (TypeTag.TIMESTAMP, TypeTag.TIMESTAMP_TZ):
        if tag == TypeTag.TIMESTAMP_TZ and value.utcoffset():
            value = value.astimezone(datetime.timezone.utc)
        us = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return [[value.year, value.month, value.day], us]
    if tag == TypeTag.INTERVAL:
        return [value.months, value.days, value.microseconds]
    if tag == TypeTag.BYTES:
        return bytes(value).hex()
    if tag == TypeTag.GEOGRAPHY:
        return value
    if tag == TypeTag.BOOL:
        return bool(value)
    if tag in (TypeTag.SMALL_INT, TypeTag.INT, TypeTag.BIG_INT, TypeTag.OID):
        return int(value)
    return str(value)


def read(path):
    out = {}
    with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_config": ""}) as hyper:
        with Connection(hyper.endpoint, path) as conn:
            for schema in conn.catalog.get_schema_names():
                for table in conn.catalog.get_table_names(schema):
                    definition = conn.catalog.get_table_definition(table)
                    cols = definition.columns
                    select = ", ".join(
                        f"CAST({c.name} AS TEXT)" if c.type.tag == TypeTag.GEOGRAPHY else str(c.name)
                        for c in cols)
                    rows = conn.execute_list_query(f"SELECT {select} FROM {table}")
                    key = f"{table.schema_name.name.unescaped}.{table.name.unescaped}"
                    out[key] = {
                        "columns": [[c.name.unescaped, str(c.type),
                                     c.nullability == Nullability.NULLABLE] for c in cols],
                        "rows": [[encode(v, c.type.tag) for v, c in zip(row, cols)] for row in rows],
                    }
    print(json.dumps(out, sort_keys=True))


def write(path):
    table = TableDefinition(TableName("Extract", "Extract"), [
        TableDefinition.Column("id", SqlType.int(), Nullability.NOT_NULLABLE),
        TableDefinition.Column("amount", SqlType.numeric(18, 3)),
        TableDefinition.Column("name", SqlType.text()),
        TableDefinition.Column("code", SqlType.varchar(5)),
        TableDefinition.Column("ratio", SqlType.double()),
        TableDefinition.Column("day", SqlType.date()),
        TableDefinition.Column("at", SqlType.timestamp()),
        TableDefinition.Column("at_tz", SqlType.timestamp_tz()),
        TableDefinition.Column("span", SqlType.interval()),
        TableDefinition.Column("blob", SqlType.bytes()),
        TableDefinition.Column("flag", SqlType.bool()),
        TableDefinition.Column("t", SqlType.time()),
        TableDefinition.Column("big", SqlType.big_int()),
    ])
    rows = [
        [1, Decimal("-123456789012345.678"), "Grüße, \"Welt\"\n", "abc", 0.1 + 0.2,
         Date(1969, 12, 31), Timestamp(1900, 1, 1, 0, 0, 0, 1),
         Timestamp(2024, 2, 29, 23, 59, 59, 999999), Interval(-14, 3, -14706000007),
         b"\x00\xff\"", True, Time(23, 59, 59, 999999), -9223372036854775808],
        [2, None, "", None, float("-inf"), Date(9999, 12, 31), None, None,
         Interval(0, 0, 0), b"", False, Time(0, 0, 0), 9223372036854775807],
        [3, Decimal("0.001"), None, "", -0.0, None, Timestamp(1, 1, 1, 0, 0, 0),
         Timestamp(1970, 1, 1), None, None, None, None, None],
    ]
    with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_config": ""}) as hyper:
        with Connection(hyper.endpoint, path, CreateMode.CREATE) as conn:
            conn.catalog.create_schema("Extract")
            conn.catalog.create_table(table)
            with Inserter(conn, table) as inserter:
                inserter.add_rows(rows)
                inserter.execute()


if __name__ == "__main__":
    command, path = sys.argv[1], sys.argv[2]
    {"read": read, "write": write}[command](path)
