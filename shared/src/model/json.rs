//! A path-aware view of a JSON document, so that every parse error names the
//! field it is about (`requestParameters.ipPermissions.items[1].fromPort`).

use serde_json::Value;

/// A field that is present but not of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FieldError {
    pub path: String,
    pub problem: String,
}

/// A value (or its absence) together with the JSON path that leads to it.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value, path: impl Into<String>) -> Node<'a> {
        Node {
            value: Some(value),
            path: path.into(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn value(&self) -> Option<&'a Value> {
        self.value.filter(|v| !v.is_null())
    }

    pub fn is_present(&self) -> bool {
        self.value().is_some()
    }

    fn child_path(&self, key: &str) -> String {
        // Built by hand: this runs for every field read, `format!` showed in profiles.
        let mut path = String::with_capacity(self.path.len() + 1 + key.len());
        if !self.path.is_empty() {
            path.push_str(&self.path);
            path.push('.');
        }
        path.push_str(key);
        path
    }

    /// The member `key`, absent when this is not an object or has no such key.
    pub fn get(&self, key: &str) -> Node<'a> {
        Node {
            value: self.value().and_then(|v| v.get(key)),
            path: self.child_path(key),
        }
    }

    pub fn error(&self, problem: impl Into<String>) -> FieldError {
        FieldError {
            path: if self.path.is_empty() {
                "(root)".to_string()
            } else {
                self.path.clone()
            },
            problem: problem.into(),
        }
    }

    /// CloudTrail replaces oversized fields with `{"omitted": true, ...}`.
    pub fn is_omitted(&self) -> bool {
        self.value()
            .and_then(|v| v.get("omitted"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn object(&self) -> Result<Option<&'a serde_json::Map<String, Value>>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(self.error(format!("expected an object, found {}", kind(other)))),
        }
    }

    /// A string, or `None` when absent or null.
    pub fn str(&self) -> Result<Option<&'a str>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.error(format!("expected a string, found {}", kind(other)))),
        }
    }

    /// A string that must be there.
    pub fn required_str(&self) -> Result<&'a str, FieldError> {
        self.str()?.ok_or_else(|| self.error("missing"))
    }

    /// A boolean written as `true`, `"true"` or `"TRUE"`.
    pub fn bool(&self) -> Result<Option<bool>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(self.error(format!("expected a boolean, found {}", kind(other)))),
        }
    }

    /// An integer written as a number or a string.
    pub fn int(&self) -> Result<Option<i64>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.error(format!("expected an integer, found {n}"))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.error(format!("expected an integer, found {s:?}"))),
            Some(other) => Err(self.error(format!("expected an integer, found {}", kind(other)))),
        }
    }

    /// A port (or ICMP type/code) written as a number or a string; `-1` kept as is.
    pub fn port(&self) -> Result<Option<i64>, FieldError> {
        match self.int() {
            Ok(Some(n)) if !(-1..=65535).contains(&n) => {
                Err(self.error(format!("expected a port between -1 and 65535, found {n}")))
            }
            Ok(n) => Ok(n),
            Err(e) => Err(self.error(e.problem.replace("an integer", "a port"))),
        }
    }

    /// The elements of a list written either as CloudTrail's `{"items": [...]}`
    /// (`{}` when empty) or as a plain array. Absent means empty.
    pub fn items(&self) -> Result<Vec<Node<'a>>, FieldError> {
        match self.value() {
            None => Ok(Vec::new()),
            Some(Value::Array(values)) => Ok(self.elements(values, &self.path)),
            Some(Value::Object(map)) => match map.get("items") {
                Some(Value::Array(values)) => Ok(self.elements(values, &self.child_path("items"))),
                None | Some(Value::Null) if self.is_omitted() => {
                    Err(self.error("omitted by CloudTrail"))
                }
                // `{}` is how CloudTrail writes an empty list; an object with
                // other members and no `items` is a list we cannot read.
                None | Some(Value::Null) if map.is_empty() => Ok(Vec::new()),
                None | Some(Value::Null) => Err(self.error("an object without items")),
                Some(other) => Err(self
                    .get("items")
                    .error(format!("expected a list, found {}", kind(other)))),
            },
            Some(other) => Err(self.error(format!("expected a list, found {}", kind(other)))),
        }
    }

    /// One object or a list of them (ModifySecurityGroupRules writes either).
    pub fn one_or_many(&self) -> Result<Vec<Node<'a>>, FieldError> {
        match self.value() {
            None => Ok(Vec::new()),
            Some(Value::Array(values)) => Ok(self.elements(values, &self.path)),
            Some(Value::Object(_)) => Ok(vec![self.clone()]),
            Some(other) => Err(self.error(format!(
                "expected an object or a list, found {}",
                kind(other)
            ))),
        }
    }

    fn elements(&self, values: &'a [Value], path: &str) -> Vec<Node<'a>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Node {
                value: Some(v),
                path: format!("{path}[{i}]"),
            })
            .collect()
    }
}

/// The JSON kind of a value, for error messages (never the value itself: it may be a secret).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_in_both_shapes() {
        let doc = json!({"a": {"items": [1, 2]}, "b": [3], "c": {}, "d": "x", "e": {"item": [1]}});
        let root = Node::root(&doc, "");
        assert_eq!(root.get("a").items().unwrap()[1].path(), "a.items[1]");
        assert_eq!(root.get("b").items().unwrap()[0].path(), "b[0]");
        assert!(root.get("c").items().unwrap().is_empty());
        assert!(root.get("missing").items().unwrap().is_empty());
        assert_eq!(root.get("d").items().unwrap_err().path, "d");
        let err = root.get("e").items().unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.problem.as_str()),
            ("e", "an object without items")
        );
    }

    #[test]
    fn ports_as_numbers_or_strings() {
        let doc = json!({"n": 22, "s": "443", "m": -1, "bad": "ssh", "big": 70000, "t": true});
        let root = Node::root(&doc, "requestParameters");
        assert_eq!(root.get("n").port().unwrap(), Some(22));
        assert_eq!(root.get("s").port().unwrap(), Some(443));
        assert_eq!(root.get("m").port().unwrap(), Some(-1));
        assert_eq!(root.get("x").port().unwrap(), None);
        let err = root.get("bad").port().unwrap_err();
        assert_eq!(err.path, "requestParameters.bad");
        assert!(root.get("big").port().is_err());
        assert!(root.get("t").port().is_err());
    }
}
