//! The `tracing` bridge (`profiler::tracing::ProfilerLayer`): spans are
//! profiled calls, counted once per span, nested with `#[profile]`
//! functions in one tree. Each test installs the layer as the global
//! subscriber, so each runs in a process of its own.

use std::collections::BTreeMap;

use profiler::{Profile, profile};
use tracing_subscriber::prelude::*;

fn install(layer: profiler::tracing::ProfilerLayer) {
    tracing_subscriber::registry().with(layer).init();
}

/// (ncalls, primitive calls) of every function of thread `thread`, by name
/// with the `t_`/`p_` prefix taken off.
fn counts(p: &Profile, thread: &str) -> BTreeMap<String, (u64, u64)> {
    let t = p
        .threads
        .iter()
        .position(|t| t.name == thread)
        .unwrap_or_else(|| panic!("no thread {thread}"));
    let st = p.thread_stats(t);
    st.functions()
        .iter()
        .map(|f| {
            let name = &p.sites[f.site as usize].name;
            let short = name.trim_start_matches("t_").trim_start_matches("p_");
            assert!(f.figures.cumtime_ns >= f.figures.tottime_ns, "{name}");
            (short.to_owned(), (f.figures.ncalls, f.figures.pcalls))
        })
        .collect()
}

/// Every call path of thread `thread` with its calls, names shortened.
fn paths(p: &Profile, thread: &str) -> BTreeMap<String, u64> {
    let t = p.threads.iter().find(|t| t.name == thread).unwrap();
    let mut path: Vec<String> = Vec::with_capacity(t.nodes.len());
    let mut out = BTreeMap::new();
    for n in &t.nodes {
        let name = p.sites[n.site as usize].name.clone();
        let short = name
            .trim_start_matches("t_")
            .trim_start_matches("p_")
            .to_owned();
        let full = match n.parent() {
            Some(parent) => format!("{};{short}", path[parent]),
            None => short,
        };
        *out.entry(full.clone()).or_insert(0) += n.calls;
        path.push(full);
    }
    out
}

#[tracing::instrument]
fn t_outer(n: u64) -> u64 {
    (0..n).map(t_mid).sum()
}

#[tracing::instrument]
fn t_mid(i: u64) -> u64 {
    t_leaf() + t_fib(5 + i % 3)
}

#[tracing::instrument]
fn t_leaf() -> u64 {
    std::hint::black_box(1)
}

#[tracing::instrument]
fn t_fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        t_fib(n - 1) + t_fib(n - 2)
    }
}

#[profile]
fn p_outer(n: u64) -> u64 {
    (0..n).map(p_mid).sum()
}

#[profile]
fn p_mid(i: u64) -> u64 {
    p_leaf() + p_fib(5 + i % 3)
}

#[profile]
fn p_leaf() -> u64 {
    std::hint::black_box(1)
}

#[profile]
fn p_fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        p_fib(n - 1) + p_fib(n - 2)
    }
}

fn on_thread<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn spans_give_the_same_table_and_tree_as_profile() {
    if integration::ran_in_own_process(
        module_path!(),
        "spans_give_the_same_table_and_tree_as_profile",
    ) {
        return;
    }
    install(profiler::tracing::ProfilerLayer::new());
    let a = on_thread("spans", || t_outer(12));
    let b = on_thread("twin", || p_outer(12));
    assert_eq!(a, b);
    let p = profiler::snapshot();
    let (spans, twin) = (counts(&p, "spans"), counts(&p, "twin"));
    assert_eq!(spans, twin);
    // Exact: fib(5), fib(6), fib(7) take 15, 25, 41 calls; 4 of each.
    assert_eq!(spans["fib"], (4 * (15 + 25 + 41), 12));
    assert_eq!(spans["mid"], (12, 12));
    assert_eq!(spans["outer"], (1, 1));
    assert_eq!(paths(&p, "spans"), paths(&p, "twin"));
    // The rows are located at the functions.
    let fib = p.sites.iter().find(|s| s.name == "t_fib").unwrap();
    assert!(fib.file.ends_with("tracing_bridge.rs"), "{fib:?}");
    assert!(fib.line > 0);
}

#[profile]
fn p_top() -> u64 {
    // A span made and never entered is no call.
    drop(tracing::info_span!("never"));
    t_around()
}

#[tracing::instrument]
fn t_around() -> u64 {
    p_inner() + p_inner()
}

#[profile]
fn p_inner() -> u64 {
    let _span = tracing::info_span!("block").entered();
    std::hint::black_box(2)
}

#[test]
fn spans_and_profiled_functions_make_one_tree() {
    if integration::ran_in_own_process(module_path!(), "spans_and_profiled_functions_make_one_tree")
    {
        return;
    }
    install(profiler::tracing::ProfilerLayer::new());
    on_thread("mixed", p_top);
    let p = profiler::snapshot();
    let got = paths(&p, "mixed");
    let want: BTreeMap<String, u64> = [
        ("top", 1),
        ("top;around", 1),
        ("top;around;inner", 2),
        ("top;around;inner;block", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(got, want);
}

#[tracing::instrument]
async fn t_job(i: u64) -> u64 {
    let mut acc = 0;
    for k in 0..20 {
        acc += t_leaf() + k * i;
        tokio::task::yield_now().await;
    }
    acc
}

#[tracing::instrument]
async fn t_driver(jobs: u64) -> u64 {
    let handles: Vec<_> = (0..jobs).map(|i| tokio::spawn(t_job(i))).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    sum
}

#[test]
fn futures_that_move_between_workers_are_one_call_each() {
    if integration::ran_in_own_process(
        module_path!(),
        "futures_that_move_between_workers_are_one_call_each",
    ) {
        return;
    }
    install(profiler::tracing::ProfilerLayer::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .thread_name("tokio-worker")
        .build()
        .unwrap();
    let sum = rt.block_on(t_driver(16));
    drop(rt);
    assert_eq!(sum, (0..16).map(|i| 20 + 190 * i).sum::<u64>());
    let p = profiler::snapshot();
    let st = p.stats();
    let row = |name: &str| {
        let site = p.sites.iter().position(|s| s.name == name).unwrap() as u32;
        st.function(site).unwrap().figures
    };
    // Each span is one call, however many polls (21 each) and threads.
    assert_eq!(row("t_job").ncalls, 16);
    assert_eq!(row("t_driver").ncalls, 1);
    // t_leaf's calls are inside the jobs' polls: 20 per job.
    assert_eq!(row("t_leaf").ncalls, 16 * 20);
    let job = row("t_job");
    assert!(job.cumtime_ns >= job.tottime_ns && job.tottime_ns > 0);
    // Every poll is recorded on the thread that ran it: the jobs' time is on
    // the runtime's workers (and the thread that blocked on the driver).
    let site = p.sites.iter().position(|s| s.name == "t_job").unwrap() as u32;
    let on: Vec<&str> = p
        .threads
        .iter()
        .enumerate()
        .filter(|(i, _)| p.thread_stats(*i).function(site).is_some())
        .map(|(_, t)| t.name.as_str())
        .collect();
    assert!(!on.is_empty());
    assert!(
        on.iter().all(|n| *n == "tokio-worker"
            || *n == "futures_that_move_between_workers_are_one_call_each"
            || n.starts_with("tracing_bridge")),
        "{on:?}"
    );
}

#[test]
fn chosen_fields_name_rows() {
    if integration::ran_in_own_process(module_path!(), "chosen_fields_name_rows") {
        return;
    }
    install(profiler::tracing::ProfilerLayer::new().name_fields(["table"]));
    on_thread("fields", || {
        for table in ["users", "orders", "users"] {
            let _q = tracing::info_span!("query", table, rows = 3).entered();
        }
        drop(tracing::info_span!("query").entered());
        // Past 1,000 names a callsite's further values share one row.
        for k in 0..1005 {
            let table = format!("t{k}");
            drop(tracing::info_span!("bulk", table = table.as_str()).entered());
        }
        // One span entered three times is one call.
        let again = tracing::info_span!("again");
        for _ in 0..3 {
            let _e = again.enter();
        }
    });
    let p = profiler::snapshot();
    let c = counts(&p, "fields");
    assert_eq!(c["query{table=users}"], (2, 2));
    assert_eq!(c["query{table=orders}"], (1, 1));
    assert_eq!(c["query"], (1, 1));
    assert_eq!(c["again"], (1, 1));
    let bulk: Vec<(&String, &(u64, u64))> =
        c.iter().filter(|(k, _)| k.starts_with("bulk{")).collect();
    assert_eq!(bulk.len(), profiler::tracing::MAX_NAMED_ROWS + 1);
    assert_eq!(c["bulk{table=…}"], (5, 5));
    assert_eq!(bulk.iter().map(|(_, v)| v.0).sum::<u64>(), 1005);
}

/// An instrumented future polled first on one thread and then, moved, on
/// another: one call, on the thread of its first poll, and each poll's busy
/// time on the thread that ran it.
#[test]
fn a_span_that_moves_between_threads_is_one_call_with_its_time_split() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tracing::Instrument;
    if integration::ran_in_own_process(
        module_path!(),
        "a_span_that_moves_between_threads_is_one_call_with_its_time_split",
    ) {
        return;
    }
    install(profiler::tracing::ProfilerLayer::new());
    async fn two_halves() -> u64 {
        let a = t_fib(12);
        tokio::task::yield_now().await;
        a + t_fib(12)
    }
    let fut = Box::pin(two_halves().instrument(tracing::info_span!("moving")));
    let fut = on_thread("first", move || {
        let mut fut = fut;
        let poll = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll.is_pending());
        fut
    });
    let value = on_thread("second", move || {
        let mut fut = fut;
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("still pending"),
        }
    });
    assert_eq!(value, 2 * 144);
    let p = profiler::snapshot();
    let (first, second) = (counts(&p, "first"), counts(&p, "second"));
    // One call in all, counted where it started; each thread has its poll.
    assert_eq!(first["moving"], (1, 1));
    assert_eq!(second["moving"], (0, 0));
    // fib(12) is 465 calls, one run under each poll.
    assert_eq!(first["fib"], (465, 1));
    assert_eq!(second["fib"], (465, 1));
    assert_eq!(paths(&p, "second")["moving;fib"], 1);
    let time = |thread: &str| {
        let t = p.threads.iter().position(|t| t.name == thread).unwrap();
        let st = p.thread_stats(t);
        let site = p.sites.iter().position(|s| s.name == "moving").unwrap() as u32;
        st.function(site).unwrap().figures.cumtime_ns
    };
    assert!(time("first") > 0 && time("second") > 0);
}
