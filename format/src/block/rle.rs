//! Run-length payloads: each run of equal consecutive values once, with its
//! length.
//!
//! Layout: `r` (u32, the number of runs, 1 to `n`; 0 only when `n` is 0), the
//! `r` run values (fixed widths: `r` × `width` bytes; variable widths: a value
//! list), `bits` (u8, at most 32), then the `r` run lengths minus one,
//! bit-packed. The lengths add up to `n`.

use super::bitpack::{bits_needed, pack, packed_len, unpack_with};
use super::native::Native;
use super::plain::{list_len, put_list, read_slices};
use super::values::{Prepared, Values, VarOut};
use super::{Ctx, Fixed};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};

/// Start row of each run.
pub(crate) fn run_starts(prep: &Prepared<'_>) -> Vec<usize> {
    fn starts<T: PartialEq>(values: &[T]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if i == 0 || values[i - 1] != *v {
                out.push(i);
            }
        }
        out
    }
    match &prep.values {
        Values::Fixed(keys) => starts(keys),
        Values::Var(values) => starts(values),
    }
}

/// Run lengths from their starts.
fn lengths(starts: &[usize], rows: usize) -> impl Iterator<Item = usize> + '_ {
    starts
        .iter()
        .enumerate()
        .map(move |(i, &s)| starts.get(i + 1).copied().unwrap_or(rows) - s)
}

fn length_bits(starts: &[usize], rows: usize) -> u32 {
    let longest = lengths(starts, rows).max().unwrap_or(1);
    bits_needed(longest.saturating_sub(1) as u64)
}

pub(crate) fn encoded_len(prep: &Prepared<'_>, starts: &[usize]) -> usize {
    let values = match &prep.values {
        Values::Fixed(_) => starts.len() * prep.kind.width(),
        Values::Var(values) => list_len(starts.iter().map(|&s| values[s])),
    };
    let bits = length_bits(starts, prep.rows);
    4 + values + 1 + packed_len(starts.len(), bits).unwrap_or(usize::MAX / 2)
}

pub(crate) fn encode(prep: &Prepared<'_>, starts: &[usize], w: &mut ByteWriter) -> Result<()> {
    w.put_u32(starts.len() as u32);
    match &prep.values {
        Values::Fixed(keys) => {
            for &s in starts {
                prep.kind.put_key(keys[s], w);
            }
        }
        Values::Var(values) => put_list(starts.iter().map(|&s| values[s]), w)?,
    }
    let bits = length_bits(starts, prep.rows);
    w.put_u8(bits as u8);
    pack(lengths(starts, prep.rows).map(|l| l as u64 - 1), bits, w);
    Ok(())
}

/// Reads the run count and checks it against the rows.
fn read_count(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<usize> {
    let count_at = r.offset();
    let runs = r.u32("run count")? as usize;
    if runs > ctx.rows || (runs == 0 && ctx.rows > 0) {
        return Err(Error::corrupt(
            count_at,
            format!("run count: {runs} runs for {} rows", ctx.rows),
        ));
    }
    Ok(runs)
}

/// Reads the `runs` run lengths and checks that they add up to the rows.
fn read_lengths(ctx: &Ctx<'_>, r: &mut ByteReader<'_>, runs: usize) -> Result<Vec<usize>> {
    let bits_at = r.offset();
    let bits = u32::from(r.u8("run length bit width")?);
    if bits > 32 {
        return Err(Error::corrupt(
            bits_at,
            format!("run length bit width: {bits}, at most 32"),
        ));
    }
    let lengths_at = r.offset();
    let len = packed_len(runs, bits).ok_or_else(|| r.error("run lengths: overflow"))?;
    let lengths = unpack_with(r.raw(len, "run lengths")?, bits, runs, |l| l as usize + 1);
    let mut total = 0usize;
    for (run, &length) in lengths.iter().enumerate() {
        if length > ctx.rows - total {
            return Err(Error::corrupt(
                lengths_at,
                format!("run lengths: run {run} ends past row {}", ctx.rows),
            ));
        }
        total += length;
    }
    if total != ctx.rows {
        return Err(Error::corrupt(
            lengths_at,
            format!("run lengths: add up to {total}, not {}", ctx.rows),
        ));
    }
    Ok(lengths)
}

/// Decodes a fixed-width payload into values of `T` (width: `native` docs),
/// each run written as it is read.
pub(crate) fn decode_fixed<T: Native>(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Fixed<T>> {
    let runs = read_count(ctx, r)?;
    let raw = r.raw(runs * T::WIDTH, "run values")?;
    let lengths = read_lengths(ctx, r, runs)?;
    let mut values = Vec::with_capacity(ctx.rows);
    for (le, &length) in raw.chunks_exact(T::WIDTH).zip(&lengths) {
        values.extend(std::iter::repeat_n(T::from_le(le), length));
    }
    let keys = raw.chunks_exact(T::WIDTH).map(|le| T::from_le(le).to_key());
    let keys_within = keys.clone().min().zip(keys.max());
    Ok(Fixed {
        values,
        keys_within,
    })
}

/// Decodes a string or byte payload.
pub(crate) fn decode_var(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<VarOut> {
    let runs = read_count(ctx, r)?;
    let values_at = r.offset();
    let var = read_slices(r, runs, "run values")?;
    let lengths = read_lengths(ctx, r, runs)?;
    // Run index of every row (the lengths add up to the rows).
    let mut run_of_row = Vec::with_capacity(ctx.rows);
    for (run, &length) in lengths.iter().enumerate() {
        run_of_row.extend(std::iter::repeat_n(run as u32, length));
    }
    VarOut::from_codes(
        ctx.rows,
        ctx.nulls,
        &var,
        |row| run_of_row[row] as usize,
        ctx.data_len_max,
        values_at,
    )
}
