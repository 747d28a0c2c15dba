//! The crate's error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong reading or writing a profile or a report.
///
/// Every message names the file and says what to do about it. `Debug` is
/// the same one line as `Display`, so that `.unwrap()` reads well.
#[non_exhaustive]
pub enum Error {
    /// Reading or writing `path` failed.
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// `path` is not in the expected format.
    Format {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it, and where.
        message: String,
    },
    /// A profile breaks a rule of the data model (see
    /// [`Profile::validate`](crate::Profile::validate)).
    Invalid {
        /// Which rule, and where.
        message: String,
    },
    /// A setting (an environment variable, an option) has an unusable value.
    Config {
        /// The setting's name.
        setting: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Invalid { message } => write!(f, "invalid profile: {message}"),
            Error::Config { setting, message } => write!(f, "{setting}: {message}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
