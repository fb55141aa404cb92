//! `hookmeter flush` and `hookmeter status`: push the totals now, and say how pushing goes.

use crate::config::Config;
use crate::event::now_ms;
use crate::push::{self, FlushMode, FlushOutcome, PushError, PushRecord, Target};
use crate::store::Store;

#[derive(clap::Args)]
pub struct FlushArgs {
    /// Print the exact text a push would send (the target goes to stderr) and push nothing.
    #[arg(long)]
    dry_run: bool,
    /// How `hookmeter run` starts it: skip when the gateway already has the current totals,
    /// leave when another flush is already queued, report only in hookmeter.log.
    #[arg(long, hide = true)]
    background: bool,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn flush(config: &Config, args: FlushArgs) -> i32 {
    let code = if args.dry_run {
        super::report(dry_run(config))
    } else {
        let mode = if args.background { FlushMode::Background } else { FlushMode::Now };
        let live = || match super::inspect::live_plugins(config) {
            Ok(live) => Some(live),
            Err(e) => {
                // Pushing every family beats not pushing: a gone plugin's gauge is stale, not wrong.
                crate::log::write(
                    crate::log::Level::Warn,
                    "push",
                    &format!("cannot load the plugins, pushing all families: {e:#}"),
                );
                None
            }
        };
        match push::flush(config, mode, live) {
            Ok(outcome) => {
                if !args.background {
                    print_outcome(&outcome);
                }
                0
            }
            Err(e) => {
                if !args.background {
                    eprintln!("hookmeter: push failed: {e}");
                }
                1
            }
        }
    };
    if let Ok(dir) = config.state_dir()
        && dir.is_dir()
    {
        crate::log::flush(&dir);
    }
    code
}

fn print_outcome(outcome: &FlushOutcome) {
    match outcome {
        FlushOutcome::Pushed { generation, series, bytes, duration_ms, target } => {
            println!("pushed {series} series ({bytes} bytes, generation {generation}) to {target} in {duration_ms} ms");
        }
        FlushOutcome::UpToDate { generation, target } => {
            println!("nothing new: {target} already has generation {generation}");
        }
        FlushOutcome::Queued => println!("another flush is queued and will push the current totals"),
    }
}

/// What a flush would push, exactly; nothing is locked, sent or recorded.
fn dry_run(config: &Config) -> anyhow::Result<()> {
    let mut store = Store::open(&config.state_dir()?)?;
    let snapshot = store.snapshot()?;
    let live = super::inspect::live_plugins(config)?;
    let text = match Target::from_config(&config.push)? {
        Some(target) => {
            eprintln!("would PUT to {} (generation {})", target.describe(), snapshot.generation);
            push::render_for_push(&snapshot, Some(&live), &target)?.text
        }
        None => {
            eprintln!("{} (generation {})", PushError::NotConfigured, snapshot.generation);
            crate::exposition::render(&snapshot, Some(&live))
        }
    };
    print!("{text}");
    Ok(())
}

pub fn status(config: &Config, args: StatusArgs) -> i32 {
    super::report(show_status(config, args))
}

fn show_status(config: &Config, args: StatusArgs) -> anyhow::Result<()> {
    let state_dir = config.state_dir()?;
    let mut store = Store::open(&state_dir)?;
    let record = PushRecord::load(&store)?;
    let snapshot = store.snapshot()?;
    let target = Target::from_config(&config.push);
    let identity = target.as_ref().ok().and_then(|t| t.as_ref()).map(Target::identity);
    // A different target than the last push's has none of our data yet.
    let same_target = identity.is_some() && identity == record.pushed_target;
    let pushed_generation = record.pushed_generation.filter(|_| same_target);
    let since = record.pushed_updated_ms.filter(|_| same_target);
    let series: Vec<_> = snapshot.families.iter().flat_map(|f| &f.series).collect();
    let pending_series = series.iter().filter(|s| since.is_none_or(|t| s.updated_ms > t)).count();
    let pending_generations = snapshot.generation.saturating_sub(pushed_generation.unwrap_or(0));

    if args.json {
        let json = serde_json::json!({
            "enabled": matches!(target, Ok(Some(_))),
            "target": target.as_ref().ok().and_then(|t| t.as_ref()).map(Target::describe),
            "target_error": target.as_ref().err().map(ToString::to_string),
            "state_dir": state_dir,
            "generation": snapshot.generation,
            "series": series.len(),
            "pending_series": pending_series,
            "pending_generations": pending_generations,
            "record": record,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        let now = now_ms();
        match &target {
            Ok(Some(t)) => println!("pushing to    {}", t.describe()),
            Ok(None) => println!("pushing       off: {}", PushError::NotConfigured),
            Err(e) => println!("pushing       misconfigured: {e}"),
        }
        match (record.last_success_ms, record.pushed_generation, record.pushed_series) {
            (Some(at), Some(generation), series) => println!(
                "last push     {}: {} series, generation {generation}{}",
                when(at, now),
                series.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                if same_target { String::new() } else { " (to another target)".into() }
            ),
            _ => println!("last push     never"),
        }
        if let Some(at) = record.last_attempt_ms {
            let took = record.last_duration_ms.map(|d| format!(" after {d} ms")).unwrap_or_default();
            match (record.last_result.as_deref(), &record.last_error) {
                (Some("ok"), _) => println!("last attempt  {}: ok{took}", when(at, now)),
                (_, error) => {
                    println!("last attempt  {}: failed{took}: {}", when(at, now), error.as_deref().unwrap_or("?"))
                }
            }
        }
        if pending_generations == 0 && same_target {
            println!("pending       nothing: the gateway has generation {}", snapshot.generation);
        } else {
            println!(
                "pending       {pending_series} of {} series changed since the last push (store generation {}, pushed {})",
                series.len(),
                snapshot.generation,
                pushed_generation.map(|g| g.to_string()).unwrap_or_else(|| "none".into())
            );
        }
    }
    anyhow::ensure!(target.is_ok(), "fix the [push] settings above");
    Ok(())
}

/// `2026-11-25 21:30:02 UTC (5 s ago)`.
fn when(ms: u64, now: u64) -> String {
    let ago = now.saturating_sub(ms) / 1000;
    let ago = match ago {
        0..=119 => format!("{ago} s ago"),
        120..=7199 => format!("{} min ago", ago / 60),
        _ => format!("{} h ago", ago / 3600),
    };
    format!("{} ({ago})", utc(ms))
}

/// Unix milliseconds as a UTC date and time.
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = crate::localtime::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000 + 3_661_000), "2000-02-29 01:01:01 UTC");
        assert_eq!(utc(1_795_641_710_893), "2026-11-25 21:21:50 UTC");
    }
}
