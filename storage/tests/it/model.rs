//! Seeded workloads over the public API and the model they are checked
//! against: the committed tables and their rows.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray, new_empty_array,
};
use hyperctl_format::arrow::compute::{concat, concat_batches, filter_record_batch};
use hyperctl_format::arrow::datatypes::UInt64Type;
use hyperctl_storage::testing::FaultyBackend;
use hyperctl_storage::{
    ColumnDef, DEFAULT_SCHEMA, Database, Error, MemBackend, OpenOptions, ROW_POSITION_COLUMN,
    ScanOptions, TableDef, WriteTxn,
};

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

/// One table of the model: its definition and its live rows, in scan order.
#[derive(Debug, Clone)]
pub(crate) struct ModelTable {
    pub(crate) def: TableDef,
    pub(crate) batches: Vec<RecordBatch>,
}

impl ModelTable {
    pub(crate) fn new(def: TableDef) -> Self {
        Self {
            def,
            batches: Vec::new(),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Removes the rows at the live indexes `rows` (ascending).
    pub(crate) fn delete(&mut self, rows: &[usize]) {
        let all = concat_batches(&self.def.arrow_schema(), &self.batches).expect("same schema");
        let mut keep = vec![true; all.num_rows()];
        for &r in rows {
            keep[r] = false;
        }
        let kept = filter_record_batch(&all, &BooleanArray::from(keep)).expect("filter");
        self.batches = vec![kept];
    }
}

/// The committed state: tables by name (all in `public`).
pub(crate) type State = BTreeMap<String, ModelTable>;

/// One step of a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Create(TableDef),
    Append(String, RecordBatch),
    /// Deletes the rows at these live indexes (ascending, distinct), found
    /// by a scan with row positions.
    Delete(String, Vec<usize>),
    /// UPDATE: deletes the rows at these live indexes and appends the new
    /// versions (the batch) at the end, as the SQL layer does.
    Update(String, Vec<usize>, RecordBatch),
    Truncate(String),
    /// ALTER TABLE old RENAME TO new.
    Rename(String, String),
    Drop(String),
}

/// What happens after a transaction, outside of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Nothing,
    /// Close (a clean close: checkpoint) and reopen.
    Reopen,
    /// `Database::checkpoint`.
    Checkpoint,
    /// `Database::vacuum`.
    Vacuum,
}

/// One transaction of a workload.
#[derive(Debug, Clone)]
pub(crate) struct TxnPlan {
    pub(crate) steps: Vec<Step>,
    pub(crate) commit: bool,
    pub(crate) after: After,
}

/// Column sets the workload picks from (several types, with NULLs).
pub(crate) fn column_sets() -> Vec<Vec<ColumnDef>> {
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

/// `k` distinct live indexes below `rows`, ascending.
fn pick_rows(rows: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut out: Vec<usize> = (0..k.min(rows))
        .map(|_| rng.below(rows as u64) as usize)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// How a workload is shaped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) txns: usize,
    /// Appends of more than one block (70,000 rows into a narrow table).
    pub(crate) big_inserts: usize,
}

/// A seeded workload: creates, big and small appends, deletes, updates,
/// truncates, drops, several tables per transaction, rollbacks, and
/// checkpoints, vacuums and reopens between transactions.
pub(crate) fn plan(seed: u64, shape: Shape) -> Vec<TxnPlan> {
    let mut rng = Rng::new(seed);
    let sets = column_sets();
    // name -> (definition, live rows)
    let mut tables: BTreeMap<String, (TableDef, usize)> = BTreeMap::new();
    let mut next_name = 0;
    let mut big_left = shape.big_inserts;
    let mut out = Vec::new();
    for _ in 0..shape.txns {
        let mut view = tables.clone();
        let mut steps = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let action = rng.below(20);
            if view.is_empty() || action < 3 {
                let set = if big_left > 0 {
                    0
                } else {
                    rng.below(sets.len() as u64) as usize
                };
                let def = TableDef {
                    schema: DEFAULT_SCHEMA.into(),
                    name: format!("t{next_name}"),
                    columns: sets[set].clone(),
                };
                next_name += 1;
                view.insert(def.name.clone(), (def.clone(), 0));
                steps.push(Step::Create(def));
            } else if action < 4 {
                let name = pick(&view, &mut rng);
                view.remove(&name);
                steps.push(Step::Drop(name));
            } else if action < 5 {
                let name = pick(&view, &mut rng);
                view.get_mut(&name).expect("picked").1 = 0;
                steps.push(Step::Truncate(name));
            } else if action < 6 {
                let name = pick(&view, &mut rng);
                let (mut def, rows) = view.remove(&name).expect("picked");
                def.name = format!("t{next_name}");
                next_name += 1;
                steps.push(Step::Rename(name, def.name.clone()));
                view.insert(def.name.clone(), (def, rows));
            } else if action < 8 {
                let name = pick(&view, &mut rng);
                let (_, rows) = view.get_mut(&name).expect("picked");
                let k = [1, 2, 10, 300][rng.below(4) as usize];
                let del = pick_rows(*rows, k, &mut rng);
                *rows -= del.len();
                steps.push(Step::Delete(name, del));
            } else if action < 11 {
                let name = pick(&view, &mut rng);
                let (def, rows) = view.get_mut(&name).expect("picked");
                let del = pick_rows(*rows, 1 + rng.below(5) as usize, &mut rng);
                let batch = random_batch(def, del.len(), &mut rng);
                steps.push(Step::Update(name, del, batch));
            } else {
                let name = pick(&view, &mut rng);
                let (def, rows) = view.get_mut(&name).expect("picked");
                // A big batch (more than one 65,536-row block) in a narrow
                // table when the shape asks for it; small ones otherwise.
                let n = if big_left > 0 && def.columns.len() == 2 {
                    big_left -= 1;
                    70_000
                } else {
                    [0, 1, 3, 17, 200, 1500][rng.below(6) as usize]
                };
                *rows += n;
                steps.push(Step::Append(name, random_batch(def, n, &mut rng)));
            }
        }
        let commit = !rng.chance(15);
        if commit {
            tables = view;
        }
        let after = match rng.below(100) {
            0..10 => After::Reopen,
            10..20 => After::Checkpoint,
            20..24 => After::Vacuum,
            _ => After::Nothing,
        };
        out.push(TxnPlan {
            steps,
            commit,
            after,
        });
    }
    out
}

/// Counts of the kinds of steps and of what happens between transactions,
/// for the test's output.
pub(crate) fn summary(plan: &[TxnPlan]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in plan {
        for s in &t.steps {
            let kind = match s {
                Step::Create(_) => "create",
                Step::Append(_, b) if b.num_rows() > 65_536 => "big append",
                Step::Append(..) => "append",
                Step::Delete(..) => "delete",
                Step::Update(..) => "update",
                Step::Truncate(_) => "truncate",
                Step::Rename(..) => "rename",
                Step::Drop(_) => "drop",
            };
            *counts.entry(kind).or_default() += 1;
        }
        *counts
            .entry(if t.commit { "commit" } else { "rollback" })
            .or_default() += 1;
        let after = match t.after {
            After::Nothing => continue,
            After::Reopen => "reopen",
            After::Checkpoint => "checkpoint",
            After::Vacuum => "vacuum",
        };
        *counts.entry(after).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pick<V>(tables: &BTreeMap<String, V>, rng: &mut Rng) -> String {
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
    /// Checkpoints of the log into the main file (explicit, automatic, on
    /// close or vacuum) that completed, by the header's sequence number.
    pub(crate) checkpoints: u64,
}

pub(crate) fn path() -> PathBuf {
    PathBuf::from("crash.hxe")
}

/// A database on a main file and its log.
pub(crate) fn open(
    main: &FaultyBackend,
    wal: &FaultyBackend,
    options: &OpenOptions,
    init: bool,
) -> Result<Database, Error> {
    Database::from_backends(
        path(),
        Box::new(main.clone()),
        Box::new(wal.clone()),
        options,
        init,
    )
}

/// A database (read-only or not) on images of a main file and its log.
pub(crate) fn open_images(main: Vec<u8>, wal: Vec<u8>, read_only: bool) -> Result<Database, Error> {
    Database::from_backends(
        path(),
        Box::new(MemBackend::from_bytes(main)),
        Box::new(MemBackend::from_bytes(wal)),
        &OpenOptions::new().read_only(read_only),
        false,
    )
}

/// The row positions (for `WriteTxn::delete`) of the rows at the live
/// indexes `rows` of a table, as the transaction sees it.
pub(crate) fn positions(w: &WriteTxn, name: &str, rows: &[usize]) -> Result<Vec<u64>, Error> {
    let table = w.table(DEFAULT_SCHEMA, name).expect("planned");
    let mut all = Vec::new();
    for batch in table.scan_with(&ScanOptions::new(&[]).with_row_positions(true))? {
        let batch = batch?;
        let column = batch.column(batch.num_columns() - 1);
        assert_eq!(
            batch.schema().field(batch.num_columns() - 1).name(),
            ROW_POSITION_COLUMN
        );
        all.extend(column.as_primitive::<UInt64Type>().values().iter().copied());
    }
    assert_eq!(
        all.len() as u64,
        table.row_count(),
        "{name}: scan vs row_count"
    );
    Ok(rows.iter().map(|&r| all[r]).collect())
}

/// Runs one step in `w` and in the model `next`.
pub(crate) fn apply_step(w: &mut WriteTxn, next: &mut State, step: &Step) -> Result<(), Error> {
    match step {
        Step::Create(def) => {
            next.insert(def.name.clone(), ModelTable::new(def.clone()));
            w.create_table(def.clone())
        }
        Step::Append(name, batch) => {
            next.get_mut(name)
                .expect("planned")
                .batches
                .push(batch.clone());
            w.append(DEFAULT_SCHEMA, name, batch).map(|_| ())
        }
        Step::Delete(name, rows) => {
            next.get_mut(name).expect("planned").delete(rows);
            let at = positions(w, name, rows)?;
            let n = w.delete(DEFAULT_SCHEMA, name, &at)?;
            assert_eq!(n, rows.len() as u64, "{name}: rows deleted");
            Ok(())
        }
        Step::Update(name, rows, batch) => {
            let t = next.get_mut(name).expect("planned");
            t.delete(rows);
            t.batches.push(batch.clone());
            let at = positions(w, name, rows)?;
            let n = w.delete(DEFAULT_SCHEMA, name, &at)?;
            assert_eq!(n, rows.len() as u64, "{name}: rows updated");
            w.append(DEFAULT_SCHEMA, name, batch).map(|_| ())
        }
        Step::Truncate(name) => {
            let t = next.get_mut(name).expect("planned");
            let rows = t.rows() as u64;
            t.batches.clear();
            let n = w.truncate(DEFAULT_SCHEMA, name)?;
            assert_eq!(n, rows, "{name}: rows truncated");
            Ok(())
        }
        Step::Rename(name, new) => {
            let mut t = next.remove(name).expect("planned");
            t.def.name.clone_from(new);
            next.insert(new.clone(), t);
            w.rename_table(DEFAULT_SCHEMA, name, DEFAULT_SCHEMA, new)
        }
        Step::Drop(name) => {
            next.remove(name);
            w.drop_table(DEFAULT_SCHEMA, name)
        }
    }
}

/// Runs `plan` on `main` and `wal` (empty, freshly created, siblings on one
/// simulated disk) until it ends or the power goes off, then drops the
/// database (a clean close when the power is still on); when `check` is
/// set, compares the database with the model after every transaction,
/// checkpoint, vacuum and reopen.
///
/// # Panics
/// On an error that is not the injected power loss, or a check that fails.
pub(crate) fn run(
    plan: &[TxnPlan],
    main: &FaultyBackend,
    wal: &FaultyBackend,
    options: &OpenOptions,
    check: bool,
) -> Outcome {
    let mut out = Outcome::default();
    let lost = |e: Error, what: &str| {
        assert!(main.crashed(), "{what} failed without a crash: {e}");
    };
    let mut db = match open(main, wal, options, true) {
        Ok(db) => db,
        Err(e) => {
            lost(e, "create");
            return out;
        }
    };
    out.created = true;
    for txn in plan {
        // begin_write does no I/O, but an automatic checkpoint that lost
        // power after a durable commit poisons the handle.
        let mut w = match db.begin_write() {
            Ok(w) => w,
            Err(e) => {
                lost(e, "begin_write after an automatic checkpoint");
                return out;
            }
        };
        let mut next = out.last.clone();
        for step in &txn.steps {
            if let Err(e) = apply_step(&mut w, &mut next, step) {
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
        let result = match txn.after {
            After::Nothing => Ok(()),
            After::Checkpoint => db.checkpoint(),
            After::Vacuum => db.vacuum().map(|_| ()),
            After::Reopen => {
                drop(db);
                match open(main, wal, options, false) {
                    Ok(again) => {
                        db = again;
                        Ok(())
                    }
                    Err(e) => {
                        lost(e, "reopen");
                        return out;
                    }
                }
            }
        };
        if let Err(e) = result {
            lost(e, "checkpoint or vacuum");
            return out;
        }
        if check {
            assert_state(&db, &out.last, &format!("after {:?}", txn.after));
            let report = db.verify();
            assert!(report.is_ok(), "after {:?}: {report}", txn.after);
        }
        out.checkpoints = db.stats().map_or(0, |s| s.checkpoint_sequence);
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

/// A closed database image (checkpointed, header in both slots, log
/// removed), and what it must read as.
pub(crate) struct Built {
    pub(crate) image: Vec<u8>,
    /// Live extents of the last commit (see `testing::live_extents`).
    pub(crate) live: Vec<(std::ops::Range<u64>, String)>,
    /// The last commit.
    pub(crate) latest: Read,
}

/// Four commits (with a dropped table, so an old catalog and a dead block
/// are freed; deletes, so deletion vectors; a truncate), a rolled-back
/// append, then a clean close. `big_rows` adds a table of that many rows to
/// the first commit.
pub(crate) fn build_image(big_rows: usize) -> Built {
    let mut rng = Rng::new(42);
    let sets = column_sets();
    let def = |name: &str, set: usize| TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: name.into(),
        columns: sets[set].clone(),
    };
    let (a, b, c, d) = (def("a", 0), def("b", 1), def("c", 2), def("d", 0));
    let mut txns = vec![
        TxnPlan {
            steps: vec![
                Step::Create(a.clone()),
                Step::Append("a".into(), random_batch(&a, 5, &mut rng)),
                Step::Create(b.clone()),
                Step::Append("b".into(), random_batch(&b, 3, &mut rng)),
                Step::Create(d.clone()),
                Step::Append("d".into(), random_batch(&d, 4, &mut rng)),
            ],
            commit: true,
            after: After::Nothing,
        },
        TxnPlan {
            steps: vec![
                Step::Append("a".into(), random_batch(&a, 2, &mut rng)),
                Step::Create(c.clone()),
                Step::Append("c".into(), random_batch(&c, 4, &mut rng)),
            ],
            commit: true,
            after: After::Reopen,
        },
        TxnPlan {
            steps: vec![
                Step::Drop("c".into()),
                Step::Append("b".into(), random_batch(&b, 6, &mut rng)),
                Step::Delete("a".into(), vec![1, 5]),
                Step::Truncate("d".into()),
            ],
            commit: true,
            after: After::Checkpoint,
        },
        TxnPlan {
            steps: vec![Step::Update(
                "b".into(),
                vec![0, 4],
                random_batch(&b, 2, &mut rng),
            )],
            commit: true,
            after: After::Nothing,
        },
        TxnPlan {
            steps: vec![Step::Append("a".into(), random_batch(&a, 9, &mut rng))],
            commit: false,
            after: After::Nothing,
        },
    ];
    if big_rows > 0 {
        let big = def("big", 1);
        let batch = random_batch(&big, big_rows, &mut rng);
        txns[0].steps.push(Step::Create(big));
        txns[0].steps.push(Step::Append("big".into(), batch));
    }
    let main = FaultyBackend::new();
    let wal = main.sibling();
    let outcome = run(&txns, &main, &wal, &OpenOptions::new(), true);
    let image = main.live_image();
    let db = open_images(image.clone(), Vec::new(), true).expect("reopen the image");
    let live = hyperctl_storage::testing::live_extents(&db);
    Built {
        image,
        live,
        latest: expected(&outcome.last),
    }
}
