//! The backup file: a tar archive whose first entry is `manifest.json` and whose other entries
//! are the tables, one zstd-compressed JSON-lines file each (`tables/007-sales.jsonl.zst`, one
//! JSON array of column values per row, in the manifest's column order). Ordinary tools read it:
//! `tar -xOf F manifest.json`, `tar -xOf F tables/007-sales.jsonl.zst | zstd -dc`.
//!
//! Invariants:
//! - The manifest names every table entry, in the order they follow, with its row count and
//!   the SHA-256 of its uncompressed lines; a reader refuses a file whose entries, counts or
//!   checksums differ, before a single row is restored.
//! - A file appears under its final name only when complete (written as `….partial`, synced,
//!   renamed), with mode 0600: it holds password and token hashes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ringup_store::Value;
use ringup_store::backup::{Column, Kind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;

pub const FORMAT: &str = "ringup-backup";
pub const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
/// zstd's default level: about as fast as the rows can be read.
const LEVEL: i32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// When the snapshot was taken, RFC 3339 UTC.
    pub created_at: String,
    /// The engine it was taken from (`sqlite` or `postgres`).
    pub engine: String,
    /// The newest migration of the database it was taken from.
    pub schema_version: i64,
    /// The ringup version that wrote it.
    pub ringup_version: String,
    pub tables: Vec<TableEntry>,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// The archive entry holding its rows.
    pub entry: String,
    pub columns: Vec<Column>,
    pub rows: u64,
    /// SHA-256 of the uncompressed JSON lines, hex.
    pub sha256: String,
}

/// Writes one table after another into a staging directory, then the archive.
pub struct Staging {
    dir: PathBuf,
    done: Vec<TableEntry>,
    open: Option<OpenTable>,
}

struct OpenTable {
    entry: TableEntry,
    out: zstd::Encoder<'static, BufWriter<File>>,
    hash: Sha256,
    line: Vec<u8>,
}

impl Staging {
    pub fn new(dir: PathBuf) -> Result<Staging, BackupError> {
        create_private_dir(&dir)?;
        Ok(Staging {
            dir,
            done: Vec::new(),
            open: None,
        })
    }

    pub fn begin(&mut self, name: &str, columns: Vec<Column>) -> Result<(), BackupError> {
        self.end()?;
        let entry = format!("tables/{:03}-{name}.jsonl.zst", self.done.len() + 1);
        let path = self.staged(&entry);
        let file = create_private(&path)?;
        let mut out = zstd::Encoder::new(BufWriter::new(file), LEVEL).map_err(io_at(&path))?;
        out.include_checksum(true).map_err(io_at(&path))?;
        self.open = Some(OpenTable {
            entry: TableEntry {
                name: name.to_owned(),
                entry,
                columns,
                rows: 0,
                sha256: String::new(),
            },
            out,
            hash: Sha256::new(),
            line: Vec::with_capacity(256),
        });
        Ok(())
    }

    pub fn rows(&mut self, rows: Vec<Vec<Value>>) -> Result<(), BackupError> {
        let path = self.dir.clone();
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| BackupError::Format("rows before their table".into()))?;
        for row in rows {
            open.line.clear();
            serde_json::to_writer(&mut open.line, &JsonRow(&row))
                .map_err(|e| BackupError::Format(e.to_string()))?;
            open.line.push(b'\n');
            open.hash.update(&open.line);
            open.out.write_all(&open.line).map_err(io_at(&path))?;
            open.entry.rows += 1;
        }
        Ok(())
    }

    pub fn end(&mut self) -> Result<(), BackupError> {
        if let Some(open) = self.open.take() {
            let path = self.staged(&open.entry.entry);
            let mut entry = open.entry;
            entry.sha256 = hex::encode(open.hash.finalize());
            let mut buffered = open.out.finish().map_err(io_at(&path))?;
            buffered.flush().map_err(io_at(&path))?;
            self.done.push(entry);
        }
        Ok(())
    }

    /// Writes the archive to `path` (manifest first), synced, and removes the staging
    /// directory. `manifest.tables` is filled from what was staged.
    pub fn finish(mut self, mut manifest: Manifest, path: &Path) -> Result<Manifest, BackupError> {
        self.end()?;
        manifest.tables = std::mem::take(&mut self.done);
        let partial = path.with_extension("backup.partial");
        let file = create_private(&partial)?;
        let mut archive = tar::Builder::new(BufWriter::new(file));
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Format(e.to_string()))?;
        append(&mut archive, MANIFEST, json.len() as u64, json.as_slice())
            .map_err(io_at(&partial))?;
        for table in &manifest.tables {
            let staged = self.staged(&table.entry);
            let file = File::open(&staged).map_err(io_at(&staged))?;
            let size = file.metadata().map_err(io_at(&staged))?.len();
            append(&mut archive, &table.entry, size, file).map_err(io_at(&partial))?;
        }
        let file = archive
            .into_inner()
            .and_then(|b| b.into_inner().map_err(io::IntoInnerError::into_error))
            .map_err(io_at(&partial))?;
        file.sync_all().map_err(io_at(&partial))?;
        fs::rename(&partial, path).map_err(io_at(path))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_at(dir))?;
        }
        fs::remove_dir_all(&self.dir).map_err(io_at(&self.dir))?;
        Ok(manifest)
    }

    /// Removes what was staged: the backup was not completed.
    pub fn abandon(self) {
        drop(self.open);
        let _ = fs::remove_dir_all(&self.dir);
    }

    fn staged(&self, entry: &str) -> PathBuf {
        self.dir.join(entry.replace('/', "_"))
    }
}

fn append(
    archive: &mut tar::Builder<BufWriter<File>>,
    name: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    );
    archive.append_data(&mut header, name, data)
}

/// A row as a JSON array: integers as numbers, text as strings, nulls as null.
struct JsonRow<'a>(&'a [Value]);

impl Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            match value {
                Value::Int(v) => seq.serialize_element(v)?,
                Value::Text(v) => seq.serialize_element(v)?,
            }
        }
        seq.end()
    }
}

/// Reads the manifest and checks every table entry against it: present, in order, with its
/// row count and checksum. Nothing else is in the archive.
pub fn verify(path: &Path) -> Result<Manifest, BackupError> {
    read(path, |_, _| Ok(()))
}

/// Reads the archive, calling `each` with every table entry and a reader of its rows; checks
/// counts and checksums as it goes, and fails at the first entry that differs.
pub fn read(
    path: &Path,
    mut each: impl FnMut(&TableEntry, &mut dyn Iterator<Item = RowResult>) -> Result<(), BackupError>,
) -> Result<Manifest, BackupError> {
    let file = File::open(path).map_err(io_at(path))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let damaged = |e: io::Error| BackupError::Format(format!("the archive cannot be read: {e}"));
    let mut entries = archive.entries().map_err(damaged)?;
    let manifest: Manifest = {
        let first = entries
            .next()
            .ok_or_else(|| BackupError::Format("the file is empty".into()))?
            .map_err(damaged)?;
        if first.path().map_err(damaged)?.as_os_str() != MANIFEST {
            return Err(BackupError::Format(format!(
                "the first entry is not {MANIFEST}: not a ringup backup"
            )));
        }
        serde_json::from_reader(first.take(16 * 1024 * 1024))
            .map_err(|e| BackupError::Format(format!("unreadable manifest: {e}")))?
    };
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(BackupError::Format(format!(
            "format {} version {}, this ringup reads {FORMAT} version {FORMAT_VERSION}",
            manifest.format, manifest.format_version
        )));
    }
    let mut expected = manifest.tables.iter();
    for entry in entries {
        let entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        let table = expected.next().filter(|t| t.entry == name).ok_or_else(|| {
            BackupError::Format(format!("unexpected entry `{name}` in the archive"))
        })?;
        let decoder = zstd::Decoder::new(entry).map_err(damaged)?;
        let mut rows = Rows {
            lines: BufReader::new(decoder),
            table,
            hash: Sha256::new(),
            count: 0,
            line: Vec::new(),
            failed: false,
        };
        each(table, &mut rows)?;
        // Whatever `each` left unread still counts towards the checksum.
        for row in rows.by_ref() {
            row?;
        }
        if rows.failed {
            return Err(BackupError::Format(format!(
                "`{}` is unreadable",
                table.name
            )));
        }
        let sha = hex::encode(rows.hash.clone().finalize());
        if rows.count != table.rows || sha != table.sha256 {
            return Err(BackupError::Checksum {
                table: table.name.clone(),
                detail: format!(
                    "{} rows with SHA-256 {sha}, the manifest says {} rows with {}",
                    rows.count, table.rows, table.sha256
                ),
            });
        }
    }
    if let Some(missing) = expected.next() {
        return Err(BackupError::Format(format!(
            "the archive ends before table `{}`",
            missing.name
        )));
    }
    Ok(manifest)
}

pub type RowResult = Result<Vec<Value>, BackupError>;

/// The rows of one table entry, decoded by the manifest's column kinds.
struct Rows<'a, R: BufRead> {
    lines: R,
    table: &'a TableEntry,
    hash: Sha256,
    count: u64,
    line: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> Iterator for Rows<'_, R> {
    type Item = RowResult;

    fn next(&mut self) -> Option<RowResult> {
        if self.failed {
            return None;
        }
        self.line.clear();
        let read = self.lines.read_until(b'\n', &mut self.line);
        let outcome = match read {
            Ok(0) => return None,
            Ok(_) => {
                self.hash.update(&self.line);
                self.count += 1;
                decode(self.table, &self.line)
            }
            Err(err) => Err(BackupError::Format(format!(
                "`{}` cannot be decompressed: {err}",
                self.table.name
            ))),
        };
        self.failed = outcome.is_err();
        Some(outcome)
    }
}

fn decode(table: &TableEntry, line: &[u8]) -> RowResult {
    let bad = |what: String| BackupError::Format(format!("`{}`: {what}", table.name));
    let values: Vec<serde_json::Value> =
        serde_json::from_slice(line).map_err(|e| bad(format!("a row is not JSON: {e}")))?;
    if values.len() != table.columns.len() {
        return Err(bad(format!(
            "a row has {} values for {} columns",
            values.len(),
            table.columns.len()
        )));
    }
    values
        .into_iter()
        .zip(&table.columns)
        .map(|(value, column)| match (column.kind, value) {
            (Kind::Int, serde_json::Value::Null) => Ok(Value::Int(None)),
            (Kind::Text, serde_json::Value::Null) => Ok(Value::Text(None)),
            (Kind::Int, serde_json::Value::Number(n)) => n
                .as_i64()
                .map(|n| Value::Int(Some(n)))
                .ok_or_else(|| bad(format!("{} is not a 64-bit integer", column.name))),
            (Kind::Text, serde_json::Value::String(s)) => Ok(Value::Text(Some(s))),
            _ => Err(bad(format!(
                "{} holds a value of the wrong kind",
                column.name
            ))),
        })
        .collect()
}

/// A directory only its owner can read.
pub fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_at(dir))
}

fn create_private(path: &Path) -> Result<File, BackupError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_at(path))
}

pub fn io_at(path: &Path) -> impl Fn(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created_at: "2026-12-06T23:00:00.000000Z".into(),
            engine: "sqlite".into(),
            schema_version: 9,
            ringup_version: "test".into(),
            tables: Vec::new(),
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column {
                name: "id".into(),
                kind: Kind::Text,
            },
            Column {
                name: "qty".into(),
                kind: Kind::Int,
            },
        ]
    }

    /// A backup of one table with `rows` rows.
    fn written(dir: &Path, rows: i64) -> (PathBuf, Manifest) {
        let mut staging = Staging::new(dir.join(".staging")).unwrap();
        staging.begin("stock", columns()).unwrap();
        let batch = (0..rows)
            .map(|i| {
                vec![
                    Value::from(format!("p{i}")),
                    Value::Int(if i % 3 == 0 { None } else { Some(i) }),
                ]
            })
            .collect();
        staging.rows(batch).unwrap();
        let path = dir.join("ringup-20261206T230000Z.backup");
        let manifest = staging.finish(manifest(), &path).unwrap();
        (path, manifest)
    }

    /// The same archive with its manifest changed by `change`.
    fn rewritten(path: &Path, change: impl FnOnce(&mut Manifest)) -> PathBuf {
        let mut archive = tar::Archive::new(File::open(path).unwrap());
        let mut entries: Vec<(String, Vec<u8>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, data)
            })
            .collect();
        let mut m: Manifest = serde_json::from_slice(&entries[0].1).unwrap();
        change(&mut m);
        entries[0].1 = serde_json::to_vec(&m).unwrap();
        let out = path.with_extension("changed");
        let mut builder = tar::Builder::new(BufWriter::new(File::create(&out).unwrap()));
        for (name, data) in entries {
            append(&mut builder, &name, data.len() as u64, data.as_slice()).unwrap();
        }
        builder.into_inner().unwrap().flush().unwrap();
        out
    }

    #[test]
    fn a_backup_reads_back_row_for_row_with_its_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written) = written(dir.path(), 2_500);
        assert_eq!(written.tables[0].rows, 2_500);
        assert!(
            !dir.path().join(".staging").exists(),
            "staging is cleaned up"
        );
        let mut seen = Vec::new();
        let read = read(&path, |table, rows| {
            assert_eq!(table.name, "stock");
            seen.extend(rows.map(Result::unwrap));
            Ok(())
        })
        .unwrap();
        assert_eq!(read, written);
        assert_eq!(seen.len(), 2_500);
        assert_eq!(seen[3], vec![Value::from("p3"), Value::Int(None)]);
        assert_eq!(seen[4], vec![Value::from("p4"), Value::Int(Some(4))]);
    }

    #[test]
    fn a_checksum_or_count_that_differs_from_the_manifest_is_refused_by_table() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = written(dir.path(), 10);
        let bad_sum = rewritten(&path, |m| m.tables[0].sha256 = "00".repeat(32));
        let err = verify(&bad_sum).unwrap_err();
        assert!(
            matches!(&err, BackupError::Checksum { table, .. } if table == "stock"),
            "{err}"
        );
        let bad_count = rewritten(&path, |m| m.tables[0].rows = 11);
        assert!(matches!(
            verify(&bad_count),
            Err(BackupError::Checksum { .. })
        ));
        let missing = rewritten(&path, |m| {
            let mut extra = m.tables[0].clone();
            extra.name = "sales".into();
            extra.entry = "tables/002-sales.jsonl.zst".into();
            m.tables.push(extra);
        });
        let err = verify(&missing).unwrap_err();
        assert!(
            err.to_string().contains("ends before table `sales`"),
            "{err}"
        );
        let newer = rewritten(&path, |m| m.format_version = FORMAT_VERSION + 1);
        assert!(matches!(verify(&newer), Err(BackupError::Format(_))));
    }

    #[test]
    fn a_row_of_the_wrong_kind_is_refused_naming_the_column() {
        let table = TableEntry {
            name: "stock".into(),
            entry: "tables/001-stock.jsonl.zst".into(),
            columns: columns(),
            rows: 1,
            sha256: String::new(),
        };
        let err = decode(&table, br#"["p1", "12"]"#).unwrap_err();
        assert!(err.to_string().contains("qty"), "{err}");
        let err = decode(&table, br#"["p1"]"#).unwrap_err();
        assert!(err.to_string().contains("1 values for 2 columns"), "{err}");
        assert!(decode(&table, br#"["p1", 9223372036854775808]"#).is_err());
    }
}
