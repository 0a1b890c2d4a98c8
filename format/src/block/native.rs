//! The native element types that fixed-width payloads decode into, one per
//! stored width, so that a decoder writes each value once, in the width of
//! the Arrow buffer it ends up in (not as a 16-byte key converted later).
//!
//! A value of [`Native`] type `T` is the key of the `block` module docs
//! truncated to `T::WIDTH` bytes, which is all that Arrow keeps of it: two's
//! complement wrapping in `T` gives the same bits as wrapping in `i128` and
//! truncating. Floats decode as their bit patterns (`u32`, `u64`) and become
//! `f32`/`f64` buffers without a copy; BOOLEAN decodes as `u8` (bit 0 is the
//! value).
//!
//! Invariant: `T::WIDTH` is the width the payload stores (`Kind::width`); the
//! decoder's caller picks `T` by the column's kind and checks that.

use std::fmt;

/// A fixed-width value as stored in a block: `WIDTH` little-endian bytes.
pub(crate) trait Native:
    Copy + Default + PartialEq + fmt::Debug + Send + Sync + 'static
{
    /// Bytes of one stored value.
    const WIDTH: usize;
    /// The largest value as a key (for range reasoning in `i128`).
    const MAX_KEY: i128;

    /// The value of exactly `WIDTH` little-endian bytes (0 for another length,
    /// which callers never pass: they cut with `chunks_exact(WIDTH)`).
    fn from_le(le: &[u8]) -> Self;

    /// The low `WIDTH` bytes of `v` (a bit-packed distance or a boolean).
    fn from_u64(v: u64) -> Self;

    /// `self + other`, wrapping in `WIDTH` bytes.
    fn wrapping_add(self, other: Self) -> Self;

    /// The value as a key: sign-extended for signed types, zero-extended
    /// for unsigned ones.
    fn to_key(self) -> i128;
}

macro_rules! native {
    ($($t:ty)*) => {$(
        impl Native for $t {
            const WIDTH: usize = size_of::<$t>();
            const MAX_KEY: i128 = <$t>::MAX as i128;

            #[inline(always)]
            fn from_le(le: &[u8]) -> Self {
                le.try_into().map_or(0, <$t>::from_le_bytes)
            }

            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }

            #[inline(always)]
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }

            #[inline(always)]
            fn to_key(self) -> i128 {
                self as i128
            }
        }
    )*};
}

native!(u8 i16 i32 u32 i64 u64 i128);

#[cfg(test)]
mod tests {
    use super::super::values::Kind;
    use super::*;

    /// Decoding in `T` gives the key of the old decoder (`Kind::read_key`)
    /// truncated to `T`'s width, also for sums that wrap.
    fn agrees_with_keys<T: Native>(kind: Kind, truncate: impl Fn(i128) -> T) {
        assert_eq!(T::WIDTH, kind.width(), "{kind:?}");
        let patterns: [u128; 5] = [
            0,
            1,
            u128::MAX,
            0x8000_0000_0000_0000_8000_0000_8000_8080,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ];
        for p in patterns {
            let le = &p.to_le_bytes()[..T::WIDTH];
            let key = kind.read_key(le);
            assert_eq!(T::from_le(le), truncate(key), "{kind:?} {p:#x}");
            for d in [0u64, 1, 0xff, u64::MAX >> 1, u64::MAX] {
                let d = d >> (64 - (8 * T::WIDTH).min(64));
                let sum = T::from_le(le).wrapping_add(T::from_u64(d));
                assert_eq!(
                    sum,
                    truncate(key.wrapping_add(i128::from(d))),
                    "{kind:?} {p:#x} + {d}"
                );
            }
        }
        assert_eq!(T::from_le(&[]), T::default());
    }

    #[test]
    fn native_values_are_truncated_keys() {
        agrees_with_keys(Kind::Bool, |k| k as u8);
        agrees_with_keys(Kind::I16, |k| k as i16);
        agrees_with_keys(Kind::I32, |k| k as i32);
        agrees_with_keys(Kind::U32, |k| k as u32);
        agrees_with_keys(Kind::F32, |k| k as u32);
        agrees_with_keys(Kind::I64, |k| k as i64);
        agrees_with_keys(Kind::F64, |k| k as u64);
        agrees_with_keys(Kind::I128, |k| k);
        agrees_with_keys(Kind::Interval, |k| k);
        assert_eq!((-2i16).to_key(), -2);
        assert_eq!(u32::MAX.to_key(), i128::from(u32::MAX));
        assert_eq!(i16::MAX_KEY, 32_767);
    }
}
