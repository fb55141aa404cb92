//! The metric model plugins speak, and the checks every family and update passes before it
//! reaches the store. Whatever a plugin returns, only valid Prometheus series get through.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "counter" => Some(Kind::Counter),
            "gauge" => Some(Kind::Gauge),
            "histogram" => Some(Kind::Histogram),
            _ => None,
        }
    }
}

/// A declared metric family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub label_names: Vec<String>,
    #[serde(default)]
    pub buckets: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Inc(f64),
    Set(f64),
    Observe(f64),
}

/// A checked update: labels in canonical order (sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub family: String,
    pub labels: Labels,
    pub op: Op,
}

/// Label pairs sorted by name; the identity of a series within its family.
pub type Labels = Vec<(String, String)>;

/// Limits that apply to updates (from `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct UpdateLimits {
    pub max_label_value_bytes: usize,
}

/// Prefix reserved for hookmeter's own metrics.
pub const HOST_PREFIX: &str = "hookmeter_";

const MAX_HELP_BYTES: usize = 1024;
const MAX_LABELS: usize = 16;
const MAX_BUCKETS: usize = 64;

pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && name.len() <= 200
}

pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && name.len() <= 100
}

/// Check a family a plugin declares. `Err` says what is wrong with it.
pub fn check_family(family: &Family, allow_host_prefix: bool) -> Result<(), String> {
    let name = &family.name;
    if !valid_metric_name(name) || name.starts_with("__") {
        return Err(format!("family {name:?}: not a valid Prometheus metric name"));
    }
    if !allow_host_prefix && name.starts_with(HOST_PREFIX) {
        return Err(format!("family {name:?}: the prefix {HOST_PREFIX:?} is reserved for hookmeter"));
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if family.kind == Kind::Histogram && name.ends_with(suffix) {
            return Err(format!("family {name:?}: a histogram name must not end in {suffix}"));
        }
    }
    match family.kind {
        Kind::Counter if !name.ends_with("_total") => {
            return Err(format!("family {name:?}: a counter's name must end in _total"));
        }
        Kind::Gauge if name.ends_with("_total") => {
            return Err(format!("family {name:?}: _total is for counters; a gauge must not use it"));
        }
        _ => {}
    }
    if family.help.len() > MAX_HELP_BYTES {
        return Err(format!("family {name:?}: help is longer than {MAX_HELP_BYTES} bytes"));
    }
    if family.label_names.len() > MAX_LABELS {
        return Err(format!("family {name:?}: more than {MAX_LABELS} labels"));
    }
    let mut seen = std::collections::HashSet::new();
    for label in &family.label_names {
        if !valid_label_name(label) {
            return Err(format!("family {name:?}: {label:?} is not a valid label name"));
        }
        if matches!(label.as_str(), "job" | "instance") {
            return Err(format!("family {name:?}: label {label:?} is set by the Pushgateway grouping"));
        }
        if family.kind == Kind::Histogram && label == "le" {
            return Err(format!("family {name:?}: a histogram must not have a label named le"));
        }
        if !seen.insert(label) {
            return Err(format!("family {name:?}: label {label:?} is declared twice"));
        }
    }
    match family.kind {
        Kind::Histogram => {
            if family.buckets.is_empty() || family.buckets.len() > MAX_BUCKETS {
                return Err(format!("family {name:?}: a histogram needs 1 to {MAX_BUCKETS} buckets"));
            }
            if family.buckets.iter().any(|b| !b.is_finite())
                || family.buckets.windows(2).any(|w| w[0] >= w[1])
            {
                return Err(format!("family {name:?}: buckets must be finite and strictly increasing"));
            }
        }
        _ if !family.buckets.is_empty() => {
            return Err(format!("family {name:?}: only histograms have buckets"));
        }
        _ => {}
    }
    Ok(())
}

/// Check one update against its family; returns it with labels in canonical order.
pub fn check_update(
    family: &Family,
    labels: Vec<(String, String)>,
    op: Op,
    limits: UpdateLimits,
) -> Result<Update, String> {
    let name = &family.name;
    let value = match op {
        Op::Inc(v) | Op::Set(v) | Op::Observe(v) => v,
    };
    if !value.is_finite() {
        return Err(format!("{name}: value {value} is not finite"));
    }
    match (family.kind, op) {
        (Kind::Counter, Op::Inc(v)) if v < 0.0 => {
            return Err(format!("{name}: a counter cannot decrease (inc {v})"));
        }
        (Kind::Counter, Op::Inc(_)) | (Kind::Gauge, Op::Inc(_) | Op::Set(_)) | (Kind::Histogram, Op::Observe(_)) => {}
        (kind, op) => {
            let verb = match op {
                Op::Inc(_) => "inc",
                Op::Set(_) => "set",
                Op::Observe(_) => "observe",
            };
            return Err(format!("{name}: {verb} is not allowed on a {}", kind.as_str()));
        }
    }
    let mut sorted: BTreeMap<String, String> = BTreeMap::new();
    for (label, value) in labels {
        if !family.label_names.contains(&label) {
            return Err(format!("{name}: label {label:?} is not declared"));
        }
        if value.len() > limits.max_label_value_bytes {
            return Err(format!(
                "{name}: value of label {label:?} is {} bytes, more than {}",
                value.len(),
                limits.max_label_value_bytes
            ));
        }
        if sorted.insert(label.clone(), value).is_some() {
            return Err(format!("{name}: label {label:?} given twice"));
        }
    }
    if let Some(missing) = family.label_names.iter().find(|l| !sorted.contains_key(*l)) {
        return Err(format!("{name}: label {missing:?} is missing"));
    }
    Ok(Update { family: family.name.clone(), labels: sorted.into_iter().collect(), op })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(name: &str, kind: Kind, labels: &[&str]) -> Family {
        Family {
            name: name.into(),
            help: "h".into(),
            kind,
            label_names: labels.iter().map(|s| s.to_string()).collect(),
            buckets: if kind == Kind::Histogram { vec![1.0, 5.0] } else { vec![] },
        }
    }

    #[test]
    fn family_rules() {
        assert!(check_family(&fam("a_total", Kind::Counter, &["x"]), false).is_ok());
        assert!(check_family(&fam("a", Kind::Counter, &[]), false).unwrap_err().contains("_total"));
        assert!(check_family(&fam("a_total", Kind::Gauge, &[]), false).is_err());
        assert!(check_family(&fam("1a", Kind::Gauge, &[]), false).is_err());
        assert!(check_family(&fam("a-b", Kind::Gauge, &[]), false).is_err());
        assert!(check_family(&fam("hookmeter_x", Kind::Gauge, &[]), false).unwrap_err().contains("reserved"));
        assert!(check_family(&fam("g", Kind::Gauge, &["a", "a"]), false).is_err());
        assert!(check_family(&fam("g", Kind::Gauge, &["__x"]), false).is_err());
        assert!(check_family(&fam("g", Kind::Gauge, &["instance"]), false).is_err());
        let mut h = fam("h_seconds", Kind::Histogram, &[]);
        assert!(check_family(&h, false).is_ok());
        h.buckets = vec![2.0, 1.0];
        assert!(check_family(&h, false).is_err());
    }

    #[test]
    fn update_rules() {
        let lim = UpdateLimits { max_label_value_bytes: 8 };
        let c = fam("c_total", Kind::Counter, &["b", "a"]);
        let ok = check_update(&c, vec![("b".into(), "2".into()), ("a".into(), "1".into())], Op::Inc(1.0), lim).unwrap();
        assert_eq!(ok.labels, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        let l = || vec![("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())];
        assert!(check_update(&c, l(), Op::Inc(-1.0), lim).unwrap_err().contains("cannot decrease"));
        assert!(check_update(&c, l(), Op::Set(1.0), lim).unwrap_err().contains("set is not allowed"));
        assert!(check_update(&c, l(), Op::Inc(f64::NAN), lim).unwrap_err().contains("not finite"));
        assert!(check_update(&c, l()[..1].to_vec(), Op::Inc(1.0), lim).unwrap_err().contains("missing"));
        let long = vec![("a".to_string(), "123456789".to_string()), ("b".to_string(), "".to_string())];
        assert!(check_update(&c, long, Op::Inc(1.0), lim).unwrap_err().contains("more than 8"));
        let mut extra = l();
        extra.push(("z".into(), "".into()));
        assert!(check_update(&c, extra, Op::Inc(1.0), lim).unwrap_err().contains("not declared"));
        let mut dup = l();
        dup.push(("a".into(), "x".into()));
        assert!(check_update(&c, dup, Op::Inc(1.0), lim).unwrap_err().contains("twice"));
    }
}
