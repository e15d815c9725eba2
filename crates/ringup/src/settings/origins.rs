//! CORS origins as configured (`RINGUP_CORS_ORIGINS`), and each one as browsers send it in
//! `Origin`, for comparison.

use url::Url;

use super::{SettingError, invalid};

/// CORS origins: `scheme://host[:port]` each, no paths, never `*`.
pub(super) fn parse_origins(text: Option<&str>) -> Result<Vec<Url>, SettingError> {
    let err = |m: String| invalid("RINGUP_CORS_ORIGINS", "cors-origins", m);
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            if origin == "*" {
                return Err(err("a wildcard is not allowed; list the origins".to_owned()));
            }
            let url = Url::parse(origin).map_err(|e| err(format!("`{origin}`: {e}")))?;
            let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
            if !matches!(url.scheme(), "http" | "https") || !url.has_host() || !bare {
                return Err(err(format!(
                    "`{origin}` is not an origin like https://shop.example.com"
                )));
            }
            Ok(url)
        })
        .collect()
}

/// The origin as browsers send it in `Origin`: no trailing slash.
pub fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_for_comparison() {
        let origins =
            parse_origins(Some("https://shop.example.com, http://localhost:3000")).unwrap();
        let texts: Vec<_> = origins.iter().map(origin_text).collect();
        assert_eq!(texts, ["https://shop.example.com", "http://localhost:3000"]);
    }
}
