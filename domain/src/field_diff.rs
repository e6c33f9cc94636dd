//! Field-by-field comparison of a Kubernetes object as Stargate wants it (or applied it)
//! with another version of it. Only the fields Stargate sets are compared: what the API
//! server or a controller adds beside them (defaults, status, annotations) is not a change.
//! The plan compares desired objects with the last applied ones; drift compares the last
//! applied ones with the live ones.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// Dotted path; list items by index (`spec.template.spec.containers[0].image`) or,
    /// comparing by name, by their `name` (`spec.template.spec.containers[name=web].image`).
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// How list items are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListItems {
    /// By position: a list of another length is one change of the whole list.
    ByIndex,
    /// Lists whose items are all maps with a string `name` (containers, ports, env) by that
    /// name, as the API server merges them, so defaults it fills in inside an item
    /// (`imagePullPolicy`, `protocol`) and items someone else added are not changes; other
    /// lists by position.
    ByName,
}

/// The fields of `wanted` whose value in `other` differs (`before`: `other`'s value or
/// absent, `after`: `wanted`'s). Keys `other` has beyond `wanted`'s are not compared.
pub fn changed_fields(wanted: &Value, other: Option<&Value>, items: ListItems) -> Vec<FieldChange> {
    located_changes(wanted, other, items)
        .into_iter()
        .map(|(_, change)| change)
        .collect()
}

/// One step of a field's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    /// The list item with this `name`.
    Name(String),
    Index(usize),
}

/// A dotted path: `spec.template.spec.containers[name=web].image`.
pub fn path_text(segments: &[Segment]) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if text.is_empty() => text.push_str(key),
            Segment::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Segment::Name(name) => text.push_str(&format!("[name={name}]")),
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// [`changed_fields`], each with its path as segments (keys may hold dots: label names).
pub fn located_changes(
    wanted: &Value,
    other: Option<&Value>,
    items: ListItems,
) -> Vec<(Vec<Segment>, FieldChange)> {
    let mut out = Vec::new();
    compare(&mut Vec::new(), wanted, other, items, &mut out);
    out
}

fn compare(
    path: &mut Vec<Segment>,
    wanted: &Value,
    other: Option<&Value>,
    items: ListItems,
    out: &mut Vec<(Vec<Segment>, FieldChange)>,
) {
    let mut nested =
        |path: &mut Vec<Segment>, step: Segment, wanted: &Value, other: Option<&Value>| {
            path.push(step);
            compare(path, wanted, other, items, out);
            path.pop();
        };
    match (wanted, other) {
        (Value::Object(w), Some(Value::Object(o))) => {
            let mut keys: Vec<&String> = w.keys().collect();
            keys.sort();
            for key in keys {
                nested(path, Segment::Key(key.clone()), &w[key], o.get(key));
            }
        }
        (Value::Array(w), Some(Value::Array(o)))
            if items == ListItems::ByName && named(w).is_some() =>
        {
            for (name, item) in named(w).unwrap_or_default().into_iter().zip(w) {
                let found = o
                    .iter()
                    .find(|i| i.get("name").and_then(Value::as_str) == Some(name));
                nested(path, Segment::Name(name.to_owned()), item, found);
            }
        }
        (Value::Array(w), Some(Value::Array(o))) if w.len() == o.len() => {
            for (i, (w, o)) in w.iter().zip(o).enumerate() {
                nested(path, Segment::Index(i), w, Some(o));
            }
        }
        (w, Some(o)) if w == o || same_quantity(path, w, o) => {}
        (w, o) => out.push((
            path.clone(),
            FieldChange {
                path: path_text(path),
                before: o.cloned(),
                after: Some(w.clone()),
            },
        )),
    }
}

/// The names of a list's items, when every item is a map with a distinct string `name`.
fn named(list: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = list
        .iter()
        .map(|item| item.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let mut distinct = names.clone();
    distinct.sort_unstable();
    distinct.dedup();
    (!names.is_empty() && distinct.len() == names.len()).then_some(names)
}

/// Whether two values of a resource quantity field (`resources.limits.cpu`) mean the same
/// amount, as the API server may rewrite them (`1000m` → `1`, `1024Mi` → `1Gi`).
fn same_quantity(path: &[Segment], a: &Value, b: &Value) -> bool {
    let key = |i: usize| match path.len().checked_sub(i).map(|i| &path[i]) {
        Some(Segment::Key(key)) => key.as_str(),
        _ => "",
    };
    let in_resources = key(3) == "resources" && matches!(key(2), "limits" | "requests");
    let amount = |v: &Value| match v {
        Value::String(s) => Quantity::parse(s),
        Value::Number(n) => Quantity::parse(&n.to_string()),
        _ => None,
    };
    in_resources && matches!((amount(a), amount(b)), (Some(a), Some(b)) if a == b)
}

/// A Kubernetes resource quantity, exactly, as a fraction of whole units.
#[derive(Debug, PartialEq, Eq)]
pub struct Quantity {
    numerator: i128,
    denominator: i128,
}

impl Quantity {
    /// `500m`, `1.5Gi`, `2e3`, `1`; None for anything else (or too large to hold).
    pub fn parse(text: &str) -> Option<Self> {
        let digits_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(digits_end);
        let (mut numerator, mut denominator) = decimal(number)?;
        let (base, exponent): (i128, u32) = match suffix {
            "" => (10, 0),
            "n" => {
                return Some(Self::reduced(
                    numerator,
                    denominator.checked_mul(10i128.pow(9))?,
                ));
            }
            "u" => {
                return Some(Self::reduced(
                    numerator,
                    denominator.checked_mul(10i128.pow(6))?,
                ));
            }
            "m" => return Some(Self::reduced(numerator, denominator.checked_mul(1000)?)),
            "k" => (10, 3),
            "M" => (10, 6),
            "G" => (10, 9),
            "T" => (10, 12),
            "P" => (10, 15),
            "E" => (10, 18),
            "Ki" => (2, 10),
            "Mi" => (2, 20),
            "Gi" => (2, 30),
            "Ti" => (2, 40),
            "Pi" => (2, 50),
            "Ei" => (2, 60),
            other => {
                let exponent: i32 = other.strip_prefix(['e', 'E'])?.parse().ok()?;
                let scale = 10i128.checked_pow(exponent.unsigned_abs())?;
                if exponent >= 0 {
                    numerator = numerator.checked_mul(scale)?;
                } else {
                    denominator = denominator.checked_mul(scale)?;
                }
                return Some(Self::reduced(numerator, denominator));
            }
        };
        numerator = numerator.checked_mul(base.checked_pow(exponent)?)?;
        Some(Self::reduced(numerator, denominator))
    }

    fn reduced(numerator: i128, denominator: i128) -> Self {
        let divisor = gcd(numerator.abs(), denominator).max(1);
        Self {
            numerator: numerator / divisor,
            denominator: denominator / divisor,
        }
    }
}

/// `-1.25` as (-125, 100).
fn decimal(text: &str) -> Option<(i128, i128)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let numerator: i128 = digits.parse().ok()?;
    let denominator = 10i128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    Some((if negative { -numerator } else { numerator }, denominator))
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
#[path = "field_diff_tests.rs"]
mod tests;
