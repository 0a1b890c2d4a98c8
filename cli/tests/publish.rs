//! Issue 7 from the command line: `hyperctl publish` against the Tableau Server
//! emulator (modes, name clash, dry run, profiles, manifests), `hyperctl export`
//! and `hyperctl import` of `.hyper` files against Tableau's `hyperd` and the
//! Python Hyper API, and no secret in any output.
//!
//! Tests that need `hyperd` (`HYPERD_PATH`, or `python3 -m pip install
//! tableauhyperapi`) print `SKIPPED: ...` and return without it, unless
//! `HYPERCTL_REQUIRE_HYPERD=1`, where a missing hyperd fails. The Python
//! cross-checks run `publish/tests/hyper_roundtrip.py` with the Hyper API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use hyperctl_publish::emulator::{CHILD_PROJECT_ID, DEFAULT_PROJECT_ID, Emulator, SITE_ID};
use hyperctl_publish::hyperd_testing::{
    hyperd_or_skip, python_hyper_api_or_skip, run_roundtrip_script,
};
use hyperctl_publish::serde_json::{self, Value, json};
use hyperctl_sql::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, RecordBatch, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use hyperctl_sql::arrow::compute::concat_batches;
use hyperctl_sql::arrow::datatypes::IntervalMonthDayNano;
use hyperctl_sql::{ColumnDef, Connection, CreateMode, Database, SqlType, TableDef};

/// Recognisable credentials: none of them may ever show up in any output.
const PAT_NAME: &str = "cli-test-pat";
const PAT_SECRET: &str = "pat-secret-Q7x9Zk2";
const TOKEN: &str = "emulator-token-W4m8Rt";
const DAY_US: i64 = 86_400_000_000;

fn emulator() -> Emulator {
    Emulator::builder()
        .pat(PAT_NAME, PAT_SECRET)
        .token(TOKEN)
        .start()
        .expect("start the emulator")
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs hyperctl with only the environment given (plus PATH and HOME), and
/// checks, for every command of every test, that no secret was printed.
fn hyperctl(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hyperctl"));
    command
        .args(args)
        .env_remove("TABLEAU_PAT_NAME")
        .env_remove("TABLEAU_PAT_SECRET")
        .env_remove("HYPERCTL_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .envs(env.iter().copied());
    let out = command.output().expect("run hyperctl");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_secrets(args, &run);
    run
}

fn assert_no_secrets(args: &[&str], run: &Run) {
    for secret in [PAT_SECRET, TOKEN, "eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l"] {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(secret),
                "hyperctl {args:?} printed a secret on {stream}:\n{text}"
            );
        }
    }
}

const PAT_ENV: [(&str, &str); 2] = [
    ("TABLEAU_PAT_NAME", PAT_NAME),
    ("TABLEAU_PAT_SECRET", PAT_SECRET),
];

fn ok(args: &[&str], env: &[(&str, &str)]) -> Run {
    let run = hyperctl(args, env);
    assert_eq!(run.code, 0, "hyperctl {args:?} failed: {}", run.stderr);
    run
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// A stand-in `.hyper` file: the emulator checks the request, not the
/// extract's bytes (it only needs a data source extension in the file name).
fn fake_hyper(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        b"Hyper stand-in: the emulator stores but does not read it\n",
    )
    .unwrap();
    path
}

fn publish_args<'a>(url: &'a str, file: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["publish", file, "--server", url, "--site", "Samples"];
    args.extend_from_slice(more);
    args
}

/// Issue 7, acceptance 1 from the CLI: each mode, the name clash, a nested project.
#[test]
fn publishes_a_hyper_file_in_each_mode() {
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = fake_hyper(dir.path(), "orders.hyper");
    let file = path_str(&file);

    let run = ok(
        &publish_args(&url, file, &["--project", "default"]),
        &PAT_ENV,
    );
    let stored = server.datasources();
    let orders = stored
        .iter()
        .find(|d| d.name == "orders")
        .expect("published");
    assert_eq!(orders.project_id, DEFAULT_PROJECT_ID);
    assert!(
        run.stdout.contains(&format!("datasource id {}", orders.id)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "{url}/api/3.10/sites/{SITE_ID}/datasources/{}",
            orders.id
        )),
        "{}",
        run.stdout
    );

    ok(
        &publish_args(&url, file, &["--mode", "overwrite"]),
        &PAT_ENV,
    );
    ok(&publish_args(&url, file, &["--mode", "append"]), &PAT_ENV);
    let orders = server
        .datasources()
        .into_iter()
        .find(|d| d.name == "orders")
        .unwrap();
    assert_eq!((orders.publishes, orders.appends), (2, 1));
    let modes: Vec<(Option<String>, Option<String>)> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/datasources"))
        .map(|r| {
            (
                r.query_value("overwrite").map(str::to_owned),
                r.query_value("append").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            (None, None),
            (Some("true".into()), None),
            (None, Some("true".into()))
        ]
    );

    // CreateNew on an existing name: Tableau's 403007, one line, exit 1.
    let clash = hyperctl(
        &publish_args(&url, file, &["--mode", "create-new"]),
        &PAT_ENV,
    );
    assert_eq!(clash.code, 1, "{clash:?}");
    assert!(clash.stderr.contains("403007"), "{}", clash.stderr);
    assert!(
        clash
            .stderr
            .contains("The datasource 'orders' already exists and may not be overwritten"),
        "{}",
        clash.stderr
    );
    assert_eq!(
        clash.stderr.trim_end().lines().count(),
        1,
        "{}",
        clash.stderr
    );

    // A nested project, a name needing XML escapes, as a job.
    let run = ok(
        &publish_args(
            &url,
            file,
            &[
                "--project",
                "Tableau/Tableau > Child 1",
                "--name",
                "Sales & Co",
                "--as-job",
            ],
        ),
        &PAT_ENV,
    );
    assert!(run.stdout.contains("job "), "{}", run.stdout);
    assert!(
        server
            .datasources()
            .iter()
            .any(|d| d.name == "Sales & Co" && d.project_id == CHILD_PROJECT_ID)
    );
    assert_eq!(server.violations(), Vec::<String>::new());
    assert_eq!(
        server.valid_tokens(),
        Vec::<String>::new(),
        "every run signs out"
    );
}

#[test]
fn dry_run_sends_nothing() {
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = fake_hyper(dir.path(), "orders.hyper");
    let size = std::fs::metadata(&file).unwrap().len();
    let run = ok(
        &publish_args(
            &url,
            path_str(&file),
            &[
                "--project",
                "Finance/Reports",
                "--mode",
                "overwrite",
                "--dry-run",
            ],
        ),
        &PAT_ENV,
    );
    for expected in [
        format!(
            "POST {url}/api/{{version}}/sites/{{site-id}}/datasources?datasourceType=hyper&overwrite=true"
        ),
        format!("orders.hyper ({size} bytes"),
        "mode:     overwrite".to_owned(),
        "Finance/Reports".to_owned(),
        format!("personal access token \"{PAT_NAME}\""),
    ] {
        assert!(
            run.stdout.contains(&expected),
            "{expected:?} in:\n{}",
            run.stdout
        );
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn credentials_come_only_from_the_environment_or_a_profile() {
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = fake_hyper(dir.path(), "orders.hyper");
    let file = path_str(&file);

    let none = hyperctl(&publish_args(&url, file, &[]), &[]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(none.stderr.contains("TABLEAU_PAT_NAME"), "{}", none.stderr);
    // There is deliberately no flag for the secret.
    let flag = hyperctl(
        &publish_args(&url, file, &["--pat-secret", PAT_SECRET]),
        &PAT_ENV,
    );
    assert_eq!(flag.code, 2, "{flag:?}");
    let wrong = hyperctl(
        &publish_args(&url, file, &[]),
        &[
            ("TABLEAU_PAT_NAME", PAT_NAME),
            ("TABLEAU_PAT_SECRET", "wrong"),
        ],
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("401001"), "{}", wrong.stderr);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/datasources"))
    );

    // A profile: server, site, project and PAT name from the file, the secret
    // from the variable it names.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.ci]\nserver = \"{url}\"\nsite = \"Samples\"\nproject = \"Tableau\"\n\
             pat_name = \"{PAT_NAME}\"\npat_secret_env = \"CI_TABLEAU_SECRET\"\n"
        ),
    )
    .unwrap();
    let run = ok(
        &["publish", file, "--profile", "ci", "--name", "from-profile"],
        &[
            ("HYPERCTL_CONFIG", path_str(&config)),
            ("CI_TABLEAU_SECRET", PAT_SECRET),
        ],
    );
    assert!(run.stdout.contains("from-profile"), "{}", run.stdout);
    assert!(
        server
            .datasources()
            .iter()
            .any(|d| d.name == "from-profile")
    );

    // A secret written into the config file is refused, and not echoed.
    std::fs::write(
        &config,
        format!("[profile.ci]\nserver = \"{url}\"\npat_secret = \"{PAT_SECRET}\"\n"),
    )
    .unwrap();
    let leaked = hyperctl(
        &["publish", file, "--profile", "ci", "--site", "Samples"],
        &[("HYPERCTL_CONFIG", path_str(&config))],
    );
    assert_eq!(leaked.code, 1, "{leaked:?}");
    assert!(leaked.stderr.contains("line 3"), "{}", leaked.stderr);
}

fn manifest(dir: &Path, url: &str, extracts: &[(&str, &str, &str, &str)]) -> PathBuf {
    let mut text = format!("server = \"{url}\"\nsite = \"Samples\"\n");
    for (file, project, name, mode) in extracts {
        text.push_str(&format!(
            "\n[[extract]]\nfile = \"{file}\"\nproject = \"{project}\"\nname = \"{name}\"\nmode = \"{mode}\"\n"
        ));
    }
    let path = dir.join("publish.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn manifest_publishes_three_extracts_with_two_threads() {
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.hyper", "b.hyper", "c.tds"] {
        fake_hyper(dir.path(), name);
    }
    let good = manifest(
        dir.path(),
        &url,
        &[
            ("a.hyper", "default", "A", "create-new"),
            ("b.hyper", "Tableau", "B", "overwrite"),
            ("c.tds", "Tableau/Tableau > Child 1", "C", "create-new"),
        ],
    );
    let run = ok(
        &["publish", "--manifest", path_str(&good), "--parallel", "2"],
        &PAT_ENV,
    );
    assert_eq!(run.stdout.matches("| ok ").count(), 3, "{}", run.stdout);
    assert!(run.stdout.contains("3 of 3 published"), "{}", run.stdout);
    let names: Vec<String> = server.datasources().into_iter().map(|d| d.name).collect();
    for name in ["A", "B", "C"] {
        assert!(names.contains(&name.to_owned()), "{names:?}");
    }
    let sign_ins = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/auth/signin"))
        .count();
    assert!(
        (1..=2).contains(&sign_ins),
        "one session per worker: {sign_ins}"
    );

    // The same again in create-new mode: A and C clash, B overwrites.
    let clash = manifest(
        dir.path(),
        &url,
        &[
            ("a.hyper", "default", "A", "create-new"),
            ("b.hyper", "Tableau", "B", "overwrite"),
            ("c.tds", "Tableau/Tableau > Child 1", "C", "create-new"),
        ],
    );
    let run = hyperctl(
        &["publish", "--manifest", path_str(&clash), "--parallel", "2"],
        &PAT_ENV,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout.matches("| error 403007").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("The datasource 'A' already exists"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 of 3 published"), "{}", run.stdout);
    assert!(
        run.stderr.contains("2 of 3 extracts failed"),
        "{}",
        run.stderr
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

// ---- .hyper files: need Tableau's hyperd --------------------------------------

/// The hyperd the hyperctl binary should use: the one found here, passed on.
fn hyperd_env() -> Vec<(&'static str, String)> {
    hyperctl_publish::HyperdPath::discover()
        .map(|p| vec![("HYPERD_PATH", p.binary().display().to_string())])
        .unwrap_or_default()
}

fn with_hyperd<'a>(
    env: &'a [(&'static str, String)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(more);
    all
}

#[test]
fn publishes_a_hxe_converted_through_hyperd() {
    if hyperd_or_skip("publishes_a_hxe_converted_through_hyperd").is_none() {
        return;
    }
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let hxe = dir.path().join("orders.hxe");
    let hxe = path_str(&hxe);
    ok(
        &[
            "sql",
            hxe,
            "-c",
            "CREATE TABLE orders (id int NOT NULL, amount numeric(38,10), region text); \
             INSERT INTO orders VALUES (1, 2.5, 'East'), (2, NULL, 'West')",
        ],
        &[],
    );
    let env = hyperd_env();
    let run = ok(
        &publish_args(&url, hxe, &["--mode", "overwrite"]),
        &with_hyperd(&env, &PAT_ENV),
    );
    assert!(
        run.stderr.contains("file format version 3")
            && run.stderr.contains("NUMERIC(38,10)")
            && run.stderr.contains("amount"),
        "{}",
        run.stderr
    );
    let stored = server.datasources();
    let orders = stored
        .iter()
        .find(|d| d.name == "orders")
        .expect("published");
    assert_eq!(
        &orders.content[..5],
        b"Hyper",
        "a real .hyper file was sent"
    );
    let publish = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/datasources"))
        .unwrap();
    let disposition = publish.parts[1]
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-disposition"))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        disposition.contains("filename=\"orders.hyper\""),
        "{disposition}"
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn bridge_commands_say_how_to_get_hyperd() {
    let dir = tempfile::tempdir().unwrap();
    let hxe = dir.path().join("t.hxe");
    let hxe = path_str(&hxe);
    ok(&["sql", hxe, "-c", "CREATE TABLE t (a int)"], &[]);
    let out = dir.path().join("t.hyper");
    let missing = dir.path().join("no-hyperd-here");
    let env = [("HYPERD_PATH", path_str(&missing))];
    let run = hyperctl(&["export", hxe, "--to", path_str(&out)], &env);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("pip install tableauhyperapi"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("HYPERD_PATH"), "{}", run.stderr);
    let run = hyperctl(&["import", hxe, path_str(&out)], &env);
    assert_ne!(run.code, 0, "{run:?}");
    let run = hyperctl(
        &[
            "export",
            path_str(&dir.path().join("missing.hxe")),
            "--to",
            path_str(&out),
        ],
        &env,
    );
    assert_eq!(run.code, 3, "{run:?}");
}

fn days(year: i64, month: u32, day: u32) -> i32 {
    // Proleptic Gregorian, as in publish/tests/it/bridge.rs.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    (era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468) as i32
}

/// A table with every type, as `hyper_roundtrip.py write_all` writes it.
fn every_type_def() -> TableDef {
    let spellings = [
        ("id", "INTEGER"),
        ("bool", "BOOLEAN"),
        ("smallint", "SMALLINT"),
        ("integer", "INTEGER"),
        ("bigint", "BIGINT"),
        ("numeric18", "NUMERIC(18,3)"),
        ("numeric38", "NUMERIC(38,10)"),
        ("double", "DOUBLE PRECISION"),
        ("real", "REAL"),
        ("text", "TEXT"),
        ("varchar", "VARCHAR(20)"),
        ("char", "CHAR(4)"),
        ("bytes", "BYTES"),
        ("json", "JSON"),
        ("date", "DATE"),
        ("time", "TIME"),
        ("timestamp", "TIMESTAMP"),
        ("timestamptz", "TIMESTAMPTZ"),
        ("interval", "INTERVAL"),
        ("oid", "OID"),
        ("geography", "TABLEAU.TABGEOGRAPHY"),
    ];
    TableDef {
        schema: "public".to_owned(),
        name: "every_type".to_owned(),
        columns: spellings
            .iter()
            .map(|(name, ty)| ColumnDef::new(*name, SqlType::parse(ty).unwrap(), *name != "id"))
            .collect(),
    }
}

fn dec(values: Vec<Option<i128>>, p: u8, s: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(p, s)
            .unwrap(),
    )
}

fn every_type_batch(def: &TableDef) -> RecordBatch {
    let n38: i128 = -12_345_678_901_234_567_890_123_456_780_123_456_789;
    let iv = |m, d, us: i64| Some(IntervalMonthDayNano::new(m, d, us * 1000));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1, 2, 3])),
        Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        Arc::new(Int16Array::from(vec![Some(i16::MIN), None, Some(i16::MAX)])),
        Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(i32::MAX)])),
        Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        dec(vec![Some(-123_456_789_012_345_678), None, Some(1)], 18, 3),
        dec(vec![Some(n38), None, Some(10_i128.pow(38) - 1)], 38, 10),
        Arc::new(Float64Array::from(vec![Some(0.1 + 0.2), None, Some(-0.0)])),
        Arc::new(Float32Array::from(vec![Some(0.1_f32), None, Some(-1.5)])),
        Arc::new(StringArray::from(vec![
            Some("Grüße, \"Welt\"\n"),
            None,
            Some(""),
        ])),
        Arc::new(StringArray::from(vec![Some("abc"), None, Some("")])),
        Arc::new(StringArray::from(vec![Some("ab  "), None, Some("wxyz")])),
        Arc::new(BinaryArray::from(vec![
            Some(&[0, 255, b'"'][..]),
            None,
            Some(&b""[..]),
        ])),
        Arc::new(StringArray::from(vec![
            Some("{\"a\":[1,2]}"),
            None,
            Some("null"),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(-1),
            None,
            Some(days(9999, 12, 31)),
        ])),
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(DAY_US - 1),
            None,
            Some(0),
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(i64::from(days(1900, 1, 1)) * DAY_US + 1),
            None,
            Some(i64::from(days(1, 1, 1)) * DAY_US),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(i64::from(days(2024, 2, 29)) * DAY_US + DAY_US - 1),
                None,
                Some(0),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            iv(-14, 3, -14_706_000_007),
            None,
            iv(0, 0, 0),
        ])),
        Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(0)])),
        Arc::new(BinaryArray::from(vec![
            Some(&b"POINT(1.0000000 2.0000000)"[..]),
            None,
            Some(&b"POINT(-122.3000000 47.6000000)"[..]),
        ])),
    ];
    RecordBatch::try_new(def.arrow_schema(), arrays).unwrap()
}

/// The every-type table as `hyper_roundtrip.py read` prints it.
fn every_type_json() -> Value {
    let ymd = |y, m, d| json!([y, m, d]);
    json!({
        "public.every_type": {
            "columns": [
                ["id", "INT", false], ["bool", "BOOL", true], ["smallint", "SMALL_INT", true],
                ["integer", "INT", true], ["bigint", "BIG_INT", true],
                ["numeric18", "NUMERIC(18, 3)", true], ["numeric38", "NUMERIC(38, 10)", true],
                ["double", "DOUBLE", true], ["real", "FLOAT", true], ["text", "TEXT", true],
                ["varchar", "VARCHAR(20)", true], ["char", "CHAR(4)", true],
                ["bytes", "BYTES", true], ["json", "JSON", true], ["date", "DATE", true],
                ["time", "TIME", true], ["timestamp", "TIMESTAMP", true],
                ["timestamptz", "TIMESTAMP_TZ", true], ["interval", "INTERVAL", true],
                ["oid", "OID", true], ["geography", "TABLEAU.TABGEOGRAPHY", true]
            ],
            "rows": [
                [1, true, i16::MIN, i32::MIN, i64::MIN, "-123456789012345.678",
                 "-1234567890123456789012345678.0123456789", "0.30000000000000004",
                 "0.10000000149011612", "Grüße, \"Welt\"\n", "abc", "ab  ", "00ff22",
                 "{\"a\":[1,2]}", ymd(1969, 12, 31), DAY_US - 1, [ymd(1900, 1, 1), 1],
                 [ymd(2024, 2, 29), DAY_US - 1], [-14, 3, -14_706_000_007_i64], u32::MAX,
                 "POINT(1.0000000 2.0000000)"],
                [2, null, null, null, null, null, null, null, null, null, null, null, null,
                 null, null, null, null, null, null, null, null],
                [3, false, i16::MAX, i32::MAX, i64::MAX, "0.001",
                 "9999999999999999999999999999.9999999999", "-0.0", "-1.5", "", "", "wxyz", "",
                 "null", ymd(9999, 12, 31), 0, [ymd(1, 1, 1), 0], [ymd(1970, 1, 1), 0],
                 [0, 0, 0], 0, "POINT(-122.3000000 47.6000000)"]
            ]
        }
    })
}

/// Issue 7, acceptance 3, one way: a `.hxe` with every type, exported with
/// `hyperctl export`, reads back identically through the real Python Hyper API.
#[test]
fn every_type_hxe_exports_to_what_the_hyper_api_reads() {
    let test = "every_type_hxe_exports_to_what_the_hyper_api_reads";
    if hyperd_or_skip(test).is_none() || !python_hyper_api_or_skip(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hxe = dir.path().join("every.hxe");
    let def = every_type_def();
    {
        let mut conn = Connection::open(&hxe, CreateMode::Create).unwrap();
        conn.create_table(def.clone()).unwrap();
        let rows = conn
            .append_batches("public", &def.name, [Ok(every_type_batch(&def))])
            .unwrap();
        assert_eq!(rows, 3);
    }
    let hyper = dir.path().join("every.hyper");
    let env = hyperd_env();
    let run = ok(
        &["export", path_str(&hxe), "--to", path_str(&hyper)],
        &with_hyperd(&env, &[]),
    );
    assert!(run.stderr.contains("1 table, 3 rows"), "{}", run.stderr);
    assert!(
        run.stderr.contains("file format version 4") && run.stderr.contains("REAL"),
        "{}",
        run.stderr
    );
    let read: Value = serde_json::from_str(&run_roundtrip_script("read_sorted", &hyper)).unwrap();
    assert_eq!(read, every_type_json());
}

/// Issue 7, acceptance 3, the other way: a `.hyper` file written by the Python
/// Hyper API with every type, imported with `hyperctl import`, holds identical values.
#[test]
fn hyper_api_file_imports_into_hxe_with_identical_values() {
    let test = "hyper_api_file_imports_into_hxe_with_identical_values";
    if hyperd_or_skip(test).is_none() || !python_hyper_api_or_skip(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hyper = dir.path().join("theirs.hyper");
    run_roundtrip_script("write_all", &hyper);
    // The Python side wrote what the export test expects to read.
    let written: Value =
        serde_json::from_str(&run_roundtrip_script("read_sorted", &hyper)).unwrap();
    assert_eq!(written, every_type_json());

    let hxe = dir.path().join("ours.hxe");
    let env = hyperd_env();
    let env = with_hyperd(&env, &[]);
    let dry = ok(
        &["import", path_str(&hxe), path_str(&hyper), "--dry-run"],
        &env,
    );
    assert!(
        dry.stdout.contains("\"numeric38\" NUMERIC(38,10)"),
        "{}",
        dry.stdout
    );
    assert!(!hxe.exists(), "a dry run creates nothing");
    let run = ok(&["import", path_str(&hxe), path_str(&hyper)], &env);
    assert!(
        run.stderr.contains("imported 3 rows into every_type"),
        "{}",
        run.stderr
    );

    let db = Database::open_read_only(&hxe).unwrap();
    let snapshot = db.storage().snapshot();
    let table = snapshot
        .table("public", "every_type")
        .expect("imported table");
    let def = every_type_def();
    assert_eq!(table.def(), &def);
    let projection: Vec<usize> = (0..def.columns.len()).collect();
    let batches: Vec<RecordBatch> = table
        .scan(&projection)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let got = concat_batches(&def.arrow_schema(), &batches).unwrap();
    assert_eq!(got, every_type_batch(&def));
    drop((table, snapshot, db)); // the next imports write to the file

    // Importing again needs --replace or --append; --from-hyper reads any name.
    let again = hyperctl(&["import", path_str(&hxe), path_str(&hyper)], &env);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("--replace"), "{}", again.stderr);
    let renamed = dir.path().join("theirs.extract");
    std::fs::copy(&hyper, &renamed).unwrap();
    ok(
        &[
            "import",
            path_str(&hxe),
            path_str(&renamed),
            "--from-hyper",
            "--append",
        ],
        &env,
    );
    let db = Database::open_read_only(&hxe).unwrap();
    let rows = db
        .storage()
        .snapshot()
        .table("public", "every_type")
        .unwrap()
        .row_count();
    assert_eq!(rows, 6);
}

/// Issue 7, acceptance 4: every kind of command above, run once more, and
/// neither the PAT secret nor the auth token appears on stdout or stderr
/// (`hyperctl()` checks every run of every test the same way).
#[test]
fn no_secret_in_any_output() {
    let server = emulator();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = fake_hyper(dir.path(), "s.hyper");
    let file = path_str(&file);
    let mut runs = Vec::new();
    let verbose = ok(
        &publish_args(&url, file, &["--verbose", "--mode", "overwrite"]),
        &PAT_ENV,
    );
    assert!(
        verbose.stderr.contains("tableau: "),
        "the log is on: {}",
        verbose.stderr
    );
    runs.push(verbose);
    runs.push(hyperctl(&publish_args(&url, file, &["-v"]), &PAT_ENV)); // 403007
    runs.push(ok(
        &publish_args(&url, file, &["--dry-run", "-v"]),
        &PAT_ENV,
    ));
    runs.push(hyperctl(
        &publish_args(&url, file, &["-v"]),
        &[
            ("TABLEAU_PAT_NAME", PAT_NAME),
            ("TABLEAU_PAT_SECRET", "wrong"),
        ],
    ));
    server.expire_tokens();
    runs.push(ok(
        &publish_args(&url, file, &["--as-job", "--mode", "append", "-v"]),
        &PAT_ENV,
    ));
    fake_hyper(dir.path(), "t.hyper");
    let m = manifest(
        dir.path(),
        &url,
        &[
            ("s.hyper", "default", "s", "create-new"),
            ("t.hyper", "Tableau", "t", "overwrite"),
            ("s.hyper", "Nowhere", "u", "create-new"),
        ],
    );
    runs.push(hyperctl(
        &[
            "publish",
            "--manifest",
            path_str(&m),
            "--parallel",
            "2",
            "-v",
        ],
        &PAT_ENV,
    ));
    if hyperd_or_skip("no_secret_in_any_output (.hxe part)").is_some() {
        let hxe = dir.path().join("s.hxe");
        ok(
            &["sql", path_str(&hxe), "-c", "CREATE TABLE t (a int)"],
            &[],
        );
        let env = hyperd_env();
        runs.push(ok(
            &publish_args(&url, path_str(&hxe), &["--name", "from-hxe", "-v"]),
            &with_hyperd(&env, &PAT_ENV),
        ));
    }
    for run in &runs {
        assert_no_secrets(&["(no_secret_in_any_output)"], run);
    }
    // The runs did talk to the server with the secret and tokens.
    assert!(server.requests().iter().any(|r| {
        r.header("x-tableau-auth")
            .is_some_and(|t| t.starts_with(TOKEN))
    }));
}
