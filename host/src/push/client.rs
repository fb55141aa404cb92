//! HTTP to the Pushgateway: one PUT with short timeouts, no redirects, basic or bearer auth,
//! TLS with the system's roots plus an optional CA file. Error texts carry the gateway's own
//! answer but never a URL with credentials, a password or a token.

use std::time::Duration;

use super::PushError;
use super::target::{Auth, Target};
use crate::config::PushConfig;

/// How much of an error answer's body is kept: the gateway's messages are one line.
const MAX_ERROR_BODY: usize = 2048;

pub struct Client {
    http: reqwest::blocking::Client,
    timeouts: (u64, u64),
}

impl Client {
    pub fn new(push: &PushConfig) -> Result<Client, PushError> {
        install_crypto_provider();
        let connect_ms = push.connect_timeout_ms.max(1);
        let total_ms = push.timeout_ms.max(1);
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_millis(connect_ms))
            .timeout(Duration::from_millis(total_ms))
            // A redirect could carry credentials to another host; the user fixes the URL instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hookmeter/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &push.ca_file {
            let ca_error = |message: String| PushError::CaFile { path: path.clone(), message };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(error_chain(&e)))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| PushError::Config(format!("cannot set up HTTPS for the Pushgateway: {}", error_chain(&e))))?;
        Ok(Client { http, timeouts: (connect_ms, total_ms) })
    }

    /// PUT `body` as the whole content of `target`'s group.
    pub fn put(&self, target: &Target, body: String) -> Result<(), PushError> {
        let request = self
            .http
            .put(target.group_url())
            .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(body);
        self.send(target, request)
    }

    /// `GET /-/ready` on the gateway, with the push's credentials (a gateway may guard every
    /// path): what `hookmeter doctor` asks.
    pub fn ready(&self, target: &Target) -> Result<(), PushError> {
        let mut url = target.group_url();
        url.set_path(&format!("{}/-/ready", target.base_path().trim_end_matches('/')));
        self.send(target, self.http.get(url))
    }

    fn send(&self, target: &Target, request: reqwest::blocking::RequestBuilder) -> Result<(), PushError> {
        let request = match &target.auth {
            Auth::None => request,
            Auth::Basic { username, password } => request.basic_auth(username, password.as_deref()),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        let secrets = target.auth.secrets();
        let scrub = |text: String| scrub(text, &secrets);
        let response = request.send().map_err(|e| PushError::Unreachable {
            target: target.gateway(),
            detail: scrub(self.describe_send_error(e)),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let status_text = match status.canonical_reason() {
            Some(reason) => format!("{} {reason}", status.as_u16()),
            None => status.as_u16().to_string(),
        };
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(super::redact_url)
                .unwrap_or_else(|| "nowhere".into());
            return Err(PushError::Redirect {
                target: target.gateway(),
                status: status_text,
                location: scrub(location),
            });
        }
        // The gateway says what was wrong in the body (e.g. which metric is inconsistent).
        let body = response.text().unwrap_or_default();
        Err(PushError::Rejected { target: target.gateway(), status: status_text, body: scrub(one_line(&body)) })
    }

    fn describe_send_error(&self, e: reqwest::Error) -> String {
        let (connect_ms, total_ms) = self.timeouts;
        let timed_out = e.is_timeout();
        let connect = e.is_connect();
        let chain = error_chain(&e.without_url());
        if timed_out && connect {
            format!("no connection within {connect_ms} ms ([push] connect_timeout_ms): {chain}")
        } else if timed_out {
            format!("no answer within {total_ms} ms ([push] timeout_ms): {chain}")
        } else {
            chain
        }
    }
}

/// rustls needs one process-wide crypto provider; hookmeter uses ring. Installing twice is
/// harmless (the second attempt just reports that one is there).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error and its causes on one line, without repeats (hyper and reqwest often wrap the
/// same message twice).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The gateway's answer as one trimmed line of bounded length.
fn one_line(body: &str) -> String {
    let mut text = body.trim().replace(['\r', '\n'], " ");
    if text.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// Remove any secret from a message, whatever produced it.
fn scrub<S: AsRef<str>>(mut text: String, secrets: &[S]) -> String {
    for secret in secrets {
        let secret = secret.as_ref();
        if !secret.is_empty() {
            text = text.replace(secret, "<redacted>");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_and_trims() {
        assert_eq!(scrub("bad pw hunter2 here".into(), &["hunter2"]), "bad pw <redacted> here");
        assert_eq!(one_line("  a\nb\n"), "a b");
        assert!(one_line(&"é".repeat(2000)).ends_with("..."));
    }
}
