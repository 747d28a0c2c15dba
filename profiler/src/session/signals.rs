//! Signal names: how endings and settings name the signals the profiler
//! handles.

#[cfg(unix)]
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// The signals the profiler handles, by name.
#[cfg(unix)]
const SIGNAL_NAMES: [(i32, &str); 6] = [
    (SIGINT, "SIGINT"),
    (SIGTERM, "SIGTERM"),
    (SIGHUP, "SIGHUP"),
    (SIGQUIT, "SIGQUIT"),
    (SIGUSR1, "SIGUSR1"),
    (SIGUSR2, "SIGUSR2"),
];

/// The signals that may ask for the reports while the program runs.
#[cfg(unix)]
const DUMP_SIGNALS: [(i32, &str); 2] = [(SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2")];

#[cfg(not(unix))]
const SIGNAL_NAMES: [(i32, &str); 0] = [];
#[cfg(not(unix))]
const DUMP_SIGNALS: [(i32, &str); 0] = [];

/// A signal's name (`SIGTERM`), or `signal N`.
pub(crate) fn signal_name(sig: i32) -> String {
    SIGNAL_NAMES
        .iter()
        .find(|(n, _)| *n == sig)
        .map_or_else(|| format!("signal {sig}"), |(_, name)| (*name).to_owned())
}

/// The number of a dump signal named without its `SIG` prefix.
pub(crate) fn dump_signal_number(name: &str) -> Option<i32> {
    DUMP_SIGNALS
        .iter()
        .find(|(_, n)| n.strip_prefix("SIG") == Some(name))
        .map(|(sig, _)| *sig)
}

/// Whether `sig` may be used as the dump signal.
pub(crate) fn is_dump_signal(sig: i32) -> bool {
    DUMP_SIGNALS.iter().any(|(n, _)| *n == sig)
}
