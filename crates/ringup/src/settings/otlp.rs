//! Where traces go (`OTEL_EXPORTER_OTLP_ENDPOINT`): the base URL of an OTLP/HTTP receiver, as
//! the OpenTelemetry exporter specification defines the variable. Traces are sent to
//! `<endpoint>/v1/traces`; a path in the endpoint is kept (`https://otel.example/otlp` sends to
//! `https://otel.example/otlp/v1/traces`). Unset or empty: no traces are exported.

use std::fmt;

use url::Url;

use super::{RedactedUrl, SettingError, invalid};

/// A validated OTLP/HTTP base URL: `http` or `https`, with a host, without a query or a
/// fragment (they could not be kept once `/v1/traces` is appended). Its `Debug` hides a
/// password, like every URL setting.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpEndpoint(RedactedUrl);

impl OtlpEndpoint {
    /// Where spans are sent: the endpoint with `/v1/traces` appended to its path.
    pub fn traces_url(&self) -> String {
        let base = self.0.expose().as_str();
        format!("{}/v1/traces", base.trim_end_matches('/'))
    }
}

impl fmt::Debug for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

pub(super) fn parse_otlp_endpoint(
    text: Option<&str>,
) -> Result<Option<OtlpEndpoint>, SettingError> {
    let err = |m: String| {
        invalid(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "otel-exporter-otlp-endpoint",
            m,
        )
    };
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let url = Url::parse(text).map_err(|e| err(format!("`{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(err(format!(
            "`{text}` is not an http:// or https:// address like http://127.0.0.1:4318"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!(
            "`{text}` has a query or fragment; give the collector's base address"
        )));
    }
    Ok(Some(OtlpEndpoint(RedactedUrl(url))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traces_url(text: &str) -> String {
        parse_otlp_endpoint(Some(text))
            .unwrap()
            .unwrap()
            .traces_url()
    }

    #[test]
    fn traces_go_to_v1_traces_under_the_endpoint() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/otlp/"),
            "https://otel.example/otlp/v1/traces"
        );
    }

    #[test]
    fn unset_or_empty_is_off() {
        assert_eq!(parse_otlp_endpoint(None), Ok(None));
        assert_eq!(parse_otlp_endpoint(Some("  ")), Ok(None));
    }

    #[test]
    fn anything_but_an_http_base_address_is_refused_by_name() {
        for bad in [
            "collector:4318",
            "grpc://collector:4317",
            "http://",
            "http://c:4318/?x=1",
            "http://c:4318/#x",
            "not a url",
        ] {
            let err = parse_otlp_endpoint(Some(bad)).unwrap_err();
            assert_eq!(err.variable, "OTEL_EXPORTER_OTLP_ENDPOINT", "{bad}");
            assert_eq!(err.flag, "otel-exporter-otlp-endpoint", "{bad}");
        }
    }

    #[test]
    fn debug_hides_a_password() {
        let endpoint = parse_otlp_endpoint(Some("https://user:otlppass42@otel.example"))
            .unwrap()
            .unwrap();
        assert!(!format!("{endpoint:?}").contains("otlppass42"));
    }
}
