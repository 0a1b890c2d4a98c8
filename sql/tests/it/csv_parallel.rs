//! The parallel chunked CSV loader gives the same schema, rows, rejects and
//! error whatever the thread count and chunk size: tricky inputs at every
//! chunk size from 1 byte up, seeded random inputs, the shared CSV corpus,
//! and the `sql_csv_parallel` fuzz target's seed corpus.

use std::path::{Path, PathBuf};

use hyperctl_sql::fuzzing::{LoadOutcome, csv_outcome, csv_parallel};
use hyperctl_sql::{CsvOptions, OnError};

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/csv");
const FUZZ_CORPUS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fuzz/corpus/sql_csv_parallel"
);

/// Inputs where chunk boundaries fall inside quotes, CR LF pairs, escapes,
/// a byte order mark, and malformed records.
const TRICKY: &[&[u8]] = &[
    b"id,name,amount\r\n1,\"a,b\",1.5\r\n2,\"multi\nline\r\nfield\",2\r\n3,\"\"\"q\"\"\",\r\n",
    b"\xEF\xBB\xBFid,when\n1,2024-01-02\n2,\"2024-02-03\"\n,\n",
    b"a,b\n\"x\ny\",1\n\"\"\"\n\"\"\",2\n\"\",3\nlast,4",
    b"a,b\n1,2\n3\n4,5\n",
    b"a,b\n1,2\n\"open,3\n4,5\n",
    b"a,b\n1,2\r3,4\n5,6\n",
    b"n,t\n1,x\nnotanumber,y\n3,z\n",
    b"a\n\n\n\"\"\n",
    b"x,y\n\"ab\"cd,e\"f,g\"h\n1,2\n",
    b"",
    b"\n",
    b"\xEF\xBB\xBF",
    b"h1,h1,\n1,2,3\n\xff,2,3\n",
];

fn options(skip: bool) -> Vec<CsvOptions> {
    let mode = if skip { OnError::Skip } else { OnError::Abort };
    vec![
        CsvOptions::new().on_error(mode),
        CsvOptions::new().header(false).on_error(mode),
        CsvOptions::new().escape(b'\\').on_error(mode),
        CsvOptions::new()
            .quote(b'\'')
            .delimiter(b';')
            .on_error(mode),
    ]
}

fn baseline(data: &[u8], options: &CsvOptions) -> LoadOutcome {
    csv_outcome(data, &options.clone().threads(1).chunk_bytes(1 << 20))
}

#[test]
fn every_chunk_size_and_thread_count_gives_the_same_outcome() {
    for skip in [false, true] {
        for options in options(skip) {
            for &data in TRICKY {
                let expected = baseline(data, &options);
                for chunk_bytes in 1..=data.len() + 1 {
                    for threads in [1, 2, 3] {
                        let got = csv_outcome(
                            data,
                            &options.clone().threads(threads).chunk_bytes(chunk_bytes),
                        );
                        assert_eq!(
                            expected,
                            got,
                            "{:?} with {threads} threads, {chunk_bytes}-byte chunks, {options:?}",
                            String::from_utf8_lossy(data)
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tricky_inputs_give_the_expected_errors_and_rejects() {
    let abort = CsvOptions::new().threads(2).chunk_bytes(3);
    let err = |data: &[u8]| csv_outcome(data, &abort).unwrap_err();
    assert!(err(b"a,b\n1,2\n3\n4,5\n").contains("data.csv:3:2: too few columns"));
    assert!(err(b"a,b\n1,2\n\"open,3\n4,5\n").contains("data.csv:3:1: unterminated"));
    assert!(err(b"a,b\n1,2\r3,4\n5,6\n").contains("data.csv:2:"));
    let skip = abort.clone().on_error(OnError::Skip);
    let (schema, _, rejects) = csv_outcome(b"a,b\n1,2\n3\n4,5\nx,y,z\n", &skip).unwrap();
    assert_eq!(schema.columns.len(), 2);
    let lines: Vec<(u64, u64, &[u8])> = rejects
        .iter()
        .map(|r| (r.line, r.column, &r.record[..]))
        .collect();
    assert_eq!(lines, [(3, 2, &b"3"[..]), (5, 3, &b"x,y,z"[..])]);
    // The first bad value in file order wins even where a later one would
    // be found first by a column-at-a-time check.
    let schema = hyperctl_sql::CsvSchema {
        columns: vec![
            hyperctl_sql::ColumnDef::new("a", hyperctl_sql::SqlType::Int, true),
            hyperctl_sql::ColumnDef::new(
                "b",
                hyperctl_sql::SqlType::Numeric {
                    precision: 5,
                    scale: 2,
                },
                true,
            ),
        ],
    };
    let f = temp(b"a,b\n1,x\nbad,2\n");
    for threads in [1, 2] {
        let e = hyperctl_sql::read_csv(f.path(), &CsvOptions::new().threads(threads), &schema)
            .unwrap()
            .find_map(Result::err)
            .unwrap()
            .to_string();
        assert!(
            e.contains(":2:2: invalid input syntax for type numeric"),
            "{e}"
        );
    }
}

fn temp(content: &[u8]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile()
        .expect("temp file");
    f.write_all(content).expect("write");
    f
}

/// A small xorshift generator: tests start from a seed and print it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn seed() -> u64 {
    std::env::var("HYPERCTL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c5f0_1234_5678)
}

#[test]
fn random_inputs_give_the_same_outcome() {
    let seed = seed();
    println!("HYPERCTL_SEED={seed}");
    let mut rng = Rng(seed | 1);
    const PIECES: &[&[u8]] = &[
        b"1",
        b"22",
        b"-3",
        b"4.5",
        b"x",
        b"\"",
        b"\"\"",
        b",",
        b",",
        b"\n",
        b"\r\n",
        b"\r",
        b"\\",
        b"'",
        b"2024-01-02",
        b"true",
        b" ",
        b"\xEF\xBB\xBF",
        b"\xff",
    ];
    for case in 0..300 {
        let len = rng.next() % 40;
        let mut data = Vec::new();
        for _ in 0..len {
            data.extend_from_slice(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
        }
        let skip = rng.next().is_multiple_of(2);
        let all = options(skip);
        let options = &all[(rng.next() % all.len() as u64) as usize];
        let threads = 1 + (rng.next() % 4) as usize;
        let chunk_bytes = 1 + (rng.next() % 16) as usize;
        let expected = baseline(&data, options);
        let got = csv_outcome(
            &data,
            &options.clone().threads(threads).chunk_bytes(chunk_bytes),
        );
        assert_eq!(
            expected,
            got,
            "seed {seed} case {case}: {:?}, {threads} threads, {chunk_bytes}-byte chunks",
            String::from_utf8_lossy(&data)
        );
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "csv") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn the_shared_corpus_loads_the_same_in_parallel_chunks() {
    let all = files(Path::new(CORPUS_DIR));
    assert!(all.len() > 10, "the corpus at {CORPUS_DIR} is missing");
    for path in all {
        let data = std::fs::read(&path).expect("read corpus file");
        if data.len() > 200_000 {
            continue; // the small files cover the cases; big ones are slow in debug builds
        }
        for options in [CsvOptions::new(), CsvOptions::new().header(false)] {
            let expected = baseline(&data, &options);
            for (threads, chunk_bytes) in [(2, 1), (3, 13), (2, 4096)] {
                let got = csv_outcome(
                    &data,
                    &options.clone().threads(threads).chunk_bytes(chunk_bytes),
                );
                assert_eq!(
                    expected,
                    got,
                    "{} with {threads} threads, {chunk_bytes}-byte chunks",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn fuzz_corpus_replays() {
    let dir = PathBuf::from(FUZZ_CORPUS_DIR);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "{} is empty", dir.display());
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        csv_parallel(&data);
    }
}
