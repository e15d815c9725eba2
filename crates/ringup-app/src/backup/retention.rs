//! Which backups to keep: the newest `keep`, and of those only the ones younger than `max_age`
//! — but never the newest one, so a server that was off for a month still has a backup.
//! Only files named like a backup (`ringup-<UTC time>.backup`) are ever removed, and leftovers
//! of a backup that was interrupted (`.ringup-….partial`) once they are a day old.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::BackupError;
use super::file::io_at;

/// How many backups to keep, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub keep: usize,
    pub max_age: Option<Duration>,
}

/// A partial backup this old was interrupted: nothing is still writing it.
const STALE_PARTIAL: Duration = Duration::from_secs(24 * 3600);

/// When the backup named `name` was taken, if it is a backup's name.
pub fn is_backup_name(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix("ringup-")?.strip_suffix(".backup")?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// The backups in `dir`, newest first.
fn backups(dir: &Path) -> Result<Vec<(DateTime<Utc>, PathBuf)>, BackupError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name();
        if let Some(at) = name.to_str().and_then(is_backup_name) {
            found.push((at, entry.path()));
        }
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(found)
}

/// The backups `retention` gives up, of `backups` (newest first).
fn expired(
    backups: &[(DateTime<Utc>, PathBuf)],
    retention: Retention,
    now: DateTime<Utc>,
) -> Vec<PathBuf> {
    backups
        .iter()
        .enumerate()
        .filter(|(i, (at, _))| {
            let beyond_count = *i >= retention.keep.max(1);
            let too_old = retention
                .max_age
                .is_some_and(|max| (now - *at).to_std().is_ok_and(|age| age > max));
            *i > 0 && (beyond_count || too_old)
        })
        .map(|(_, (_, path))| path.clone())
        .collect()
}

/// Removes the backups of `dir` that `retention` gives up, and stale partial ones; returns the
/// backups removed.
pub fn prune(
    dir: &Path,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, BackupError> {
    let removed = expired(&backups(dir)?, retention, now);
    for path in &removed {
        std::fs::remove_file(path).map_err(io_at(path))?;
    }
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name();
        let partial = name
            .to_str()
            .is_some_and(|n| n.starts_with(".ringup-") && n.ends_with(".partial"));
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_PARTIAL);
        if partial && stale {
            let path = entry.path();
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 6, 0, 0).unwrap()
    }

    fn made(days: &[u32]) -> Vec<(DateTime<Utc>, PathBuf)> {
        let mut all: Vec<_> = days
            .iter()
            .map(|d| (at(*d), PathBuf::from(super::super::file_name(at(*d)))))
            .collect();
        all.sort_by_key(|b| std::cmp::Reverse(b.0));
        all
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn the_newest_backups_are_kept_by_count() {
        let all = made(&[1, 2, 3, 4, 5]);
        let gone = expired(
            &all,
            Retention {
                keep: 3,
                max_age: None,
            },
            at(6),
        );
        assert_eq!(
            names(&gone),
            [
                "ringup-20261202T060000Z.backup",
                "ringup-20261201T060000Z.backup"
            ]
        );
    }

    #[test]
    fn old_backups_go_but_never_the_newest() {
        let all = made(&[1, 2, 3]);
        let week = Some(Duration::from_secs(7 * 24 * 3600));
        let gone = expired(
            &all,
            Retention {
                keep: 14,
                max_age: week,
            },
            at(30),
        );
        assert_eq!(
            names(&gone),
            [
                "ringup-20261202T060000Z.backup",
                "ringup-20261201T060000Z.backup"
            ]
        );
        let two_days = Some(Duration::from_secs(2 * 24 * 3600));
        let gone = expired(
            &all,
            Retention {
                keep: 14,
                max_age: two_days,
            },
            at(4),
        );
        assert_eq!(names(&gone), ["ringup-20261201T060000Z.backup"]);
    }

    #[test]
    fn only_backup_names_are_recognised() {
        assert_eq!(
            is_backup_name("ringup-20261201T060000Z.backup"),
            Some(at(1))
        );
        assert_eq!(
            is_backup_name("ringup-20261201T060000Z.backup.partial"),
            None
        );
        assert_eq!(is_backup_name("notes.txt"), None);
        assert_eq!(is_backup_name("ringup-2026.backup"), None);
    }

    #[test]
    fn prune_removes_only_what_retention_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        for day in [1, 2, 3] {
            std::fs::write(dir.path().join(super::super::file_name(at(day))), b"x").unwrap();
        }
        std::fs::write(dir.path().join("keep-me.txt"), b"x").unwrap();
        let gone = prune(
            dir.path(),
            Retention {
                keep: 1,
                max_age: None,
            },
            at(4),
        )
        .unwrap();
        assert_eq!(gone.len(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep-me.txt", "ringup-20261203T060000Z.backup"]);
    }
}
