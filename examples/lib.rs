//! Runnable examples of the `profiler` crate; see the `[[example]]` targets.
