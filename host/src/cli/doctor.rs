//! `hookmeter doctor`: is hookmeter wired up and healthy? One ✓ or ✗ line per check, each ✗
//! followed by what to do about it; exit 1 if anything is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::install::Scope;
use crate::config::Config;
use crate::install::{self, Entry, Registration};
use crate::plugin::Runtime;
use crate::store::{DB_FILE, Store};

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Also check this settings file (besides the user, project and local ones).
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
}

/// Collects the lines and counts the problems.
#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn section(&self, title: &str) {
        println!("{title}");
    }
    fn ok(&self, what: impl std::fmt::Display) {
        println!("  ✓ {what}");
    }
    fn info(&self, what: impl std::fmt::Display) {
        println!("  · {what}");
    }
    fn bad(&mut self, what: impl std::fmt::Display, fix: impl std::fmt::Display) {
        self.problems += 1;
        println!("  ✗ {what}\n      fix: {fix}");
    }
}

pub fn doctor(config: &Config, args: DoctorArgs) -> anyhow::Result<()> {
    let mut report = Report::default();
    let state_dir = config.state_dir()?;
    println!(
        "hookmeter {} — config: {}, state: {}",
        env!("CARGO_PKG_VERSION"),
        config
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "defaults (no file)".into()),
        state_dir.display()
    );

    report.section("Plugins");
    let runtime = Runtime::new(state_dir.join("cache"), config.limits.clone())?;
    let (plugins, failures) = runtime.load_all(config);
    for p in &plugins {
        let source = match &p.source {
            crate::plugin::Source::Bundled(_) => "bundled".to_owned(),
            crate::plugin::Source::File(path) => path.display().to_string(),
        };
        let (families, rejected) = p.manifest.checked_families();
        let line = format!(
            "{} {} ({source}): {} subscriptions, {} metric families",
            p.name,
            p.manifest.version,
            p.manifest.subscriptions.len(),
            families.len()
        );
        if rejected.is_empty() {
            report.ok(line);
        } else {
            report.bad(
                format!("{line}; rejected: {}", rejected.join("; ")),
                format!("fix the plugin's describe(), or disable it with `enabled = false` in [plugins.{}]", p.name),
            );
        }
    }
    for f in &failures {
        let config_file = config
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the config file".into());
        report.bad(
            format!(
                "{} failed to load ({}): {}",
                f.name, f.error.reason, f.error.message
            ),
            format!(
                "fix [plugins.{}] in {config_file}, or set `enabled = false` there",
                f.name
            ),
        );
    }
    let wanted = install::registrations(plugins.iter().map(|p| &p.manifest));

    report.section("Claude Code settings");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for scope in Scope::ALL {
        if let Ok(path) = scope.path() {
            files.push((scope.name().to_owned(), path));
        }
    }
    if let Some(p) = &args.settings {
        files.push(("--settings".to_owned(), p.clone()));
    }
    files.dedup_by(|a, b| same_file(&a.1, &b.1));
    let mut with_hookmeter: Vec<(String, PathBuf, Vec<Entry>)> = Vec::new();
    for (scope, path) in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                report.info(format!("{scope}: {} does not exist", path.display()));
                continue;
            }
            Err(e) => {
                report.bad(
                    format!("{scope}: cannot read {}: {e}", path.display()),
                    "fix the file's permissions",
                );
                continue;
            }
        };
        let settings = match install::parse(&text) {
            Ok(s) => s,
            Err(e) => {
                let at = match &e {
                    install::SettingsError::Json { line, column, .. } => {
                        format!(":{line}:{column}")
                    }
                    _ => String::new(),
                };
                report.bad(
                    format!("{scope}: {}{at}: {e}", path.display()),
                    "fix the file by hand: Claude Code cannot read it either",
                );
                continue;
            }
        };
        let entries = install::entries(&settings);
        if entries.is_empty() {
            report.info(format!(
                "{scope}: {} has no hookmeter entries",
                path.display()
            ));
        } else {
            check_entries(&mut report, &scope, &path, &entries, &wanted);
            with_hookmeter.push((scope, path, entries));
        }
    }
    match with_hookmeter.len() {
        0 => report.bad(
            "hookmeter is not in any Claude Code settings file: Claude Code never runs it",
            "run `hookmeter install` (or `--scope project|local`, `--settings FILE`)",
        ),
        1 => {}
        _ => {
            let names: Vec<String> = with_hookmeter
                .iter()
                .map(|(_, p, _)| p.display().to_string())
                .collect();
            report.bad(
                format!("hookmeter runs from {} settings files ({}): every event is counted more than once", names.len(), names.join(", ")),
                format!("keep one: `hookmeter uninstall --scope {}` for the others", with_hookmeter[1].0),
            );
        }
    }

    report.section("Hook binary");
    let mut programs: Vec<String> = with_hookmeter
        .iter()
        .flat_map(|(_, _, entries)| entries.iter().filter_map(|e| e.program.clone()))
        .collect();
    programs.sort();
    programs.dedup();
    if programs.is_empty() {
        report.info("no hook entries name a binary");
    }
    for program in programs {
        check_binary(&mut report, &program);
    }

    report.section("Store");
    check_store(&mut report, &state_dir);

    report.section("Pushgateway");
    match config.push.url.as_deref() {
        None => report.info("not configured: metrics stay in the local store (set PUSHGATEWAY_URL or [push] url to push)"),
        Some(url) => check_gateway(&mut report, config, url),
    }

    if report.problems == 0 {
        println!("All good.");
        Ok(())
    } else {
        anyhow::bail!(
            "{} problem(s) found; see the ✗ lines above",
            report.problems
        )
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The entries of one settings file against what the plugins want.
fn check_entries(
    report: &mut Report,
    scope: &str,
    path: &Path,
    entries: &[Entry],
    wanted: &[Registration],
) {
    let fix = match scope {
        "--settings" => format!("run `hookmeter install --settings {}`", path.display()),
        s => format!("run `hookmeter install --scope {s}`"),
    };
    let mut by_event: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_event.entry(e.event.as_str()).or_default().push(e);
    }
    let sync = entries.iter().filter(|e| !e.is_async).count();
    report.ok(format!(
        "{scope}: {} has hookmeter on {} events ({} async, {sync} sync): {}",
        path.display(),
        by_event.len(),
        entries.len() - sync,
        by_event.keys().copied().collect::<Vec<_>>().join(", ")
    ));
    let mut problems = Vec::new();
    for (event, found) in &by_event {
        if found.len() > 1 {
            problems.push(format!(
                "{event}: {} hookmeter entries, so each event is counted {} times",
                found.len(),
                found.len()
            ));
        }
        let e = found[0];
        match wanted.iter().find(|w| w.event == *event) {
            None => problems.push(format!(
                "{event}: no enabled plugin subscribes to it (a wasted process per event)"
            )),
            Some(w) => {
                if e.is_async && !w.is_async {
                    problems.push(format!("{event}: runs async, so the answers of the plugins that answer it are ignored"));
                }
                if !e.is_async && w.is_async {
                    problems.push(format!("{event}: runs synchronously although no plugin answers it: Claude Code waits for it"));
                }
                if e.matcher != w.matcher {
                    problems.push(format!(
                        "{event}: matcher {} but the plugins want {}",
                        e.matcher.as_deref().unwrap_or("(all)"),
                        w.matcher.as_deref().unwrap_or("(all)")
                    ));
                }
            }
        }
    }
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !by_event.contains_key(w.event.as_str()))
        .map(|w| w.event.as_str())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "missing events the plugins subscribe to: {}",
            missing.join(", ")
        ));
    }
    for p in problems {
        report.bad(format!("{scope}: {p}"), &fix);
    }
}

/// The binary a hook entry names: there, executable, and this version.
fn check_binary(report: &mut Report, program: &str) {
    let resolved = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        find_in_path(program)
    };
    let Some(path) = resolved.filter(|p| p.exists()) else {
        report.bad(
            format!("{program} does not exist"),
            "run `hookmeter install` again from the binary you want Claude Code to use",
        );
        return;
    };
    if !is_executable(&path) {
        report.bad(
            format!("{} is not executable", path.display()),
            format!("chmod +x {}", path.display()),
        );
        return;
    }
    let me = env!("CARGO_PKG_VERSION");
    match version_of(&path) {
        Ok(v) if v == format!("hookmeter {me}") => {
            let current = std::env::current_exe()
                .ok()
                .and_then(|c| c.canonicalize().ok());
            let note = if current.as_deref() == path.canonicalize().ok().as_deref() {
                ""
            } else {
                " (another copy than this one)"
            };
            report.ok(format!("{}: {v}{note}", path.display()));
        }
        Ok(v) => report.bad(
            format!("{} is {v:?}, this doctor is hookmeter {me}", path.display()),
            "run `hookmeter install` with the binary you want Claude Code to use",
        ),
        Err(e) => report.bad(
            format!("{} does not run: {e}", path.display()),
            "reinstall hookmeter, then `hookmeter install`",
        ),
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `PROGRAM --version`'s first line, waiting at most 5 s for it.
fn version_of(path: &Path) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => {
                let out = child.wait_with_output().map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!("`--version` exited with {status}"));
                }
                return Ok(String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned());
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("`--version` did not finish within 5 s".into());
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn check_store(report: &mut Report, state_dir: &Path) {
    let db = state_dir.join(DB_FILE);
    if !db.exists() {
        report.info(format!(
            "no store yet at {}: the first hook run creates it",
            db.display()
        ));
        return;
    }
    let fix_store = format!(
        "move {} aside (hookmeter starts a new one; the Pushgateway keeps the last pushed totals)",
        db.display()
    );
    let mut store = match Store::open(state_dir) {
        Ok(s) => s,
        Err(e) => {
            report.bad(format!("cannot open the store: {e}"), fix_store);
            return;
        }
    };
    match store.integrity_check() {
        Ok(r) if r == "ok" => {}
        Ok(r) => {
            report.bad(
                format!("{}: integrity check failed: {r}", db.display()),
                fix_store,
            );
            return;
        }
        Err(e) => {
            report.bad(
                format!("{}: integrity check failed: {e}", db.display()),
                fix_store,
            );
            return;
        }
    }
    match store.snapshot() {
        Ok(s) => {
            let series: usize = s.families.iter().map(|f| f.series.len()).sum();
            report.ok(format!(
                "{}: integrity ok, {} metric families, {series} series, generation {}",
                db.display(),
                s.families.len(),
                s.generation
            ));
        }
        Err(e) => report.bad(
            format!("{}: cannot read the series: {e}", db.display()),
            fix_store,
        ),
    }
}

fn check_gateway(report: &mut Report, config: &Config, url: &str) {
    let fix =
        "check PUSHGATEWAY_URL / [push] url, and that the Pushgateway runs (`curl <url>/-/ready`)";
    // The same checks a flush makes (URL form, auth combination, grouping labels).
    let target = match crate::push::Target::from_config(&config.push) {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            report.bad(format!("{}: {e}", crate::push::redact_url(url)), fix);
            return;
        }
    };
    match crate::push::Client::new(&config.push).and_then(|client| client.ready(&target)) {
        Ok(()) => report.ok(format!(
            "{} is ready; pushes go to {}",
            target.gateway(),
            target.describe()
        )),
        Err(e) => report.bad(format!("{}: not ready: {e}", target.gateway()), fix),
    }
}

