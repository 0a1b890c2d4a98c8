//! The SQL type system of hyperctl (Tableau Hyper's types) and its mapping to Arrow.
//!
//! Every column has a [`SqlType`]. In memory, values travel as Arrow arrays of
//! [`SqlType::to_arrow`]'s data type; types that share an Arrow type (TEXT,
//! VARCHAR(n), CHAR(n), JSON all are `Utf8`) are told apart by the field
//! metadata key [`SQL_TYPE_METADATA_KEY`].
//!
//! Invariant: `SqlType::parse(&t.to_string()) == Ok(t)` for every valid type, and
//! `SqlType::from_arrow_field(&t.arrow_field(..)) == Ok(t)`.

use std::fmt;
use std::str::FromStr;

use arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};

use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};

/// Field metadata key that carries the SQL spelling of a column's type.
pub const SQL_TYPE_METADATA_KEY: &str = "hyperctl.sql_type";

/// Largest precision of NUMERIC (128-bit storage).
pub const NUMERIC_PRECISION_MAX: u8 = 38;

/// A SQL column type, as Tableau Hyper has them (see spec/hyper-api-surface.md, 2).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// BOOLEAN.
    Bool,
    /// SMALLINT, 16 bit.
    SmallInt,
    /// INTEGER, 32 bit.
    Int,
    /// BIGINT, 64 bit.
    BigInt,
    /// NUMERIC(precision, scale); 1 <= precision <= 38, scale <= precision.
    Numeric {
        /// Total number of decimal digits.
        precision: u8,
        /// Digits after the decimal point.
        scale: u8,
    },
    /// DOUBLE PRECISION, 64-bit float.
    Double,
    /// REAL, 32-bit float.
    Real,
    /// TEXT, UTF-8 of any length.
    Text,
    /// VARCHAR(n): UTF-8 of at most `max_length` characters.
    Varchar {
        /// Maximum length in characters.
        max_length: u32,
    },
    /// CHAR(n): UTF-8, blank-padded to `length` characters.
    Char {
        /// Length in characters.
        length: u32,
    },
    /// BYTES (BYTEA): arbitrary bytes.
    Bytes,
    /// JSON, stored as text.
    Json,
    /// DATE.
    Date,
    /// TIME, microseconds since midnight.
    Time,
    /// TIMESTAMP without time zone, microseconds.
    Timestamp,
    /// TIMESTAMPTZ: a UTC instant, microseconds.
    TimestampTz,
    /// INTERVAL: months, days and microseconds, independent components.
    Interval,
    /// OID, unsigned 32 bit.
    Oid,
    /// TABLEAU.TABGEOGRAPHY, Tableau's geography blob.
    Geography,
    /// An array of the element type (Hyper's `array(integer)`), one
    /// dimension; an Arrow `List`. Arrays live only in query results: Hyper
    /// does not persist them. Built with [`SqlType::array_of`].
    Array(&'static SqlType),
}

/// The element types of the array types made so far: each is leaked once,
/// so that `SqlType` stays `Copy` (there are few distinct element types).
static ARRAY_ELEMENTS: std::sync::Mutex<Vec<&'static SqlType>> = std::sync::Mutex::new(Vec::new());

impl SqlType {
    /// The array type of `element`s. VARCHAR(n) elements are TEXT (Hyper's
    /// `array(text)`).
    ///
    /// # Errors
    /// `InvalidType` for an array of arrays (Hyper has one dimension only).
    pub fn array_of(element: SqlType) -> Result<SqlType> {
        let element = match element {
            SqlType::Array(_) => {
                return Err(Error::InvalidType {
                    spelling: format!("{element}[]"),
                    reason: "Multi-dimensional arrays are not supported".into(),
                });
            }
            SqlType::Varchar { .. } => SqlType::Text,
            other => other,
        };
        let mut known = ARRAY_ELEMENTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let interned = match known.iter().find(|t| ***t == element) {
            Some(t) => *t,
            None => {
                let t: &'static SqlType = Box::leak(Box::new(element));
                known.push(t);
                t
            }
        };
        Ok(SqlType::Array(interned))
    }

    /// The element type of an array type.
    pub fn element(&self) -> Option<SqlType> {
        match self {
            SqlType::Array(e) => Some(**e),
            _ => None,
        }
    }

    /// NUMERIC(precision, scale), checked.
    ///
    /// # Errors
    /// `InvalidType` unless 1 <= precision <= 38 and scale <= precision.
    pub fn numeric(precision: u8, scale: u8) -> Result<SqlType> {
        let spelling = || format!("NUMERIC({precision},{scale})");
        if precision == 0 || precision > NUMERIC_PRECISION_MAX {
            return Err(Error::InvalidType {
                spelling: spelling(),
                reason: format!("precision must be between 1 and {NUMERIC_PRECISION_MAX}"),
            });
        }
        if scale > precision {
            return Err(Error::InvalidType {
                spelling: spelling(),
                reason: "scale must be between 0 and the precision".into(),
            });
        }
        Ok(SqlType::Numeric { precision, scale })
    }

    /// Every type that can be stored, with representative parameters (for
    /// tests and docs); no arrays, which are never stored.
    pub fn examples() -> Vec<SqlType> {
        use SqlType::*;
        vec![
            Bool,
            SmallInt,
            Int,
            BigInt,
            Numeric {
                precision: 18,
                scale: 3,
            },
            Numeric {
                precision: 38,
                scale: 10,
            },
            Double,
            Real,
            Text,
            Varchar { max_length: 20 },
            Char { length: 4 },
            Bytes,
            Json,
            Date,
            Time,
            Timestamp,
            TimestampTz,
            Interval,
            Oid,
            Geography,
        ]
    }

    /// The Arrow data type that holds values of this type in memory.
    pub fn to_arrow(&self) -> DataType {
        match *self {
            SqlType::Bool => DataType::Boolean,
            SqlType::SmallInt => DataType::Int16,
            SqlType::Int => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Numeric { precision, scale } => DataType::Decimal128(precision, scale as i8),
            SqlType::Double => DataType::Float64,
            SqlType::Real => DataType::Float32,
            SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
                DataType::Utf8
            }
            SqlType::Bytes | SqlType::Geography => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time64(TimeUnit::Microsecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqlType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            SqlType::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            SqlType::Oid => DataType::UInt32,
            SqlType::Array(e) => DataType::List(std::sync::Arc::new(Field::new_list_field(
                e.to_arrow(),
                true,
            ))),
        }
    }

    /// An Arrow field of this type, with the SQL type in its metadata.
    pub fn arrow_field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.to_arrow(), nullable)
            .with_metadata([(SQL_TYPE_METADATA_KEY, self.to_string())])
    }

    /// The SQL type of an Arrow field: from its metadata when present, else the
    /// natural SQL type of its data type.
    ///
    /// # Errors
    /// `InvalidType` for a metadata spelling we do not know, `TypeMismatch` when
    /// the metadata type does not fit the Arrow type, or an Arrow type with no
    /// SQL equivalent.
    pub fn from_arrow_field(field: &Field) -> Result<SqlType> {
        let Some(spelling) = field.metadata().get(SQL_TYPE_METADATA_KEY) else {
            return SqlType::from_arrow(field.data_type());
        };
        let ty = SqlType::parse(spelling)?;
        if &ty.to_arrow() != field.data_type() {
            return Err(Error::TypeMismatch {
                sql_type: ty.to_string(),
                arrow_type: field.data_type().to_string(),
            });
        }
        Ok(ty)
    }

    /// The natural SQL type of an Arrow data type (Utf8 is TEXT, Binary is BYTES).
    ///
    /// # Errors
    /// `TypeMismatch` for Arrow types with no SQL equivalent (lists, unions, ...).
    pub fn from_arrow(data_type: &DataType) -> Result<SqlType> {
        Ok(match data_type {
            DataType::Boolean => SqlType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => SqlType::SmallInt,
            DataType::Int32 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 => SqlType::BigInt,
            DataType::UInt32 => SqlType::Oid,
            DataType::Decimal128(p, s) if *s >= 0 => SqlType::numeric(*p, *s as u8)?,
            DataType::Float16 | DataType::Float32 => SqlType::Real,
            DataType::Float64 => SqlType::Double,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::Text,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SqlType::Bytes,
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, None) => SqlType::Timestamp,
            DataType::Timestamp(_, Some(_)) => SqlType::TimestampTz,
            DataType::Interval(_) => SqlType::Interval,
            DataType::List(f) => SqlType::array_of(SqlType::from_arrow(f.data_type())?)?,
            other => {
                return Err(Error::TypeMismatch {
                    sql_type: "(none)".into(),
                    arrow_type: other.to_string(),
                });
            }
        })
    }

    /// The PostgreSQL/Hyper type OID.
    pub fn oid(&self) -> u32 {
        match *self {
            SqlType::Bool => 16,
            SqlType::SmallInt => 21,
            SqlType::Int => 23,
            SqlType::BigInt => 20,
            SqlType::Numeric { .. } => 1700,
            SqlType::Double => 701,
            SqlType::Real => 700,
            SqlType::Text => 25,
            SqlType::Varchar { .. } => 1043,
            SqlType::Char { length: 1 } => 18,
            SqlType::Char { .. } => 1042,
            SqlType::Bytes => 17,
            SqlType::Json => 114,
            SqlType::Date => 1082,
            SqlType::Time => 1083,
            SqlType::Timestamp => 1114,
            SqlType::TimestampTz => 1184,
            SqlType::Interval => 1186,
            SqlType::Oid => 26,
            SqlType::Geography => 5003,
            // PostgreSQL's array type OIDs (`_int4`, ...), which hyperd uses.
            SqlType::Array(e) => match e {
                SqlType::Bool => 1000,
                SqlType::SmallInt => 1005,
                SqlType::Int => 1007,
                SqlType::BigInt => 1016,
                SqlType::Numeric { .. } => 1231,
                SqlType::Double => 1022,
                SqlType::Real => 1021,
                SqlType::Varchar { .. } => 1015,
                SqlType::Char { .. } => 1014,
                SqlType::Bytes => 1001,
                SqlType::Json => 199,
                SqlType::Date => 1182,
                SqlType::Time => 1183,
                SqlType::Timestamp => 1115,
                SqlType::TimestampTz => 1185,
                SqlType::Interval => 1187,
                SqlType::Oid => 1028,
                _ => 1009,
            },
        }
    }

    /// True for SMALLINT, INTEGER, BIGINT.
    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::SmallInt | SqlType::Int | SqlType::BigInt)
    }

    /// True for the integer, NUMERIC and floating-point types.
    pub fn is_numeric(&self) -> bool {
        self.is_integer()
            || matches!(
                self,
                SqlType::Numeric { .. } | SqlType::Double | SqlType::Real
            )
    }

    /// True for TEXT, VARCHAR, CHAR and JSON.
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json
        )
    }

    /// Writes the type as a tag byte and its parameters (catalog encoding).
    pub fn encode(&self, w: &mut ByteWriter) {
        w.put_u8(self.tag());
        match *self {
            SqlType::Numeric { precision, scale } => {
                w.put_u8(precision);
                w.put_u8(scale);
            }
            SqlType::Varchar { max_length: n } | SqlType::Char { length: n } => w.put_u32(n),
            SqlType::Array(e) => e.encode(w),
            _ => {}
        }
    }

    /// Reads a type written by [`SqlType::encode`].
    ///
    /// # Errors
    /// `Corrupt` for an unknown tag, out-of-range parameters or short input.
    pub fn decode(r: &mut ByteReader<'_>) -> Result<SqlType> {
        let at = r.offset();
        let tag = r.u8("type tag")?;
        let ty = match tag {
            4 => {
                let precision = r.u8("numeric precision")?;
                let scale = r.u8("numeric scale")?;
                SqlType::numeric(precision, scale)
                    .map_err(|e| Error::corrupt(at, format!("type: {e}")))?
            }
            9 => SqlType::Varchar {
                max_length: r.u32("varchar length")?,
            },
            10 => SqlType::Char {
                length: r.u32("char length")?,
            },
            21 => {
                let element = Self::decode(r)?;
                SqlType::array_of(element).map_err(|e| Error::corrupt(at, format!("type: {e}")))?
            }
            _ => Self::from_plain_tag(tag)
                .ok_or_else(|| Error::corrupt(at, format!("unknown type tag {tag}")))?,
        };
        Ok(ty)
    }

    fn tag(&self) -> u8 {
        match self {
            SqlType::Bool => 1,
            SqlType::SmallInt => 2,
            SqlType::Int => 3,
            SqlType::BigInt => 20,
            SqlType::Numeric { .. } => 4,
            SqlType::Double => 5,
            SqlType::Real => 6,
            SqlType::Text => 8,
            SqlType::Varchar { .. } => 9,
            SqlType::Char { .. } => 10,
            SqlType::Bytes => 11,
            SqlType::Json => 12,
            SqlType::Date => 13,
            SqlType::Time => 14,
            SqlType::Timestamp => 15,
            SqlType::TimestampTz => 16,
            SqlType::Interval => 17,
            SqlType::Oid => 18,
            SqlType::Geography => 19,
            SqlType::Array(_) => 21,
        }
    }

    fn from_plain_tag(tag: u8) -> Option<SqlType> {
        [
            SqlType::Bool,
            SqlType::SmallInt,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::Real,
            SqlType::Text,
            SqlType::Bytes,
            SqlType::Json,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::TimestampTz,
            SqlType::Interval,
            SqlType::Oid,
            SqlType::Geography,
        ]
        .into_iter()
        .find(|t| t.tag() == tag)
    }

    /// Parses a SQL spelling: `int`, `INTEGER`, `numeric(10, 2)`, `varchar(5)`,
    /// `double precision`, `timestamp with time zone`, `float(24)`, ...
    ///
    /// # Errors
    /// `InvalidType` naming the spelling and what is wrong with it.
    pub fn parse(spelling: &str) -> Result<SqlType> {
        let invalid = |reason: &str| Error::InvalidType {
            spelling: spelling.to_string(),
            reason: reason.to_string(),
        };
        let lower = spelling.trim().to_ascii_lowercase();
        if let Some(element) = lower.strip_suffix("[]") {
            let element = SqlType::parse(element)?;
            return SqlType::array_of(element).map_err(|e| match e {
                Error::InvalidType { reason, .. } => invalid(&reason),
                other => other,
            });
        }
        let (name, params) = match lower.find('(') {
            Some(open) => {
                let close = lower
                    .rfind(')')
                    .filter(|c| *c > open && lower[c + 1..].trim().is_empty())
                    .ok_or_else(|| invalid("unbalanced parentheses"))?;
                (
                    lower[..open].trim().to_string(),
                    Some(&lower[open + 1..close]),
                )
            }
            None => (lower.clone(), None),
        };
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let params: Vec<u32> = match params {
            None => Vec::new(),
            Some(p) => p
                .split(',')
                .map(|x| x.trim().parse::<u32>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| invalid("type parameters must be whole numbers"))?,
        };
        parse_named(&name, &params).map_err(|reason| invalid(&reason))
    }

    /// The SQL spelling of this type in Hyper's catalog style (`BIGINT`,
    /// `NUMERIC(18,3)`, `TEXT`, ...); same as `Display`.
    pub fn sql_name(&self) -> String {
        self.to_string()
    }
}

fn param(params: &[u32], i: usize, default: u32) -> u32 {
    params.get(i).copied().unwrap_or(default)
}

fn parse_named(name: &str, params: &[u32]) -> std::result::Result<SqlType, String> {
    let max_params = match name {
        "numeric" | "decimal" => 2,
        "varchar" | "character varying" | "char" | "character" | "bpchar" | "float" => 1,
        _ => 0,
    };
    if params.len() > max_params {
        return Err(format!("{name} takes at most {max_params} parameters"));
    }
    let length = |what: &str| {
        let n = param(params, 0, 1);
        if n == 0 {
            Err(format!("length for type {what} must be at least 1"))
        } else {
            Ok(n)
        }
    };
    Ok(match name {
        "bool" | "boolean" => SqlType::Bool,
        "smallint" | "int2" => SqlType::SmallInt,
        "int" | "integer" | "int4" => SqlType::Int,
        "bigint" | "int8" => SqlType::BigInt,
        "numeric" | "decimal" => {
            let p = param(params, 0, 38);
            let s = param(params, 1, 0);
            let p = u8::try_from(p).map_err(|_| "precision out of range".to_string())?;
            let s = u8::try_from(s).map_err(|_| "scale out of range".to_string())?;
            SqlType::numeric(p, s).map_err(|e| match e {
                Error::InvalidType { reason, .. } => reason,
                other => other.to_string(),
            })?
        }
        "double precision" | "double" | "float8" => SqlType::Double,
        "float" => match param(params, 0, 53) {
            1..=24 => SqlType::Real,
            25..=53 => SqlType::Double,
            _ => return Err("precision for type float must be between 1 and 53".into()),
        },
        "real" | "float4" => SqlType::Real,
        "text" | "string" => SqlType::Text,
        "varchar" | "character varying" if params.is_empty() => SqlType::Text,
        "varchar" | "character varying" => SqlType::Varchar {
            max_length: length("varchar")?,
        },
        "char" | "character" | "bpchar" => SqlType::Char {
            length: length("char")?,
        },
        "bytes" | "bytea" | "blob" | "varbinary" => SqlType::Bytes,
        "json" => SqlType::Json,
        "date" => SqlType::Date,
        "time" | "time without time zone" => SqlType::Time,
        "timestamp" | "timestamp without time zone" => SqlType::Timestamp,
        "timestamptz" | "timestamp with time zone" => SqlType::TimestampTz,
        "interval" => SqlType::Interval,
        "oid" => SqlType::Oid,
        "geography" | "tabgeography" | "tableau.tabgeography" => SqlType::Geography,
        _ => return Err("unknown type name".into()),
    })
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Bool => f.write_str("BOOLEAN"),
            SqlType::SmallInt => f.write_str("SMALLINT"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Numeric { precision, scale } => write!(f, "NUMERIC({precision},{scale})"),
            SqlType::Double => f.write_str("DOUBLE PRECISION"),
            SqlType::Real => f.write_str("REAL"),
            SqlType::Text => f.write_str("TEXT"),
            SqlType::Varchar { max_length } => write!(f, "VARCHAR({max_length})"),
            SqlType::Char { length } => write!(f, "CHAR({length})"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Json => f.write_str("JSON"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::TimestampTz => f.write_str("TIMESTAMPTZ"),
            SqlType::Interval => f.write_str("INTERVAL"),
            SqlType::Oid => f.write_str("OID"),
            SqlType::Geography => f.write_str("TABLEAU.TABGEOGRAPHY"),
            SqlType::Array(e) => write!(f, "{e}[]"),
        }
    }
}

impl FromStr for SqlType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        SqlType::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parses_back_and_arrow_fields_round_trip() {
        let arrays = [
            SqlType::array_of(SqlType::Int).unwrap(),
            SqlType::array_of(SqlType::Char { length: 3 }).unwrap(),
            SqlType::array_of(SqlType::numeric(5, 1).unwrap()).unwrap(),
        ];
        for ty in SqlType::examples().into_iter().chain(arrays) {
            assert_eq!(SqlType::parse(&ty.to_string()).unwrap(), ty, "{ty}");
            let field = ty.arrow_field("c", true);
            assert_eq!(SqlType::from_arrow_field(&field).unwrap(), ty);
            let mut w = ByteWriter::new();
            ty.encode(&mut w);
            let bytes = w.into_inner();
            let mut r = ByteReader::new(&bytes, 0);
            assert_eq!(SqlType::decode(&mut r).unwrap(), ty);
            r.finish("type").unwrap();
        }
    }

    #[test]
    fn spellings() {
        assert_eq!(SqlType::parse("INT4").unwrap(), SqlType::Int);
        assert_eq!(
            SqlType::parse(" Numeric ( 10 , 2 ) ").unwrap(),
            SqlType::numeric(10, 2).unwrap()
        );
        assert_eq!(
            SqlType::parse("numeric").unwrap(),
            SqlType::numeric(38, 0).unwrap()
        );
        assert_eq!(SqlType::parse("float(24)").unwrap(), SqlType::Real);
        assert_eq!(SqlType::parse("float").unwrap(), SqlType::Double);
        assert_eq!(
            SqlType::parse("character").unwrap(),
            SqlType::Char { length: 1 }
        );
        assert_eq!(
            SqlType::parse("timestamp  with time zone").unwrap(),
            SqlType::TimestampTz
        );
        assert_eq!(SqlType::parse("varchar").unwrap(), SqlType::Text);
    }

    #[test]
    fn bad_spellings_are_errors() {
        for bad in [
            "numeric(39)",
            "numeric(5,6)",
            "numeric(0)",
            "varchar(0)",
            "int(3)",
            "float(54)",
            "blob(",
            "nope",
            "numeric(a)",
            "varchar(99999999999)",
        ] {
            assert!(SqlType::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn arrays_have_one_dimension() {
        let ints = SqlType::parse("int[]").unwrap();
        assert_eq!(ints.element(), Some(SqlType::Int));
        assert_eq!(ints.to_string(), "INTEGER[]");
        assert_eq!(ints.oid(), 1007);
        assert_eq!(
            SqlType::parse("varchar(3)[]").unwrap(),
            SqlType::array_of(SqlType::Text).unwrap()
        );
        assert!(SqlType::parse("int[][]").is_err());
        assert!(SqlType::array_of(ints).is_err());
    }

    #[test]
    fn decode_rejects_unknown_tags() {
        for bytes in [&[0u8][..], &[99], &[4, 40, 0], &[4, 10, 11], &[9, 1]] {
            let mut r = ByteReader::new(bytes, 0);
            assert!(SqlType::decode(&mut r).is_err(), "{bytes:?}");
        }
    }
}
