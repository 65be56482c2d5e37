//! `Secret`: a string (a token, a kubeconfig, a key) that never shows in `Debug` or `Display` output.

use std::fmt;

/// A secret value. `Debug` prints `Secret(***)` and `Display` prints `***`, so a secret inside a
/// struct, an error or a log line stays hidden; [`Secret::expose`] is the one way to read it.
///
/// ```
/// use moorage::secret::Secret;
/// let token = Secret::new("eyJhbGciOi...");
/// assert_eq!(format!("{token:?}"), "Secret(***)");
/// assert_eq!(token.expose(), "eyJhbGciOi...");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself: for the one place that needs it (a file written, a header sent).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret value, consuming the wrapper.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn never_formatted() {
        let s = Secret::new("planted-value");
        for shown in [format!("{s:?}"), format!("{s}"), format!("{s:#?}"), format!("{:?}", Some(&s)), format!("{:?}", vec![s.clone()])] {
            assert!(!shown.contains("planted"), "{shown}");
        }
        assert_eq!(s.expose(), "planted-value");
        assert_eq!(s.into_inner(), "planted-value");
    }
}
