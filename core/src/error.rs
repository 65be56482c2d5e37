//! Structured validation errors: every problem in a spec, each with the path of its field.

use std::fmt;

/// One problem found in a spec: the path of the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `tenant.quota.limits.memory` or `release.strategy.steps[2].setWeight`.
    pub path: String,
    /// What is wrong, and what to do about it.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// All the problems found in a spec at once. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// The individual problems, in the order they were found (field order of the spec).
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Consumes the error and returns its problems.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    /// Whether any problem concerns exactly this path.
    pub fn has_path(&self, path: &str) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }

    /// An error of one problem.
    pub(crate) fn one(error: FieldError) -> Self {
        Self { errors: vec![error] }
    }

    /// This error with more problems after its own.
    pub(crate) fn extended(mut self, more: Vec<FieldError>) -> Self {
        self.errors.extend(more);
        self
    }

    /// Builds an error from a list of problems; `None` when the list is empty.
    pub fn from_errors(errors: Vec<FieldError>) -> Option<Self> {
        if errors.is_empty() {
            None
        } else {
            Some(Self { errors })
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "{n} problem{} in the spec:", if n == 1 { "" } else { "s" })?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects problems while walking a spec; turns into `Result` at the end.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    errors: Vec<FieldError>,
}

impl Problems {
    /// Records a problem at `path`.
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError { path: path.into(), message: message.into() });
    }

    /// Records the error of a check, if any, at `path`.
    pub(crate) fn check(&mut self, path: impl FnOnce() -> String, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(message) => {
                self.add(path(), message);
                false
            }
        }
    }

    /// The value of a result, recording its error at `path` instead.
    pub(crate) fn ok<T>(&mut self, path: impl Into<String>, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(path, message);
                None
            }
        }
    }

    /// `Ok(value)` when no problem was found, else every problem.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        match ValidationErrors::from_errors(self.errors) {
            None => Ok(value),
            Some(errors) => Err(errors),
        }
    }
}
