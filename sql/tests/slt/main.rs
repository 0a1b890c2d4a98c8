//! sqllogictest runner: our own `sql/tests/slt/*.slt` files (each must pass
//! fully) and files of the shared SQLite corpus (a file counts as a test
//! only once it passes fully; until then its pass count is a floor that
//! fails when we regress).
//!
//! `HYPERCTL_SLT_REWRITE=1 cargo test -p hyperctl-sql --test slt` rewrites
//! the expected results of our own files with today's output; read the diff
//! against Hyper's documented behaviour before committing it.

mod md5;
mod parser;
mod runner;

use std::path::{Path, PathBuf};

use runner::{Outcome, run_file};

fn own_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt")
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/sqllogictest/sqlite")
}

fn summary(name: &str, o: &Outcome) -> String {
    format!(
        "{name}: {} of {} records passed ({} skipped)\n  {}",
        o.passed,
        o.records(),
        o.skipped,
        o.failures.join("\n  ")
    )
}

/// Replaces the result sections of `text` with what the engine gave.
fn rewrite(text: &str, o: &Outcome) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut at = 0;
    for ((start, end), new, has_separator) in &o.rewrites {
        while at < *start && at < lines.len() {
            out.push(lines[at].to_string());
            at += 1;
        }
        if !has_separator && !new.is_empty() {
            out.push("----".into());
        }
        out.extend(new.iter().cloned());
        at = *end;
    }
    out.extend(lines[at.min(lines.len())..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// The floor on records in our own files (issue 5 asks for 1,500).
const MIN_OWN_RECORDS: usize = 1500;

#[test]
fn own_files_pass() {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(own_dir())
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no .slt files in {:?}", own_dir());
    let rewrite_mode = std::env::var_os("HYPERCTL_SLT_REWRITE").is_some();
    let mut report = Vec::new();
    let mut total = 0;
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("readable .slt file");
        let outcome = run_file(&name, &text, false);
        total += outcome.records();
        if rewrite_mode {
            std::fs::write(&path, rewrite(&text, &outcome)).expect("writable .slt file");
        }
        if outcome.failed > 0 {
            report.push(summary(&name, &outcome));
        }
    }
    println!("own .slt files: {total} records");
    assert!(report.is_empty(), "{}", report.join("\n"));
    // Issue 5, acceptance 1: at least 1,500 statements and queries.
    assert!(
        total >= MIN_OWN_RECORDS,
        "own .slt files hold {total} records, fewer than {MIN_OWN_RECORDS}"
    );
}

/// Runs a corpus file and checks its pass count against `floor`.
fn corpus(file: &str, floor: usize) -> Outcome {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let outcome = run_file(file, &text, true);
    if std::env::var_os("HYPERCTL_SLT_VERBOSE").is_some() {
        println!("{}", summary(file, &outcome));
    }
    assert!(
        outcome.passed >= floor,
        "FIXME(issue 5): {file} regressed below {floor} passing records\n{}",
        summary(file, &outcome)
    );
    outcome
}

/// Corpus files and today's floor of passing records. FIXME(issue 5):
/// raise the floors as subqueries, joins, DELETE/UPDATE and the rest land.
/// Files that pass fully today (floor = record count): the aggfunc,
/// dropindex, droptable and reindex evidence files, random/groupby and
/// random/select (with joins merged).
const CORPUS: &[(&str, usize)] = &[
    ("select1.test", 506),
    ("select2.test", 500),
    ("select3.test", 1559),
    ("select4.test", 2841),
    // FIXME(issue 4): select5.test joins up to 8 ten-row tables through
    // comma lists; without join ordering some plans build cross products of
    // 10^8 rows and exhaust memory (no memory limit yet). Re-add it with a
    // floor once join ordering by cardinality lands.
    ("evidence/in1.test", 36),
    ("evidence/in2.test", 44),
    ("evidence/slt_lang_aggfunc.test", 4),
    ("evidence/slt_lang_createtrigger.test", 5),
    ("evidence/slt_lang_createview.test", 11),
    ("evidence/slt_lang_dropindex.test", 4),
    ("evidence/slt_lang_droptable.test", 10),
    ("evidence/slt_lang_droptrigger.test", 8),
    ("evidence/slt_lang_dropview.test", 7),
    ("evidence/slt_lang_reindex.test", 4),
    ("evidence/slt_lang_replace.test", 6),
    ("evidence/slt_lang_update.test", 9),
    ("random/aggregates_slt_good_0.test", 8779),
    ("random/expr_slt_good_0.test", 9381),
    ("random/groupby_slt_good_0.test", 9050),
    ("random/select_slt_good_0.test", 9175),
    ("index/commute_10_slt_good_0.test", 9619),
    ("index/delete_1_slt_good_0.test", 5861),
    ("index/orderby_10_slt_good_0.test", 9679),
    ("index/random_10_slt_good_0.test", 9089),
];

#[test]
fn corpus_files() {
    // The files are independent (each runs on a database of its own), so
    // they run on as many threads as there are cores, from the end of the
    // list (the large random/ and index/ files) so that the threads finish
    // close together.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(CORPUS.len());
    let mut lines = vec![String::new(); CORPUS.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(i) = CORPUS.len().checked_sub(i + 1) else {
                            break;
                        };
                        let (file, floor) = CORPUS[i];
                        let o = corpus(file, floor);
                        done.push((i, format!("{file}: {}/{}", o.passed, o.records())));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => done.into_iter().for_each(|(i, line)| lines[i] = line),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    println!("{}", lines.join("\n"));
}
