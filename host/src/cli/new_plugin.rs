//! `hookmeter new-plugin NAME`: write a standalone Rust crate for a new plugin, from the
//! template in `templates/plugin/`. It builds with plain `cargo build --target wasm32-wasip2
//! --release` and passes its own `cargo test`.
//!
//! The SDK and the harness are not on crates.io, so the crate depends on them by path, in a
//! checkout of hookmeter's source: the one the new crate sits in, else the one `--sdk` names,
//! else the one this hookmeter was built from (if it is still there).

use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};

#[derive(clap::Args)]
pub struct NewPluginArgs {
    /// The plugin's name: lowercase letters, digits and '-', starting with a letter.
    name: String,
    /// Where to create the crate (default: ./NAME). Must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The SDK directory (plugins/sdk) in a checkout of hookmeter's source, when the new crate
    /// is not inside one.
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

/// The template: (path in the new crate, text). `{{…}}` placeholders are filled in by
/// [`render`].
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../templates/plugin/Cargo.toml.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../../templates/plugin/gitignore.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../../templates/plugin/README.md.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/plugin/src/lib.rs.tmpl"),
    ),
    (
        "tests/cases.rs",
        include_str!("../../../templates/plugin/tests/cases.rs.tmpl"),
    ),
    (
        "tests/cases/counts_prompts.toml",
        include_str!("../../../templates/plugin/tests/cases/counts_prompts.toml.tmpl"),
    ),
    (
        "tests/cases/reminder.toml",
        include_str!("../../../templates/plugin/tests/cases/reminder.toml.tmpl"),
    ),
    (
        "tests/cases/session_end.toml",
        include_str!("../../../templates/plugin/tests/cases/session_end.toml.tmpl"),
    ),
    (
        "tests/cases/bad_config.toml",
        include_str!("../../../templates/plugin/tests/cases/bad_config.toml.tmpl"),
    ),
];

pub fn new_plugin(args: NewPluginArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} already exists and is not empty: choose another --dir",
            dir.display()
        );
    }
    let absolute =
        std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let (source, how) = find_source(&absolute, args.sdk.as_deref())?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;

    // Inside the checkout, relative paths keep the crate working wherever the checkout goes.
    let dep_path = |target: PathBuf| -> String {
        let path = if dir.starts_with(&source) {
            relative(&dir, &target)
        } else {
            target
        };
        toml_string(&path.to_string_lossy())
    };
    let vars = Vars {
        name: args.name.clone(),
        sdk_path: dep_path(source.join("plugins/sdk")),
        hookmeter_path: dep_path(source.join("host")),
    };
    for (path, text) in TEMPLATE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, render(text, &vars))
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    // Start from the versions hookmeter itself is built and tested with; cargo drops what
    // this crate does not use.
    let lock = source.join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
    }

    let shown = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    println!(
        "created plugin {} in {} (hookmeter source: {}, {how})",
        args.name,
        shown.display(),
        source.display()
    );
    println!();
    println!("  cd {}", shown.display());
    println!("  cargo build --target wasm32-wasip2 --release");
    println!(
        "  hookmeter test target/wasm32-wasip2/release/{}.wasm tests/cases",
        vars.artifact()
    );
    println!("  cargo test");
    Ok(())
}

/// The values the template's placeholders stand for.
struct Vars {
    name: String,
    /// TOML string literals, quotes included.
    sdk_path: String,
    hookmeter_path: String,
}

impl Vars {
    /// The file stem cargo gives the component: the crate name with `_` for `-`.
    fn artifact(&self) -> String {
        self.name.replace('-', "_")
    }

    /// A Rust type name: `my-plugin` → `MyPlugin`.
    fn type_name(&self) -> String {
        self.name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }
}

fn render(text: &str, vars: &Vars) -> String {
    text.replace("{{name}}", &vars.name)
        .replace("{{artifact}}", &vars.artifact())
        .replace("{{metric_prefix}}", &vars.artifact())
        .replace("{{type_name}}", &vars.type_name())
        .replace("{{sdk_path}}", &vars.sdk_path)
        .replace("{{hookmeter_path}}", &vars.hookmeter_path)
}

/// The name becomes the crate name, the manifest name and the metric prefix, so it must suit
/// all three.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.len() <= 64;
    if !valid {
        bail!(
            "plugin name {name:?}: use lowercase letters, digits and single '-', starting with a letter, e.g. my-plugin"
        );
    }
    if name.starts_with("hookmeter") {
        bail!(
            "plugin name {name:?}: metric names starting with hookmeter_ are reserved for hookmeter itself"
        );
    }
    Ok(())
}

/// A hookmeter source checkout: the directory holding `wit/plugin.wit`, `plugins/sdk` and
/// `host`.
fn is_source(dir: &Path) -> bool {
    dir.join("wit/plugin.wit").is_file()
        && dir.join("plugins/sdk/Cargo.toml").is_file()
        && dir.join("host/Cargo.toml").is_file()
}

/// The checkout to depend on (canonical), and how it was found. `dir` is the new crate's
/// absolute path; it need not exist yet.
fn find_source(dir: &Path, sdk: Option<&Path>) -> anyhow::Result<(PathBuf, &'static str)> {
    if let Some(sdk) = sdk {
        let sdk = sdk
            .canonicalize()
            .with_context(|| format!("--sdk {}: no such directory", sdk.display()))?;
        let source = sdk
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if !sdk.join("Cargo.toml").is_file()
            || !is_source(&source)
            || source.join("plugins/sdk") != sdk
        {
            bail!(
                "--sdk {}: expected the plugins/sdk directory of a checkout of hookmeter's source \
                 (beside wit/plugin.wit and host/)",
                sdk.display()
            );
        }
        return Ok((source, "from --sdk"));
    }
    let canonical = |d: &Path| d.canonicalize().unwrap_or_else(|_| d.to_path_buf());
    if let Some(source) = dir.ancestors().skip(1).find(|d| is_source(d)) {
        return Ok((canonical(source), "the checkout the new crate is in"));
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(canonical);
    if let Some(source) = built_from.filter(|s| is_source(s)) {
        return Ok((
            source,
            "the checkout this hookmeter was built from; pass --sdk to choose another",
        ));
    }
    bail!(
        "cannot find hookmeter's source, which the new crate depends on (the SDK is not on crates.io): \
         pass --sdk PATH/TO/hookmeter/plugins/sdk from a clone of hookmeter's repository"
    )
}

/// `to` relative to `from` (both absolute, canonical).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("my-plugin").is_ok());
        assert!(check_name("p2").is_ok());
        for bad in ["", "My", "-a", "a-", "a--b", "a_b", "2a", "hookmeter-x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        let vars = Vars {
            name: "my-plugin".into(),
            sdk_path: "\"../sdk\"".into(),
            hookmeter_path: "\"../host\"".into(),
        };
        assert_eq!(vars.type_name(), "MyPlugin");
        for (path, text) in TEMPLATE {
            let out = render(text, &vars);
            assert!(
                !out.contains("{{") && !out.contains("}}"),
                "{path} keeps a placeholder"
            );
        }
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/r/examples/p"), Path::new("/r/plugins/sdk")),
            PathBuf::from("../../plugins/sdk")
        );
        assert_eq!(
            relative(Path::new("/r/p"), Path::new("/r/host")),
            PathBuf::from("../host")
        );
    }
}
