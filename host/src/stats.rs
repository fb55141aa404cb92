//! `hookmeter stats`: what the bundled plugins measured today and over the last 7 days, from
//! the local store, for a terminal or a script. For users without the monitoring stack.
//!
//! Everything here is pure: [`Report::build`] turns the store's daily rows (see
//! [`crate::store::DailyRow`]) and its snapshot into numbers, [`render_text`] and
//! [`Report::to_json`] present them. Days are local days ([`crate::localtime`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::localtime::{Day, LocalTime};
use crate::metrics::Labels;
use crate::store::{DailyRow, Snapshot};

/// Days in the longer period, today included.
pub const WEEK_DAYS: i64 = 7;

/// The bundled plugins' families the report reads.
const REPS: &str = "exercise_reps_total";
const SETS_DONE: &str = "exercise_sessions_total";
const SETS_SUGGESTED: &str = "exercise_prompts_total";
const LAST_REPS: &str = "exercise_last_session_reps";
const LAST_TIME: &str = "exercise_last_session_timestamp_seconds";
const SESSIONS: &str = "claude_project_session_total";
const PROMPTS: &str = "claude_project_prompts_total";

/// Bar length without a terminal to measure (piped output, `COLUMNS` unset).
pub const DEFAULT_BAR_COLUMNS: usize = 40;

/// One period's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from: Day,
    pub to: Day,
    /// Reps by exercise, most first.
    pub reps: Vec<(String, f64)>,
    pub sets: Sets,
    /// Most sessions first.
    pub projects: Vec<ProjectRow>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sets {
    /// Sets done, however they came about (`exercise_sessions_total`).
    pub done: f64,
    /// Of those, the ones done for a suggestion (mode `quick` or `break`).
    pub done_when_suggested: f64,
    /// Sets suggested (`exercise_prompts_total`).
    pub suggested: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    pub project: String,
    pub branch: String,
    pub sessions: f64,
    pub prompts: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LastSet {
    pub exercise: String,
    pub reps: f64,
    pub at_ms: u64,
    pub at: LocalTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub now: LocalTime,
    pub now_ms: u64,
    /// The first day the store has daily numbers for; `None`: none at all.
    pub history_since: Option<Day>,
    pub today: Period,
    pub week: Period,
    /// Total reps on each day of the week, oldest first.
    pub reps_per_day: Vec<(Day, f64)>,
    pub last_set: Option<LastSet>,
    /// Reps and sets since the store began, from the running totals.
    pub all_time: AllTime,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllTime {
    pub reps: f64,
    pub sets: f64,
}

impl Report {
    /// `rows` may hold any days; those outside the last [`WEEK_DAYS`] days are ignored.
    /// `snapshot` gives the last set (a gauge, so not in the daily rows); `local` converts
    /// its time.
    pub fn build(
        now_ms: u64,
        now: LocalTime,
        rows: &[DailyRow],
        history_since: Option<Day>,
        snapshot: Option<&Snapshot>,
        local: impl Fn(u64) -> LocalTime,
    ) -> Report {
        let today = now.day;
        let week_from = today.minus(WEEK_DAYS - 1);
        let reps_per_day = (0..WEEK_DAYS)
            .map(|i| {
                let day = week_from.minus(-i);
                (
                    day,
                    rows.iter()
                        .filter(|r| r.day == day && r.family == REPS)
                        .map(|r| r.value)
                        .sum(),
                )
            })
            .collect();
        Report {
            now,
            now_ms,
            history_since,
            today: Period::build(today, today, rows),
            week: Period::build(week_from, today, rows),
            reps_per_day,
            last_set: snapshot.and_then(|s| last_set(s, local)),
            all_time: snapshot.map(all_time).unwrap_or_default(),
        }
    }

    /// Nothing recorded yet: no daily numbers and no last set.
    pub fn is_empty(&self) -> bool {
        self.history_since.is_none() && self.last_set.is_none()
    }

    pub fn to_json(&self) -> Value {
        let mut week = self.week.to_json();
        week["reps_per_day"] = self
            .reps_per_day
            .iter()
            .map(|(day, reps)| json!({"day": day.to_string(), "reps": num(*reps)}))
            .collect();
        json!({
            "has_data": !self.is_empty(),
            "generated_at": self.now.rfc3339(),
            "utc_offset": self.now.offset_text(),
            "history_since": self.history_since.map(|d| d.to_string()),
            "today": self.today.to_json(),
            "last_7_days": week,
            "all_time": {"reps": num(self.all_time.reps), "sets": num(self.all_time.sets)},
            "last_set": self.last_set.as_ref().map(|s| json!({
                "exercise": s.exercise,
                "reps": num(s.reps),
                "timestamp_ms": s.at_ms,
                "time": s.at.rfc3339(),
            })),
        })
    }
}

impl Period {
    fn build(from: Day, to: Day, rows: &[DailyRow]) -> Period {
        let rows: Vec<&DailyRow> = rows
            .iter()
            .filter(|r| r.day >= from && r.day <= to)
            .collect();
        let mut reps: BTreeMap<String, f64> = BTreeMap::new();
        let mut sets = Sets::default();
        let mut projects: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
        for r in rows {
            match r.family.as_str() {
                REPS => *reps.entry(label(&r.labels, "exercise")).or_default() += r.value,
                SETS_DONE => {
                    sets.done += r.value;
                    if matches!(label(&r.labels, "mode").as_str(), "quick" | "break") {
                        sets.done_when_suggested += r.value;
                    }
                }
                SETS_SUGGESTED => sets.suggested += r.value,
                SESSIONS => projects.entry(project_key(&r.labels)).or_default().0 += r.value,
                PROMPTS => projects.entry(project_key(&r.labels)).or_default().1 += r.value,
                _ => {}
            }
        }
        let mut reps: Vec<(String, f64)> = reps.into_iter().filter(|(_, n)| *n > 0.0).collect();
        reps.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut projects: Vec<ProjectRow> = projects
            .into_iter()
            .map(|((project, branch), (sessions, prompts))| ProjectRow {
                project,
                branch,
                sessions,
                prompts,
            })
            .collect();
        projects.sort_by(|a, b| {
            b.sessions
                .total_cmp(&a.sessions)
                .then(b.prompts.total_cmp(&a.prompts))
                .then_with(|| (&a.project, &a.branch).cmp(&(&b.project, &b.branch)))
        });
        Period {
            from,
            to,
            reps,
            sets,
            projects,
        }
    }

    pub fn total_reps(&self) -> f64 {
        self.reps.iter().map(|(_, n)| n).sum()
    }

    fn to_json(&self) -> Value {
        json!({
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "reps": self.reps.iter().map(|(e, n)| (e.clone(), num(*n))).collect::<serde_json::Map<_, _>>(),
            "reps_total": num(self.total_reps()),
            "sets": {
                "done": num(self.sets.done),
                "done_when_suggested": num(self.sets.done_when_suggested),
                "suggested": num(self.sets.suggested),
            },
            "projects": self.projects.iter().map(|p| json!({
                "project": p.project,
                "branch": p.branch,
                "sessions": num(p.sessions),
                "prompts": num(p.prompts),
            })).collect::<Vec<_>>(),
        })
    }
}

fn label(labels: &Labels, name: &str) -> String {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn project_key(labels: &Labels) -> (String, String) {
    (label(labels, "project"), label(labels, "branch"))
}

/// The most recent set of any exercise, from the plugin's last-set gauges.
fn last_set(snapshot: &Snapshot, local: impl Fn(u64) -> LocalTime) -> Option<LastSet> {
    let series = |name: &str| {
        snapshot
            .families
            .iter()
            .find(|f| f.family.name == name)
            .map(|f| f.series.as_slice())
            .unwrap_or(&[])
    };
    let latest = series(LAST_TIME)
        .iter()
        .filter(|s| s.value.is_finite() && s.value > 0.0)
        .max_by(|a, b| a.value.total_cmp(&b.value))?;
    let exercise = label(&latest.labels, "exercise");
    let reps = series(LAST_REPS)
        .iter()
        .find(|s| label(&s.labels, "exercise") == exercise)
        .map(|s| s.value)?;
    let at_ms = (latest.value * 1000.0) as u64;
    Some(LastSet {
        exercise,
        reps,
        at_ms,
        at: local(at_ms),
    })
}

fn all_time(snapshot: &Snapshot) -> AllTime {
    let total = |name: &str| -> f64 {
        snapshot
            .families
            .iter()
            .filter(|f| f.family.name == name)
            .flat_map(|f| &f.series)
            .map(|s| s.value)
            .sum()
    };
    AllTime {
        reps: total(REPS),
        sets: total(SETS_DONE),
    }
}

/// A whole number as a JSON integer (counts are whole), anything else as it is.
fn num(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// `35`, `2.5`.
fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

fn plural(n: f64, one: &str, many: &str) -> String {
    format!("{} {}", fmt_num(n), if n == 1.0 { one } else { many })
}

/// A bar of `value / max` of `width` cells in Unicode eighth blocks, padded to `width`; any
/// value above zero shows at least a sliver.
pub fn bar(value: f64, max: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if width == 0 {
        return String::new();
    }
    let eighths = if max > 0.0 && value > 0.0 {
        ((value / max).min(1.0) * width as f64 * 8.0)
            .round()
            .max(1.0) as usize
    } else {
        0
    };
    let mut s = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(PARTS[eighths % 8]);
    }
    let cells = s.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(cells)));
    s
}

/// Cut `s` to `max` characters, marking the cut.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

const NAME_MAX: usize = 24;

/// The report for a terminal. `columns` is the terminal's width, if known: bars then fill
/// what the labels and numbers leave (between 10 and 60 cells); otherwise they are
/// [`DEFAULT_BAR_COLUMNS`] long.
pub fn render_text(report: &Report, columns: Option<usize>) -> String {
    let mut out = String::new();
    let now = &report.now;
    let _ = writeln!(
        out,
        "hookmeter stats · {} {} {:02}:{:02} (UTC{})",
        now.day.weekday_name(),
        now.day,
        now.hour,
        now.minute,
        now.offset_text()
    );
    if report.is_empty() {
        out.push_str(
            "\nNo data yet. hookmeter records once Claude Code runs it as a hook (`hookmeter install`,\n\
             then `hookmeter doctor` to check). Log a set by sending the prompt `+10 squats`.\n",
        );
        return out;
    }
    let bar_width = |label_w: usize, num_w: usize| match columns {
        // indent (4) + label + 2 + bar + 2 + number
        Some(c) => c.saturating_sub(4 + label_w + 2 + 2 + num_w).clamp(10, 60),
        None => DEFAULT_BAR_COLUMNS,
    };

    let _ = writeln!(out, "\nToday");
    period_text(&mut out, &report.today, &bar_width);

    let week = &report.week;
    let _ = writeln!(
        out,
        "\nLast {WEEK_DAYS} days · {} {} – {} {}",
        week.from.weekday_name(),
        week.from,
        week.to.weekday_name(),
        week.to
    );
    period_text(&mut out, week, &bar_width);
    if report.reps_per_day.iter().any(|(_, n)| *n > 0.0) {
        let _ = writeln!(out, "  Reps per day");
        let max = report
            .reps_per_day
            .iter()
            .map(|(_, n)| *n)
            .fold(0.0, f64::max);
        let num_w = report
            .reps_per_day
            .iter()
            .map(|(_, n)| fmt_num(*n).len())
            .max()
            .unwrap_or(1);
        let label_w = "Mon 11-30".len();
        let width = bar_width(label_w, num_w);
        for (day, n) in &report.reps_per_day {
            let (_, m, d) = day.ymd();
            let name = format!("{} {m:02}-{d:02}", day.weekday_name());
            let _ = writeln!(
                out,
                "    {name:<label_w$}  {}  {:>num_w$}",
                bar(*n, max, width),
                fmt_num(*n)
            );
        }
    }

    let _ = writeln!(out);
    match &report.last_set {
        Some(s) => {
            let when = if s.at.day == now.day {
                format!("today {:02}:{:02}", s.at.hour, s.at.minute)
            } else if s.at.day == now.day.minus(1) {
                format!("yesterday {:02}:{:02}", s.at.hour, s.at.minute)
            } else {
                format!(
                    "{} {} {:02}:{:02}",
                    s.at.day.weekday_name(),
                    s.at.day,
                    s.at.hour,
                    s.at.minute
                )
            };
            let _ = writeln!(
                out,
                "Last set  {} {} · {when} ({})",
                fmt_num(s.reps),
                s.exercise,
                ago(report.now_ms.saturating_sub(s.at_ms))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Last set  none yet (send the prompt `+10 squats` to log one)"
            );
        }
    }
    if report.all_time.reps > 0.0 {
        let _ = writeln!(
            out,
            "All time  {} in {}",
            plural(report.all_time.reps, "rep", "reps"),
            plural(report.all_time.sets, "set", "sets")
        );
    }
    // A store from before the daily table has totals that no day accounts for.
    let untracked = report.all_time.reps > week.total_reps();
    match report.history_since {
        Some(since) if since > week.from && untracked => {
            let _ = writeln!(
                out,
                "Day-by-day numbers start {since}; earlier sets count in the all-time totals only."
            );
        }
        None => {
            let _ = writeln!(out, "Day-by-day numbers start with the next hook event.");
        }
        _ => {}
    }
    out
}

fn period_text(out: &mut String, p: &Period, bar_width: &dyn Fn(usize, usize) -> usize) {
    if p.reps.is_empty() {
        let _ = writeln!(out, "  Reps      none");
    } else {
        let _ = writeln!(
            out,
            "  Reps by exercise ({} in all)",
            fmt_num(p.total_reps())
        );
        let label_w = p
            .reps
            .iter()
            .map(|(e, _)| fit(e, NAME_MAX).chars().count())
            .max()
            .unwrap_or(0);
        let num_w = p
            .reps
            .iter()
            .map(|(_, n)| fmt_num(*n).len())
            .max()
            .unwrap_or(1);
        let max = p.reps.first().map(|(_, n)| *n).unwrap_or(0.0);
        let width = bar_width(label_w, num_w);
        for (exercise, n) in &p.reps {
            let name = fit(exercise, NAME_MAX);
            let pad = label_w - name.chars().count();
            let _ = writeln!(
                out,
                "    {name}{}  {}  {:>num_w$}",
                " ".repeat(pad),
                bar(*n, max, width),
                fmt_num(*n)
            );
        }
    }
    let s = &p.sets;
    let mut line = format!(
        "  Sets      {} done, {} suggested",
        fmt_num(s.done),
        fmt_num(s.suggested)
    );
    if s.suggested > 0.0 {
        let _ = write!(
            line,
            " · {} done when suggested ({:.0}%)",
            fmt_num(s.done_when_suggested),
            (s.done_when_suggested / s.suggested * 100.0).min(999.0)
        );
    }
    let _ = writeln!(out, "{line}");
    if p.projects.is_empty() {
        let _ = writeln!(out, "  Projects  no Claude Code sessions or prompts");
        return;
    }
    let _ = writeln!(out, "  Sessions and prompts by project and branch");
    let pw = p
        .projects
        .iter()
        .map(|r| fit(&r.project, NAME_MAX).chars().count())
        .max()
        .unwrap_or(0)
        .max("project".len());
    let bw = p
        .projects
        .iter()
        .map(|r| fit(&r.branch, NAME_MAX).chars().count())
        .max()
        .unwrap_or(0)
        .max("branch".len());
    let _ = writeln!(
        out,
        "    {:<pw$}  {:<bw$}  sessions  prompts",
        "project", "branch"
    );
    for r in &p.projects {
        let (project, branch) = (fit(&r.project, NAME_MAX), fit(&r.branch, NAME_MAX));
        let _ = writeln!(
            out,
            "    {project}{}  {branch}{}  {:>8}  {:>7}",
            " ".repeat(pw - project.chars().count()),
            " ".repeat(bw - branch.chars().count()),
            fmt_num(r.sessions),
            fmt_num(r.prompts)
        );
    }
}

fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localtime::utc_time;
    use crate::metrics::{Family, Kind};
    use crate::store::{FamilySnapshot, Series};

    fn row(day: Day, family: &str, labels: &[(&str, &str)], value: f64) -> DailyRow {
        let mut labels: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        labels.sort();
        DailyRow {
            day,
            family: family.into(),
            labels,
            value,
        }
    }

    fn gauge_family(name: &str, series: &[(&str, f64)]) -> FamilySnapshot {
        FamilySnapshot {
            plugin: "exercise".into(),
            family: Family {
                name: name.into(),
                help: String::new(),
                kind: Kind::Gauge,
                label_names: vec!["exercise".into()],
                buckets: vec![],
            },
            series: series
                .iter()
                .map(|(e, v)| Series {
                    labels: vec![("exercise".into(), (*e).into())],
                    value: *v,
                    count: 0,
                    buckets: vec![],
                    updated_ms: 0,
                })
                .collect(),
        }
    }

    const NOW_MS: u64 = 1_795_641_710_893; // Wed 2026-11-25 21:21:50 UTC

    fn sample() -> Report {
        let today = Day::from_ymd(2026, 11, 25);
        let rows = vec![
            row(
                today,
                REPS,
                &[("exercise", "squats"), ("mode", "manual")],
                30.0,
            ),
            row(
                today,
                REPS,
                &[("exercise", "squats"), ("mode", "quick")],
                5.0,
            ),
            row(
                today,
                REPS,
                &[("exercise", "pushups"), ("mode", "break")],
                10.0,
            ),
            row(
                today,
                SETS_DONE,
                &[("exercise", "squats"), ("mode", "manual")],
                2.0,
            ),
            row(
                today,
                SETS_DONE,
                &[("exercise", "squats"), ("mode", "quick")],
                1.0,
            ),
            row(
                today,
                SETS_DONE,
                &[("exercise", "pushups"), ("mode", "break")],
                1.0,
            ),
            row(
                today,
                SETS_SUGGESTED,
                &[("exercise", "squats"), ("mode", "quick")],
                4.0,
            ),
            row(
                today,
                SESSIONS,
                &[("project", "hookmeter"), ("branch", "main")],
                2.0,
            ),
            row(
                today,
                PROMPTS,
                &[("project", "hookmeter"), ("branch", "main")],
                14.0,
            ),
            row(
                today,
                PROMPTS,
                &[("project", "web"), ("branch", "feature/login")],
                3.0,
            ),
            row(
                today.minus(1),
                REPS,
                &[("exercise", "lunges"), ("mode", "manual")],
                20.0,
            ),
            row(
                today.minus(6),
                REPS,
                &[("exercise", "squats"), ("mode", "manual")],
                7.0,
            ),
            row(
                today.minus(6),
                SESSIONS,
                &[("project", "web"), ("branch", "feature/login")],
                1.0,
            ),
            // Outside the week: ignored.
            row(
                today.minus(7),
                REPS,
                &[("exercise", "squats"), ("mode", "manual")],
                1000.0,
            ),
            row(
                today.minus(7),
                SESSIONS,
                &[("project", "old"), ("branch", "main")],
                9.0,
            ),
            // Not a family the report reads.
            row(today, "hookmeter_events_total", &[("event", "Stop")], 50.0),
        ];
        let snapshot = Snapshot {
            generation: 1,
            families: vec![
                gauge_family(LAST_REPS, &[("squats", 10.0), ("pushups", 12.0)]),
                gauge_family(
                    LAST_TIME,
                    &[("squats", 1_795_636_980.0), ("pushups", 1_795_600_000.0)],
                ),
                FamilySnapshot {
                    family: Family {
                        name: REPS.into(),
                        kind: Kind::Counter,
                        ..gauge_family(REPS, &[]).family
                    },
                    ..gauge_family(REPS, &[("squats", 1200.0), ("pushups", 34.0)])
                },
                FamilySnapshot {
                    family: Family {
                        name: SETS_DONE.into(),
                        kind: Kind::Counter,
                        ..gauge_family(SETS_DONE, &[]).family
                    },
                    ..gauge_family(SETS_DONE, &[("squats", 98.0)])
                },
            ],
        };
        Report::build(
            NOW_MS,
            utc_time(NOW_MS),
            &rows,
            Some(today.minus(8)),
            Some(&snapshot),
            utc_time,
        )
    }

    #[test]
    fn periods_add_up_the_right_days() {
        let r = sample();
        assert_eq!(
            r.today.reps,
            [("squats".to_owned(), 35.0), ("pushups".to_owned(), 10.0)]
        );
        assert_eq!(
            r.today.sets,
            Sets {
                done: 4.0,
                done_when_suggested: 2.0,
                suggested: 4.0
            }
        );
        assert_eq!(
            r.today.projects,
            [
                ProjectRow {
                    project: "hookmeter".into(),
                    branch: "main".into(),
                    sessions: 2.0,
                    prompts: 14.0
                },
                ProjectRow {
                    project: "web".into(),
                    branch: "feature/login".into(),
                    sessions: 0.0,
                    prompts: 3.0
                },
            ]
        );
        assert_eq!(r.week.from, Day::from_ymd(2026, 11, 19));
        assert_eq!(
            r.week.reps,
            [
                ("squats".to_owned(), 42.0),
                ("lunges".to_owned(), 20.0),
                ("pushups".to_owned(), 10.0)
            ]
        );
        assert_eq!(
            r.week
                .projects
                .iter()
                .map(|p| (p.project.as_str(), p.sessions))
                .collect::<Vec<_>>(),
            [("hookmeter", 2.0), ("web", 1.0)]
        );
        assert_eq!(
            r.reps_per_day.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [7.0, 0.0, 0.0, 0.0, 0.0, 20.0, 45.0]
        );
        let last = r.last_set.as_ref().unwrap();
        assert_eq!(
            (
                last.exercise.as_str(),
                last.reps,
                last.at.rfc3339().as_str()
            ),
            ("squats", 10.0, "2026-11-25T20:03:00+00:00")
        );
        assert!(!r.is_empty());

        let j = r.to_json();
        assert_eq!(j["today"]["reps"], json!({"squats": 35, "pushups": 10}));
        assert_eq!(j["last_7_days"]["reps_total"], 72);
        assert_eq!(
            j["last_7_days"]["reps_per_day"][6],
            json!({"day": "2026-11-25", "reps": 45})
        );
        assert_eq!(
            j["today"]["sets"],
            json!({"done": 4, "done_when_suggested": 2, "suggested": 4})
        );
        assert_eq!(j["last_set"]["time"], "2026-11-25T20:03:00+00:00");
        assert_eq!(j["history_since"], "2026-11-17");
        assert_eq!(j["all_time"], json!({"reps": 1234, "sets": 98}));
    }

    #[test]
    fn text_shows_bars_scaled_to_the_width() {
        let r = sample();
        let text = render_text(&r, None);
        let squats = text
            .lines()
            .find(|l| l.trim_start().starts_with("squats"))
            .unwrap();
        assert!(squats.contains(&"█".repeat(DEFAULT_BAR_COLUMNS)), "{text}");
        let pushups = text
            .lines()
            .find(|l| l.trim_start().starts_with("pushups"))
            .unwrap();
        // 10 of 35 → 40 × 10/35 = 11.43 cells: 11 full and a 3/8 block.
        assert!(
            pushups.contains(&format!("{}▍ ", "█".repeat(11))),
            "{pushups}"
        );
        assert!(
            text.contains("Sets      4 done, 4 suggested · 2 done when suggested (50%)"),
            "{text}"
        );
        assert!(
            text.contains("Last set  10 squats · today 20:03 (1 h ago)"),
            "{text}"
        );
        assert!(text.contains("All time  1234 reps in 98 sets"), "{text}");
        assert!(
            !text.contains("Day-by-day"),
            "the history covers the week: {text}"
        );
        // A store upgraded yesterday: its totals hold more than the days it has.
        let upgraded = Report {
            history_since: Some(r.now.day.minus(1)),
            ..r.clone()
        };
        assert!(render_text(&upgraded, None).contains(
            "Day-by-day numbers start 2026-11-24; earlier sets count in the all-time totals only."
        ));
        assert!(
            text.contains("    hookmeter  main                  2       14\n"),
            "{text}"
        );
        // In a terminal 50 columns wide, the bar lines fill it exactly; in a very wide one,
        // bars stop at 60 cells.
        let narrow = render_text(&r, Some(50));
        let bar_lines: Vec<&str> = narrow.lines().filter(|l| l.contains('█')).collect();
        assert_eq!(bar_lines.len(), 2 + 3 + 3, "{narrow}");
        assert!(
            bar_lines.iter().all(|l| l.chars().count() == 50),
            "{narrow}"
        );
        let wide = render_text(&r, Some(300));
        assert!(
            wide.contains(&"█".repeat(60)) && !wide.contains(&"█".repeat(61)),
            "{wide}"
        );
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0.0, 10.0, 4), "    ");
        assert_eq!(bar(10.0, 10.0, 4), "████");
        assert_eq!(bar(5.0, 10.0, 4), "██  ");
        assert_eq!(bar(0.01, 10.0, 4), "▏   ", "a tiny value still shows");
        assert_eq!(bar(1.0, 0.0, 3), "   ");
    }

    #[test]
    fn an_empty_store_says_so() {
        let r = Report::build(NOW_MS, utc_time(NOW_MS), &[], None, None, utc_time);
        assert!(r.is_empty());
        let text = render_text(&r, Some(80));
        assert!(text.contains("No data yet"), "{text}");
        let j = r.to_json();
        assert_eq!(j["has_data"], false);
        assert_eq!(j["today"]["reps_total"], 0);
        assert_eq!(j["last_set"], Value::Null);
    }
}
