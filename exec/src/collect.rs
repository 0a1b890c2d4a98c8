//! The collecting aggregates: `string_agg`, `percentile_cont` (and
//! `median`), `percentile_disc`, `array_agg`. They keep every non-NULL input
//! row (`array_agg`: every row), and at
//! the end sort each group's rows by the order keys (stable: ties keep input
//! order), drop repeated values under DISTINCT, and reduce the sorted values
//! with a [`Finisher`].
//!
//! Input: the argument alone, or (with order keys) a struct whose first
//! column is the argument and whose others are the keys.
//!
//! Invariant: `finish` does not consume the state (window frames feed an
//! accumulator further after reading its result).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, StringBuilder, UInt32Array, new_null_array,
};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Float64Type};
use arrow::row::{RowConverter, Rows, SortField};

use crate::accumulator::{Accumulator, same_kind, target, typed_argument};
use crate::aggregate::AggregateFunction;
use crate::error::{Error, Result};

/// How a group's sorted values become its result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finisher {
    /// Joined with this separator.
    StringAgg(String),
    /// The value at this fraction, interpolated linearly.
    Cont(f64),
    /// The first value whose cumulative distribution reaches this fraction.
    Disc(f64),
    /// The values as an array (`array_agg`), NULLs included.
    ArrayAgg,
    /// Fed to a fresh accumulator of this function (`count(DISTINCT x)`,
    /// `sum(DISTINCT x)`, ... when DISTINCT is done here).
    Inner(AggregateFunction),
}

/// A collecting aggregate (see the module docs).
#[derive(Debug)]
pub(crate) struct Collect {
    finisher: Finisher,
    input: DataType,
    out: DataType,
    keys: Vec<SortField>,
    distinct: bool,
    chunks: Vec<ArrayRef>,
    /// Per kept row: its group, chunk and row in the chunk.
    entries: Vec<(usize, u32, u32)>,
}

impl Collect {
    /// `arg` is the argument's type, `out` the result type; `keys` (types
    /// and directions) order the values (when empty, input order).
    pub(crate) fn try_new(
        finisher: Finisher,
        arg: &DataType,
        out: DataType,
        keys: Vec<(DataType, SortOptions)>,
        distinct: bool,
    ) -> Result<Self> {
        if let Finisher::Cont(f) | Finisher::Disc(f) = finisher
            && !(0.0..=1.0).contains(&f)
        {
            return Err(Error::InvalidArgument {
                function: "percentile".into(),
                reason: format!("percentile value {f} is not between 0 and 1"),
            });
        }
        let input = if keys.is_empty() {
            arg.clone()
        } else {
            let mut fields = vec![arrow::datatypes::Field::new("v", arg.clone(), true)];
            for (i, (t, _)) in keys.iter().enumerate() {
                fields.push(arrow::datatypes::Field::new(
                    format!("k{i}"),
                    t.clone(),
                    true,
                ));
            }
            DataType::Struct(fields.into())
        };
        Ok(Collect {
            finisher,
            input,
            out,
            keys: keys
                .into_iter()
                .map(|(t, o)| SortField::new_with_options(t, o))
                .collect(),
            distinct,
            chunks: Vec::new(),
            entries: Vec::new(),
        })
    }

    /// The argument column of an input array.
    fn values_of(&self, input: &ArrayRef) -> Result<ArrayRef> {
        if self.keys.is_empty() {
            return Ok(input.clone());
        }
        input
            .as_struct_opt()
            .map(|s| s.column(0).clone())
            .ok_or_else(|| Error::internal("ordered aggregate input is not a struct"))
    }

    /// Each group's kept rows (indices into the concatenated chunks), sorted
    /// and without repeats under DISTINCT.
    fn sorted_groups(&self, all: &ArrayRef, num_groups: usize) -> Result<Vec<Vec<usize>>> {
        let mut offsets = Vec::with_capacity(self.chunks.len());
        let mut at = 0usize;
        for c in &self.chunks {
            offsets.push(at);
            at += c.len();
        }
        let mut order: Vec<(usize, usize)> = self
            .entries
            .iter()
            .map(|&(g, c, r)| (g, offsets[c as usize] + r as usize))
            .collect();
        let key_rows = self.key_rows(all)?;
        match &key_rows {
            None => order.sort_by_key(|&(g, _)| g),
            Some(rows) => {
                order.sort_by(|a, b| a.0.cmp(&b.0).then(rows.row(a.1).cmp(&rows.row(b.1))))
            }
        }
        let value_rows = if self.distinct {
            let values = self.values_of(all)?;
            let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
            Some(converter.convert_columns(&[values])?)
        } else {
            None
        };
        let mut groups = vec![Vec::new(); num_groups];
        let mut seen: HashSet<(usize, &[u8])> = HashSet::new();
        for &(g, i) in &order {
            let slot = groups
                .get_mut(g)
                .ok_or_else(|| Error::internal("collected group out of range"))?;
            if let Some(rows) = &value_rows
                && !seen.insert((g, rows.row(i).data()))
            {
                continue;
            }
            slot.push(i);
        }
        Ok(groups)
    }

    fn key_rows(&self, all: &ArrayRef) -> Result<Option<Rows>> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        let s = all
            .as_struct_opt()
            .ok_or_else(|| Error::internal("ordered aggregate input is not a struct"))?;
        let converter = RowConverter::new(self.keys.clone())?;
        Ok(Some(converter.convert_columns(&s.columns()[1..])?))
    }

    fn finish_groups(&self, values: &ArrayRef, groups: &[Vec<usize>]) -> Result<ArrayRef> {
        match &self.finisher {
            Finisher::StringAgg(sep) => {
                let strings = values
                    .as_string_opt::<i32>()
                    .ok_or_else(|| Error::internal("string_agg of non-text"))?;
                let mut out = StringBuilder::new();
                for rows in groups {
                    if rows.is_empty() {
                        out.append_null();
                        continue;
                    }
                    let mut text = String::new();
                    for (n, &i) in rows.iter().enumerate() {
                        if n > 0 {
                            text.push_str(sep);
                        }
                        text.push_str(strings.value(i));
                    }
                    out.append_value(text);
                }
                Ok(Arc::new(out.finish()))
            }
            Finisher::Cont(f) => {
                let v = crate::cast::cast(values, &DataType::Float64)?;
                let v = v
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| Error::internal("percentile_cont of non-number"))?;
                let out: Float64Array = groups
                    .iter()
                    .map(|rows| {
                        let last = rows.len().checked_sub(1)?;
                        let pos = f * last as f64;
                        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                        let (a, b) = (v.value(rows[lo]), v.value(rows[hi.min(last)]));
                        Some(a + (b - a) * (pos - lo as f64))
                    })
                    .collect();
                Ok(Arc::new(out))
            }
            Finisher::Inner(func) => {
                let mut indices = Vec::new();
                let mut of_group = Vec::new();
                for (g, rows) in groups.iter().enumerate() {
                    for &i in rows {
                        indices.push(
                            u32::try_from(i)
                                .map_err(|_| Error::internal("too many collected rows"))?,
                        );
                        of_group.push(g);
                    }
                }
                let picked =
                    arrow::compute::take(values.as_ref(), &UInt32Array::from(indices), None)?;
                let mut inner = func.accumulator(Some(values.data_type()))?;
                inner.update(Some(&picked), &of_group, groups.len())?;
                inner.finish(groups.len())
            }
            Finisher::ArrayAgg => {
                let mut lengths = Vec::with_capacity(groups.len());
                let mut validity = Vec::with_capacity(groups.len());
                let mut indices = Vec::new();
                for rows in groups {
                    lengths.push(rows.len());
                    validity.push(!rows.is_empty());
                    for &i in rows {
                        indices.push(
                            u32::try_from(i)
                                .map_err(|_| Error::internal("too many collected rows"))?,
                        );
                    }
                }
                let picked =
                    arrow::compute::take(values.as_ref(), &UInt32Array::from(indices), None)?;
                let field = match &self.out {
                    DataType::List(f) => f.clone(),
                    other => return Err(Error::internal(format!("array_agg into {other}"))),
                };
                Ok(Arc::new(arrow::array::ListArray::try_new(
                    field,
                    arrow::buffer::OffsetBuffer::from_lengths(lengths),
                    picked,
                    Some(arrow::buffer::NullBuffer::from(validity)),
                )?))
            }
            Finisher::Disc(f) => {
                let picks: UInt32Array = groups
                    .iter()
                    .map(|rows| {
                        let n = rows.len();
                        if n == 0 {
                            return Ok(None);
                        }
                        let k = ((f * n as f64).ceil() as usize).clamp(1, n) - 1;
                        u32::try_from(rows[k])
                            .map(Some)
                            .map_err(|_| Error::internal("too many collected rows"))
                    })
                    .collect::<Result<_>>()?;
                Ok(arrow::compute::take(values.as_ref(), &picks, None)?)
            }
        }
    }
}

impl Accumulator for Collect {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let (input, _) = typed_argument(values, groups, &self.input, "collecting aggregate")?;
        let nulls = self.values_of(input)?.logical_nulls();
        let chunk = u32::try_from(self.chunks.len())
            .map_err(|_| Error::internal("too many collected chunks"))?;
        let before = self.entries.len();
        for (i, &g) in groups.iter().enumerate() {
            if g >= num_groups {
                return Err(Error::internal("collected group out of range"));
            }
            let keep_nulls = self.finisher == Finisher::ArrayAgg;
            if keep_nulls || nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                self.entries.push((g, chunk, i as u32));
            }
        }
        if self.entries.len() > before {
            self.chunks.push(input.clone());
        }
        Ok(())
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        if let (Finisher::Inner(func), true) = (&self.finisher, self.chunks.is_empty()) {
            // No rows: what the function gives over none (count: 0).
            return func.accumulator(Some(&self.input))?.finish(num_groups);
        }
        if self.entries.is_empty() {
            return Ok(new_null_array(&self.out, num_groups));
        }
        let refs: Vec<&dyn Array> = self.chunks.iter().map(|c| c.as_ref()).collect();
        let all = arrow::compute::concat(&refs)?;
        let groups = self.sorted_groups(&all, num_groups)?;
        let values = self.values_of(&all)?;
        self.finish_groups(&values, &groups)
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<Collect>(other)?;
        if other.finisher != self.finisher || other.input != self.input {
            return Err(Error::internal("merging different collecting aggregates"));
        }
        let base = u32::try_from(self.chunks.len())
            .map_err(|_| Error::internal("too many collected chunks"))?;
        self.chunks.append(&mut other.chunks);
        for &(g, c, r) in &other.entries {
            self.entries
                .push((target(groups, g, num_groups)?, base + c, r));
        }
        other.entries.clear();
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        let chunks: usize = self.chunks.iter().map(|c| c.get_array_memory_size()).sum();
        chunks + self.entries.capacity() * 16
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, strs};

    fn finish_one(mut c: Collect, input: ArrayRef, groups: &[usize], n: usize) -> ArrayRef {
        c.update(Some(&input), groups, n).unwrap();
        c.finish(n).unwrap()
    }

    #[test]
    fn string_agg_in_input_order_skips_nulls() {
        let c = Collect::try_new(
            Finisher::StringAgg(",".into()),
            &DataType::Utf8,
            DataType::Utf8,
            vec![],
            false,
        )
        .unwrap();
        let out = finish_one(
            c,
            strs(&[Some("b"), None, Some("a"), Some("c")]),
            &[0, 0, 0, 1],
            3,
        );
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "b,a");
        assert_eq!(out.value(1), "c");
        assert!(out.is_null(2));
    }

    #[test]
    fn array_agg_keeps_nulls_and_gives_null_for_empty_groups() {
        let out_type = crate::functions::list_of(&DataType::Int64);
        let c = Collect::try_new(
            Finisher::ArrayAgg,
            &DataType::Int64,
            out_type,
            vec![],
            false,
        )
        .unwrap();
        let out = finish_one(c, ints(&[Some(2), None, Some(1)]), &[0, 0, 1], 3);
        let text = crate::functions::arrays_as_text(&out).unwrap().unwrap();
        let text = text.as_string::<i32>();
        assert_eq!(text.value(0), "[2,NULL]");
        assert_eq!(text.value(1), "[1]");
        assert!(text.is_null(2));
    }

    #[test]
    fn percentiles_interpolate_and_pick() {
        let cont = Collect::try_new(
            Finisher::Cont(0.5),
            &DataType::Int64,
            DataType::Float64,
            vec![(DataType::Int64, SortOptions::default())],
            false,
        )
        .unwrap();
        let v = ints(&[Some(10), Some(1), Some(3), Some(2)]);
        let input: ArrayRef = Arc::new(arrow::array::StructArray::from(vec![
            (
                Arc::new(arrow::datatypes::Field::new("v", DataType::Int64, true)),
                v.clone(),
            ),
            (
                Arc::new(arrow::datatypes::Field::new("k0", DataType::Int64, true)),
                v.clone(),
            ),
        ]));
        let out = finish_one(cont, input.clone(), &[0, 0, 0, 0], 1);
        assert_eq!(out.as_primitive::<Float64Type>().value(0), 2.5);
        let disc = Collect::try_new(
            Finisher::Disc(0.5),
            &DataType::Int64,
            DataType::Int64,
            vec![(DataType::Int64, SortOptions::default())],
            false,
        )
        .unwrap();
        let out = finish_one(disc, input, &[0, 0, 0, 0], 1);
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Int64Type>().value(0),
            2
        );
    }

    #[test]
    fn distinct_feeds_an_inner_accumulator() {
        let count = || {
            Collect::try_new(
                Finisher::Inner(AggregateFunction::Count),
                &DataType::Int64,
                DataType::Int64,
                vec![],
                true,
            )
            .unwrap()
        };
        let input = ints(&[Some(1), Some(1), None, Some(2), Some(1)]);
        let out = finish_one(count(), input, &[0, 0, 0, 0, 1], 3);
        let out = out.as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(out.values().to_vec(), vec![2, 1, 0]);
        // No rows at all: count is 0, not NULL.
        let out = count().finish(2).unwrap();
        assert_eq!(out.null_count(), 0);
    }

    #[test]
    fn bad_fraction_and_input_are_errors() {
        assert!(
            Collect::try_new(
                Finisher::Cont(1.5),
                &DataType::Int64,
                DataType::Float64,
                vec![],
                false
            )
            .is_err()
        );
        let mut c = Collect::try_new(
            Finisher::StringAgg(String::new()),
            &DataType::Utf8,
            DataType::Utf8,
            vec![],
            false,
        )
        .unwrap();
        assert!(matches!(
            c.update(Some(&ints(&[Some(1)])), &[0], 1),
            Err(Error::Internal { .. })
        ));
    }
}
