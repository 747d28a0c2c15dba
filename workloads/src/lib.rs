//! Bundled parallel workloads (being written).
