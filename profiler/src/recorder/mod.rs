//! The hot path: per-thread calling-context trees and shadow stacks.
//!
//! Each thread owns a `ThreadData` (see `thread`): an arena of `Node`s (one per distinct
//! call path) that grows in chunks whose addresses never change, and a shadow
//! stack of open frames. Entering a scope reads the clock, finds the child
//! node of the current frame for the site (the parent's cached hint first),
//! and pushes a frame; leaving adds one call and the elapsed ticks to the node.
//! No locks, atomic read-modify-writes, allocation or hashing happen there.
//!
//! Counters are atomics written only by the owning thread with plain relaxed
//! loads and stores, so a snapshot may read them from any thread at any time;
//! the arena publishes its length with release/acquire. A thread's data is
//! kept after it exits (compacted into a [`RawThread`]).

mod arena;
mod calibrate;
mod poll;
mod registry;
mod scope;
mod stack;
mod sync;
mod thread;
mod timeline;

pub(crate) use calibrate::{calibrate as calibrate_now, measured_probe_ticks};
pub use calibrate::{compensation, set_compensation};
pub use poll::Instrumented;
pub(crate) use registry::{
    RawThread, any_thread_recorded, capture, capture_counters, live_threads,
};
#[cfg(feature = "mpi")]
pub(crate) use scope::current_site;
pub use scope::{Guard, enter, is_enabled, set_enabled};
pub(crate) use scope::{late_dropped, reentrant_dropped};
pub use timeline::{TimelineConfig, set_timeline, timeline};

/// Whether timeline recording is on.
#[cfg(feature = "mpi")]
pub(crate) fn timeline_on() -> bool {
    timeline::min_ticks() != u64::MAX
}
