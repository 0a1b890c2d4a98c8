//! A PostgreSQL query as a load source: `hyperctl import --from
//! postgresql://user@host:port/db --query "SELECT ..."`.
//!
//! Rows stream through a portal in a read-only transaction, [`FETCH_ROWS`]
//! at a time, on a thread of their own that hands Arrow batches over a
//! bounded channel, so memory stays bounded. Values arrive in PostgreSQL's
//! binary format and are decoded here, type by type:
//!
//! | PostgreSQL | ours |
//! | --- | --- |
//! | bool, int2, int4, int8, float4, float8, oid | BOOLEAN, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, OID |
//! | numeric(p,s) | NUMERIC(p,s), exact; unconstrained numeric: NUMERIC(38,10), and a value that would need rounding is an error |
//! | text, varchar(n), char(n), name | TEXT, VARCHAR(n), CHAR(n), TEXT |
//! | json, jsonb | JSON |
//! | uuid | TEXT (the canonical spelling) |
//! | bytea | BYTES |
//! | date, time, timestamp, timestamptz, interval | DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL |
//!
//! Arrays, ranges, composites and other types are an error that names the
//! column and says to cast it in the query. Infinite dates and timestamps and
//! numeric NaN are errors too (we have no such values).
//!
//! Invariant: the password never comes from the URL; it comes from
//! `PGPASSWORD` or the password file (`PGPASSFILE`, default `~/.pgpass`),
//! and it is held in a [`Secret`] that prints as `***`.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use hyperctl_exec::arrow::array::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder,
    RecordBatch, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
    UInt32Builder,
};
use hyperctl_exec::arrow::datatypes::{IntervalMonthDayNano, SchemaRef};
use hyperctl_format::SqlType;
use hyperctl_storage::ColumnDef;
use postgres::NoTls;
use postgres::types::{FromSql, Kind, Type};

use super::CsvSchema;
use crate::error::{Error, Result};

/// Rows per fetch from the portal (and per batch).
const FETCH_ROWS: i32 = 16_384;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where to connect: a `postgresql://user@host:port/db` URL, without the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSource {
    /// The host name or address.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The user.
    pub user: String,
    /// The database.
    pub dbname: String,
    password: Option<Secret>,
}

fn pg_error(reason: impl Into<String>) -> Error {
    Error::Postgres {
        reason: reason.into(),
    }
}

impl PgSource {
    /// Parses `postgresql://[user@]host[:port][/db]` (or `postgres://`).
    /// The user defaults to `PGUSER` or `USER`, the database to the user;
    /// the password comes from `PGPASSWORD`, else the password file.
    ///
    /// # Errors
    /// `Postgres` for a malformed URL, and for a password in the URL (which
    /// would show in the process list and shell history).
    pub fn parse(url: &str) -> Result<PgSource> {
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| {
                pg_error(format!(
                    "{url:?} is not a PostgreSQL URL: write postgresql://user@host:port/database"
                ))
            })?;
        if rest.contains('?') {
            return Err(pg_error(
                "URL parameters (?...) are not supported: write postgresql://user@host:port/database",
            ));
        }
        let (authority, dbname) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, authority),
        };
        if user.is_some_and(|u| u.contains(':')) {
            return Err(pg_error(
                "the URL holds a password: remove it and set PGPASSWORD or use ~/.pgpass \
                 (a password on the command line shows in the process list and shell history)",
            ));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| pg_error(format!("invalid port {p:?} in the PostgreSQL URL")))?,
            ),
            None => (hostport, 5432),
        };
        let host = if host.is_empty() { "localhost" } else { host };
        let user = match user {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .map_err(|_| pg_error("no user in the URL, and neither PGUSER nor USER is set"))?,
        };
        let dbname = if dbname.is_empty() {
            user.clone()
        } else {
            dbname.to_string()
        };
        let mut source = PgSource {
            host: host.to_string(),
            port,
            user,
            dbname,
            password: None,
        };
        source.password = std::env::var("PGPASSWORD")
            .ok()
            .map(Secret)
            .or_else(|| source.password_from_file());
        Ok(source)
    }

    /// The first matching line of the password file
    /// (`host:port:database:user:password`, `*` matches anything, `\:` and
    /// `\\` escape).
    fn password_from_file(&self) -> Option<Secret> {
        let path = std::env::var_os("PGPASSFILE")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass"))
            })?;
        let text = std::fs::read_to_string(path).ok()?;
        let port = self.port.to_string();
        let wanted = [
            self.host.as_str(),
            port.as_str(),
            self.dbname.as_str(),
            self.user.as_str(),
        ];
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .find_map(|line| {
                let fields = pgpass_fields(line);
                if fields.len() != 5 {
                    return None;
                }
                let matches = fields[..4]
                    .iter()
                    .zip(wanted)
                    .all(|(f, w)| f == "*" || f == w);
                matches.then(|| Secret(fields[4].clone()))
            })
    }
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// How one column is decoded.
#[derive(Debug, Clone, Copy)]
enum Decode {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Oid,
    /// Numeric into NUMERIC(p, s); `exact_only`: unconstrained source.
    Numeric {
        precision: u8,
        scale: u8,
    },
    Text,
    Jsonb,
    Uuid,
    Bytes,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
}

/// The SQL type and decoder of a result column.
fn map_type(name: &str, ty: &Type, typmod: i32) -> Result<(SqlType, Decode)> {
    let unsupported = |what: &str| {
        pg_error(format!(
            "column \"{name}\" has type {} ({what}), which cannot be imported; \
             cast it in the query, e.g. {name}::text",
            ty.name()
        ))
    };
    if let Kind::Array(_) = ty.kind() {
        return Err(unsupported("an array"));
    }
    if let Kind::Domain(base) = ty.kind() {
        return map_type(name, base, typmod);
    }
    let text_len = u32::try_from(typmod - 4).ok();
    Ok(match *ty {
        Type::BOOL => (SqlType::Bool, Decode::Bool),
        Type::INT2 => (SqlType::SmallInt, Decode::Int2),
        Type::INT4 => (SqlType::Int, Decode::Int4),
        Type::INT8 => (SqlType::BigInt, Decode::Int8),
        Type::FLOAT4 => (SqlType::Real, Decode::Float4),
        Type::FLOAT8 => (SqlType::Double, Decode::Float8),
        Type::OID => (SqlType::Oid, Decode::Oid),
        Type::NUMERIC => {
            let (precision, scale) = if typmod >= 4 {
                let m = typmod - 4;
                (((m >> 16) & 0xffff) as u8, (m & 0xffff) as u8)
            } else {
                (38, 10)
            };
            let sql = SqlType::numeric(precision, scale).map_err(|_| {
                pg_error(format!(
                    "column \"{name}\" is numeric({precision},{scale}), wider than our NUMERIC(38); \
                     cast it in the query, e.g. {name}::numeric(38,{})",
                    scale.min(38)
                ))
            })?;
            (sql, Decode::Numeric { precision, scale })
        }
        Type::TEXT | Type::NAME | Type::UNKNOWN => (SqlType::Text, Decode::Text),
        Type::VARCHAR => match text_len {
            Some(max_length) => (SqlType::Varchar { max_length }, Decode::Text),
            None => (SqlType::Text, Decode::Text),
        },
        Type::BPCHAR => match text_len {
            Some(length) => (SqlType::Char { length }, Decode::Text),
            None => (SqlType::Text, Decode::Text),
        },
        Type::CHAR => (SqlType::Char { length: 1 }, Decode::Text),
        Type::JSON => (SqlType::Json, Decode::Text),
        Type::JSONB => (SqlType::Json, Decode::Jsonb),
        Type::UUID => (SqlType::Text, Decode::Uuid),
        Type::BYTEA => (SqlType::Bytes, Decode::Bytes),
        Type::DATE => (SqlType::Date, Decode::Date),
        Type::TIME => (SqlType::Time, Decode::Time),
        Type::TIMESTAMP => (SqlType::Timestamp, Decode::Timestamp),
        Type::TIMESTAMPTZ => (SqlType::TimestampTz, Decode::TimestampTz),
        Type::INTERVAL => (SqlType::Interval, Decode::Interval),
        _ => match ty.kind() {
            Kind::Enum(_) => (SqlType::Text, Decode::Text),
            _ => return Err(unsupported("not supported")),
        },
    })
}

/// A value's raw bytes, whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn be<const N: usize>(raw: &[u8]) -> std::result::Result<[u8; N], String> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", raw.len()))
}

/// PostgreSQL's binary NUMERIC as an i128 of `scale` decimals; `None` when
/// it needs rounding or more than `precision` digits.
fn numeric(raw: &[u8], precision: u8, scale: u8) -> std::result::Result<i128, String> {
    let word = |i: usize| -> std::result::Result<u16, String> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_string())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no NUMERIC value here".into()),
        _ => return Err("infinity has no NUMERIC value here".into()),
    }
    let too_big = || format!("does not fit NUMERIC({precision},{scale})");
    let mut value: i128 = 0;
    for i in 0..ndigits {
        let d = i128::from(word(8 + 2 * i)?);
        // This base-10000 digit is worth d * 10^(4 * (weight - i)); scaled
        // by 10^scale.
        let exp = 4 * (weight - i as i32) + i32::from(scale);
        if exp >= 0 {
            let p = 10i128.checked_pow(exp as u32).ok_or_else(too_big)?;
            value = d
                .checked_mul(p)
                .and_then(|x| value.checked_add(x))
                .ok_or_else(too_big)?;
        } else {
            let p = 10i128.pow((-exp).min(4) as u32);
            if d % p != 0 || exp < -4 && d != 0 {
                return Err(format!(
                    "has more than {scale} decimals; cast it in the query to the numeric(p,s) you want"
                ));
            }
            value += d / p;
        }
    }
    if value >= 10i128.pow(u32::from(precision)) {
        return Err(too_big());
    }
    Ok(if sign == 0x4000 { -value } else { value })
}

fn uuid_text(raw: &[u8]) -> std::result::Result<String, String> {
    let b: [u8; 16] = be(raw)?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn utf8(raw: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(raw).map_err(|_| "invalid UTF-8".to_string())
}

fn timestamp(raw: &[u8]) -> std::result::Result<i64, String> {
    let v = i64::from_be_bytes(be(raw)?);
    if v == i64::MAX || v == i64::MIN {
        return Err("infinite timestamps have no value here".into());
    }
    v.checked_add(PG_EPOCH_MICROS)
        .ok_or_else(|| "timestamp out of range".to_string())
}

/// Builders for one batch.
struct PgBatch {
    decoders: Vec<Decode>,
    builders: Vec<Box<dyn ArrayBuilder>>,
}

impl PgBatch {
    fn new(decoders: &[Decode]) -> PgBatch {
        let builders = decoders
            .iter()
            .map(|d| -> Box<dyn ArrayBuilder> {
                match *d {
                    Decode::Bool => Box::new(BooleanBuilder::new()),
                    Decode::Int2 => Box::new(Int16Builder::new()),
                    Decode::Int4 => Box::new(Int32Builder::new()),
                    Decode::Int8 => Box::new(Int64Builder::new()),
                    Decode::Float4 => Box::new(Float32Builder::new()),
                    Decode::Float8 => Box::new(Float64Builder::new()),
                    Decode::Oid => Box::new(UInt32Builder::new()),
                    Decode::Numeric { precision, scale } => Box::new(
                        Decimal128Builder::new()
                            .with_precision_and_scale(precision, scale as i8)
                            .unwrap_or_default(),
                    ),
                    Decode::Text | Decode::Jsonb | Decode::Uuid => Box::new(StringBuilder::new()),
                    Decode::Bytes => Box::new(BinaryBuilder::new()),
                    Decode::Date => Box::new(Date32Builder::new()),
                    Decode::Time => Box::new(Time64MicrosecondBuilder::new()),
                    Decode::Timestamp => Box::new(TimestampMicrosecondBuilder::new()),
                    Decode::TimestampTz => {
                        Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                    }
                    Decode::Interval => Box::new(IntervalMonthDayNanoBuilder::new()),
                }
            })
            .collect();
        PgBatch {
            decoders: decoders.to_vec(),
            builders,
        }
    }

    fn append(&mut self, i: usize, raw: Option<&[u8]>) -> std::result::Result<(), String> {
        fn b<T: 'static>(x: &mut Box<dyn ArrayBuilder>) -> std::result::Result<&mut T, String> {
            x.as_any_mut()
                .downcast_mut::<T>()
                .ok_or_else(|| "internal error: builder of the wrong type".to_string())
        }
        let builder = &mut self.builders[i];
        let d = self.decoders[i];
        macro_rules! put {
            ($t:ty, $f:expr) => {{
                let v = raw.map($f).transpose()?;
                b::<$t>(builder)?.append_option(v);
            }};
        }
        match d {
            Decode::Bool => put!(BooleanBuilder, |r: &[u8]| be::<1>(r).map(|x| x[0] != 0)),
            Decode::Int2 => put!(Int16Builder, |r: &[u8]| be(r).map(i16::from_be_bytes)),
            Decode::Int4 => put!(Int32Builder, |r: &[u8]| be(r).map(i32::from_be_bytes)),
            Decode::Int8 => put!(Int64Builder, |r: &[u8]| be(r).map(i64::from_be_bytes)),
            Decode::Float4 => put!(Float32Builder, |r: &[u8]| be(r).map(f32::from_be_bytes)),
            Decode::Float8 => put!(Float64Builder, |r: &[u8]| be(r).map(f64::from_be_bytes)),
            Decode::Oid => put!(UInt32Builder, |r: &[u8]| be(r).map(u32::from_be_bytes)),
            Decode::Numeric { precision, scale } => {
                put!(Decimal128Builder, |r: &[u8]| numeric(r, precision, scale))
            }
            Decode::Text => put!(StringBuilder, |r: &[u8]| utf8(r).map(str::to_string)),
            Decode::Jsonb => put!(StringBuilder, |r: &[u8]| match r.split_first() {
                Some((1, rest)) => utf8(rest).map(str::to_string),
                _ => Err("unknown jsonb version".to_string()),
            }),
            Decode::Uuid => put!(StringBuilder, uuid_text),
            Decode::Bytes => put!(BinaryBuilder, |r: &[u8]| Ok::<_, String>(r.to_vec())),
            Decode::Date => put!(Date32Builder, |r: &[u8]| {
                let v = i32::from_be_bytes(be(r)?);
                if v == i32::MAX || v == i32::MIN {
                    return Err("infinite dates have no value here".to_string());
                }
                v.checked_add(PG_EPOCH_DAYS)
                    .ok_or_else(|| "date out of range".to_string())
            }),
            Decode::Time => put!(Time64MicrosecondBuilder, |r: &[u8]| be(r)
                .map(i64::from_be_bytes)),
            Decode::Timestamp | Decode::TimestampTz => {
                put!(TimestampMicrosecondBuilder, timestamp)
            }
            Decode::Interval => put!(IntervalMonthDayNanoBuilder, |r: &[u8]| {
                let b: [u8; 16] = be(r)?;
                let micros = i64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
                let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
                let months = i32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
                let nanos = micros
                    .checked_mul(1000)
                    .ok_or_else(|| "interval out of range".to_string())?;
                Ok::<_, String>(IntervalMonthDayNano::new(months, days, nanos))
            }),
        }
        Ok(())
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let arrays = self.builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::Internal {
            what: format!("PostgreSQL batch: {e}"),
        })
    }
}

/// The rows of a PostgreSQL query: their columns and batches.
pub type PgBatches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Runs `query` on the server of `source` and streams its rows.
///
/// # Errors
/// `Postgres` when connecting or preparing fails (the server's message), or
/// a column's type cannot be imported (named, with the cast to use). Each
/// batch is `Err` at a server error or a value that does not fit (with the
/// row and column); iteration stops there.
pub fn read_postgres(source: &PgSource, query: &str) -> Result<(CsvSchema, PgBatches)> {
    let mut config = postgres::Config::new();
    config
        .host(&source.host)
        .port(source.port)
        .user(&source.user)
        .dbname(&source.dbname)
        .application_name("hyperctl")
        .connect_timeout(std::time::Duration::from_secs(30));
    if let Some(p) = &source.password {
        config.password(p.0.as_bytes());
    }
    let server = format!(
        "{}@{}:{}/{}",
        source.user, source.host, source.port, source.dbname
    );
    let at = move |e: postgres::Error| pg_error(format!("{server}: {}", describe(&e)));
    let client = config.connect(NoTls).map_err(at.clone())?;
    let (schema_tx, schema_rx) = sync_channel::<SchemaMsg>(1);
    let (batch_tx, batch_rx) = sync_channel::<Result<RecordBatch>>(2);
    let query = query.to_string();
    std::thread::spawn(move || {
        if let Err(e) = stream_rows(client, &query, &at, &schema_tx, &batch_tx) {
            // Before the schema: the caller waits for it; after: for a batch.
            let _ = schema_tx.try_send(Err(e.clone_message()));
            let _ = batch_tx.send(Err(e));
        }
    });
    let (schema, _) = schema_rx.recv().map_err(|_| Error::Internal {
        what: "the PostgreSQL reader thread stopped".into(),
    })??;
    Ok((schema, Box::new(BatchStream { rx: Some(batch_rx) })))
}

type SchemaMsg = Result<(CsvSchema, Vec<Decode>)>;

/// Runs on the reader thread: prepares `query` in a read-only transaction,
/// sends the columns, then batches of [`FETCH_ROWS`] rows from a portal.
/// A closed channel (the caller is gone) ends it quietly.
fn stream_rows(
    mut client: postgres::Client,
    query: &str,
    at: &dyn Fn(postgres::Error) -> Error,
    schema_tx: &SyncSender<SchemaMsg>,
    batch_tx: &SyncSender<Result<RecordBatch>>,
) -> Result<()> {
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(at)?;
    let statement = tx.prepare(query).map_err(at)?;
    let mut columns = Vec::new();
    let mut decoders = Vec::new();
    for c in statement.columns() {
        let (ty, d) = map_type(c.name(), c.type_(), c.type_modifier())?;
        columns.push(ColumnDef::new(c.name(), ty, true));
        decoders.push(d);
    }
    let schema = CsvSchema { columns };
    let arrow = schema.table_def("public", "pg").arrow_schema();
    if schema_tx
        .send(Ok((schema.clone(), decoders.clone())))
        .is_err()
    {
        return Ok(());
    }
    let portal = tx.bind(&statement, &[]).map_err(at)?;
    let mut row_number = 0u64;
    loop {
        let rows = tx.query_portal(&portal, FETCH_ROWS).map_err(at)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut batch = PgBatch::new(&decoders);
        for row in &rows {
            row_number += 1;
            for i in 0..decoders.len() {
                let raw: Option<Raw<'_>> = row.try_get(i).map_err(at)?;
                batch.append(i, raw.map(|r| r.0)).map_err(|reason| {
                    pg_error(format!(
                        "row {row_number}, column \"{}\": {reason}",
                        schema.columns[i].name
                    ))
                })?;
            }
        }
        if batch_tx.send(batch.finish(&arrow)).is_err() {
            return Ok(());
        }
    }
}

/// The server's message (with SQLSTATE, detail and hint) or the client's
/// error and its causes; `postgres::Error`'s own text is just "db error".
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(&format!("; {detail}"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

struct BatchStream {
    rx: Option<Receiver<Result<RecordBatch>>>,
}

impl Iterator for BatchStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        let item = self.rx.as_ref()?.recv().ok();
        if matches!(item, Some(Err(_)) | None) {
            self.rx = None;
        }
        item
    }
}

impl Error {
    /// A copy of a PostgreSQL error (for the two channels a failure may
    /// have to reach).
    fn clone_message(&self) -> Error {
        match self {
            Error::Postgres { reason } => Error::Postgres {
                reason: reason.clone(),
            },
            other => pg_error(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_passwords() {
        let s = PgSource::parse("postgresql://ann@db.example:6543/sales").unwrap();
        assert_eq!(
            (s.user.as_str(), s.host.as_str(), s.port, s.dbname.as_str()),
            ("ann", "db.example", 6543, "sales")
        );
        let e = PgSource::parse("postgresql://ann:hunter2@db/sales").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("PGPASSWORD") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(PgSource::parse("mysql://x@y/z").is_err());
        assert!(PgSource::parse("postgresql://a@h:notaport/d").is_err());
        assert_eq!(format!("{:?}", Secret("pw".into())), "***");
        assert_eq!(
            pgpass_fields(r"h:5432:*:u:pa\:ss\\w"),
            ["h", "5432", "*", "u", r"pa:ss\w"]
        );
    }

    #[test]
    fn binary_numerics() {
        // 12.50: ndigits 2, weight 0, sign +, dscale 2, digits 12, 5000.
        let raw = [0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88];
        assert_eq!(numeric(&raw, 10, 2), Ok(1250));
        assert!(numeric(&raw, 3, 2).is_err());
        assert!(numeric(&raw, 10, 0).is_err(), "would need rounding");
        // -0.0001: weight -1, digit 1.
        let raw = [0, 1, 0xff, 0xff, 0x40, 0, 0, 4, 0, 1];
        assert_eq!(numeric(&raw, 10, 4), Ok(-1));
        // 10000 * 10000: ndigits 1, weight 2, digit 1.
        let raw = [0, 1, 0, 2, 0, 0, 0, 0, 0, 1];
        assert_eq!(numeric(&raw, 18, 2), Ok(100_000_000 * 100));
        assert!(numeric(&[0, 0, 0, 0, 0xC0, 0, 0, 0], 10, 0).is_err());
        assert!(numeric(&[0, 3], 10, 0).is_err());
    }
}
