//! See the tests: the profiler built without `enable`.
