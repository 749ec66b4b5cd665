//! The backend conformance kit of Yara ORM, Rust level.
//!
//! Every [`Backend`](yara_engine::Backend) must pass this suite before it is called supported.
//! It is generic over the `Backend` trait, so the author of a backend for another database runs
//! it against theirs with one macro call, without cloning this repository.
//!
//! # Certifying a backend
//!
//! 1. Add the kit as a dev-dependency, and a test target without the default harness:
//!
//!    ```toml
//!    [dev-dependencies]
//!    yara-conformance = "0.1"
//!
//!    [[test]]
//!    name = "conformance"
//!    harness = false
//!    ```
//!
//! 2. In `tests/conformance.rs`, write a factory: an `async fn` that provisions a *fresh*
//!    backend (a scratch database, schema or temporary file), says which column types store
//!    each value kind ([`TypeNames`]; start from [`TypeNames::postgres`] or [`TypeNames::sqlite`]),
//!    and how to clean up afterwards. Then instantiate the suite:
//!
//!    ```ignore
//!    use yara_conformance::{Fixture, TypeNames};
//!
//!    async fn my_backend() -> Result<Fixture<MyBackend>, MyError> {
//!        let scratch = create_scratch_database().await?;
//!        let backend = MyBackend::connect(&scratch.url).await?;
//!        let types = TypeNames { json: None, ..TypeNames::postgres() };
//!        Ok(Fixture::new(backend, types).with_teardown(move || async move { scratch.drop().await }))
//!    }
//!
//!    yara_conformance::conformance_suite!(my_backend);
//!    ```
//!
//! 3. Run `cargo test --release --test conformance`. Every test is registered at run time under
//!    a stable name (`roundtrip::float::neg_zero`, `property::decimal`, `savepoint::rollback_to_restores`,
//!    `integrity::foreign_key`, `cancel::dropped_transaction_releases_locks`, ...), so the usual
//!    arguments work: a name filter, `--exact`, `--list`, `--test-threads`, `--skip`.
//!
//! # What it checks
//!
//! - **Round trips** of every [`Value`](yara_engine::Value) kind and its NULL through a bound
//!   parameter into a typed column and back, compared with a type-aware equality
//!   ([`equality::check`]: NaN equals NaN, the sign of `-0.0` counts where `float_signed_zero` is
//!   declared, decimals compare by number
//!   and by scale where the column keeps it, JSON as a document, timestamps with a time zone as
//!   instants). Property-based ([`strategies`], proptest) for every kind, arrays of every kind and a
//!   wide row of all kinds; plus a table of known edge values (integer bounds, subnormals, 1 MiB
//!   texts, all 256 bytes, year 1 and 9999, ...). For each stored edge value the server must also
//!   agree that the stored value equals the bound parameter. Values a backend does not declare
//!   (NaN without `float_nan`, NUL without `text_allows_nul`, ...) must be refused with a clear
//!   `Data` or `Params` error, and values beyond a type's range must round-trip exactly or be
//!   refused, never wrap.
//! - `execute_many`, transactions, savepoints, each isolation level the backend declares.
//! - Each integrity violation (unique, foreign key, not null, check) mapped to
//!   `ErrorKind::Integrity` with its SQLSTATE (23505, 23503, 23502, 23514).
//! - Cancellation safety: a transaction dropped without commit, or a statement future dropped by
//!   a timeout, leaves the pool clean (it serves reads and writes; uncommitted rows are invisible;
//!   locks are released at once, not when the connection is next acquired). A failed
//!   `execute_many` must leave the pool clean too.
//! - Concurrent use of the pool by many tasks at once, and streaming cursors.
//! - `fetch_batched` hands over exactly the rows `fetch` returns, in order, each batch naming the
//!   columns (an empty result too), inside a transaction as well; errors are reported.
//! - `copy_in` stores exactly the rows given where the `copy_in` capability is declared, and is a
//!   `Programming` error where it is not.
//!
//! # Capabilities, skips and failures
//!
//! Tests name capabilities, never databases. A test whose capability the backend does not declare
//! is reported as `ignored (skipped: <reason>)` and listed again after the run: nothing is silently
//! absent. A failure message names the value kind, the column type and the value.
//!
//! A backend may declare a known failure with [`Fixture::expect_failure`]`(test, reason)`. It is
//! strict: while the test fails it is reported as `ignored (expected failure: <reason>)`, an
//! unexpected pass fails the run, and a declaration naming no test fails the run.
//!
//! # Provisioning and cleanup
//!
//! The factory is called once for the backend most tests share, and once more for each test that
//! needs a pool of its own (the `cancel::*` tests), each torn down after use. Tests create tables
//! with names unique to the run and the test (`yc_<run>_<n>_<hint>`), so they run concurrently,
//! and drop them when they finish.
//!
//! # Settings (environment)
//!
//! - `YARA_CONFORMANCE_CASES` (or `PROPTEST_CASES`): generated cases per property, default 64.
//!   Raise it for a longer search.
//! - `YARA_CONFORMANCE_SEED`: the base seed (fixed by default, so runs are reproducible).
//! - `YARA_CONFORMANCE_TIMEOUT`: seconds one test step may take before it is reported as a hang
//!   (default 60).

pub mod equality;
mod harness;
pub mod server;
pub mod strategies;
pub mod types;

mod cases;

pub use harness::{run, Fixture, Settings, DEFAULT_CASES, DEFAULT_SEED};
pub use types::{Kind, TypeNames};
/// The engine the kit tests, re-exported so a backend's tests can name its types.
pub use yara_engine;

/// Instantiate the conformance suite as the `main` of a test target with `harness = false`.
///
/// The argument is a factory: anything callable with no arguments that returns a future of
/// `Result<Fixture<B>, E>` where `B: Backend` and `E: Display` (typically an `async fn`).
///
/// ```ignore
/// yara_conformance::conformance_suite!(my_backend_factory);
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        fn main() -> ::std::process::ExitCode {
            $crate::run($factory)
        }
    };
}
