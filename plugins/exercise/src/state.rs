//! The plugin's persistent state: four small keys of JSON or plain numbers, readable in
//! `hookmeter test` case files. Decoding is lenient: a value that does not parse is treated
//! as absent (and rewritten), so damaged state never breaks the plugin.
//!
//! | key             | value                                                        |
//! |-----------------|--------------------------------------------------------------|
//! | `suggestion`    | `{"at_ms":…,"exercise":"squats","mode":"quick"}`: the last set suggested |
//! | `last_break_ms` | the last set logged or break suggested, ms since the epoch   |
//! | `today`         | `{"date":"2023-11-14","reps":{"squats":35}}`: reps logged on that local day |
//! | `sessions`      | `{"<session id>":<start ms>,…}`: sessions seen in the last day |

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::mode::Mode;

pub const KEYS: [&str; 4] = ["suggestion", "last_break_ms", "today", "sessions"];

/// Sessions are forgotten a day after they started (there is no SessionEnd subscription, and
/// Claude Code may be killed before sending one). A session still running then counts as
/// starting again at its next event.
pub const SESSION_EXPIRY_MS: u64 = 24 * 60 * 60 * 1000;
/// At most this many sessions are remembered; the oldest go first.
pub const MAX_SESSIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub exercise: String,
    pub mode: Mode,
    pub at_ms: u64,
}

/// Reps logged per exercise on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Today {
    pub date: String,
    pub reps: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub suggestion: Option<Suggestion>,
    pub last_break_ms: Option<u64>,
    pub today: Today,
    pub sessions: BTreeMap<String, u64>,
}

impl State {
    /// Decode from the stored values; `get` returns the value of a key in [`KEYS`].
    pub fn decode(get: impl Fn(&str) -> Option<String>) -> State {
        let json = |key: &str| get(key).and_then(|v| serde_json::from_str::<Value>(&v).ok());
        let suggestion = json("suggestion").and_then(|v| {
            Some(Suggestion {
                exercise: v.get("exercise")?.as_str()?.to_owned(),
                mode: Mode::parse(v.get("mode")?.as_str()?)?,
                at_ms: v.get("at_ms")?.as_u64()?,
            })
        });
        let today = json("today")
            .and_then(|v| {
                Some(Today {
                    date: v.get("date")?.as_str()?.to_owned(),
                    reps: v
                        .get("reps")?
                        .as_object()?
                        .iter()
                        .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
                        .collect(),
                })
            })
            .unwrap_or_default();
        let sessions = json("sessions")
            .and_then(|v| Some(v.as_object()?.iter().filter_map(|(k, t)| Some((k.clone(), t.as_u64()?))).collect()))
            .unwrap_or_default();
        State { suggestion, last_break_ms: get("last_break_ms").and_then(|v| v.parse().ok()), today, sessions }
    }

    /// The value of every key in [`KEYS`], `None` for keys to delete.
    pub fn encode(&self) -> [(&'static str, Option<String>); 4] {
        let suggestion = self
            .suggestion
            .as_ref()
            .map(|s| json!({"exercise": s.exercise, "mode": s.mode.as_str(), "at_ms": s.at_ms}).to_string());
        let today = (!self.today.reps.is_empty())
            .then(|| json!({"date": self.today.date, "reps": self.today.reps}).to_string());
        let sessions = (!self.sessions.is_empty()).then(|| json!(self.sessions).to_string());
        [
            ("suggestion", suggestion),
            ("last_break_ms", self.last_break_ms.map(|t| t.to_string())),
            ("today", today),
            ("sessions", sessions),
        ]
    }

    /// Remember `session` (if it has an id) as started at `now_ms` unless it is already known,
    /// forget expired sessions, and return when the session started.
    pub fn session_start(&mut self, session: &str, now_ms: u64) -> u64 {
        self.sessions.retain(|_, start| now_ms.saturating_sub(*start) < SESSION_EXPIRY_MS);
        if session.is_empty() {
            return now_ms;
        }
        let start = *self.sessions.entry(session.to_owned()).or_insert(now_ms);
        while self.sessions.len() > MAX_SESSIONS {
            let oldest = self.sessions.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone());
            match oldest {
                Some(k) if k != session => self.sessions.remove(&k),
                _ => break,
            };
        }
        start
    }

    /// Add `reps` of `exercise` to the local day `date` (starting a new day when it changed)
    /// and return that day's total for the exercise.
    pub fn add_today(&mut self, date: &str, exercise: &str, reps: u64) -> u64 {
        if self.today.date != date {
            self.today = Today { date: date.to_owned(), reps: BTreeMap::new() };
        }
        let total = self.today.reps.entry(exercise.to_owned()).or_insert(0);
        *total += reps;
        *total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn stored(state: &State) -> HashMap<&'static str, String> {
        state.encode().into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
    }

    #[test]
    fn round_trip_and_exact_encoding() {
        let mut s = State {
            suggestion: Some(Suggestion { exercise: "squats".into(), mode: Mode::Quick, at_ms: 5 }),
            last_break_ms: Some(7),
            ..State::default()
        };
        assert_eq!(s.add_today("2023-11-14", "squats", 10), 10);
        assert_eq!(s.add_today("2023-11-14", "squats", 25), 35);
        s.session_start("s1", 3);
        let kv = stored(&s);
        // Compared as JSON values: key order depends on serde_json's features, which a
        // workspace-wide native `cargo test` unifies with the host's (`preserve_order`).
        let json = |k: &str| serde_json::from_str::<serde_json::Value>(&kv[k]).unwrap();
        assert_eq!(json("suggestion"), serde_json::json!({"at_ms": 5, "exercise": "squats", "mode": "quick"}));
        assert_eq!(kv["last_break_ms"], "7");
        assert_eq!(json("today"), serde_json::json!({"date": "2023-11-14", "reps": {"squats": 35}}));
        assert_eq!(json("sessions"), serde_json::json!({"s1": 3}));
        assert_eq!(State::decode(|k| kv.get(k).cloned()), s);
    }

    #[test]
    fn empty_state_writes_nothing() {
        assert!(stored(&State::default()).is_empty());
    }

    #[test]
    fn damaged_values_read_as_absent() {
        let s = State::decode(|k| Some(if k == "sessions" { r#"{"a":1,"b":"x"}"#.into() } else { "garbage".into() }));
        assert_eq!(s.suggestion, None);
        assert_eq!(s.last_break_ms, None);
        assert_eq!(s.today, Today::default());
        assert_eq!(s.sessions, BTreeMap::from([("a".to_owned(), 1)]));
    }

    #[test]
    fn a_new_day_starts_from_zero() {
        let mut s = State::default();
        s.add_today("2023-11-14", "squats", 10);
        s.add_today("2023-11-14", "lunges", 4);
        assert_eq!(s.add_today("2023-11-15", "squats", 3), 3);
        assert_eq!(s.today.reps.len(), 1);
    }

    #[test]
    fn sessions_keep_their_start_expire_and_are_bounded() {
        let mut s = State::default();
        assert_eq!(s.session_start("a", 100), 100);
        assert_eq!(s.session_start("a", 200), 100);
        assert_eq!(s.session_start("", 300), 300);
        assert_eq!(s.session_start("b", 100 + SESSION_EXPIRY_MS), 100 + SESSION_EXPIRY_MS);
        assert!(!s.sessions.contains_key("a"));
        for i in 0..(MAX_SESSIONS as u64 + 10) {
            s.session_start(&format!("s{i}"), SESSION_EXPIRY_MS + 1000 + i);
        }
        assert_eq!(s.sessions.len(), MAX_SESSIONS);
        assert!(s.sessions.contains_key(&format!("s{}", MAX_SESSIONS + 9)));
        assert!(!s.sessions.contains_key("b"));
    }
}
