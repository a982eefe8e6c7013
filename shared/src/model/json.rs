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

/// Parses JSON text into a [`Value`] as `serde_json::from_str` does, except
/// that an object naming the same key twice is an error (`duplicate key
/// "eventName"`), at any depth: serde_json keeps the last of the two
/// silently, and a record that says two things is not one the guard
/// understood.
pub fn parse_strict(text: &str) -> serde_json::Result<Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict::deserialize(&mut de)?.0;
    de.end()?;
    Ok(value)
}

/// A [`Value`] deserialized with duplicate keys refused.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            match object.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key {:?}",
                        slot.key()
                    )));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_named_twice_is_an_error_at_any_depth() {
        let text = r#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": {"d": 1e3}}"#;
        assert_eq!(
            parse_strict(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        for (text, key) in [
            (r#"{"eventName": "A", "eventName": "B"}"#, "eventName"),
            (
                r#"{"r": {"ipPermissions": 1, "ipPermissions": 2}}"#,
                "ipPermissions",
            ),
            (r#"[{"x": [{"k": 1, "k": 1}]}]"#, "k"),
        ] {
            let e = parse_strict(text).unwrap_err().to_string();
            assert!(e.contains(&format!("duplicate key {key:?}")), "{e}");
        }
        assert!(
            parse_strict(r#"{"a": 1} x"#).is_err(),
            "trailing characters"
        );
        assert!(parse_strict(r#"{"a": 1"#).is_err());
    }

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
