//! Bulk loads: `copy_in` stores exactly the rows given, where the `copy_in` capability is
//! declared (the statement is PostgreSQL's `COPY ... FROM STDIN (FORMAT binary)`), and fails
//! with a Programming error where it is not.

use yara_engine::{Backend, Capabilities, ErrorKind, Value};

use crate::harness::{describe, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>(caps: &Capabilities) -> Vec<Case<B>> {
    vec![
        Case::new("copy_in::stores_the_rows_given", |t| t.block(loads(t)))
            .require(caps.copy_in, "capability `copy_in` is not declared"),
        Case::new("copy_in::undeclared_is_a_programming_error", |t| t.block(undeclared(t)))
            .require(!caps.copy_in, "capability `copy_in` is declared"),
    ]
}

fn statements<B: Backend>(t: &TestCtx<B>, table: &str) -> (String, String) {
    (
        format!("COPY {table} (id, v) FROM STDIN (FORMAT binary)"),
        format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2)),
    )
}

async fn loads<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("copy").await?;
    let (copy, types_from) = statements(t, &table);
    let ids: Vec<Value> = (0..2000).map(Value::Int).collect();
    let texts: Vec<Value> = (0..2000)
        .map(|i| {
            if i % 7 == 0 {
                Value::Null
            } else {
                Value::Text(format!("v{i}"))
            }
        })
        .collect();
    let stored = t
        .b()
        .copy_in(&copy, &types_from, vec![ids.clone(), texts.clone()])
        .await
        .map_err(|e| format!("copy_in failed: {}", describe(&e)))?;
    if stored != 2000 {
        return Err(format!("copy_in reported {stored} rows stored, expected 2000"));
    }
    let rows = t
        .fetch(&format!("SELECT id, v FROM {table} ORDER BY id"), vec![])
        .await?;
    let want: Vec<Value> = ids.into_iter().zip(texts).flat_map(|(i, v)| [i, v]).collect();
    if rows.values != want {
        return Err("the rows read back differ from the rows copied in".into());
    }
    Ok(())
}

async fn undeclared<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("nocopy").await?;
    let (copy, types_from) = statements(t, &table);
    match t
        .b()
        .copy_in(&copy, &types_from, vec![vec![Value::Int(1)], vec![Value::Null]])
        .await
    {
        Err(e) if e.kind == ErrorKind::Programming => Ok(()),
        Err(e) => Err(format!(
            "copy_in without the capability must fail with a Programming error, got {}",
            describe(&e)
        )),
        Ok(n) => Err(format!(
            "copy_in succeeded ({n} rows) on a backend that does not declare it"
        )),
    }
}
