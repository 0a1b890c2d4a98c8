//! The chooser: which encoding stores a column in the fewest bytes.
//!
//! Sizes of the lightweight encodings are computed exactly from one pass of
//! analysis (distinct values, runs, range) without encoding; lz4 is tried for
//! real on plain and dictionary payloads of string and byte types of at least
//! [`LZ4_LEN_MIN`] bytes, and kept when it saves at least an eighth (lz4 costs
//! decode time, so a small gain is not worth it).

use super::dict::{self, Dictionary};
use super::values::{Kind, Prepared};
use super::{BlockEncoding, compress, constant, frame, plain, rle};
use crate::bytes::ByteWriter;
use crate::error::{Error, Result};
use crate::types::SqlType;

/// Smallest payload that is tried with lz4.
const LZ4_LEN_MIN: usize = 1024;

/// An encoding with what it needs to write a payload.
#[derive(Debug)]
pub(crate) enum Plan<'a> {
    Constant,
    Frame { min: i128, bits: u32 },
    Dict(Dictionary<'a>),
    Rle(Vec<usize>),
    Plain,
}

/// The plan of `encoding` for this column.
///
/// # Errors
/// `EncodingNotApplicable` naming why it does not fit.
pub(crate) fn plan<'a>(
    ty: &SqlType,
    prep: &Prepared<'a>,
    encoding: BlockEncoding,
) -> Result<Plan<'a>> {
    let not = |reason: &'static str| Error::EncodingNotApplicable {
        encoding: encoding.to_string(),
        sql_type: ty.to_string(),
        reason,
    };
    if let Some(reason) = encoding.unfit_for(prep.kind) {
        return Err(not(reason));
    }
    Ok(match encoding.base() {
        BlockEncoding::Constant if constant::applies(prep) => Plan::Constant,
        BlockEncoding::Constant => return Err(not("the non-null values are not all equal")),
        BlockEncoding::ForBitpack => {
            let (min, bits) = frame::frame(prep).map_err(not)?;
            Plan::Frame { min, bits }
        }
        BlockEncoding::Dictionary => Plan::Dict(
            dict::build(prep, usize::MAX, usize::MAX).ok_or_else(|| not("no dictionary"))?,
        ),
        BlockEncoding::RunLength => Plan::Rle(rle::run_starts(prep)),
        _ => Plan::Plain,
    })
}

/// Bytes of the payload of `plan` (before lz4).
pub(crate) fn len(prep: &Prepared<'_>, plan: &Plan<'_>) -> usize {
    match plan {
        Plan::Constant => constant::encoded_len(prep),
        Plan::Frame { bits, .. } => frame::encoded_len(prep, *bits),
        Plan::Dict(d) => dict::encoded_len(prep, d),
        Plan::Rle(starts) => rle::encoded_len(prep, starts),
        Plan::Plain => match &prep.values {
            super::values::Values::Fixed(_) => plain::fixed_len(prep.kind, prep.rows),
            super::values::Values::Var(values) => plain::list_len(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| if prep.is_valid(i) { *v } else { &[][..] }),
            ),
        },
    }
}

/// The payload of `plan` (before lz4).
///
/// # Errors
/// `TooLarge` past `i32::MAX` bytes of string data.
pub(crate) fn write(prep: &Prepared<'_>, plan: &Plan<'_>) -> Result<Vec<u8>> {
    let mut w = ByteWriter::new();
    match plan {
        Plan::Constant => constant::encode(prep, &mut w),
        Plan::Frame { min, bits } => frame::encode(prep, *min, *bits, &mut w),
        Plan::Dict(d) => dict::encode(prep, d, &mut w)?,
        Plan::Rle(starts) => rle::encode(prep, starts, &mut w)?,
        Plan::Plain => match &prep.values {
            super::values::Values::Fixed(keys) => plain::encode_fixed(prep.kind, keys, &mut w),
            super::values::Values::Var(values) => {
                plain::encode_var(values, |i| prep.is_valid(i), &mut w)?;
            }
        },
    }
    Ok(w.into_inner())
}

/// The cheapest encoding of the column and its payload (lz4 applied).
///
/// # Errors
/// `TooLarge` past `i32::MAX` bytes of string data.
pub(crate) fn best(ty: &SqlType, prep: &Prepared<'_>) -> Result<(BlockEncoding, Vec<u8>)> {
    if constant::applies(prep) {
        return Ok((BlockEncoding::Constant, write(prep, &Plan::Constant)?));
    }
    let mut options = vec![(BlockEncoding::Plain, Plan::Plain)];
    let frame_bits = match plan(ty, prep, BlockEncoding::ForBitpack) {
        Ok(p @ Plan::Frame { bits, .. }) => {
            options.push((BlockEncoding::ForBitpack, p));
            Some(bits)
        }
        _ => None,
    };
    options.push((BlockEncoding::RunLength, Plan::Rle(rle::run_starts(prep))));
    if prep.kind != Kind::Bool {
        // A dictionary only beats frame of reference with narrower codes.
        let cap = frame_bits.map_or(prep.rows, |bits| 1usize << bits.saturating_sub(1).min(16));
        // A dictionary larger than what it must beat is never chosen: of
        // fixed widths (no lz4), larger than the smallest option so far;
        // of strings, larger than plain (it is then not tried with lz4
        // either). Building stops there, before hashing every row or
        // sorting the values.
        let budget = if prep.kind.is_var() {
            len(prep, &Plan::Plain)
        } else {
            options
                .iter()
                .map(|(_, p)| len(prep, p))
                .min()
                .unwrap_or(usize::MAX)
        };
        if let Some(d) = dict::build(prep, cap, budget) {
            options.push((BlockEncoding::Dictionary, Plan::Dict(d)));
        }
    }
    let rank = |e: BlockEncoding| BlockEncoding::ALL.iter().position(|&a| a == e);
    let sized: Vec<(usize, BlockEncoding, &Plan<'_>)> =
        options.iter().map(|(e, p)| (len(prep, p), *e, p)).collect();
    let Some(&(mut best_len, mut best, best_plan)) =
        sized.iter().min_by_key(|(l, e, _)| (*l, rank(*e)))
    else {
        return Err(Error::Internal {
            what: "no block encoding fits (plain always does)",
        });
    };
    let mut payload = None;
    if prep.kind.is_var() {
        let plain_len = sized.first().map_or(0, |(l, _, _)| *l);
        for &(raw_len, encoding, p) in &sized {
            let Some(lz4) = encoding.with_lz4() else {
                continue;
            };
            // A dictionary larger than plain text (mostly distinct values)
            // compresses no better than the plain text does.
            if raw_len < LZ4_LEN_MIN
                || (encoding == BlockEncoding::Dictionary && raw_len > plain_len)
            {
                continue;
            }
            let compressed = compress(&write(prep, p)?);
            if compressed.len() <= raw_len - raw_len / 8 && compressed.len() < best_len {
                (best_len, best) = (compressed.len(), lz4);
                payload = Some(compressed);
            }
        }
    }
    let payload = match payload {
        Some(p) => p,
        None => write(prep, best_plan)?,
    };
    Ok((best, payload))
}
