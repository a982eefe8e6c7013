//! A template's text as JSON: JSON as it is, YAML with its short-form tags
//! read into the long forms (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` →
//! `{"Fn::GetAtt": ["A", "B"]}`), and the line where each resource is
//! declared.

use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

/// The template as JSON, whatever it was written in.
pub(super) fn document(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"));
    }
    let yaml: Yaml = serde_norway::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    json(&yaml, "")
}

/// The short-form tags and the function each stands for.
const SHORT_FORMS: [(&str, &str); 17] = [
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("FindInMap", "Fn::FindInMap"),
    ("ImportValue", "Fn::ImportValue"),
    ("Base64", "Fn::Base64"),
    ("GetAZs", "Fn::GetAZs"),
    ("Cidr", "Fn::Cidr"),
];

fn json(yaml: &Yaml, at: &str) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| json(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    _ => return Err(format!("{at}: a key that is not a string")),
                };
                let next = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                out.insert(key, json(v, &next)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let Some((_, long)) = SHORT_FORMS.iter().find(|(short, _)| *short == name) else {
                return Err(format!("{at}: unknown tag {tag}"));
            };
            let inner = json(&tagged.value, at)?;
            let inner = match (*long, inner) {
                // `!GetAtt Resource.Attribute`: the attribute may hold dots.
                ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
                    Some((resource, attribute)) => {
                        Value::Array(vec![Value::from(resource), Value::from(attribute)])
                    }
                    None => return Err(format!("{at}: !GetAtt {s}: expected Resource.Attribute")),
                },
                (_, inner) => inner,
            };
            let mut out = Map::new();
            out.insert((*long).to_string(), inner);
            Value::Object(out)
        }
    })
}

/// The 1-based line where each logical id is declared under `Resources`,
/// found by reading the text's keys (JSON) or its indentation (YAML).
pub(super) fn lines(text: &str) -> Vec<(String, usize)> {
    if text.trim_start().starts_with('{') {
        json_lines(text)
    } else {
        yaml_lines(text)
    }
}

/// The keys of the object that `Resources` holds at the top of a JSON
/// document, with their lines: a scan of strings and depth.
fn json_lines(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let (mut line, mut depth) = (1usize, 0usize);
    // The depth of the `Resources` object while inside it.
    let mut resources: Option<usize> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                if resources == Some(depth) {
                    resources = None;
                }
                depth = depth.saturating_sub(1);
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            s.push(c);
                        }
                        _ => s.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    if chars.next() == Some('\n') {
                        line += 1;
                    }
                }
                if chars.peek() != Some(&':') {
                    continue;
                }
                if depth == 1 && s == "Resources" {
                    resources = Some(2);
                } else if resources == Some(depth) {
                    out.push((s, start));
                }
            }
            _ => {}
        }
    }
    out
}

/// The keys indented one step under a top-level `Resources:` line.
fn yaml_lines(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut indent: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = raw.len() - trimmed.len();
        if at == 0 {
            inside = trimmed
                .strip_prefix("Resources")
                .map(|rest| rest.trim_start().strip_prefix(':'))
                .is_some_and(|rest| {
                    rest.is_some_and(|r| r.trim().is_empty() || r.trim().starts_with('#'))
                });
            indent = None;
            continue;
        }
        if !inside {
            continue;
        }
        let step = *indent.get_or_insert(at);
        if at != step {
            continue;
        }
        if let Some((key, _)) = trimmed.split_once(':') {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            out.push((key.to_string(), i + 1));
        }
    }
    out
}
