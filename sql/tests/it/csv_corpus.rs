//! COPY over the shared CSV torture corpus (`../shared/testdata/csv/`), and
//! the `sql_csv` fuzz target's seed corpus.
//!
//! Every valid file loads through `COPY ... WITH (FORMAT csv, HEADER false,
//! DELIMITER d, QUOTE q, ESCAPE e)` into a table of N TEXT columns, and the
//! rows equal what Python's `csv` module reads (`tests/data/csv_expected/`,
//! written once by `gen.py` there), NULL for unquoted empty fields. Every
//! malformed file fails with an error that names the file and a line, except
//! where [`DIFFERENCES`] says otherwise, with the reason.

use std::path::{Path, PathBuf};

use hyperctl_sql::arrow::array::{Array, StringArray};
use hyperctl_sql::{Connection, Database, Error};
use serde_json::Value;

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/csv");
const EXPECTED_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/csv_expected");
const FUZZ_CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/sql_csv");

/// What our COPY does with a file where it differs from the default
/// expectation (valid: the Python rows; malformed: an error with a line).
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// An error at this line whose message contains the text.
    FailsAt(u64, &'static str),
    /// A COPY option error before any reading (no line).
    Rejected(&'static str),
    /// Loads, with the rows Python reads.
    LoadsLikePython,
    /// Loads, with the rows Python reads except the one at this index, which
    /// is the one given.
    DiffersAt(usize, &'static [Option<&'static str>]),
}

/// Files where we deliberately differ from the default expectation, and why.
const DIFFERENCES: &[(&str, Outcome, &str)] = &[
    // Valid files we reject, as Hyper does.
    (
        "valid/duckdb/auto_multi_column_string_r.csv",
        Outcome::FailsAt(1, BARE_CR),
        "CR-only line breaks: Hyper rejects them; Python reads CR as a line break",
    ),
    (
        "valid/duckdb/lineitem-carriage.csv",
        Outcome::FailsAt(1, BARE_CR),
        "CR-only line breaks (as above)",
    ),
    (
        "valid/duckdb/one_r_two.csv",
        Outcome::FailsAt(1, BARE_CR),
        "CR-only line breaks (as above)",
    ),
    (
        "valid/duckdb/one_r_n_two.csv",
        Outcome::FailsAt(1, BARE_CR),
        "CR CR LF: the first CR is bare (Python reads an extra empty line)",
    ),
    (
        "valid/duckdb/test_mixed_line_endings.csv",
        Outcome::FailsAt(3, BARE_CR),
        "the last line ends with a bare CR",
    ),
    (
        "valid/duckdb/test_long_escaped_value.csv",
        Outcome::Rejected(MULTI_BYTE_DELIMITER),
        "delimiter U+1F986 is four bytes: Hyper rejects multi-byte delimiters; Python takes any one character",
    ),
    (
        "valid/duckdb/test_no_newline_unicode.csv",
        Outcome::Rejected(MULTI_BYTE_DELIMITER),
        "delimiter U+1F986 (as above)",
    ),
    // A valid file we read as PostgreSQL does, not as Python.
    // Valid files we read as PostgreSQL does: a quote inside a field opens a
    // quoted part; Python keeps it as data. (Hyper loads all three files, per
    // the corpus README; with Python's reading all_quotes.csv would have a row
    // of 6 fields in a table of 4, so Hyper does not read it Python's way.)
    (
        "valid/duckdb/all_quotes.csv",
        Outcome::DiffersAt(
            5,
            &[
                Some("44444"),
                Some("Boa Chocolate"),
                Some(" The best, 'chocolate', of the world"),
                Some("2"),
            ],
        ),
        "line 7 has `, \"The best, 'chocolate', ...\"`: the quote after the space opens a \
         quoted part, so the row has 4 fields; Python splits it into 6",
    ),
    (
        "valid/csv-spectrum/location_coordinates.csv",
        Outcome::DiffersAt(
            1,
            &[
                Some("2095257564"),
                Some("37\u{fffd}36'37.8N 121\u{fffd}2'17.9W"),
                Some("Modesto"),
                Some("Stanislaus"),
            ],
        ),
        "the inch marks `37.8\"N` and `17.9\"W` open and close a quoted part (no quotes \
         in the value); Python keeps them",
    ),
    (
        "valid/duckdb/pollock_file_quotation_char_0x27.csv",
        Outcome::DiffersAt(
            0,
            &[
                Some("31/05/2018"),
                Some("15:30"),
                Some("3"),
                Some("HK-9973"),
                Some("$39.49"),
                Some("Womens Ventilated Hiking Shoes,This lightweight"),
                Some(
                    " ventilated version of the best-selling trail hiker features less volume \
                     in the forefoot for a more athletic fit. Its also equipped with a grippier \
                     outsole that excels in both wet and dry conditions.",
                ),
                Some("https://www.example.com/product/HK_9973.html"),
                None,
            ],
        ),
        "QUOTE is ': the apostrophe of `Women's` opens a quoted part that the closing ' of \
         the next field ends; Python keeps the apostrophe",
    ),
    // Malformed files that load, as in Hyper or PostgreSQL.
    (
        "malformed/duckdb/bad_escape.csv",
        Outcome::DiffersAt(1, &[Some("332"), Some("Surname\\, Firstname")]),
        "ESCAPE '\\' before a byte other than the quote or itself is kept as data \
         (PostgreSQL); Python drops it",
    ),
    (
        "malformed/duckdb/error_mismatch_bad.csv",
        Outcome::LoadsLikePython,
        "every row has the trailing delimiter, so all have the same width",
    ),
    (
        "malformed/duckdb/headers_unescaped_quote.csv",
        Outcome::LoadsLikePython,
        "the stray quote is ', which is data when QUOTE is \"",
    ),
    (
        "malformed/duckdb/multidelimiter_file_ends_in_quoted_value.csv",
        Outcome::LoadsLikePython,
        "`\"\"` is one row with an empty string",
    ),
    (
        "malformed/duckdb/nullbyte.csv",
        Outcome::LoadsLikePython,
        "NUL bytes inside fields are data (Hyper accepts them)",
    ),
    (
        "malformed/duckdb/nullterm.csv",
        Outcome::LoadsLikePython,
        "NUL bytes (as above)",
    ),
    (
        "malformed/duckdb/rejects_unquoted_basic.csv",
        Outcome::LoadsLikePython,
        "text after a closing quote is kept (Hyper accepts it)",
    ),
];

const BARE_CR: &str = "unexpected carriage return character without line feed";
const MULTI_BYTE_DELIMITER: &str = "delimiter must be a single one-byte character";

struct Case {
    file: String,
    valid: bool,
    options: Value,
    expected: Value,
}

fn cases() -> Vec<Case> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(CORPUS_DIR).join("MANIFEST.json"))
            .expect("the shared CSV corpus (../shared/testdata/csv) is there"),
    )
    .expect("MANIFEST.json is JSON");
    manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|entry| {
            let file = entry["file"].as_str().expect("file").to_string();
            let json = Path::new(EXPECTED_DIR).join(Path::new(&file).with_extension("json"));
            let expected = serde_json::from_str(
                &std::fs::read_to_string(&json)
                    .unwrap_or_else(|e| panic!("{}: {e}; run gen.py", json.display())),
            )
            .expect("expectation is JSON");
            Case {
                valid: entry["category"] == "valid",
                options: entry["copy_options"].clone(),
                file,
                expected,
            }
        })
        .collect()
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Columns of the table: Python's first-row width, or (when Python cannot
/// read the file) the fields of the first line counted naively.
fn width(case: &Case, path: &Path) -> usize {
    if let Some(n) = case.expected["columns"].as_u64() {
        return n as usize;
    }
    let bytes = std::fs::read(path).expect("corpus file");
    let delimiter = case.options["delimiter"].as_str().unwrap_or(",").as_bytes();
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    1 + first
        .windows(delimiter.len())
        .filter(|w| *w == delimiter)
        .count()
}

/// Loads a corpus file; the rows (None = NULL), or the error.
fn load(case: &Case) -> Result<Vec<Vec<Option<String>>>, Error> {
    let path = Path::new(CORPUS_DIR).join(&case.file);
    let n = width(case, &path);
    let mut conn: Connection = Database::in_memory().connect();
    let columns: Vec<String> = (1..=n).map(|i| format!("c{i} text")).collect();
    conn.execute_command(&format!("CREATE TABLE t ({})", columns.join(", ")))
        .expect("create table");
    let o = &case.options;
    let sql = format!(
        "COPY t FROM {} WITH (FORMAT csv, HEADER false, DELIMITER {}, QUOTE {}, ESCAPE {})",
        literal(&path.display().to_string()),
        literal(o["delimiter"].as_str().expect("delimiter")),
        literal(o["quote"].as_str().expect("quote")),
        literal(o["escape"].as_str().expect("escape")),
    );
    let count = conn.execute_command(&sql)?;
    let result = conn.execute_query("SELECT * FROM t").expect("select");
    let mut rows = Vec::new();
    for batch in &result.batches {
        let cols: Vec<&StringArray> = batch
            .columns()
            .iter()
            .map(|c| c.as_any().downcast_ref::<StringArray>().expect("text"))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| c.is_valid(r).then(|| c.value(r).to_string()))
                    .collect(),
            );
        }
    }
    assert_eq!(
        count,
        Some(rows.len() as u64),
        "{}: COPY's row count",
        case.file
    );
    Ok(rows)
}

fn python_rows(case: &Case) -> Option<Vec<Vec<Option<String>>>> {
    let rows = case.expected["rows"].as_array()?;
    Some(
        rows.iter()
            .map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .collect(),
    )
}

/// Checks one file against its expected outcome; a description of the
/// mismatch, if any.
fn check(case: &Case, outcome: Outcome) -> Option<String> {
    let got = load(case);
    let name = Path::new(&case.file)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    match (outcome, got) {
        (Outcome::LoadsLikePython, Ok(rows)) => {
            let Some(want) = python_rows(case) else {
                return Some("Python cannot read it".into());
            };
            if rows == want {
                return None;
            }
            let at = rows.iter().zip(&want).position(|(a, b)| a != b);
            Some(match at {
                Some(i) => format!("row {i}: got {:?}, Python {:?}", rows[i], want[i]),
                None => format!("got {} rows, Python {}", rows.len(), want.len()),
            })
        }
        (Outcome::DiffersAt(index, row), Ok(mut rows)) => {
            let want_row: Vec<Option<String>> = row.iter().map(|v| v.map(str::to_string)).collect();
            if rows.get(index) != Some(&want_row) {
                return Some(format!("row {index}: got {:?}", rows.get(index)));
            }
            let Some(mut want) = python_rows(case) else {
                return Some("Python cannot read it".into());
            };
            if let (Some(a), Some(b)) = (rows.get_mut(index), want.get_mut(index)) {
                *a = Vec::new();
                *b = Vec::new();
            }
            (rows != want).then(|| "other rows differ from Python's".to_string())
        }
        (Outcome::FailsAt(line, text), Err(e)) => match &e {
            Error::Csv { path, line: l, .. }
                if path.ends_with(&name) && *l == line && e.to_string().contains(text) =>
            {
                None
            }
            _ => Some(format!(
                "expected an error at line {line} with {text:?}, got: {e}"
            )),
        },
        (Outcome::Rejected(text), Err(Error::Sql(e))) if e.message.contains(text) => None,
        (want, Ok(rows)) => Some(format!("expected {want:?}, loaded {} rows", rows.len())),
        (want, Err(e)) => Some(format!("expected {want:?}, got the error: {e}")),
    }
}

#[test]
fn corpus_files_load_or_fail_as_expected() {
    let cases = cases();
    assert_eq!(cases.len(), 104, "the corpus has 104 files");
    let mut failures = Vec::new();
    for case in &cases {
        let listed = DIFFERENCES.iter().find(|(f, _, _)| *f == case.file);
        let outcome = match listed {
            Some((_, o, _)) => *o,
            None if case.valid => Outcome::LoadsLikePython,
            None => {
                // Any error that names the file and a line will do.
                match load(case) {
                    Err(Error::Csv { path, line, .. })
                        if line > 0
                            && path.ends_with(
                                Path::new(&case.file).file_name().unwrap().to_str().unwrap(),
                            ) =>
                    {
                        continue;
                    }
                    Err(e) => {
                        failures.push(format!("{}: error without file and line: {e}", case.file));
                        continue;
                    }
                    Ok(rows) => {
                        failures.push(format!(
                            "{}: malformed but loaded {} rows",
                            case.file,
                            rows.len()
                        ));
                        continue;
                    }
                }
            }
        };
        if let Some(problem) = check(case, outcome) {
            failures.push(format!("{}: {problem}", case.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn differences_name_corpus_files() {
    let cases = cases();
    for (file, _, why) in DIFFERENCES {
        assert!(
            cases.iter().any(|c| c.file == *file),
            "{file} is not in the corpus"
        );
        assert!(!why.is_empty());
    }
}

#[test]
fn fuzz_corpus_replays() {
    let dir = PathBuf::from(FUZZ_CORPUS_DIR);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        hyperctl_sql::fuzzing::csv_load(&data);
    }
}

// ---- COPY statement: option styles, conversions, errors, atomicity ----

fn temp_csv(content: &[u8]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile()
        .expect("temp file");
    f.write_all(content).expect("write");
    f
}

fn path_literal(f: &tempfile::NamedTempFile) -> String {
    literal(&f.path().display().to_string())
}

fn text_rows(conn: &mut Connection, sql: &str) -> Vec<Vec<Option<String>>> {
    let result = conn.execute_query(sql).expect("query");
    let mut rows = Vec::new();
    for batch in &result.batches {
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        let s = hyperctl_sql::arrow::compute::cast(
                            c,
                            &hyperctl_sql::arrow::datatypes::DataType::Utf8,
                        )
                        .expect("cast to text");
                        let s = s
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .expect("text")
                            .clone();
                        s.is_valid(r).then(|| s.value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    rows
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn copy_option_styles_all_parse() {
    let f = temp_csv(b"id;name\r\n1;\"a;b\"\r\n2;\r\n3;\"\"\r\n");
    let p = path_literal(&f);
    for with in [
        "WITH (FORMAT csv, HEADER true, DELIMITER ';')".to_string(),
        "WITH (FORMAT 'csv', HEADER, DELIMITER ';', NULL '', QUOTE '\"', ESCAPE '\"')".into(),
        "WITH (FORMAT => 'csv', HEADER => true, DELIMITER => ';')".into(),
        "(format => 'csv', header => 1, delimiter => ';', null => '')".into(),
        "WITH (\"null\" => '', FORMAT csv, HEADER on, DELIMITER E';')".into(),
        "CSV HEADER DELIMITER AS ';'".into(),
        "WITH DELIMITER ';' CSV HEADER NULL ''".into(),
    ] {
        let mut conn = Database::in_memory().connect();
        conn.execute_command("CREATE TABLE t (id int, name text)")
            .unwrap();
        let n = conn
            .execute_command(&format!("COPY t FROM {p} {with}"))
            .unwrap_or_else(|e| panic!("{with}: {e}"));
        assert_eq!(n, Some(3), "{with}");
        assert_eq!(
            text_rows(&mut conn, "SELECT * FROM t"),
            [[s("1"), s("a;b")], [s("2"), None], [s("3"), s("")]],
            "{with}"
        );
    }
}

#[test]
fn copy_converts_to_column_types_and_honours_options() {
    let f = temp_csv(
        b"\xEF\xBB\xBFa,b,c,d,e\n1,2.5,2024-01-02,x,true\nNULL,NULL,NULL,NULL,NULL\n7,-1e3,2024-02-29,,f\n",
    );
    let p = path_literal(&f);
    let mut conn = Database::in_memory().connect();
    conn.execute_command(
        "CREATE TABLE t (a bigint, b double precision, c date, d text, e bool, extra text)",
    )
    .unwrap();
    let n = conn
        .execute_command(&format!(
            "COPY t (a, b, c, d, e) FROM {p} WITH (FORMAT csv, HEADER, NULL 'NULL', FORCE_NOT_NULL (d))"
        ))
        .unwrap();
    assert_eq!(n, Some(3));
    assert_eq!(
        text_rows(&mut conn, "SELECT * FROM t"),
        [
            [s("1"), s("2.5"), s("2024-01-02"), s("x"), s("true"), None],
            // FORCE_NOT_NULL: d reads the NULL string as text.
            [None, None, None, s("NULL"), None, None],
            // With NULL 'NULL', an empty field is an empty string.
            [
                s("7"),
                s("-1000.0"),
                s("2024-02-29"),
                s(""),
                s("false"),
                None
            ],
        ]
    );
}

#[test]
fn copy_errors_name_file_line_and_column() {
    let cases: &[(&[u8], &str, &str, u64, u64)] = &[
        (
            b"1,2\n3\n",
            "a int, b int",
            "too few columns in input file",
            2,
            2,
        ),
        (
            b"1,2\n3,4,5\n",
            "a int, b int",
            "too many columns in input file",
            2,
            3,
        ),
        (
            b"1,2\n\"3,4\n",
            "a int, b int",
            "unterminated CSV quoted field",
            2,
            1,
        ),
        (
            b"a,b\n1,2\n",
            "a int, b int",
            "invalid input syntax for type integer: \"a\"",
            1,
            1,
        ),
        (
            b"1,x\xff\n",
            "a int, b text",
            "invalid UTF-8 sequence in line 1",
            1,
            2,
        ),
        (
            b"1,2\r3,4\n",
            "a int, b int",
            "unexpected carriage return character without line feed",
            1,
            2,
        ),
        (
            b"1,2\n3,\"\"\n",
            "a int, b int",
            "invalid input syntax for type integer: \"\"",
            2,
            2,
        ),
        (
            b"1,x\n",
            "a int, b smallint",
            "invalid input syntax for type smallint: \"x\"",
            1,
            2,
        ),
    ];
    for &(content, columns, message, line, column) in cases {
        let f = temp_csv(content);
        let mut conn = Database::in_memory().connect();
        conn.execute_command(&format!("CREATE TABLE t ({columns})"))
            .unwrap();
        let err = conn
            .execute_command(&format!(
                "COPY t FROM {} WITH (FORMAT csv)",
                path_literal(&f)
            ))
            .unwrap_err();
        match &err {
            Error::Csv {
                path,
                line: l,
                column: c,
                reason,
            } => {
                assert_eq!(path, &f.path().display().to_string());
                assert!(reason.contains(message), "{err}");
                assert_eq!((*l, *c), (line, column), "{err}");
            }
            other => panic!("{message}: expected a CSV error, got {other:?}"),
        }
    }
}

#[test]
fn copy_statement_errors() {
    let mut conn = Database::in_memory().connect();
    conn.execute_command("CREATE TABLE t (a int)").unwrap();
    let err = conn
        .execute("COPY t FROM '/nonexistent/x.csv' WITH (FORMAT csv, bogus 1)")
        .unwrap_err();
    let sql = err.as_sql().expect("SQL error");
    assert_eq!(
        sql.message,
        "the parameter 'bogus' does not apply for the COPY and is thus invalid"
    );
    let pos = sql.position.expect("position");
    assert_eq!((pos.line, pos.column), (1, 52));
    let err = conn
        .execute("COPY t FROM '/nonexistent/x.csv' WITH (FORMAT => 'csv', DELIMITER => '🦆')")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("delimiter must be a single one-byte character"),
        "{err}"
    );
    let err = conn
        .execute("COPY t FROM '/nonexistent/x.csv' WITH (FORMAT csv)")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { op, path, .. } if *op == "could not read from external source" && path == "/nonexistent/x.csv"),
        "{err:?}"
    );
    let err = conn
        .execute("COPY nope FROM 'x.csv' (FORMAT csv)")
        .unwrap_err();
    assert!(
        err.to_string().contains("table \"nope\" does not exist"),
        "{err}"
    );
    let err = conn
        .execute("COPY t (b) FROM 'x.csv' (FORMAT csv)")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("column \"b\" of table \"t\" does not exist"),
        "{err}"
    );
    let err = conn
        .execute("COPY t FROM 'x.csv' (FORMAT csv, FORCE_NOT_NULL (z))")
        .unwrap_err();
    assert!(err.to_string().contains("not referenced by COPY"), "{err}");
    let err = conn
        .execute("COPY t FROM 'x.csv' (FORMAT csv, ENCODING 'latin1')")
        .unwrap_err();
    assert!(err.to_string().contains("invalid encoding"), "{err}");
    let err = conn
        .execute("COPY t FROM 'x.csv' (FORMAT csv, HEADER, HEADER false)")
        .unwrap_err();
    assert!(
        err.to_string().contains("conflicting or redundant options"),
        "{err}"
    );
    let err = conn.execute("COPY t TO 'x.csv'").unwrap_err();
    // COPY TO writes Parquet and Arrow (issue 6); CSV output is `hyperctl export`.
    assert!(
        err.to_string()
            .contains("COPY TO this file type is not supported")
            && err.to_string().contains("Parquet"),
        "{err}"
    );
}

#[test]
fn failed_copy_leaves_the_table_unchanged() {
    // More than one batch of good rows before the bad one, so that batches
    // were appended before the error.
    let mut content = Vec::new();
    for i in 0..70_000 {
        content.extend_from_slice(format!("{i}\n").as_bytes());
    }
    content.extend_from_slice(b"oops\n");
    let f = temp_csv(&content);
    let copy = format!("COPY t FROM {} WITH (FORMAT csv)", path_literal(&f));
    let mut conn = Database::in_memory().connect();
    conn.execute_command("CREATE TABLE t (a int)").unwrap();
    conn.execute_command("INSERT INTO t VALUES (-1)").unwrap();
    // Autocommit.
    let err = conn.execute_command(&copy).unwrap_err();
    assert!(matches!(err, Error::Csv { line: 70_001, .. }), "{err}");
    assert_eq!(text_rows(&mut conn, "SELECT count(*) FROM t"), [[s("1")]]);
    // Inside a transaction: the error aborts it and COMMIT rolls back.
    conn.execute_command("BEGIN").unwrap();
    conn.execute_command("INSERT INTO t VALUES (-2)").unwrap();
    assert!(conn.execute_command(&copy).is_err());
    conn.execute_command("COMMIT").unwrap();
    assert_eq!(text_rows(&mut conn, "SELECT count(*) FROM t"), [[s("1")]]);
}

#[test]
fn copy_force_null_escape_and_several_files() {
    let a = temp_csv(b"\"x\\\"y\",\"\",\"N\"\n");
    let b = temp_csv(b"z,,N\n");
    let mut conn = Database::in_memory().connect();
    conn.execute_command("CREATE TABLE t (a text, b text, c text)")
        .unwrap();
    let n = conn
        .execute_command(&format!(
            "COPY t FROM ARRAY[{}, {}] WITH (FORMAT => 'csv', ESCAPE => '\\', NULL => 'N', \
             FORCE_NULL => ARRAY['c'])",
            path_literal(&a),
            path_literal(&b)
        ))
        .unwrap();
    assert_eq!(n, Some(2));
    assert_eq!(
        text_rows(&mut conn, "SELECT * FROM t"),
        [[s("x\"y"), s(""), None], [s("z"), s(""), None]]
    );
    // The legacy tail, with FORCE NOT NULL.
    let n = conn
        .execute_command(&format!(
            "COPY t (c, b, a) FROM {} CSV NULL AS 'N' FORCE NOT NULL c, a",
            path_literal(&b)
        ))
        .unwrap();
    assert_eq!(n, Some(1));
    assert_eq!(
        text_rows(&mut conn, "SELECT * FROM t WHERE a = 'N'"),
        [[s("N"), s(""), s("z")]]
    );
}
