//! `#[profile]` with `#[async_trait]`, in both orders: the future is
//! instrumented (one call per invocation), not the boxing of it.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use profiler::profile;

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Pending once, then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[async_trait]
trait Store {
    async fn get(&self, key: u32) -> Option<u32>;
    async fn put(&mut self, key: u32, value: u32) -> Result<(), String>;
}

struct Memory(Vec<(u32, u32)>);

// `#[async_trait]` first: `#[profile]` sees `fn -> Pin<Box<..>>` bodies
// ending in `Box::pin(async move { .. })`.
#[async_trait]
impl Store for Memory {
    #[profile]
    async fn get(&self, key: u32) -> Option<u32> {
        YieldOnce(false).await;
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    #[profile]
    async fn put(&mut self, key: u32, value: u32) -> Result<(), String> {
        if key == 0 {
            return Err("key 0 is reserved".into());
        }
        YieldOnce(false).await;
        self.0.push((key, value));
        Ok(())
    }
}

struct Empty;

// `#[profile]` first: it instruments the `async fn`s, then `#[async_trait]`
// boxes them.
#[profile]
#[async_trait]
impl Store for Empty {
    async fn get(&self, _key: u32) -> Option<u32> {
        YieldOnce(false).await;
        None
    }

    async fn put(&mut self, _key: u32, _value: u32) -> Result<(), String> {
        Err("empty".into())
    }
}

fn main() {
    let mut m = Memory(Vec::new());
    assert_eq!(block_on(m.put(0, 1)), Err("key 0 is reserved".into()));
    assert_eq!(block_on(m.put(1, 10)), Ok(()));
    assert_eq!(block_on(m.get(1)), Some(10));
    assert_eq!(block_on(m.get(2)), None);
    // Boxed but never polled: not a call.
    drop(m.get(3));
    let mut e = Empty;
    assert_eq!(block_on(e.get(1)), None);
    assert_eq!(block_on(e.put(1, 1)), Err("empty".into()));

    assert_eq!(common::row("<Memory as Store>::get").ncalls, 2);
    assert_eq!(common::row("<Memory as Store>::put").ncalls, 2);
    assert_eq!(common::row("<Empty as Store>::get").ncalls, 1);
    assert_eq!(common::row("<Empty as Store>::put").ncalls, 1);
}
