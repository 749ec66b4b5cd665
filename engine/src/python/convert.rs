//! Python objects to `Value`s (parameters) and `Value`s to Python objects (results).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDate, PyDateTime, PyDelta, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString,
    PyTime, PyTuple, PyType, PyTzInfo,
};
use pyo3::types::{PyDateAccess, PyTimeAccess};
use pyo3::IntoPyObjectExt;

use super::errors::{params_error, to_pyerr};
use super::Json;
use crate::error::EngineError;
use crate::value::{Interval, Rows, Value};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

fn uuid_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    UUID.import(py, "uuid", "UUID")
}

fn json_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    JSON_DUMPS.import(py, "json", "dumps")
}

fn json_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    JSON_LOADS.import(py, "json", "loads")
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Serialise a Python object as JSON text, refusing NaN/Infinity (not valid JSON).
pub fn dump_json(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    kwargs.set_item("ensure_ascii", false)?;
    json_dumps(py)?
        .call((obj,), Some(&kwargs))
        .map_err(|e| params_error(py, format!("value is not JSON-serialisable: {e}")))?
        .extract()
}

fn timedelta_micros(delta: &Bound<'_, PyAny>) -> Option<i64> {
    let d: TimeDelta = delta.extract().ok()?;
    d.num_microseconds()
}

/// An aware datetime as a UTC instant, for any tzinfo (zoneinfo included, folds respected):
/// the wall-clock fields minus `utcoffset()`.
fn aware_to_utc(dt: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    let offset: TimeDelta = dt.call_method0("utcoffset")?.extract()?;
    let dt = dt.cast::<PyDateTime>()?;
    let wall = NaiveDate::from_ymd_opt(dt.get_year(), dt.get_month().into(), dt.get_day().into())
        .and_then(|d| {
            d.and_hms_micro_opt(
                dt.get_hour().into(),
                dt.get_minute().into(),
                dt.get_second().into(),
                dt.get_microsecond(),
            )
        })
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("invalid datetime fields"))?;
    wall.checked_sub_signed(offset)
        .map(|utc| utc.and_utc())
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("datetime out of range after UTC conversion"))
}

/// One Python parameter as a `Value`. Common scalars are checked first.
pub fn to_value(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: bool is an int subclass in Python.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            // Beyond int64: travels exactly as a decimal; fits NUMERIC, fails loudly elsewhere.
            Err(_) => Ok(Value::Decimal(obj.str()?.to_string())),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(|s| Value::Text(s.to_owned()))
            .map_err(|_| params_error(py, "text cannot be encoded as UTF-8 (lone surrogate?)".into()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        return Ok(Value::Bytes(
            obj.call_method0("tobytes")?.cast::<PyBytes>()?.as_bytes().to_vec(),
        ));
    }
    // datetime before date: datetime is a date subclass.
    if obj.is_instance_of::<PyDateTime>() {
        let tz = obj.getattr("tzinfo")?;
        if tz.is_none() {
            return Ok(Value::Timestamp(obj.extract::<NaiveDateTime>()?));
        }
        return aware_to_utc(obj)
            .map(Value::TimestampTz)
            .map_err(|e| params_error(py, format!("aware datetime could not be converted to UTC: {e}")));
    }
    if obj.is_instance_of::<PyDate>() {
        return Ok(Value::Date(obj.extract::<NaiveDate>()?));
    }
    if obj.is_instance_of::<PyTime>() {
        if !obj.getattr("tzinfo")?.is_none() {
            return Err(params_error(
                py,
                "times with a tzinfo are not supported; pass a naive time".into(),
            ));
        }
        return Ok(Value::Time(obj.extract::<NaiveTime>()?));
    }
    if obj.is_instance_of::<PyDelta>() {
        return timedelta_micros(obj)
            .map(|us| Value::Interval(Interval::from_micros(us)))
            .ok_or_else(|| params_error(py, "timedelta out of range".into()));
    }
    if obj.is_instance(decimal_type(py)?)? {
        let text = obj.str()?.to_string();
        if text.eq_ignore_ascii_case("snan") || text.eq_ignore_ascii_case("-snan") {
            return Err(params_error(py, "signalling NaN decimals cannot be stored".into()));
        }
        return Ok(Value::Decimal(text));
    }
    if obj.is_instance(uuid_type(py)?)? {
        // The 128-bit `int` slot, not the `bytes` property (a Python-level call per value).
        let int: u128 = obj
            .getattr(pyo3::intern!(py, "int"))?
            .extract()
            .map_err(|e| params_error(py, format!("bad UUID: {e}")))?;
        return Ok(Value::Uuid(uuid::Uuid::from_u128(int)));
    }
    if let Ok(j) = obj.cast::<Json>() {
        let j = j.get();
        let value = j.value.bind(py);
        return if j.raw {
            Ok(Value::Json(value.extract::<String>()?))
        } else {
            Ok(Value::Json(dump_json(py, value)?))
        };
    }
    if obj.is_instance_of::<PyDict>() {
        return Ok(Value::Json(dump_json(py, obj)?));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::with_capacity(obj.len()?);
        for item in obj.try_iter()? {
            items.push(to_value(py, &item?)?);
        }
        return Ok(Value::Array(items));
    }
    Err(params_error(
        py,
        format!("cannot bind a value of type {}", type_name(obj)),
    ))
}

/// A parameter list (any sequence, or None) as `Value`s, naming the position of a bad one.
/// SQL text as the engine sends it, refused before anything runs when it holds a NUL (SQLite
/// stops reading at one and would run the prefix: `DELETE FROM t\0 WHERE ...` deletes every
/// row) or a lone surrogate (no UTF-8 form: the server could never receive it).
pub fn sql_text(py: Python<'_>, sql: &Bound<'_, PyAny>) -> PyResult<String> {
    let Ok(text) = sql.cast::<PyString>() else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "SQL must be a str, got {}",
            type_name(sql)
        )));
    };
    let Ok(text) = text.to_str() else {
        return Err(to_pyerr(
            py,
            &EngineError::programming("the SQL text contains a lone surrogate (not encodable as UTF-8)"),
        ));
    };
    if let Some(at) = text.find('\0') {
        let position = text[..at].chars().count();
        return Err(to_pyerr(
            py,
            &EngineError::programming(format!(
                "the SQL text contains a NUL character at position {position}; nothing was run \
                 (pass values with NULs as parameters)"
            )),
        ));
    }
    Ok(text.to_owned())
}

pub fn to_params(py: Python<'_>, params: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Value>> {
    let Some(params) = params else { return Ok(Vec::new()) };
    if params.is_none() {
        return Ok(Vec::new());
    }
    if params.is_instance_of::<PyString>() || params.is_instance_of::<PyBytes>() || params.is_instance_of::<PyDict>() {
        return Err(params_error(py, "parameters must be a list or tuple of values".into()));
    }
    let mut out = Vec::with_capacity(params.len().unwrap_or(0));
    for (i, item) in params.try_iter()?.enumerate() {
        let item = item?;
        out.push(to_value(py, &item).map_err(|e| {
            let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
            params_error(py, format!("parameter {} ({}): {msg}", i + 1, type_name(&item)))
        })?);
    }
    Ok(out)
}

fn decode_error(py: Python<'_>, msg: String) -> PyErr {
    super::errors::to_pyerr(py, &EngineError::data(msg))
}

/// What a decoded UUID is made of, looked up once: the `SafeUUID.unknown` every decoded UUID
/// carries, and how to store its two slots.
struct UuidParts {
    safe: Py<PyAny>,
    slots: UuidSlots,
}

/// How the `int` and `is_safe` slots are stored.
enum UuidSlots {
    /// Through their member descriptors' definitions, as `object.__setattr__` ends up doing
    /// after looking each descriptor up in the class (that lookup was a large part of the cost of
    /// a decoded UUID: perf/README.md, "Where a fetch's time goes").
    Members {
        int: *mut pyo3::ffi::PyMemberDef,
        is_safe: *mut pyo3::ffi::PyMemberDef,
    },
    /// `object.__setattr__`, when a slot is not a plain object member (another Python's UUID).
    Generic,
}

// SAFETY: the member definitions belong to the `uuid.UUID` class, which `UuidParts` keeps
// alive; they are only read, and only with the GIL held.
unsafe impl Send for UuidSlots {}
unsafe impl Sync for UuidSlots {}

static UUID_PARTS: PyOnceLock<UuidParts> = PyOnceLock::new();

/// The member definition behind `class.__dict__[name]` if it is a plain object slot.
fn object_member(class: &Bound<'_, PyType>, name: &str) -> PyResult<Option<*mut pyo3::ffi::PyMemberDef>> {
    let descriptor = class.getattr("__dict__")?.get_item(name)?;
    // SAFETY: the type check comes first; a member descriptor's layout is PyMemberDescrObject,
    // whose d_member points at its definition for as long as the descriptor lives.
    unsafe {
        let kind = std::ptr::addr_of_mut!(pyo3::ffi::PyMemberDescr_Type);
        if pyo3::ffi::Py_TYPE(descriptor.as_ptr()) != kind {
            return Ok(None);
        }
        let member = (*descriptor.as_ptr().cast::<pyo3::ffi::PyMemberDescrObject>()).d_member;
        let plain = !member.is_null()
            && (*member).type_code == pyo3::ffi::Py_T_OBJECT_EX
            && (*member).flags & pyo3::ffi::Py_READONLY == 0;
        Ok(plain.then_some(member))
    }
}

fn uuid_parts(py: Python<'_>) -> PyResult<&UuidParts> {
    UUID_PARTS.get_or_try_init(py, || -> PyResult<UuidParts> {
        let class = uuid_type(py)?;
        let safe = py.import("uuid")?.getattr("SafeUUID")?.getattr("unknown")?.unbind();
        let slots = match (object_member(class, "int")?, object_member(class, "is_safe")?) {
            (Some(int), Some(is_safe)) => UuidSlots::Members { int, is_safe },
            _ => UuidSlots::Generic,
        };
        Ok(UuidParts { safe, slots })
    })
}

/// A `uuid.UUID` built without running its Python `__init__` (which would parse and validate
/// again what we already hold as 128 bits): allocate it, then set its two slots the way
/// `object.__setattr__` does (UUID's own `__setattr__` refuses, the instance being immutable).
fn uuid_to_py<'py>(py: Python<'py>, u: &uuid::Uuid) -> PyResult<Bound<'py, PyAny>> {
    let class = uuid_type(py)?;
    let parts = uuid_parts(py)?;
    let int = u.as_u128().into_pyobject(py)?;
    let safe = parts.safe.bind(py);
    // SAFETY: PyType_GenericAlloc returns a new reference to a zeroed instance of the class
    // (checked for NULL). PyMember_SetOne stores into the slot its definition describes on an
    // instance of the class that defined it; it and PyObject_GenericSetAttr return -1 with an
    // exception set on failure, which we turn into a PyErr.
    unsafe {
        let raw = pyo3::ffi::PyType_GenericAlloc(class.as_ptr().cast(), 0);
        let obj = Bound::from_owned_ptr_or_err(py, raw)?;
        let failed = match parts.slots {
            UuidSlots::Members { int: int_slot, is_safe } => {
                pyo3::ffi::PyMember_SetOne(obj.as_ptr().cast(), int_slot, int.as_ptr()) != 0
                    || pyo3::ffi::PyMember_SetOne(obj.as_ptr().cast(), is_safe, safe.as_ptr()) != 0
            }
            UuidSlots::Generic => {
                pyo3::ffi::PyObject_GenericSetAttr(obj.as_ptr(), pyo3::intern!(py, "int").as_ptr(), int.as_ptr()) != 0
                    || pyo3::ffi::PyObject_GenericSetAttr(
                        obj.as_ptr(),
                        pyo3::intern!(py, "is_safe").as_ptr(),
                        safe.as_ptr(),
                    ) != 0
            }
        };
        if failed {
            return Err(PyErr::fetch(py));
        }
        // Its slots hold an int and a SafeUUID member and UUID refuses attribute assignment, so
        // it can never be part of a reference cycle: untracked, the cyclic collector skips it
        // (as CPython untracks tuples of atomic values). Measured: perf/README.md, "Where a fetch's
        // time goes".
        pyo3::ffi::PyObject_GC_UnTrack(obj.as_ptr().cast());
        Ok(obj)
    }
}

/// A str of `s`. ASCII text (most text) is copied straight into a new str, which skips
/// CPython's UTF-8 decoder: about 100 instructions a string (callgrind, perf/README.md "Where a
/// fetch's time goes"). Anything else, and the one-character strings CPython shares, go through
/// the decoder.
fn text_to_py<'py>(py: Python<'py>, s: &str) -> PyResult<Bound<'py, PyAny>> {
    if s.len() > 1 && s.is_ascii() {
        let len = pyo3::ffi::Py_ssize_t::try_from(s.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("text too long"))?;
        // SAFETY: PyUnicode_New returns a new, compact str of `len` one-byte characters (its
        // terminating NUL written) or NULL with an exception set; its data is `len` bytes we fill
        // completely with ASCII, the only characters a maximum of 127 allows.
        unsafe {
            let obj = Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyUnicode_New(len, 127))?;
            std::ptr::copy_nonoverlapping(s.as_ptr(), pyo3::ffi::PyUnicode_1BYTE_DATA(obj.as_ptr()), s.len());
            return Ok(obj);
        }
    }
    Ok(PyString::new(py, s).into_any())
}

/// A datetime with the wall fields of `t` and the zone `tz` (UTC for an instant: the engine keeps
/// instants in UTC). Made from the fields read once: pyo3's conversion of a `DateTime<Utc>`
/// derives the local time three times and asks the zone for a fold, which UTC never has
/// (measured: perf/README.md, "Where a fetch's time goes"). A leap second, which Python cannot
/// hold, goes through pyo3's conversion, which truncates it with a warning.
fn datetime_to_py<'py>(
    py: Python<'py>,
    t: &NaiveDateTime,
    tz: Option<&Borrowed<'_, 'py, PyTzInfo>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return match tz {
            None => t.into_bound_py_any(py),
            Some(_) => t.and_utc().into_bound_py_any(py),
        };
    }
    let year = t.year();
    let (month, day, hour, minute, second) = (t.month(), t.day(), t.hour(), t.minute(), t.second());
    // Every field but the year is in range by construction; the year is checked by Python.
    Ok(PyDateTime::new(
        py,
        year,
        month as u8,
        day as u8,
        hour as u8,
        minute as u8,
        second as u8,
        nanos / 1000,
        tz.map(|tz| &**tz),
    )?
    .into_any())
}

/// One decoded cell as a Python object.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_bound_py_any(py)?,
        Value::UInt(u) => u.into_bound_py_any(py)?,
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Text(s) => text_to_py(py, s)?,
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Json(s) => json_loads(py)?.call1((s.as_str(),))?,
        Value::Uuid(u) => uuid_to_py(py, u)?,
        Value::Decimal(s) => decimal_type(py)?.call1((s.as_str(),))?,
        Value::Date(d) => d
            .into_bound_py_any(py)
            .map_err(|_| decode_error(py, format!("date {d} is outside Python's range (years 1-9999)")))?,
        Value::Time(t) => t.into_bound_py_any(py)?,
        Value::Timestamp(t) => datetime_to_py(py, t, None)
            .map_err(|_| decode_error(py, format!("timestamp {t} is outside Python's range (years 1-9999)")))?,
        Value::TimestampTz(t) => datetime_to_py(py, &t.naive_utc(), Some(&PyTzInfo::utc(py)?))
            .map_err(|_| decode_error(py, format!("timestamp {t} is outside Python's range (years 1-9999)")))?,
        Value::Interval(iv) => {
            let micros = iv.exact_micros().ok_or_else(|| {
                decode_error(
                    py,
                    format!(
                        "interval of {} months {} days {} us has a month part, which a timedelta cannot \
                         represent exactly; convert it in SQL (e.g. extract(epoch from ...))",
                        iv.months, iv.days, iv.micros
                    ),
                )
            })?;
            TimeDelta::microseconds(micros)
                .into_bound_py_any(py)
                .map_err(|_| decode_error(py, format!("interval of {micros} us is outside timedelta's range")))?
        }
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
    })
}

/// Pauses the cyclic garbage collector while a result's objects are built. Thousands of fresh
/// container objects would otherwise trigger young-generation collections over and over
/// (measured: ~15% of an ORM fetch of 5000 instances); none of them can be garbage yet.
pub struct GcPause {
    was_enabled: bool,
}

impl GcPause {
    pub fn new(_py: Python<'_>) -> Self {
        // SAFETY: called with the GIL held (the `Python` token proves it).
        GcPause {
            was_enabled: unsafe { pyo3::ffi::PyGC_Disable() } != 0,
        }
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: the pause lives inside a GIL-holding scope (it is created from a `Python` token
            // and never leaves the function that built it).
            unsafe { pyo3::ffi::PyGC_Enable() };
        }
    }
}

/// A row as a tuple, filled in place (no intermediate vector per row).
pub fn row_to_py<'py>(py: Python<'py>, row: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(row.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("row too wide"))?;
    // SAFETY: PyTuple_New returns a new reference (checked for NULL); every slot is filled
    // exactly once with a new reference before the tuple is handed to Python code. If a
    // conversion fails, the tuple is dropped with its unfilled slots still NULL, which
    // tuple deallocation tolerates.
    unsafe {
        let tuple = pyo3::ffi::PyTuple_New(len);
        let tuple = Bound::from_owned_ptr_or_err(py, tuple)?;
        for (i, value) in row.iter().enumerate() {
            let item = to_py(py, value)?;
            pyo3::ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as pyo3::ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(tuple.cast_into_unchecked())
    }
}

/// All rows as a list of tuples.
pub fn rows_to_py<'py>(py: Python<'py>, rows: &Rows) -> PyResult<Bound<'py, PyList>> {
    let n = rows.len();
    let len =
        pyo3::ffi::Py_ssize_t::try_from(n).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("too many rows"))?;
    // SAFETY: as in `row_to_py`: a new list of `n` NULL slots, each filled once; a list with
    // NULL slots is safe to deallocate if a conversion fails midway.
    unsafe {
        let list = pyo3::ffi::PyList_New(len);
        let list = Bound::from_owned_ptr_or_err(py, list)?;
        for (i, row) in rows.iter().take(n).enumerate() {
            let tuple = row_to_py(py, row)?;
            pyo3::ffi::PyList_SET_ITEM(list.as_ptr(), i as pyo3::ffi::Py_ssize_t, tuple.into_ptr());
        }
        Ok(list.cast_into_unchecked())
    }
}

/// Parameter sets for execute_many.
pub fn to_param_sets(py: Python<'_>, sets: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<Value>>> {
    let mut out = Vec::with_capacity(sets.len().unwrap_or(0));
    for (i, set) in sets.try_iter()?.enumerate() {
        let set = set?;
        out.push(to_params(py, Some(&set)).map_err(|e| {
            let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
            params_error(py, format!("parameter set {}: {msg}", i + 1))
        })?);
    }
    Ok(out)
}
