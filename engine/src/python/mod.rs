//! The `yara_orm._engine` extension module.

mod bridge;
mod convert;
mod errors;
mod instances;
mod runtime;
mod stored_range;

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use tokio::sync::Mutex as AsyncMutex;

use crate::any::{AnyBackend, AnyCursor, AnyTransaction};
use crate::backend::{Backend, Capabilities, Cursor, IsolationLevel, Transaction};
use crate::error::EngineError;
use crate::value::{Rows, Value};
use bridge::{spawn, spawn_parts, Deliver, Part};
use convert::{row_to_py, rows_to_py, sql_text, to_param_sets, to_params};
use instances::InstanceSpec;

/// Marks a parameter as JSON.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct Json {
    #[pyo3(get)]
    value: Py<PyAny>,
    #[pyo3(get)]
    raw: bool,
}

#[pymethods]
impl Json {
    #[new]
    #[pyo3(signature = (value, raw = false))]
    fn new(value: Py<PyAny>, raw: bool) -> Self {
        Json { value, raw }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Json({})", self.value.bind(py).repr()?))
    }
}

// What each operation hands back to the loop thread.
struct Count(u64);
/// Rows affected and the first generated key (`execute_insert`).
struct Inserted((u64, Option<u64>));
struct Unit;
struct Text(String);
struct AllRows(Rows);
struct RowsWithColumns(Rows);
struct OneRow(Option<Vec<Value>>);

impl Deliver for Count {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.0.into_pyobject(py)?.into_any().unbind())
    }
}

impl Deliver for Inserted {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.0.into_pyobject(py)?.into_any().unbind())
    }
}

impl Deliver for Unit {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(py.None())
    }
}

impl Deliver for Text {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.0.into_pyobject(py)?.into_any().unbind())
    }
}

impl Deliver for AllRows {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = rows_to_py(py, &self.0)?.into_any().unbind();
        runtime::free_on_runtime(self.0);
        Ok(out)
    }
}

impl Deliver for RowsWithColumns {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let columns = PyList::new(py, &self.0.columns)?;
        let rows = rows_to_py(py, &self.0)?;
        runtime::free_on_runtime(self.0);
        Ok(PyTuple::new(py, [columns.into_any(), rows.into_any()])?
            .into_any()
            .unbind())
    }
}

struct Instances(Rows, Py<InstanceSpec>);

impl Deliver for Instances {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = self.1.get().build(py, &self.0)?.unbind();
        runtime::free_on_runtime(self.0);
        Ok(out)
    }
}

/// A batch of rows as instances, appended to the list a batched fetch builds.
struct InstancesPart(Rows, Arc<Py<InstanceSpec>>);

impl Part for InstancesPart {
    fn append_to(self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        self.1.get().build_into(py, &self.0, out)?;
        runtime::free_on_runtime(self.0);
        Ok(())
    }
}

/// A batch of rows as tuples, appended to the list a batched fetch builds.
struct TuplesPart(Rows);

impl Part for TuplesPart {
    fn append_to(self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        for row in self.0.iter().take(self.0.len()) {
            out.append(row_to_py(py, row)?)?;
        }
        runtime::free_on_runtime(self.0);
        Ok(())
    }
}

impl Deliver for OneRow {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.0 {
            Some(row) => Ok(row_to_py(py, &row)?.into_any().unbind()),
            None => Ok(py.None()),
        }
    }
}

impl Deliver for AnyBackend {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let backend = self.capabilities().backend;
        Ok(Py::new(
            py,
            EnginePool {
                inner: Arc::new(self),
                backend,
            },
        )?
        .into_any())
    }
}

impl Deliver for AnyTransaction {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(
            py,
            EngineTransaction {
                inner: Arc::new(AsyncMutex::new(Some(self))),
            },
        )?
        .into_any())
    }
}

impl Deliver for AnyCursor {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let columns = self.columns().to_vec();
        Ok(Py::new(
            py,
            EngineCursor {
                columns,
                inner: Arc::new(AsyncMutex::new(Some(self))),
            },
        )?
        .into_any())
    }
}

fn isolation(py: Python<'_>, name: Option<&str>) -> PyResult<Option<IsolationLevel>> {
    name.map(IsolationLevel::parse)
        .transpose()
        .map_err(|e| errors::to_pyerr(py, &e))
}

fn capabilities_dict<'py>(py: Python<'py>, caps: &Capabilities) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("backend", caps.backend)?;
    d.set_item("max_bind_params", caps.max_bind_params)?;
    d.set_item("returning", caps.returning)?;
    d.set_item("savepoints", caps.savepoints)?;
    d.set_item(
        "isolation_levels",
        caps.isolation_levels.iter().map(|l| l.name()).collect::<Vec<_>>(),
    )?;
    d.set_item("timestamp_precision_us", caps.timestamp_precision_us)?;
    d.set_item("date_range", caps.date_range)?;
    d.set_item("float_nan", caps.float_nan)?;
    d.set_item("float_infinity", caps.float_infinity)?;
    d.set_item("float_signed_zero", caps.float_signed_zero)?;
    d.set_item("text_allows_nul", caps.text_allows_nul)?;
    d.set_item("empty_string_is_null", caps.empty_string_is_null)?;
    d.set_item("json", caps.json)?;
    d.set_item("arrays", caps.arrays)?;
    d.set_item("interval", caps.interval)?;
    d.set_item("numeric_max_digits", caps.numeric_max_digits)?;
    d.set_item("numeric_special", caps.numeric_special)?;
    d.set_item("big_integers", caps.big_integers)?;
    d.set_item("for_update", caps.for_update)?;
    d.set_item("skip_locked", caps.skip_locked)?;
    d.set_item("statement_timeout", caps.statement_timeout)?;
    d.set_item("streaming", caps.streaming)?;
    d.set_item("copy_in", caps.copy_in)?;
    d.set_item("last_insert_id", caps.last_insert_id)?;
    d.set_item("insert_id_step", caps.insert_id_step)?;
    d.set_item("placeholder", caps.placeholder)?;
    Ok(d)
}

/// A connection pool.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct EnginePool {
    inner: Arc<AnyBackend>,
    #[pyo3(get)]
    backend: &'static str,
}

/// Run one operation on the pool.
macro_rules! on_pool {
    ($self:ident, $py:ident, |$backend:ident| $body:expr) => {{
        let $backend = $self.inner.clone();
        spawn($py, async move { $body })
    }};
}

/// `on_pool!` for a fetch whose rows are handed to the loop in parts (see `spawn_parts`).
macro_rules! on_pool_parts {
    ($self:ident, $py:ident, |$backend:ident, $parts:ident| $body:expr) => {{
        let $backend = $self.inner.clone();
        spawn_parts($py, move |$parts| async move { $body })
    }};
}

/// The `#[pymethods]` of a pool or a transaction: the statement methods both have, generated
/// once for each so they cannot drift apart, then `$extra`, the methods of that type alone.
/// `$run` runs one operation (`on_pool!` or `with_tx!`); `$run_parts` one whose list result
/// reaches the loop in parts.
macro_rules! statement_methods {
    ($ty:ident, $run:ident, $run_parts:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $ty {
            #[pyo3(signature = (sql, params = None))]
            fn execute<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                $run!(self, py, |r| r.execute(&sql, params).await.map(Count))
            }

            /// Run one INSERT: (rows affected, first generated key or None); see the stub.
            #[pyo3(signature = (sql, params = None))]
            fn execute_insert<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                $run!(self, py, |r| r.execute_insert(&sql, params).await.map(Inserted))
            }

            fn execute_many<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params_seq: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let sets = to_param_sets(py, params_seq)?;
                $run!(self, py, |r| r.execute_many(&sql, sets).await.map(Count))
            }

            /// Bulk-load `columns` (one sequence of values per column) with `copy_sql`; see the stub.
            fn copy_in<'py>(
                &self,
                py: Python<'py>,
                copy_sql: String,
                types_from: String,
                columns: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let columns = to_param_sets(py, columns)?;
                $run!(self, py, |r| r.copy_in(&copy_sql, &types_from, columns).await.map(Count))
            }

            #[pyo3(signature = (sql, params = None))]
            fn fetch<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                $run_parts!(self, py, |r, parts| r
                    .fetch_batched(&sql, params, &mut |rows| parts.send(TuplesPart(rows)))
                    .await)
            }

            #[pyo3(signature = (sql, params = None))]
            fn fetch_with_columns<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                $run!(self, py, |r| r.fetch(&sql, params).await.map(RowsWithColumns))
            }

            #[pyo3(signature = (sql, params = None))]
            fn fetch_one<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                $run!(self, py, |r| r.fetch_one(&sql, params).await.map(OneRow))
            }

            /// Run a query and build one instance per row as `spec` describes.
            fn fetch_instances<'py>(
                &self,
                py: Python<'py>,
                sql: &Bound<'py, PyAny>,
                params: Option<&Bound<'py, PyAny>>,
                spec: Py<InstanceSpec>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let sql = sql_text(py, sql)?;
                let params = to_params(py, params)?;
                let spec = Arc::new(spec);
                $run_parts!(self, py, |r, parts| r
                    .fetch_batched(&sql, params, &mut |rows| parts.send(InstancesPart(rows, spec.clone())))
                    .await)
            }

            $($extra)*
        }
    };
}

statement_methods!(EnginePool, on_pool, on_pool_parts, {
    fn capabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        capabilities_dict(py, self.inner.capabilities())
    }

    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status();
        let d = PyDict::new(py);
        d.set_item("size", s.size)?;
        d.set_item("available", s.available)?;
        d.set_item("max_size", s.max_size)?;
        d.set_item("waiting", s.waiting)?;
        Ok(d)
    }

    #[getter]
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[pyo3(signature = (isolation = None))]
    fn begin<'py>(&self, py: Python<'py>, isolation: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let level = self::isolation(py, isolation)?;
        let inner = self.inner.clone();
        spawn(py, async move { inner.begin(level).await })
    }

    #[pyo3(signature = (sql, params = None, chunk_size = 1000))]
    fn cursor<'py>(
        &self,
        py: Python<'py>,
        sql: &Bound<'py, PyAny>,
        params: Option<&Bound<'py, PyAny>>,
        chunk_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sql = sql_text(py, sql)?;
        let params = to_params(py, params)?;
        let inner = self.inner.clone();
        spawn(py, async move { inner.cursor(&sql, params, chunk_size).await })
    }

    fn server_version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move { inner.server_version().await.map(Text) })
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move {
            inner.close();
            Ok(Unit)
        })
    }
});

fn finished() -> EngineError {
    EngineError::transaction("the transaction has already been committed or rolled back")
}

/// One open transaction. Dropped without commit or rollback, it is rolled back.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct EngineTransaction {
    inner: Arc<AsyncMutex<Option<AnyTransaction>>>,
}

/// Run one operation on the open transaction, or fail if it is finished.
macro_rules! with_tx {
    ($self:ident, $py:ident, |$tx:ident| $body:expr) => {{
        let inner = $self.inner.clone();
        spawn($py, async move {
            let mut guard = inner.lock().await;
            let $tx = guard.as_mut().ok_or_else(finished)?;
            $body
        })
    }};
}

/// `with_tx!` for a fetch whose rows are handed to the loop in parts (see `spawn_parts`).
macro_rules! with_tx_parts {
    ($self:ident, $py:ident, |$tx:ident, $parts:ident| $body:expr) => {{
        let inner = $self.inner.clone();
        spawn_parts($py, move |$parts| async move {
            let mut guard = inner.lock().await;
            let $tx = guard.as_mut().ok_or_else(finished)?;
            $body
        })
    }};
}

statement_methods!(EngineTransaction, with_tx, with_tx_parts, {
    fn savepoint<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        with_tx!(self, py, |tx| tx.savepoint(&name).await.map(|_| Unit))
    }

    fn rollback_to<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        with_tx!(self, py, |tx| tx.rollback_to(&name).await.map(|_| Unit))
    }

    fn release<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        with_tx!(self, py, |tx| tx.release(&name).await.map(|_| Unit))
    }

    fn commit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move {
            let tx = inner.lock().await.take().ok_or_else(finished)?;
            tx.commit().await.map(|_| Unit)
        })
    }

    fn rollback<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move {
            let tx = inner.lock().await.take().ok_or_else(finished)?;
            tx.rollback().await.map(|_| Unit)
        })
    }

    #[getter]
    fn is_active(&self) -> bool {
        match self.inner.try_lock() {
            Ok(guard) => guard.is_some(),
            Err(_) => true,
        }
    }
});

impl Drop for EngineTransaction {
    /// Garbage-collected while still open (on the loop thread, outside the runtime): drop the
    /// transaction inside the runtime's context so its rollback can be scheduled there.
    fn drop(&mut self) {
        if let Ok(mut guard) = self.inner.try_lock() {
            if let Some(tx) = guard.take() {
                let _context = runtime::get().enter();
                drop(tx);
            }
        }
    }
}

/// A server-side stream over one query.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct EngineCursor {
    #[pyo3(get)]
    columns: Vec<String>,
    inner: Arc<AsyncMutex<Option<AnyCursor>>>,
}

#[pymethods]
impl EngineCursor {
    fn fetch_chunk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move { next_chunk(&inner).await.map(AllRows) })
    }

    /// The next chunk as instances built by `spec` (see `EnginePool.fetch_instances`).
    fn fetch_chunk_instances<'py>(&self, py: Python<'py>, spec: Py<InstanceSpec>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(
            py,
            async move { next_chunk(&inner).await.map(|rows| Instances(rows, spec)) },
        )
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        spawn(py, async move {
            inner.lock().await.take();
            Ok(Unit)
        })
    }
}

/// The next chunk of a cursor; empty once exhausted, when the connection is released at once
/// rather than at garbage collection.
async fn next_chunk(inner: &AsyncMutex<Option<AnyCursor>>) -> crate::error::Result<Rows> {
    let mut guard = inner.lock().await;
    let Some(cursor) = guard.as_mut() else {
        return Ok(Rows::default());
    };
    let rows = cursor.next_chunk().await?;
    if rows.is_empty() {
        *guard = None;
    }
    Ok(rows)
}

/// Open a pool for `url` (see the stub for options).
#[pyfunction]
#[pyo3(signature = (url, options = None))]
fn connect<'py>(py: Python<'py>, url: String, options: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
    let options = bridge::options_from_dict(options)?;
    // Parse now so a malformed URL raises at the call, before anything is spawned.
    crate::config::parse(&url, &options).map_err(|e| errors::to_pyerr(py, &e))?;
    spawn(py, async move { crate::any::connect(&url, &options).await })
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::configure_from_env(m.py())?;
    m.add_class::<Json>()?;
    m.add_class::<InstanceSpec>()?;
    m.add_class::<instances::TableConverter>()?;
    m.add_class::<stored_range::StoredRange>()?;
    m.add_class::<EnginePool>()?;
    m.add_class::<EngineTransaction>()?;
    m.add_class::<EngineCursor>()?;
    m.add_class::<bridge::Completer>()?;
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::configure_runtime, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::runtime_settings, m)?)?;
    Ok(())
}
