//! Backups and restores: a consistent copy of the whole database, taken while ringup serves, in
//! one file that restores on either engine (so a shop that started on SQLite moves to
//! PostgreSQL by restoring its last backup there).
//!
//! Invariants:
//! - A backup is one read transaction ([`ringup_store::backup::Snapshot`]): what it holds is the
//!   database at one instant, every sale with all its rows or not at all. Sales go on while it
//!   runs; on SQLite they never wait for it (readers do not block the writer in WAL mode).
//! - Reading the database and compressing the rows overlap: rows go through a bounded channel to
//!   a blocking thread that writes the file, so memory stays at a few batches of rows whatever
//!   the size of the database, and the async workers never compress.
//! - A restore checks the whole file (entries, row counts, checksums) before it writes a row,
//!   then writes every row in one transaction: it either restores everything or nothing.
//! - A restore never overwrites data unless told to (`force`): a target holding any business
//!   row is refused, naming the tables.

mod file;
mod retention;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ringup_store::backup::{Column, Import, ReadError, Snapshot};
use ringup_store::{Db, StoreError, Value};
use tokio::sync::mpsc;

pub use file::{FORMAT, FORMAT_VERSION, Manifest, TableEntry, verify};
pub use retention::{Retention, is_backup_name, prune};

/// Rows per message between the database and the file.
const BATCH: usize = 1_000;
/// Messages in flight between the database and the file.
const IN_FLIGHT: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not a usable backup: {0}")]
    Format(String),
    #[error("the backup is damaged: table `{table}` has {detail}")]
    Checksum { table: String, detail: String },
    #[error(
        "the database already holds data (in {}); restore into an empty database, or pass \
         --force to replace it",
        .0.join(", ")
    )]
    NotEmpty(Vec<String>),
    #[error(
        "the backup's schema is version {backup}, newer than this ringup's ({ours}): restore it \
         with a ringup at least as new as the one that took it"
    )]
    NewerSchema { backup: i64, ours: i64 },
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("the backup's writer stopped: {0}")]
    Writer(String),
}

/// A backup written.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// The file name of a backup taken at `at`: `ringup-20261206T231500Z.backup`.
pub fn file_name(at: DateTime<Utc>) -> String {
    format!("ringup-{}.backup", at.format("%Y%m%dT%H%M%SZ"))
}

enum Message {
    Begin(String, Vec<Column>),
    Rows(Vec<Vec<Value>>),
    /// Every row was read: the file may be completed.
    Done,
}

/// Takes a backup of `db` into `dir` (created, mode 0700, if missing), named after `now`.
pub async fn create(db: &Db, dir: &Path, now: DateTime<Utc>) -> Result<Created, BackupError> {
    let started = Instant::now();
    file::create_private_dir(dir)?;
    let path = dir.join(file_name(now));
    if path.exists() {
        return Err(BackupError::Exists(path));
    }
    let staging = dir.join(format!(".{}.partial", file_name(now)));
    let (mut snapshot, schema_version) = Snapshot::open(db).await?;
    let tables = snapshot.tables().await?;
    let (sender, mut receiver) = mpsc::channel::<Message>(IN_FLIGHT);
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        created_at: ringup_store::platform::time::to_db(now),
        engine: db.engine().name().to_owned(),
        schema_version,
        ringup_version: env!("CARGO_PKG_VERSION").to_owned(),
        tables: Vec::new(),
    };
    let target = path.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut staging = file::Staging::new(staging)?;
        while let Some(message) = receiver.blocking_recv() {
            match message {
                Message::Begin(name, columns) => staging.begin(&name, columns)?,
                Message::Rows(rows) => staging.rows(rows)?,
                Message::Done => return staging.finish(manifest, &target),
            }
        }
        staging.abandon();
        Err(BackupError::Writer(
            "the read stopped before the end".into(),
        ))
    });
    let read = async {
        for table in &tables {
            let begin = Message::Begin(table.name.clone(), table.columns.clone());
            sender.send(begin).await.map_err(|_| ReadError::Closed)?;
            snapshot.read(table, BATCH, &sender, Message::Rows).await?;
        }
        sender
            .send(Message::Done)
            .await
            .map_err(|_| ReadError::Closed)
    }
    .await;
    drop(sender);
    let _ = snapshot.close().await;
    let written = writer
        .await
        .map_err(|e| BackupError::Writer(e.to_string()))?;
    if let Err(ReadError::Store(err)) = read {
        return Err(err.into());
    }
    let manifest = written?;
    let bytes = std::fs::metadata(&path).map_err(file::io_at(&path))?.len();
    Ok(Created {
        path,
        manifest,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// A restore done.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub rows: u64,
    pub elapsed: Duration,
}

/// Restores the backup at `path` into `db`, which must be migrated. Checks the whole file
/// first; refuses a database that holds business data unless `force`, in which case its rows
/// are replaced in the same transaction.
pub async fn restore(db: &Db, path: &Path, force: bool) -> Result<Restored, BackupError> {
    let started = Instant::now();
    let checked = path.to_path_buf();
    let manifest = tokio::task::spawn_blocking(move || verify(&checked))
        .await
        .map_err(|e| BackupError::Writer(e.to_string()))??;
    let ours = {
        let mut conn = db.read_conn().await?;
        ringup_store::backup::schema_version(&mut conn).await?
    };
    if manifest.schema_version > ours {
        return Err(BackupError::NewerSchema {
            backup: manifest.schema_version,
            ours,
        });
    }
    let mut import = Import::begin(db).await?;
    let occupied = import.tables_with_rows().await?;
    if !occupied.is_empty() && !force {
        return Err(BackupError::NotEmpty(occupied));
    }
    import.wipe(force).await?;

    let (sender, mut receiver) = mpsc::channel::<Message>(IN_FLIGHT);
    let source = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        file::read(&source, |table, rows| {
            let send = |message| {
                sender
                    .blocking_send(message)
                    .map_err(|_| BackupError::Writer("the restore stopped".into()))
            };
            send(Message::Begin(table.name.clone(), table.columns.clone()))?;
            let mut batch = Vec::with_capacity(BATCH);
            for row in rows {
                batch.push(row?);
                if batch.len() == BATCH {
                    send(Message::Rows(std::mem::take(&mut batch)))?;
                }
            }
            if !batch.is_empty() {
                send(Message::Rows(batch))?;
            }
            Ok(())
        })
    });
    let mut rows = 0;
    let mut current: Option<(String, Vec<String>, bool)> = None;
    // A table that references itself is written whole, so its rows can be put parents first.
    let mut held: Vec<Vec<Value>> = Vec::new();
    let written: Result<(), BackupError> = async {
        while let Some(message) = receiver.recv().await {
            match message {
                Message::Begin(name, columns) => {
                    if let Some((table, columns, true)) = current.take() {
                        rows += import
                            .insert(&table, &columns, std::mem::take(&mut held))
                            .await?;
                    }
                    let whole = import.table(&name).is_some_and(|t| !t.self_refs.is_empty());
                    let names = columns.into_iter().map(|c| c.name).collect();
                    current = Some((name, names, whole));
                }
                Message::Rows(batch) => match &current {
                    Some((_, _, true)) => held.extend(batch),
                    Some((table, columns, false)) => {
                        rows += import.insert(table, columns, batch).await?;
                    }
                    None => return Err(BackupError::Format("rows before their table".into())),
                },
                Message::Done => {}
            }
        }
        if let Some((table, columns, true)) = current.take() {
            rows += import.insert(&table, &columns, held).await?;
        }
        Ok(())
    }
    .await;
    drop(receiver);
    let read = reader
        .await
        .map_err(|e| BackupError::Writer(e.to_string()))?;
    // Whichever side stopped first says why; the other only saw the channel close.
    match (read, written) {
        (Err(BackupError::Writer(_)), Err(err)) | (Err(err), _) | (Ok(_), Err(err)) => {
            return Err(err);
        }
        (Ok(_), Ok(())) => {}
    }
    if rows != manifest.rows() {
        return Err(BackupError::Format(format!(
            "{rows} rows written, the manifest lists {}",
            manifest.rows()
        )));
    }
    import.commit().await?;
    Ok(Restored {
        manifest,
        rows,
        elapsed: started.elapsed(),
    })
}
