//! Errors of the compute operations (shapes and sizes), separate from backend selection errors.

/// An operation was called with arguments that do not fit together.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OpError {
    /// A length or dimension does not match what the other arguments imply.
    #[error("{what} must be {expected}, got {actual}")]
    Shape {
        /// Which argument or dimension.
        what: &'static str,
        /// The value the other arguments imply.
        expected: usize,
        /// The value given.
        actual: usize,
    },
    /// A dimension is outside what the kernel supports.
    #[error("{what} must be <= {max}, got {actual}")]
    TooLarge {
        /// Which dimension.
        what: &'static str,
        /// The largest value supported.
        max: usize,
        /// The value given.
        actual: usize,
    },
}

/// Checks `actual == expected` for the argument `what`.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), OpError> {
    if expected == actual {
        Ok(())
    } else {
        Err(OpError::Shape {
            what,
            expected,
            actual,
        })
    }
}
