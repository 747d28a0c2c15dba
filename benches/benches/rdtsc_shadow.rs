//! How much work hides behind the two clock reads on this processor: the
//! cost of two `rdtsc` with 0, 25, 50 and 100 one-cycle additions between
//! them (on four registers: chains of 10 to 40), against the same 100
//! additions alone.
//!
//! The profiler's enabled call is two `rdtsc` and some 95 instructions of
//! bookkeeping (see `hot_path`). Where the processor runs other instructions
//! while it reads the counter, that bookkeeping costs next to nothing above
//! the two reads; where it does not, each instruction adds its own cost.
//! This bench tells the two apart on the machine it runs on:
//!
//! ```sh
//! cargo bench -p benches --bench rdtsc_shadow
//! ```
//!
//! "hidden" is the share of the 100 instructions' own time that the two
//! reads absorb: 1 - (cost with them - cost of the reads) / their cost alone.

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;
    use std::arch::x86_64::_rdtsc;
    use std::hint::black_box;
    use std::time::Instant;

    /// Five one-cycle additions, on four registers.
    macro_rules! adds5 {
        () => {
            "add {a}, 1\nadd {b}, 1\nadd {c}, 1\nadd {d}, 1\nadd {a}, 1\n"
        };
    }
    macro_rules! adds25 {
        () => {
            concat!(adds5!(), adds5!(), adds5!(), adds5!(), adds5!())
        };
    }

    macro_rules! between {
        ($name:ident, $($block:tt)*) => {
            #[inline(never)]
            fn $name(acc: &mut u64) {
                // SAFETY: `rdtsc` has no preconditions on x86-64.
                let start = unsafe { _rdtsc() };
                let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
                // SAFETY: register arithmetic only, on the four registers
                // given; no memory, no flags anyone reads after.
                unsafe {
                    asm!(concat!("/* {a} {b} {c} {d} */\n", $($block)*), a = inout(reg) a, b = inout(reg) b,
                         c = inout(reg) c, d = inout(reg) d, options(nomem, nostack));
                }
                // SAFETY: as above.
                let end = unsafe { _rdtsc() };
                *acc = acc.wrapping_add(end - start).wrapping_add(a ^ b ^ c ^ d);
            }
        };
    }

    between!(reads_only, "");
    between!(reads_25, adds25!());
    between!(reads_50, adds25!(), adds25!());
    between!(reads_100, adds25!(), adds25!(), adds25!(), adds25!());

    #[inline(never)]
    fn alone_100(acc: &mut u64) {
        let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
        // SAFETY: register arithmetic only, as in `between!`.
        unsafe {
            asm!(concat!(adds25!(), adds25!(), adds25!(), adds25!()),
                 a = inout(reg) a, b = inout(reg) b, c = inout(reg) c, d = inout(reg) d,
                 options(nomem, nostack));
        }
        *acc = acc.wrapping_add(a ^ b ^ c ^ d);
    }

    /// Fastest of 7 rounds of 5,000,000 calls, in ns per call (the
    /// fastest, because nothing on a shared machine makes a round faster).
    fn time(f: fn(&mut u64)) -> f64 {
        const CALLS: u32 = 5_000_000;
        let mut acc = 0u64;
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..CALLS {
                f(black_box(&mut acc));
            }
            best = best.min(t.elapsed().as_nanos() as f64 / f64::from(CALLS));
        }
        black_box(acc);
        best
    }

    pub(crate) fn run() {
        let reads = time(reads_only);
        let alone = time(alone_100);
        println!("| case | ns per call | above the two reads |");
        println!("|---|---|---|");
        println!("| two rdtsc | {reads:.2} | |");
        for (name, f) in [
            (
                "two rdtsc, 25 instructions between",
                reads_25 as fn(&mut u64),
            ),
            ("two rdtsc, 50 instructions between", reads_50),
            ("two rdtsc, 100 instructions between", reads_100),
        ] {
            let t = time(f);
            println!("| {name} | {t:.2} | {:+.2} |", t - reads);
        }
        let with = time(reads_100);
        println!("| 100 instructions alone | {alone:.2} | |");
        let hidden = 1.0 - (with - reads) / alone;
        println!();
        println!(
            "hidden behind the two reads: {:.0}% of the 100 instructions' own {alone:.2} ns",
            hidden * 100.0
        );
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    x86::run();
    #[cfg(not(target_arch = "x86_64"))]
    println!("rdtsc_shadow: x86-64 only");
}
