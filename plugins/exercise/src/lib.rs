//! exercise: movement breaks while Claude works, with the reps logged as metrics.
//!
//! A quick set is suggested on a prompt (at most once per cooldown), a break set on Stop after
//! a long stretch without one; `+10 squats` typed as a prompt logs a set without reaching the
//! model; other tools report sets with an `ExerciseCompleted` event. See README.md.
//!
//! This file is the only one that talks to the host; the modules below are plain Rust.

mod clock;
mod config;
mod handler;
mod mode;
mod parse;
mod state;

use hookmeter_plugin_sdk::{self as sdk, Context, Event, Manifest, Plugin, Response, counter, gauge, manifest};

struct Exercise;

impl Plugin for Exercise {
    fn describe() -> Manifest {
        let em: &[&str] = &["exercise", "mode"];
        manifest("exercise", env!("CARGO_PKG_VERSION"))
            .answer("UserPromptSubmit")
            .answer("Stop")
            .on("SessionStart")
            .on("ExerciseCompleted")
            .metric(counter(
                handler::REPS,
                "Exercise reps done, by exercise and mode (quick, break, manual, tracker).",
                em,
            ))
            .metric(counter(handler::SESSIONS, "Exercise sets done, by exercise and mode.", em))
            .metric(counter(
                handler::DURATION,
                "Seconds spent on exercise sets that reported a duration, by exercise and mode.",
                em,
            ))
            .metric(counter(handler::PROMPTS, "Exercise sets suggested, by exercise and mode (quick or break).", em))
            .metric(gauge(handler::LAST_REPS, "Reps of the last set of this exercise.", &["exercise"]))
            .metric(gauge(handler::LAST_TIMESTAMP, "Unix time of the last set of this exercise.", &["exercise"]))
    }

    fn handle(event: Event, ctx: Context) -> Result<Response, String> {
        let config = config::Config::from_json(&sdk::config())?;
        let before: Vec<(&str, Option<String>)> = state::KEYS.iter().map(|k| (*k, sdk::state::get(k))).collect();
        let mut current =
            state::State::decode(|key| before.iter().find(|(k, _)| *k == key).and_then(|(_, v)| v.clone()));
        let out = handler::handle(&event, &ctx, &config, &mut current)?;
        // Write only the keys that changed, so most events leave the store alone.
        for (key, new) in current.encode() {
            let old = before.iter().find(|(k, _)| *k == key).and_then(|(_, v)| v.as_ref());
            if new.as_ref() != old {
                match new {
                    Some(value) => sdk::state::set(key, &value),
                    None => sdk::state::remove(key),
                }
            }
        }
        Ok(out)
    }
}

sdk::export_plugin!(Exercise);
