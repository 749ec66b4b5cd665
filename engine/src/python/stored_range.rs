//! The read-side range check of a column whose type does not bound its values.
//!
//! SQLite keeps any 64-bit integer in an INTEGER column, an overflowing result as a REAL, text
//! that does not look like a number as text, any number in a NUMERIC one: a value written
//! outside the ORM (or before the CHECK constraints existed) can be out of the field's range. Reading it must say so (DataError), as PostgreSQL's
//! typed columns never hold it. The ORM's decode plan passes a [`StoredRange`] as the column's
//! converter on such a backend; [`super::instances::InstanceSpec`] checks the engine value
//! before it becomes a Python object (an integer compare per cell), the Python decoders call it.

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyTuple};

use super::errors::to_pyerr;
use crate::error::EngineError;
use crate::value::Value;

enum Limit {
    Integer {
        lo: i64,
        hi: i64,
    },
    /// At most this many digits before the decimal point.
    Decimal {
        int_digits: usize,
    },
}

#[pyclass(module = "yara_orm._engine", frozen)]
pub struct StoredRange {
    limit: Limit,
    /// Names the field and its type in the error (`Num.i32 (IntField)`).
    label: String,
}

#[pymethods]
impl StoredRange {
    /// An integer field holding `lo..=hi`, or a decimal one of `max_digits`/`decimal_places`.
    #[new]
    #[pyo3(signature = (label, lo = None, hi = None, max_digits = None, decimal_places = None))]
    fn new(
        label: String,
        lo: Option<i64>,
        hi: Option<i64>,
        max_digits: Option<usize>,
        decimal_places: Option<usize>,
    ) -> PyResult<Self> {
        let limit = match (lo, hi, max_digits, decimal_places) {
            (Some(lo), Some(hi), None, None) => Limit::Integer { lo, hi },
            (None, None, Some(digits), Some(places)) if places <= digits => Limit::Decimal {
                int_digits: digits - places,
            },
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "StoredRange takes lo and hi, or max_digits >= decimal_places",
                ))
            }
        };
        Ok(StoredRange { limit, label })
    }

    /// The check on a Python value (for decoders that work on Python objects).
    fn __call__<'py>(&self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.check_py(py, &value)?;
        Ok(value)
    }

    /// Check the `checks` columns (index, range) of every row of `rows`, a list of tuples, in one
    /// call: what the Python decoders of tuples and dicts use instead of a call per cell.
    #[staticmethod]
    fn check_rows(
        py: Python<'_>,
        rows: &Bound<'_, PyList>,
        checks: Vec<(usize, PyRef<'_, StoredRange>)>,
    ) -> PyResult<()> {
        for row in rows.iter() {
            let row = row.cast::<PyTuple>()?;
            for (index, range) in &checks {
                range.check_py(py, &row.get_item(*index)?)?;
            }
        }
        Ok(())
    }
}

impl StoredRange {
    fn check_py(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if value.is_none() {
            return Ok(());
        }
        let fits = match self.limit {
            Limit::Integer { lo, hi } => {
                // Anything but an int (a float, text, bytes) is not what an integer field holds.
                value.is_instance_of::<PyInt>() && value.extract::<i64>().is_ok_and(|i| lo <= i && i <= hi)
            }
            Limit::Decimal { int_digits } => {
                let text = value.str()?;
                decimal_fits(text.to_str()?, int_digits)
            }
        };
        if fits {
            Ok(())
        } else {
            let shown = value.repr()?.to_string();
            Err(to_pyerr(py, &self.error(&shown)))
        }
    }

    /// The check on an engine value, before it becomes a Python object.
    pub fn check(&self, py: Python<'_>, value: &Value) -> PyResult<()> {
        let fits = match (&self.limit, value) {
            (Limit::Integer { lo, hi }, Value::Int(i)) => lo <= i && i <= hi,
            // A REAL in an integer column: SQLite's result of an overflowing integer operation.
            (Limit::Integer { .. }, Value::Float(_)) => false,
            // Text or bytes in an INTEGER column: SQLite keeps what does not look like a number.
            (Limit::Integer { .. }, Value::Text(_) | Value::Bytes(_)) => false,
            (Limit::Decimal { int_digits }, Value::Decimal(text)) => decimal_fits(text, *int_digits),
            _ => true,
        };
        if fits {
            return Ok(());
        }
        let shown = match value {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Decimal(d) => d.clone(),
            Value::Text(t) => format!("{t:?}"),
            Value::Bytes(b) => format!("{} bytes", b.len()),
            other => format!("{other:?}"),
        };
        Err(to_pyerr(py, &self.error(&shown)))
    }

    fn error(&self, shown: &str) -> EngineError {
        let range = match self.limit {
            Limit::Integer { lo, hi } => format!("integers in [{lo}, {hi}]"),
            Limit::Decimal { int_digits } => format!("fewer than {int_digits} digit(s) before the point"),
        };
        EngineError::data(format!(
            "{}: the database holds {shown}, outside what the field can hold ({range}); was it written outside the ORM?",
            self.label
        ))
    }
}

/// Whether decimal text has at most `int_digits` digits before its point (leading zeros aside).
fn decimal_fits(text: &str, int_digits: usize) -> bool {
    let t = text.trim().trim_start_matches(['-', '+']);
    if t.contains(['e', 'E']) {
        // Exponent notation: compare magnitudes.
        return match t.parse::<f64>() {
            Ok(f) => f.is_finite() && f.abs() < 10f64.powi(int_digits as i32),
            Err(_) => true,
        };
    }
    let whole = t.split('.').next().unwrap_or("");
    whole.trim_start_matches('0').len() <= int_digits
}

#[cfg(test)]
mod tests {
    use super::decimal_fits;

    #[test]
    fn decimal_digits_before_the_point() {
        assert!(decimal_fits("9999.99", 4));
        assert!(decimal_fits("-0009999.99", 4));
        assert!(decimal_fits("0.5", 0));
        assert!(!decimal_fits("300000.00", 4));
        assert!(!decimal_fits("-10000", 4));
        assert!(!decimal_fits("3E+5", 4));
    }
}
