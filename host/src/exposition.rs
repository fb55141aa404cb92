//! Prometheus text exposition format 0.0.4, exactly as Pushgateway 1.5 parses it: HELP escapes
//! `\` and newline only, label values escape `\`, `"` and newline, counters are typed under
//! their `_total` name, histograms expand to `_bucket`/`_sum`/`_count`.

use std::collections::HashSet;
use std::fmt::Write;

use crate::metrics::Kind;
use crate::store::{FamilySnapshot, Snapshot};

/// Render `snapshot`. With `live_plugins`, gauges of plugins that are no longer loaded are
/// left out (their last value would otherwise be reported forever); counters always stay, so
/// a total never appears to reset.
pub fn render(snapshot: &Snapshot, live_plugins: Option<&HashSet<String>>) -> String {
    let mut out = String::new();
    for fam in &snapshot.families {
        if fam.series.is_empty() {
            continue;
        }
        let gone = live_plugins.is_some_and(|live| !live.contains(&fam.plugin));
        if gone && fam.family.kind != Kind::Counter {
            continue;
        }
        render_family(&mut out, fam);
    }
    out
}

fn render_family(out: &mut String, fam: &FamilySnapshot) {
    let f = &fam.family;
    let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
    let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
    for s in &fam.series {
        match f.kind {
            Kind::Counter | Kind::Gauge => {
                let _ = writeln!(out, "{}{} {}", f.name, labels(&s.labels, None), value(s.value));
            }
            Kind::Histogram => {
                for (bound, n) in f.buckets.iter().zip(s.buckets.iter().chain(std::iter::repeat(&0))) {
                    let le = value(*bound);
                    let _ = writeln!(out, "{}_bucket{} {n}", f.name, labels(&s.labels, Some(&le)));
                }
                let _ = writeln!(out, "{}_bucket{} {}", f.name, labels(&s.labels, Some("+Inf")), s.count);
                let _ = writeln!(out, "{}_sum{} {}", f.name, labels(&s.labels, None), value(s.value));
                let _ = writeln!(out, "{}_count{} {}", f.name, labels(&s.labels, None), s.count);
            }
        }
    }
}

fn labels(pairs: &[(String, String)], le: Option<&str>) -> String {
    if pairs.is_empty() && le.is_none() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{k}=\"{}\"", escape_label_value(v));
    }
    if let Some(le) = le {
        if !pairs.is_empty() {
            s.push(',');
        }
        let _ = write!(s, "le=\"{le}\"");
    }
    s.push('}');
    s
}

/// A float as Prometheus writes it: integers without a fraction, `+Inf`/`-Inf`/`NaN`.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

pub fn escape_label_value(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

pub fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Family;
    use crate::store::Series;

    fn series(labels: &[(&str, &str)], value: f64) -> Series {
        Series {
            labels: labels.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            value,
            count: 0,
            buckets: vec![],
            updated_ms: 0,
        }
    }

    #[test]
    fn escapes_and_types() {
        let snap = Snapshot {
            generation: 1,
            families: vec![FamilySnapshot {
                plugin: "p".into(),
                family: Family {
                    name: "x_total".into(),
                    help: "a \\ b\nc \"q\"".into(),
                    kind: Kind::Counter,
                    label_names: vec!["l".into()],
                    buckets: vec![],
                },
                series: vec![series(&[("l", "a\"b\\c\nd")], 3.0), series(&[("l", "")], 0.5)],
            }],
        };
        assert_eq!(
            render(&snap, None),
            "# HELP x_total a \\\\ b\\nc \"q\"\n# TYPE x_total counter\nx_total{l=\"a\\\"b\\\\c\\nd\"} 3\nx_total{l=\"\"} 0.5\n"
        );
    }

    #[test]
    fn histograms_and_gone_gauges() {
        let mut h = series(&[], 7.5);
        h.count = 3;
        h.buckets = vec![1, 2];
        let snap = Snapshot {
            generation: 1,
            families: vec![
                FamilySnapshot {
                    plugin: "p".into(),
                    family: Family { name: "d_seconds".into(), help: "h".into(), kind: Kind::Histogram, label_names: vec![], buckets: vec![1.0, 2.5] },
                    series: vec![h],
                },
                FamilySnapshot {
                    plugin: "gone".into(),
                    family: Family { name: "g".into(), help: "h".into(), kind: Kind::Gauge, label_names: vec![], buckets: vec![] },
                    series: vec![series(&[], 1.0)],
                },
            ],
        };
        let live: HashSet<String> = ["p".to_string()].into();
        let text = render(&snap, Some(&live));
        assert!(text.contains("d_seconds_bucket{le=\"1\"} 1\nd_seconds_bucket{le=\"2.5\"} 2\nd_seconds_bucket{le=\"+Inf\"} 3\nd_seconds_sum 7.5\nd_seconds_count 3\n"), "{text}");
        assert!(!text.contains("\ng "), "{text}");
        assert!(render(&snap, None).contains("\ng 1\n"));
    }
}
