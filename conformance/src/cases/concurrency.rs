//! Many tasks using one pool at once.

use std::sync::Arc;

use tokio::task::JoinSet;
use yara_engine::{Backend, ErrorKind, Transaction, Value};

use crate::harness::{describe, int_of, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        Case::new("concurrency::parallel_reads", |t| t.block(parallel_reads(t))),
        Case::new("concurrency::parallel_writes", |t| t.block(parallel_writes(t))),
        Case::new("concurrency::parallel_transactions", |t| {
            t.block(parallel_transactions(t))
        }),
        Case::new("concurrency::errors_under_load", |t| t.block(errors_under_load(t))),
    ]
}

/// More tasks than the pool has connections.
fn task_count<B: Backend>(t: &TestCtx<B>) -> usize {
    (t.b().status().max_size * 4).clamp(16, 64)
}

async fn join_all(mut set: JoinSet<Outcome>) -> Outcome {
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("a task panicked or was cancelled: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        let n = errors.len();
        errors.truncate(3);
        Err(format!("{n} task(s) failed; first: {}", errors.join(" | ")))
    }
}

fn check_status<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let s = t.b().status();
    if s.size > s.max_size {
        return Err(format!(
            "the pool holds {} connections, more than its max_size {}",
            s.size, s.max_size
        ));
    }
    Ok(())
}

async fn parallel_reads<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("preads").await?;
    t.fill(&table, 0..200).await?;
    let sql = Arc::new(format!("SELECT v FROM {table} WHERE id = {}", t.ph(1)));
    let mut set = JoinSet::new();
    for task in 0..task_count(t) as i64 {
        let (b, sql) = (t.arc(), sql.clone());
        set.spawn(async move {
            for k in 0..20 {
                let id = (task * 37 + k * 11) % 200;
                let rows = b.fetch(&sql, vec![Value::Int(id)]).await.map_err(|e| describe(&e))?;
                if rows.values != [Value::Text(format!("v{id}"))] {
                    return Err(format!("task {task} asked for row {id} and got {:?}", rows.values));
                }
            }
            Ok(())
        });
    }
    join_all(set).await?;
    check_status(t)
}

async fn parallel_writes<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("pwrites").await?;
    let sql = Arc::new(format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2)));
    let tasks = task_count(t) as i64;
    let mut set = JoinSet::new();
    for task in 0..tasks {
        let (b, sql) = (t.arc(), sql.clone());
        set.spawn(async move {
            for k in 0..10 {
                let id = task * 1000 + k;
                let n = b
                    .execute(&sql, vec![Value::Int(id), Value::Text(format!("t{task}"))])
                    .await
                    .map_err(|e| format!("task {task}: {}", describe(&e)))?;
                if n != 1 {
                    return Err(format!("task {task}: an INSERT reported {n} rows"));
                }
            }
            Ok(())
        });
    }
    join_all(set).await?;
    let n = t.count(&table).await?;
    if n != tasks * 10 {
        return Err(format!("{tasks} tasks inserting 10 rows each left {n} rows"));
    }
    check_status(t)
}

async fn parallel_transactions<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("ptx").await?;
    let sql = Arc::new(format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2)));
    let tasks = task_count(t) as i64;
    let mut set = JoinSet::new();
    for task in 0..tasks {
        let (b, sql) = (t.arc(), sql.clone());
        set.spawn(async move {
            let mut tx = b
                .begin(None)
                .await
                .map_err(|e| format!("task {task}: begin: {}", describe(&e)))?;
            for k in 0..3 {
                tx.execute(&sql, vec![Value::Int(task * 10 + k), Value::Null])
                    .await
                    .map_err(|e| format!("task {task}: insert: {}", describe(&e)))?;
            }
            if task % 2 == 0 {
                tx.commit()
                    .await
                    .map_err(|e| format!("task {task}: commit: {}", describe(&e)))
            } else {
                tx.rollback()
                    .await
                    .map_err(|e| format!("task {task}: rollback: {}", describe(&e)))
            }
        });
    }
    join_all(set).await?;
    let rows = t.fetch(&format!("SELECT id FROM {table} ORDER BY id"), vec![]).await?;
    let got: Vec<i64> = rows.values.iter().map(int_of).collect::<Outcome<_>>()?;
    let want: Vec<i64> = (0..tasks)
        .filter(|k| k % 2 == 0)
        .flat_map(|k| (0..3).map(move |j| k * 10 + j))
        .collect();
    if got != want {
        return Err(format!(
            "{tasks} concurrent transactions (even ones committed, odd ones rolled back) left {} rows, expected {}",
            got.len(),
            want.len()
        ));
    }
    check_status(t)
}

async fn errors_under_load<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("perrors").await?;
    let sql = Arc::new(format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2)));
    let tasks = task_count(t) as i64;
    let mut set = JoinSet::new();
    for task in 0..tasks {
        let (b, sql) = (t.arc(), sql.clone());
        set.spawn(async move {
            for k in 0..5 {
                let id = task * 100 + k;
                b.execute(&sql, vec![Value::Int(id), Value::Null])
                    .await
                    .map_err(|e| format!("task {task}: {}", describe(&e)))?;
                match b.execute(&sql, vec![Value::Int(id), Value::Null]).await {
                    Err(e) if e.kind == ErrorKind::Integrity => {}
                    Err(e) => return Err(format!("task {task}: a duplicate key under load gave {}", describe(&e))),
                    Ok(_) => return Err(format!("task {task}: a duplicate key under load was accepted")),
                }
            }
            Ok(())
        });
    }
    join_all(set).await?;
    let n = t.count(&table).await?;
    if n != tasks * 5 {
        return Err(format!("expected {} rows after the load, got {n}", tasks * 5));
    }
    check_status(t)
}
