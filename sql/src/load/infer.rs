//! Column type inference, and the text parsers it shares with loading.
//!
//! Each column starts as "could be any of INTEGER, BIGINT, DOUBLE PRECISION,
//! DATE, TIMESTAMP, BOOLEAN" and every non-NULL value strikes the types it
//! does not parse as; the first type left wins, TEXT if none (or if the column
//! holds no values at all). NULL fields (unquoted empty, or the NULL string)
//! make the column nullable. A quoted empty string is a value that parses as
//! no type but text.
//!
//! Invariant: a value that inference accepted for a type parses with the same
//! function when it is loaded ([`parses_as`] and `convert` share them).

use hyperctl_exec::arrow::compute::kernels::cast_utils::Parser;
use hyperctl_exec::arrow::datatypes::{Date32Type, TimestampMicrosecondType};
use hyperctl_format::SqlType;
use hyperctl_storage::ColumnDef;

const CANDIDATES: [SqlType; 6] = [
    SqlType::Int,
    SqlType::BigInt,
    SqlType::Double,
    SqlType::Date,
    SqlType::Timestamp,
    SqlType::Bool,
];

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
        SqlType::Double => parse_double(v).is_some(),
        SqlType::Date => parse_date(v).is_some(),
        SqlType::Timestamp => parse_timestamp(v).is_some(),
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
}

impl Inference {
    pub(crate) fn new(n: usize) -> Self {
        Inference {
            width: n,
            possible: vec![[true; CANDIDATES.len()]; n],
            seen_value: vec![false; n],
            nullable: vec![false; n],
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
    }

    /// The columns, named `names` (one per column).
    pub(crate) fn finish(self, names: Vec<String>) -> Vec<ColumnDef> {
        let Inference {
            possible,
            seen_value,
            nullable,
            ..
        } = self;
        names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let ty = if seen_value[i] {
                    CANDIDATES
                        .iter()
                        .zip(possible[i])
                        .find(|(_, ok)| *ok)
                        .map_or(SqlType::Text, |(t, _)| *t)
                } else {
                    // A column with no values at all says nothing about its type.
                    SqlType::Text
                };
                ColumnDef::new(name, ty, nullable[i])
            })
            .collect()
    }
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
                SqlType::Double,
                SqlType::Text,
                SqlType::Text
            ]
        );
        assert!(!cols[0].nullable && cols[2].nullable);
    }

    #[test]
    fn header_names_are_unique() {
        assert_eq!(
            unique_names(["\u{feff}id", "", "id", " x "].into_iter()),
            ["id", "column2", "id_2", "x"]
        );
    }
}
