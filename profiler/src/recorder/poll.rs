//! Per-poll instrumentation of futures (`#[profile] async fn`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::site::Site;

/// A future whose every poll is a profiled scope: the time is the busy time
/// inside polls, the call is counted once (on the first poll), and the future
/// may move between threads between polls.
pub struct Instrumented<F> {
    site: &'static Site,
    counted: bool,
    inner: F,
}

impl<F> Instrumented<F> {
    /// Wraps `inner`, recording its polls under `site`.
    pub fn new(site: &'static Site, inner: F) -> Self {
        Instrumented {
            site,
            counted: false,
            inner,
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of `inner`: it is never moved out of
        // `self`, `Instrumented` has no `Drop` impl and is not `Unpin` unless
        // `F` is; `site` and `counted` are plain data not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let calls = u64::from(!this.counted);
        this.counted = true;
        let _scope = PollScope {
            guard: Some(super::scope::enter(this.site)),
            calls,
        };
        // SAFETY: `inner` is pinned because `self` is (see above).
        unsafe { Pin::new_unchecked(&mut this.inner) }.poll(cx)
    }
}

/// Closes a poll's scope with the poll's call count, also when the poll
/// panics (a plain guard would count a panicking later poll as a call).
struct PollScope {
    guard: Option<super::scope::Guard>,
    calls: u64,
}

impl Drop for PollScope {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(g) = self.guard.take() {
            g.close(self.calls);
        }
    }
}
