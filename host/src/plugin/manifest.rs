//! What a plugin says about itself (its `describe()`), in host types, plus subscription
//! matching. Cached beside the compiled artifact so matching needs no instantiation.

use serde::{Deserialize, Serialize};

use crate::metrics::{self, Family, Kind};

use super::bindings::v0_1::hookmeter::plugin::types as wit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub event: String,
    pub tool_matcher: Option<String>,
    /// The plugin may answer this event; see the WIT `subscription` record.
    #[serde(default)]
    pub answers: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub subscriptions: Vec<Subscription>,
    /// Families exactly as declared; see [`Manifest::checked_families`].
    pub families: Vec<Family>,
}

impl Manifest {
    pub fn from_wit(m: wit::Manifest) -> Manifest {
        Manifest {
            name: m.name,
            version: m.version,
            subscriptions: m
                .subscriptions
                .into_iter()
                .map(|s| Subscription { event: s.event, tool_matcher: s.tool_matcher, answers: s.answers })
                .collect(),
            families: m
                .metrics
                .into_iter()
                .map(|f| Family {
                    name: f.name,
                    help: f.help,
                    kind: match f.kind {
                        wit::MetricKind::Counter => Kind::Counter,
                        wit::MetricKind::Gauge => Kind::Gauge,
                        wit::MetricKind::Histogram => Kind::Histogram,
                    },
                    label_names: f.label_names,
                    buckets: f.buckets,
                })
                .collect(),
        }
    }

    /// Does any subscription match this event?
    pub fn subscribed(&self, event: &str, tool: Option<&str>) -> bool {
        self.subscriptions.iter().any(|s| s.matches(event, tool))
    }

    /// The valid families, and a reason for each invalid one.
    pub fn checked_families(&self) -> (Vec<Family>, Vec<String>) {
        let mut ok: Vec<Family> = Vec::new();
        let mut rejected = Vec::new();
        for family in &self.families {
            match metrics::check_family(family, false) {
                Err(reason) => rejected.push(reason),
                Ok(()) if ok.iter().any(|f| f.name == family.name) => {
                    rejected.push(format!("family {:?} is declared twice", family.name));
                }
                Ok(()) => ok.push(family.clone()),
            }
        }
        (ok, rejected)
    }
}

impl Subscription {
    /// `event` is a name or "*"; `tool_matcher` is "*", a tool name, or `A|B|C`, as in
    /// Claude Code's settings. A matcher only narrows events that carry a tool name.
    pub fn matches(&self, event: &str, tool: Option<&str>) -> bool {
        if self.event != "*" && self.event != event {
            return false;
        }
        match (self.tool_matcher.as_deref(), tool) {
            (None | Some("") | Some("*"), _) => true,
            (Some(_), None) => false,
            (Some(matcher), Some(tool)) => matcher.split('|').any(|m| m.trim() == tool),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(event: &str, m: Option<&str>) -> Subscription {
        Subscription { event: event.into(), tool_matcher: m.map(Into::into), answers: false }
    }

    #[test]
    fn matching() {
        assert!(sub("Stop", None).matches("Stop", None));
        assert!(!sub("Stop", None).matches("SessionEnd", None));
        assert!(sub("*", None).matches("Anything", None));
        assert!(sub("PreToolUse", Some("Edit|Write")).matches("PreToolUse", Some("Write")));
        assert!(!sub("PreToolUse", Some("Edit|Write")).matches("PreToolUse", Some("Bash")));
        assert!(!sub("PreToolUse", Some("Bash")).matches("PreToolUse", None));
        assert!(sub("PostToolUse", Some("*")).matches("PostToolUse", Some("mcp__x__y")));
    }
}
