//! The bridge from `tracing` spans (feature `tracing`): [`ProfilerLayer`]
//! gives every span cProfile's figures and every output, with no change to
//! the instrumented code.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! tracing_subscriber::registry()
//!     .with(profiler::tracing::ProfilerLayer::new())
//!     .init();
//! let _session = profiler::Session::from_env().start();
//! // every `#[tracing::instrument]` function and every span is now a row
//! ```
//!
//! # What a span counts
//!
//! - **One call per span**, counted when it is first entered; entering it
//!   again (an instrumented future is entered at each poll) adds time, not
//!   calls, as `#[profile]` counts an `async fn`.
//! - **Its time is the busy time** between each enter and the matching exit:
//!   a future's span counts the polls, not the time it waits.
//! - **Each busy interval is recorded on the thread that ran it**: a span
//!   entered on one worker and later on another (tokio's work stealing) is
//!   one call, on the thread of its first enter, with its time split
//!   between the threads' views.
//! - **The parent is the frame open on the thread when the span is
//!   entered**: its tracing parent when it is entered inside it, which is
//!   the usual case (`#[instrument]` functions calling each other, a future
//!   polled by its parent's poll); otherwise whatever profiled scope the
//!   thread has open, or none (a task's span entered by an executor's worker
//!   is a top-level call of that worker). So spans and `#[profile]`
//!   functions nest together in one call tree: the recorder is the same.
//! - **A row per callsite**: named by the span's name, with its file, line
//!   and module from the callsite's metadata. [`ProfilerLayer::name_fields`]
//!   appends the values of chosen fields to the name (`query{table=users}`),
//!   for one row per value; past [`MAX_NAMED_ROWS`] distinct names a
//!   callsite's further values share one row (`query{table=…}`).
//! - Span ids that `tracing` reuses after a span closes never mix two
//!   calls: the state lives in the span's own extensions, dropped with it.
//! - An exit out of order (a span exited while a span entered after it is
//!   still entered on the thread) closes the later ones first, each counted
//!   as a call, as the recorder closes frames left open.
//! - Recording turned off (`set_enabled(false)`) or compiled out: spans are
//!   not recorded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

use parking_lot::RwLock;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id};
use tracing_core::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::recorder::Guard;
use crate::site::{Site, SiteName};

/// The most distinct names one callsite gets from
/// [`ProfilerLayer::name_fields`]; further values share one row.
pub const MAX_NAMED_ROWS: usize = 1000;

/// A `tracing_subscriber` layer that records every span as a profiled call
/// (see the [module docs](self)).
#[derive(Clone, Debug, Default)]
pub struct ProfilerLayer {
    name_fields: Vec<&'static str>,
}

impl ProfilerLayer {
    /// A layer that names each row after its span's name.
    pub fn new() -> Self {
        ProfilerLayer::default()
    }

    /// Appends the values of these fields, where a span has them, to its
    /// row's name: `name_fields(["table"])` gives `query{table=users}` and
    /// `query{table=orders}` as two rows. Values are those given when the
    /// span is created.
    pub fn name_fields<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = &'static str>,
    {
        self.name_fields = fields.into_iter().collect();
        self
    }
}

/// A span whose call was counted (at its first enter, on any thread): a
/// zero-sized marker in its extensions, so that marking it allocates
/// nothing (the registry keeps each slot's extension map across spans).
struct Counted;

/// The row of a span named by its fields (see
/// [`ProfilerLayer::name_fields`]); without name fields a span's row is
/// its callsite's, found from its metadata.
struct NamedSite(&'static Site);

/// The sites made for spans, by callsite (its metadata's address) and the
/// name built from its fields (`None` without name fields). Sites live for
/// the whole program, as the recorder's call trees refer to them.
type Sites = HashMap<(usize, Option<String>), &'static Site>;

static SITES: RwLock<Option<Sites>> = RwLock::new(None);

/// How many named rows each callsite has (for [`MAX_NAMED_ROWS`]).
static NAMED: RwLock<Option<HashMap<usize, usize>>> = RwLock::new(None);

thread_local! {
    /// The last callsite this thread made a span for, and its site: most
    /// spans repeat the previous one's callsite (a loop, a recursion).
    static LAST: std::cell::Cell<(usize, Option<&'static Site>)> =
        const { std::cell::Cell::new((0, None)) };
}

fn site_for(meta: &'static Metadata<'static>, name: Option<String>) -> &'static Site {
    let callsite = std::ptr::from_ref(meta) as usize;
    if name.is_none() {
        if let Ok((last, Some(site))) = LAST.try_with(std::cell::Cell::get) {
            if last == callsite {
                return site;
            }
        }
        let site = shared_site(meta, callsite, None);
        let _ = LAST.try_with(|l| l.set((callsite, Some(site))));
        return site;
    }
    shared_site(meta, callsite, name)
}

fn shared_site(
    meta: &'static Metadata<'static>,
    callsite: usize,
    name: Option<String>,
) -> &'static Site {
    let key = (callsite, name);
    if let Some(site) = SITES.read().as_ref().and_then(|m| m.get(&key)) {
        return site;
    }
    let mut sites = SITES.write();
    let sites = sites.get_or_insert_with(HashMap::new);
    if let Some(site) = sites.get(&key) {
        return site;
    }
    let label: &'static str = match &key.1 {
        None => meta.name(),
        Some(n) => {
            *NAMED
                .write()
                .get_or_insert_with(HashMap::new)
                .entry(callsite)
                .or_insert(0) += 1;
            Box::leak(n.clone().into_boxed_str())
        }
    };
    let site: &'static Site = Box::leak(Box::new(
        Site::new(
            SiteName::Literal(label),
            meta.module_path().unwrap_or(""),
            meta.file().unwrap_or("~"),
            meta.line().unwrap_or(0),
        )
        .in_crate(None),
    ));
    sites.insert(key, site);
    site
}

/// Collects the chosen fields' values as `name{a=1,b=x}`.
struct Named<'a> {
    fields: &'a [&'static str],
    values: Vec<(usize, String)>,
}

impl Visit for Named<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(i) = self.fields.iter().position(|f| *f == field.name()) {
            self.values.push((i, value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if let Some(i) = self.fields.iter().position(|f| *f == field.name()) {
            self.values.push((i, format!("{value:?}")));
        }
    }
}

impl ProfilerLayer {
    fn name_of(&self, attrs: &Attributes<'_>) -> Option<String> {
        if self.name_fields.is_empty() {
            return None;
        }
        let mut named = Named {
            fields: &self.name_fields,
            values: Vec::new(),
        };
        attrs.record(&mut named);
        if named.values.is_empty() {
            return None;
        }
        named.values.sort_by_key(|v| v.0);
        let callsite = std::ptr::from_ref(attrs.metadata()) as usize;
        let mut name = String::from(attrs.metadata().name());
        name.push('{');
        let capped = {
            let named = NAMED.read();
            named
                .as_ref()
                .and_then(|m| m.get(&callsite))
                .is_some_and(|&n| n >= MAX_NAMED_ROWS)
        };
        for (k, (i, v)) in named.values.iter().enumerate() {
            if k > 0 {
                name.push(',');
            }
            let _ = write!(
                name,
                "{}={}",
                self.name_fields[*i],
                if capped { "…" } else { v }
            );
        }
        name.push('}');
        Some(name)
    }
}

thread_local! {
    /// The spans entered on this thread and not yet exited: (span id, the
    /// recorder's guard, the calls to count when it closes).
    static OPEN: RefCell<Vec<(u64, Guard, u64)>> = const { RefCell::new(Vec::new()) };
}

impl<S> Layer<S> for ProfilerLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // Without name fields there is nothing to keep per span until it is
        // entered.
        if !cfg!(feature = "enable") || self.name_fields.is_empty() {
            return;
        }
        if let Some(name) = self.name_of(attrs) {
            let site = site_for(attrs.metadata(), Some(name));
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(NamedSite(site));
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if !cfg!(feature = "enable") || !crate::is_enabled() {
            return;
        }
        let key = id.into_u64();
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        // The first enter, on whichever thread, counts the call: the marker
        // is set under the span's extensions lock.
        let calls = if ext.get_mut::<Counted>().is_some() {
            0
        } else {
            ext.insert(Counted);
            1
        };
        let site = match ext.get_mut::<NamedSite>() {
            Some(named) => named.0,
            None => site_for(span.metadata(), None),
        };
        drop(ext);
        let guard = crate::recorder::enter(site);
        let _ = OPEN.try_with(|open| open.borrow_mut().push((key, guard, calls)));
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let id = id.into_u64();
        let _ = OPEN.try_with(|open| {
            let mut open = open.borrow_mut();
            let Some(at) = open.iter().rposition(|e| e.0 == id) else {
                return;
            };
            // Spans entered after it and still open are closed first (by
            // the recorder, when this frame closes); their guards then
            // close nothing.
            let later = open.split_off(at + 1);
            let Some((_, guard, calls)) = open.pop() else {
                return;
            };
            guard.close(calls);
            drop(later);
        });
    }
}
