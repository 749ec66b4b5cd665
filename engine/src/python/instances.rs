//! Building model instances straight from rows: the last step of the ORM's decode plan.
//!
//! The ORM computes, once per query shape, which attribute each column fills and which
//! columns need a converter; this turns each row into an instance without a tuple in
//! between and without running `__init__`: allocate, fill a fresh `__dict__`, done.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};

use super::convert::to_py;
use crate::value::Rows;

/// How one query shape's rows become instances (built once per shape by the ORM).
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct InstanceSpec {
    cls: Py<PyType>,
    names: Vec<Py<PyString>>,
    converters: Vec<Option<Py<PyAny>>>,
    /// Extra entries every instance's `__dict__` gets (e.g. which fields were loaded).
    extra: Option<Py<PyDict>>,
}

#[pymethods]
impl InstanceSpec {
    #[new]
    #[pyo3(signature = (cls, names, converters, extra = None))]
    fn new(
        py: Python<'_>,
        cls: Py<PyType>,
        names: Vec<String>,
        converters: Vec<Option<Py<PyAny>>>,
        extra: Option<Py<PyDict>>,
    ) -> PyResult<Self> {
        if names.len() != converters.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "names and converters must have the same length",
            ));
        }
        let names = names.iter().map(|n| PyString::intern(py, n).unbind()).collect();
        Ok(InstanceSpec {
            cls,
            names,
            converters,
            extra,
        })
    }

    #[getter]
    fn width(&self) -> usize {
        self.names.len()
    }
}

impl InstanceSpec {
    /// Every row as an instance; a list.
    pub fn build<'py>(&self, py: Python<'py>, rows: &Rows) -> PyResult<Bound<'py, PyAny>> {
        if rows.width != self.names.len() && !rows.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "the query returned {} columns but the decode plan names {}",
                rows.width,
                self.names.len()
            )));
        }
        let _pause = super::convert::GcPause::new(py);
        let cls = self.cls.bind(py);
        let extra = self.extra.as_ref().map(|e| e.bind(py));
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.iter().take(rows.len()) {
            let dict = PyDict::new(py);
            for ((value, name), conv) in row.iter().zip(&self.names).zip(&self.converters) {
                let mut item = to_py(py, value)?;
                if let Some(conv) = conv {
                    item = conv.bind(py).call1((item,))?;
                }
                dict.set_item(name.bind(py), item)?;
            }
            if let Some(extra) = extra {
                dict.update(extra.as_mapping())?;
            }
            // SAFETY: PyType_GenericAlloc returns a new, zeroed, GC-tracked instance of `cls`
            // (checked for NULL), as object.__new__ would; PyObject_GenericSetDict installs the
            // dict (it takes its own reference) and reports failure with -1 and an exception.
            let obj = unsafe {
                let raw = pyo3::ffi::PyType_GenericAlloc(cls.as_ptr().cast(), 0);
                let obj = Bound::from_owned_ptr_or_err(py, raw)?;
                if pyo3::ffi::PyObject_GenericSetDict(obj.as_ptr(), dict.as_ptr(), std::ptr::null_mut()) != 0 {
                    return Err(PyErr::fetch(py));
                }
                obj
            };
            out.push(obj);
        }
        Ok(pyo3::types::PyList::new(py, out)?.into_any())
    }
}
