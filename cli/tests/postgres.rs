//! `hyperctl import --from postgresql://... --query ...` against a real
//! PostgreSQL server that this test starts (issue 6, acceptance 3): `initdb`
//! into a temporary directory (as the `postgres` user when we are root, since
//! initdb refuses root), `pg_ctl start` on a free loopback port with the unix
//! socket in the directory, a table with every common type, NULLs and
//! unicode; import; compare; stop.
//!
//! Without the server binaries the test prints a notice and passes, unless
//! `HYPERCTL_REQUIRE_POSTGRES=1` (set by `.ci/run`, which installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &str = "s3cret-for-tests";
const USER: &str = "hyperctl_test";

fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HYPERCTL_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a server binary, as the `postgres` user when we are root.
fn run_pg(bin: &Path, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).output().expect("run a PostgreSQL binary");
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A server in a temporary directory, stopped on drop.
struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: PathBuf) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the server directory to postgres");
        }
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("write the password file");
        if is_root() {
            let _ = Command::new("chown").arg("postgres").arg(&pwfile).status();
        }
        run_pg(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        run_pg(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                dir.path().join("log").to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        Server {
            bin,
            data,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("postgresql://{USER}@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let data = self.data.to_str().unwrap_or("");
        let _ = cmd.args(["-D", data, "-m", "immediate", "stop"]).output();
    }
}

fn hyperctl(args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperctl"));
    cmd.args(args)
        .env_remove("PGPASSWORD")
        .env("PGPASSFILE", "/nonexistent");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("run hyperctl")
}

fn ok(args: &[&str]) -> String {
    let out = hyperctl(args, Some(PASSWORD));
    assert!(
        out.status.success(),
        "hyperctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

const CREATE: &str = "CREATE TABLE every_type (
    id int4 PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8,
    n numeric(12,3), nu numeric, t text, vc varchar(10), c char(4), b bool,
    d date, tm time, ts timestamp, tz timestamptz, iv interval, by bytea,
    j json, jb jsonb, u uuid, o oid)";

const INSERT: &str = "INSERT INTO every_type VALUES
    (1, -32768, 9223372036854775807, 1.5, -2.25e300, 123456789.125, 0.1, 'grüße 🌍, \"q\"', 'varchar', 'ab',
     true, '2024-02-29', '23:59:59.999999', '1999-12-31 23:59:59.123456',
     '2024-01-02 03:04:05.5+02', '1 year 2 mons 3 days 04:05:06.000007', '\\x00ff10',
     '{\"a\": [1, 2]}', '{\"b\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 4294967295),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL),
    (3, 0, -1, 0, 0, -0.001, -12345678901234567890.0123456789, '', '', '', false,
     '1970-01-01', '00:00:00', '2000-01-01 00:00:00', '1970-01-01 00:00:00+00', '-1 days',
     '\\x', '[]', '[]', '00000000-0000-0000-0000-000000000000', 0)";

#[test]
fn postgres_query_imports_with_faithful_types() {
    let Some(bin) = pg_bin_dir() else {
        assert!(
            std::env::var("HYPERCTL_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "HYPERCTL_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (initdb, pg_ctl) \
             under /usr/lib/postgresql/*/bin or HYPERCTL_PG_BIN; apt-get install postgresql"
        );
        eprintln!(
            "NOTICE: PostgreSQL server binaries not found; skipping the PostgreSQL import test \
             (apt-get install postgresql, or set HYPERCTL_PG_BIN)"
        );
        return;
    };
    let server = Server::start(bin);
    let mut client = postgres::Config::new()
        .host("127.0.0.1")
        .port(server.port)
        .user(USER)
        .password(PASSWORD)
        .dbname("postgres")
        .connect(postgres::NoTls)
        .expect("connect to the test server");
    client.batch_execute(CREATE).expect("create");
    client.batch_execute(INSERT).expect("insert");
    // Enough rows for several fetches.
    client
        .batch_execute(
            "CREATE TABLE many AS SELECT g AS id, (g * 0.01)::numeric(10,2) AS x FROM generate_series(1, 40000) g",
        )
        .expect("many");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pg.hxe");
    let db = db.to_str().unwrap();
    let url = server.url();
    let dry = ok(&[
        "import",
        db,
        "--from",
        &url,
        "--query",
        "SELECT * FROM every_type ORDER BY id",
        "--table",
        "all_types",
        "--dry-run",
    ]);
    for column in [
        "\"id\" INTEGER",
        "\"i2\" SMALLINT",
        "\"i8\" BIGINT",
        "\"f4\" REAL",
        "\"f8\" DOUBLE PRECISION",
        "\"n\" NUMERIC(12,3)",
        "\"nu\" NUMERIC(38,10)",
        "\"t\" TEXT",
        "\"vc\" VARCHAR(10)",
        "\"c\" CHAR(4)",
        "\"b\" BOOLEAN",
        "\"d\" DATE",
        "\"tm\" TIME",
        "\"ts\" TIMESTAMP",
        "\"tz\" TIMESTAMPTZ",
        "\"iv\" INTERVAL",
        "\"by\" BYTES",
        "\"j\" JSON",
        "\"jb\" JSON",
        "\"u\" TEXT",
        "\"o\" OID",
    ] {
        assert!(dry.contains(column), "{column} in\n{dry}");
    }
    ok(&[
        "import",
        db,
        "--from",
        &url,
        "--query",
        "SELECT * FROM every_type ORDER BY id",
        "--table",
        "all_types",
    ]);
    let got = ok(&[
        "sql",
        db,
        "-c",
        "SELECT id, i2, i8, f4, f8, n, nu, t, vc, c, b, d, tm, ts, tz, j, jb, u, o FROM all_types ORDER BY id",
        "--format",
        "csv",
    ]);
    let expected = "id,i2,i8,f4,f8,n,nu,t,vc,c,b,d,tm,ts,tz,j,jb,u,o\n\
        1,-32768,9223372036854775807,1.5,-2.25e300,123456789.125,0.1000000000,\"grüße 🌍, \"\"q\"\"\",varchar,ab  ,true,2024-02-29,23:59:59.999999,1999-12-31 23:59:59.123456,2024-01-02 01:04:05.500+00,\"{\"\"a\"\": [1, 2]}\",\"{\"\"b\"\": null}\",a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,4294967295\n\
        2,,,,,,,,,,,,,,,,,,\n\
        3,0,-1,0.0,0.0,-0.001,-12345678901234567890.0123456789,,,    ,false,1970-01-01,00:00:00,2000-01-01 00:00:00,1970-01-01 00:00:00+00,[],[],00000000-0000-0000-0000-000000000000,0\n";
    assert_eq!(got, expected);
    // CSV output shows '' and NULL alike; SQL tells them apart.
    assert_eq!(
        ok(&[
            "sql",
            db,
            "-c",
            "SELECT id FROM all_types WHERE t = '' AND vc = '' AND t IS NOT NULL",
            "--format",
            "csv"
        ]),
        "id\n3\n"
    );
    // Bytes and intervals, through the library (their text forms are ours to pick).
    let mut conn = hyperctl_sql::Database::open_read_only(db)
        .unwrap()
        .connect();
    let r = conn
        .execute_query("SELECT by, iv FROM all_types ORDER BY id")
        .unwrap();
    use hyperctl_sql::arrow::array::{Array, AsArray};
    use hyperctl_sql::arrow::datatypes::IntervalMonthDayNanoType;
    let by = r.batches[0].column(0).as_binary::<i32>();
    assert_eq!(by.value(0), b"\x00\xff\x10");
    assert!(by.is_null(1));
    assert_eq!(by.value(2), b"");
    let iv = r.batches[0]
        .column(1)
        .as_primitive::<IntervalMonthDayNanoType>();
    let v = iv.value(0);
    assert_eq!(
        (v.months, v.days, v.nanoseconds),
        (14, 3, (4 * 3600 + 5 * 60 + 6) * 1_000_000_000 + 7_000)
    );
    assert_eq!(iv.value(2).days, -1);
    drop(r);
    drop(conn);

    // Many rows stream in several fetches.
    ok(&[
        "import",
        db,
        "--from",
        &url,
        "--query",
        "SELECT id, x FROM many",
        "--table",
        "many",
        "--quiet",
    ]);
    assert_eq!(
        ok(&[
            "sql",
            db,
            "-c",
            "SELECT count(*), sum(x) FROM many",
            "--format",
            "csv"
        ]),
        "count,sum\n40000,8000200.00\n"
    );

    // Errors: arrays, a password in the URL, a wrong password, a bad query.
    let fail = |args: &[&str], password: Option<&str>, needle: &str| {
        let out = hyperctl(args, password);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains(PASSWORD) && !err.contains("panicked"),
            "{err}"
        );
    };
    fail(
        &[
            "import",
            db,
            "--from",
            &url,
            "--query",
            "SELECT ARRAY[1, 2] AS a",
            "--table",
            "arr",
        ],
        Some(PASSWORD),
        "column \"a\" has type _int4 (an array)",
    );
    let with_password = url.replace(USER, &format!("{USER}:{PASSWORD}"));
    fail(
        &[
            "import",
            db,
            "--from",
            &with_password,
            "--query",
            "SELECT 1",
            "--table",
            "x",
        ],
        None,
        "set PGPASSWORD",
    );
    fail(
        &[
            "import", db, "--from", &url, "--query", "SELECT 1", "--table", "x",
        ],
        Some("wrong"),
        "password authentication failed",
    );
    fail(
        &[
            "import",
            db,
            "--from",
            &url,
            "--query",
            "SELECT nope FROM every_type",
            "--table",
            "x",
        ],
        Some(PASSWORD),
        "column \"nope\" does not exist",
    );
    // ~/.pgpass (here PGPASSFILE) works like PGPASSWORD.
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:{USER}:{PASSWORD}\n", server.port),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .args([
            "import",
            db,
            "--from",
            &url,
            "--query",
            "SELECT 42 AS answer",
            "--table",
            "answer",
        ])
        .env_remove("PGPASSWORD")
        .env("PGPASSFILE", &pgpass)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
}
