//! `hookmeter test PLUGIN.wasm CASES...`: run a plugin's case files under the same sandbox,
//! limits and validation as `hookmeter run`, and say which pass. See `hookmeter::harness`.

use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::harness::{CaseReport, Harness, Options, Report, bless, case};

#[derive(clap::Args)]
pub struct TestArgs {
    /// The plugin component to test (a .wasm file).
    #[arg(value_name = "PLUGIN.wasm")]
    plugin: PathBuf,
    /// Case files, or directories searched recursively for *.toml.
    #[arg(value_name = "CASES", required = true)]
    cases: Vec<PathBuf>,
    /// Rewrite each case's [step.expect] from what the plugin actually did (comments and
    /// everything else in the file are kept). Review the changes before committing them.
    #[arg(long)]
    bless: bool,
    /// Run the plugin under this [plugins.NAME] name (default: the name in its manifest).
    #[arg(long, value_name = "NAME")]
    plugin_name: Option<String>,
    /// Also print the plugin's log lines and output (what `hookmeter run` writes to
    /// hookmeter.log) on stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// Returns the exit code: 0 when every case passed (or was blessed), 1 otherwise.
pub fn test(config: &Config, args: TestArgs) -> i32 {
    if args.verbose {
        crate::log::configure(crate::log::Level::Debug, true);
    }
    // The compile cache of `hookmeter run` (keyed by the component's hash), so testing a
    // large component twice compiles it once. Without a state dir, a temporary cache.
    let cache_dir = config.state_dir().ok().map(|d| d.join("cache"));
    let options = Options {
        plugin_name: args.plugin_name.clone(),
        limits: config.limits.clone(),
        cache_dir,
    };
    let mut harness = match Harness::open(&args.plugin, options) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("hookmeter test: {e}");
            return 1;
        }
    };
    let files = match case::collect(&args.cases) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("hookmeter test: {e}");
            return 1;
        }
    };
    let mut report = Report::default();
    let mut out = std::io::stdout().lock();
    for path in files {
        let case_report = match case::load(&path) {
            Ok(case) => harness.run_case(&case),
            Err(e) => CaseReport {
                path,
                error: Some(e),
                ..Default::default()
            },
        };
        let _ = out.write_all(case_report.render().as_bytes());
        let _ = out.flush();
        report.cases.push(case_report);
    }
    let mut bless_failed = false;
    if args.bless {
        for case in &report.cases {
            match bless::bless(case) {
                Ok(bless::Blessed::Rewritten) => {
                    let _ = writeln!(out, "blessed {}", case.path.display());
                }
                Ok(bless::Blessed::Unchanged) => {}
                Err(e) => {
                    bless_failed = true;
                    let _ = writeln!(out, "not blessed: {e}");
                }
            }
        }
    }
    let _ = writeln!(out, "{}", report.summary());
    let ok = if args.bless {
        !bless_failed
    } else {
        report.is_ok()
    };
    if ok { 0 } else { 1 }
}
