//! Where a push goes: the gateway's base URL, the group (job, instance, extra grouping labels)
//! and the credentials, resolved and checked from `[push]` / `PUSHGATEWAY_URL`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use super::{PushError, redact_url};
use crate::config::PushConfig;
use crate::metrics::valid_label_name;

/// A checked push target. Holds secrets: its `Debug` hides them.
pub struct Target {
    /// The gateway's base URL without user info (credentials travel in [`Auth`]).
    base: reqwest::Url,
    pub job: String,
    pub instance: String,
    /// Extra grouping labels from `[push.grouping]`, sorted by name.
    pub grouping: Vec<(String, String)>,
    pub(super) auth: Auth,
}

pub(super) enum Auth {
    None,
    Basic { username: String, password: Option<String> },
    Bearer(String),
}

impl Auth {
    /// The secrets, so error texts can be scrubbed of them whatever produced the text.
    /// Every form in which a credential could come back in an error text: the password or
    /// token itself, and the `Authorization` header value (base64 of `user:password`) that
    /// a gateway or proxy might echo.
    pub(super) fn secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        match self {
            Auth::None => vec![],
            Auth::Basic { username, password } => match password.as_deref().filter(|p| !p.is_empty()) {
                None => vec![],
                Some(p) => {
                    let header = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{p}"));
                    vec![p.to_owned(), header]
                }
            },
            Auth::Bearer(token) if token.is_empty() => vec![],
            Auth::Bearer(token) => vec![token.clone()],
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Target {
    /// The target `push` describes, `None` when pushing is off (no URL).
    pub fn from_config(push: &PushConfig) -> Result<Option<Target>, PushError> {
        let Some(raw) = push.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        // Name the setting the user actually used.
        let key = if std::env::var("PUSHGATEWAY_URL").is_ok_and(|v| !v.is_empty()) {
            "PUSHGATEWAY_URL"
        } else {
            "[push] url"
        };
        let invalid = |why: &str| PushError::Config(format!("{key} {:?} {why}", redact_unparsed(raw)));
        let mut base = reqwest::Url::parse(raw).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("must start with http:// or https://"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(invalid("has no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("must not have a query or fragment (the group goes in the path)"));
        }
        let url_user = percent_decode(base.username());
        let url_password = base.password().map(percent_decode);
        // Credentials never travel inside the URL reqwest sees, so no error can print them.
        let _ = base.set_username("");
        let _ = base.set_password(None);

        let username = push.username.clone().filter(|u| !u.is_empty()).or(Some(url_user).filter(|u| !u.is_empty()));
        let password = push.password.clone().or(url_password);
        let token = push.bearer_token.clone().filter(|t| !t.is_empty());
        let auth = match (username, password, token) {
            (Some(_), _, Some(_)) => {
                return Err(PushError::Config(
                    "both basic auth (user in the URL or [push] username) and a bearer token ([push] bearer_token or PUSHGATEWAY_BEARER_TOKEN) are set: keep one".into(),
                ));
            }
            (None, Some(_), _) => {
                return Err(PushError::Config(
                    "[push] password is set without a username: set [push] username too".into(),
                ));
            }
            (Some(username), password, None) => Auth::Basic { username, password },
            (None, None, Some(token)) => Auth::Bearer(token),
            (None, None, None) => Auth::None,
        };

        if push.job.is_empty() {
            return Err(PushError::Config("[push] job must not be empty (the Pushgateway requires a job name)".into()));
        }
        let mut grouping = Vec::new();
        for (name, value) in &push.grouping {
            if !valid_label_name(name) {
                return Err(PushError::Config(format!(
                    "[push.grouping] {name:?} is not a valid Prometheus label name"
                )));
            }
            if matches!(name.as_str(), "job" | "instance") {
                return Err(PushError::Config(format!("[push.grouping] {name:?}: set it with [push] {name} instead")));
            }
            grouping.push((name.clone(), value.clone()));
        }
        let instance = push.instance.clone().unwrap_or_else(crate::event::host_name);
        Ok(Some(Target { base, job: push.job.clone(), instance, grouping, auth }))
    }

    /// The path of the gateway's base URL (usually "/"), under which `/metrics/...` and
    /// `/-/ready` live.
    pub fn base_path(&self) -> &str {
        self.base.path()
    }

    /// `<base>/metrics/job@base64/<job>/instance@base64/<instance>[/<name>@base64/<value>...]`.
    /// Every value is base64url-encoded: the only form in which `/` and empty values survive
    /// the gateway's path handling, and `?`, `#`, `%` need no further escaping.
    pub fn group_url(&self) -> reqwest::Url {
        let mut url = self.base.as_str().trim_end_matches('/').to_owned();
        url.push_str("/metrics");
        let labels = [("job", self.job.as_str()), ("instance", self.instance.as_str())]
            .into_iter()
            .chain(self.grouping.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (name, value) in labels {
            url.push('/');
            url.push_str(name);
            url.push_str("@base64/");
            url.push_str(&encode_value(value));
        }
        // Only base64url characters and a valid base were added, so this parses.
        reqwest::Url::parse(&url).unwrap_or_else(|_| self.base.clone())
    }

    /// The gateway address, for messages: never holds credentials.
    pub fn gateway(&self) -> String {
        redact_url(self.base.as_str().trim_end_matches('/'))
    }

    /// The gateway and the group, for people: `http://gw:9091 (job "hookmeter", instance "box")`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} (job {:?}, instance {:?}", self.gateway(), self.job, self.instance);
        for (k, v) in &self.grouping {
            s.push_str(&format!(", {k} {v:?}"));
        }
        s.push(')');
        s
    }

    /// What identifies the pushed group in the bookkeeping: a new URL or group means the data
    /// there is not ours yet, so the next flush pushes whatever the generation says.
    pub fn identity(&self) -> String {
        self.group_url().to_string()
    }

    /// Label names of the group, which the gateway forces onto every pushed series.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        ["job", "instance"].into_iter().chain(self.grouping.iter().map(|(k, _)| k.as_str()))
    }
}

/// A URL that may not parse, for an error message: everything before its last `@` could be
/// credentials (a password may even hold `/`), so it is all replaced.
fn redact_unparsed(raw: &str) -> String {
    match (raw.split_once("://"), raw.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://<redacted>@{host}"),
        (None, Some((_, host))) => format!("<redacted>@{host}"),
        _ => raw.to_owned(),
    }
}

/// base64url with padding; an empty value is a single `=`, as the Pushgateway documents.
fn encode_value(value: &str) -> String {
    if value.is_empty() { "=".into() } else { URL_SAFE.encode(value.as_bytes()) }
}

/// `%XX` escapes of URL user info back to text (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(url: &str) -> PushConfig {
        PushConfig { url: Some(url.into()), instance: Some("box".into()), ..PushConfig::default() }
    }

    #[test]
    fn group_path_is_base64url_everywhere() {
        let mut p = push("http://gw:9091/prefix/");
        p.instance = Some("a/b?c#d%e".into());
        p.grouping.insert("site".into(), String::new());
        let t = Target::from_config(&p).unwrap().unwrap();
        assert_eq!(
            t.group_url().as_str(),
            "http://gw:9091/prefix/metrics/job@base64/aG9va21ldGVy/instance@base64/YS9iP2MjZCVl/site@base64/="
        );
    }

    #[test]
    fn credentials_leave_the_url() {
        let t = Target::from_config(&push("https://al%40ice:s3cr%2Ft@gw/")).unwrap().unwrap();
        assert!(!t.identity().contains("s3cr") && !t.describe().contains("ice"), "{t:?}");
        match &t.auth {
            Auth::Basic { username, password } => {
                assert_eq!(username, "al@ice");
                assert_eq!(password.as_deref(), Some("s3cr/t"));
            }
            _ => panic!("expected basic auth"),
        }
    }

    #[test]
    fn bad_settings_name_the_key() {
        let err = |p: PushConfig| Target::from_config(&p).unwrap_err().to_string();
        assert!(err(push("gw:9091")).contains("http://"));
        let shown = err(push("http://user:pa/ss@gw:99999"));
        assert!(shown.contains("<redacted>@gw:99999") && !shown.contains("pa/ss") && !shown.contains("user"), "{shown}");
        assert!(err(push("http://gw/?x=1")).contains("query"));
        let mut p = push("http://gw");
        p.grouping.insert("bad-name".into(), "x".into());
        assert!(err(p).contains("[push.grouping]"));
        let mut p = push("http://u:pw@gw");
        p.bearer_token = Some("t".into());
        assert!(err(p).contains("keep one"));
        assert!(Target::from_config(&PushConfig::default()).unwrap().is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%"), "%");
    }
}
