//! Random numbers for the workloads: SplitMix64 (seeding and hashing) and
//! xoshiro256++ with jump-ahead, so that every chunk of work draws from its
//! own stream and the result does not depend on which thread ran it.
//!
//! Copying one generator into every worker gives every worker the *same*
//! numbers (the pitfall the `pi` workload avoids): streams here come from
//! [`Xoshiro256pp::jump`], each 2^128 draws apart.

/// One step of SplitMix64: advances `state` and returns the next output.
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// SplitMix64's finaliser: a fast, well-mixed hash of one 64-bit word.
#[inline]
pub fn mix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over 64-bit words: a deterministic fingerprint of a sequence of
/// values (for example the bits of an `f64` result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Folds one word into the fingerprint.
    #[inline]
    pub fn write_u64(&mut self, x: u64) {
        for b in x.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    /// The fingerprint so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The xoshiro256++ generator (Blackman and Vigna), 256 bits of state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    /// A generator with the given state (which must not be all zeros).
    pub fn from_state(s: [u64; 4]) -> Self {
        assert!(s != [0; 4], "xoshiro256++ state must not be all zeros");
        Xoshiro256pp { s }
    }

    /// A generator whose state is filled from `seed` by SplitMix64, as the
    /// authors recommend.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        if s == [0; 4] {
            // Cannot happen for SplitMix64 outputs in practice; keep the
            // invariant anyway.
            return Xoshiro256pp { s: [1, 0, 0, 0] };
        }
        Xoshiro256pp { s }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Advances the state by 2^128 draws: calling it k times on copies of
    /// one generator gives k non-overlapping streams.
    pub fn jump(&mut self) {
        const JUMP: [u64; 4] = [
            0x180e_c6d3_3cfd_0aba,
            0xd5a6_1266_f0c9_392c,
            0xa958_2618_e03f_c9aa,
            0x39ab_dc45_29b1_661c,
        ];
        let mut t = [0u64; 4];
        for word in JUMP {
            for b in 0..64 {
                if word & (1u64 << b) != 0 {
                    for (ti, si) in t.iter_mut().zip(self.s) {
                        *ti ^= si;
                    }
                }
                self.next_u64();
            }
        }
        self.s = t;
    }

    /// `count` streams, each 2^128 draws after the previous: stream `k` is
    /// the generator seeded from `seed` and jumped `k` times.
    pub fn streams(seed: u64, count: usize) -> Vec<Xoshiro256pp> {
        Xoshiro256pp::streams_in(seed, 0..count)
    }

    /// Streams `range` of [`Xoshiro256pp::streams`]: stream `k` is the
    /// generator seeded from `seed` and jumped `k` times (a rank or worker
    /// derives its own streams without the others').
    pub fn streams_in(seed: u64, range: std::ops::Range<usize>) -> Vec<Xoshiro256pp> {
        let mut g = Xoshiro256pp::seed_from_u64(seed);
        for _ in 0..range.start {
            g.jump();
        }
        let mut out = Vec::with_capacity(range.len());
        for _ in range {
            out.push(g.clone());
            g.jump();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_reference_output() {
        // rotl(1 + 4, 23) + 1 for the state [1, 2, 3, 4].
        let mut g = Xoshiro256pp::from_state([1, 2, 3, 4]);
        assert_eq!(g.next_u64(), 41_943_041);
    }

    #[test]
    fn splitmix_reference_output() {
        // First outputs of SplitMix64 seeded with 0 (the reference C code).
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut s), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn matches_the_reference_crate_with_jumps() {
        use rand_core::{RngCore, SeedableRng};
        let state: [u64; 4] = [0x0123_4567_89ab_cdef, 0x1111, 0xdead_beef, 42];
        let mut seed = [0u8; 32];
        for (i, w) in state.iter().enumerate() {
            seed[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        let mut theirs = rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed);
        let mut ours = Xoshiro256pp::from_state(state);
        for round in 0..3 {
            for _ in 0..5 {
                assert_eq!(ours.next_u64(), theirs.next_u64(), "round {round}");
            }
            ours.jump();
            theirs.jump();
        }
    }

    #[test]
    fn copies_repeat_and_jumped_streams_differ() {
        let g = Xoshiro256pp::seed_from_u64(7);
        let (mut a, mut b) = (g.clone(), g);
        assert_eq!(a.next_u64(), b.next_u64(), "copies draw the same numbers");
        let s = Xoshiro256pp::streams(7, 3);
        let firsts: Vec<u64> = s.into_iter().map(|mut g| g.next_u64()).collect();
        assert_ne!(firsts[0], firsts[1]);
        assert_ne!(firsts[1], firsts[2]);
    }

    #[test]
    fn streams_in_a_range_are_those_streams() {
        let all = Xoshiro256pp::streams(11, 6);
        assert_eq!(Xoshiro256pp::streams_in(11, 2..5), all[2..5]);
        assert!(Xoshiro256pp::streams_in(11, 3..3).is_empty());
    }
}
