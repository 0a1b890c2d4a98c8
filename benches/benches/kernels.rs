//! The SIMD kernels of hyperctl-exec, each tier this CPU runs side by side
//! (the bench STYLE.md 4 asks for before intrinsics stay).
//! Run: `cargo bench -p hyperctl-benches --bench kernels`;
//! `HYPERCTL_SIMD` does not matter here, every tier is measured.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hyperctl_exec::KernelTier;

const ROWS: usize = 64 * 1024;

fn kernels(c: &mut Criterion) {
    let ints: Vec<i64> = (0..ROWS as i64)
        .map(|i| (i * 7919) % 100_003 - 50_000)
        .collect();
    let floats: Vec<f64> = ints.iter().map(|&i| i as f64 * 0.5).collect();
    let keys: Vec<u64> = ints.iter().map(|&i| i as u64).collect();
    let mut hashes = vec![0u64; ROWS];

    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Elements(ROWS as u64));
    for tier in KernelTier::available() {
        let name = tier.name();
        group.bench_function(format!("compare/i64_gt/{name}"), |b| {
            b.iter(|| black_box(tier.compare_i64_gt(black_box(&ints), 0)))
        });
        group.bench_function(format!("compare/f64_le/{name}"), |b| {
            b.iter(|| black_box(tier.compare_f64_le(black_box(&floats), 0.0)))
        });
        group.bench_function(format!("hash/u64/{name}"), |b| {
            b.iter(|| tier.hash_u64(black_box(&keys), black_box(&mut hashes)))
        });
        group.bench_function(format!("aggregate/sum_i64/{name}"), |b| {
            b.iter(|| black_box(tier.sum_i64(black_box(&ints))))
        });
        group.bench_function(format!("aggregate/sum_f64/{name}"), |b| {
            b.iter(|| black_box(tier.sum_f64(black_box(&floats))))
        });
        group.bench_function(format!("aggregate/min_i64/{name}"), |b| {
            b.iter(|| black_box(tier.min_i64(black_box(&ints))))
        });
    }
    group.finish();

    // Hash-index lookups in a table far larger than the cache (4M keys,
    // 128 MiB of slots), batched with prefetch against one at a time.
    let build: Vec<i64> = (0..4_000_000i64).map(|i| i * 3).collect();
    let probe: Vec<i64> = (0..ROWS as i64)
        .map(|i| (i * 7_919_993) % 12_000_000)
        .collect();
    let index = hyperctl_exec::IntKeyProbe::new(&build, &probe).expect("index");
    let mut group = c.benchmark_group("probe");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("int_keys/prefetch", |b| {
        b.iter(|| black_box(index.found(true)))
    });
    group.bench_function("int_keys/one_by_one", |b| {
        b.iter(|| black_box(index.found(false)))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
