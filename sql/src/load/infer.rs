//! Column type inference, and the text parsers it shares with loading.
//!
//! Each column starts as "could be any of INTEGER, BIGINT, NUMERIC, DOUBLE
//! PRECISION, DATE, TIMESTAMP, TIMESTAMPTZ, BOOLEAN" and every non-NULL value
//! strikes the types it does not parse as; the first type left wins, TEXT if
//! none (or if the column holds no values at all). NUMERIC takes plain decimal
//! numbers (no exponent) and gets the largest scale seen and precision 18, or
//! 38 when 18 digits are too few (more than 38: not NUMERIC), so `12.50` is
//! NUMERIC(18,2), exact, and not a double. TIMESTAMP takes values without a
//! UTC offset; a column where some value has one (`Z`, `+02:00`) is
//! TIMESTAMPTZ (values without one are UTC). NULL fields (unquoted empty, or the NULL string)
//! make the column nullable. A quoted empty string is a value that parses as
//! no type but text.
//!
//! Invariant: a value that inference accepted for a type parses with the same
//! function when it is loaded ([`parses_as`] and `convert` share them).

use hyperctl_exec::arrow::compute::kernels::cast_utils::Parser;
use hyperctl_exec::arrow::datatypes::{Date32Type, TimestampMicrosecondType};
use hyperctl_format::{NUMERIC_PRECISION_MAX, SqlType};
use hyperctl_storage::ColumnDef;

const CANDIDATES: [SqlType; 8] = [
    SqlType::Int,
    SqlType::BigInt,
    // The parameters are set from the values seen (see `Inference::finish`).
    SqlType::Numeric {
        precision: 18,
        scale: 0,
    },
    SqlType::Double,
    SqlType::Date,
    SqlType::Timestamp,
    SqlType::TimestampTz,
    SqlType::Bool,
];

/// Digits before and after the point of a plain decimal number
/// (`[+-]digits[.digits]`, surrounding blanks allowed), or `None`.
pub(crate) fn decimal_digits(v: &str) -> Option<(usize, usize)> {
    let t = v.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
        return None;
    }
    let significant = int.trim_start_matches('0').len();
    Some((significant, frac.len()))
}

/// A plain decimal number as NUMERIC(precision, scale): extra fraction
/// digits are rounded half away from zero (as PostgreSQL does); `None` when
/// it is not a number or needs more than `precision - scale` integer digits.
pub(crate) fn parse_decimal(v: &str, precision: u8, scale: u8) -> Option<i128> {
    decimal_digits(v)?;
    let t = v.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let scale = usize::from(scale);
    let mut value: i128 = 0;
    for b in int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale))
    {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    if frac.as_bytes().get(scale).is_some_and(|&b| b >= b'5') {
        value = value.checked_add(1)?;
    }
    if value >= 10i128.checked_pow(u32::from(precision))? {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Whether a timestamp spelling carries a UTC offset or `Z`.
fn has_offset(v: &str) -> bool {
    let t = v.trim().as_bytes();
    t.len() > 10 && t[10..].iter().any(|b| b"Zz+-".contains(b))
}

pub(crate) fn parse_int(v: &str) -> Option<i32> {
    v.trim().parse().ok()
}

pub(crate) fn parse_bigint(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

pub(crate) fn parse_date(v: &str) -> Option<i32> {
    Date32Type::parse(v)
}

pub(crate) fn parse_timestamp(v: &str) -> Option<i64> {
    TimestampMicrosecondType::parse(v)
}

pub(crate) fn parse_double(v: &str) -> Option<f64> {
    let t = v.trim();
    // Rust accepts "inf"/"nan" spellings that are not numbers in a CSV column
    // of text; only digits, sign, point and exponent count.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    t.parse().ok()
}

/// Hyper's boolean spellings.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parses_as(ty: SqlType, v: &str) -> bool {
    match ty {
        SqlType::Int => parse_int(v).is_some(),
        SqlType::BigInt => parse_bigint(v).is_some(),
        SqlType::Numeric { .. } => {
            decimal_digits(v).is_some_and(|(i, f)| i + f <= usize::from(NUMERIC_PRECISION_MAX))
        }
        SqlType::Double => parse_double(v).is_some(),
        // Arrow's date parser takes a timestamp's date part; a column of
        // timestamps must not become DATE.
        SqlType::Date => !v.trim().contains([' ', 'T', ':']) && parse_date(v).is_some(),
        SqlType::Timestamp => !has_offset(v) && parse_timestamp(v).is_some(),
        SqlType::TimestampTz => parse_timestamp(v).is_some(),
        SqlType::Bool => parse_bool(v).is_some(),
        _ => true,
    }
}

/// What the values seen so far allow for each column.
#[derive(Debug)]
pub(crate) struct Inference {
    width: usize,
    possible: Vec<[bool; CANDIDATES.len()]>,
    seen_value: Vec<bool>,
    nullable: Vec<bool>,
    /// Per column, the most integer and fraction digits of its numbers.
    digits: Vec<(usize, usize)>,
}

impl Inference {
    pub(crate) fn new(n: usize) -> Self {
        Inference {
            width: n,
            possible: vec![[true; CANDIDATES.len()]; n],
            seen_value: vec![false; n],
            nullable: vec![false; n],
            digits: vec![(0, 0); n],
        }
    }

    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Takes what `other` saw (another part of the same file).
    pub(crate) fn merge(&mut self, other: Inference) {
        for i in 0..self.width.min(other.width) {
            for c in 0..CANDIDATES.len() {
                self.possible[i][c] &= other.possible[i][c];
            }
            self.seen_value[i] |= other.seen_value[i];
            self.digits[i].0 = self.digits[i].0.max(other.digits[i].0);
            self.digits[i].1 = self.digits[i].1.max(other.digits[i].1);
            self.nullable[i] |= other.nullable[i];
        }
    }

    /// Takes one field of column `i`: `None` is NULL.
    pub(crate) fn observe(&mut self, i: usize, value: Option<&str>) {
        let Some(v) = value else {
            self.nullable[i] = true;
            return;
        };
        self.seen_value[i] = true;
        for (c, ty) in CANDIDATES.iter().enumerate() {
            if self.possible[i][c] && !parses_as(*ty, v) {
                self.possible[i][c] = false;
            }
        }
        if let Some((int, frac)) = decimal_digits(v) {
            self.digits[i].0 = self.digits[i].0.max(int);
            self.digits[i].1 = self.digits[i].1.max(frac);
        }
    }

    /// The columns, named `names` (one per column).
    pub(crate) fn finish(self, names: Vec<String>) -> Vec<ColumnDef> {
        let Inference {
            possible,
            seen_value,
            nullable,
            digits,
            ..
        } = self;
        names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let (int, frac) = digits[i];
                let numeric = numeric_type(int, frac);
                let ty = if seen_value[i] {
                    CANDIDATES
                        .iter()
                        .zip(possible[i])
                        .filter(|(t, _)| !matches!(t, SqlType::Numeric { .. }) || numeric.is_some())
                        .find(|(_, ok)| *ok)
                        .map_or(SqlType::Text, |(t, _)| match t {
                            SqlType::Numeric { .. } => numeric.unwrap_or(SqlType::Double),
                            t => *t,
                        })
                } else {
                    // A column with no values at all says nothing about its type.
                    SqlType::Text
                };
                ColumnDef::new(name, ty, nullable[i])
            })
            .collect()
    }
}

/// NUMERIC wide enough for `int` integer and `frac` fraction digits:
/// precision 18 when that is enough, else 38; `None` past 38.
fn numeric_type(int: usize, frac: usize) -> Option<SqlType> {
    let precision = if int + frac <= 18 {
        18
    } else {
        usize::from(NUMERIC_PRECISION_MAX)
    };
    let scale = u8::try_from(frac).ok()?;
    let precision = u8::try_from(precision).ok()?;
    if int + frac > usize::from(precision) {
        return None;
    }
    SqlType::numeric(precision, scale).ok()
}

/// Header names, trimmed, empty ones named by position, duplicates suffixed.
pub(crate) fn unique_names<'a>(header: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in header.enumerate() {
        let base = match raw.trim().trim_start_matches('\u{feff}') {
            "" => format!("column{}", i + 1),
            s => s.to_string(),
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowest_type_wins() {
        let mut inf = Inference::new(4);
        for row in [
            [Some("1"), Some("1.5"), None, Some("2024-01-02")],
            [Some("3000000000"), Some("2"), None, Some("")],
        ] {
            for (i, v) in row.iter().enumerate() {
                inf.observe(i, *v);
            }
        }
        let cols = inf.finish(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        let types: Vec<SqlType> = cols.iter().map(|c| c.ty).collect();
        assert_eq!(
            types,
            [
                SqlType::BigInt,
                SqlType::Numeric {
                    precision: 18,
                    scale: 1
                },
                SqlType::Text,
                SqlType::Text
            ]
        );
        assert!(!cols[0].nullable && cols[2].nullable);
    }

    fn infer(values: &[&str]) -> SqlType {
        let mut inf = Inference::new(1);
        for v in values {
            inf.observe(0, Some(v));
        }
        inf.finish(vec!["c".into()])[0].ty
    }

    #[test]
    fn numbers_dates_and_times() {
        let numeric = |precision, scale| SqlType::Numeric { precision, scale };
        assert_eq!(infer(&["1", "-2"]), SqlType::Int);
        assert_eq!(infer(&["1", "3000000000"]), SqlType::BigInt);
        assert_eq!(infer(&["12.50", "3"]), numeric(18, 2));
        assert_eq!(infer(&["12345678901234567890"]), numeric(38, 0));
        assert_eq!(infer(&["0.000000000000000000001", "1"]), numeric(38, 21));
        assert_eq!(infer(&["1e5", "2.5"]), SqlType::Double);
        assert_eq!(
            infer(&["1234567890123456789012345678901234567890.5"]),
            SqlType::Double
        );
        assert_eq!(infer(&["2024-01-02"]), SqlType::Date);
        assert_eq!(
            infer(&["2024-01-02 03:04:05", "2024-01-02"]),
            SqlType::Timestamp
        );
        assert_eq!(
            infer(&[
                "2024-01-02 03:04:05+02:00",
                "2024-01-02T03:04:05Z",
                "2024-01-02 03:04:05"
            ]),
            SqlType::TimestampTz
        );
        assert_eq!(infer(&["true", "f"]), SqlType::Bool);
        assert_eq!(infer(&["1", "x"]), SqlType::Text);
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("12.50", 18, 2), Some(1250));
        assert_eq!(parse_decimal(" -0.125 ", 18, 2), Some(-13));
        assert_eq!(parse_decimal("+7", 5, 2), Some(700));
        assert_eq!(parse_decimal("999.995", 5, 2), None);
        assert_eq!(parse_decimal("1e3", 18, 0), None);
        assert_eq!(parse_decimal(".", 18, 0), None);
        assert_eq!(parse_decimal(".5", 18, 1), Some(5));
    }

    #[test]
    fn header_names_are_unique() {
        assert_eq!(
            unique_names(["\u{feff}id", "", "id", " x "].into_iter()),
            ["id", "column2", "id_2", "x"]
        );
    }
}
