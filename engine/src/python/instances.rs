//! Building model instances straight from rows: the last step of the ORM's decode plan.
//!
//! The ORM computes, once per query shape, which attribute each column fills and which
//! columns need a converter; this turns each row into an instance without a tuple in
//! between and without running `__init__`: `object.__new__`, then its attributes, done.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyType};

use super::convert::to_py;
use super::stored_range::StoredRange;
use crate::value::{Rows, Value};

/// A converter that is a table: the database value is looked up in `table`, and `fallback` is
/// called only on a miss (to convert or to raise). (Not called `Lookup`: in the ORM that is the
/// IR's filter condition.) NULL stays None. Enum fields use it: a dict
/// lookup per cell instead of a call into `Enum.__call__` (measured: 2.4 ms of a 10 ms fetch of
/// 5000 rows with one enum column).
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct TableConverter {
    table: Py<PyDict>,
    fallback: Py<PyAny>,
}

impl TableConverter {
    fn convert<'py>(&self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if value.is_none() {
            return Ok(value);
        }
        // An unhashable value cannot be in the table: the fallback decides what it means.
        if let Ok(Some(hit)) = self.table.bind(py).get_item(&value) {
            return Ok(hit);
        }
        self.fallback.bind(py).call1((value,))
    }
}

#[pymethods]
impl TableConverter {
    #[new]
    fn new(table: Py<PyDict>, fallback: Py<PyAny>) -> Self {
        TableConverter { table, fallback }
    }

    fn __call__<'py>(&self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, value)
    }
}

/// One column's conversion, resolved once when the spec is built.
enum Converter {
    Call(Py<PyAny>),
    Table(Py<TableConverter>),
    /// Checked on the engine value, which then converts as usual.
    Range(Py<StoredRange>),
}

impl Converter {
    fn from_py(obj: Py<PyAny>, py: Python<'_>) -> Self {
        let bound = obj.bind(py);
        if let Ok(table) = bound.cast::<TableConverter>() {
            return Converter::Table(table.clone().unbind());
        }
        if let Ok(range) = bound.cast::<StoredRange>() {
            return Converter::Range(range.clone().unbind());
        }
        Converter::Call(obj)
    }

    fn convert<'py>(&self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Converter::Call(f) => f.bind(py).call1((to_py(py, value)?,)),
            Converter::Table(table) => table.get().convert(py, to_py(py, value)?),
            Converter::Range(range) => {
                range.get().check(py, value)?;
                to_py(py, value)
            }
        }
    }
}

/// How one query shape's rows become instances (built once per shape by the ORM).
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct InstanceSpec {
    cls: Py<PyType>,
    names: Vec<Py<PyString>>,
    converters: Vec<Option<Converter>>,
    /// The instance's attributes in order: the column names (None for now) then the extra
    /// entries (e.g. which fields were loaded). When a name is a data descriptor, every
    /// instance's `__dict__` starts as a copy of this (one allocation and no rehashing, where
    /// filling an empty dict resized it twice per row).
    template: Py<PyDict>,
    /// Columns not written per row, because an extra entry of the same name wins.
    shadowed: Vec<bool>,
    /// Set as attributes instead (see [`AttrFill`]); None when a name is a data descriptor.
    attrs: Option<AttrFill>,
}

/// Filling an instance attribute by attribute, in the template's order. An instance made by
/// `object.__new__` keeps its attributes in the class's shared-key inline storage, so no dict
/// (nor a copy of the template's keys) is allocated per row, and the collector traverses one
/// object per row instead of two. Measured: perf/README.md, "Where a fetch's time goes".
struct AttrFill {
    /// Per column: the extra entry's value that replaces the cell (a shadowed column).
    shadow: Vec<Option<Py<PyAny>>>,
    /// Extra entries that are not columns, set after them.
    tail: Vec<(Py<PyString>, Py<PyAny>)>,
}

/// Whether `name` on `cls` is a data descriptor (a property, a relation descriptor): setting it
/// as an attribute would run its `__set__`, where the dict path stores the value beside it.
fn is_data_descriptor(cls: &Bound<'_, PyType>, name: &Bound<'_, PyString>) -> PyResult<bool> {
    let py = cls.py();
    for base in cls.getattr(pyo3::intern!(py, "__mro__"))?.try_iter()? {
        let base = base?;
        let found = base.getattr(pyo3::intern!(py, "__dict__"))?.get_item(name).ok();
        if let Some(attr) = found {
            let kind = attr.get_type();
            return Ok(kind.hasattr(pyo3::intern!(py, "__set__"))? || kind.hasattr(pyo3::intern!(py, "__delete__"))?);
        }
    }
    Ok(false)
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
        let names: Vec<Py<PyString>> = names.iter().map(|n| PyString::intern(py, n).unbind()).collect();
        let converters = converters
            .into_iter()
            .map(|c| c.map(|c| Converter::from_py(c, py)))
            .collect();
        let template = PyDict::new(py);
        for name in &names {
            template.set_item(name.bind(py), py.None())?;
        }
        let mut shadowed = vec![false; names.len()];
        let mut shadow: Vec<Option<Py<PyAny>>> = names.iter().map(|_| None).collect();
        let mut tail = Vec::new();
        if let Some(extra) = &extra {
            let extra = extra.bind(py);
            for ((name, hidden), value) in names.iter().zip(shadowed.iter_mut()).zip(shadow.iter_mut()) {
                *value = extra.get_item(name.bind(py))?.map(Bound::unbind);
                *hidden = value.is_some();
            }
            for (key, value) in extra.iter() {
                let key = key.cast_into::<PyString>()?;
                if !template.contains(&key)? {
                    tail.push((key.unbind(), value.unbind()));
                }
            }
            template.update(extra.as_mapping())?;
        }
        let mut plain = true;
        for key in template.keys() {
            plain &= !is_data_descriptor(cls.bind(py), key.cast::<PyString>()?)?;
        }
        Ok(InstanceSpec {
            cls,
            names,
            converters,
            template: template.unbind(),
            shadowed,
            attrs: plain.then_some(AttrFill { shadow, tail }),
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
        let out = PyList::empty(py);
        self.build_into(py, rows, &out)?;
        Ok(out.into_any())
    }

    /// Every row as an instance, appended to `out`.
    pub fn build_into(&self, py: Python<'_>, rows: &Rows, out: &Bound<'_, PyList>) -> PyResult<()> {
        if rows.width != self.names.len() && !rows.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "the query returned {} columns but the decode plan names {}",
                rows.width,
                self.names.len()
            )));
        }
        let _pause = super::convert::GcPause::new(py);
        if let Some(fill) = &self.attrs {
            return self.build_attrs(py, rows, out, fill);
        }
        let cls = self.cls.bind(py);
        let template = self.template.bind(py);
        for row in rows.iter().take(rows.len()) {
            let dict = template.copy()?;
            let cells = row.iter().zip(&self.names).zip(&self.converters).zip(&self.shadowed);
            for (((value, name), conv), &shadowed) in cells {
                let item = match conv {
                    Some(conv) => conv.convert(py, value)?,
                    None => to_py(py, value)?,
                };
                if !shadowed {
                    dict.set_item(name.bind(py), item)?;
                }
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
            out.append(obj)?;
        }
        Ok(())
    }

    fn build_attrs(&self, py: Python<'_>, rows: &Rows, out: &Bound<'_, PyList>, fill: &AttrFill) -> PyResult<()> {
        let cls = self.cls.bind(py);
        let no_args = pyo3::types::PyTuple::empty(py);
        // SAFETY: object.__new__ is always set on the base object type.
        let new = unsafe { (*std::ptr::addr_of!(pyo3::ffi::PyBaseObject_Type)).tp_new }
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("object has no __new__"))?;
        for row in rows.iter().take(rows.len()) {
            // SAFETY: object.__new__(cls) returns a new reference or NULL with an exception set.
            let obj = unsafe {
                Bound::from_owned_ptr_or_err(py, new(cls.as_ptr().cast(), no_args.as_ptr(), std::ptr::null_mut()))?
            };
            let cells = row.iter().zip(&self.names).zip(&self.converters).zip(&fill.shadow);
            for (((value, name), conv), shadow) in cells {
                let item = match shadow {
                    Some(v) => v.bind(py).clone(),
                    None => match conv {
                        Some(conv) => conv.convert(py, value)?,
                        None => to_py(py, value)?,
                    },
                };
                set_attr(&obj, name.bind(py), &item)?;
            }
            for (name, value) in &fill.tail {
                set_attr(&obj, name.bind(py), value.bind(py))?;
            }
            out.append(obj)?;
        }
        Ok(())
    }
}

/// `object.__setattr__(obj, name, value)`: the instance's own storage, no `__setattr__` override.
fn set_attr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: all three are live objects; the call borrows them and reports failure with -1.
    if unsafe { pyo3::ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) } != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    Ok(())
}
