//! Building model instances straight from rows: the last step of the ORM's decode plan.
//!
//! The ORM computes, once per query shape, which attribute each column fills and which
//! columns need a converter; this turns each row into an instance without a tuple in
//! between and without running `__init__`: `object.__new__`, then its attributes, done.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyType};

use super::convert::to_py;
use super::stored_range::StoredRange;
use crate::value::{Rows, Value};

/// A converter that is a table: the database value is looked up in `table`, and `fallback` is
/// called only on a miss (to convert or to raise). (Not called `Lookup`: in the ORM that is the
/// IR's filter condition.) NULL stays None. Enum fields use it: a dict
/// lookup per cell instead of a call into `Enum.__call__` (measured: 2.4 ms of a 10 ms fetch of
/// 5000 rows with one enum column).
///
/// The table is copied when the converter is made. Its `str` and `int` keys are also kept on
/// the Rust side, so a text or integer cell is looked up as it is, before any Python object is
/// made for it (a str per cell, its hash and its deallocation: about 50 ns a row; measured in
/// perf/README.md, "Where a fetch's time goes"). A cell that misses there takes the Python path.
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct TableConverter {
    table: Py<PyDict>,
    fallback: Py<PyAny>,
    by_text: Members<Box<str>>,
    by_int: Members<i64>,
}

/// Table entries by key, found without a Python object. An enum has a handful of members,
/// where comparing the probe with each key costs less than hashing it once (SipHash was 2% of
/// a 5000-row fetch's loop thread); a large table is hashed.
enum Members<K> {
    Few(Vec<(K, Py<PyAny>)>),
    Many(HashMap<K, Py<PyAny>>),
}

impl<K: Eq + Hash> Members<K> {
    const FEW: usize = 8;

    fn new(entries: Vec<(K, Py<PyAny>)>) -> Self {
        if entries.len() <= Self::FEW {
            Members::Few(entries)
        } else {
            Members::Many(entries.into_iter().collect())
        }
    }

    fn get<Q: Eq + Hash + ?Sized>(&self, probe: &Q) -> Option<&Py<PyAny>>
    where
        K: Borrow<Q>,
    {
        match self {
            Members::Few(entries) => entries.iter().find(|(k, _)| k.borrow() == probe).map(|(_, m)| m),
            Members::Many(map) => map.get(probe),
        }
    }
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

    /// The conversion of an engine value: what `convert` returns for its Python object.
    fn convert_value<'py>(&self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        let hit = match value {
            Value::Text(text) => self.by_text.get(text.as_str()),
            Value::Int(i) => self.by_int.get(i),
            _ => None,
        };
        match hit {
            Some(member) => Ok(member.bind(py).clone()),
            None => self.convert(py, to_py(py, value)?),
        }
    }
}

#[pymethods]
impl TableConverter {
    #[new]
    fn new(table: Bound<'_, PyDict>, fallback: Py<PyAny>) -> PyResult<Self> {
        let table = table.copy()?;
        let mut by_text = Vec::new();
        let mut by_int = Vec::new();
        for (key, member) in table.iter() {
            // Exact types only: a subclass may define its own equality, which only the dict
            // honours. (bool is an int subclass, so True never stands in for 1 here.)
            if key.is_exact_instance_of::<PyString>() {
                if let Ok(text) = key.cast::<PyString>()?.to_str() {
                    by_text.push((text.into(), member.unbind()));
                }
            } else if key.is_exact_instance_of::<PyInt>() {
                if let Ok(i) = key.extract::<i64>() {
                    by_int.push((i, member.unbind()));
                }
            }
        }
        Ok(TableConverter {
            table: table.unbind(),
            fallback,
            by_text: Members::new(by_text),
            by_int: Members::new(by_int),
        })
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
            Converter::Table(table) => table.get().convert_value(py, value),
            Converter::Range(range) => {
                range.get().check(py, value)?;
                to_py(py, value)
            }
        }
    }
}

/// How one query shape's rows become instances (built once per shape by the ORM).
///
/// An instance is made by `object.__new__` and filled attribute by attribute, in the order
/// columns then extra entries. A model instance keeps its attributes in the class's shared-key
/// inline storage, so no dict (nor a copy of a template's keys) is allocated per row, and the
/// collector traverses one object per row instead of two. Measured: perf/README.md, "Where a
/// fetch's time goes".
#[pyclass(module = "yara_orm._engine", frozen)]
pub struct InstanceSpec {
    cls: Py<PyType>,
    /// One per column of the query, in order.
    columns: Vec<ColumnFill>,
    /// Extra entries that are not columns, set after them.
    tail: Vec<(Py<PyString>, Py<PyAny>)>,
    /// Set when attributes cannot be set one by one (a name is a data descriptor, or an extra
    /// key is not a str): every instance's `__dict__` then starts as a copy of this, the column
    /// names (None for now) then the extra entries. A copy of a ready-made dict costs one
    /// allocation and no rehashing; filling an empty one resized it twice per row.
    template: Option<Py<PyDict>>,
}

/// The attribute one column fills, and with what: decided once per query shape.
struct ColumnFill {
    name: Py<PyString>,
    with: Fill,
}

enum Fill {
    /// The cell as it decodes.
    Cell,
    /// The cell through the field's converter.
    Converted(Converter),
    /// The extra entry of the same name, which replaces the cell (not converted).
    Extra(Py<PyAny>),
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
        let extra = extra.map(|e| e.into_bound(py)).unwrap_or_else(|| PyDict::new(py));
        let mut tail = Vec::new();
        let mut plain = true;
        for (key, value) in extra.iter() {
            match key.cast_into::<PyString>() {
                Ok(key) if !key.to_str().is_ok_and(|k| names.iter().any(|n| n == k)) => {
                    tail.push((key.unbind(), value.unbind()))
                }
                Ok(_) => {}
                Err(_) => plain = false,
            }
        }
        let mut columns = Vec::with_capacity(names.len());
        for (name, converter) in names.iter().zip(converters) {
            let name = PyString::intern(py, name);
            let with = match (extra.get_item(&name)?, converter) {
                (Some(entry), _) => Fill::Extra(entry.unbind()),
                (None, Some(converter)) => Fill::Converted(Converter::from_py(converter, py)),
                (None, None) => Fill::Cell,
            };
            columns.push(ColumnFill {
                name: name.unbind(),
                with,
            });
        }
        let bound_cls = cls.bind(py);
        for name in columns.iter().map(|c| &c.name).chain(tail.iter().map(|(n, _)| n)) {
            plain &= !is_data_descriptor(bound_cls, name.bind(py))?;
        }
        let template = if plain {
            None
        } else {
            let template = PyDict::new(py);
            for column in &columns {
                template.set_item(column.name.bind(py), py.None())?;
            }
            template.update(extra.as_mapping())?;
            Some(template.unbind())
        };
        Ok(InstanceSpec {
            cls,
            columns,
            tail,
            template,
        })
    }

    #[getter]
    fn width(&self) -> usize {
        self.columns.len()
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
        if rows.width != self.columns.len() && !rows.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "the query returned {} columns but the decode plan names {}",
                rows.width,
                self.columns.len()
            )));
        }
        let _pause = super::convert::GcPause::new(py);
        match &self.template {
            None => self.build_by_attribute(py, rows, out),
            Some(template) => self.build_from_template(py, rows, out, template.bind(py)),
        }
    }

    fn build_by_attribute(&self, py: Python<'_>, rows: &Rows, out: &Bound<'_, PyList>) -> PyResult<()> {
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
            for (value, column) in row.iter().zip(&self.columns) {
                set_attr(&obj, column.name.bind(py), &column.value(py, value)?)?;
            }
            for (name, value) in &self.tail {
                set_attr(&obj, name.bind(py), value.bind(py))?;
            }
            out.append(obj)?;
        }
        Ok(())
    }

    fn build_from_template(
        &self,
        py: Python<'_>,
        rows: &Rows,
        out: &Bound<'_, PyList>,
        template: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let cls = self.cls.bind(py);
        for row in rows.iter().take(rows.len()) {
            let dict = template.copy()?;
            for (value, column) in row.iter().zip(&self.columns) {
                dict.set_item(column.name.bind(py), column.value(py, value)?)?;
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
}

impl ColumnFill {
    /// The attribute's value for a row whose cell in this column is `value`.
    fn value<'py>(&self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        match &self.with {
            Fill::Cell => to_py(py, value),
            Fill::Converted(converter) => converter.convert(py, value),
            Fill::Extra(entry) => Ok(entry.bind(py).clone()),
        }
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
