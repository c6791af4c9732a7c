//! The standalone on-disk format of ovsdb(5): an append-only series of
//! records, each a header line `OVSDB JSON <length> <sha1>` followed by
//! `<length>` bytes of JSON (the SHA-1 covers those bytes, trailing newline
//! included). The first record is the schema; every later one is a
//! transaction `{"Table": {"uuid": row-or-null}, "_date": ms, ...}`.
//!
//! Layers, bottom up:
//! - [`encode_record`] / [`decode_record`] / [`Records`]: framing only.
//! - [`txn_from_json`] / [`change_record`] / [`snapshot_record`]: records to and from
//!   [`ChangeSet`]s (the `_is_diff` rules live here and in
//!   [`ChangeSet::to_log_record`]).
//! - [`Log`]: a file — create, open with torn-tail recovery, durable
//!   append, and compaction by write-then-rename.
//!
//! Recovery policy: a bad schema record is a hard error; any later bad
//! record (torn, wrong checksum, bad JSON, does not apply) ends the log
//! there. [`Log::open`] truncates the file at that point, [`Log::read`]
//! leaves it alone; both say what was dropped in the [`OpenReport`].
//!
//! Writers (`create`, `open`, snapshots) lock the file the way upstream
//! does (`.NAME.~lock~`); readers (`read`, `read_schema`) do not.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::atom::write_json_str;
use crate::database::{for_each_ref, ChangeSet, Database, RowChange};
use crate::datum::Datum;
use crate::error::{Error, OvsdbError, Result};
use crate::row::{index_key, Row};
use crate::schema::{ColumnType, DatabaseSchema, COL_UUID, COL_VERSION};
use crate::uuid::Uuid;

/// Longest header we accept: `OVSDB CLUSTER <u64> <40 hex>\n` fits easily.
const MAX_HEADER: usize = 128;

/// The kind of file a record header announces (its "magic" word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    /// `OVSDB JSON`: a standalone (or active-backup) database.
    Standalone,
    /// `OVSDB CLUSTER`: a clustered (Raft) database.
    Clustered,
}

/// One framed record read from a log.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Byte offset of the record's header in the file.
    pub offset: u64,
    /// Total size in bytes, header included.
    pub size: u64,
    /// The magic word of the header.
    pub magic: Magic,
    /// The record's JSON object.
    pub json: Value,
}

/// Why the bytes at some offset are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Byte offset of the bad record's header.
    pub offset: u64,
    /// What is wrong with it.
    pub msg: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (record at offset {})", self.msg, self.offset)
    }
}

/// The bytes of one record: header line, the JSON in compact form, newline.
pub fn encode_record(json: &Value) -> Vec<u8> {
    // serde_json escapes control characters, so the body is one line.
    encode_record_body(json.to_string().into_bytes())
}

/// The bytes of one record whose JSON text (compact, one line) is `body`.
pub fn encode_record_body(mut body: Vec<u8>) -> Vec<u8> {
    body.push(b'\n');
    let hash = Sha1::digest(&body);
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(format!("OVSDB JSON {} {}\n", body.len(), hex(&hash)).as_bytes());
    out.extend_from_slice(&body);
    out
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Decodes the record at the start of `buf` (which lies at file offset
/// `offset`). Returns `Ok(None)` if `buf` is empty.
pub fn decode_record(buf: &[u8], offset: u64) -> Result<Option<Record>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let err = |msg: String| FrameError { offset, msg };
    let window = &buf[..buf.len().min(MAX_HEADER)];
    let nl = match window.iter().position(|&b| b == b'\n') {
        Some(i) => i,
        None if buf.len() < MAX_HEADER => {
            return Err(err(format!("truncated record header ({} bytes, no end of line)", buf.len())))
        }
        None => return Err(err("record header is not a line of at most 128 bytes".into())),
    };
    let line = std::str::from_utf8(&window[..nl]).map_err(|_| err("record header is not text".into()))?;
    let words: Vec<&str> = line.split(' ').collect();
    if words.len() != 4 || words[0] != "OVSDB" {
        return Err(err(format!("bad record header \"{}\" (expected \"OVSDB JSON <length> <sha1>\")", line.escape_debug())));
    }
    let magic = match words[1] {
        "JSON" => Magic::Standalone,
        "CLUSTER" => Magic::Clustered,
        m => return Err(err(format!("unknown record magic \"{}\"", m.escape_debug()))),
    };
    let len: u64 = match words[2] {
        w if !w.is_empty() && w.len() <= 19 && w.bytes().all(|b| b.is_ascii_digit()) => {
            w.parse().map_err(|_| err(format!("bad record length \"{w}\"")))?
        }
        w => return Err(err(format!("bad record length \"{}\"", w.escape_debug()))),
    };
    let want = words[3];
    if want.len() != 40 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(format!("bad record SHA-1 \"{}\"", want.escape_debug())));
    }
    let start = nl + 1;
    let avail = (buf.len() - start) as u64;
    if len > avail {
        return Err(err(format!("truncated record: header announces {len} bytes but only {avail} follow")));
    }
    let body = &buf[start..start + len as usize];
    let got = hex(&Sha1::digest(body));
    if !got.eq_ignore_ascii_case(want) {
        return Err(err(format!("record SHA-1 mismatch: header says {want}, data hashes to {got}")));
    }
    let json: Value = serde_json::from_slice(body).map_err(|e| err(format!("record is not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(err("record is not a JSON object".into()));
    }
    Ok(Some(Record { offset, size: start as u64 + len, magic, json }))
}

/// Iterates over the records of a log held in memory. After an error the
/// iterator ends.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    /// Records of `buf`, which holds a log from its first byte.
    pub fn new(buf: &'a [u8]) -> Records<'a> {
        Records { buf, pos: 0, failed: false }
    }

    /// Offset just past the last record returned.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match decode_record(&self.buf[self.pos..], self.pos as u64) {
            Ok(Some(r)) => {
                self.pos += r.size as usize;
                Some(Ok(r))
            }
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Converts a transaction record into the change set it describes, against
/// the database as it stands before the record.
///
/// Inserted rows start from column defaults. For modified rows, a record
/// with `"_is_diff": true` gives columns that may hold more than one value
/// (`max` > 1) as a diff (see [`Datum::diff`]), every other column as its new
/// value; without `_is_diff` every column is a new value. Members whose name
/// starts with `_` (`_date`, `_comment`, ...) are annotations.
pub fn txn_from_json(db: &Database, json: &Value) -> Result<ChangeSet, OvsdbError> {
    let obj = json.as_object().ok_or_else(|| OvsdbError::syntax("transaction record is not a JSON object"))?;
    let is_diff = match obj.get("_is_diff") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(OvsdbError::syntax("\"_is_diff\" must be a boolean")),
    };
    let comment = match obj.get("_comment") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let schema = db.schema().clone();
    let mut tables: BTreeMap<usize, BTreeMap<Uuid, RowChange>> = BTreeMap::new();
    for (tname, trows) in obj {
        if tname.starts_with('_') {
            continue;
        }
        let (t, ts) = schema
            .table(tname)
            .ok_or_else(|| OvsdbError::syntax(format!("record names unknown table \"{tname}\"")))?;
        let trows = trows
            .as_object()
            .ok_or_else(|| OvsdbError::syntax(format!("table {tname}: rows must be a JSON object")))?;
        let changes = tables.entry(t).or_default();
        for (utext, rj) in trows {
            let uuid = Uuid::parse(utext)
                .ok_or_else(|| OvsdbError::syntax(format!("table {tname}: \"{utext}\" is not a UUID")))?;
            let old = db.table(t).get(&uuid).cloned();
            let new = match rj {
                Value::Null => {
                    if old.is_none() {
                        return Err(OvsdbError::syntax(format!("table {tname}: deletes nonexistent row {uuid}")));
                    }
                    None
                }
                Value::Object(cols) => {
                    let (mut row, diff_ok) = match &old {
                        Some(o) => ((**o).clone(), is_diff),
                        None => (Row::new_default(ts, uuid, Uuid::nil()), false),
                    };
                    row.values[COL_VERSION] = Datum::scalar(crate::Atom::Uuid(Uuid::random()));
                    for (cname, cj) in cols {
                        let c = ts.column(cname).filter(|&c| c != COL_UUID && c != COL_VERSION).ok_or_else(|| {
                            OvsdbError::syntax(format!("table {tname}: record names unknown column \"{cname}\""))
                        })?;
                        let ty = &ts.columns[c].type_;
                        let at = |e: OvsdbError| {
                            OvsdbError::new(e.tag, format!("table {tname} row {uuid} column {cname}: {}", e.details))
                        };
                        row.values[c] = if diff_ok && ty.max > 1 {
                            let relaxed = ColumnType { min: 0, max: u32::MAX, ..ty.clone() };
                            let d = Datum::from_json(&relaxed, cj, None).map_err(at)?;
                            let v = row.values[c].apply_diff(&d);
                            if !v.check_count(ty) {
                                return Err(at(OvsdbError::constraint(format!(
                                    "applying the diff leaves {} values, but the type is {ty}",
                                    v.len()
                                ))));
                            }
                            v
                        } else {
                            Datum::from_json(ty, cj, None).map_err(at)?
                        };
                    }
                    Some(Arc::new(row))
                }
                _ => return Err(OvsdbError::syntax(format!("table {tname} row {uuid}: must be an object or null"))),
            };
            if changes.insert(uuid, RowChange { uuid, old, new }).is_some() {
                return Err(OvsdbError::syntax(format!("table {tname}: row {uuid} appears twice")));
            }
        }
    }
    Ok(ChangeSet {
        tables: tables.into_iter().map(|(t, rows)| (t, rows.into_values().collect())).collect(),
        comment,
    })
}

/// The record for a committed change set: [`ChangeSet::to_log_record`],
/// unless a diff would hold fewer elements than the column's `min` or more
/// than its `max`. Upstream readers (OVS 3.1 ovsdb-server and ovsdb-tool)
/// check diffs against the column type and refuse such records — even the
/// ones ovsdb-server itself wrote — so the record is then written without
/// `_is_diff`, every modified column as its full new value.
pub fn change_record(cs: &ChangeSet, schema: &DatabaseSchema, date_ms: u64) -> Value {
    let mut rec = cs.to_log_record(schema, date_ms);
    if diffs_fit(cs, schema) {
        return rec;
    }
    for (t, rows) in &cs.tables {
        let ts = &schema.tables[*t];
        for ch in rows {
            let (Some(_), Some(new)) = (&ch.old, &ch.new) else {
                continue;
            };
            let Some(Value::Object(o)) = rec.get_mut(&ts.name).and_then(|v| v.get_mut(ch.uuid.to_string())) else {
                continue;
            };
            for (c, col) in ts.user_columns() {
                if let Some(v) = o.get_mut(&col.name) {
                    *v = new.values[c].to_json();
                }
            }
        }
    }
    if let Value::Object(o) = &mut rec {
        o.remove("_is_diff");
    }
    rec
}

/// The JSON text of [`change_record`]'s record, written straight from the
/// rows (the same bytes as `change_record(..).to_string()`, without
/// building the `Value`: a bulk load's records are megabytes).
pub fn change_record_text(cs: &ChangeSet, schema: &DatabaseSchema, date_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 * cs.n_rows() + 64);
    if write_record(cs, schema, date_ms, true, &mut out).is_err() {
        out.clear();
        let _ = write_record(cs, schema, date_ms, false, &mut out);
    }
    out
}

/// A diff did not fit its column's element count (see [`change_record`]).
struct DiffDoesNotFit;

/// Appends the record of `cs` to `out`: with `diffs`, as
/// [`ChangeSet::to_log_record`] makes it (failing if a diff would not fit
/// its column); without, modified columns as their full new value and no
/// `_is_diff` (what [`change_record`] falls back to, and what snapshots
/// are). Members come in serde_json's order (sorted by name), so that the
/// text is the same as the `Value`'s.
fn write_record(
    cs: &ChangeSet,
    schema: &DatabaseSchema,
    date_ms: u64,
    diffs: bool,
    out: &mut Vec<u8>,
) -> std::result::Result<(), DiffDoesNotFit> {
    use std::io::Write as _;
    // (member name, index into cs.tables) — None for the `_` members.
    let mut members: Vec<(&str, Option<usize>)> =
        cs.tables.iter().enumerate().map(|(i, (t, _))| (schema.tables[*t].name.as_str(), Some(i))).collect();
    members.push(("_date", None));
    if cs.comment.is_some() {
        members.push(("_comment", None));
    }
    if diffs {
        members.push(("_is_diff", None));
    }
    members.sort_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    let mut first = true;
    for (name, which) in members {
        let mark = out.len();
        if !first {
            out.push(b',');
        }
        write_json_str(out, name);
        out.push(b':');
        match which {
            Some(i) => {
                if !write_table_rows(&cs.tables[i], schema, diffs, out)? {
                    // Nothing left of the table (ephemeral changes only).
                    out.truncate(mark);
                    continue;
                }
            }
            None => match name {
                "_date" => {
                    let _ = write!(out, "{date_ms}");
                }
                "_comment" => write_json_str(out, cs.comment.as_deref().unwrap_or_default()),
                _ => out.extend_from_slice(b"true"),
            },
        }
        first = false;
    }
    out.push(b'}');
    Ok(())
}

/// Appends `{"uuid": row-or-null, ...}` for one table's changes; false if
/// no row had anything to write.
fn write_table_rows(
    (t, rows): &(usize, Vec<RowChange>),
    schema: &DatabaseSchema,
    diffs: bool,
    out: &mut Vec<u8>,
) -> std::result::Result<bool, DiffDoesNotFit> {
    let ts = &schema.tables[*t];
    // User columns come in name order in the schema, as serde_json orders
    // an object's members.
    let cols = || ts.user_columns().filter(|(_, col)| !col.ephemeral).map(|(c, col)| (col.name.as_str(), c));
    let mut order: Vec<&RowChange> = rows.iter().collect();
    if !rows.windows(2).all(|w| w[0].uuid <= w[1].uuid) {
        order.sort_by_key(|r| r.uuid);
    }
    out.push(b'{');
    let mut n = 0;
    for ch in order {
        let mark = out.len();
        if n > 0 {
            out.push(b',');
        }
        out.push(b'"');
        ch.uuid.write_text(out);
        out.extend_from_slice(b"\":");
        match (&ch.old, &ch.new) {
            (_, None) => out.extend_from_slice(b"null"),
            (None, Some(new)) => {
                out.push(b'{');
                let mut k = 0;
                for (name, c) in cols() {
                    if new.values[c].is_default_for(&ts.columns[c].type_) {
                        continue;
                    }
                    if k > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, name);
                    out.push(b':');
                    new.values[c].write_json(out);
                    k += 1;
                }
                out.push(b'}');
            }
            (Some(old), Some(new)) => {
                out.push(b'{');
                let mut k = 0;
                for (name, c) in cols() {
                    let (o, nv) = (&old.values[c], &new.values[c]);
                    if o == nv {
                        continue;
                    }
                    if k > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, name);
                    out.push(b':');
                    let ty = &ts.columns[c].type_;
                    if diffs && ty.max > 1 {
                        let d = o.diff(nv);
                        if (d.len() as u64) < ty.min as u64 || d.len() as u64 > ty.max as u64 {
                            return Err(DiffDoesNotFit);
                        }
                        d.write_json(out);
                    } else {
                        nv.write_json(out);
                    }
                    k += 1;
                }
                if k == 0 {
                    out.truncate(mark);
                    continue;
                }
                out.push(b'}');
            }
        }
        n += 1;
    }
    out.push(b'}');
    Ok(n > 0)
}

/// True if every diff of `cs` has an element count its column type allows.
fn diffs_fit(cs: &ChangeSet, schema: &DatabaseSchema) -> bool {
    cs.tables.iter().all(|(t, rows)| {
        let ts = &schema.tables[*t];
        rows.iter().all(|ch| match (&ch.old, &ch.new) {
            (Some(old), Some(new)) => ts.user_columns().all(|(c, col)| {
                let ty = &col.type_;
                if col.ephemeral || ty.max <= 1 || old.values[c] == new.values[c] {
                    return true;
                }
                let n = old.values[c].diff(&new.values[c]).len() as u64;
                n >= ty.min as u64 && n <= ty.max as u64
            }),
            _ => true,
        })
    })
}

/// A record holding every row of `db` as an insert (what compaction writes).
pub fn snapshot_record(db: &Database, comment: Option<&str>, date_ms: u64) -> Value {
    snapshot_record_of(snapshot_changes(db, comment), db.schema(), date_ms)
}

/// Every row of `db` as an insert, rows in no particular order: what a
/// snapshot holds. Cheap (rows are shared, not copied), so the server can
/// take it between two commits and serialize it elsewhere.
pub fn snapshot_changes(db: &Database, comment: Option<&str>) -> ChangeSet {
    let mut cs = ChangeSet { tables: Vec::new(), comment: comment.map(str::to_string) };
    for t in 0..db.schema().tables.len() {
        let rows: Vec<RowChange> =
            db.table(t).rows.iter().map(|(u, r)| RowChange { uuid: *u, old: None, new: Some(r.clone()) }).collect();
        if !rows.is_empty() {
            cs.tables.push((t, rows));
        }
    }
    cs
}

/// The JSON text of the snapshot record of [`snapshot_changes`]' output
/// (the same bytes as [`snapshot_record`]'s `Value`).
pub fn snapshot_record_text(cs: &ChangeSet, schema: &DatabaseSchema, date_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 * cs.n_rows() + 64);
    // Inserts only: nothing can fail to fit.
    let _ = write_record(cs, schema, date_ms, false, &mut out);
    out
}

/// The snapshot record of [`snapshot_changes`]' output.
fn snapshot_record_of(mut cs: ChangeSet, schema: &DatabaseSchema, date_ms: u64) -> Value {
    for (_, rows) in &mut cs.tables {
        rows.sort_unstable_by_key(|r| r.uuid);
    }
    let mut rec = cs.to_log_record(schema, date_ms);
    // Like upstream's snapshots: inserts only, so no diff marker.
    if let Value::Object(o) = &mut rec {
        o.remove("_is_diff");
    }
    rec
}

/// Milliseconds since the Unix epoch, for `_date`.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// What was wrong with the end of a log, and what was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Offset of the first bad record (where the log now ends).
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub bytes: u64,
    /// Number of record headers seen in the dropped bytes (a guess: the
    /// bytes are by definition not trustworthy).
    pub records: u64,
    /// Why the first bad record was refused.
    pub reason: String,
    /// True if the file was truncated at `offset`.
    pub truncated: bool,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} bytes ({} record{}) from offset {}: {}",
            if self.truncated { "dropped" } else { "ignoring" },
            self.bytes,
            self.records,
            if self.records == 1 { "" } else { "s" },
            self.offset,
            self.reason
        )
    }
}

/// What opening a log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Good records, the schema record included.
    pub records: u64,
    /// Bytes of good records: where the next record goes.
    pub good_bytes: u64,
    /// The bad tail, if there was one.
    pub dropped: Option<Dropped>,
}

/// An exclusive lock on a database file, held on `.NAME.~lock~` beside it
/// the way upstream's lockfiles work, so that rovn and upstream's
/// ovsdb-server and ovsdb-tool never write the same file at once. Linux
/// open-file-description locks conflict with upstream's POSIX record locks,
/// and also between two opens within one process.
#[derive(Debug)]
struct LockFile {
    _file: File,
}

/// `.NAME.~lock~` in the directory of `path`.
fn lock_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.~lock~"))
}

impl LockFile {
    fn acquire(path: &Path) -> Result<LockFile> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let lp = lock_path(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lp)
            .map_err(|e| io_err(&lp, "cannot create lock file", e))?;
        // SAFETY: `flock` is plain data; all-zero is a valid value.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        #[cfg(target_os = "linux")]
        let cmd = libc::F_OFD_SETLK;
        #[cfg(not(target_os = "linux"))]
        let cmd = libc::F_SETLK;
        // SAFETY: a valid descriptor and a pointer to a live `flock`.
        if unsafe { libc::fcntl(file.as_raw_fd(), cmd, &fl) } == -1 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EACCES) => log_err(
                    path,
                    "database is locked by another process or Log (ovsdb-server serving it?)",
                ),
                _ => io_err(&lp, "cannot lock", e),
            });
        }
        Ok(LockFile { _file: file })
    }
}

/// A standalone database file open for appending, and locked.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    _lock: LockFile,
    /// Offset of the end of the last good record.
    end: u64,
    /// Records in the file, schema included.
    records: u64,
    /// Set when a failed write could not be undone: appending is refused.
    broken: Option<String>,
    /// A compaction running in the background, if any.
    compacting: Option<Compacting>,
}

/// A compaction in progress: a thread serializes a snapshot into
/// `path.tmp` while appends go on to the current file and are remembered,
/// to be copied after the snapshot when the new file takes over.
#[derive(Debug)]
struct Compacting {
    /// Writes schema + snapshot to the scratch file, fsyncs it, and hands
    /// back the file and its length.
    thread: std::thread::JoinHandle<Result<(File, u64)>>,
    /// Records appended since the snapshot was taken, encoded.
    tail: Vec<u8>,
    tail_records: u64,
}

impl Drop for Log {
    /// A compaction still writing its snapshot does not outlive the log:
    /// a log opened again on the same file (a server restarted within the
    /// process) would start its own and write the same scratch file at the
    /// same time. Waits for the snapshot's thread and removes its file; the
    /// log itself is as it was.
    fn drop(&mut self) {
        if let Some(c) = self.compacting.take() {
            let _ = c.thread.join();
            let _ = std::fs::remove_file(tmp_path(&self.path));
        }
    }
}

fn log_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Log { path: path.display().to_string(), msg: msg.into() }
}

fn io_err(path: &Path, what: &str, e: io::Error) -> Error {
    Error::io(format!("{}: {what}", path.display()), e)
}

/// Parses the schema record, refusing clustered databases.
fn schema_from_record(path: &Path, rec: Result<Option<Record>, FrameError>) -> Result<(DatabaseSchema, u64)> {
    let rec = match rec {
        Ok(Some(r)) => r,
        Ok(None) => return Err(log_err(path, "file is empty (not an OVSDB database)")),
        Err(e) if e.msg.starts_with("bad record header") || e.msg.starts_with("unknown record magic") => {
            return Err(log_err(path, format!("not an OVSDB database file: {}", e.msg)))
        }
        Err(e) => return Err(log_err(path, format!("bad schema record: {e}"))),
    };
    if rec.magic == Magic::Clustered {
        return Err(log_err(path, "clustered databases are not supported yet"));
    }
    let schema = DatabaseSchema::from_json(&rec.json).map_err(|e| log_err(path, format!("bad schema record: {e}")))?;
    Ok((schema, rec.size))
}

/// Replays a whole log held in memory.
fn replay(path: &Path, buf: &[u8]) -> Result<(Database, OpenReport)> {
    let mut it = Records::new(buf);
    let (schema, _) = schema_from_record(path, it.next().transpose())?;
    let mut db = Database::new(Arc::new(schema));
    let mut report = OpenReport { records: 1, good_bytes: it.offset(), dropped: None };
    for rec in &mut it {
        let bad = match rec {
            Err(e) => Some((e.offset, e.msg)),
            Ok(r) if r.magic != Magic::Standalone => Some((r.offset, "clustered record in a standalone database".into())),
            Ok(r) => match txn_from_json(&db, &r.json).and_then(|cs| check_record(&mut db, cs)) {
                Ok(()) => {
                    report.records += 1;
                    report.good_bytes = r.offset + r.size;
                    None
                }
                Err(e) => Some((r.offset, format!("record does not apply: {e}"))),
            },
        };
        if let Some((offset, reason)) = bad {
            let rest = &buf[offset as usize..];
            let records = 1 + rest.windows(12).skip(1).filter(|w| *w == b"\nOVSDB JSON ").count() as u64;
            report.dropped = Some(Dropped {
                offset,
                bytes: buf.len() as u64 - offset,
                records,
                reason,
                truncated: false,
            });
            break;
        }
    }
    Ok((db, report))
}

/// Applies a replayed record's changes if they keep the database sound: no
/// two rows with the same key in a unique index, no strong reference to a
/// missing row (what every writer's commit checks guarantee). A record
/// breaking that was not written by a sound writer, so it counts as
/// damage: without the check a hand-edited or corrupt file could load as a
/// database whose indexes or references are wrong. Weak references may
/// dangle (upstream can write that), as may unreferenced rows of non-root
/// tables.
fn check_record(db: &mut Database, cs: ChangeSet) -> Result<(), OvsdbError> {
    let schema = db.schema().clone();
    for (t, rows) in &cs.tables {
        let ts = &schema.tables[*t];
        for (i, cols) in ts.indexes.iter().enumerate() {
            let changed: std::collections::HashSet<Uuid> = rows.iter().map(|ch| ch.uuid).collect();
            let mut seen = std::collections::HashMap::new();
            for ch in rows {
                let Some(new) = &ch.new else { continue };
                let key = index_key(new, cols);
                let holder = seen.insert(key.clone(), ch.uuid).or_else(|| {
                    db.table(*t).indexes[i].get(&key).copied().filter(|y| *y != ch.uuid && !changed.contains(y))
                });
                if let Some(other) = holder {
                    return Err(OvsdbError::constraint(format!(
                        "rows {} and {other} of table {} have the same key in an index",
                        ch.uuid, ts.name
                    )));
                }
            }
        }
    }
    db.apply(&cs);
    let mut bad = None;
    for (t, rows) in &cs.tables {
        let ts = &schema.tables[*t];
        for ch in rows {
            match &ch.new {
                Some(new) => for_each_ref(&schema, *t, new, |tt, dst, strong| {
                    if strong && bad.is_none() && db.table(tt).get(&dst).is_none() {
                        bad = Some(format!(
                            "row {} of table {} refers to missing row {dst} of table {}",
                            ch.uuid, ts.name, schema.tables[tt].name
                        ));
                    }
                }),
                None => {
                    if db.table(*t).refs_in.get(&ch.uuid).is_some_and(|r| r.strong > 0) && bad.is_none() {
                        bad = Some(format!("deleted row {} of table {} is still referenced", ch.uuid, ts.name));
                    }
                }
            }
        }
    }
    if let Some(msg) = bad {
        // Undo: the same changes the other way round.
        let undo = ChangeSet {
            tables: cs
                .tables
                .iter()
                .map(|(t, rows)| {
                    let rows = rows.iter().map(|c| RowChange { uuid: c.uuid, old: c.new.clone(), new: c.old.clone() });
                    (*t, rows.collect())
                })
                .collect(),
            comment: None,
        };
        db.apply(&undo);
        return Err(OvsdbError::referential(msg));
    }
    Ok(())
}

fn read_all(path: &Path, file: &mut File) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(|e| io_err(path, "read failed", e))?;
    Ok(buf)
}

/// Writes a fresh file holding `records`, fsyncs it (and its directory).
fn write_new(path: &Path, records: &[Vec<u8>], create_new: bool) -> Result<(File, u64)> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    let file = opts.open(path).map_err(|e| io_err(path, "create failed", e))?;
    let bytes = records.concat();
    let res = file.write_all_at(&bytes, 0).and_then(|_| file.sync_all());
    if let Err(e) = res {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io_err(path, "write failed", e));
    }
    sync_dir(path)?;
    Ok((file, bytes.len() as u64))
}

/// The records of a compacted file: the schema, then `snapshot`.
fn snapshot_file(schema: &DatabaseSchema, snapshot: &ChangeSet) -> [Vec<u8>; 2] {
    [encode_record(&schema.to_json()), encode_record_body(snapshot_record_text(snapshot, schema, now_ms()))]
}

/// Fsyncs the directory holding `path`, making a create or rename durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, "fsync of directory failed", e))
}

/// Writes `db` as schema + snapshot to `path.tmp`, renames it over `path`
/// and reopens it (the caller holds the lock).
fn replace_file(path: &Path, db: &Database, comment: Option<&str>) -> Result<(File, u64)> {
    let tmp = tmp_path(path);
    let recs = snapshot_file(db.schema(), &snapshot_changes(db, comment));
    let (_, end) = write_new(&tmp, &recs, false)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(path, "rename failed", e));
    }
    sync_dir(path)?;
    let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| io_err(path, "open failed", e))?;
    Ok((file, end))
}

/// `path` with `.tmp` appended (the compaction scratch file).
fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".tmp");
    PathBuf::from(s)
}

impl Log {
    /// Creates a database file holding only `schema` (an empty database).
    /// Fails if the file exists.
    pub fn create(path: impl AsRef<Path>, schema: &DatabaseSchema) -> Result<Log> {
        let path = path.as_ref();
        let lock = LockFile::acquire(path)?;
        let (file, end) = write_new(path, &[encode_record(&schema.to_json())], true)?;
        Ok(Log { path: path.to_path_buf(), file, _lock: lock, end, records: 1, broken: None, compacting: None })
    }

    /// Creates a database file holding `db`'s schema and one snapshot
    /// record of its rows. Fails if the file exists.
    pub fn create_snapshot(path: impl AsRef<Path>, db: &Database, comment: Option<&str>) -> Result<Log> {
        let path = path.as_ref();
        let lock = LockFile::acquire(path)?;
        let recs = snapshot_file(db.schema(), &snapshot_changes(db, comment));
        let (file, end) = write_new(path, &recs, true)?;
        Ok(Log { path: path.to_path_buf(), file, _lock: lock, end, records: 2, broken: None, compacting: None })
    }

    /// Atomically replaces the file at `path` (which need not be open) with
    /// `db`'s schema and a snapshot of its rows.
    pub fn replace_with_snapshot(path: impl AsRef<Path>, db: &Database, comment: Option<&str>) -> Result<Log> {
        let path = path.as_ref();
        let lock = LockFile::acquire(path)?;
        let (file, end) = replace_file(path, db, comment)?;
        Ok(Log { path: path.to_path_buf(), file, _lock: lock, end, records: 2, broken: None, compacting: None })
    }

    /// Opens a database file for appending and replays it. A bad tail is
    /// cut off (the report says what went); a bad schema record, or a
    /// clustered database, is an error.
    pub fn open(path: impl AsRef<Path>) -> Result<(Log, Database, OpenReport)> {
        let path = path.as_ref();
        let mut file =
            OpenOptions::new().read(true).write(true).open(path).map_err(|e| io_err(path, "open failed", e))?;
        let lock = LockFile::acquire(path)?;
        let buf = read_all(path, &mut file)?;
        let (db, mut report) = replay(path, &buf)?;
        if let Some(d) = &mut report.dropped {
            file.set_len(d.offset).and_then(|_| file.sync_all()).map_err(|e| io_err(path, "truncate failed", e))?;
            d.truncated = true;
        }
        let log = Log {
            path: path.to_path_buf(),
            file,
            _lock: lock,
            end: report.good_bytes,
            records: report.records,
            broken: None,
            compacting: None,
        };
        Ok((log, db, report))
    }

    /// Reads a database file without modifying it (a bad tail is reported
    /// and ignored, not cut off).
    pub fn read(path: impl AsRef<Path>) -> Result<(Database, OpenReport)> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| io_err(path, "open failed", e))?;
        let buf = read_all(path, &mut file)?;
        replay(path, &buf)
    }

    /// Reads only the schema record of a database file.
    pub fn read_schema(path: impl AsRef<Path>) -> Result<DatabaseSchema> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| io_err(path, "open failed", e))?;
        let mut head = vec![0u8; MAX_HEADER];
        let n = read_up_to(&mut file, &mut head).map_err(|e| io_err(path, "read failed", e))?;
        head.truncate(n);
        // Learn the record's length from its header, then read just that much.
        let need = match decode_record(&head, 0) {
            Err(e) if e.msg.starts_with("truncated record:") => head
                .iter()
                .position(|&b| b == b'\n')
                .and_then(|nl| {
                    let words: Vec<&str> = std::str::from_utf8(&head[..nl]).ok()?.split(' ').collect();
                    Some(nl + 1 + words.get(2)?.parse::<usize>().ok()?)
                })
                .unwrap_or(n),
            _ => n,
        };
        if need > n {
            head.resize(need, 0);
            let m = read_up_to(&mut file, &mut head[n..]).map_err(|e| io_err(path, "read failed", e))?;
            head.truncate(n + m);
        }
        schema_from_record(path, decode_record(&head, 0)).map(|(s, _)| s)
    }

    /// Reads the magic word of a file's first record.
    pub fn file_magic(path: impl AsRef<Path>) -> Result<Magic> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| io_err(path, "open failed", e))?;
        let mut head = vec![0u8; MAX_HEADER];
        let n = read_up_to(&mut file, &mut head).map_err(|e| io_err(path, "read failed", e))?;
        if head[..n].starts_with(b"OVSDB JSON ") {
            Ok(Magic::Standalone)
        } else if head[..n].starts_with(b"OVSDB CLUSTER ") {
            Ok(Magic::Clustered)
        } else {
            Err(log_err(path, "not an OVSDB database file"))
        }
    }

    /// Appends one transaction record; with `durable`, returns only once the
    /// record is on stable storage. Returns the record's offset. If the
    /// write fails, whatever part of the record made it is removed again.
    pub fn append(&mut self, cs: &ChangeSet, schema: &DatabaseSchema, durable: bool) -> Result<u64> {
        self.append_bytes(encode_record_body(change_record_text(cs, schema, now_ms())), durable)
    }

    /// Appends a record given as JSON (see [`Log::append`]).
    pub fn append_json(&mut self, rec: &Value, durable: bool) -> Result<u64> {
        self.append_bytes(encode_record(rec), durable)
    }

    /// Appends an encoded record.
    fn append_bytes(&mut self, bytes: Vec<u8>, durable: bool) -> Result<u64> {
        if let Some(why) = &self.broken {
            return Err(log_err(&self.path, format!("log is unusable after a failed write: {why}")));
        }
        let off = self.end;
        let res = self.file.write_all_at(&bytes, off).and_then(|_| if durable { self.file.sync_data() } else { Ok(()) });
        if let Err(e) = res {
            // Never leave a partial record for the next one to follow.
            if let Err(e2) = self.file.set_len(off) {
                self.broken = Some(format!("write failed ({e}), then truncate failed ({e2})"));
            }
            return Err(io_err(&self.path, "write failed", e));
        }
        self.end += bytes.len() as u64;
        self.records += 1;
        if let Some(c) = &mut self.compacting {
            c.tail.extend_from_slice(&bytes);
            c.tail_records += 1;
        }
        Ok(off)
    }

    /// Rewrites the file as the schema plus one snapshot record of `db`,
    /// atomically (write `path.tmp`, fsync, rename, fsync the directory).
    /// A compaction already running is finished first.
    pub fn compact(&mut self, db: &Database, comment: Option<&str>) -> Result<()> {
        self.finish_compaction()?;
        self.start_compaction(db, comment)?;
        self.finish_compaction()
    }

    /// Starts compacting to a snapshot of `db` (which must be what the log
    /// holds now) without waiting: the snapshot is taken at once (cheaply:
    /// rows are shared) and serialized and written to `path.tmp` on a
    /// thread. Appends go on meanwhile, to the current file. Call
    /// [`Log::finish_compaction`] once [`Log::compaction_ready`] says so
    /// (or to wait for it). Does nothing if a compaction is running.
    pub fn start_compaction(&mut self, db: &Database, comment: Option<&str>) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(log_err(&self.path, format!("log is unusable after a failed write: {why}")));
        }
        if self.compacting.is_some() {
            return Ok(());
        }
        let snapshot = snapshot_changes(db, comment);
        let schema = db.schema().clone();
        let tmp = tmp_path(&self.path);
        let thread = std::thread::Builder::new()
            .name("ovsdb-compact".into())
            .spawn(move || write_new(&tmp, &snapshot_file(&schema, &snapshot), false))
            .map_err(|e| io_err(&self.path, "cannot start the compaction thread", e))?;
        self.compacting = Some(Compacting { thread, tail: Vec::new(), tail_records: 0 });
        Ok(())
    }

    /// True while a compaction started by [`Log::start_compaction`] has not
    /// been finished.
    pub fn compacting(&self) -> bool {
        self.compacting.is_some()
    }

    /// True if a compaction is running and its snapshot is written, so that
    /// [`Log::finish_compaction`] will not wait.
    pub fn compaction_ready(&self) -> bool {
        self.compacting.as_ref().is_some_and(|c| c.thread.is_finished())
    }

    /// Completes a compaction (waiting for its snapshot if need be): copies
    /// the records appended meanwhile after the snapshot, fsyncs, and
    /// renames the new file over the log. On error the log goes on in the
    /// old file, as if nothing happened. Nothing to do: `Ok`.
    pub fn finish_compaction(&mut self) -> Result<()> {
        let Some(c) = self.compacting.take() else {
            return Ok(());
        };
        let tmp = tmp_path(&self.path);
        let written = match c.thread.join() {
            Ok(r) => r,
            Err(_) => Err(log_err(&self.path, "the compaction thread panicked")),
        };
        let (file, end) = written?;
        let res =
            if c.tail.is_empty() { Ok(()) } else { file.write_all_at(&c.tail, end).and_then(|_| file.sync_data()) };
        if let Err(e) = res {
            drop(file);
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&tmp, "write failed", e));
        }
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&self.path, "rename failed", e));
        }
        // The new file is in place: from here on it is the log, even if
        // making the rename durable fails (the old file is gone).
        self.file = file;
        self.end = end + c.tail.len() as u64;
        self.records = 2 + c.tail_records;
        sync_dir(&self.path)
    }

    /// Forces everything written so far to stable storage.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| io_err(&self.path, "fsync failed", e))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size in bytes of the records written (where the next one goes).
    pub fn len(&self) -> u64 {
        self.end
    }

    /// Never true: a log always holds its schema record.
    pub fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// Number of records, the schema record included.
    pub fn n_records(&self) -> u64 {
        self.records
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Converts a standalone record's JSON object into a map for callers that
/// print logs (`show-log`): table name -> rows, skipping annotations.
pub fn record_tables(json: &Value) -> Vec<(&str, &Map<String, Value>)> {
    match json.as_object() {
        None => Vec::new(),
        Some(o) => o
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .filter_map(|(k, v)| v.as_object().map(|m| (k.as_str(), m)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_round_trip() {
        let v = json!({"a": "line\nbreak", "b": [1, 2.5, null], "_date": 1});
        let bytes = encode_record(&v);
        let r = decode_record(&bytes, 7).unwrap().unwrap();
        assert_eq!(r.json, v);
        assert_eq!(r.offset, 7);
        assert_eq!(r.size, bytes.len() as u64);
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 2);
    }

    #[test]
    fn every_prefix_is_refused() {
        let bytes = encode_record(&json!({"x": {"y": 1}}));
        for n in 1..bytes.len() {
            assert!(decode_record(&bytes[..n], 0).is_err(), "prefix of {n} bytes accepted");
        }
        assert_eq!(decode_record(&[], 0), Ok(None));
    }

    #[test]
    fn header_errors() {
        for bad in [
            &b"OVSDB JSON 3 0000000000000000000000000000000000000000\n{}\n"[..],
            b"OVSDB  JSON 3 x\n{}\n",
            b"OVSDB XML 3 0000000000000000000000000000000000000000\n{}\n",
            b"OVSDB JSON -3 0000000000000000000000000000000000000000\n{}\n",
            b"OVSDB JSON 99999999999999999999 0000000000000000000000000000000000000000\n{}\n",
            b"hello",
        ] {
            assert!(decode_record(bad, 0).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // Not an object.
        let body = b"[1]\n";
        let hdr = format!("OVSDB JSON 4 {}\n", hex(&Sha1::digest(body)));
        let mut b = hdr.into_bytes();
        b.extend_from_slice(body);
        assert!(decode_record(&b, 0).unwrap_err().msg.contains("not a JSON object"));
    }
}
