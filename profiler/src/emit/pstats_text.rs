//! pstats-style text: `print_stats`, `print_callers` and `print_callees`.
//!
//! PLACEHOLDER: being written; see the module docs once done.

use std::fmt;

use crate::stats::Stats;

impl fmt::Display for Stats<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} function calls in {:.3} seconds",
            self.total_calls(),
            self.total_time_ns() as f64 / 1e9
        )
    }
}
