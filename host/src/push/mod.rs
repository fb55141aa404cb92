//! The last stage: the cumulative snapshot to a Pushgateway. (Being built: issue 3.)

/// A URL with any password or user info replaced, safe for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map(|(a, p)| (a, Some(p))).unwrap_or((rest, None));
            let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
            let userinfo = if authority.contains('@') { "<redacted>@" } else { "" };
            match path {
                Some(p) => format!("{scheme}://{userinfo}{host}/{p}"),
                None => format!("{scheme}://{userinfo}{host}"),
            }
        }
        None => url.to_owned(),
    }
}
