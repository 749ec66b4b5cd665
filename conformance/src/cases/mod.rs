//! The registry of every test in the suite.

mod basics;
mod batched;
mod cancel;
mod common;
mod concurrency;
mod copy;
mod cursor;
mod exec;
mod integrity;
mod roundtrip;
mod tx;

use yara_engine::{Backend, Capabilities};

use crate::harness::Case;
use crate::types::TypeNames;

/// Every test, in the order they are started. The tests with a backend of their own (which may
/// wait out timeouts on a misbehaving backend) are spread through the list, so their waiting
/// overlaps with other work.
pub(crate) fn all<B: Backend>(caps: &Capabilities, types: &TypeNames) -> Vec<Case<B>> {
    let (isolated, shared): (Vec<_>, Vec<_>) = listed(caps, types).into_iter().partition(|c| c.isolated);
    let step = shared.len() / (isolated.len() + 1);
    let mut out = Vec::with_capacity(shared.len() + isolated.len());
    let mut isolated = isolated.into_iter();
    for (i, case) in shared.into_iter().enumerate() {
        if step > 0 && i % step == step / 2 {
            out.extend(isolated.next());
        }
        out.push(case);
    }
    out.extend(isolated);
    out
}

fn listed<B: Backend>(caps: &Capabilities, types: &TypeNames) -> Vec<Case<B>> {
    let mut v = Vec::new();
    v.extend(basics::cases(caps));
    v.extend(roundtrip::cases(caps, types));
    v.extend(exec::cases());
    v.extend(tx::cases(caps));
    v.extend(integrity::cases(caps));
    v.extend(cursor::cases(caps));
    v.extend(batched::cases());
    v.extend(copy::cases(caps));
    v.extend(concurrency::cases());
    v.extend(cancel::cases());
    v
}
