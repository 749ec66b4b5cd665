//! Cancellation safety: futures dropped mid-flight (a timeout, a task cancelled) and transactions
//! dropped without commit must leave the pool clean. Each test gets a backend of its own.

use std::time::Duration;

use tokio::time::timeout;
use yara_engine::{Backend, Transaction, Value};

use super::common::{insert_sql, pool_is_clean, slow_sql, warm};
use crate::harness::{describe, fail_sql, Case, Outcome, TestCtx};

const SLOW: u64 = 2_000_000;
const CUT: Duration = Duration::from_millis(20);

pub(crate) fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        Case::new("cancel::dropped_transaction_rolls_back", |t| {
            t.block(dropped_transaction(t))
        })
        .isolated(),
        Case::new("cancel::dropped_transaction_releases_locks", |t| {
            t.block(dropped_transaction_locks(t))
        })
        .isolated(),
        Case::new("cancel::dropped_begin_leaves_no_open_transaction", |t| {
            t.block(dropped_begin(t))
        })
        .isolated(),
        Case::new("cancel::timeout_inside_transaction", |t| {
            t.block(timeout_inside_transaction(t))
        })
        .isolated(),
        Case::new("cancel::timeout_outside_transaction", |t| {
            t.block(timeout_outside_transaction(t))
        })
        .isolated(),
        Case::new("cancel::timeout_during_execute_many", |t| {
            t.block(timeout_execute_many(t))
        })
        .isolated(),
    ]
}

async fn dropped_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("dropped").await?;
    warm(t).await?;
    let insert = insert_sql(t, &table);
    let rounds = t.b().status().max_size + 2;
    for i in 0..rounds {
        let mut tx = t.b().begin(None).await.map_err(|e| {
            format!(
                "after {i} transaction(s) were dropped without commit, begin() failed: {}",
                describe(&e)
            )
        })?;
        tx.execute(&insert, vec![Value::Int(i as i64), Value::Text("uncommitted".into())])
            .await
            .map_err(|e| format!("after {i} dropped transaction(s): {}", fail_sql(&insert, &e)))?;
        drop(tx);
    }
    pool_is_clean(
        t,
        &table,
        0,
        &format!("{rounds} transactions were dropped without commit"),
    )
    .await
}

async fn dropped_transaction_locks<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("droplock").await?;
    t.fill(&table, 0..1).await?;
    warm(t).await?;
    let update = format!("UPDATE {table} SET v = {} WHERE id = {}", t.ph(1), t.ph(2));
    let mut tx = t
        .b()
        .begin(None)
        .await
        .map_err(|e| format!("begin failed: {}", describe(&e)))?;
    tx.execute(&update, vec![Value::Text("held".into()), Value::Int(0)])
        .await
        .map_err(|e| fail_sql(&update, &e))?;
    drop(tx);
    let limit = Duration::from_secs(10);
    match timeout(
        limit,
        t.b().execute(&update, vec![Value::Text("after".into()), Value::Int(0)]),
    )
    .await
    {
        Ok(Ok(1)) => {}
        Ok(Ok(n)) => {
            return Err(format!(
                "the UPDATE after the dropped transaction touched {n} rows, expected 1"
            ))
        }
        Ok(Err(e)) => {
            return Err(format!(
                "a transaction that updated a row was dropped without commit; then an UPDATE of the same row through \
                 the pool failed: {} (the dropped transaction still holds its locks)",
                describe(&e)
            ))
        }
        Err(_) => {
            return Err(format!(
                "a transaction that updated a row was dropped without commit; then an UPDATE of the same row through \
                 the pool did not finish within {}s: the dropped transaction's connection went back to the pool \
                 still inside its transaction, holding the row lock, and is only rolled back when it is next acquired",
                limit.as_secs()
            ))
        }
    }
    let rows = t.fetch(&format!("SELECT v FROM {table}"), vec![]).await?;
    if rows.values != [Value::Text("after".into())] {
        return Err(format!("the row reads {:?}, expected \"after\"", rows.values));
    }
    pool_is_clean(t, &table, 1, "a transaction holding a row lock was dropped").await
}

async fn dropped_begin<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("dropbegin").await?;
    warm(t).await?;
    let (mut cut, mut dropped) = (0, 0);
    for i in 0..40u64 {
        match timeout(Duration::from_micros(i * 50), t.b().begin(None)).await {
            Err(_) => cut += 1,
            Ok(Ok(tx)) => {
                dropped += 1;
                drop(tx)
            }
            Ok(Err(e)) => {
                return Err(format!(
                    "begin() failed after {cut} earlier begin() futures were dropped mid-flight and {dropped} \
                     transactions were dropped right after begin(): {}",
                    describe(&e)
                ))
            }
        }
    }
    let context = format!(
        "{cut} begin() futures were dropped mid-flight and {dropped} transactions were dropped right after begin()"
    );
    pool_is_clean(t, &table, 0, &context).await
}

async fn timeout_inside_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("tmotx").await?;
    warm(t).await?;
    let insert = insert_sql(t, &table);
    let slow = slow_sql(SLOW);
    let rounds = t.b().status().max_size + 1;
    for i in 0..rounds {
        let mut tx = t.b().begin(None).await.map_err(|e| {
            format!(
                "begin() failed after {i} transaction(s) had a statement cut by a timeout: {}",
                describe(&e)
            )
        })?;
        tx.execute(&insert, vec![Value::Int(i as i64), Value::Text("uncommitted".into())])
            .await
            .map_err(|e| fail_sql(&insert, &e))?;
        let _ = timeout(CUT, tx.fetch(&slow, vec![])).await;
        if i % 2 == 1 {
            // Finishing explicitly may fail (the statement was interrupted) but must not hang.
            if timeout(Duration::from_secs(10), tx.rollback()).await.is_err() {
                return Err("rollback() of a transaction whose statement was cut by a timeout hung for 10s".into());
            }
        } else {
            drop(tx);
        }
    }
    pool_is_clean(
        t,
        &table,
        0,
        &format!("{rounds} transactions had a slow statement cut by a timeout"),
    )
    .await
}

async fn timeout_outside_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("tmopool").await?;
    t.fill(&table, 0..3).await?;
    warm(t).await?;
    let slow = slow_sql(SLOW);
    let rounds = t.b().status().max_size + 1;
    for _ in 0..rounds {
        let _ = timeout(CUT, t.b().fetch(&slow, vec![])).await;
    }
    pool_is_clean(t, &table, 3, &format!("{rounds} slow queries were cut by a timeout")).await
}

async fn timeout_execute_many<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("tmomany").await?;
    warm(t).await?;
    let insert = insert_sql(t, &table);
    let sets: Vec<Vec<Value>> = (0..20_000).map(|i| vec![Value::Int(i), Value::Null]).collect();
    let finished = timeout(Duration::from_millis(5), t.b().execute_many(&insert, sets)).await;
    let committed = match finished {
        Ok(Ok(_)) => 20_000,
        Ok(Err(e)) => return Err(format!("execute_many failed: {}", describe(&e))),
        Err(_) => 0,
    };
    let label = if committed == 0 {
        "an execute_many of 20000 rows was cut by a timeout (it must then keep none)"
    } else {
        "an execute_many of 20000 rows"
    };
    pool_is_clean(t, &table, committed, label).await
}
