//! The `[plugins.exercise]` table. Every key is optional; a bad value is an error that names
//! the key and what it expects, so a typo is not silently replaced by a default.

use serde_json::{Map, Value};

use crate::clock::{MINUTE_MS, QuietHours};
use crate::parse::{self, KNOWN_EXERCISES, MAX_REPS, MIN_REPS};

/// The rotation when `exercises` is not set.
pub const DEFAULT_EXERCISES: &[&str] = &["squats", "pushups", "jumping_jacks", "calf_raises", "lunges", "wall_sits"];

/// Most entries in `exercises`: each one can become a label value, so the list is bounded.
pub const MAX_EXERCISES: usize = 32;

/// Keys the plugin reads, and keys hookmeter itself reads from the same table.
const KEYS: &[&str] = &[
    "quick_reps",
    "break_reps",
    "cooldown_minutes",
    "break_after_minutes",
    "exercises",
    "quiet_hours",
    "utc_offset_minutes",
    "prompts",
];
const HOST_KEYS: &[&str] = &["enabled", "path"];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Reps of a quick set, suggested on a prompt.
    pub quick_reps: u32,
    /// Reps of a break set, suggested on Stop.
    pub break_reps: u32,
    /// Least time between two suggestions; also how long a suggestion claims the sets
    /// logged for it.
    pub cooldown_ms: u64,
    /// How long a session may go without a set or a break prompt before Stop suggests one.
    pub break_after_ms: u64,
    /// The rotation, normalised.
    pub exercises: Vec<String>,
    pub quiet_hours: Option<QuietHours>,
    pub utc_offset_minutes: i32,
    /// `false`: never suggest, only count what is logged.
    pub prompts: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            quick_reps: 5,
            break_reps: 10,
            cooldown_ms: 20 * MINUTE_MS,
            break_after_ms: 60 * MINUTE_MS,
            exercises: DEFAULT_EXERCISES.iter().map(|e| (*e).to_owned()).collect(),
            quiet_hours: None,
            utc_offset_minutes: 0,
            prompts: true,
        }
    }
}

impl Config {
    /// Read the plugin's table (what the host's `config()` returns).
    pub fn from_json(table: &Value) -> Result<Config, String> {
        let Value::Object(table) = table else {
            return Err(format!("[plugins.exercise] must be a table, got {table}"));
        };
        if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str()) && !HOST_KEYS.contains(&k.as_str())) {
            return Err(format!("[plugins.exercise] has no key {key:?}; the keys are {}", KEYS.join(", ")));
        }
        let mut config = Config::default();
        if let Some(n) = number(table, "quick_reps", MIN_REPS.into(), MAX_REPS.into())? {
            config.quick_reps = n as u32;
        }
        if let Some(n) = number(table, "break_reps", MIN_REPS.into(), MAX_REPS.into())? {
            config.break_reps = n as u32;
        }
        // A year bounds the arithmetic; nobody needs a longer wait.
        const YEAR_MINUTES: i64 = 366 * 24 * 60;
        if let Some(n) = number(table, "cooldown_minutes", 0, YEAR_MINUTES)? {
            config.cooldown_ms = n as u64 * MINUTE_MS;
        }
        if let Some(n) = number(table, "break_after_minutes", 1, YEAR_MINUTES)? {
            config.break_after_ms = n as u64 * MINUTE_MS;
        }
        // Real offsets run from UTC-12:00 to UTC+14:00.
        if let Some(n) = number(table, "utc_offset_minutes", -12 * 60, 14 * 60)? {
            config.utc_offset_minutes = n as i32;
        }
        if let Some(value) = table.get("exercises") {
            config.exercises = exercises(value)?;
        }
        match table.get("quiet_hours") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.trim().is_empty() => {}
            Some(value) => {
                config.quiet_hours = Some(value.as_str().and_then(QuietHours::parse).ok_or_else(|| {
                    format!(
                        "[plugins.exercise] quiet_hours must be a local time range such as \"22:00-07:00\" \
                         (HH:MM-HH:MM, 24-hour clock, start and end different), got {value}"
                    )
                })?);
            }
        }
        if let Some(value) = table.get("prompts") {
            config.prompts = value
                .as_bool()
                .ok_or_else(|| format!("[plugins.exercise] prompts must be true or false, got {value}"))?;
        }
        Ok(config)
    }

    /// Is `name` (normalised) an exercise this plugin counts: a configured one or a known one?
    /// Only these become label values.
    pub fn counts(&self, name: &str) -> bool {
        self.exercises.iter().any(|e| e == name) || KNOWN_EXERCISES.contains(&name)
    }

    /// The exercise after `previous` in the rotation; the first when there was none or it is
    /// no longer configured.
    pub fn next_exercise(&self, previous: Option<&str>) -> &str {
        let next = previous
            .and_then(|p| self.exercises.iter().position(|e| e == p))
            .map_or(0, |i| (i + 1) % self.exercises.len());
        &self.exercises[next]
    }
}

/// An optional whole number in `min..=max`.
fn number(table: &Map<String, Value>, key: &str, min: i64, max: i64) -> Result<Option<i64>, String> {
    match table.get(key) {
        None => Ok(None),
        Some(value) => parse::whole_number(value)
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| format!("[plugins.exercise] {key} must be a whole number from {min} to {max}, got {value}")),
    }
}

fn exercises(value: &Value) -> Result<Vec<String>, String> {
    let Some(items) = value.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_EXERCISES) else {
        return Err(format!(
            "[plugins.exercise] exercises must be a list of 1 to {MAX_EXERCISES} names such as [\"squats\", \"pushups\"], got {value}"
        ));
    };
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = item.as_str().and_then(parse::normalise).ok_or_else(|| {
            format!(
                "[plugins.exercise] exercises[{i}] must be a name of ASCII letters, digits, spaces, '-' or '_', \
                 at most {} characters, got {item}",
                parse::MAX_NAME_LEN
            )
        })?;
        if names.contains(&name) {
            return Err(format!(
                "[plugins.exercise] exercises lists {name:?} twice (names are compared after normalising, e.g. \"push-up\" = \"pushups\")"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(table: Value) -> String {
        Config::from_json(&table).unwrap_err()
    }

    #[test]
    fn defaults() {
        let c = Config::from_json(&json!({})).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!((c.quick_reps, c.break_reps), (5, 10));
        assert_eq!(c.cooldown_ms, 20 * 60_000);
        assert_eq!(c.break_after_ms, 60 * 60_000);
        assert_eq!(c.exercises[0], "squats");
        assert!(c.prompts && c.quiet_hours.is_none());
    }

    #[test]
    fn every_key() {
        let c = Config::from_json(&json!({
            "enabled": true, "quick_reps": 3, "break_reps": 20, "cooldown_minutes": 0,
            "break_after_minutes": 45, "exercises": ["Push-Ups", "plank", "pull ups"],
            "quiet_hours": "22:00-07:00", "utc_offset_minutes": -300, "prompts": false,
        }))
        .unwrap();
        assert_eq!((c.quick_reps, c.break_reps, c.cooldown_ms, c.break_after_ms), (3, 20, 0, 45 * 60_000));
        assert_eq!(c.exercises, ["pushups", "planks", "pull_ups"]);
        assert_eq!(c.quiet_hours, QuietHours::parse("22:00-07:00"));
        assert_eq!((c.utc_offset_minutes, c.prompts), (-300, false));
        assert!(c.counts("pull_ups") && c.counts("squats") && !c.counts("yoga"));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (table, expected) in [
            (json!({"cooldown_minutes": "soon"}), "cooldown_minutes must be a whole number from 0 to"),
            (json!({"cooldown_minutes": -1}), "cooldown_minutes"),
            (json!({"quick_reps": 0}), "quick_reps must be a whole number from 1 to 1000, got 0"),
            (json!({"break_reps": 2.5}), "break_reps"),
            (json!({"break_after_minutes": 0}), "break_after_minutes"),
            (json!({"utc_offset_minutes": 900}), "utc_offset_minutes must be a whole number from -720 to 840"),
            (json!({"exercises": []}), "exercises must be a list"),
            (json!({"exercises": "squats"}), "exercises must be a list"),
            (json!({"exercises": ["squats", 3]}), "exercises[1]"),
            (json!({"exercises": ["squats!"]}), "exercises[0]"),
            (json!({"exercises": ["pushup", "push-ups"]}), "lists \"pushups\" twice"),
            (json!({"quiet_hours": "10pm-7am"}), "quiet_hours must be a local time range"),
            (json!({"quiet_hours": 22}), "quiet_hours"),
            (json!({"prompts": "no"}), "prompts must be true or false"),
            (json!({"cooldown": 5}), "no key \"cooldown\""),
        ] {
            let message = error(table.clone());
            assert!(message.contains(expected), "{table}: {message}");
            assert!(message.starts_with("[plugins.exercise]"), "{message}");
        }
    }

    #[test]
    fn rotation() {
        let c = Config::from_json(&json!({"exercises": ["a", "b", "c"]})).unwrap();
        assert_eq!(c.next_exercise(None), "a");
        assert_eq!(c.next_exercise(Some("a")), "b");
        assert_eq!(c.next_exercise(Some("c")), "a");
        assert_eq!(c.next_exercise(Some("gone")), "a");
    }
}
