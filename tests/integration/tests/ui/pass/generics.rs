//! Generic functions (lifetimes, where clauses), generic impls, trait impls
//! and trait default methods. One row per source location: a generic
//! function's instantiations share it.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use std::fmt::Debug;

use profiler::profile;

#[profile]
fn longest<'a, 'b, T>(a: &'a [T], b: &'b [T]) -> &'a [T]
where
    T: Debug + Clone,
    'b: 'a,
{
    if a.len() >= b.len() { a } else { b }
}

#[profile]
fn make<T: Default, const N: usize>() -> [T; N]
where
    [T; N]: Default,
{
    Default::default()
}

struct Stack<T> {
    items: Vec<T>,
}

impl<T: Clone> Stack<T> {
    #[profile]
    fn push(&mut self, t: &T) {
        self.items.push(t.clone());
    }
}

impl Stack<u8> {
    #[profile]
    fn bytes(&self) -> usize {
        self.items.len()
    }
}

trait Solve {
    fn step(&mut self) -> u32;

    #[profile]
    fn twice(&mut self) -> u32 {
        self.step() + self.step()
    }
}

impl<T: Clone> Solve for Stack<T> {
    #[profile]
    fn step(&mut self) -> u32 {
        self.items.len() as u32
    }
}

impl Solve for Vec<u32> {
    #[profile]
    fn step(&mut self) -> u32 {
        self.iter().sum()
    }
}

fn main() {
    assert_eq!(longest(&[1, 2], &[3]), &[1, 2]);
    assert_eq!(longest(&["a"], &["b", "c"]), &["b", "c"]);
    let a: [u8; 3] = make();
    let b: [String; 2] = make();
    assert_eq!((a.len(), b.len()), (3, 2));

    let mut s = Stack { items: Vec::new() };
    s.push(&1u8);
    s.push(&2u8);
    let mut t = Stack { items: Vec::new() };
    t.push(&"x");
    assert_eq!(s.bytes(), 2);
    assert_eq!(s.twice(), 4);
    assert_eq!(t.step(), 1);
    assert_eq!(vec![1u32, 2].twice(), 6);

    assert_eq!(common::row("longest").ncalls, 2);
    assert_eq!(common::row("make").ncalls, 2);
    assert_eq!(common::row("Stack::push").ncalls, 3);
    assert_eq!(common::row("Stack<u8>::bytes").ncalls, 1);
    assert_eq!(common::row("<Stack as Solve>::step").ncalls, 3);
    assert_eq!(common::row("<Vec<u32> as Solve>::step").ncalls, 2);
    assert_eq!(common::row("Solve::twice").ncalls, 2);
}
