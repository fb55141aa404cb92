//! The cumulative store: one SQLite database in the state dir holding every series' running
//! total, the plugins' state and push bookkeeping.
//!
//! Concurrency: Claude Code runs one hook process per event, often several at once. Each run
//! does all its reads and writes in one `BEGIN IMMEDIATE` transaction (WAL mode, busy handler),
//! so runs are serialised at the database and no update is ever lost. Counters are applied as
//! SQL increments of the stored total, never as values computed outside the transaction.
//!
//! The series hold running totals only, which cannot say what happened today. So every
//! counter increment is also added to the `daily` table under the local day it happened
//! (see [`crate::localtime`]), in the same transaction: `hookmeter stats` reads today and the
//! last 7 days from there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::localtime::{self, Day};
use crate::metrics::{Family, Kind, Labels, Op, Update};

pub const DB_FILE: &str = "hookmeter.db";
/// 1: families, series, plugin_state, meta. 2: + daily.
const SCHEMA_VERSION: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create state directory {path}: {source} (set HOOKMETER_STATE_DIR to a writable directory)")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("store {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("store {path} was written by a newer hookmeter (schema {found}, this one knows {SCHEMA_VERSION})")]
    NewerSchema { path: PathBuf, found: i64 },
}

/// The WAL size past which closing the store checkpoints it (see `Drop for Store`). A run
/// writes three to five 4 KiB pages, so this checkpoints about once in fifteen runs.
const WAL_CHECKPOINT_BYTES: u64 = 256 * 1024;

/// How often, across this process, SQLite found the database locked and retried.
pub static BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

/// Sleep a little and retry while another hook process holds the write lock; give up after
/// about 30 s, which only a wedged process could cause.
fn busy_handler(attempt: i32) -> bool {
    BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
    let ms = (1u64 << attempt.clamp(0, 4) as u32).min(10);
    std::thread::sleep(Duration::from_millis(ms));
    attempt < 3_000
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One series as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// Counter/gauge value; a histogram's sum.
    pub value: f64,
    /// A histogram's observation count.
    pub count: u64,
    /// A histogram's cumulative bucket counts, one per declared bound.
    pub buckets: Vec<u64>,
    pub updated_ms: u64,
}

/// What one counter series gained on one local day (the `daily` table).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    pub day: Day,
    pub family: String,
    pub labels: Labels,
    pub value: f64,
}

/// A family and its series, as `hookmeter metrics` prints them and `flush` pushes them.
#[derive(Debug, Clone)]
pub struct FamilySnapshot {
    pub plugin: String,
    pub family: Family,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Bumped by every run that changed a series; lets a flush tell old data from new.
    pub generation: u64,
    pub families: Vec<FamilySnapshot>,
}

impl Store {
    /// Open (creating if needed) the store in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(state_dir)?;
        let path = state_dir.join(DB_FILE);
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_handler(Some(busy_handler)).map_err(err)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path, found: version });
        }
        // NORMAL is durable across application crashes in WAL mode; only a power loss can take
        // back the last commits, and hook metrics do not warrant an fsync per event.
        conn.execute_batch("PRAGMA synchronous = NORMAL;").map_err(err)?;
        // See `Drop`: the WAL is checkpointed when it is long, not by every close.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(err)?;
        if version < SCHEMA_VERSION {
            // Every statement is `IF NOT EXISTS`, so the same script creates a new store and
            // upgrades an older one in place (1 → 2 adds `daily`), keeping its data.
            conn.execute_batch(SCHEMA).map_err(err)?;
        }
        Ok(Store { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Start the run's write transaction. It takes the database's write lock at once, so
    /// everything read inside it stays true until commit.
    pub fn begin(&mut self) -> Result<Txn<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        Ok(Txn { tx, path, series_counts: HashMap::new(), changed: false, day: None })
    }

    /// Every family with its series, in name order.
    pub fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        // A read transaction: the generation and the series come from the same moment.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(err)?;
        let generation = meta_get(&tx, "generation").map_err(err)?.and_then(|g| g.parse().ok()).unwrap_or(0);
        let mut families = Vec::new();
        {
            let mut fams = tx
                .prepare("SELECT name, plugin, kind, help, label_names, buckets FROM families ORDER BY name")
                .map_err(err)?;
            let mut series = tx
                .prepare("SELECT labels, value, count, buckets, updated_ms FROM series WHERE family = ?1 ORDER BY labels")
                .map_err(err)?;
            let rows = fams
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?))
                })
                .map_err(err)?;
            for row in rows {
                let (name, plugin, kind, help, label_names, buckets) = row.map_err(err)?;
                let family = Family {
                    name: name.clone(),
                    help,
                    kind: Kind::parse(&kind).unwrap_or(Kind::Gauge),
                    label_names: serde_json::from_str(&label_names).unwrap_or_default(),
                    buckets: serde_json::from_str(&buckets).unwrap_or_default(),
                };
                let list = series
                    .query_map([&name], |r| {
                        Ok(Series {
                            labels: serde_json::from_str(&r.get::<_, String>(0)?).unwrap_or_default(),
                            value: r.get(1)?,
                            count: r.get::<_, i64>(2)? as u64,
                            buckets: r
                                .get::<_, Option<String>>(3)?
                                .and_then(|b| serde_json::from_str(&b).ok())
                                .unwrap_or_default(),
                            updated_ms: r.get::<_, i64>(4)? as u64,
                        })
                    })
                    .map_err(err)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(err)?;
                families.push(FamilySnapshot { plugin, family, series: list });
            }
        }
        tx.commit().map_err(err)?;
        Ok(Snapshot { generation, families })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta_get(&self.conn, key).map_err(self.err())
    }

    /// Set bookkeeping values (push results) in one transaction.
    pub fn set_meta(&mut self, pairs: &[(&str, &str)]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        for (k, v) in pairs {
            meta_set(&tx, k, v).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// What each counter series gained on each local day from `from` to `to`, both included.
    pub fn daily(&self, from: Day, to: Day) -> Result<Vec<DailyRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT day, family, labels, value FROM daily WHERE day >= ?1 AND day <= ?2 ORDER BY day, family, labels")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![from.to_string(), to.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, f64>(3)?))
            })
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (day, family, labels, value) = row.map_err(self.err())?;
            // Rows this code did not write (a hand edit) are skipped, not fatal.
            let (Some(day), Ok(labels)) = (Day::parse(&day), serde_json::from_str(&labels)) else { continue };
            out.push(DailyRow { day, family, labels, value });
        }
        Ok(out)
    }

    /// The first day the daily table has anything for: where the store's day-by-day history
    /// starts (a store older than the table has totals from before it).
    pub fn first_day(&self) -> Result<Option<Day>, StoreError> {
        let day: Option<String> = self.conn.query_row("SELECT MIN(day) FROM daily", [], |r| r.get(0)).map_err(self.err())?;
        Ok(day.as_deref().and_then(Day::parse))
    }

    /// `PRAGMA integrity_check`: "ok" or SQLite's list of problems.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(self.err())
    }
}

/// Every hook run is a short-lived process. By default the last connection to close
/// checkpoints the WAL into the database (two fsyncs) and deletes it, only for the next run to
/// create it again: a quarter of a run's time. So a close checkpoints only a long WAL, and
/// truncates it: it must stay short all the same, because a process that opens the store
/// while no other has it open rebuilds the WAL index by reading every frame in the WAL.
/// Without waiting: if another process holds the store, a later close does it.
impl Drop for Store {
    fn drop(&mut self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_CHECKPOINT_BYTES) {
            let _ = self.conn.busy_handler(None);
            let _ = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

/// One run's transaction. Dropping it without [`Txn::commit`] rolls everything back.
pub struct Txn<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    series_counts: HashMap<String, usize>,
    changed: bool,
    /// The local day of the run's time, worked out once: (now_ms, `YYYY-MM-DD`).
    day: Option<(u64, String)>,
}

impl Txn<'_> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// All of a plugin's state keys and values.
    pub fn plugin_state(&self, plugin: &str) -> Result<HashMap<String, String>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT key, value FROM plugin_state WHERE plugin = ?1")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([plugin], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn set_plugin_state(&mut self, plugin: &str, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        let result = match value {
            Some(v) => self.tx.execute_cached(
                "INSERT INTO plugin_state (plugin, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
                params![plugin, key, v],
            ),
            None => self.tx.execute_cached("DELETE FROM plugin_state WHERE plugin = ?1 AND key = ?2", params![plugin, key]),
        };
        result.map(drop).map_err(self.err())
    }

    /// Record that `plugin` owns `family`. A family whose kind, labels or buckets changed
    /// starts over: its old series could not be read under the new declaration.
    pub fn register_family(&mut self, plugin: &str, family: &Family) -> Result<(), StoreError> {
        let label_names = serde_json::to_string(&family.label_names).unwrap_or_default();
        let buckets = serde_json::to_string(&family.buckets).unwrap_or_default();
        let existing: Option<(String, String, String, String, String)> = self
            .tx
            .query_row_cached(
                "SELECT plugin, kind, help, label_names, buckets FROM families WHERE name = ?1",
                [&family.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(self.err())?;
        let same_shape = |e: &(String, String, String, String, String)| {
            e.1 == family.kind.as_str() && e.3 == label_names && e.4 == buckets
        };
        match &existing {
            Some(e) if e.0 == plugin && same_shape(e) && e.2 == family.help => return Ok(()),
            Some(e) if !same_shape(e) => {
                self.tx.execute_cached("DELETE FROM series WHERE family = ?1", [&family.name]).map_err(self.err())?;
                self.tx.execute_cached("DELETE FROM daily WHERE family = ?1", [&family.name]).map_err(self.err())?;
                self.series_counts.clear();
                self.changed = true;
            }
            _ => {}
        }
        self.tx
            .execute_cached(
                "INSERT INTO families (name, plugin, kind, help, label_names, buckets) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET plugin = excluded.plugin, kind = excluded.kind,
                   help = excluded.help, label_names = excluded.label_names, buckets = excluded.buckets",
                params![family.name, plugin, family.kind.as_str(), family.help, label_names, buckets],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// How many series `plugin`'s families hold (cached for the rest of the run).
    pub fn series_count(&mut self, plugin: &str) -> Result<usize, StoreError> {
        if let Some(n) = self.series_counts.get(plugin) {
            return Ok(*n);
        }
        let n: i64 = self
            .tx
            .query_row_cached(
                "SELECT COUNT(*) FROM series WHERE family IN (SELECT name FROM families WHERE plugin = ?1)",
                [plugin],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        self.series_counts.insert(plugin.to_owned(), n as usize);
        Ok(n as usize)
    }

    pub fn series_exists(&self, family: &str, labels: &Labels) -> Result<bool, StoreError> {
        let key = labels_key(labels);
        self.tx
            .query_row_cached("SELECT 1 FROM series WHERE family = ?1 AND labels = ?2", params![family, key], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(self.err())
    }

    /// Apply one checked update to the running totals. `family` is the update's declaration.
    pub fn apply(&mut self, plugin: &str, family: &Family, update: &Update, now_ms: u64) -> Result<(), StoreError> {
        let key = labels_key(&update.labels);
        let now = now_ms as i64;
        let new_series = !self.series_exists(&family.name, &update.labels)?;
        let result = match update.op {
            Op::Inc(v) => self.tx.execute_cached(
                "INSERT INTO series (family, labels, value, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (family, labels) DO UPDATE SET value = value + excluded.value, updated_ms = excluded.updated_ms",
                params![family.name, key, v, now],
            ),
            Op::Set(v) => self.tx.execute_cached(
                "INSERT INTO series (family, labels, value, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (family, labels) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
                params![family.name, key, v, now],
            ),
            Op::Observe(v) => self.observe(family, &key, v, now),
        };
        result.map_err(self.err())?;
        if let (Op::Inc(v), Kind::Counter) = (update.op, family.kind) {
            self.add_daily(&family.name, &key, v, now_ms)?;
        }
        if new_series {
            *self.series_counts.entry(plugin.to_owned()).or_insert(0) += 1;
        }
        self.changed = true;
        Ok(())
    }

    /// Add a counter increment to its local day's row. This is the whole cost of the daily
    /// history on the hot path: one upsert per counter update, in the run's transaction (no
    /// extra commit or fsync), plus one `localtime_r` per run.
    fn add_daily(&mut self, family: &str, key: &str, v: f64, now_ms: u64) -> Result<(), StoreError> {
        if self.day.as_ref().is_none_or(|(ms, _)| *ms != now_ms) {
            self.day = Some((now_ms, localtime::local_day(now_ms).to_string()));
        }
        let day = self.day.as_ref().map(|(_, d)| d.as_str()).unwrap_or_default();
        self.tx
            .prepare_cached(
                "INSERT INTO daily (day, family, labels, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (day, family, labels) DO UPDATE SET value = value + excluded.value",
            )
            .and_then(|mut stmt| stmt.execute(params![day, family, key, v]))
            .map(drop)
            .map_err(|source| StoreError::Sqlite { path: self.path.clone(), source })
    }

    fn observe(&self, family: &Family, key: &str, v: f64, now: i64) -> rusqlite::Result<usize> {
        let current: Option<(f64, i64, Option<String>)> = self
            .tx
            .query_row_cached(
                "SELECT value, count, buckets FROM series WHERE family = ?1 AND labels = ?2",
                params![family.name, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (sum, count, buckets) = current.unwrap_or((0.0, 0, None));
        let mut counts: Vec<u64> = buckets.and_then(|b| serde_json::from_str(&b).ok()).unwrap_or_default();
        counts.resize(family.buckets.len(), 0);
        for (bound, n) in family.buckets.iter().zip(counts.iter_mut()) {
            if v <= *bound {
                *n += 1;
            }
        }
        self.tx.execute_cached(
            "INSERT INTO series (family, labels, value, count, buckets, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (family, labels) DO UPDATE SET value = excluded.value, count = excluded.count,
               buckets = excluded.buckets, updated_ms = excluded.updated_ms",
            params![family.name, key, sum + v, count + 1, serde_json::to_string(&counts).unwrap_or_default(), now],
        )
    }

    /// Make the run's changes durable; bumps the generation if any series changed.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        if self.changed {
            self.tx
                .execute_cached(
                    "INSERT INTO meta (key, value) VALUES ('generation', '1')
                     ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                    [],
                )
                .map_err(err)?;
        }
        self.tx.commit().map_err(err)
    }
}

/// Push bookkeeping read and written inside the run's transaction (see `push::claim_due_flush`).
impl Txn<'_> {
    /// Whether this run has changed a series so far (its commit will bump the generation).
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The generation as of the start of this run (before its own bump).
    pub fn generation(&self) -> Result<u64, StoreError> {
        Ok(self.meta("generation")?.and_then(|g| g.parse().ok()).unwrap_or(0))
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta_get(&self.tx, key).map_err(self.err())
    }

    /// Set a bookkeeping value; it does not count as a change of the series.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        meta_set(&self.tx, key, value).map_err(self.err())
    }
}

/// `execute` and `query_row` through the connection's statement cache: a run repeats the same
/// few statements (one per family, update and state key), and parsing SQL is a good part of
/// a hook run's cost.
trait Cached {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// The canonical text of a label set: a JSON array of [name, value] pairs sorted by name.
pub fn labels_key(labels: &Labels) -> String {
    serde_json::to_string(labels).unwrap_or_default()
}

fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row_cached("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(drop)
}

/// Create `dir` (and parents) readable by this user only: it holds plugin state and compiled
/// code that hookmeter will later load.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
-- IMMEDIATE: of two hook runs that open an older store at once, the second waits for the
-- first's upgrade instead of failing on a stale read snapshot.
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS families (
    name TEXT PRIMARY KEY,
    plugin TEXT NOT NULL,
    kind TEXT NOT NULL,
    help TEXT NOT NULL,
    label_names TEXT NOT NULL,
    buckets TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS series (
    family TEXT NOT NULL,
    labels TEXT NOT NULL,
    value REAL NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    buckets TEXT,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (family, labels)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plugin_state (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- Schema 2. What each counter series gained per local day (YYYY-MM-DD, which sorts as text):
-- the running totals above cannot tell today from last week. Rows are never pruned; a busy
-- day adds a few dozen rows of about 100 bytes.
CREATE TABLE IF NOT EXISTS daily (
    day TEXT NOT NULL,
    family TEXT NOT NULL,
    labels TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (day, family, labels)
) WITHOUT ROWID;
PRAGMA user_version = 2;
COMMIT;
";

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(name: &str, labels: &[&str]) -> Family {
        Family { name: name.into(), help: "h".into(), kind: Kind::Counter, label_names: labels.iter().map(|l| (*l).into()).collect(), buckets: vec![] }
    }

    fn update(family: &Family, labels: &[(&str, &str)], op: Op) -> Update {
        let mut labels: Labels = labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        labels.sort();
        Update { family: family.name.clone(), labels, op }
    }

    /// Noon UTC on `day`, so the local day is `day` in every zone from UTC−11 to UTC+11.
    fn noon(day: Day) -> u64 {
        (day.days_since_epoch() * 86_400_000 + 12 * 3_600_000) as u64
    }

    /// Each open–write–close is a hook run. The WAL is kept between runs, and a close that
    /// finds it long checkpoints and truncates it: it never grows past the threshold by more
    /// than one run's pages, and every run's write is in the database.
    #[test]
    fn the_wal_stays_short_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = counter("prompts_total", &["n"]);
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        let (mut largest, mut truncations, mut last) = (0, 0, 0);
        for run in 0..400 {
            let mut store = Store::open(dir.path()).unwrap();
            let mut txn = store.begin().unwrap();
            txn.register_family("p", &prompts).unwrap();
            // A new series each run, so each run writes fresh pages.
            txn.apply("p", &prompts, &update(&prompts, &[("n", &run.to_string())], Op::Inc(1.0)), 0).unwrap();
            txn.commit().unwrap();
            drop(store);
            let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            largest = largest.max(len);
            truncations += usize::from(len < last);
            last = len;
        }
        assert!(largest <= WAL_CHECKPOINT_BYTES + 64 * 1024, "the WAL reached {largest} bytes");
        assert!(truncations > 0, "the WAL was never checkpointed");
        let mut store = Store::open(dir.path()).unwrap();
        let family = &store.snapshot().unwrap().families[0];
        assert_eq!((family.family.name.as_str(), family.series.len()), ("prompts_total", 400));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn counter_increments_are_rolled_up_by_local_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let reps = counter("exercise_reps_total", &["exercise", "mode"]);
        let gauge = Family { name: "g".into(), kind: Kind::Gauge, ..counter("g", &[]) };
        let (d1, d2) = (Day::from_ymd(2026, 11, 24), Day::from_ymd(2026, 11, 25));
        for (day, by) in [(d1, 5.0), (d2, 10.0), (d2, 2.5)] {
            let mut txn = store.begin().unwrap();
            txn.register_family("exercise", &reps).unwrap();
            txn.register_family("exercise", &gauge).unwrap();
            txn.apply("exercise", &reps, &update(&reps, &[("exercise", "squats"), ("mode", "manual")], Op::Inc(by)), noon(day)).unwrap();
            txn.apply("exercise", &gauge, &update(&gauge, &[], Op::Set(7.0)), noon(day)).unwrap();
            txn.commit().unwrap();
        }
        let rows = store.daily(d1, d2).unwrap();
        let labels: Labels = vec![("exercise".into(), "squats".into()), ("mode".into(), "manual".into())];
        assert_eq!(
            rows,
            [
                DailyRow { day: d1, family: reps.name.clone(), labels: labels.clone(), value: 5.0 },
                DailyRow { day: d2, family: reps.name.clone(), labels, value: 12.5 },
            ],
            "gauges are not rolled up"
        );
        assert_eq!(store.daily(d2, d2).unwrap().len(), 1);
        assert_eq!(store.first_day().unwrap(), Some(d1));
        // The running total is unchanged by the rollup.
        let snap = store.snapshot().unwrap();
        let fam = snap.families.iter().find(|f| f.family.name == reps.name).unwrap();
        assert_eq!(fam.series[0].value, 17.5);

        // A family that changes shape starts over, its history too.
        let mut txn = store.begin().unwrap();
        txn.register_family("exercise", &counter("exercise_reps_total", &["exercise"])).unwrap();
        txn.commit().unwrap();
        assert!(store.daily(d1, d2).unwrap().is_empty());
    }

    #[test]
    fn a_schema_1_store_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            // Schema 1 as released: the script above without `daily`.
            let v1 = SCHEMA.split("-- Schema 2.").next().unwrap().to_owned() + "PRAGMA user_version = 1;\nCOMMIT;\n";
            conn.execute_batch(&v1).unwrap();
            conn.execute(
                "INSERT INTO families VALUES ('exercise_reps_total', 'exercise', 'counter', 'h', '[\"exercise\"]', '[]')",
                [],
            )
            .unwrap();
            conn.execute("INSERT INTO series (family, labels, value, updated_ms) VALUES ('exercise_reps_total', '[[\"exercise\",\"squats\"]]', 40, 1)", [])
                .unwrap();
            let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'daily'", [], |r| r.get(0)).unwrap();
            assert_eq!(tables, 0);
        }
        let mut store = Store::open(dir.path()).unwrap();
        let version: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 2);
        assert_eq!(store.first_day().unwrap(), None);
        let snap = store.snapshot().unwrap();
        assert_eq!(snap.families[0].series[0].value, 40.0, "the totals survive the upgrade");
        let reps = counter("exercise_reps_total", &["exercise"]);
        let mut txn = store.begin().unwrap();
        txn.register_family("exercise", &reps).unwrap();
        txn.apply("exercise", &reps, &update(&reps, &[("exercise", "squats")], Op::Inc(5.0)), noon(Day::from_ymd(2026, 1, 2))).unwrap();
        txn.commit().unwrap();
        assert_eq!(store.snapshot().unwrap().families[0].series[0].value, 45.0);
        assert_eq!(store.daily(Day::from_ymd(2026, 1, 2), Day::from_ymd(2026, 1, 2)).unwrap()[0].value, 5.0);
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Connection::open(dir.path().join(DB_FILE)).unwrap().execute_batch("PRAGMA user_version = 3;").unwrap();
        assert!(matches!(Store::open(dir.path()), Err(StoreError::NewerSchema { found: 3, .. })));
    }
}
