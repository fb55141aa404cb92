//! `hookmeter install` / `hookmeter uninstall`: put hookmeter into Claude Code's settings, or
//! take it out. The merging is `crate::install`; this file finds the file, backs it up and
//! writes it so that a crash never leaves half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::Config;
use crate::install::{self, Change, SettingsError};
use crate::plugin::Runtime;

/// Which Claude Code settings file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json): every project.
    User,
    /// .claude/settings.json in this project: shared with everyone who checks it out.
    Project,
    /// .claude/settings.local.json in this project: yours only, not checked in.
    Local,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::User, Scope::Project, Scope::Local];

    pub fn name(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
        }
    }

    /// The settings file of this scope, seen from the current directory.
    pub fn path(self) -> anyhow::Result<PathBuf> {
        match self {
            Scope::User => {
                if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
                    return Ok(PathBuf::from(dir).join("settings.json"));
                }
                let home = std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .context("HOME is not set: pass --settings FILE to name the settings file")?;
                Ok(PathBuf::from(home).join(".claude/settings.json"))
            }
            Scope::Project => Ok(project_root()?.join(".claude/settings.json")),
            Scope::Local => Ok(project_root()?.join(".claude/settings.local.json")),
        }
    }
}

/// The project a project/local scope refers to: the git work tree holding the current
/// directory, else the directory itself.
fn project_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(crate::git::Repo::discover(&cwd)
        .map(|r| r.top_level)
        .unwrap_or(cwd))
}

#[derive(clap::Args)]
pub struct InstallArgs {
    #[command(flatten)]
    target: Target,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Seconds Claude Code waits for a synchronous hook run before cancelling it.
    #[arg(long, value_name = "SECS", default_value_t = install::DEFAULT_TIMEOUT_SECS)]
    timeout: u64,
}

#[derive(clap::Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    target: Target,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
struct Target {
    /// Settings scope: user (~/.claude/settings.json), project (.claude/settings.json) or
    /// local (.claude/settings.local.json).
    #[arg(long, value_enum, default_value_t = Scope::User, conflicts_with = "settings")]
    scope: Scope,
    /// A settings file to change instead of a scope's.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
}

impl Target {
    fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.settings {
            Some(p) => Ok(p.clone()),
            None => self.scope.path(),
        }
    }
}

/// The global options a hook run must repeat to see what `install` saw: only those given
/// on the command line (the environment is Claude Code's to pass on), made absolute.
pub fn hook_args(config: Option<&Path>, state_dir: Option<&Path>) -> Vec<String> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_owned())
            .display()
            .to_string()
    };
    let mut args = Vec::new();
    if let Some(c) = config {
        args.extend(["--config".to_owned(), absolute(c)]);
    }
    if let Some(d) = state_dir {
        args.extend(["--state-dir".to_owned(), absolute(d)]);
    }
    args
}

pub fn install(config: &Config, hook_args: Vec<String>, args: InstallArgs) -> anyhow::Result<()> {
    let path = args.target.path()?;
    let runtime = Runtime::new(config.state_dir()?.join("cache"), config.limits.clone())?;
    let (plugins, failures) = runtime.load_all(config);
    for f in &failures {
        eprintln!(
            "hookmeter: warning: plugin {} failed to load ({}: {}); its events are not registered. \
             Fix it, or set `enabled = false` in its [plugins.{}] table, and install again.",
            f.name, f.error.reason, f.error.message, f.name
        );
    }
    let regs = install::registrations(plugins.iter().map(|p| &p.manifest));
    let binary =
        std::env::current_exe().context("cannot find the path of the running hookmeter binary")?;
    let binary = binary.canonicalize().unwrap_or(binary);
    let command = install::hook_command(&binary.to_string_lossy(), &hook_args);
    let outcome = change_file(&path, args.dry_run, |settings| {
        install::install(settings, &regs, &command, args.timeout)
    })?;
    let others = install::other_events(plugins.iter().map(|p| &p.manifest));
    if !others.is_empty() {
        println!(
            "not registered (not Claude Code hook events; other tools send them): {}",
            others.join(", ")
        );
    }
    if outcome.is_none() {
        println!(
            "{}: hookmeter is already installed for {} events; nothing to change",
            path.display(),
            regs.len()
        );
    }
    if args.target.settings.is_none() && args.target.scope == Scope::Project {
        println!(
            "note: {} is usually checked in, and it now names this machine's hookmeter binary; \
             `--scope local` keeps it to yourself",
            path.display()
        );
    }
    warn_other_scopes(&path);
    Ok(())
}

pub fn uninstall(args: UninstallArgs) -> anyhow::Result<()> {
    let path = args.target.path()?;
    if change_file(&path, args.dry_run, install::uninstall)?.is_none() {
        println!(
            "{}: no hookmeter entries; nothing to change",
            path.display()
        );
    }
    Ok(())
}

/// Apply `edit` to the settings file at `path`. Prints the changes (and the diff for a dry
/// run); returns `None` when there were none. The file is untouched unless it parsed and the
/// edit succeeded; the old version is kept as a backup beside it.
fn change_file(
    path: &Path,
    dry_run: bool,
    edit: impl FnOnce(&mut serde_json::Value) -> Result<Vec<Change>, SettingsError>,
) -> anyhow::Result<Option<Vec<Change>>> {
    // Dotfile managers keep settings.json as a symlink: change the file it points to and
    // keep the link.
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => path.canonicalize().with_context(|| {
            format!(
                "{} is a symlink to a missing file: fix the link or pass --settings FILE",
                path.display()
            )
        })?,
        _ => path.to_owned(),
    };
    let old_text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let invalid = |e: SettingsError| {
        let at = match &e {
            SettingsError::Json { line, column, .. } => format!(":{line}:{column}"),
            _ => String::new(),
        };
        anyhow::anyhow!(
            "{}{at}: {e}. Fix the file by hand; it was left untouched.",
            path.display()
        )
    };
    let mut settings = install::parse(old_text.as_deref().unwrap_or("")).map_err(invalid)?;
    let changes = edit(&mut settings).map_err(invalid)?;
    if changes.is_empty() {
        return Ok(None);
    }
    let new_text = install::render(&settings);
    let mut out = std::io::stdout().lock();
    if dry_run {
        let shown = path.display().to_string();
        let old_name = if old_text.is_some() {
            shown.clone()
        } else {
            "/dev/null".to_owned()
        };
        write!(
            out,
            "{}",
            install::diff(
                old_text.as_deref().unwrap_or(""),
                &new_text,
                &old_name,
                &shown
            )
        )?;
    }
    writeln!(out, "{}:", path.display())?;
    for change in &changes {
        writeln!(out, "  {change}")?;
    }
    if dry_run {
        writeln!(out, "dry run: nothing was written")?;
        return Ok(Some(changes));
    }
    if old_text.is_some() {
        let backup = backup(&path)?;
        writeln!(out, "backup: {}", backup.display())?;
    }
    write_atomically(&path, &new_text)?;
    Ok(Some(changes))
}

/// Copy `path` to `<path>.bak-<UTC time>` (a counter is appended if that exists already).
fn backup(path: &Path) -> anyhow::Result<PathBuf> {
    let stamp = utc_stamp(std::time::SystemTime::now());
    for n in 0..100 {
        let suffix = if n == 0 {
            format!(".bak-{stamp}")
        } else {
            format!(".bak-{stamp}-{n}")
        };
        let mut name = path.as_os_str().to_owned();
        name.push(&suffix);
        let backup = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&backup)
        {
            Ok(_) => {
                // fs::copy keeps the original's permissions: settings may hold tokens in `env`.
                std::fs::copy(path, &backup).with_context(|| {
                    format!("cannot back up {} to {}", path.display(), backup.display())
                })?;
                return Ok(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create the backup {}", backup.display()));
            }
        }
    }
    anyhow::bail!("cannot find a free backup name beside {}", path.display())
}

/// Write through a temporary file in the same directory and rename it over `path`, so
/// Claude Code (which may be reading it right now) sees the old file or the new, never half.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` for a time, without a date library.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::localtime::civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Two settings files that both run hookmeter count every event twice: say so.
fn warn_other_scopes(installed: &Path) {
    let installed = installed
        .canonicalize()
        .unwrap_or_else(|_| installed.to_owned());
    for scope in Scope::ALL {
        let Ok(other) = scope.path() else { continue };
        if other.canonicalize().unwrap_or_else(|_| other.clone()) == installed {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&other) else {
            continue;
        };
        let Ok(settings) = install::parse(&text) else {
            continue;
        };
        if !install::entries(&settings).is_empty() {
            eprintln!(
                "hookmeter: warning: {} runs hookmeter too, so every event would be counted twice; \
                 remove one with `hookmeter uninstall --scope {}`",
                other.display(),
                scope.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_767_225_599), "20251231T235959Z");
    }
}
