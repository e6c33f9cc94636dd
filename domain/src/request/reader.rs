//! Reads a request's JSON `spec` field by field, so every problem — a missing field, a
//! wrong type, an unknown key — is reported with its path, all at once.

use serde_json::{Map, Value};

use crate::{FieldError, FieldErrors};

pub struct SpecReader<'a> {
    prefix: &'a str,
    object: &'a Map<String, Value>,
    seen: Vec<&'static str>,
    pub errors: FieldErrors,
}

impl<'a> SpecReader<'a> {
    /// `value` must be a JSON object; `prefix` is its path (`spec`).
    pub fn new(prefix: &'a str, value: &'a Value) -> Result<Self, FieldErrors> {
        match value.as_object() {
            Some(object) => Ok(Self {
                prefix,
                object,
                seen: Vec::new(),
                errors: FieldErrors::default(),
            }),
            None => Err(FieldErrors(vec![FieldError::new(
                prefix,
                "must be an object",
            )])),
        }
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        self.object.get(key).filter(|v| !v.is_null())
    }

    fn missing(&mut self, key: &str) {
        let path = self.path(key);
        self.errors.push(FieldError::new(path, "is required"));
    }

    fn wrong_type(&mut self, key: &str, expected: &str) {
        let path = self.path(key);
        self.errors
            .push(FieldError::new(path, format!("must be {expected}")));
    }

    pub fn optional_string(&mut self, key: &'static str) -> Option<&'a str> {
        match self.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.wrong_type(key, "a string");
                None
            }
        }
    }

    pub fn string(&mut self, key: &'static str) -> Option<&'a str> {
        let present = self.object.get(key).is_some_and(|v| !v.is_null());
        let value = self.optional_string(key);
        if !present {
            self.missing(key);
        }
        value
    }

    pub fn optional_integer(&mut self, key: &'static str) -> Option<i64> {
        match self.get(key) {
            None => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => {
                self.wrong_type(key, "a whole number");
                None
            }
        }
    }

    pub fn integer(&mut self, key: &'static str) -> Option<i64> {
        let present = self.object.get(key).is_some_and(|v| !v.is_null());
        let value = self.optional_integer(key);
        if !present {
            self.missing(key);
        }
        value
    }

    /// A list of strings (`null` or absent: empty).
    pub fn strings(&mut self, key: &'static str) -> Vec<(String, &'a str)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(s) => Some((format!("{}[{i}]", self.path(key)), s.as_str())),
                    _ => {
                        let path = format!("{}[{i}]", self.path(key));
                        self.errors.push(FieldError::new(path, "must be a string"));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.wrong_type(key, "a list of strings");
                Vec::new()
            }
        }
    }

    /// An object's entries as `(path, key, value)`, values of any type (absent: none).
    pub fn value_map(&mut self, key: &'static str) -> Vec<(String, &'a str, &'a Value)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (format!("{}.{k}", self.path(key)), k.as_str(), v))
                .collect(),
            Some(_) => {
                self.wrong_type(key, "an object");
                Vec::new()
            }
        }
    }

    /// A list of objects as `(path, object)`, each read with its own reader (`null` or
    /// absent: empty).
    pub fn objects(&mut self, key: &'static str) -> Vec<(String, &'a Value)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let path = format!("{}[{i}]", self.path(key));
                    if item.is_object() {
                        Some((path, item))
                    } else {
                        self.errors.push(FieldError::new(path, "must be an object"));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.wrong_type(key, "a list of objects");
                Vec::new()
            }
        }
    }

    /// A nested object, read with its own reader (absent: `None`).
    pub fn object(&mut self, key: &'static str) -> Option<&'a Value> {
        match self.get(key) {
            Some(value @ Value::Object(_)) => Some(value),
            None => None,
            Some(_) => {
                self.wrong_type(key, "an object");
                None
            }
        }
    }

    /// Records a field's own validation result.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        self.errors.collect(result)
    }

    /// Ends reading: keys nobody asked for are errors (a typo must not be ignored).
    pub fn finish(mut self) -> FieldErrors {
        let unknown: Vec<String> = self
            .object
            .keys()
            .filter(|k| !self.seen.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            let path = self.path(&key);
            self.errors
                .push(FieldError::new(path, "is not a known field"));
        }
        self.errors
    }
}

pub use crate::field_error::choice;
