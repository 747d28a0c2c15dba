//! `async fn` is instrumented per poll: one call per invocation, busy time
//! only. Also the `Box::pin(async move { .. })` body that `#[async_trait]`
//! writes, whose future is instrumented (not its creation).
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use profiler::profile;

/// Polls `fut` to completion on this thread.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Pending `n` times, then ready.
struct Yield(u32);

impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[profile]
async fn leaf(x: u32) -> u32 {
    Yield(2).await;
    x * 2
}

#[profile]
async fn caller(xs: &[u32]) -> u32 {
    let mut total = 0;
    for &x in xs {
        total += leaf(x).await;
    }
    total
}

#[derive(Debug, PartialEq)]
struct Bad;

#[profile]
async fn fallible(x: u32) -> Result<u32, Bad> {
    let checked = x.checked_sub(1).ok_or(Bad)?;
    if checked == 0 {
        return Err(Bad);
    }
    Yield(1).await;
    Ok(checked)
}

#[profile]
async fn shown(flag: bool) -> Box<dyn std::fmt::Display> {
    if flag {
        return Box::new(1);
    }
    Yield(1).await;
    Box::new("two")
}

#[profile]
async fn evens(n: u32) -> impl Iterator<Item = u32> {
    Yield(1).await;
    (0..n).filter(|x| x % 2 == 0)
}

#[profile]
async fn nothing() {
    Yield(1).await;
}

struct Conn {
    sent: Vec<u8>,
}

impl Conn {
    #[profile]
    async fn send(&mut self, bytes: &[u8]) -> usize {
        Yield(1).await;
        self.sent.extend_from_slice(bytes);
        bytes.len()
    }

    #[profile]
    async fn first(&self) -> Option<&u8> {
        Yield(1).await;
        self.sent.first()
    }
}

trait Fetch {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = u32> + Send + '_>>;
}

impl Fetch for Conn {
    // What `#[async_trait]` turns an `async fn` into.
    #[profile]
    fn fetch(&self) -> Pin<Box<dyn Future<Output = u32> + Send + '_>> {
        Box::pin(async move {
            Yield(3).await;
            self.sent.len() as u32
        })
    }
}

fn main() {
    assert_eq!(block_on(caller(&[1, 2, 3])), 12);
    assert_eq!(block_on(fallible(0)), Err(Bad));
    assert_eq!(block_on(fallible(1)), Err(Bad));
    assert_eq!(block_on(fallible(5)), Ok(4));
    let mut conn = Conn { sent: Vec::new() };
    assert_eq!(block_on(conn.send(b"abc")), 3);
    assert_eq!(block_on(conn.first()), Some(&b'a'));
    assert_eq!(block_on(shown(true)).to_string(), "1");
    assert_eq!(block_on(shown(false)).to_string(), "two");
    assert_eq!(block_on(evens(5)).count(), 3);
    block_on(nothing());
    // Created but never polled: not a call.
    drop(conn.fetch());
    assert_eq!(block_on(conn.fetch()), 3);

    assert_eq!(common::row("caller").ncalls, 1);
    assert_eq!(common::row("leaf").ncalls, 3);
    assert_eq!(common::row("fallible").ncalls, 3);
    assert_eq!(common::row("Conn::send").ncalls, 1);
    assert_eq!(common::row("Conn::first").ncalls, 1);
    assert_eq!(common::row("shown").ncalls, 2);
    assert_eq!(common::row("evens").ncalls, 1);
    assert_eq!(common::row("nothing").ncalls, 1);
    assert_eq!(common::row("<Conn as Fetch>::fetch").ncalls, 1);

    // `leaf` is called from `caller`'s polls.
    let p = profiler::snapshot();
    let stats = p.stats();
    let leaf = stats
        .functions()
        .iter()
        .find(|f| p.sites[f.site as usize].name == "leaf")
        .expect("leaf row");
    assert!(
        leaf.callers
            .iter()
            .any(|(s, _)| p.sites[*s as usize].name == "caller")
    );
}
