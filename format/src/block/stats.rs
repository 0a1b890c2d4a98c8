//! Small materialized aggregates of one block column (row count, null count,
//! min, max), kept in the catalog so that scans can skip blocks.
//!
//! Invariant: for every non-null value `v` of the block, `min <= v <= max` in
//! the type's SQL order ([`StatValue::sql_cmp`]); `None` is an unknown bound.
//! So [`ColumnStats::may_match`] never rules out a block that holds a match.
//!
//! # Layout (written by [`ColumnStats::write_to`])
//!
//! `rows` (u32), `null_count` (u32), then `min` and `max`, each a tag byte and
//! its value: 0 none; 1 bool (u8, 0 or 1); 2 int (i64); 3 int128 (i128);
//! 4 float (f64 bits, u64); 5 bytes (u32 length, then the bytes). Integers
//! little-endian.

use std::cmp::Ordering;
use std::ops::Bound;

use arrow::array::Array;

use super::values::{Kind, Prepared, Values, float_of_key, prepare};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::types::SqlType;

/// Longest string or byte value kept as a bound; longer ones keep a prefix
/// (min) or a short upper bound (max).
pub const STAT_BYTES_MAX: usize = 64;

/// A value in its type's SQL order: integers, dates, times, timestamps and
/// OIDs as `Int`; NUMERIC as `Int128` (unscaled, the column's scale); REAL and
/// DOUBLE as `Float`; BOOLEAN as `Bool`; strings and bytes as `Bytes`
/// (bytewise order). INTERVAL has no bounds (its parts do not order alone).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum StatValue {
    /// BOOLEAN: false < true.
    Bool(bool),
    /// Integer-like types.
    Int(i64),
    /// NUMERIC, unscaled.
    Int128(i128),
    /// REAL and DOUBLE PRECISION: -0.0 equals 0.0, NaN is above everything
    /// and equal to itself (PostgreSQL's and Hyper's sort order).
    Float(f64),
    /// Strings (UTF-8 bytes) and byte strings, bytewise.
    Bytes(Vec<u8>),
}

impl StatValue {
    /// SQL order of two values of the same type; None for values of
    /// different types (Int and Int128 compare as numbers).
    pub fn sql_cmp(&self, other: &StatValue) -> Option<Ordering> {
        use StatValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int128(a), Int128(b)) => Some(a.cmp(b)),
            (Int(a), Int128(b)) => Some(i128::from(*a).cmp(b)),
            (Int128(a), Int(b)) => Some(a.cmp(&i128::from(*b))),
            (Float(a), Float(b)) => Some(float_cmp(*a, *b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    fn write_to(value: Option<&StatValue>, w: &mut ByteWriter) {
        match value {
            None => w.put_u8(0),
            Some(StatValue::Bool(b)) => {
                w.put_u8(1);
                w.put_u8(u8::from(*b));
            }
            Some(StatValue::Int(v)) => {
                w.put_u8(2);
                w.put_raw(&v.to_le_bytes());
            }
            Some(StatValue::Int128(v)) => {
                w.put_u8(3);
                w.put_raw(&v.to_le_bytes());
            }
            Some(StatValue::Float(v)) => {
                w.put_u8(4);
                w.put_u64(v.to_bits());
            }
            Some(StatValue::Bytes(v)) => {
                w.put_u8(5);
                w.put_bytes(v);
            }
        }
    }

    fn read_from(r: &mut ByteReader<'_>, what: &str) -> Result<Option<StatValue>> {
        let at = r.offset();
        Ok(Some(match r.u8(what)? {
            0 => return Ok(None),
            1 => match r.u8(what)? {
                b @ (0 | 1) => StatValue::Bool(b == 1),
                b => return Err(r.error(format!("{what}: boolean byte {b}"))),
            },
            2 => StatValue::Int(Kind::I64.read_key(r.raw(8, what)?) as i64),
            3 => StatValue::Int128(Kind::I128.read_key(r.raw(16, what)?)),
            4 => StatValue::Float(f64::from_bits(r.u64(what)?)),
            5 => StatValue::Bytes(r.bytes(what)?.to_vec()),
            tag => return Err(Error::corrupt(at, format!("{what}: unknown tag {tag}"))),
        }))
    }
}

impl PartialEq for StatValue {
    /// Same variant and equal in SQL order (so NaN == NaN, -0.0 == 0.0).
    fn eq(&self, other: &StatValue) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.sql_cmp(other) == Some(Ordering::Equal)
    }
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // -0.0 == 0.0 here, as in SQL.
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A range of values a scan looks for (`lower <= v <= upper`, per bound kind).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRange {
    /// Lowest value wanted.
    pub lower: Bound<StatValue>,
    /// Highest value wanted.
    pub upper: Bound<StatValue>,
}

impl ColumnRange {
    /// A range from its bounds.
    pub fn new(lower: Bound<StatValue>, upper: Bound<StatValue>) -> ColumnRange {
        ColumnRange { lower, upper }
    }

    /// Every non-null value (`IS NOT NULL`).
    pub fn all() -> ColumnRange {
        ColumnRange::new(Bound::Unbounded, Bound::Unbounded)
    }

    /// Exactly `value` (`= value`).
    pub fn eq(value: StatValue) -> ColumnRange {
        ColumnRange::new(Bound::Included(value.clone()), Bound::Included(value))
    }

    /// The values in both ranges (`a >= 1 AND a < 5` as one range). Where
    /// two bounds do not compare (values of different types), `self`'s
    /// stays: the result is never narrower than the intersection.
    ///
    /// ```
    /// use std::ops::Bound;
    /// use hyperctl_format::{ColumnRange, StatValue};
    /// let from = ColumnRange::new(Bound::Included(StatValue::Int(1)), Bound::Unbounded);
    /// let below = ColumnRange::new(Bound::Unbounded, Bound::Excluded(StatValue::Int(5)));
    /// let both = from.intersect(&below);
    /// assert_eq!(both.lower, Bound::Included(StatValue::Int(1)));
    /// assert_eq!(both.upper, Bound::Excluded(StatValue::Int(5)));
    /// ```
    pub fn intersect(&self, other: &ColumnRange) -> ColumnRange {
        ColumnRange::new(
            tighter(&self.lower, &other.lower, Ordering::Greater),
            tighter(&self.upper, &other.upper, Ordering::Less),
        )
    }
}

/// Of two lower (`inward` Greater) or upper (`inward` Less) bounds, the one
/// that keeps fewer values; `a` when they do not compare.
fn tighter(a: &Bound<StatValue>, b: &Bound<StatValue>, inward: Ordering) -> Bound<StatValue> {
    let value = |x: &Bound<StatValue>| match x {
        Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
        Bound::Unbounded => None,
    };
    match (value(a), value(b)) {
        (_, None) => a.clone(),
        (None, Some(_)) => b.clone(),
        (Some(x), Some(y)) => match x.sql_cmp(&y) {
            Some(o) if o == inward => a.clone(),
            Some(Ordering::Equal) if matches!(b, Bound::Excluded(_)) => b.clone(),
            Some(Ordering::Equal) | None => a.clone(),
            Some(_) => b.clone(),
        },
    }
}

/// Row count, null count, min and max of one block column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// Rows in the block.
    pub rows: u32,
    /// Null rows among them.
    pub null_count: u32,
    /// At most every non-null value; None when unknown (or all null).
    pub min: Option<StatValue>,
    /// At least every non-null value; None when unknown (or all null).
    pub max: Option<StatValue>,
}

impl ColumnStats {
    /// The statistics of a column of type `ty`.
    ///
    /// # Errors
    /// `TypeMismatch` when the array's data type is not `ty.to_arrow()`;
    /// `TooLarge` for 2^32 rows or more; `ValueOutOfRange` for a NUMERIC value
    /// with more digits than the precision.
    pub fn of(ty: &SqlType, array: &dyn Array) -> Result<ColumnStats> {
        ColumnStats::of_prepared(&prepare(ty, array, u32::MAX as usize)?)
    }

    pub(crate) fn of_prepared(prep: &Prepared<'_>) -> Result<ColumnStats> {
        let too_large = || Error::TooLarge {
            what: "block column row count",
            len: prep.rows as u64,
            max: u64::from(u32::MAX),
        };
        let rows = u32::try_from(prep.rows).map_err(|_| too_large())?;
        let null_count = u32::try_from(prep.null_count()).map_err(|_| too_large())?;
        let (min, max) = match &prep.values {
            Values::Fixed(keys) => fixed_bounds(prep, keys),
            Values::Var(values) => {
                let valid = values.iter().enumerate().filter(|(i, _)| prep.is_valid(*i));
                let (lo, hi) = valid.fold((None, None), |(lo, hi): (Option<&[u8]>, _), (_, &v)| {
                    (
                        Some(lo.map_or(v, |l| l.min(v))),
                        Some(hi.map_or(v, |h: &[u8]| h.max(v))),
                    )
                });
                (
                    lo.map(|v| StatValue::Bytes(v[..v.len().min(STAT_BYTES_MAX)].to_vec())),
                    hi.and_then(bytes_upper_bound).map(StatValue::Bytes),
                )
            }
        };
        Ok(ColumnStats {
            rows,
            null_count,
            min,
            max,
        })
    }

    /// Writes the statistics (layout: module docs).
    pub fn write_to(&self, w: &mut ByteWriter) {
        w.put_u32(self.rows);
        w.put_u32(self.null_count);
        StatValue::write_to(self.min.as_ref(), w);
        StatValue::write_to(self.max.as_ref(), w);
    }

    /// Reads statistics written by [`ColumnStats::write_to`].
    ///
    /// # Errors
    /// `Corrupt` for short input, an unknown tag, a boolean byte other than 0
    /// or 1, or a null count above the row count.
    pub fn read_from(r: &mut ByteReader<'_>) -> Result<ColumnStats> {
        let rows = r.u32("stats rows")?;
        let at = r.offset();
        let null_count = r.u32("stats null_count")?;
        if null_count > rows {
            return Err(Error::corrupt(
                at,
                format!("stats null_count: {null_count} is more than rows {rows}"),
            ));
        }
        let min = StatValue::read_from(r, "stats min")?;
        let max = StatValue::read_from(r, "stats max")?;
        Ok(ColumnStats {
            rows,
            null_count,
            min,
            max,
        })
    }

    /// False only when no non-null value of the block can lie in `range`
    /// (then a scan may skip the block). Bounds of another type than the
    /// column's never rule anything out.
    ///
    /// ```
    /// use std::ops::Bound;
    /// use hyperctl_format::arrow::array::Int32Array;
    /// use hyperctl_format::{ColumnRange, ColumnStats, SqlType, StatValue};
    ///
    /// let block = Int32Array::from(vec![Some(10), None, Some(20)]);
    /// let stats = ColumnStats::of(&SqlType::Int, &block)?;
    /// assert_eq!((stats.min.clone(), stats.null_count), (Some(StatValue::Int(10)), 1));
    /// // WHERE x > 20: no value of this block can match.
    /// let above = ColumnRange::new(Bound::Excluded(StatValue::Int(20)), Bound::Unbounded);
    /// assert!(!stats.may_match(&above));
    /// assert!(stats.may_match(&ColumnRange::eq(StatValue::Int(15))));
    /// # Ok::<(), hyperctl_format::Error>(())
    /// ```
    pub fn may_match(&self, range: &ColumnRange) -> bool {
        if self.null_count >= self.rows {
            return false;
        }
        let cmp = |a: &Option<StatValue>, b: &StatValue| a.as_ref().and_then(|a| a.sql_cmp(b));
        let below_lower = match &range.lower {
            Bound::Included(l) => cmp(&self.max, l) == Some(Ordering::Less),
            Bound::Excluded(l) => {
                matches!(cmp(&self.max, l), Some(Ordering::Less | Ordering::Equal))
            }
            Bound::Unbounded => false,
        };
        let above_upper = match &range.upper {
            Bound::Included(u) => cmp(&self.min, u) == Some(Ordering::Greater),
            Bound::Excluded(u) => {
                matches!(cmp(&self.min, u), Some(Ordering::Greater | Ordering::Equal))
            }
            Bound::Unbounded => false,
        };
        !below_lower && !above_upper
    }
}

impl ColumnStats {
    /// The share of the block's rows whose value may lie in `range`,
    /// assuming integer values spread evenly between min and max: the
    /// non-null share times the share of `min..=max` the range covers.
    /// `None` for bounds that are not integers (text, floats, booleans).
    ///
    /// ```
    /// use std::ops::Bound;
    /// use hyperctl_format::{ColumnRange, ColumnStats, StatValue};
    /// let stats = ColumnStats { rows: 10, null_count: 0, min: Some(StatValue::Int(1)), max: Some(StatValue::Int(100)) };
    /// let below = ColumnRange::new(Bound::Unbounded, Bound::Excluded(StatValue::Int(26)));
    /// assert_eq!(stats.fraction_in(&below), Some(0.25));
    /// ```
    pub fn fraction_in(&self, range: &ColumnRange) -> Option<f64> {
        let key = |v: &StatValue| match v {
            StatValue::Int(v) => Some(i128::from(*v)),
            StatValue::Int128(v) => Some(*v),
            _ => None,
        };
        if self.rows == 0 || self.null_count >= self.rows {
            return Some(0.0);
        }
        let (min, max) = (key(self.min.as_ref()?)?, key(self.max.as_ref()?)?);
        let low = match &range.lower {
            Bound::Included(v) => key(v)?,
            Bound::Excluded(v) => key(v)?.saturating_add(1),
            Bound::Unbounded => min,
        };
        let high = match &range.upper {
            Bound::Included(v) => key(v)?,
            Bound::Excluded(v) => key(v)?.saturating_sub(1),
            Bound::Unbounded => max,
        };
        let (low, high) = (low.max(min), high.min(max));
        if low > high || min > max {
            return Some(0.0);
        }
        // In f64: NUMERIC(38) keys may differ by more than i128 holds.
        let covered = high as f64 - low as f64 + 1.0;
        let span = max as f64 - min as f64 + 1.0;
        let valid = f64::from(self.rows - self.null_count) / f64::from(self.rows);
        Some(valid * covered / span)
    }
}

fn fixed_bounds(prep: &Prepared<'_>, keys: &[i128]) -> (Option<StatValue>, Option<StatValue>) {
    let valid = keys.iter().enumerate().filter(|(i, _)| prep.is_valid(*i));
    let value = |k: i128| match prep.kind {
        Kind::Bool => Some(StatValue::Bool(k != 0)),
        Kind::I16 | Kind::I32 | Kind::I64 | Kind::U32 => Some(StatValue::Int(k as i64)),
        Kind::I128 => Some(StatValue::Int128(k)),
        Kind::F32 | Kind::F64 => {
            let f = float_of_key(prep.kind, k);
            // -0.0 and 0.0 are one value in SQL; keep the positive one.
            Some(StatValue::Float(if f == 0.0 { 0.0 } else { f }))
        }
        Kind::Interval | Kind::Utf8 | Kind::Binary => None,
    };
    if matches!(prep.kind, Kind::F32 | Kind::F64) {
        let floats = valid.map(|(_, &k)| float_of_key(prep.kind, k));
        let (lo, hi) = floats.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), f| {
            let lo = lo.map_or(f, |l| if float_cmp(f, l).is_lt() { f } else { l });
            let hi = hi.map_or(f, |h| if float_cmp(f, h).is_gt() { f } else { h });
            (Some(lo), Some(hi))
        });
        let f = |x: f64| StatValue::Float(if x == 0.0 { 0.0 } else { x });
        return (lo.map(f), hi.map(f));
    }
    let (lo, hi) = valid.fold(
        (None, None),
        |(lo, hi): (Option<i128>, Option<i128>), (_, &k)| {
            (
                Some(lo.map_or(k, |l| l.min(k))),
                Some(hi.map_or(k, |h| h.max(k))),
            )
        },
    );
    (lo.and_then(value), hi.and_then(value))
}

/// The value itself when short; else a short value above it (its prefix with
/// the last byte below 0xff raised by one), or None when there is none.
fn bytes_upper_bound(v: &[u8]) -> Option<Vec<u8>> {
    if v.len() <= STAT_BYTES_MAX {
        return Some(v.to_vec());
    }
    let mut prefix = v[..STAT_BYTES_MAX].to_vec();
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return Some(prefix);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_order_is_sql_order() {
        assert_eq!(float_cmp(-0.0, 0.0), Ordering::Equal);
        assert_eq!(float_cmp(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(float_cmp(f64::NAN, -f64::NAN), Ordering::Equal);
        assert_eq!(float_cmp(f64::NEG_INFINITY, -1.0), Ordering::Less);
        assert_eq!(StatValue::Float(f64::NAN), StatValue::Float(f64::NAN));
    }

    #[test]
    fn long_bytes_get_an_upper_bound_above_them() {
        let long = vec![b'a'; 100];
        let hi = bytes_upper_bound(&long).unwrap();
        assert!(hi.as_slice() > long.as_slice() && hi.len() == STAT_BYTES_MAX);
        let mut ff = vec![b'a'];
        ff.extend([0xff; 100]);
        assert_eq!(bytes_upper_bound(&ff).unwrap(), b"b");
        assert_eq!(bytes_upper_bound(&[0xff; 100]), None);
    }

    #[test]
    fn stats_round_trip_through_bytes() {
        let stats = ColumnStats {
            rows: 10,
            null_count: 2,
            min: Some(StatValue::Bytes(b"abc".to_vec())),
            max: None,
        };
        let mut w = ByteWriter::new();
        stats.write_to(&mut w);
        let bytes = w.into_inner();
        let mut r = ByteReader::new(&bytes, 0);
        assert_eq!(ColumnStats::read_from(&mut r).unwrap(), stats);
        r.finish("stats").unwrap();
        for cut in 0..bytes.len() {
            assert!(ColumnStats::read_from(&mut ByteReader::new(&bytes[..cut], 0)).is_err());
        }
    }
}
