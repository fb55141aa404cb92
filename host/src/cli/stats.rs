//! `hookmeter stats`: today and the last 7 days from the local store (see [`crate::stats`]).

use crate::config::Config;
use crate::event::now_ms;
use crate::localtime::{self, Day};
use crate::stats::{self, Report, WEEK_DAYS};
use crate::store::{DB_FILE, Store};

#[derive(clap::Args)]
pub struct StatsArgs {
    /// Print JSON instead of text (whole numbers as integers; days as YYYY-MM-DD, local).
    #[arg(long)]
    json: bool,
}

pub fn stats(config: &Config, args: StatsArgs) -> anyhow::Result<()> {
    let state_dir = config.state_dir()?;
    let now_ms = now_ms();
    let now = localtime::local_time(now_ms);
    let week_from: Day = now.day.minus(WEEK_DAYS - 1);
    // No store yet is a normal first-day state: report it, and do not create one just to read.
    let report = if state_dir.join(DB_FILE).exists() {
        let mut store = Store::open(&state_dir)?;
        let rows = store.daily(week_from, now.day)?;
        let history_since = store.first_day()?;
        let snapshot = store.snapshot()?;
        Report::build(
            now_ms,
            now,
            &rows,
            history_since,
            Some(&snapshot),
            localtime::local_time,
        )
    } else {
        Report::build(now_ms, now, &[], None, None, localtime::local_time)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", stats::render_text(&report, terminal_columns()));
    }
    Ok(())
}

/// The width of the terminal on stdout; else `COLUMNS`; else unknown (piped output).
fn terminal_columns() -> Option<usize> {
    // SAFETY: isatty and ioctl(TIOCGWINSZ) only read the descriptor's state and fill in `ws`,
    // a plain struct that outlives the call.
    let from_tty = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::isatty(libc::STDOUT_FILENO) == 1
            && libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0
            && ws.ws_col > 0)
            .then_some(usize::from(ws.ws_col))
    };
    from_tty.or_else(|| {
        std::env::var("COLUMNS")
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
    })
}
