//! A thread's calling-context tree, stored in chunks that never move.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use crate::site::Site;

/// Nodes in the first chunk; chunk `k` holds `BASE << k` nodes.
const BASE: usize = 64;
/// Enough chunks for `BASE * (2^32 - 1)` nodes.
const CHUNKS: usize = 32;
/// Children beyond this many are found through the arena's map, not the list.
const LIST_CHILDREN: u32 = 8;

/// Parent index of the root node, and site id of the root.
pub(crate) const NONE: u32 = u32::MAX;

/// One call path. The fields the hot path touches come first; the node fills
/// exactly one cache line.
///
/// Every field is an atomic so that snapshots may read while the owner
/// writes; only the owning thread ever writes, with plain load + store.
#[repr(C, align(64))]
#[derive(Default)]
pub(crate) struct Node {
    /// Address of the `Site` static (compared on the hot path).
    site_addr: AtomicUsize,
    /// The child found last (a cache for the next lookup).
    hint: AtomicPtr<Node>,
    calls: AtomicU64,
    ticks: AtomicU64,
    first_child: AtomicPtr<Node>,
    next_sibling: AtomicPtr<Node>,
    site_id: AtomicU32,
    parent: AtomicU32,
    n_children: AtomicU32,
    index: AtomicU32,
}

impl Node {
    /// Adds completed calls and their inclusive ticks. Owner thread only.
    #[inline(always)]
    pub(crate) fn record(&self, calls: u64, ticks: u64) {
        self.calls
            .store(self.calls.load(Relaxed).wrapping_add(calls), Relaxed);
        self.ticks
            .store(self.ticks.load(Relaxed).wrapping_add(ticks), Relaxed);
    }

    pub(crate) fn index(&self) -> u32 {
        self.index.load(Relaxed)
    }
}

/// The arena of one thread's nodes. Node 0 is a root sentinel whose children
/// are the thread's root calls.
pub(crate) struct Arena {
    chunks: [OnceLock<Box<[Node]>>; CHUNKS],
    /// Published node count (release on growth, acquire in snapshots).
    len: AtomicU32,
    /// Children of wide nodes past the first `LIST_CHILDREN`, keyed by
    /// (parent address, site address). Owner thread only.
    wide: UnsafeCell<HashMap<(usize, usize), *const Node>>,
}

/// A node's contents as a snapshot reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeValues {
    pub(crate) site_id: u32,
    pub(crate) parent: u32,
    pub(crate) calls: u64,
    pub(crate) ticks: u64,
}

fn locate(idx: usize) -> (usize, usize) {
    let k = (usize::BITS - 1 - (idx / BASE + 1).leading_zeros()) as usize;
    (k, idx - BASE * ((1 << k) - 1))
}

impl Arena {
    pub(crate) fn new() -> Self {
        let arena = Arena {
            chunks: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicU32::new(0),
            wide: UnsafeCell::new(HashMap::new()),
        };
        let root = arena.slot(0);
        root.site_id.store(NONE, Relaxed);
        root.parent.store(NONE, Relaxed);
        arena.len.store(1, Release);
        arena
    }

    /// The node at `idx`, allocating its chunk if needed. Owner only for
    /// indexes at or past `len`.
    fn slot(&self, idx: usize) -> &Node {
        let (k, off) = locate(idx);
        let chunk =
            self.chunks[k].get_or_init(|| (0..BASE << k).map(|_| Node::default()).collect());
        &chunk[off]
    }

    /// The root sentinel.
    #[inline(always)]
    pub(crate) fn root(&self) -> *const Node {
        match self.chunks[0].get() {
            Some(c) => &c[0],
            None => self.slot(0),
        }
    }

    /// The child of `parent` for `site`, created if needed.
    ///
    /// # Safety
    /// Owner thread only; `parent` must be a node of this arena.
    #[inline(always)]
    pub(crate) unsafe fn child(&self, parent: *const Node, site: &'static Site) -> *const Node {
        // SAFETY: the caller guarantees `parent` is a live node of this arena.
        let p = unsafe { &*parent };
        let hint = p.hint.load(Relaxed);
        // SAFETY: hints only ever point at nodes of this arena.
        if !hint.is_null()
            && unsafe { &*hint }.site_addr.load(Relaxed) == site as *const Site as usize
        {
            return hint;
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.child_slow(p, site) }
    }

    /// # Safety
    /// Owner thread only; `p` must be a node of this arena.
    #[cold]
    #[inline(never)]
    unsafe fn child_slow(&self, p: &Node, site: &'static Site) -> *const Node {
        let addr = site as *const Site as usize;
        let mut c = p.first_child.load(Relaxed);
        while !c.is_null() {
            // SAFETY: child links only point at nodes of this arena.
            let n = unsafe { &*c };
            if n.site_addr.load(Relaxed) == addr {
                p.hint.store(c, Relaxed);
                return c;
            }
            c = n.next_sibling.load(Relaxed);
        }
        let key = (p as *const Node as usize, addr);
        let n_children = p.n_children.load(Relaxed);
        if n_children > LIST_CHILDREN {
            // SAFETY: the map is only touched by the owner thread (caller's contract).
            if let Some(&found) = unsafe { &*self.wide.get() }.get(&key) {
                p.hint.store(found.cast_mut(), Relaxed);
                return found;
            }
        }
        // Create the node, then publish it.
        let site_id = site.id();
        let idx = self.len.load(Relaxed) as usize;
        let node = self.slot(idx);
        node.site_addr.store(addr, Relaxed);
        node.site_id.store(site_id, Relaxed);
        node.parent.store(p.index(), Relaxed);
        node.index.store(idx as u32, Relaxed);
        let ptr = node as *const Node as *mut Node;
        if n_children < LIST_CHILDREN {
            node.next_sibling
                .store(p.first_child.load(Relaxed), Relaxed);
            p.first_child.store(ptr, Relaxed);
        } else {
            // SAFETY: owner thread only, as above.
            unsafe { &mut *self.wide.get() }.insert(key, ptr);
        }
        p.n_children.store(n_children + 1, Relaxed);
        p.hint.store(ptr, Relaxed);
        self.len.store(idx as u32 + 1, Release);
        ptr
    }

    /// Reads every published node (from any thread).
    pub(crate) fn read(&self) -> Vec<NodeValues> {
        let len = self.len.load(Acquire) as usize;
        let mut out = Vec::with_capacity(len);
        let mut idx = 0;
        for chunk in &self.chunks {
            let Some(chunk) = chunk.get() else { break };
            for n in chunk.iter() {
                if idx == len {
                    return out;
                }
                out.push(NodeValues {
                    site_id: n.site_id.load(Relaxed),
                    parent: n.parent.load(Relaxed),
                    calls: n.calls.load(Relaxed),
                    ticks: n.ticks.load(Relaxed),
                });
                idx += 1;
            }
        }
        out
    }
}

// SAFETY: every field but `wide` is an atomic or a `OnceLock` of atomics and
// so safe to share. `wide` is only touched by the owning thread (every method
// touching it is `unsafe` with that contract); snapshot readers use `read`,
// which does not touch it. The raw pointers in it point into this arena.
unsafe impl Sync for Arena {}
// SAFETY: the arena owns its chunks; the raw pointers in `wide` point into
// those chunks, which move with it (boxes never move their contents).
unsafe impl Send for Arena {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_contiguous_in_index() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(BASE - 1), (0, BASE - 1));
        assert_eq!(locate(BASE), (1, 0));
        assert_eq!(locate(3 * BASE - 1), (1, 2 * BASE - 1));
        assert_eq!(locate(3 * BASE), (2, 0));
    }

    #[test]
    fn node_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Node>(), 64);
    }
}
