//! A thread's calling-context tree, stored in chunks that never move.

use std::cell::UnsafeCell;
use std::collections::HashMap;

use super::sync::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use crate::site::Site;

/// Nodes in the first chunk; chunk `k` holds `BASE << k` nodes. Tiny under
/// loom so that the model check crosses chunk boundaries.
#[cfg(not(loom))]
const BASE: usize = 64;
#[cfg(loom)]
const BASE: usize = 2;
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

    pub(crate) fn site_id(&self) -> u32 {
        self.site_id.load(Relaxed)
    }
}

/// The arena of one thread's nodes. Node 0 is a root sentinel whose children
/// are the thread's root calls.
pub(crate) struct Arena {
    /// Chunk `k` holds `BASE << k` nodes; published with release/acquire and
    /// freed only when the arena is dropped.
    chunks: [AtomicPtr<Node>; CHUNKS],
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
            chunks: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
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
        let mut chunk = self.chunks[k].load(Acquire);
        if chunk.is_null() {
            let nodes: Box<[Node]> = (0..BASE << k).map(|_| Node::default()).collect();
            chunk = Box::into_raw(nodes).cast::<Node>();
            self.chunks[k].store(chunk, Release);
        }
        // SAFETY: chunk `k` was allocated with `BASE << k` nodes, `off` is
        // below that (see `locate`), and chunks are freed only in `drop`.
        unsafe { &*chunk.add(off) }
    }

    /// The node at a published index (below `len`), from any thread.
    fn published(&self, idx: usize) -> Option<&Node> {
        let (k, off) = locate(idx);
        let chunk = self.chunks[k].load(Acquire);
        // SAFETY: a non-null chunk `k` holds `BASE << k` initialised nodes and
        // lives until the arena is dropped; `off` is in range (see `locate`).
        (!chunk.is_null()).then(|| unsafe { &*chunk.add(off) })
    }

    /// The root sentinel.
    #[inline(always)]
    pub(crate) fn root(&self) -> *const Node {
        self.chunks[0].load(Relaxed)
    }

    /// The child of `parent` for `site`, created if needed.
    ///
    /// # Safety
    /// Owner thread only; `parent` must be a node of this arena.
    #[inline(always)]
    pub(crate) unsafe fn child(&self, parent: *const Node, site: &'static Site) -> *const Node {
        // SAFETY: forwarded from the caller.
        let hint = unsafe { Self::cached_child(parent, site) };
        if !hint.is_null() {
            return hint;
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.child_slow(&*parent, site) }
    }

    /// The child of `parent` for `site` if it is the one `parent` found
    /// last (the hint: a loop calls the same function again and again),
    /// else null. Reads only.
    ///
    /// # Safety
    /// `parent` must be a live node of this arena.
    #[inline(always)]
    pub(crate) unsafe fn cached_child(parent: *const Node, site: &'static Site) -> *const Node {
        // SAFETY: the caller guarantees `parent` is a live node of this arena.
        let p = unsafe { &*parent };
        let hint = p.hint.load(Relaxed);
        if !hint.is_null() {
            // SAFETY: hints only ever point at nodes of this arena.
            let h = unsafe { &*hint };
            if h.site_addr.load(Relaxed) == site as *const Site as usize {
                return hint;
            }
        }
        std::ptr::null()
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
        for n in (0..len).map_while(|i| self.published(i)) {
            out.push(NodeValues {
                site_id: n.site_id.load(Relaxed),
                parent: n.parent.load(Relaxed),
                calls: n.calls.load(Relaxed),
                ticks: n.ticks.load(Relaxed),
            });
        }
        out
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for (k, chunk) in self.chunks.iter().enumerate() {
            let p = chunk.load(Acquire);
            if !p.is_null() {
                // SAFETY: `p` came from `Box::into_raw` of a `BASE << k` slice
                // in `slot`, and is freed only here, once.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, BASE << k)) });
            }
        }
    }
}

// SAFETY: every field but `wide` is an atomic (the chunks hold atomics, and
// are published with release/acquire) and so safe to share. `wide` is only touched by the owning thread (every method
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

    #[cfg(not(loom))]
    #[test]
    fn node_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Node>(), 64);
    }
}

/// Model check of the arena's publication protocol: one thread grows the tree
/// across chunk boundaries and records calls while another reads it.
/// Run with `RUSTFLAGS="--cfg loom" cargo test -p profiler --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::site::{Site, SiteName};
    use loom::sync::Arc;

    static A: Site = Site::new(SiteName::Literal("a"), "m", "f.rs", 1);
    static B: Site = Site::new(SiteName::Literal("b"), "m", "f.rs", 2);
    static C: Site = Site::new(SiteName::Literal("c"), "m", "f.rs", 3);

    /// A published prefix of the tree must be exactly root -> a -> b -> c,
    /// with each node's counters either untouched or fully recorded.
    fn check(values: &[NodeValues]) {
        let expected = [(NONE, NONE), (A.id(), 0), (B.id(), 1), (C.id(), 2)];
        assert!(!values.is_empty(), "the root is always published");
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                (v.site_id, v.parent),
                expected[i],
                "node {i} published half-initialised"
            );
            assert!(v.calls <= 1 && v.ticks <= 9);
        }
    }

    #[test]
    fn loom_snapshot_while_growing() {
        loom::model(|| {
            let arena = Arc::new(Arena::new());
            let reader = {
                let arena = Arc::clone(&arena);
                loom::thread::spawn(move || check(&arena.read()))
            };
            // SAFETY: this thread owns the arena's write side; the nodes used
            // come from this arena.
            unsafe {
                let a = arena.child(arena.root(), &A);
                let b = arena.child(a, &B);
                let c = arena.child(b, &C); // index 3: the second chunk
                (*c).record(1, 3);
                (*b).record(1, 6);
                (*a).record(1, 9);
            }
            reader.join().unwrap();
            check(&arena.read());
        });
    }
}
