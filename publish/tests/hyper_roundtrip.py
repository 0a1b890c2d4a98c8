"""The real Tableau Hyper API's side of the .hyper tests: the bridge's
(publish/tests/it/bridge.rs) and the CLI's (cli/tests/publish.rs).

  python3 hyper_roundtrip.py read FILE         prints every table of FILE as JSON
  python3 hyper_roundtrip.py read_sorted FILE  the same, rows ordered by the first column
  python3 hyper_roundtrip.py write FILE        creates FILE with the Hyper API (version 2)
  python3 hyper_roundtrip.py write_all FILE    creates FILE with every type (version 4)
"""

import datetime
import json
import sys
from decimal import Decimal

from tableauhyperapi import (
    Connection, CreateMode, HyperProcess, Inserter, SqlType, TableDefinition,
    TableName, Telemetry, TypeTag, Nullability, Interval, Date, Timestamp,
    escape_name,
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


def read(path, order_by=""):
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
                    rows = conn.execute_list_query(f"SELECT {select} FROM {table}{order_by}")
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


# Every type, in the order of cli/tests/publish.rs `every_type_def`; geography
# goes in as WKT text through a column mapping (the Hyper API's documented way).
EVERY_TYPE = [
    ("id", SqlType.int(), False),
    ("bool", SqlType.bool(), True),
    ("smallint", SqlType.small_int(), True),
    ("integer", SqlType.int(), True),
    ("bigint", SqlType.big_int(), True),
    ("numeric18", SqlType.numeric(18, 3), True),
    ("numeric38", SqlType.numeric(38, 10), True),
    ("double", SqlType.double(), True),
    ("real", SqlType.float(), True),
    ("text", SqlType.text(), True),
    ("varchar", SqlType.varchar(20), True),
    ("char", SqlType.char(4), True),
    ("bytes", SqlType.bytes(), True),
    ("json", SqlType.json(), True),
    ("date", SqlType.date(), True),
    ("time", SqlType.time(), True),
    ("timestamp", SqlType.timestamp(), True),
    ("timestamptz", SqlType.timestamp_tz(), True),
    ("interval", SqlType.interval(), True),
    ("oid", SqlType.oid(), True),
    ("geography", SqlType.geography(), True),
]

EVERY_TYPE_ROWS = [
    [1, True, -32768, -2147483648, -9223372036854775808, Decimal("-123456789012345.678"),
     Decimal("-1234567890123456789012345678.0123456789"), 0.1 + 0.2, 0.1,
     "Grüße, \"Welt\"\n", "abc", "ab  ", b"\x00\xff\"", '{"a":[1,2]}', Date(1969, 12, 31),
     Time(23, 59, 59, 999999), Timestamp(1900, 1, 1, 0, 0, 0, 1),
     Timestamp(2024, 2, 29, 23, 59, 59, 999999), Interval(-14, 3, -14706000007),
     4294967295, "POINT(1.0000000 2.0000000)"],
    [2] + [None] * 20,
    [3, False, 32767, 2147483647, 9223372036854775807, Decimal("0.001"),
     Decimal("9999999999999999999999999999.9999999999"), -0.0, -1.5, "", "", "wxyz", b"",
     "null", Date(9999, 12, 31), Time(0, 0, 0), Timestamp(1, 1, 1, 0, 0, 0),
     Timestamp(1970, 1, 1), Interval(0, 0, 0), 0, "POINT(-122.3000000 47.6000000)"],
]


def write_all(path):
    name = TableName("public", "every_type")
    nullable = lambda n: Nullability.NULLABLE if n else Nullability.NOT_NULLABLE
    table = TableDefinition(name, [
        TableDefinition.Column(c, t, nullable(n)) for c, t, n in EVERY_TYPE])
    inserted = TableDefinition(name, [
        TableDefinition.Column(c if c != "geography" else "geography_wkt",
                               t if c != "geography" else SqlType.text(), nullable(n))
        for c, t, n in EVERY_TYPE])
    mapping = [c for c, _, _ in EVERY_TYPE[:-1]] + [Inserter.ColumnMapping(
        "geography", f"CAST({escape_name('geography_wkt')} AS TABLEAU.TABGEOGRAPHY)")]
    with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_config": "", "default_database_version": "4"}) as hyper:
        with Connection(hyper.endpoint, path, CreateMode.CREATE) as conn:
            conn.catalog.create_table(table)
            with Inserter(conn, table, mapping, inserter_definition=inserted.columns) as inserter:
                inserter.add_rows(EVERY_TYPE_ROWS)
                inserter.execute()


if __name__ == "__main__":
    command, path = sys.argv[1], sys.argv[2]
    {
        "read": read,
        "read_sorted": lambda p: read(p, " ORDER BY 1"),
        "write": write,
        "write_all": write_all,
    }[command](path)
