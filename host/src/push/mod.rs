//! The last stage: this machine's cumulative totals to a Prometheus Pushgateway.
//!
//! The Pushgateway keeps only the last value pushed for each group and is not an aggregator,
//! so hookmeter never pushes deltas: every push PUTs the full snapshot of the store to one
//! group, `job` + `instance` (+ optional extra labels), replacing what that group held. A failed
//! push loses nothing; the next one carries the totals.
//!
//! A hook run never touches the network. Inside its store transaction it asks
//! [`claim_due_flush`] whether a push is due (interval elapsed, or Stop / SessionEnd) and, if
//! so, starts a detached `hookmeter flush --background` ([`spawn_background_flush`]) and
//! exits. [`flush`] takes an exclusive lock, snapshots the store, PUTs it and records the result
//! in the store's `meta` table; the lock plus the generation check mean an older snapshot can
//! never land after a newer one, so Prometheus never sees a false counter reset.
//!
//! Modules: [`target`] (where to push, the grouping path), [`client`] (HTTP, TLS, auth),
//! [`lock`] (one flush at a time), [`record`] (bookkeeping in the store), [`schedule`] (when
//! a run starts a flush), [`flush`](mod@flush) (one push).

mod client;
mod flush;
mod lock;
mod record;
mod schedule;
mod target;

pub use client::Client;
pub use flush::{FlushMode, FlushOutcome, flush, render_for_push};
pub use record::PushRecord;
pub use schedule::{claim_due_flush, spawn_background_flush};
pub use target::Target;

use std::path::PathBuf;

use crate::store::StoreError;

/// Why a flush did not push. Messages name what to fix and never carry a secret.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("pushing is not configured: set PUSHGATEWAY_URL or `url` under [push] in the config file")]
    NotConfigured,
    /// A setting that cannot work; the message names the key.
    #[error("{0}")]
    Config(String),
    #[error("cannot read [push] ca_file {path}: {message}")]
    CaFile { path: PathBuf, message: String },
    /// No HTTP answer: refused, timed out, TLS failed...
    #[error("cannot reach the Pushgateway at {target}: {detail}")]
    Unreachable { target: String, detail: String },
    /// The gateway answered with an error; `body` is its own text.
    #[error("the Pushgateway at {target} rejected the push: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Rejected { target: String, status: String, body: String },
    #[error(
        "the Pushgateway at {target} answered HTTP {status} redirecting to {location}; hookmeter does not follow redirects: set [push] url (or PUSHGATEWAY_URL) to the address that answers"
    )]
    Redirect { target: String, status: String, location: String },
    #[error("cannot lock {path} (only one flush pushes at a time): {source}")]
    Lock { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    StateDir(#[from] crate::config::ConfigError),
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info() {
        assert_eq!(redact_url("https://u:p%40ss@gw:9091/x"), "https://<redacted>@gw:9091/x");
        assert_eq!(redact_url("http://gw:9091"), "http://gw:9091");
    }
}
