//! The async bridge between asyncio and the engine's tokio runtime.
//!
//! A call creates an asyncio future on the running loop and spawns one tokio task. The task
//! never touches Python: it pushes its Rust result onto the loop's completion queue and, if
//! the queue was empty, wakes the loop by writing one byte to a socket the loop watches. The
//! loop then converts every queued result to Python objects and resolves the futures, so a
//! burst of completions costs one wake-up, and runtime threads never wait for the GIL (nor
//! touch the interpreter during shutdown). A cancelled asyncio future aborts its task.

use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use tokio::task::AbortHandle;

use super::errors::to_pyerr;
use super::runtime;
use crate::cancel::{self, CancelScope};
use crate::error::Result;

/// A finished operation's result, converted to Python on the loop thread.
pub trait Deliver: Send + 'static {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

/// Builds the Python result on the loop thread.
type MakeResult = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
/// Appends one part of a result to the list being built, on the loop thread.
type AppendPart = Box<dyn FnOnce(Python<'_>) -> PyResult<()> + Send>;

/// What the loop does with a finished step of an operation.
enum Step {
    /// A part of the result: converted now, while the operation goes on producing the next.
    Part(AppendPart),
    /// The operation's end: its result (or error) resolves the future.
    Done(MakeResult),
}

/// The future a step belongs to (shared: the steps of one operation each hold it, and cloning
/// an `Arc` needs no GIL on the runtime's threads).
type FutureRef = Arc<Py<PyAny>>;
type Completion = (FutureRef, Step);

struct Shared {
    queue: Mutex<Vec<Completion>>,
    waker: Waker,
}

#[cfg(unix)]
struct Waker {
    writer: std::os::unix::net::UnixStream,
}

#[cfg(unix)]
impl Waker {
    fn wake(&self) {
        use std::io::Write;
        // WouldBlock means a wake-up byte is already pending: nothing more to do.
        let _ = (&self.writer).write(&[1]);
    }
}

#[cfg(not(unix))]
struct Waker {
    event_loop: Py<PyAny>,
    completer: std::sync::OnceLock<Py<Completer>>,
}

#[cfg(not(unix))]
impl Waker {
    fn wake(&self) {
        // Without a pollable socket pair (Windows' proactor loop), fall back to the loop's own
        // thread-safe scheduling, which needs the GIL briefly.
        if let Some(completer) = self.completer.get() {
            Python::attach(|py| {
                let drain = completer.bind(py).getattr("drain");
                if let Ok(drain) = drain {
                    let _ = self.event_loop.bind(py).call_method1("call_soon_threadsafe", (drain,));
                }
            });
        }
    }
}

impl Shared {
    fn push(&self, completion: Completion) {
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = queue.is_empty();
            queue.push(completion);
            was_empty
        };
        if was_empty {
            self.waker.wake();
        }
    }
}

/// The per-loop completion queue, registered with the loop as a reader.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct Completer {
    shared: Arc<Shared>,
    #[cfg(unix)]
    reader: std::os::unix::net::UnixStream,
}

#[pymethods]
impl Completer {
    /// Resolve every finished operation's future. Runs on the loop thread.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        #[cfg(unix)]
        {
            use std::io::Read;
            // Empty the socket before taking the queue, so a push racing with this drain
            // either lands in this batch or writes a fresh wake-up byte.
            let mut buf = [0u8; 256];
            while let Ok(n) = (&self.reader).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
            }
        }
        let batch = std::mem::take(&mut *self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
        for (future, step) in batch {
            let future = future.bind(py);
            // A future cancelled by its caller (or failed by an earlier part) wants nothing more.
            if future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                continue;
            }
            let outcome = match step {
                Step::Part(append) => match append(py) {
                    Ok(()) => continue,
                    Err(err) => Err(err),
                },
                Step::Done(make) => make(py),
            };
            match outcome {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,))?,
                Err(err) => future.call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))?,
            };
        }
        Ok(())
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static COMPLETERS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The completion queue of `event_loop`, created and registered on first use.
fn shared_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Shared>> {
    // Fast path: the completer hangs off the loop itself (an attribute lookup per call rather
    // than a weak-dictionary lookup). Loops without a __dict__ (uvloop) use the registry.
    if let Ok(attached) = event_loop.getattr(pyo3::intern!(py, "_yara_orm_completer")) {
        if let Ok(c) = attached.cast::<Completer>() {
            return Ok(c.get().shared.clone());
        }
    }
    let registry = COMPLETERS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("weakref")?.getattr("WeakKeyDictionary")?.call0()?.unbind())
    })?;
    let registry = registry.bind(py);
    if let Ok(existing) = registry.get_item(event_loop) {
        if let Ok(c) = existing.cast::<Completer>() {
            return Ok(c.get().shared.clone());
        }
    }
    #[cfg(unix)]
    let completer = {
        let (reader, writer) = std::os::unix::net::UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        let completer = Py::new(
            py,
            Completer {
                shared: Arc::new(Shared {
                    queue: Mutex::new(Vec::new()),
                    waker: Waker { writer },
                }),
                reader,
            },
        )?;
        use std::os::fd::AsRawFd;
        let fd = completer.get().reader.as_raw_fd();
        event_loop.call_method1("add_reader", (fd, completer.bind(py).getattr("drain")?))?;
        completer
    };
    #[cfg(not(unix))]
    let completer = {
        let completer = Py::new(
            py,
            Completer {
                shared: Arc::new(Shared {
                    queue: Mutex::new(Vec::new()),
                    waker: Waker {
                        event_loop: event_loop.clone().unbind(),
                        completer: std::sync::OnceLock::new(),
                    },
                }),
            },
        )?;
        let _ = completer.get().shared.waker.completer.set(completer.clone_ref(py));
        completer
    };
    if event_loop.setattr("_yara_orm_completer", completer.bind(py)).is_err() {
        registry.set_item(event_loop, completer.bind(py))?;
    }
    Ok(completer.get().shared.clone())
}

/// Stops the operation when its asyncio future is cancelled: interrupts a blocking statement
/// in progress (see `crate::cancel`), then aborts the tokio task.
#[pyclass(module = "yara_orm._engine", frozen)]
struct AbortOnCancel {
    handle: AbortHandle,
    scope: Arc<CancelScope>,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.scope.cancel();
            self.handle.abort();
        }
        Ok(())
    }
}

/// The running loop's completion queue and a new asyncio future on it.
fn new_future<'py>(py: Python<'py>) -> PyResult<(Arc<Shared>, Bound<'py, PyAny>)> {
    let get_loop = GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?;
    let event_loop = get_loop.call0()?;
    let shared = shared_for(py, &event_loop)?;
    let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    Ok((shared, future))
}

/// Spawn the task that ends with `fut`'s result, and make cancelling `future` abort it.
fn run<'py, F, T>(shared: Arc<Shared>, future: Bound<'py, PyAny>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Deliver,
{
    let py = future.py();
    let future_ref: FutureRef = Arc::new(future.clone().unbind());
    runtime::note_activity();
    let scope = CancelScope::new();
    let fut = cancel::scope(scope.clone(), fut);
    let handle = runtime::get().spawn(async move {
        let result = fut.await;
        runtime::note_activity();
        let make: MakeResult = Box::new(move |py| match result {
            Ok(value) => value.into_py(py),
            Err(err) => Err(to_pyerr(py, &err)),
        });
        shared.push((future_ref, Step::Done(make)));
    });
    future.call_method1(
        pyo3::intern!(py, "add_done_callback"),
        (AbortOnCancel {
            handle: handle.abort_handle(),
            scope,
        },),
    )?;
    Ok(future)
}

/// Run `fut` on the engine's runtime; return an asyncio future for its result.
pub fn spawn<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Deliver,
{
    let (shared, future) = new_future(py)?;
    run(shared, future, fut)
}

/// A piece of a list result, appended to the list on the loop thread.
pub trait Part: Send + 'static {
    fn append_to(self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()>;
}

/// Hands the parts of one operation's list result to the loop as they are ready.
///
/// The first part is held back until a second one arrives: a result of one part (every point
/// query) then travels with the operation's end, one completion and one wake-up for the loop.
/// Later parts go at once, so the loop converts each while the next is read.
pub struct PartSender {
    shared: Arc<Shared>,
    future: FutureRef,
    list: Arc<Py<PyList>>,
    held: Arc<Mutex<Held>>,
}

#[derive(Default)]
struct Held {
    first: Option<AppendPart>,
    released: bool,
}

impl PartSender {
    pub fn send<P: Part>(&self, part: P) {
        let list = self.list.clone();
        let append: AppendPart = Box::new(move |py| part.append_to(py, list.bind(py)));
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if !held.released && held.first.is_none() {
            held.first = Some(append);
            return;
        }
        held.released = true;
        if let Some(first) = held.first.take() {
            self.shared.push((self.future.clone(), Step::Part(first)));
        }
        self.shared.push((self.future.clone(), Step::Part(append)));
    }
}

/// The finished list: every part appended, or a lone (held-back) part still to append.
struct Collected {
    list: Arc<Py<PyList>>,
    lone_part: Option<AppendPart>,
}

impl Deliver for Collected {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(append) = self.lone_part {
            append(py)?;
        }
        Ok(self.list.clone_ref(py).into_any())
    }
}

/// Like [`spawn`] for an operation whose result is a list made of parts: `start` gets a
/// [`PartSender`], and each part it sends is converted on the loop thread while the operation
/// produces the next, so the two threads work at once on a large result. The future resolves
/// to the list once the operation returns; if it fails, or converting a part fails, the future
/// gets that error and the parts are dropped.
pub fn spawn_parts<'py, F, Fut>(py: Python<'py>, start: F) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(PartSender) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let (shared, future) = new_future(py)?;
    let list = Arc::new(PyList::empty(py).unbind());
    let held = Arc::new(Mutex::new(Held::default()));
    let sender = PartSender {
        shared: shared.clone(),
        future: Arc::new(future.clone().unbind()),
        list: list.clone(),
        held: held.clone(),
    };
    let fut = start(sender);
    run(shared, future, async move {
        fut.await?;
        let lone_part = held.lock().unwrap_or_else(|p| p.into_inner()).first.take();
        Ok(Collected { list, lone_part })
    })
}

/// Options given as a Python dict, as strings for the engine's parser.
pub fn options_from_dict(options: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(options) = options {
        for (k, v) in options.iter() {
            if v.is_none() {
                continue;
            }
            let value = if let Ok(b) = v.extract::<bool>() {
                b.to_string()
            } else {
                v.str()?.to_string()
            };
            out.push((k.str()?.to_string(), value));
        }
    }
    Ok(out)
}
