//! `-> impl Trait`, `-> !`, early `return` and `?`.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use std::fmt::Display;

use profiler::profile;

#[profile]
fn evens(n: u32) -> impl Iterator<Item = u32> + Clone {
    (0..n).filter(|x| x % 2 == 0)
}

#[profile]
fn shown(x: u32) -> impl Display {
    format!("<{x}>")
}

#[profile]
fn exit_now(code: i32) -> ! {
    std::process::exit(code)
}

#[profile]
fn spin_forever() -> ! {
    loop {
        std::thread::park();
    }
}

#[derive(Debug, PartialEq)]
enum Error {
    Empty,
    Parse(std::num::ParseIntError),
}

impl From<std::num::ParseIntError> for Error {
    fn from(e: std::num::ParseIntError) -> Self {
        Error::Parse(e)
    }
}

#[profile]
fn parse_sum(s: &str) -> Result<u32, Error> {
    if s.is_empty() {
        return Err(Error::Empty);
    }
    let mut total = 0;
    for part in s.split(',') {
        total += part.trim().parse::<u32>()?;
    }
    Ok(total)
}

#[profile]
fn first_even(v: &[u32]) -> Option<u32> {
    for &x in v {
        if x % 2 == 0 {
            return Some(x);
        }
    }
    let last = v.last()?;
    Some(*last + 1)
}

fn main() {
    assert_eq!(evens(7).count(), 4);
    assert_eq!(shown(3).to_string(), "<3>");
    // Never called: only the types are checked, and the pointers keep them used.
    let never: [fn() -> !; 1] = [spin_forever];
    let exit: fn(i32) -> ! = exit_now;
    if std::env::args().count() > 1000 {
        never[0]();
    }
    if std::env::args().count() > 1001 {
        exit(3);
    }

    assert_eq!(parse_sum(""), Err(Error::Empty));
    assert!(matches!(parse_sum("1, x"), Err(Error::Parse(_))));
    assert_eq!(parse_sum("1, 2, 3"), Ok(6));
    assert_eq!(first_even(&[1, 4]), Some(4));
    assert_eq!(first_even(&[1, 3]), Some(4));
    assert_eq!(first_even(&[]), None);

    assert_eq!(common::row("evens").ncalls, 1);
    assert_eq!(common::row("shown").ncalls, 1);
    assert_eq!(common::row("parse_sum").ncalls, 3);
    assert_eq!(common::row("first_even").ncalls, 3);
    let p = profiler::snapshot();
    assert!(
        !p.sites
            .iter()
            .any(|s| s.name == "spin_forever" || s.name == "exit_now")
    );
}
