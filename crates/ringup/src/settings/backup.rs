//! Backup settings: where backups go, how often the server takes them, and which it keeps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ringup_app::backup::Retention;

use super::{SettingError, invalid, parse_in_range};

pub const DEFAULT_BACKUP_KEEP: &str = "14";

/// The shortest interval between scheduled backups.
const MIN_EVERY: Duration = Duration::from_secs(1);

/// Backup settings as given, before validation.
#[derive(Debug, Args, Clone, Default)]
pub struct RawBackup {
    /// Take a backup this often while serving (e.g. `6h`, `30m`, `1d`); unset: never.
    #[arg(long, env = "RINGUP_BACKUP_EVERY", global = true)]
    pub backup_every: Option<String>,
    /// How many backups the server keeps (the oldest go first).
    #[arg(long, env = "RINGUP_BACKUP_KEEP", global = true, default_value = DEFAULT_BACKUP_KEEP)]
    pub backup_keep: String,
    /// Also remove backups older than this (e.g. `30d`), except the newest; unset: no limit.
    #[arg(long, env = "RINGUP_BACKUP_MAX_AGE", global = true)]
    pub backup_max_age: Option<String>,
    /// Where backups go; default `<data dir>/backups`.
    #[arg(long, env = "RINGUP_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,
}

impl RawBackup {
    pub fn defaults() -> RawBackup {
        RawBackup {
            backup_keep: DEFAULT_BACKUP_KEEP.into(),
            ..RawBackup::default()
        }
    }
}

/// Validated backup settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSettings {
    pub dir: PathBuf,
    /// `None`: the server takes no backups by itself.
    pub every: Option<Duration>,
    pub retention: Retention,
}

impl BackupSettings {
    pub fn from_raw(raw: &RawBackup, data_dir: &Path) -> Result<BackupSettings, SettingError> {
        let every = match raw.backup_every.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(duration(text, "RINGUP_BACKUP_EVERY", "backup-every")?),
        };
        let max_age = match raw.backup_max_age.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(duration(text, "RINGUP_BACKUP_MAX_AGE", "backup-max-age")?),
        };
        let keep = parse_in_range(
            &raw.backup_keep,
            1..=10_000,
            "RINGUP_BACKUP_KEEP",
            "backup-keep",
        )?;
        let dir = match &raw.backup_dir {
            Some(dir) if dir.as_os_str().is_empty() => {
                return Err(invalid(
                    "RINGUP_BACKUP_DIR",
                    "backup-dir",
                    "must not be empty",
                ));
            }
            Some(dir) => dir.clone(),
            None => data_dir.join("backups"),
        };
        Ok(BackupSettings {
            dir,
            every,
            retention: Retention { keep, max_age },
        })
    }
}

fn duration(
    text: &str,
    variable: &'static str,
    flag: &'static str,
) -> Result<Duration, SettingError> {
    let parsed = humantime::parse_duration(text).map_err(|e| {
        invalid(
            variable,
            flag,
            format!("`{text}` is not a duration like 6h, 30m or 1d: {e}"),
        )
    })?;
    if parsed < MIN_EVERY {
        return Err(invalid(variable, flag, "must be at least 1s"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: RawBackup) -> Result<BackupSettings, SettingError> {
        BackupSettings::from_raw(&raw, Path::new("/srv/ringup"))
    }

    #[test]
    fn by_default_the_server_takes_none_and_keeps_fourteen() {
        let s = parse(RawBackup::defaults()).unwrap();
        assert_eq!(s.every, None);
        assert_eq!(
            s.retention,
            Retention {
                keep: 14,
                max_age: None
            }
        );
        assert_eq!(s.dir, PathBuf::from("/srv/ringup/backups"));
    }

    #[test]
    fn intervals_read_as_people_write_them() {
        let s = parse(RawBackup {
            backup_every: Some("6h".into()),
            backup_max_age: Some("30d".into()),
            ..RawBackup::defaults()
        })
        .unwrap();
        assert_eq!(s.every, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(s.retention.max_age, Some(Duration::from_secs(30 * 86_400)));
    }

    #[test]
    fn each_invalid_backup_setting_is_named() {
        let cases = [
            (
                RawBackup {
                    backup_every: Some("often".into()),
                    ..RawBackup::defaults()
                },
                "RINGUP_BACKUP_EVERY",
            ),
            (
                RawBackup {
                    backup_every: Some("0s".into()),
                    ..RawBackup::defaults()
                },
                "RINGUP_BACKUP_EVERY",
            ),
            (
                RawBackup {
                    backup_max_age: Some("-1d".into()),
                    ..RawBackup::defaults()
                },
                "RINGUP_BACKUP_MAX_AGE",
            ),
            (
                RawBackup {
                    backup_keep: "0".into(),
                    ..RawBackup::defaults()
                },
                "RINGUP_BACKUP_KEEP",
            ),
            (
                RawBackup {
                    backup_dir: Some(PathBuf::new()),
                    ..RawBackup::defaults()
                },
                "RINGUP_BACKUP_DIR",
            ),
        ];
        for (raw, variable) in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
        }
    }
}
