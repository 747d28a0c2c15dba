//! A thread's shadow stack of open frames, readable by other threads.
//!
//! The owning thread pushes and pops with plain relaxed stores and publishes
//! the depth with a release store (a plain `mov` on x86-64), so the hot path
//! costs what a `Vec` push costs. A snapshot on another thread reads the
//! published depth and the frames below it, to count every thread's open
//! calls with their time so far.
//!
//! Buffers never move while readable: growing allocates a new buffer, copies
//! the frames, publishes it, and keeps the old one until the stack is
//! dropped, so a reader that loaded the old buffer reads stale but valid
//! frames. The buffers add up to less than twice the deepest stack.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};

use super::arena::Node;

/// Frames in the first buffer.
const FIRST: usize = 64;

/// An open frame: its node and start tick.
#[derive(Default)]
pub(crate) struct Slot {
    node: AtomicPtr<Node>,
    start: AtomicU64,
}

impl Slot {
    /// The frame's node (owner thread, or a reader of a published slot).
    #[inline(always)]
    pub(crate) fn node(&self) -> *const Node {
        self.node.load(Relaxed)
    }

    /// The frame's start tick.
    #[inline(always)]
    pub(crate) fn start(&self) -> u64 {
        self.start.load(Relaxed)
    }
}

/// An open frame as a reader copies it.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) node: *const Node,
    pub(crate) start: u64,
}

/// One buffer of slots; published through a pointer, freed with the stack.
struct Buf {
    slots: Box<[Slot]>,
}

impl Buf {
    fn new(cap: usize) -> Box<Buf> {
        Box::new(Buf {
            slots: (0..cap).map(|_| Slot::default()).collect(),
        })
    }
}

/// The shadow stack.
pub(crate) struct Stack {
    /// Published depth: release by the owner after each push and pop.
    len: AtomicUsize,
    /// The current buffer, for readers (release on growth).
    published: AtomicPtr<Buf>,
    /// The current buffer's first slot and size, for the owner only.
    base: Cell<*const Slot>,
    cap: Cell<usize>,
    /// Buffers outgrown, kept until the stack is dropped. Owner only.
    /// Boxed, not moved into the vector: readers hold pointers to the `Buf`.
    #[allow(clippy::vec_box)]
    old: UnsafeCell<Vec<Box<Buf>>>,
}

impl Stack {
    pub(crate) fn new() -> Stack {
        let buf = Box::into_raw(Buf::new(FIRST));
        // SAFETY: `buf` was just allocated and is owned by this stack.
        let base = unsafe { (*buf).slots.as_ptr() };
        Stack {
            len: AtomicUsize::new(0),
            published: AtomicPtr::new(buf),
            base: Cell::new(base),
            cap: Cell::new(FIRST),
            old: UnsafeCell::new(Vec::new()),
        }
    }

    /// The depth. Owner thread only (readers use [`Stack::read`]).
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// The slot at `depth`, which must be below [`Stack::len`].
    ///
    /// # Safety
    /// Owner thread only, with `depth < self.len()`.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, depth: usize) -> &Slot {
        // SAFETY: `depth < len <= cap`, and `base` points at `cap` live slots.
        unsafe { &*self.base.get().add(depth) }
    }

    /// Pushes a frame at depth `len`, the current depth (as [`Stack::len`]
    /// returned it; passed in to save a load on the hot path).
    ///
    /// # Safety
    /// Owner thread only, with `len == self.len()`.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, len: usize, node: *const Node, start: u64) {
        debug_assert_eq!(len, self.len.load(Relaxed));
        if len == self.cap.get() {
            // SAFETY: forwarded from the caller: owner thread only.
            unsafe { self.grow() };
        }
        // SAFETY: `len < cap` now, and `base` points at `cap` live slots.
        let slot = unsafe { &*self.base.get().add(len) };
        slot.node.store(node.cast_mut(), Relaxed);
        slot.start.store(start, Relaxed);
        self.len.store(len + 1, Release);
    }

    /// [`push`](Self::push) when the stack has room for it, else `false`
    /// (nothing changed): the hot path's version, which never grows the
    /// stack itself.
    ///
    /// # Safety
    /// Owner thread only, with `len == self.len()`.
    #[inline(always)]
    pub(crate) unsafe fn try_push(&self, len: usize, node: *const Node, start: u64) -> bool {
        debug_assert_eq!(len, self.len.load(Relaxed));
        if len == self.cap.get() {
            return false;
        }
        // SAFETY: `len < cap`, and `base` points at `cap` live slots.
        let slot = unsafe { &*self.base.get().add(len) };
        slot.node.store(node.cast_mut(), Relaxed);
        slot.start.store(start, Relaxed);
        self.len.store(len + 1, Release);
        true
    }

    /// Sets the depth to `depth` (below the current one): pops the frames above.
    ///
    /// # Safety
    /// Owner thread only.
    #[inline(always)]
    pub(crate) unsafe fn truncate(&self, depth: usize) {
        self.len.store(depth, Release);
    }

    /// # Safety
    /// Owner thread only.
    #[cold]
    #[inline(never)]
    unsafe fn grow(&self) {
        let len = self.len.load(Relaxed);
        let cap = self.cap.get() * 2;
        let buf = Buf::new(cap);
        for i in 0..len {
            // SAFETY: `i < len <= old cap`: a live slot of the current buffer.
            let from = unsafe { &*self.base.get().add(i) };
            buf.slots[i].node.store(from.node().cast_mut(), Relaxed);
            buf.slots[i].start.store(from.start(), Relaxed);
        }
        let raw = Box::into_raw(buf);
        let old = self.published.swap(raw, Release);
        // SAFETY: `old` came from `Box::into_raw` (in `new` or here) and was the
        // current buffer; it is kept (not freed) until the stack is dropped,
        // because a reader may still hold a pointer to it.
        unsafe { (*self.old.get()).push(Box::from_raw(old)) };
        // SAFETY: `raw` is the buffer just published, owned by this stack.
        self.base.set(unsafe { (*raw).slots.as_ptr() });
        self.cap.set(cap);
    }

    /// Copies the open frames, outermost first, from any thread. A frame
    /// pushed or popped during the read may be seen or missed.
    pub(crate) fn read(&self) -> Vec<Frame> {
        let len = self.len.load(Acquire);
        let buf = self.published.load(Acquire);
        // SAFETY: every buffer ever published lives until the stack is dropped,
        // and the caller holds the stack (through its thread's data).
        let slots = unsafe { &(*buf).slots };
        slots[..len.min(slots.len())]
            .iter()
            .map(|s| Frame {
                node: s.node(),
                start: s.start(),
            })
            .filter(|f| !f.node.is_null())
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let buf = *self.published.get_mut();
        // SAFETY: the current buffer came from `Box::into_raw` and is freed
        // only here; the outgrown ones in `old` are freed with the vector.
        drop(unsafe { Box::from_raw(buf) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_reads_back_every_frame() {
        let s = Stack::new();
        let fake = |i: usize| (i * 64 + 64) as *const Node;
        for i in 0..1000 {
            // SAFETY: this test thread owns the stack, at depth `i`.
            unsafe { s.push(i, fake(i), i as u64) };
        }
        let frames = s.read();
        assert_eq!(frames.len(), 1000);
        assert!(frames.iter().enumerate().all(|(i, f)| f.start == i as u64));
        // SAFETY: as above.
        unsafe { s.truncate(10) };
        assert_eq!(s.read().len(), 10);
        assert_eq!(s.len(), 10);
    }
}
