//! The run-time switch. In a process of its own: `set_enabled` is process-wide,
//! so turning recording off would make concurrent tests in the same process
//! lose calls (it did: `clock_source_child` once counted 1970 calls of
//! `fib(15)` instead of 1973 while this test had recording off).

use std::thread;

use profiler::profile_scope;

#[test]
fn disabled_at_run_time_records_nothing_and_open_scopes_still_close() {
    // Own process: set_enabled is process-wide.
    if integration::ran_in_own_process(
        module_path!(),
        "disabled_at_run_time_records_nothing_and_open_scopes_still_close",
    ) {
        return;
    }
    thread::Builder::new()
        .name("switch".into())
        .spawn(|| {
            let open = profile_scope!("switch.open");
            profiler::set_enabled(false);
            {
                let _ignored = profile_scope!("switch.ignored");
            }
            drop(open);
            profiler::set_enabled(true);
            let _after = profile_scope!("switch.after");
        })
        .unwrap()
        .join()
        .unwrap();
    let p = profiler::snapshot();
    assert_eq!(
        integration::tree_of(&p, "switch"),
        "thread switch\n  switch.open calls=1\n  switch.after calls=1\n"
    );
}
