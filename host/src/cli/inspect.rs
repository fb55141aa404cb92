//! `hookmeter metrics` and `hookmeter plugins`: look at the store and the plugins.

use std::collections::HashSet;

use crate::config::Config;
use crate::exposition;
use crate::hook::HOST_PLUGIN;
use crate::plugin::Runtime;
use crate::store::Store;

#[derive(clap::Args)]
pub struct MetricsArgs {
    /// Also show gauges of plugins that are no longer loaded.
    #[arg(long)]
    all: bool,
}

#[derive(clap::Args)]
pub struct PluginsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The names of the loaded plugins plus the host's own.
pub fn live_plugins(config: &Config) -> anyhow::Result<HashSet<String>> {
    let runtime = Runtime::new(config.state_dir()?.join("cache"), config.limits.clone())?;
    let (plugins, _) = runtime.load_all(config);
    let mut live: HashSet<String> = plugins.into_iter().map(|p| p.name).collect();
    live.insert(HOST_PLUGIN.into());
    Ok(live)
}

pub fn metrics(config: &Config, args: MetricsArgs) -> anyhow::Result<()> {
    let state_dir = config.state_dir()?;
    let mut store = Store::open(&state_dir)?;
    let snapshot = store.snapshot()?;
    let live = if args.all { None } else { Some(live_plugins(config)?) };
    print!("{}", exposition::render(&snapshot, live.as_ref()));
    Ok(())
}

pub fn plugins(config: &Config, args: PluginsArgs) -> anyhow::Result<()> {
    let state_dir = config.state_dir()?;
    let runtime = Runtime::new(state_dir.join("cache"), config.limits.clone())?;
    let (plugins, failures) = runtime.load_all(config);
    if args.json {
        let list: Vec<_> = plugins
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "source": match &p.source {
                        crate::plugin::Source::Bundled(_) => "bundled".to_string(),
                        crate::plugin::Source::File(path) => path.display().to_string(),
                    },
                    "sha256": p.sha256,
                    "manifest": p.manifest,
                })
            })
            .collect();
        let failed: Vec<_> = failures
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "reason": f.error.reason, "error": f.error.message}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"plugins": list, "failed": failed}))?);
    } else {
        for p in &plugins {
            let source = match &p.source {
                crate::plugin::Source::Bundled(_) => "bundled".to_string(),
                crate::plugin::Source::File(path) => path.display().to_string(),
            };
            println!("{} {} ({source})", p.name, p.manifest.version);
            for s in &p.manifest.subscriptions {
                match &s.tool_matcher {
                    Some(m) => println!("  on {} [{m}]", s.event),
                    None => println!("  on {}", s.event),
                }
            }
            let (_, rejected) = p.manifest.checked_families();
            for f in &p.manifest.families {
                println!("  {} {} {{{}}}", f.kind.as_str(), f.name, f.label_names.join(","));
            }
            for r in rejected {
                println!("  invalid: {r}");
            }
        }
        for f in &failures {
            println!("{} FAILED TO LOAD ({}): {}", f.name, f.error.reason, f.error.message);
        }
    }
    anyhow::ensure!(failures.is_empty(), "{} plugin(s) failed to load", failures.len());
    Ok(())
}
