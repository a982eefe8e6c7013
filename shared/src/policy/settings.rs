//! The effective value of every setting and where it came from (DESIGN §7
//! invariant 17): what `access-guard policy check` prints and what each
//! function logs when it starts, so that an operator sees which of their
//! settings won and which a default or an environment variable decided.

use std::fmt;

/// Where a setting's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The policy compiled into the binary.
    Embedded,
    /// The operator's policy (a path, `s3://…`, or "ACCESS_GUARD_POLICY (inline)").
    File(String),
    /// An environment variable, which wins over both.
    Environment(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Embedded => f.write_str("embedded"),
            Source::File(origin) => write!(f, "file {origin}"),
            Source::Environment(var) => write!(f, "environment {var}"),
        }
    }
}

/// One setting: its dotted key (`sweep.revoke`, `rules.EC2-SG-003.action`),
/// its effective value as TOML writes it, and where that value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub source: Source,
}

/// Lists longer than this are shown by their length: a scope of 2,000
/// accounts is one line, not 2,000 ids.
const LIST_SHOWN: usize = 8;

/// Every leaf of the embedded policy and of the operator's, the operator's
/// value where it has one. A list of tables (`[[exemptions]]`) is one
/// setting, its count.
pub fn effective(embedded: &toml::Table, file: Option<(&toml::Table, &str)>) -> Vec<Setting> {
    let mut out = Vec::new();
    walk(embedded, file.map(|(t, o)| (Some(t), o)), "", &mut out);
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn walk(
    embedded: &toml::Table,
    file: Option<(Option<&toml::Table>, &str)>,
    prefix: &str,
    out: &mut Vec<Setting>,
) {
    let file_table = file.and_then(|(t, _)| t);
    let origin = file.map(|(_, o)| o).unwrap_or("");
    let mut keys: Vec<&String> = embedded.keys().collect();
    if let Some(t) = file_table {
        keys.extend(t.keys().filter(|k| !embedded.contains_key(*k)));
    }
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let mine = file_table.and_then(|t| t.get(key));
        let base = embedded.get(key);
        match (mine, base) {
            (Some(toml::Value::Table(m)), Some(toml::Value::Table(b))) => {
                walk(b, Some((Some(m), origin)), &path, out)
            }
            (Some(toml::Value::Table(m)), _) => {
                walk(&toml::Table::new(), Some((Some(m), origin)), &path, out)
            }
            (None, Some(toml::Value::Table(b))) => walk(b, Some((None, origin)), &path, out),
            (Some(value), _) => out.push(Setting {
                key: path,
                value: show(value),
                source: Source::File(origin.to_string()),
            }),
            (None, Some(value)) => out.push(Setting {
                key: path,
                value: show(value),
                source: Source::Embedded,
            }),
            (None, None) => {}
        }
    }
}

fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {
            format!("{} entries", items.len())
        }
        toml::Value::Array(items) if items.len() > LIST_SHOWN => {
            format!("{} items", items.len())
        }
        other => other.to_string(),
    }
}

/// Records that `key` now has `value` from the environment variable `var`.
pub fn set_from_environment(
    settings: &mut Vec<Setting>,
    key: &str,
    value: String,
    var: &'static str,
) {
    let setting = Setting {
        key: key.to_string(),
        value,
        source: Source::Environment(var),
    };
    match settings.iter_mut().find(|s| s.key == key) {
        Some(existing) => *existing = setting,
        None => {
            settings.push(setting);
            settings.sort_by(|a, b| a.key.cmp(&b.key));
        }
    }
}
