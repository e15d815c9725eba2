//! Event settings: where webhooks may point, and the optional NATS JetStream publisher.

use clap::Args;
use url::Url;

use super::{RedactedUrl, SettingError, invalid};

/// Event settings as given, before validation.
#[derive(Debug, Args, Clone, Default)]
pub struct RawEvents {
    /// Allow webhook URLs on private, loopback and link-local addresses (`true`/`false`).
    #[arg(
        long,
        env = "RINGUP_WEBHOOKS_ALLOW_PRIVATE",
        global = true,
        default_value = "false"
    )]
    pub webhooks_allow_private: String,
    /// Also publish every event to NATS JetStream at this URL (`nats://host:4222`).
    #[arg(long, env = "RINGUP_NATS_URL", global = true)]
    pub nats_url: Option<String>,
    /// The JetStream stream events go to (default `RINGUP_EVENTS`). Hidden: the tests give
    /// each run its own, so runs sharing one NATS server never see each other's events.
    #[arg(long, env = "RINGUP_NATS_STREAM", global = true, hide = true)]
    pub nats_stream: Option<String>,
    /// The subject prefix: an event goes to `<prefix>.<type>` (default `ringup.events`).
    /// Hidden, like the stream name.
    #[arg(long, env = "RINGUP_NATS_SUBJECT_PREFIX", global = true, hide = true)]
    pub nats_subject_prefix: Option<String>,
}

impl RawEvents {
    pub fn defaults() -> RawEvents {
        RawEvents {
            webhooks_allow_private: "false".into(),
            ..RawEvents::default()
        }
    }
}

/// Validated event settings.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventSettings {
    pub webhooks_allow_private: bool,
    pub nats_url: Option<RedactedUrl>,
    /// The stream's name, when not the default (`workers::nats`).
    pub nats_stream: Option<String>,
    /// The subject prefix, when not the default (`workers::nats`).
    pub nats_subject_prefix: Option<String>,
}

impl EventSettings {
    pub fn from_raw(raw: &RawEvents) -> Result<EventSettings, SettingError> {
        let webhooks_allow_private = match raw
            .webhooks_allow_private
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" | "" => false,
            other => {
                return Err(invalid(
                    "RINGUP_WEBHOOKS_ALLOW_PRIVATE",
                    "webhooks-allow-private",
                    format!("`{other}` is not true or false"),
                ));
            }
        };
        let nats_url = match raw.nats_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let url = Url::parse(text).map_err(|e| {
                    invalid("RINGUP_NATS_URL", "nats-url", format!("not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "nats" | "tls") || url.host_str().is_none() {
                    return Err(invalid(
                        "RINGUP_NATS_URL",
                        "nats-url",
                        "must be nats://host:port or tls://host:port",
                    ));
                }
                Some(RedactedUrl(url))
            }
        };
        let nats_stream = match raw.nats_stream.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) if is_token(name) => Some(name.to_owned()),
            Some(_) => {
                return Err(invalid(
                    "RINGUP_NATS_STREAM",
                    "nats-stream",
                    "must be letters, digits, `_` and `-`",
                ));
            }
        };
        let nats_subject_prefix = match raw.nats_subject_prefix.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(prefix) if prefix.split('.').all(is_token) => Some(prefix.to_owned()),
            Some(_) => {
                return Err(invalid(
                    "RINGUP_NATS_SUBJECT_PREFIX",
                    "nats-subject-prefix",
                    "must be `.`-separated words of letters, digits, `_` and `-`",
                ));
            }
        };
        Ok(EventSettings {
            webhooks_allow_private,
            nats_url,
            nats_stream,
            nats_subject_prefix,
        })
    }
}

/// A NATS name or subject token: no wildcard, separator or space can hide in it.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_no_private_address_and_no_nats() {
        let settings = EventSettings::from_raw(&RawEvents::defaults());
        assert_eq!(settings.ok(), Some(EventSettings::default()));
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        let bad_flag = RawEvents {
            webhooks_allow_private: "maybe".into(),
            ..RawEvents::defaults()
        };
        let err = EventSettings::from_raw(&bad_flag)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("RINGUP_WEBHOOKS_ALLOW_PRIVATE")));
        let bad_url = RawEvents {
            nats_url: Some("http://127.0.0.1:4222".into()),
            ..RawEvents::defaults()
        };
        let err = EventSettings::from_raw(&bad_url)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("RINGUP_NATS_URL")));
        let good = RawEvents {
            webhooks_allow_private: "true".into(),
            nats_url: Some("nats://127.0.0.1:4222".into()),
            nats_stream: Some("RINGUP_T1".into()),
            nats_subject_prefix: Some("t1.events".into()),
        };
        let settings = EventSettings::from_raw(&good).ok();
        assert!(settings.as_ref().is_some_and(|s| s.webhooks_allow_private));
        assert!(settings.as_ref().is_some_and(|s| s.nats_url.is_some()));
        assert!(settings.is_some_and(|s| s.nats_subject_prefix.as_deref() == Some("t1.events")));
        for (stream, prefix, variable) in [
            ("A.B", "ok", "RINGUP_NATS_STREAM"),
            ("A*", "ok", "RINGUP_NATS_STREAM"),
            ("OK", "a..b", "RINGUP_NATS_SUBJECT_PREFIX"),
            ("OK", "a.>", "RINGUP_NATS_SUBJECT_PREFIX"),
            ("OK", "a b", "RINGUP_NATS_SUBJECT_PREFIX"),
        ] {
            let raw = RawEvents {
                nats_stream: Some(stream.into()),
                nats_subject_prefix: Some(prefix.into()),
                ..RawEvents::defaults()
            };
            let err = EventSettings::from_raw(&raw).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains(variable)),
                "{stream} {prefix}"
            );
        }
    }
}
