//! `Database::verify`, the engine of `hyperctl check FILE`: read every byte the
//! current commit needs, check every checksum and decode everything, and list
//! every problem found (not just the first) with its place and file offset.
//!
//! Invariant: verification only reads; it never panics on a damaged file and
//! reports I/O errors as problems instead of failing.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hyperctl_format::decode_block_column;

use crate::backend::Backend;
use crate::catalog::Catalog;
use crate::db::{read_catalog, slot_name};
use crate::error::Error;
use crate::header::{
    FORMAT_VERSION, Header, SLOT_LEN, SLOT_OFFSETS, SlotError, SlotState, choose_slot, read_slot,
};
use crate::scan::column_mismatch;

/// How bad a problem is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Data of the current commit is unreadable or wrong (or the file does
    /// not open at all).
    Damage,
    /// Something outside the current commit looks wrong; today's data is
    /// fine. A header slot that fails its checksum is the usual one: a
    /// commit was interrupted while writing it (or the slot is damaged, and
    /// then the newest commit is lost).
    Warning,
}

/// Where a problem is.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole (its length, or no usable header at all).
    File,
    /// Header slot 0 (A, at offset 0) or 1 (B, at offset 2048).
    HeaderSlot {
        /// 0 = A, 1 = B.
        slot: usize,
    },
    /// The catalog blob of the current commit.
    Catalog,
    /// The write-ahead log beside the file.
    Log,
    /// Space inside the file that no table uses (zeros after a clean close).
    FreeSpace,
    /// One column of one block of a table.
    Column {
        /// Schema name.
        schema: String,
        /// Table name.
        table: String,
        /// Column name.
        column: String,
        /// Index of the block within the table (0 = first rows).
        block: usize,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => write!(f, "file"),
            Place::HeaderSlot { slot } => write!(f, "header slot {}", slot_name(*slot)),
            Place::Catalog => write!(f, "catalog"),
            Place::Column {
                schema,
                table,
                column,
                block,
            } => write!(
                f,
                "table \"{schema}\".\"{table}\", column \"{column}\", block {block}"
            ),
            Place::Log => write!(f, "write-ahead log"),
            Place::FreeSpace => write!(f, "free space"),
        }
    }
}

/// One problem found by [`Database::verify`](crate::Database::verify).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How bad it is.
    pub severity: Severity,
    /// What it is in.
    pub place: Place,
    /// The file region of that place (or of the damage, when narrower).
    pub offset: u64,
    /// Length of the region in bytes.
    pub len: u64,
    /// What is wrong.
    pub what: String,
}

impl Problem {
    /// The file region of the problem.
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset.saturating_add(self.len)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Damage => "damage",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity}: {} (bytes {}..{}): {}",
            self.place,
            self.offset,
            self.offset.saturating_add(self.len),
            self.what
        )
    }
}

/// What a header slot holds.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// A valid header of commit `sequence`.
    Valid {
        /// Commit number.
        sequence: u64,
    },
    /// Never written.
    Unused,
    /// Not a valid header (a problem says why).
    Damaged,
}

/// The result of [`Database::verify`](crate::Database::verify).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The file.
    pub path: PathBuf,
    /// Its length in bytes.
    pub file_len: u64,
    /// Slot A and slot B.
    pub slots: [SlotStatus; 2],
    /// The slot of the commit a reopen would use (0 = A, 1 = B), if any.
    pub current_slot: Option<usize>,
    /// That commit's sequence number.
    pub sequence: Option<u64>,
    /// That commit's end of data; bytes past it are left over from
    /// interrupted transactions.
    pub file_end: Option<u64>,
    /// Tables checked.
    pub tables: usize,
    /// Block columns checked.
    pub block_columns: usize,
    /// Rows checked (sum of the tables' row counts).
    pub rows: u64,
    /// Every problem found, in file order of discovery.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether the current commit is fully readable (warnings allowed).
    pub fn is_ok(&self) -> bool {
        !self.problems.iter().any(|p| p.severity == Severity::Damage)
    }

    fn problem(
        &mut self,
        severity: Severity,
        place: Place,
        range: Range<u64>,
        what: impl Into<String>,
    ) {
        self.problems.push(Problem {
            severity,
            place,
            offset: range.start,
            len: range.end.saturating_sub(range.start),
            what: what.into(),
        });
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_ok() { "ok" } else { "DAMAGED" };
        writeln!(f, "{}: {verdict}", self.path.display())?;
        write!(f, "  file length {} bytes", self.file_len)?;
        if let Some(end) = self.file_end {
            write!(f, ", committed data ends at {end}")?;
        }
        writeln!(f)?;
        for (slot, status) in self.slots.iter().enumerate() {
            let current = if self.current_slot == Some(slot) {
                " (current)"
            } else {
                ""
            };
            let status = match status {
                SlotStatus::Valid { sequence } => format!("commit {sequence}"),
                SlotStatus::Unused => "unused".into(),
                SlotStatus::Damaged => "damaged".into(),
            };
            writeln!(f, "  header slot {}: {status}{current}", slot_name(slot))?;
        }
        writeln!(
            f,
            "  checked {} tables, {} block columns, {} rows",
            self.tables, self.block_columns, self.rows
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Verifies the database in `backend` (see the module docs).
pub(crate) fn verify_backend(path: &Path, backend: &dyn Backend) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_path_buf(),
        file_len: 0,
        slots: [SlotStatus::Unused; 2],
        current_slot: None,
        sequence: None,
        file_end: None,
        tables: 0,
        block_columns: 0,
        rows: 0,
        problems: Vec::new(),
    };
    match backend.len() {
        Ok(len) => report.file_len = len,
        Err(e) => {
            report.problem(
                Severity::Damage,
                Place::File,
                0..0,
                format!("cannot get the file length: {e}"),
            );
            return report;
        }
    }
    check_slot_padding(backend, &mut report);
    let Some(header) = check_slots(backend, &mut report) else {
        return report;
    };
    if header.file_end > report.file_len {
        report.problem(
            Severity::Damage,
            Place::File,
            report.file_len..header.file_end,
            format!(
                "the file ends at {}, before the end of committed data at {} (truncated?)",
                report.file_len, header.file_end
            ),
        );
    }
    let catalog_range = header.catalog_offset..header.catalog_offset + header.catalog_len;
    if catalog_range.end > report.file_len {
        report.problem(
            Severity::Damage,
            Place::Catalog,
            catalog_range,
            "the file ends inside the catalog",
        );
        return report;
    }
    let catalog = match read_catalog(path, backend, &header) {
        Ok(catalog) => catalog,
        Err(e) => {
            report.problem(
                Severity::Damage,
                Place::Catalog,
                catalog_range,
                error_text(&e),
            );
            return report;
        }
    };
    check_tables(backend, &catalog, &mut report);
    check_free_space(backend, &catalog, catalog_range.clone(), &mut report);
    check_overlaps(&catalog, catalog_range, &mut report);
    report
}

/// Reads both slots into the report; returns the header a reopen would use,
/// if the file has one that this code can read.
fn check_slots(backend: &dyn Backend, report: &mut VerifyReport) -> Option<Header> {
    let mut slots = [SlotState::Unused, SlotState::Unused];
    for (slot, state) in slots.iter_mut().enumerate() {
        let range = SLOT_OFFSETS[slot]..SLOT_OFFSETS[slot] + SLOT_LEN as u64;
        let place = Place::HeaderSlot { slot };
        match read_slot(backend, slot) {
            Ok(s) => *state = s,
            Err(e) => {
                report.slots[slot] = SlotStatus::Damaged;
                report.problem(Severity::Damage, place, range, format!("cannot read: {e}"));
                continue;
            }
        }
        report.slots[slot] = match state {
            SlotState::Valid(h) => SlotStatus::Valid {
                sequence: h.sequence,
            },
            SlotState::Unused => SlotStatus::Unused,
            SlotState::Bad(SlotError::Invalid { reason, .. }) => {
                // Damage when recovery refuses it (below), else a warning.
                let what = format!("valid checksum but impossible fields: {reason}");
                report.problem(Severity::Warning, place, range, what);
                SlotStatus::Damaged
            }
            SlotState::Bad(e) => {
                let what = match e {
                    SlotError::BadMagic => "wrong magic bytes",
                    _ => "checksum mismatch",
                };
                let what = format!(
                    "{what}: an interrupted commit tore this header write, or the slot is \
                     damaged (then its commit, if it was the newest, is lost)"
                );
                report.problem(Severity::Warning, place, range, what);
                SlotStatus::Damaged
            }
        };
    }
    let (slot, header) = match choose_slot(&slots) {
        Ok(chosen) => chosen,
        // Recovery refuses the file; check the other slot for more findings.
        Err(Some((bad, _))) => {
            if let Some(p) = report
                .problems
                .iter_mut()
                .find(|p| p.place == Place::HeaderSlot { slot: bad })
            {
                p.severity = Severity::Damage;
                p.what
                    .push_str(" (it claims the newest commit, so the database does not open)");
            }
            match &slots[1 - bad] {
                SlotState::Valid(h) => (1 - bad, *h),
                _ => return None,
            }
        }
        Err(None) => {
            report.problem(
                Severity::Damage,
                Place::File,
                0..report.file_len.min(SLOT_OFFSETS[1] + SLOT_LEN as u64),
                "no valid header slot: not a hyperctl database, or both slots are damaged",
            );
            return None;
        }
    };
    report.current_slot = Some(slot);
    report.sequence = Some(header.sequence);
    report.file_end = Some(header.file_end);
    if header.version > FORMAT_VERSION {
        let range = SLOT_OFFSETS[slot]..SLOT_OFFSETS[slot] + SLOT_LEN as u64;
        report.problem(
            Severity::Damage,
            Place::HeaderSlot { slot },
            range,
            format!(
                "file format version {} is newer than this hyperctl reads ({FORMAT_VERSION})",
                header.version
            ),
        );
        return None;
    }
    Some(header)
}

fn error_text(e: &Error) -> String {
    match e {
        Error::Corrupt { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn check_tables(backend: &dyn Backend, catalog: &Catalog, report: &mut VerifyReport) {
    for table in &catalog.tables {
        report.tables += 1;
        report.rows += table.live_rows();
        for (index, block) in table.blocks.iter().enumerate() {
            for (c, column) in block.columns.iter().zip(&table.def.columns) {
                let extent = c.extent;
                report.block_columns += 1;
                let range = extent.offset..extent.end();
                let place = || Place::Column {
                    schema: table.def.schema.clone(),
                    table: table.def.name.clone(),
                    column: column.name.clone(),
                    block: index,
                };
                if range.end > report.file_len {
                    let what = "the file ends before this block column does";
                    report.problem(Severity::Damage, place(), range, what);
                    continue;
                }
                let mut buf = vec![0u8; extent.len as usize];
                if let Err(e) = backend.read_exact_at(&mut buf, extent.offset) {
                    let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        "the file ends inside this block column".to_string()
                    } else {
                        format!("cannot read: {e}")
                    };
                    report.problem(Severity::Damage, place(), range, what);
                    continue;
                }
                match decode_block_column(&column.ty, &buf, block.rows as usize) {
                    Ok(array) => {
                        if let Some(what) = column_mismatch(column, array.as_ref(), block.rows) {
                            report.problem(Severity::Damage, place(), range, what);
                        }
                    }
                    Err(e) => report.problem(Severity::Damage, place(), range, e.to_string()),
                }
            }
        }
    }
}

/// Checks a write-ahead log that lies beside the file: its records must
/// decode; bytes after the last valid record are an interrupted write.
pub(crate) fn check_wal(report: &mut VerifyReport, wal: &dyn Backend) {
    let scan = match crate::wal::scan(wal) {
        Ok(s) => s,
        Err(e) => {
            report.problem(
                Severity::Damage,
                Place::Log,
                0..0,
                format!("cannot read: {e}"),
            );
            return;
        }
    };
    let Some(salt) = scan.salt else {
        if scan.garbage > 0 {
            let what = "no valid log header: the log is ignored (an interrupted checkpoint)";
            report.problem(Severity::Warning, Place::Log, 0..scan.garbage, what);
        }
        return;
    };
    if report.sequence.is_some_and(|s| salt > s) {
        let what = format!(
            "the log continues checkpoint {salt}, newer than the file's header ({}): the \
             newest header slot is damaged",
            report.sequence.unwrap_or_default()
        );
        report.problem(Severity::Damage, Place::Log, 0..0, what);
    }
    for (lsn, at, payload) in &scan.records {
        if let Err(e) = crate::wal::decode_ops(payload, *at, report.file_len) {
            let what = format!("record {lsn}: {e}");
            report.problem(
                Severity::Damage,
                Place::Log,
                *at..*at + payload.len() as u64,
                what,
            );
        }
    }
    if scan.garbage > 0 {
        let what = "bytes after the last valid record (an interrupted commit; ignored)";
        report.problem(
            Severity::Warning,
            Place::Log,
            scan.end..scan.end + scan.garbage,
            what,
        );
    }
}

/// The bytes of a header slot after its fields are zero: a flip there is
/// damage too (it would hide nothing, but the file is not what was written).
fn check_slot_padding(backend: &dyn Backend, report: &mut VerifyReport) {
    for (slot, start) in SLOT_OFFSETS.iter().enumerate() {
        let from = start + SLOT_LEN as u64;
        let to = if slot == 0 {
            SLOT_OFFSETS[1]
        } else {
            crate::header::DATA_START
        };
        if report.file_len < to {
            continue;
        }
        let mut buf = vec![0u8; (to - from) as usize];
        if backend.read_exact_at(&mut buf, from).is_ok()
            && let Some(i) = buf.iter().position(|b| *b != 0)
        {
            let at = from + i as u64;
            report.problem(
                Severity::Damage,
                Place::HeaderSlot { slot },
                at..at + 1,
                "non-zero byte in the reserved space after the header",
            );
        }
    }
}

/// Bytes that nothing uses must be zero (a clean close writes zeros there),
/// so that a flipped bit anywhere in a closed file is reported. A non-zero
/// byte there harms no data: it is a warning (a crash leaves such bytes too).
fn check_free_space(
    backend: &dyn Backend,
    catalog: &Catalog,
    catalog_range: Range<u64>,
    report: &mut VerifyReport,
) {
    let mut used: Vec<Range<u64>> = vec![catalog_range];
    used.extend(catalog.block_extents().map(|e| e.offset..e.end()));
    used.sort_by_key(|r| r.start);
    let mut gaps = Vec::new();
    let mut at = crate::header::DATA_START;
    for r in used {
        if r.start > at {
            gaps.push(at..r.start.min(report.file_len));
        }
        at = at.max(r.end);
    }
    if report.file_len > at {
        gaps.push(at..report.file_len);
    }
    let mut buf = vec![0u8; 1 << 16];
    for gap in gaps {
        let mut pos = gap.start;
        while pos < gap.end {
            let n = (gap.end - pos).min(buf.len() as u64) as usize;
            if backend.read_exact_at(&mut buf[..n], pos).is_err() {
                break;
            }
            if let Some(i) = buf[..n].iter().position(|b| *b != 0) {
                let first = pos + i as u64;
                report.problem(
                    Severity::Warning,
                    Place::FreeSpace,
                    first..gap.end,
                    "non-zero bytes in unused space (a flipped bit, or left over from an \
                     interrupted transaction; no data is affected)",
                );
                break;
            }
            pos += n as u64;
        }
    }
}

/// Every extent of the commit is written once: overlaps mean a damaged catalog.
fn check_overlaps(catalog: &Catalog, catalog_range: Range<u64>, report: &mut VerifyReport) {
    let mut regions: Vec<(Range<u64>, Place)> = vec![(catalog_range, Place::Catalog)];
    for table in &catalog.tables {
        for (index, block) in table.blocks.iter().enumerate() {
            for (c, column) in block.columns.iter().zip(&table.def.columns) {
                let place = Place::Column {
                    schema: table.def.schema.clone(),
                    table: table.def.name.clone(),
                    column: column.name.clone(),
                    block: index,
                };
                regions.push((c.extent.offset..c.extent.end(), place));
            }
        }
    }
    regions.sort_by_key(|(r, _)| (r.start, r.end));
    let mut reach: Option<(u64, usize)> = None;
    for i in 0..regions.len() {
        let (range, place) = &regions[i];
        if let Some((end, j)) = reach
            && range.start < end
        {
            let what = format!(
                "overlaps {} ({}..{})",
                regions[j].1, regions[j].0.start, regions[j].0.end
            );
            report.problem(Severity::Damage, place.clone(), range.clone(), what);
        }
        if reach.is_none_or(|(end, _)| range.end > end) {
            reach = Some((range.end, i));
        }
    }
}
