//! Errors of the OVSDB core.
//!
//! Errors that travel on the wire are data: an `error` tag exactly as RFC 7047
//! (or ovsdb-server's documented extensions) names it, plus human `details`.

use std::fmt;

/// An OVSDB error as it appears in a transaction result: `{"error": .., "details": ..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbError {
    /// The RFC 7047 error tag, e.g. `"constraint violation"`.
    pub tag: &'static str,
    /// A sentence a person can act on.
    pub details: String,
    /// The offending JSON, serialized (ovsdb-server's `"syntax"` member).
    pub syntax: Option<String>,
}

impl OvsdbError {
    /// Builds an error with the given tag and details.
    pub fn new(tag: &'static str, details: impl Into<String>) -> Self {
        OvsdbError { tag, details: details.into(), syntax: None }
    }
    /// The same error naming the offending JSON.
    pub fn at(mut self, json: &impl crate::json::JsonNode) -> Self {
        self.syntax = Some(json.to_text());
        self
    }
    /// `"syntax error"`: the request is not well-formed.
    pub fn syntax(details: impl Into<String>) -> Self {
        Self::new("syntax error", details)
    }
    /// `"constraint violation"`: a value breaks a column's constraints.
    pub fn constraint(details: impl Into<String>) -> Self {
        Self::new("constraint violation", details)
    }
    /// `"referential integrity violation"`.
    pub fn referential(details: impl Into<String>) -> Self {
        Self::new("referential integrity violation", details)
    }
    /// `"domain error"`: a mutation's result is undefined (e.g. division by zero).
    pub fn domain(details: impl Into<String>) -> Self {
        Self::new("domain error", details)
    }
    /// `"range error"`: a mutation's result is out of range.
    pub fn range(details: impl Into<String>) -> Self {
        Self::new("range error", details)
    }
    /// The error as a JSON object for a transaction result.
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({"error": self.tag, "details": self.details});
        if let Some(s) = &self.syntax {
            o["syntax"] = serde_json::Value::from(s.as_str());
        }
        o
    }
}

impl fmt::Display for OvsdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.tag, self.details)
    }
}

impl std::error::Error for OvsdbError {}

/// Errors of the core library that are not transaction results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema file is invalid.
    #[error("invalid schema: {0}")]
    Schema(String),
    /// A value or request broke an OVSDB rule.
    #[error("{0}")]
    Ovsdb(#[from] OvsdbError),
    /// A database log is unreadable or corrupt.
    #[error("{path}: {msg}")]
    Log {
        /// The file.
        path: String,
        /// What is wrong and where.
        msg: String,
    },
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being attempted.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Malformed JSON.
    #[error("JSON parse error: {0}")]
    Json(String),
}

impl Error {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// Result type of the core library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
