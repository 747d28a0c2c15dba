//! `tracing` spans profiled: `#[tracing::instrument]` functions, a tokio
//! runtime whose instrumented tasks move between workers, and `#[profile]`
//! functions, in one call tree and one report.
//!
//! ```sh
//! PROFILER_OUT=profile-out cargo run --release -p examples --example tracing
//! ```
//!
//! `pstats.txt` then has a row per span callsite: `handle_request` 24 calls,
//! `query{table=users}` and `query{table=orders}` (one row per table, from
//! `name_fields(["table"])`), `parse` under `handle_request`, and the
//! `#[profile]` function `checksum` under the spans that call it.

use profiler::profile;
use tracing_subscriber::prelude::*;

#[tracing::instrument]
async fn handle_request(id: u64) -> u64 {
    let body = parse(id);
    let mut rows = 0;
    for table in ["users", "orders"] {
        rows += query(table, id).await;
    }
    checksum(body + rows)
}

#[tracing::instrument]
fn parse(id: u64) -> u64 {
    (0..2_000).fold(id, |a, x| a.rotate_left(5) ^ x)
}

async fn query(table: &'static str, id: u64) -> u64 {
    let span = tracing::info_span!("query", table);
    let _poll = span.enter();
    // A real query would await I/O here; this one yields to the runtime.
    drop(_poll);
    tokio::task::yield_now().await;
    let _poll = span.enter();
    checksum(id ^ table.len() as u64) % 100
}

#[profile]
fn checksum(x: u64) -> u64 {
    (0..200_000).fold(x, |a, k| a.wrapping_mul(31).wrapping_add(k))
}

#[profiler::main]
fn main() {
    tracing_subscriber::registry()
        .with(profiler::tracing::ProfilerLayer::new().name_fields(["table"]))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("worker")
        .build()
        .expect("a tokio runtime");
    let total: u64 = rt.block_on(async {
        let tasks: Vec<_> = (0..24).map(|id| tokio::spawn(handle_request(id))).collect();
        let mut total = 0u64;
        for t in tasks {
            total = total.wrapping_add(t.await.expect("a task"));
        }
        total
    });
    println!("checksum of 24 requests: {total}");
}
