//! Column types of the bridge: their SQL spelling, their Arrow representation,
//! their reading from Hyper's catalog, and the file format version they need.
//!
//! Invariant: every [`HyperType`] has exactly one Arrow [`DataType`], and
//! [`HyperType::arrow_type`] is the only place that says which.

use std::fmt;

use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};

use crate::error::{Error, Result};

/// A column type of a Tableau `.hyper` table (spec `hyper-api-surface.md` §2).
///
/// `Display` prints the SQL spelling hyperctl uses (`NUMERIC(18,3)`,
/// `TABLEAU.TABGEOGRAPHY`, ...); [`HyperType::parse`] reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HyperType {
    /// BOOLEAN; Arrow `Boolean`.
    Bool,
    /// SMALLINT; Arrow `Int16`.
    SmallInt,
    /// INTEGER; Arrow `Int32`.
    Int,
    /// BIGINT; Arrow `Int64`.
    BigInt,
    /// NUMERIC(precision, scale), 1 <= precision <= 38, scale <= precision;
    /// Arrow `Decimal128(precision, scale)`. Precision above 18 needs file version 3.
    Numeric {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// DOUBLE PRECISION; Arrow `Float64`.
    Double,
    /// REAL (32-bit float); Arrow `Float32`. Needs file version 4.
    Real,
    /// TEXT; Arrow `Utf8`.
    Text,
    /// VARCHAR(n), n in characters; Arrow `Utf8`.
    Varchar(u32),
    /// CHAR(n), blank-padded; Arrow `Utf8`. Values read back carry the padding.
    Char(u32),
    /// BYTES; Arrow `Binary`.
    Bytes,
    /// JSON; Arrow `Utf8`.
    Json,
    /// DATE; Arrow `Date32`.
    Date,
    /// TIME; Arrow `Time64(Microsecond)`.
    Time,
    /// TIMESTAMP; Arrow `Timestamp(Microsecond, None)`.
    Timestamp,
    /// TIMESTAMPTZ; Arrow `Timestamp(Microsecond, Some("UTC"))`.
    TimestampTz,
    /// INTERVAL; Arrow `Interval(MonthDayNano)` with whole microseconds.
    Interval,
    /// OID; Arrow `UInt32`.
    Oid,
    /// TABLEAU.TABGEOGRAPHY; Arrow `Binary` holding the geography's well-known
    /// text (WKT) in UTF-8. The wire protocol carries geography only as WKT,
    /// so the bridge never sees Tableau's internal geography blob.
    Geography,
}

/// The lowest `.hyper` file format version, and the first column that forced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileVersionChoice {
    /// The version: 2 (collation-independent storage, opened by every Tableau
    /// release since 2022.x), 3 (adds 128-bit NUMERIC) or 4 (adds 32-bit REAL).
    pub version: u8,
    /// Why not 2: `(table, column, type)` of the first column needing `version`,
    /// `None` for plain data.
    pub forced_by: Option<(String, String, HyperType)>,
}

impl fmt::Display for FileVersionChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.forced_by {
            None => write!(
                f,
                "file format version {}: the default, readable by older Tableau releases",
                self.version
            ),
            Some((table, column, ty)) => write!(
                f,
                "file format version {}: column {column:?} of {table} is {ty}, which older \
                 file versions cannot store; Tableau releases that only read version 2 will \
                 not open this file",
                self.version
            ),
        }
    }
}

/// The lowest file format version that holds `columns` of the tables:
/// 2 by default, 3 with NUMERIC precision above 18, 4 with REAL.
///
/// `tables` yields `(table name for messages, column name, type)`.
pub(crate) fn choose_file_version<'a>(
    columns: impl IntoIterator<Item = (String, &'a str, HyperType)>,
) -> FileVersionChoice {
    let mut choice = FileVersionChoice {
        version: 2,
        forced_by: None,
    };
    for (table, column, ty) in columns {
        let needed = ty.min_file_version();
        if needed > choice.version {
            choice = FileVersionChoice {
                version: needed,
                forced_by: Some((table, column.to_owned(), ty)),
            };
        }
    }
    choice
}

impl HyperType {
    /// The Arrow type that carries this column's values across the bridge.
    pub fn arrow_type(&self) -> DataType {
        match *self {
            Self::Bool => DataType::Boolean,
            Self::SmallInt => DataType::Int16,
            Self::Int => DataType::Int32,
            Self::BigInt => DataType::Int64,
            Self::Numeric { precision, scale } => DataType::Decimal128(precision, scale as i8),
            Self::Double => DataType::Float64,
            Self::Real => DataType::Float32,
            Self::Text | Self::Varchar(_) | Self::Char(_) | Self::Json => DataType::Utf8,
            Self::Bytes | Self::Geography => DataType::Binary,
            Self::Date => DataType::Date32,
            Self::Time => DataType::Time64(TimeUnit::Microsecond),
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            Self::Oid => DataType::UInt32,
        }
    }

    /// The lowest `.hyper` file format version that can store this type.
    pub fn min_file_version(&self) -> u8 {
        match *self {
            Self::Numeric { precision, .. } if precision > 18 => 3,
            Self::Real => 4,
            _ => 2,
        }
    }

    /// Parses a SQL spelling: BOOLEAN, SMALLINT, INTEGER, BIGINT, NUMERIC(p,s),
    /// DOUBLE PRECISION, REAL, TEXT, VARCHAR(n), CHAR(n), BYTES, JSON, DATE, TIME,
    /// TIMESTAMP, TIMESTAMPTZ, INTERVAL, OID, TABLEAU.TABGEOGRAPHY, the usual
    /// aliases (INT4, FLOAT8, BYTEA, DECIMAL, ...) and the Hyper API's `str(SqlType)`
    /// names (BIG_INT, SMALL_INT, TIMESTAMP_TZ, ...). Case and inner blanks do not matter.
    ///
    /// # Errors
    ///
    /// [`Error::HyperType`] for anything else, or a precision, scale or length out of range.
    pub fn parse(spelling: &str) -> Result<Self> {
        let bad = |reason: &str| Error::HyperType {
            spelling: spelling.to_owned(),
            reason: reason.to_owned(),
        };
        let norm: String = spelling
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        let (head, args) = match norm.find('(') {
            Some(open) => {
                let inner = norm[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| bad("missing closing parenthesis"))?;
                let args = inner
                    .split(',')
                    .map(|a| a.trim().parse::<u32>())
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(|_| bad("arguments must be non-negative integers"))?;
                (norm[..open].trim_end().to_owned(), args)
            }
            None => (norm, Vec::new()),
        };
        let no_args = |ty: Self| {
            if args.is_empty() {
                Ok(ty)
            } else {
                Err(bad("this type takes no arguments"))
            }
        };
        match head.as_str() {
            "BOOLEAN" | "BOOL" => no_args(Self::Bool),
            "SMALLINT" | "INT2" | "SMALL_INT" => no_args(Self::SmallInt),
            "INTEGER" | "INT" | "INT4" => no_args(Self::Int),
            "BIGINT" | "INT8" | "BIG_INT" => no_args(Self::BigInt),
            "NUMERIC" | "DECIMAL" => {
                let (precision, scale) = match args[..] {
                    [] => (38, 0),
                    [p] => (p, 0),
                    [p, s] => (p, s),
                    _ => return Err(bad("NUMERIC takes (precision, scale)")),
                };
                Self::numeric(precision, scale).ok_or_else(|| {
                    bad("NUMERIC needs 1 <= precision <= 38 and 0 <= scale <= precision")
                })
            }
            "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" => no_args(Self::Double),
            "FLOAT" => match args[..] {
                [] => Ok(Self::Double),
                [1..=24] => Ok(Self::Real),
                [25..=53] => Ok(Self::Double),
                _ => Err(bad("FLOAT(n) needs 1 <= n <= 53")),
            },
            "REAL" | "FLOAT4" => no_args(Self::Real),
            "TEXT" => no_args(Self::Text),
            "VARCHAR" | "CHARACTER VARYING" => match args[..] {
                [n] if n >= 1 => Ok(Self::Varchar(n)),
                [] => Ok(Self::Text),
                _ => Err(bad("VARCHAR takes one length of at least 1")),
            },
            "CHAR" | "CHARACTER" => match args[..] {
                [] => Ok(Self::Char(1)),
                [n] if n >= 1 => Ok(Self::Char(n)),
                _ => Err(bad("CHAR takes one length of at least 1")),
            },
            "BYTES" | "BYTEA" | "BLOB" | "VARBINARY" => no_args(Self::Bytes),
            "JSON" => no_args(Self::Json),
            "DATE" => no_args(Self::Date),
            "TIME" => no_args(Self::Time),
            "TIMESTAMP" => no_args(Self::Timestamp),
            "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP_TZ" => {
                no_args(Self::TimestampTz)
            }
            "INTERVAL" => no_args(Self::Interval),
            "OID" => no_args(Self::Oid),
            "TABLEAU.TABGEOGRAPHY" | "TABGEOGRAPHY" | "GEOGRAPHY" => no_args(Self::Geography),
            _ => Err(bad("unknown type")),
        }
    }

    /// `NUMERIC(precision, scale)` if the pair is valid in Hyper.
    pub fn numeric(precision: u32, scale: u32) -> Option<Self> {
        if (1..=38).contains(&precision) && scale <= precision {
            Some(Self::Numeric {
                precision: precision as u8,
                scale: scale as u8,
            })
        } else {
            None
        }
    }

    /// The type of a column in Hyper's catalog (`pg_attribute.atttypid` and
    /// `atttypmod`), `None` for a type the bridge does not carry (arrays, ...).
    pub(crate) fn from_catalog(oid: u32, typmod: i32) -> Option<Self> {
        let modifier = u32::try_from(typmod).ok().and_then(|m| m.checked_sub(4));
        Some(match oid {
            16 => Self::Bool,
            21 => Self::SmallInt,
            23 => Self::Int,
            20 => Self::BigInt,
            1700 => {
                let m = modifier?;
                Self::numeric(m >> 16, m & 0xffff)?
            }
            701 => Self::Double,
            700 => Self::Real,
            25 => Self::Text,
            1043 => modifier
                .filter(|n| *n >= 1)
                .map_or(Self::Text, Self::Varchar),
            1042 => Self::Char(modifier.filter(|n| *n >= 1).unwrap_or(1)),
            18 => Self::Char(1),
            17 => Self::Bytes,
            114 => Self::Json,
            1082 => Self::Date,
            1083 => Self::Time,
            1114 => Self::Timestamp,
            1184 => Self::TimestampTz,
            1186 => Self::Interval,
            26 => Self::Oid,
            5003 => Self::Geography,
            _ => return None,
        })
    }
}

impl fmt::Display for HyperType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Bool => f.write_str("BOOLEAN"),
            Self::SmallInt => f.write_str("SMALLINT"),
            Self::Int => f.write_str("INTEGER"),
            Self::BigInt => f.write_str("BIGINT"),
            Self::Numeric { precision, scale } => write!(f, "NUMERIC({precision},{scale})"),
            Self::Double => f.write_str("DOUBLE PRECISION"),
            Self::Real => f.write_str("REAL"),
            Self::Text => f.write_str("TEXT"),
            Self::Varchar(n) => write!(f, "VARCHAR({n})"),
            Self::Char(n) => write!(f, "CHAR({n})"),
            Self::Bytes => f.write_str("BYTES"),
            Self::Json => f.write_str("JSON"),
            Self::Date => f.write_str("DATE"),
            Self::Time => f.write_str("TIME"),
            Self::Timestamp => f.write_str("TIMESTAMP"),
            Self::TimestampTz => f.write_str("TIMESTAMPTZ"),
            Self::Interval => f.write_str("INTERVAL"),
            Self::Oid => f.write_str("OID"),
            Self::Geography => f.write_str("TABLEAU.TABGEOGRAPHY"),
        }
    }
}

/// A column of a `.hyper` table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HyperColumn {
    /// The column's name, as is (the bridge quotes it).
    pub name: String,
    /// Its type.
    pub sql_type: HyperType,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

impl HyperColumn {
    /// A column.
    pub fn new(name: impl Into<String>, sql_type: HyperType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            sql_type,
            nullable,
        }
    }
}

/// A table's name and columns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HyperTableDef {
    /// The schema; Tableau's own extracts use `Extract`.
    pub schema: String,
    /// The table's name; Tableau's own extracts use `Extract`.
    pub name: String,
    /// The columns in order.
    pub columns: Vec<HyperColumn>,
}

impl HyperTableDef {
    /// A table definition.
    pub fn new(
        schema: impl Into<String>,
        name: impl Into<String>,
        columns: Vec<HyperColumn>,
    ) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
            columns,
        }
    }

    /// The quoted SQL name, `"schema"."name"`.
    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// The Arrow schema of this table's batches.
    pub fn arrow_schema(&self) -> arrow::datatypes::Schema {
        arrow::datatypes::Schema::new(
            self.columns
                .iter()
                .map(|c| arrow::datatypes::Field::new(&c.name, c.sql_type.arrow_type(), c.nullable))
                .collect::<Vec<_>>(),
        )
    }
}

/// `"name"` with inner quotes doubled: an identifier (also a database path) in Hyper SQL.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [HyperType; 19] = [
        HyperType::Bool,
        HyperType::SmallInt,
        HyperType::Int,
        HyperType::BigInt,
        HyperType::Numeric {
            precision: 18,
            scale: 3,
        },
        HyperType::Double,
        HyperType::Real,
        HyperType::Text,
        HyperType::Varchar(7),
        HyperType::Char(3),
        HyperType::Bytes,
        HyperType::Json,
        HyperType::Date,
        HyperType::Time,
        HyperType::Timestamp,
        HyperType::TimestampTz,
        HyperType::Interval,
        HyperType::Oid,
        HyperType::Geography,
    ];

    #[test]
    fn spelling_round_trips() {
        for ty in ALL {
            assert_eq!(HyperType::parse(&ty.to_string()).unwrap(), ty, "{ty}");
        }
    }

    #[test]
    fn aliases_and_defaults() {
        let p = |s: &str| HyperType::parse(s).unwrap();
        assert_eq!(p("numeric"), HyperType::numeric(38, 0).unwrap());
        assert_eq!(p("decimal ( 10 , 2 )"), HyperType::numeric(10, 2).unwrap());
        assert_eq!(p("float(24)"), HyperType::Real);
        assert_eq!(p("float"), HyperType::Double);
        assert_eq!(p("int8"), HyperType::BigInt);
        assert_eq!(p("bytea"), HyperType::Bytes);
        assert_eq!(p("timestamp with time zone"), HyperType::TimestampTz);
        assert_eq!(p("character"), HyperType::Char(1));
        assert_eq!(p("tabgeography"), HyperType::Geography);
        assert_eq!(p("BIG_INT"), HyperType::BigInt);
        assert_eq!(p("TIMESTAMP_TZ"), HyperType::TimestampTz);
    }

    #[test]
    fn bad_spellings_are_errors() {
        for s in [
            "",
            "NUMERIC(39,0)",
            "NUMERIC(5,6)",
            "NUMERIC(0)",
            "NUMERIC(1,2,3)",
            "VARCHAR(0)",
            "INT(3)",
            "FLOAT(54)",
            "NUMERIC(-1)",
            "NUMERIC(3",
            "UUID",
        ] {
            assert!(
                matches!(HyperType::parse(s), Err(Error::HyperType { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn arrow_types() {
        assert_eq!(
            HyperType::numeric(38, 10).unwrap().arrow_type(),
            DataType::Decimal128(38, 10)
        );
        assert_eq!(
            HyperType::TimestampTz.arrow_type(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(HyperType::Geography.arrow_type(), DataType::Binary);
        assert_eq!(HyperType::Oid.arrow_type(), DataType::UInt32);
        assert_eq!(HyperType::Char(3).arrow_type(), DataType::Utf8);
    }

    #[test]
    fn catalog_types() {
        assert_eq!(
            HyperType::from_catalog(1700, (18 << 16 | 3) + 4),
            HyperType::numeric(18, 3)
        );
        assert_eq!(
            HyperType::from_catalog(1700, (38 << 16) + 4),
            HyperType::numeric(38, 0)
        );
        assert_eq!(
            HyperType::from_catalog(1043, 11),
            Some(HyperType::Varchar(7))
        );
        assert_eq!(HyperType::from_catalog(1042, 7), Some(HyperType::Char(3)));
        assert_eq!(HyperType::from_catalog(18, -1), Some(HyperType::Char(1)));
        assert_eq!(HyperType::from_catalog(1700, -1), None);
        assert_eq!(HyperType::from_catalog(1009, -1), None);
    }

    fn choose(types: &[HyperType]) -> FileVersionChoice {
        choose_file_version(types.iter().map(|t| ("\"t\"".to_owned(), "c", *t)))
    }

    #[test]
    fn version_2_for_plain_data() {
        let choice = choose(
            &ALL.iter()
                .copied()
                .filter(|t| *t != HyperType::Real)
                .collect::<Vec<_>>(),
        );
        assert_eq!(choice.version, 2);
        assert_eq!(choice.forced_by, None);
        assert!(choice.to_string().contains("version 2"));
        assert_eq!(choose(&[]).version, 2);
    }

    #[test]
    fn version_3_for_wide_numeric_and_4_for_real() {
        let wide = HyperType::numeric(19, 2).unwrap();
        let choice = choose(&[HyperType::Int, wide]);
        assert_eq!(choice.version, 3);
        assert_eq!(
            choice.forced_by,
            Some(("\"t\"".to_owned(), "c".to_owned(), wide))
        );
        assert!(choice.to_string().contains("NUMERIC(19,2)"), "{choice}");
        assert_eq!(choose(&[HyperType::numeric(18, 18).unwrap()]).version, 2);
        assert_eq!(choose(&[HyperType::Real]).version, 4);
        assert_eq!(choose(&[HyperType::Real, wide]).version, 4);
        assert_eq!(choose(&[wide, HyperType::Real]).version, 4);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a \"b\""), "\"a \"\"b\"\"\"");
    }
}
