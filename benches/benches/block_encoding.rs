//! Encode and decode throughput of block column encodings (MB/s of Arrow
//! value data) for a full block of integers and of strings.
//! Run: `cargo bench -p hyperctl-benches --bench block_encoding`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hyperctl_format::arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use hyperctl_format::{
    BLOCK_ROWS_MAX, SqlType, decode_block_column, encode_block_column, encode_block_column_as,
};
use std::sync::Arc;

/// A deterministic pseudo-random sequence (xorshift).
fn xorshift(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
}

fn columns() -> Vec<(&'static str, SqlType, ArrayRef)> {
    let rows = BLOCK_ROWS_MAX;
    let ints = Int64Array::from_iter_values(xorshift(1).take(rows).map(|x| (x % 1000) as i64));
    let words: Vec<String> = (0..200)
        .map(|i| format!("customer segment {i:03}"))
        .collect();
    let strings = StringArray::from_iter_values(
        xorshift(2)
            .take(rows)
            .map(|x| words[(x % words.len() as u64) as usize].as_str()),
    );
    let unique =
        StringArray::from_iter_values((0..rows).map(|i| format!("order-{i:08}-region-central")));
    vec![
        ("int64_1000_values", SqlType::BigInt, Arc::new(ints)),
        ("text_200_values", SqlType::Text, Arc::new(strings)),
        ("text_unique", SqlType::Text, Arc::new(unique)),
    ]
}

fn block_encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_encoding");
    for (name, ty, column) in columns() {
        let bytes = column.get_array_memory_size() as u64;
        let encoded = encode_block_column(&ty, column.as_ref()).expect("encode");
        let plain =
            encode_block_column_as(&ty, column.as_ref(), hyperctl_format::BlockEncoding::Plain)
                .expect("plain");
        eprintln!(
            "{name}: {} rows as {}: {} bytes ({:.1}% of plain, {} bytes)",
            column.len(),
            encoded.encoding,
            encoded.bytes.len(),
            100.0 * encoded.bytes.len() as f64 / plain.bytes.len() as f64,
            plain.bytes.len()
        );
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| black_box(encode_block_column(&ty, column.as_ref()).expect("encode")))
        });
        group.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| {
                black_box(decode_block_column(&ty, &encoded.bytes, column.len()).expect("decode"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, block_encoding);
criterion_main!(benches);
