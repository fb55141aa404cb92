//! `hookmeter run`: the hook. Fails open: whatever goes wrong, Claude Code gets exit 0 with
//! no answer, or exit 1 with one line on stderr — never exit 2, which would block it.

use std::io::Write;

use crate::config::Config;
use crate::hook;

#[derive(clap::Args)]
pub struct RunArgs {}

pub fn run(config: &Config, _args: RunArgs) -> i32 {
    let result = std::panic::catch_unwind(|| hook::run(config, std::io::stdin().lock()));
    let state_dir = config.state_dir().ok();
    let code = match result {
        Ok(Ok(outcome)) => {
            if let Some(answer) = &outcome.answer {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{answer}");
                let _ = out.flush();
            }
            if outcome.flush_due {
                let config_file = config.source.as_deref();
                if let Err(e) = crate::push::spawn_background_flush(&outcome.state_dir, config_file) {
                    crate::log::write(crate::log::Level::Warn, "push", &format!("cannot start a background flush: {e}"));
                }
            }
            0
        }
        Ok(Err(e)) => {
            eprintln!("hookmeter: {e}");
            crate::log::write(crate::log::Level::Error, "run", &e.to_string());
            1
        }
        Err(_) => {
            eprintln!("hookmeter: internal error (a bug); the event was not recorded. See hookmeter.log.");
            crate::log::write(crate::log::Level::Error, "run", "panic while processing an event");
            1
        }
    };
    if let Some(dir) = state_dir {
        if dir.is_dir() {
            crate::log::flush(&dir);
        }
    }
    code
}
