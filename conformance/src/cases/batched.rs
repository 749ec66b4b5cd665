//! Batched fetches: `fetch_batched` hands over exactly the rows `fetch` returns, in order.

use yara_engine::{Backend, ErrorKind, Rows, Transaction, Value};

use crate::harness::{describe, fail_sql, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        Case::new("fetch_batched::same_rows_as_fetch", |t| t.block(same_rows(t))),
        Case::new("fetch_batched::empty_result_still_names_columns", |t| t.block(empty(t))),
        Case::new("fetch_batched::inside_a_transaction", |t| t.block(in_transaction(t))),
        Case::new("fetch_batched::error_is_reported", |t| t.block(error(t))),
    ]
}

/// Every batch's rows, concatenated, after checking each batch names `columns`.
fn concatenate(batches: Vec<Rows>, columns: &[String]) -> Outcome<Vec<Value>> {
    if batches.is_empty() {
        return Err("fetch_batched handed over no batch at all (expected at least one)".into());
    }
    let mut values = Vec::new();
    for (i, batch) in batches.into_iter().enumerate() {
        if batch.columns != columns {
            return Err(format!(
                "batch {i} names columns {:?}, fetch names {columns:?}",
                batch.columns
            ));
        }
        values.extend(batch.values);
    }
    Ok(values)
}

async fn same_rows<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("batched").await?;
    t.fill(&table, 0..3000).await?;
    let sql = format!("SELECT id, v FROM {table} WHERE id >= {} ORDER BY id", t.ph(1));
    let whole = t.fetch(&sql, vec![Value::Int(0)]).await?;
    let mut batches = Vec::new();
    t.b()
        .fetch_batched(&sql, vec![Value::Int(0)], &mut |rows| batches.push(rows))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    let count = batches.len();
    let values = concatenate(batches, &whole.columns)?;
    if values.len() != whole.values.len() {
        return Err(format!(
            "fetch_batched handed over {} cells in {count} batches, fetch returned {}",
            values.len(),
            whole.values.len()
        ));
    }
    if values != whole.values {
        return Err("fetch_batched's rows differ from fetch's (content or order)".into());
    }
    Ok(())
}

async fn empty<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("batchedempty").await?;
    let sql = format!("SELECT id, v FROM {table}");
    let mut batches = Vec::new();
    t.b()
        .fetch_batched(&sql, vec![], &mut |rows| batches.push(rows))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    let values = concatenate(batches, &["id".to_string(), "v".to_string()])?;
    if !values.is_empty() {
        return Err(format!("an empty table gave {} cells", values.len()));
    }
    Ok(())
}

async fn in_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("batchedtx").await?;
    let mut tx = t
        .b()
        .begin(None)
        .await
        .map_err(|e| format!("begin failed: {}", describe(&e)))?;
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let sets = (0..500)
        .map(|i| vec![Value::Int(i), Value::Text(format!("v{i}"))])
        .collect();
    tx.execute_many(&insert, sets)
        .await
        .map_err(|e| fail_sql(&insert, &e))?;
    let sql = format!("SELECT id FROM {table} ORDER BY id");
    let mut batches = Vec::new();
    tx.fetch_batched(&sql, vec![], &mut |rows| batches.push(rows))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    let values = concatenate(batches, &["id".to_string()])?;
    let want: Vec<Value> = (0..500).map(Value::Int).collect();
    if values != want {
        return Err(format!(
            "inside a transaction, fetch_batched saw {} of the 500 uncommitted rows (or out of order)",
            values.len()
        ));
    }
    tx.rollback()
        .await
        .map_err(|e| format!("rollback failed: {}", describe(&e)))
}

async fn error<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let missing = t.table("missing");
    let sql = format!("SELECT * FROM {missing}");
    let mut batches = 0;
    match t.b().fetch_batched(&sql, vec![], &mut |_| batches += 1).await {
        Err(e) if e.kind == ErrorKind::Programming => Ok(()),
        Err(e) => Err(format!(
            "fetch_batched over a missing table must fail with a Programming error, got {}",
            describe(&e)
        )),
        Ok(()) => Err(format!(
            "fetch_batched over a missing table succeeded ({batches} batches)"
        )),
    }
}
