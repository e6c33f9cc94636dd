use serde::{Deserialize, Serialize};

/// One invalid field: where it is (`spec.host`, `page`) and what is wrong, in words a user
/// can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every field error of one input, so a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the value when valid, records the error otherwise.
    pub fn collect<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// `Ok(value)` when no error was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&joined.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// One of a fixed set of words, e.g. `class` ∈ {nginx, alb}.
pub fn choice<T: Copy>(
    path: &str,
    value: &str,
    options: &[(&'static str, T)],
) -> Result<T, FieldError> {
    options
        .iter()
        .find(|(word, _)| *word == value)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            FieldError::new(
                path,
                format!("must be one of {} (got {value:?})", words.join(", ")),
            )
        })
}
