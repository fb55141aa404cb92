//! The compile cache: components hookmeter compiled itself, stored as `.cwasm` beside an index
//! entry (`.json`) that holds the plugin's manifest and the exact size, inode and mtime the
//! `.cwasm` had when hookmeter wrote it.
//!
//! `Component::deserialize_file` trusts its input completely (it maps machine code), so a file
//! is loaded only when its index entry, written by hookmeter after the `.cwasm`, still matches
//! it. A file replaced, truncated or touched since fails that check and is rebuilt. A file from
//! another engine or hookmeter build has another name (the key includes the engine's
//! compatibility hash), and wasmtime's own header check rejects it anyway.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::manifest::Manifest;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Fingerprint {
    len: u64,
    ino: u64,
    mtime_ns: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    fingerprint: Fingerprint,
    manifest: Manifest,
}

pub struct Cache {
    dir: PathBuf,
    engine_key: String,
}

impl Cache {
    pub fn new(dir: PathBuf, engine: &Engine) -> Cache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        Cache { dir, engine_key: format!("{:016x}", hasher.finish()) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, sha256: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{sha256}-{}", self.engine_key);
        (self.dir.join(format!("{stem}.cwasm")), self.dir.join(format!("{stem}.json")))
    }

    /// The cached manifest for a plugin, if its artifact is present and untouched.
    pub fn manifest(&self, sha256: &str) -> Option<Manifest> {
        let (cwasm, index) = self.paths(sha256);
        let entry: IndexEntry = serde_json::from_slice(&std::fs::read(index).ok()?).ok()?;
        (fingerprint(&cwasm).ok()? == entry.fingerprint).then_some(entry.manifest)
    }

    /// Load the compiled component, if its artifact is present and untouched.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let (cwasm, index) = self.paths(sha256);
        let entry: IndexEntry = serde_json::from_slice(&std::fs::read(index).ok()?).ok()?;
        if fingerprint(&cwasm).ok()? != entry.fingerprint {
            return None;
        }
        // SAFETY: the file is one hookmeter itself serialised with an engine of the same
        // compatibility hash, in a directory only this user can write, and it is unchanged
        // since (size, inode and mtime match what was recorded right after writing it).
        unsafe { Component::deserialize_file(engine, &cwasm) }.ok()
    }

    /// Store a freshly compiled component and its manifest. Both files are written to temp
    /// files and renamed into place, so a concurrent reader sees the old state or the new.
    pub fn store(&self, sha256: &str, component: &Component, manifest: &Manifest) -> std::io::Result<()> {
        crate::store::create_private_dir(&self.dir).map_err(std::io::Error::other)?;
        let (cwasm, index) = self.paths(sha256);
        let bytes = component.serialize().map_err(|e| std::io::Error::other(e.to_string()))?;
        write_atomic(&self.dir, &cwasm, &bytes)?;
        let entry = IndexEntry { fingerprint: fingerprint(&cwasm)?, manifest: manifest.clone() };
        write_atomic(&self.dir, &index, &serde_json::to_vec(&entry).map_err(std::io::Error::other)?)
    }
}

fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    let meta = std::fs::metadata(path)?;
    Ok(Fingerprint {
        len: meta.len(),
        ino: meta.ino(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
    })
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
