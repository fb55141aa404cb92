//! Configuration: TOML at `$HOOKMETER_CONFIG` or `$XDG_CONFIG_HOME/hookmeter/config.toml`.
//! Every key has a default, so no file is needed; the usual settings also come from the
//! environment (`PUSHGATEWAY_URL`, `HOOKMETER_STATE_DIR`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "no state directory: set HOOKMETER_STATE_DIR, XDG_STATE_HOME or HOME (or `state_dir` in the config file)"
    )]
    NoStateDir,
}

/// The whole configuration, defaults filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the store, compile cache and log live.
    pub state_dir: Option<PathBuf>,
    /// Minimum level of log lines written to `hookmeter.log`: error, warn, info, debug.
    pub log_level: String,
    pub limits: Limits,
    pub push: PushConfig,
    /// `[plugins.NAME]` tables: settings for bundled plugins, or `path = "..."` for more.
    pub plugins: BTreeMap<String, toml::Table>,
    /// Where this config came from (not a key).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: None,
            log_level: "info".into(),
            limits: Limits::default(),
            push: PushConfig::default(),
            plugins: BTreeMap::new(),
            source: None,
        }
    }
}

/// What one plugin call may use. The defaults suit plugins that count things.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock budget for instantiating and calling a plugin, in milliseconds.
    pub timeout_ms: u64,
    /// Linear memory a plugin may grow to, in MiB.
    pub memory_mib: u64,
    /// Metric updates one call may return.
    pub max_updates: usize,
    /// Series one plugin may own in the store.
    pub max_series: usize,
    /// Bytes of one label value.
    pub max_label_value_bytes: usize,
    /// Bytes a plugin may write to stdout and stderr (each), kept for the log.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 250,
            memory_mib: 64,
            max_updates: 10_000,
            max_series: 10_000,
            max_label_value_bytes: 1024,
            max_output_bytes: 64 * 1024,
        }
    }
}

/// `[push]`: where and how the totals go to a Pushgateway.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Pushgateway base URL; `PUSHGATEWAY_URL` overrides it. No URL: no pushing.
    pub url: Option<String>,
    pub job: String,
    /// Defaults to the host name.
    pub instance: Option<String>,
    /// Extra grouping labels.
    pub grouping: BTreeMap<String, String>,
    /// Push at most this often while events arrive (Stop and SessionEnd push at once).
    pub interval_seconds: u64,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Sent as `Authorization: Bearer ...`; `PUSHGATEWAY_BEARER_TOKEN` overrides it.
    pub bearer_token: Option<String>,
    /// A PEM file of extra CA certificates for an https gateway.
    pub ca_file: Option<PathBuf>,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            url: None,
            job: "hookmeter".into(),
            instance: None,
            grouping: BTreeMap::new(),
            interval_seconds: 15,
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            username: None,
            password: None,
            bearer_token: None,
            ca_file: None,
        }
    }
}

// Secrets stay out of `{:?}` so they cannot reach a log line by accident.
impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("url", &self.url.as_deref().map(crate::push::redact_url))
            .field("job", &self.job)
            .field("instance", &self.instance)
            .field("grouping", &self.grouping)
            .field("interval_seconds", &self.interval_seconds)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Keys of a `[plugins.NAME]` table that hookmeter reads itself; the rest go to the plugin.
pub const PLUGIN_HOST_KEYS: &[&str] = &["path", "enabled"];

impl Config {
    /// Load from `$HOOKMETER_CONFIG`, else `$XDG_CONFIG_HOME/hookmeter/config.toml` (or
    /// `~/.config/...`) if it exists, else defaults; then apply environment overrides.
    pub fn load() -> Result<Config, ConfigError> {
        let explicit = std::env::var_os("HOOKMETER_CONFIG").map(PathBuf::from);
        let path = explicit.clone().or_else(default_config_path);
        let mut config = match path {
            Some(p) if explicit.is_some() || p.exists() => Config::from_file(&p)?,
            _ => Config::default(),
        };
        config.apply_env();
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.source = Some(path.to_owned());
        config.validate()?;
        // Relative plugin paths are relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        for table in config.plugins.values_mut() {
            if let Some(toml::Value::String(p)) = table.get("path") {
                let resolved = base.join(p).to_string_lossy().into_owned();
                table.insert("path".into(), toml::Value::String(resolved));
            }
        }
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            message,
        };
        for (name, table) in &self.plugins {
            if let Some(path) = table.get("path") {
                if !path.is_str() {
                    return Err(invalid(format!("[plugins.{name}] path must be a string")));
                }
            }
            if let Some(enabled) = table.get("enabled") {
                if !enabled.is_bool() {
                    return Err(invalid(format!("[plugins.{name}] enabled must be true or false")));
                }
            }
        }
        if self.limits.timeout_ms == 0 || self.limits.memory_mib == 0 {
            return Err(invalid("[limits] timeout_ms and memory_mib must be > 0".into()));
        }
        Ok(())
    }

    /// Apply the environment overrides (`HOOKMETER_STATE_DIR`, `PUSHGATEWAY_URL`, ...).
    pub fn apply_env(&mut self) {
        if let Some(dir) = non_empty_env("HOOKMETER_STATE_DIR") {
            self.state_dir = Some(PathBuf::from(dir));
        }
        if let Some(url) = non_empty_env("PUSHGATEWAY_URL") {
            self.push.url = Some(url);
        }
        if let Some(token) = non_empty_env("PUSHGATEWAY_BEARER_TOKEN") {
            self.push.bearer_token = Some(token);
        }
        if let Some(instance) = non_empty_env("HOOKMETER_INSTANCE") {
            self.push.instance = Some(instance);
        }
    }

    /// The state directory: config/env, else `$XDG_STATE_HOME/hookmeter`, else
    /// `~/.local/state/hookmeter`.
    pub fn state_dir(&self) -> Result<PathBuf, ConfigError> {
        if let Some(dir) = &self.state_dir {
            return Ok(dir.clone());
        }
        if let Some(xdg) = non_empty_env("XDG_STATE_HOME") {
            return Ok(PathBuf::from(xdg).join("hookmeter"));
        }
        non_empty_env("HOME")
            .map(|home| PathBuf::from(home).join(".local/state/hookmeter"))
            .ok_or(ConfigError::NoStateDir)
    }

    /// Is the `[plugins.NAME]` table present and not `enabled = false`?
    pub fn plugin_enabled(&self, name: &str) -> bool {
        self.plugins
            .get(name)
            .and_then(|t| t.get("enabled"))
            .and_then(toml::Value::as_bool)
            .unwrap_or(true)
    }

    /// The plugin's own settings as a JSON object (what `host.config()` returns).
    pub fn plugin_config_json(&self, name: &str) -> String {
        let mut table = self.plugins.get(name).cloned().unwrap_or_default();
        for key in PLUGIN_HOST_KEYS {
            table.remove(*key);
        }
        serde_json::to_string(&table).unwrap_or_else(|_| "{}".into())
    }
}

pub fn default_config_path() -> Option<PathBuf> {
    non_empty_env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("hookmeter/config.toml"))
}

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.limits.timeout_ms, 250);
        assert_eq!(c.push.job, "hookmeter");
        assert!(c.plugin_enabled("exercise"));
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = toml::from_str::<Config>("[limits]\ntimeout = 3").unwrap_err().to_string();
        assert!(err.contains("timeout"), "{err}");
    }

    #[test]
    fn plugin_tables_pass_their_own_keys_only() {
        let c: Config =
            toml::from_str("[plugins.exercise]\nenabled = true\ncooldown_minutes = 5\n").unwrap();
        assert_eq!(c.plugin_config_json("exercise"), r#"{"cooldown_minutes":5}"#);
        assert_eq!(c.plugin_config_json("none"), "{}");
    }

    #[test]
    fn debug_hides_secrets() {
        let mut c = PushConfig::default();
        c.url = Some("https://user:hunter2@gw.example/".into());
        c.password = Some("hunter2".into());
        c.bearer_token = Some("tok-secret".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("tok-secret"), "{shown}");
    }
}
