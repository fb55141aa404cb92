//! The command line: parses arguments and wires the stages together. No pipeline logic lives
//! here.

mod demo;
mod doctor;
mod inspect;
mod install;
mod new_plugin;
mod push;
mod run;
mod stats;
mod test;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(name = "hookmeter", version, about = "Claude Code hooks → sandboxed WebAssembly plugins → Prometheus metrics")]
pub struct Cli {
    /// Config file (default: $HOOKMETER_CONFIG, else $XDG_CONFIG_HOME/hookmeter/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// State directory (default: $HOOKMETER_STATE_DIR, else $XDG_STATE_HOME/hookmeter).
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process one hook event from stdin (what Claude Code runs).
    Run(run::RunArgs),
    /// Replay a recorded real Claude Code session through the bundled plugins into a local store.
    Demo(demo::DemoArgs),
    /// Print the current totals in Prometheus text format.
    Metrics(inspect::MetricsArgs),
    /// List the loaded plugins, their subscriptions and metric families.
    Plugins(inspect::PluginsArgs),
    /// Add hookmeter to Claude Code's settings (user scope unless told otherwise).
    Install(install::InstallArgs),
    /// Remove what `hookmeter install` added to Claude Code's settings.
    Uninstall(install::UninstallArgs),
    /// Check the settings entries, the hook binary, the store, the plugins and the Pushgateway.
    Doctor(doctor::DoctorArgs),
    /// Push the totals to the Pushgateway now and report the outcome.
    Flush(push::FlushArgs),
    /// Show the push target, the last push and what is pending.
    Status(push::StatusArgs),
    /// Today and the last 7 days from the local store: reps, sets, sessions and prompts.
    Stats(stats::StatsArgs),
    /// Run a plugin's case files under the same sandbox and checks as `run`.
    Test(test::TestArgs),
    /// Create a Rust crate for a new plugin, with working code and tests.
    NewPlugin(new_plugin::NewPluginArgs),
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    // `hookmeter run` is what Claude Code starts on every hook event, and building clap's
    // parser for every command is ~4 % of such a run: that exact command line skips it.
    let mut args = std::env::args_os().skip(1);
    let cli = if args.next().is_some_and(|a| a == "run") && args.next().is_none() {
        Cli { config: None, state_dir: None, command: Command::Run(run::RunArgs {}) }
    } else {
        Cli::parse()
    };
    let config = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hookmeter: {e}");
            return 1;
        }
    };
    match cli.command {
        Command::Run(args) => run::run(&config, args),
        Command::Demo(args) => report(demo::demo(args)),
        Command::Metrics(args) => report(inspect::metrics(&config, args)),
        Command::Plugins(args) => report(inspect::plugins(&config, args)),
        Command::Install(args) => {
            let hook_args = install::hook_args(cli.config.as_deref(), cli.state_dir.as_deref());
            report(install::install(&config, hook_args, args))
        }
        Command::Uninstall(args) => report(install::uninstall(args)),
        Command::Doctor(args) => report(doctor::doctor(&config, args)),
        Command::Flush(args) => push::flush(&config, args),
        Command::Status(args) => push::status(&config, args),
        Command::Stats(args) => report(stats::stats(&config, args)),
        Command::Test(args) => test::test(&config, args),
        Command::NewPlugin(args) => report(new_plugin::new_plugin(args)),
    }
}

fn load_config(cli: &Cli) -> Result<Config, crate::config::ConfigError> {
    let mut config = match &cli.config {
        Some(path) => {
            // The same overrides as for the default config file: a background flush started
            // by this run finds its config through the same variables.
            let mut c = Config::from_file(path)?;
            c.apply_env();
            c
        }
        None => Config::load()?,
    };
    if let Some(dir) = &cli.state_dir {
        config.state_dir = Some(dir.clone());
    }
    let level = crate::log::Level::parse(&config.log_level).unwrap_or(crate::log::Level::Info);
    crate::log::configure(level, false);
    Ok(config)
}

/// Print an error with its causes and turn it into an exit code.
fn report(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hookmeter: {e:#}");
            1
        }
    }
}
