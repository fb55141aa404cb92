//! The rep-log grammar (`+10 squats`, `+ 10 push-ups`, `+10`) and exercise-name normalisation.
//!
//! Pure functions with no host calls, so `cargo test -p exercise` checks them natively.
//!
//! A prompt is a rep log only when all of it is one: `+`, optional spaces, 1 to 1000 reps,
//! optionally an exercise name, and nothing else. Whether the name is an exercise this plugin
//! counts is decided by the caller (it depends on config); here a name only has to be
//! well-formed.

/// The fewest and most reps one logged set may have. The upper bound keeps a typo such as
/// `+10000` from wrecking a total.
pub const MIN_REPS: u32 = 1;
pub const MAX_REPS: u32 = 1000;

/// The longest exercise name, after normalising. Names become label values, so they are short
/// and drawn from a small alphabet.
pub const MAX_NAME_LEN: usize = 32;

/// Exercises counted without being configured: the names the aliases below lead to.
pub const KNOWN_EXERCISES: &[&str] =
    &["squats", "pushups", "jumping_jacks", "calf_raises", "lunges", "wall_sits", "burpees", "situps", "planks"];

/// Other spellings (after lowercasing and joining words with `_`) → the canonical name.
const ALIASES: &[(&str, &str)] = &[
    ("squat", "squats"),
    ("pushup", "pushups"),
    ("push_up", "pushups"),
    ("push_ups", "pushups"),
    ("jumping_jack", "jumping_jacks"),
    ("calf_raise", "calf_raises"),
    ("lunge", "lunges"),
    ("wall_sit", "wall_sits"),
    ("burpee", "burpees"),
    ("situp", "situps"),
    ("sit_up", "situps"),
    ("sit_ups", "situps"),
    ("plank", "planks"),
];

/// A prompt that logs a set: `reps` of `exercise`, or of the exercise last suggested when the
/// prompt named none (`+10`). `exercise` is normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepLog {
    pub reps: u32,
    pub exercise: Option<String>,
}

/// Parse a whole prompt as a rep log; `None` when it is anything else.
pub fn rep_log(prompt: &str) -> Option<RepLog> {
    let rest = prompt.trim().strip_prefix('+')?.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    // More than four digits cannot be <= 1000 (leading zeros aside), and parsing them could
    // overflow.
    if digits == 0 || digits > 4 {
        return None;
    }
    let reps: u32 = rest[..digits].parse().ok()?;
    if !(MIN_REPS..=MAX_REPS).contains(&reps) {
        return None;
    }
    let name = rest[digits..].trim();
    let exercise = if name.is_empty() { None } else { Some(normalise(name)?) };
    Some(RepLog { reps, exercise })
}

/// Does the prompt start like a rep log (`+` and a digit)? Such prompts that fail to parse
/// were meant as a log more often than as a question, so they get no exercise suggestion.
pub fn looks_like_rep_log(prompt: &str) -> bool {
    prompt
        .trim_start()
        .strip_prefix('+')
        .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}

/// The canonical form of an exercise name: lowercase, words joined by single `_` (spaces,
/// `-` and `_` all separate words), aliases resolved. `None` when the name is empty, longer
/// than [`MAX_NAME_LEN`], or has characters other than ASCII letters, digits and separators.
pub fn normalise(name: &str) -> Option<String> {
    let is_separator = |c: char| c == ' ' || c == '\t' || c == '-' || c == '_';
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || is_separator(c)) {
        return None;
    }
    let joined =
        name.split(is_separator).filter(|word| !word.is_empty()).collect::<Vec<_>>().join("_").to_ascii_lowercase();
    if joined.is_empty() || joined.len() > MAX_NAME_LEN {
        return None;
    }
    let canonical = ALIASES.iter().find(|(alias, _)| *alias == joined).map(|(_, to)| *to);
    Some(canonical.map_or(joined, str::to_owned))
}

/// A JSON number that is a whole number (`12` or `12.0`), as an `i64`.
pub fn whole_number(value: &serde_json::Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // 2^53: beyond it every f64 is whole, and the cast would no longer be exact.
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(reps: u32, exercise: Option<&str>) -> Option<RepLog> {
        Some(RepLog { reps, exercise: exercise.map(str::to_owned) })
    }

    #[test]
    fn logs_with_a_name() {
        assert_eq!(rep_log("+10 squats"), log(10, Some("squats")));
        assert_eq!(rep_log("+10 squat"), log(10, Some("squats")));
        assert_eq!(rep_log("+ 10 push-ups"), log(10, Some("pushups")));
        assert_eq!(rep_log("  +12 Jumping Jacks \n"), log(12, Some("jumping_jacks")));
        assert_eq!(rep_log("+3 WALL-SIT"), log(3, Some("wall_sits")));
        assert_eq!(rep_log("+1000 calf_raise"), log(1000, Some("calf_raises")));
        assert_eq!(rep_log("+1 sit up"), log(1, Some("situps")));
        assert_eq!(rep_log("+7squats"), log(7, Some("squats")));
    }

    #[test]
    fn logs_without_a_name() {
        assert_eq!(rep_log("+10"), log(10, None));
        assert_eq!(rep_log(" + 5 "), log(5, None));
        assert_eq!(rep_log("+0010"), log(10, None));
    }

    #[test]
    fn near_misses_are_not_logs() {
        for prompt in [
            "+0 squats",
            "+1001 squats",
            "+99999 squats",
            "+99999999999999999999999 squats",
            "10 squats",
            "+10 squats!!",
            "+ten squats",
            "+-5 squats",
            "+10.5 squats",
            "+10 squats\nand then fix the bug",
            "+",
            "",
            "+10 ＳＱＵＡＴＳ",
            "+10 a_name_that_is_much_too_long_for_a_label",
        ] {
            assert_eq!(rep_log(prompt), None, "{prompt:?}");
        }
        // Well-formed, but the name is not an exercise: the caller rejects it.
        assert_eq!(rep_log("+10 squats and then fix the bug"), log(10, Some("squats_and_then_fix_the_bug")));
    }

    #[test]
    fn what_looks_like_a_log() {
        assert!(looks_like_rep_log("+10 squats!!"));
        assert!(looks_like_rep_log(" + 0"));
        assert!(!looks_like_rep_log("10 squats"));
        assert!(!looks_like_rep_log("+ more tests please"));
        assert!(!looks_like_rep_log("fix +10 bugs"));
    }

    #[test]
    fn normalising_names() {
        assert_eq!(normalise("Push Ups").as_deref(), Some("pushups"));
        assert_eq!(normalise("push_up").as_deref(), Some("pushups"));
        assert_eq!(normalise("  jumping - jack ").as_deref(), Some("jumping_jacks"));
        assert_eq!(normalise("Burpee").as_deref(), Some("burpees"));
        assert_eq!(normalise("plank").as_deref(), Some("planks"));
        assert_eq!(normalise("Pull-Ups").as_deref(), Some("pull_ups"));
        assert_eq!(normalise("squats!"), None);
        assert_eq!(normalise(" - "), None);
        assert_eq!(normalise("é"), None);
        assert_eq!(normalise(&"a".repeat(MAX_NAME_LEN)).map(|n| n.len()), Some(MAX_NAME_LEN));
        assert_eq!(normalise(&"a".repeat(MAX_NAME_LEN + 1)), None);
    }

    #[test]
    fn every_alias_leads_to_a_known_exercise() {
        for (alias, to) in ALIASES {
            assert!(KNOWN_EXERCISES.contains(to), "{alias} → {to}");
            assert_eq!(normalise(alias).as_deref(), Some(*to));
        }
        for name in KNOWN_EXERCISES {
            assert_eq!(normalise(name).as_deref(), Some(*name));
        }
    }

    #[test]
    fn whole_numbers() {
        use serde_json::json;
        assert_eq!(whole_number(&json!(12)), Some(12));
        assert_eq!(whole_number(&json!(12.0)), Some(12));
        assert_eq!(whole_number(&json!(-3)), Some(-3));
        assert_eq!(whole_number(&json!(12.5)), None);
        assert_eq!(whole_number(&json!("12")), None);
        assert_eq!(whole_number(&json!(1e300)), None);
    }
}
