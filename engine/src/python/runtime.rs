//! The tokio runtime the Python bindings run on: its worker threads, and the busy-poll window
//! that keeps a worker awake between statements.
//!
//! Why busy-poll: a statement sent from asyncio crosses threads twice (loop → worker, worker →
//! loop), and the worker also waits on the database socket. When the worker's CPU has gone idle
//! in between, every one of those wake-ups pays the CPU's exit from idle: about 20 µs each on a
//! 2-vCPU VM, enough to make a point query 1.4× slower than a driver that runs its protocol on
//! the event-loop thread. So after each call starts or finishes, one task keeps the worker
//! polling (tokio's I/O driver included, through `yield_now`) for a short window instead of
//! parking it: the next statement and the database's reply find a running thread. The window
//! restarts with every call and ends `busy_poll` after the last one, so an idle process burns
//! nothing. Measured numbers and the knob are in perf/README.md.
//!
//! One worker thread by default: the busy-poll task only helps the worker that also owns the
//! I/O driver, and a second worker would mostly compete with the Python thread for the CPU.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::runtime::Runtime;

use crate::value::Rows;

/// Environment variables read when the module is imported.
const THREADS_ENV: &str = "YARA_ENGINE_THREADS";
const BUSY_POLL_ENV: &str = "YARA_ENGINE_BUSY_POLL_US";

const DEFAULT_THREADS: usize = 1;
const DEFAULT_BUSY_POLL_US: u64 = 50;
/// A window longer than this is a mistake (a spinning core for whole seconds), not a tuning.
const MAX_BUSY_POLL_US: u64 = 1_000_000;

static THREADS: AtomicUsize = AtomicUsize::new(DEFAULT_THREADS);
static STARTED: OnceLock<&'static Runtime> = OnceLock::new();

/// The runtime, started on first use with the configured number of worker threads.
pub fn get() -> &'static Runtime {
    STARTED.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        // Named so `top -H` and py-spy show whose threads these are (blocking-pool threads, which
        // SQLite statements run on, share the name).
        builder
            .enable_all()
            .thread_name("yara-engine")
            .worker_threads(THREADS.load(Ordering::SeqCst));
        pyo3_async_runtimes::tokio::init(builder);
        pyo3_async_runtimes::tokio::get_runtime()
    })
}

struct BusyPoll {
    window_ns: AtomicU64,
    last_activity_ns: AtomicU64,
    polling: AtomicBool,
}

static BUSY_POLL: BusyPoll = BusyPoll {
    window_ns: AtomicU64::new(DEFAULT_BUSY_POLL_US * 1000),
    last_activity_ns: AtomicU64::new(0),
    polling: AtomicBool::new(false),
};

fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn idle_for(window: u64) -> bool {
    now_ns().saturating_sub(BUSY_POLL.last_activity_ns.load(Ordering::SeqCst)) >= window
}

/// A call started or finished: keep the worker awake for the window from now.
pub fn note_activity() {
    if BUSY_POLL.window_ns.load(Ordering::Relaxed) == 0 {
        return;
    }
    BUSY_POLL.last_activity_ns.store(now_ns(), Ordering::SeqCst);
    if !BUSY_POLL.polling.swap(true, Ordering::SeqCst) {
        get().spawn(busy_poll());
    }
}

/// Yield to the scheduler (which polls the I/O driver with a zero timeout each time round)
/// until no call has started or finished for a whole window.
async fn busy_poll() {
    loop {
        let window = BUSY_POLL.window_ns.load(Ordering::Relaxed);
        if idle_for(window) {
            BUSY_POLL.polling.store(false, Ordering::SeqCst);
            // A call noted between the check and the store saw `polling` still set and started
            // no poller: take the job back rather than leave its window unpolled.
            if idle_for(window) || BUSY_POLL.polling.swap(true, Ordering::SeqCst) {
                return;
            }
        }
        // Give the CPU to any other runnable thread first (the loop thread, the database server,
        // another process): polling must only use time nobody else wants.
        std::thread::yield_now();
        tokio::task::yield_now().await;
    }
}

/// Results at least this many cells big are freed on the runtime, not on the loop thread.
const FREE_ON_RUNTIME_CELLS: usize = 1024;

/// Drop a result's rows on a runtime thread once the loop has converted them. Their text and
/// bytes were allocated on that thread; freed on the loop thread, every cell took the
/// allocator's cross-thread path (measured: 7% of the loop thread's time in an ORM fetch of
/// 5000 rows on MariaDB, in `free` under `drop_in_place<Rows>`). Small results are dropped
/// where they are: a spawn would cost more than it saves.
pub fn free_on_runtime(rows: Rows) {
    if rows.values.len() >= FREE_ON_RUNTIME_CELLS {
        get().spawn(async move { drop(rows) });
    }
}

fn config_error(py: Python<'_>, message: String) -> PyErr {
    super::errors::configuration_error(py, message)
}

fn set_threads(py: Python<'_>, threads: usize) -> PyResult<()> {
    if threads == 0 {
        return Err(config_error(py, "worker_threads must be at least 1".into()));
    }
    if STARTED.get().is_some() {
        if THREADS.load(Ordering::SeqCst) == threads {
            return Ok(());
        }
        return Err(config_error(
            py,
            "the engine's runtime is already running: set worker_threads before the first connection \
             (or with YARA_ENGINE_THREADS)"
                .into(),
        ));
    }
    THREADS.store(threads, Ordering::SeqCst);
    Ok(())
}

fn set_busy_poll(py: Python<'_>, micros: u64) -> PyResult<()> {
    if micros > MAX_BUSY_POLL_US {
        return Err(config_error(
            py,
            format!("busy_poll_us must be at most {MAX_BUSY_POLL_US} (got {micros}); 0 turns busy-polling off"),
        ));
    }
    BUSY_POLL.window_ns.store(micros * 1000, Ordering::Relaxed);
    Ok(())
}

fn env_number<T: std::str::FromStr>(py: Python<'_>, name: &str) -> PyResult<Option<T>> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| config_error(py, format!("{name}={text:?} is not a non-negative integer"))),
        _ => Ok(None),
    }
}

/// Apply the environment's settings (at import).
pub fn configure_from_env(py: Python<'_>) -> PyResult<()> {
    if let Some(threads) = env_number(py, THREADS_ENV)? {
        set_threads(py, threads)?;
    }
    if let Some(micros) = env_number(py, BUSY_POLL_ENV)? {
        set_busy_poll(py, micros)?;
    }
    Ok(())
}

/// Set the runtime's worker threads (before the first connection) and busy-poll window (any time).
#[pyfunction]
#[pyo3(signature = (*, worker_threads = None, busy_poll_us = None))]
pub fn configure_runtime(py: Python<'_>, worker_threads: Option<usize>, busy_poll_us: Option<u64>) -> PyResult<()> {
    if let Some(threads) = worker_threads {
        set_threads(py, threads)?;
    }
    if let Some(micros) = busy_poll_us {
        set_busy_poll(py, micros)?;
    }
    Ok(())
}

/// The runtime's settings, whether it has started, and its worker count as tokio reports it.
#[pyfunction]
pub fn runtime_settings(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("worker_threads", THREADS.load(Ordering::SeqCst))?;
    out.set_item("busy_poll_us", BUSY_POLL.window_ns.load(Ordering::Relaxed) / 1000)?;
    out.set_item("started", STARTED.get().is_some())?;
    // What the running runtime reports, as opposed to what was asked for.
    let running = STARTED.get().map(|rt| rt.metrics().num_workers());
    out.set_item("running_workers", running)?;
    out.set_item("busy_polling", BUSY_POLL.polling.load(Ordering::SeqCst))?;
    Ok(out)
}
