//! What the plugin does with each event. No host calls here: the caller passes the config and
//! the decoded state in and stores the state that comes out, so this runs natively in tests.

use hookmeter_plugin_sdk::{Context, Event, Response, response};
use serde_json::Value;

use crate::clock::{LocalTime, MINUTE_MS};
use crate::config::Config;
use crate::mode::Mode;
use crate::parse::{self, MAX_REPS, MIN_REPS};
use crate::state::{State, Suggestion};

pub const REPS: &str = "exercise_reps_total";
pub const SESSIONS: &str = "exercise_sessions_total";
pub const DURATION: &str = "exercise_duration_seconds_total";
pub const PROMPTS: &str = "exercise_prompts_total";
pub const LAST_REPS: &str = "exercise_last_session_reps";
pub const LAST_TIMESTAMP: &str = "exercise_last_session_timestamp_seconds";

/// The longest set an `ExerciseCompleted` event may report: a day. Longer is a broken clock.
const MAX_DURATION_SECONDS: f64 = 86_400.0;

pub fn handle(event: &Event, ctx: &Context, config: &Config, state: &mut State) -> Result<Response, String> {
    let now = ctx.now_ms;
    match event.name.as_str() {
        "SessionStart" => {
            state.session_start(&event.session_id, now);
            Ok(response())
        }
        "UserPromptSubmit" => {
            state.session_start(&event.session_id, now);
            Ok(user_prompt(&event.str_field("prompt").unwrap_or_default(), now, config, state))
        }
        "Stop" => {
            let start = state.session_start(&event.session_id, now);
            Ok(stop(start, now, config, state))
        }
        "ExerciseCompleted" => completed(&event.payload(), now, config, state),
        _ => Ok(response()),
    }
}

/// A `+N` log is recorded and blocked; anything that only starts like one passes through
/// untouched; any other prompt may get a quick-set suggestion.
fn user_prompt(prompt: &str, now: u64, config: &Config, state: &mut State) -> Response {
    if let Some(log) = parse::rep_log(prompt) {
        let last_suggested = state.suggestion.as_ref().map(|s| s.exercise.clone());
        if let Some(exercise) = log.exercise.or(last_suggested).filter(|e| config.counts(e)) {
            let mode = match &state.suggestion {
                Some(s) if s.exercise == exercise && now.saturating_sub(s.at_ms) < config.cooldown_ms => s.mode,
                _ => Mode::Manual,
            };
            let (out, today) = record_set(&exercise, mode, log.reps, None, now, config, state);
            return out.block(format!("Logged {} {} — {today} today", log.reps, display(&exercise)));
        }
    }
    if parse::looks_like_rep_log(prompt) || !may_suggest(now, config) {
        return response();
    }
    if state.suggestion.as_ref().is_some_and(|s| now.saturating_sub(s.at_ms) < config.cooldown_ms) {
        return response();
    }
    let (out, exercise) = suggest(Mode::Quick, now, config, state);
    let reps = config.quick_reps;
    out.system_message(format!("Quick set while Claude works: {reps} {}. Log it with `+{reps}`.", display(&exercise)))
}

/// On Stop, suggest a break set when the session has gone `break_after_minutes` without a
/// logged set or a break suggestion.
fn stop(session_start: u64, now: u64, config: &Config, state: &mut State) -> Response {
    if !may_suggest(now, config) {
        return response();
    }
    let since = session_start.max(state.last_break_ms.unwrap_or(0));
    let idle = now.saturating_sub(since);
    if idle < config.break_after_ms {
        return response();
    }
    state.last_break_ms = Some(now);
    let (out, exercise) = suggest(Mode::Break, now, config, state);
    let reps = config.break_reps;
    out.system_message(format!(
        "Break time: {reps} {} — {} minutes without a break. Log it with `+{reps}`.",
        display(&exercise),
        idle / MINUTE_MS
    ))
}

/// An `ExerciseCompleted` event from another tool: the same updates as a `+N` log, plus the
/// set's duration. Bad fields are an error naming the field, and nothing is recorded.
fn completed(payload: &Value, now: u64, config: &Config, state: &mut State) -> Result<Response, String> {
    let field = |key: &str| payload.get(key).filter(|v| !v.is_null());
    let exercise = match field("exercise") {
        None => return Err("ExerciseCompleted needs \"exercise\", the exercise's name, e.g. \"squats\"".into()),
        Some(value) => value.as_str().and_then(parse::normalise).filter(|e| config.counts(e)).ok_or_else(|| {
            format!(
                "ExerciseCompleted \"exercise\" must be one of {} (or a known exercise: {}), got {value}",
                config.exercises.join(", "),
                parse::KNOWN_EXERCISES.join(", ")
            )
        })?,
    };
    let reps = match field("reps") {
        None => return Err(format!("ExerciseCompleted needs \"reps\", a whole number from {MIN_REPS} to {MAX_REPS}")),
        Some(value) => parse::whole_number(value)
            .filter(|n| (i64::from(MIN_REPS)..=i64::from(MAX_REPS)).contains(n))
            .ok_or_else(|| {
                format!("ExerciseCompleted \"reps\" must be a whole number from {MIN_REPS} to {MAX_REPS}, got {value}")
            })? as u32,
    };
    let duration = match field("duration_seconds") {
        None => None,
        Some(value) => Some(value.as_f64().filter(|d| (0.0..=MAX_DURATION_SECONDS).contains(d)).ok_or_else(|| {
            format!("ExerciseCompleted \"duration_seconds\" must be a number of seconds from 0 to {MAX_DURATION_SECONDS}, got {value}")
        })?),
    };
    let mode = match field("mode") {
        None => Mode::Tracker,
        Some(value) => value.as_str().and_then(Mode::parse).ok_or_else(|| {
            format!("ExerciseCompleted \"mode\" must be \"tracker\", \"quick\", \"break\" or \"manual\", got {value}")
        })?,
    };
    Ok(record_set(&exercise, mode, reps, duration, now, config, state).0)
}

/// The updates for one finished set; also adds it to today's total (returned) and counts it
/// as a break.
fn record_set(
    exercise: &str,
    mode: Mode,
    reps: u32,
    duration_seconds: Option<f64>,
    now: u64,
    config: &Config,
    state: &mut State,
) -> (Response, u64) {
    let em = [("exercise", exercise), ("mode", mode.as_str())];
    let mut out = response().inc(REPS, &em, reps.into()).inc(SESSIONS, &em, 1.0);
    if let Some(seconds) = duration_seconds {
        out = out.inc(DURATION, &em, seconds);
    }
    let out = out.set(LAST_REPS, &em[..1], reps.into()).set(LAST_TIMESTAMP, &em[..1], now as f64 / 1000.0);
    let date = LocalTime::at(now, config.utc_offset_minutes).date();
    let today = state.add_today(&date, exercise, reps.into());
    state.last_break_ms = Some(state.last_break_ms.map_or(now, |t| t.max(now)));
    (out, today)
}

/// Suggestions are on, and it is not quiet hours.
fn may_suggest(now: u64, config: &Config) -> bool {
    let minute = LocalTime::at(now, config.utc_offset_minutes).minute;
    config.prompts && !config.quiet_hours.is_some_and(|q| q.contains(minute))
}

/// Suggest the next exercise in the rotation; returns the updates and the exercise.
fn suggest(mode: Mode, now: u64, config: &Config, state: &mut State) -> (Response, String) {
    let exercise = config.next_exercise(state.suggestion.as_ref().map(|s| s.exercise.as_str())).to_owned();
    state.suggestion = Some(Suggestion { exercise: exercise.clone(), mode, at_ms: now });
    let out = response().inc(PROMPTS, &[("exercise", &exercise), ("mode", mode.as_str())], 1.0);
    (out, exercise)
}

/// `jumping_jacks` → `jumping jacks`, for messages.
fn display(exercise: &str) -> String {
    exercise.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmeter_plugin_sdk::Op;

    const NOW: u64 = 1_700_000_000_000;

    fn event(json: serde_json::Value) -> Event {
        Event {
            name: json["hook_event_name"].as_str().unwrap().to_owned(),
            session_id: json["session_id"].as_str().unwrap_or("").to_owned(),
            cwd: String::new(),
            tool_name: None,
            json: json.to_string(),
        }
    }

    fn run(json: serde_json::Value, now_ms: u64, state: &mut State) -> Result<Response, String> {
        let ctx = Context { project: "p".into(), branch: None, host: "h".into(), now_ms };
        handle(&event(json), &ctx, &Config::default(), state)
    }

    fn prompt(text: &str, now_ms: u64, state: &mut State) -> Response {
        run(
            serde_json::json!({"hook_event_name": "UserPromptSubmit", "session_id": "s", "prompt": text}),
            now_ms,
            state,
        )
        .unwrap()
    }

    fn answer(r: &Response) -> (Option<&str>, Option<&str>) {
        let o = r.output.as_ref();
        (o.and_then(|o| o.system_message.as_deref()), o.and_then(|o| o.block.as_deref()))
    }

    #[test]
    fn suggest_then_log_with_plus_n() {
        let mut state = State::default();
        let r = prompt("hello", NOW, &mut state);
        assert_eq!(answer(&r).0, Some("Quick set while Claude works: 5 squats. Log it with `+5`."));
        let r = prompt("+5", NOW + 1000, &mut state);
        assert_eq!(answer(&r), (None, Some("Logged 5 squats — 5 today")));
        let first = &r.metrics[0];
        assert_eq!((first.name.as_str(), &first.labels[1].1), (REPS, &"quick".to_owned()));
        assert!(matches!(first.op, Op::Inc(v) if v == 5.0));
        // Within the cooldown: nothing.
        assert!(prompt("hello", NOW + 2000, &mut state).output.is_none());
    }

    #[test]
    fn near_misses_change_nothing() {
        let mut state = State::default();
        for text in ["+10", "+10 squats!!", "+0 squats", "+10 yoga"] {
            let r = prompt(text, NOW, &mut state);
            assert!(r.metrics.is_empty() && r.output.is_none(), "{text}");
        }
        assert_eq!(state.suggestion, None);
    }

    #[test]
    fn completed_errors_leave_state_alone() {
        let mut state = State::default();
        let err = run(
            serde_json::json!({"hook_event_name": "ExerciseCompleted", "exercise": "squats", "reps": "12"}),
            NOW,
            &mut state,
        )
        .unwrap_err();
        assert!(err.contains("\"reps\""), "{err}");
        assert_eq!(state, State::default());
    }
}
