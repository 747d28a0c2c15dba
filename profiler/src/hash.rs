//! A fast, non-cryptographic hasher for the integer keys of reports (site and
//! node ids). Report building hashes millions of small keys; SipHash's
//! flooding resistance buys nothing there.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hashing of whole words (the scheme of rustc's FxHasher).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    /// The state rotated so that its high bits, which depend on every bit of
    /// the input, land where the table takes its bucket index (the low
    /// bits). Unrotated, the low bits of a product depend only on the low
    /// bits of the key: keys such as `(parent << 32) | name` then share
    /// the buckets of their `name` alone, and a table of a million keys
    /// probes in a thousand places (rustc-hash 2 rotates for the same
    /// reason).
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::FastHasher;
    use std::collections::HashSet;
    use std::hash::Hasher;

    #[test]
    fn keys_that_differ_only_in_their_high_half_spread_over_the_buckets() {
        // 4,096 keys with the same low half: the low 12 bits of their hashes
        // (a 4,096-bucket table's index) must not all be equal.
        let buckets: HashSet<u64> = (0..4096u64)
            .map(|parent| {
                let mut h = FastHasher::default();
                h.write_u64((parent << 32) | 7);
                h.finish() & 0xfff
            })
            .collect();
        // (Unrotated: one bucket; uniform: about 2,600.)
        assert!(buckets.len() > 1500, "{} buckets used", buckets.len());
    }
}
