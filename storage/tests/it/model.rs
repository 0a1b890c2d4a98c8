//! Seeded workloads over the public API and the model they are checked
//! against: the committed tables and their rows.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray, new_empty_array,
};
use hyperctl_format::arrow::compute::concat;
use hyperctl_storage::testing::FaultyBackend;
use hyperctl_storage::{ColumnDef, DEFAULT_SCHEMA, Database, Error, TableDef};

/// The seed of a random test: `HYPERCTL_SEED` or the given default.
pub(crate) fn seed_from_env() -> Option<u64> {
    std::env::var("HYPERCTL_SEED").ok().map(|s| {
        s.parse()
            .unwrap_or_else(|_| panic!("HYPERCTL_SEED={s} is not a u64"))
    })
}

/// splitmix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_5EED)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One table of the model: its definition and the batches appended to it.
#[derive(Debug, Clone)]
pub(crate) struct ModelTable {
    pub(crate) def: TableDef,
    pub(crate) batches: Vec<RecordBatch>,
}

/// The committed state: tables by name (all in `public`).
pub(crate) type State = BTreeMap<String, ModelTable>;

/// One step of a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Create(TableDef),
    Append(String, RecordBatch),
    Drop(String),
}

/// One transaction of a workload.
#[derive(Debug, Clone)]
pub(crate) struct TxnPlan {
    pub(crate) steps: Vec<Step>,
    pub(crate) commit: bool,
    /// Close and reopen the database after this transaction.
    pub(crate) reopen: bool,
}

/// Column sets the workload picks from (several types, with NULLs).
fn column_sets() -> Vec<Vec<ColumnDef>> {
    let numeric = SqlType::numeric(18, 3).expect("valid numeric");
    vec![
        vec![
            ColumnDef::new("id", SqlType::BigInt, false),
            ColumnDef::new("n", SqlType::Int, true),
        ],
        vec![
            ColumnDef::new("name", SqlType::Text, true),
            ColumnDef::new("price", numeric, true),
            ColumnDef::new("ok", SqlType::Bool, false),
        ],
        vec![
            ColumnDef::new("x", SqlType::Double, true),
            ColumnDef::new("d", SqlType::Date, true),
            ColumnDef::new("s", SqlType::Text, false),
        ],
    ]
}

/// A random batch of `rows` rows for `def`.
pub(crate) fn random_batch(def: &TableDef, rows: usize, rng: &mut Rng) -> RecordBatch {
    let arrays: Vec<ArrayRef> = def
        .columns
        .iter()
        .map(|c| random_column(c, rows, rng))
        .collect();
    RecordBatch::try_new(def.arrow_schema(), arrays).expect("a valid batch")
}

fn random_column(c: &ColumnDef, rows: usize, rng: &mut Rng) -> ArrayRef {
    let valid = |rng: &mut Rng| !c.nullable || !rng.chance(15);
    macro_rules! col {
        ($array:ty, $value:expr) => {{
            let values: Vec<_> = (0..rows)
                .map(|_| {
                    if valid(rng) {
                        Some(($value)(&mut *rng))
                    } else {
                        None
                    }
                })
                .collect();
            Arc::new(<$array>::from(values)) as ArrayRef
        }};
    }
    match c.ty {
        SqlType::Int => col!(Int32Array, |r: &mut Rng| r.next() as i32),
        SqlType::BigInt => col!(Int64Array, |r: &mut Rng| r.next() as i64),
        SqlType::Double => col!(Float64Array, |r: &mut Rng| r.below(1 << 40) as f64 / 7.0),
        SqlType::Bool => col!(BooleanArray, |r: &mut Rng| r.chance(50)),
        SqlType::Date => col!(Date32Array, |r: &mut Rng| r.below(40_000) as i32),
        SqlType::Text => col!(StringArray, |r: &mut Rng| "x".repeat(r.below(12) as usize)
            + &r.below(1000).to_string()),
        SqlType::Numeric { precision, scale } => {
            let values: Vec<Option<i128>> = (0..rows)
                .map(|_| valid(rng).then(|| i128::from(rng.below(10u64.pow(15))) - 5))
                .collect();
            Arc::new(
                Decimal128Array::from(values)
                    .with_precision_and_scale(precision, scale as i8)
                    .expect("valid precision"),
            )
        }
        other => panic!("no generator for {other}"),
    }
}

/// A seeded workload: creates, big and small appends, drops, several tables
/// per transaction, rollbacks and reopens.
pub(crate) fn plan(seed: u64, txns: usize) -> Vec<TxnPlan> {
    let mut rng = Rng::new(seed);
    let sets = column_sets();
    let mut tables: BTreeMap<String, TableDef> = BTreeMap::new();
    let mut next_name = 0;
    let mut big_left = 1;
    let mut out = Vec::new();
    for _ in 0..txns {
        let mut view = tables.clone();
        let mut steps = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let action = rng.below(10);
            if view.is_empty() || action < 2 {
                let def = TableDef {
                    schema: DEFAULT_SCHEMA.into(),
                    name: format!("t{next_name}"),
                    columns: sets[rng.below(sets.len() as u64) as usize].clone(),
                };
                next_name += 1;
                view.insert(def.name.clone(), def.clone());
                steps.push(Step::Create(def));
            } else if action < 3 {
                let name = pick(&view, &mut rng);
                view.remove(&name);
                steps.push(Step::Drop(name));
            } else {
                let name = pick(&view, &mut rng);
                let def = &view[&name];
                // A big batch (more than one 65,536-row chunk) once per
                // workload, in a narrow table; small ones otherwise.
                let rows = if big_left > 0 && def.columns.len() == 2 && rng.chance(30) {
                    big_left -= 1;
                    70_000
                } else {
                    [0, 1, 3, 17, 200, 1500][rng.below(6) as usize]
                };
                steps.push(Step::Append(name, random_batch(def, rows, &mut rng)));
            }
        }
        let commit = !rng.chance(20);
        if commit {
            tables = view;
        }
        out.push(TxnPlan {
            steps,
            commit,
            reopen: rng.chance(15),
        });
    }
    out
}

fn pick(tables: &BTreeMap<String, TableDef>, rng: &mut Rng) -> String {
    let i = rng.below(tables.len() as u64) as usize;
    tables.keys().nth(i).expect("in range").clone()
}

/// What a run of a workload did before the power went off (or to the end).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Whether creating the database returned.
    pub(crate) created: bool,
    /// The state of the last commit that returned `Ok`.
    pub(crate) last: State,
    /// The state a commit would have made that had started but not returned.
    pub(crate) in_flight: Option<State>,
    /// Commits that returned `Ok` (dirty ones).
    pub(crate) commits: usize,
}

pub(crate) fn path() -> PathBuf {
    PathBuf::from("crash.hxe")
}

/// Runs `plan` on `backend` (empty, freshly created) until it ends or the
/// power goes off; when `check` is set, compares the database with the
/// model after every transaction and reopen.
///
/// # Panics
/// On an error that is not the injected power loss, or a check that fails.
pub(crate) fn run(plan: &[TxnPlan], backend: &FaultyBackend, check: bool) -> Outcome {
    let mut out = Outcome::default();
    let lost = |e: Error, what: &str| {
        assert!(backend.crashed(), "{what} failed without a crash: {e}");
    };
    let mut db = match Database::from_backend(path(), Box::new(backend.clone()), false, true) {
        Ok(db) => db,
        Err(e) => {
            lost(e, "create");
            return out;
        }
    };
    out.created = true;
    for txn in plan {
        let mut w = db.begin_write().expect("begin_write does no I/O");
        let mut next = out.last.clone();
        for step in &txn.steps {
            let result = match step {
                Step::Create(def) => {
                    next.insert(
                        def.name.clone(),
                        ModelTable {
                            def: def.clone(),
                            batches: Vec::new(),
                        },
                    );
                    w.create_table(def.clone())
                }
                Step::Append(name, batch) => {
                    next.get_mut(name)
                        .expect("planned")
                        .batches
                        .push(batch.clone());
                    w.append(DEFAULT_SCHEMA, name, batch).map(|_| ())
                }
                Step::Drop(name) => {
                    next.remove(name);
                    w.drop_table(DEFAULT_SCHEMA, name)
                }
            };
            if let Err(e) = result {
                lost(e, "a step");
                return out;
            }
        }
        if txn.commit {
            out.in_flight = Some(next);
            match w.commit() {
                Ok(()) => {
                    out.last = out.in_flight.take().expect("set above");
                    out.commits += 1;
                }
                Err(e) => {
                    lost(e, "commit");
                    return out;
                }
            }
        } else {
            w.rollback();
        }
        if check {
            assert_state(&db, &out.last, "after a transaction");
        }
        if txn.reopen {
            drop(db);
            db = Database::from_backend(path(), Box::new(backend.clone()), false, false)
                .expect("reopen does no writes");
            if check {
                assert_state(&db, &out.last, "after a reopen");
            }
        }
    }
    out
}

/// A table as read back: its definition and one array per column.
pub(crate) type Read = BTreeMap<String, (TableDef, Vec<ArrayRef>)>;

/// Reads every table of the database's current snapshot.
///
/// # Errors
/// The first storage error.
pub(crate) fn read_db(db: &Database) -> Result<Read, Error> {
    let snapshot = db.snapshot();
    let mut out = Read::new();
    for schema in snapshot.schema_names() {
        for name in snapshot.table_names(&schema) {
            let table = snapshot.table(&schema, &name).expect("listed");
            let projection: Vec<usize> = (0..table.def().columns.len()).collect();
            let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); projection.len()];
            for batch in table.scan(&projection)? {
                let batch = batch?;
                for (i, c) in batch.columns().iter().enumerate() {
                    columns[i].push(c.clone());
                }
            }
            let def = table.def().clone();
            let arrays = flatten(&def, columns);
            out.insert(format!("{schema}.{name}"), (def, arrays));
        }
    }
    Ok(out)
}

fn flatten(def: &TableDef, columns: Vec<Vec<ArrayRef>>) -> Vec<ArrayRef> {
    def.columns
        .iter()
        .zip(columns)
        .map(|(c, parts)| {
            if parts.is_empty() {
                return new_empty_array(&c.ty.to_arrow());
            }
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            concat(&refs).expect("same types")
        })
        .collect()
}

/// The model state in the shape of [`read_db`].
pub(crate) fn expected(state: &State) -> Read {
    state
        .values()
        .map(|t| {
            let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); t.def.columns.len()];
            for b in &t.batches {
                for (i, c) in b.columns().iter().enumerate() {
                    columns[i].push(c.clone());
                }
            }
            let key = format!("{}.{}", t.def.schema, t.def.name);
            (key, (t.def.clone(), flatten(&t.def, columns)))
        })
        .collect()
}

/// Whether what was read equals `expected`.
pub(crate) fn same(read: &Read, expected: &Read) -> bool {
    read.len() == expected.len()
        && read
            .iter()
            .zip(expected)
            .all(|((ka, (da, aa)), (kb, (db, ab)))| {
                ka == kb
                    && da == db
                    && aa.len() == ab.len()
                    && aa.iter().zip(ab).all(|(a, b)| a.as_ref() == b.as_ref())
            })
}

/// A short description of a read, for failure messages.
pub(crate) fn describe(read: &Read) -> String {
    read.iter()
        .map(|(k, (_, a))| format!("{k}: {} rows", a.first().map_or(0, |a| a.len())))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn assert_state(db: &Database, state: &State, when: &str) {
    let read = read_db(db).unwrap_or_else(|e| panic!("{when}: reading failed: {e}"));
    let want = expected(state);
    assert!(
        same(&read, &want),
        "{when}: read [{}], expected [{}]",
        describe(&read),
        describe(&want)
    );
}

/// A closed database image with dead regions in it, and what it must read as.
pub(crate) struct Built {
    pub(crate) image: Vec<u8>,
    /// Live extents of the last commit (see `testing::live_extents`).
    pub(crate) live: Vec<(std::ops::Range<u64>, String)>,
    /// The last commit.
    pub(crate) latest: Read,
    /// The commit before it (what the other header slot holds).
    pub(crate) previous: Read,
}

/// Three commits (with a dropped table, so an old catalog and dead chunks),
/// then a rolled-back append (garbage past the committed end). `big_rows`
/// adds a table of that many rows to the first commit.
pub(crate) fn build_image(big_rows: usize) -> Built {
    let mut rng = Rng::new(42);
    let sets = column_sets();
    let def = |name: &str, set: usize| TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: name.into(),
        columns: sets[set].clone(),
    };
    let (a, b, c) = (def("a", 0), def("b", 1), def("c", 2));
    let mut txns = vec![
        TxnPlan {
            steps: vec![
                Step::Create(a.clone()),
                Step::Append("a".into(), random_batch(&a, 5, &mut rng)),
                Step::Create(b.clone()),
                Step::Append("b".into(), random_batch(&b, 3, &mut rng)),
            ],
            commit: true,
            reopen: false,
        },
        TxnPlan {
            steps: vec![
                Step::Append("a".into(), random_batch(&a, 2, &mut rng)),
                Step::Create(c.clone()),
                Step::Append("c".into(), random_batch(&c, 4, &mut rng)),
            ],
            commit: true,
            reopen: true,
        },
        TxnPlan {
            steps: vec![
                Step::Drop("c".into()),
                Step::Append("b".into(), random_batch(&b, 6, &mut rng)),
            ],
            commit: true,
            reopen: false,
        },
        TxnPlan {
            steps: vec![Step::Append("a".into(), random_batch(&a, 9, &mut rng))],
            commit: false,
            reopen: false,
        },
    ];
    if big_rows > 0 {
        let big = def("big", 1);
        let batch = random_batch(&big, big_rows, &mut rng);
        txns[0].steps.push(Step::Create(big));
        txns[0].steps.push(Step::Append("big".into(), batch));
    }
    let backend = FaultyBackend::new();
    let previous = run(&txns[..2], &FaultyBackend::new(), false).last;
    let outcome = run(&txns, &backend, true);
    let db = Database::from_backend(path(), Box::new(backend.clone()), true, false)
        .expect("reopen the image");
    let live = hyperctl_storage::testing::live_extents(&db);
    let image = backend.live_image();
    let committed_end = live.iter().map(|(r, _)| r.end).max().unwrap_or(0);
    assert!(
        image.len() as u64 > committed_end,
        "no garbage past the end"
    );
    Built {
        image,
        live,
        latest: expected(&outcome.last),
        previous: expected(&previous),
    }
}
