//! How a session ended: what its profile's `ended_by` says.

use super::signals::signal_name;

/// Why reports are being written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The session guard was dropped or finished normally.
    Return,
    /// A panic ended the run (with its message).
    Panic(String),
    /// `exit` was called with this status (unknown where the platform does
    /// not say).
    Exit(Option<i32>),
    /// A terminating signal.
    Signal(i32),
}

impl Ending {
    /// The profile's `ended_by`: `None` for a normal return.
    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            Ending::Return => None,
            Ending::Panic(msg) => Some(format!("a panic: {msg}")),
            Ending::Exit(Some(code)) => Some(format!("process::exit({code})")),
            Ending::Exit(None) => Some("process::exit".to_owned()),
            Ending::Signal(sig) => Some(signal_name(*sig)),
        }
    }
}
