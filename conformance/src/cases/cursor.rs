//! Streaming cursors.

use std::time::Duration;

use yara_engine::{Backend, Capabilities, Cursor, ErrorKind, Value};

use crate::harness::{describe, fail_sql, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>(caps: &Capabilities) -> Vec<Case<B>> {
    let why = "capability `streaming` is not declared";
    vec![
        Case::new("cursor::streams_in_chunks", |t| t.block(chunks(t))).require(caps.streaming, why),
        Case::new("cursor::empty_result", |t| t.block(empty(t))).require(caps.streaming, why),
        Case::new("cursor::error_is_reported", |t| t.block(error(t))).require(caps.streaming, why),
        Case::new("cursor::dropped_early_frees_the_connection", |t| {
            t.block(dropped_early(t))
        })
        .require(caps.streaming, why),
    ]
}

async fn chunks<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("cursor").await?;
    t.fill(&table, 0..250).await?;
    let sql = format!("SELECT id, v FROM {table} WHERE id >= {} ORDER BY id", t.ph(1));
    let mut c = t
        .b()
        .cursor(&sql, vec![Value::Int(0)], 100)
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    if c.columns() != ["id", "v"] {
        return Err(format!(
            "the cursor names columns {:?}, expected [\"id\", \"v\"]",
            c.columns()
        ));
    }
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let chunk = c
            .next_chunk()
            .await
            .map_err(|e| format!("next_chunk failed: {}", describe(&e)))?;
        if chunk.is_empty() {
            break;
        }
        sizes.push(chunk.len());
        seen.extend(chunk.values);
        if sizes.len() > 10 {
            return Err("the cursor never reported the end of its rows".into());
        }
    }
    if sizes != [100, 100, 50] {
        return Err(format!("250 rows in chunks of 100 came as chunks of {sizes:?}"));
    }
    let want: Vec<Value> = (0..250)
        .flat_map(|i| [Value::Int(i), Value::Text(format!("v{i}"))])
        .collect();
    if seen != want {
        return Err("the streamed rows differ from the table's rows in order".into());
    }
    let after = c
        .next_chunk()
        .await
        .map_err(|e| format!("next_chunk after the end failed: {}", describe(&e)))?;
    if !after.is_empty() {
        return Err("next_chunk after the end returned rows".into());
    }
    Ok(())
}

async fn empty<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("cursorempty").await?;
    let sql = format!("SELECT id, v FROM {table}");
    let mut c = t.b().cursor(&sql, vec![], 10).await.map_err(|e| fail_sql(&sql, &e))?;
    let chunk = c
        .next_chunk()
        .await
        .map_err(|e| format!("next_chunk failed: {}", describe(&e)))?;
    if !chunk.is_empty() {
        return Err(format!("a cursor over an empty table returned {} rows", chunk.len()));
    }
    Ok(())
}

async fn error<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let missing = t.table("missing");
    match t.b().cursor(&format!("SELECT * FROM {missing}"), vec![], 10).await {
        Ok(mut c) => match c.next_chunk().await {
            Err(e) if e.kind == ErrorKind::Programming => Ok(()),
            Err(e) => Err(format!(
                "a cursor over a missing table must fail with a Programming error, got {}",
                describe(&e)
            )),
            Ok(rows) => Err(format!("a cursor over a missing table returned {} rows", rows.len())),
        },
        Err(e) if e.kind == ErrorKind::Programming => Ok(()),
        Err(e) => Err(format!(
            "a cursor over a missing table must fail with a Programming error, got {}",
            describe(&e)
        )),
    }
}

async fn dropped_early<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("cursordrop").await?;
    t.fill(&table, 0..100).await?;
    let sql = format!("SELECT id, v FROM {table} ORDER BY id");
    let rounds = t.b().status().max_size + 2;
    for _ in 0..rounds {
        let mut c = t.b().cursor(&sql, vec![], 10).await.map_err(|e| fail_sql(&sql, &e))?;
        c.next_chunk()
            .await
            .map_err(|e| format!("next_chunk failed: {}", describe(&e)))?;
        drop(c);
    }
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let work = async {
        t.exec(&insert, vec![Value::Int(1000), Value::Null]).await?;
        t.count(&table).await
    };
    match tokio::time::timeout(Duration::from_secs(15), work).await {
        Ok(Ok(101)) => Ok(()),
        Ok(Ok(n)) => Err(format!(
            "after dropping cursors early, the table counts {n} rows, expected 101"
        )),
        Ok(Err(e)) => Err(format!(
            "after dropping {rounds} cursors early, the pool cannot serve: {e}"
        )),
        Err(_) => Err(format!(
            "after dropping {rounds} cursors early, a write and a read did not finish within 15s: dropped cursors \
             keep their connections"
        )),
    }
}
