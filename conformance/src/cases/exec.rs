//! `execute_many`: one statement, many parameter sets.

use yara_engine::{Backend, ErrorKind, Transaction, Value};

use super::common::{pool_is_clean, warm};
use crate::harness::{describe, fail_sql, int_of, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        Case::new("execute_many::inserts_every_set", |t| t.block(inserts_every_set(t))),
        Case::new("execute_many::no_sets", |t| t.block(no_sets(t))),
        Case::new("execute_many::sums_rows_affected", |t| t.block(sums_rows_affected(t))),
        // A failed execute_many must not leave its transaction open: these get a pool of their own.
        Case::new("execute_many::all_or_nothing", |t| t.block(all_or_nothing(t))).isolated(),
        Case::new("execute_many::wrong_arity", |t| t.block(wrong_arity(t))).isolated(),
        Case::new("execute_many::in_transaction", |t| t.block(in_transaction(t))),
        Case::new("execute_many::ten_thousand_sets", |t| t.block(large(t))),
    ]
}

fn insert_sql<B: Backend>(t: &TestCtx<B>, table: &str) -> String {
    format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2))
}

fn sets(ids: std::ops::Range<i64>) -> Vec<Vec<Value>> {
    ids.map(|i| vec![Value::Int(i), Value::Text(format!("v{i}"))]).collect()
}

async fn inserts_every_set<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("em").await?;
    let sql = insert_sql(t, &table);
    let n = t
        .b()
        .execute_many(&sql, sets(0..200))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    if n != 200 {
        return Err(format!(
            "execute_many of 200 single-row INSERTs reported {n} rows affected"
        ));
    }
    let rows = t
        .fetch(&format!("SELECT id, v FROM {table} ORDER BY id"), vec![])
        .await?;
    if rows.values != sets(0..200).concat() {
        return Err("the rows stored by execute_many differ from the parameter sets".into());
    }
    Ok(())
}

async fn no_sets<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("emempty").await?;
    let sql = insert_sql(t, &table);
    let n = t.b().execute_many(&sql, vec![]).await.map_err(|e| fail_sql(&sql, &e))?;
    if n != 0 || t.count(&table).await? != 0 {
        return Err(format!(
            "execute_many with no parameter sets reported {n} rows and must change nothing"
        ));
    }
    Ok(())
}

async fn sums_rows_affected<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("emupd").await?;
    t.fill(&table, 0..100).await?;
    let sql = format!("UPDATE {table} SET v = {} WHERE id < {}", t.ph(1), t.ph(2));
    let params = vec![
        vec![Value::Text("a".into()), Value::Int(10)],
        vec![Value::Text("b".into()), Value::Int(0)],
        vec![Value::Text("c".into()), Value::Int(50)],
    ];
    let n = t.b().execute_many(&sql, params).await.map_err(|e| fail_sql(&sql, &e))?;
    if n != 60 {
        return Err(format!(
            "UPDATEs touching 10, 0 and 50 rows should total 60 rows affected, got {n}"
        ));
    }
    Ok(())
}

async fn all_or_nothing<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("ematomic").await?;
    warm(t).await?;
    let sql = insert_sql(t, &table);
    let mut params = sets(0..50);
    params.push(vec![Value::Int(10), Value::Text("duplicate".into())]);
    params.extend(sets(50..60));
    match t.b().execute_many(&sql, params).await {
        Ok(n) => Err(format!(
            "a batch with a duplicate key must fail, but it reported {n} rows affected"
        )),
        Err(e) if e.kind != ErrorKind::Integrity || e.sqlstate.as_deref() != Some("23505") => Err(format!(
            "a duplicate key inside execute_many must be an Integrity error with SQLSTATE 23505, got {}",
            describe(&e)
        )),
        Err(_) => {
            let n = t.count(&table).await?;
            if n != 0 {
                return Err(format!(
                    "execute_many on the pool failed on its 51st set, yet {n} rows of the batch were kept: it must be \
                     all or nothing"
                ));
            }
            pool_is_clean(t, &table, 0, "an execute_many on the pool failed on a duplicate key").await
        }
    }
}

async fn wrong_arity<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("emarity").await?;
    warm(t).await?;
    let sql = insert_sql(t, &table);
    let params = vec![vec![Value::Int(1), Value::Text("ok".into())], vec![Value::Int(2)]];
    match t.b().execute_many(&sql, params).await {
        Ok(n) => Err(format!(
            "a parameter set with too few values must be refused, got {n} rows affected"
        )),
        Err(e) if e.kind != ErrorKind::Programming => Err(format!(
            "a parameter set with the wrong number of values must be a Programming error, got {}",
            describe(&e)
        )),
        Err(_) => {
            let n = t.count(&table).await?;
            if n != 0 {
                return Err(format!("a refused batch kept {n} rows"));
            }
            pool_is_clean(
                t,
                &table,
                0,
                "an execute_many on the pool was refused for a short parameter set",
            )
            .await
        }
    }
}

async fn in_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("emtx").await?;
    let sql = insert_sql(t, &table);
    let mut tx = t
        .b()
        .begin(None)
        .await
        .map_err(|e| format!("begin failed: {}", describe(&e)))?;
    let n = tx
        .execute_many(&sql, sets(0..30))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    if n != 30 {
        return Err(format!("execute_many of 30 rows in a transaction reported {n}"));
    }
    let seen = tx
        .fetch(&format!("SELECT COUNT(*) FROM {table}"), vec![])
        .await
        .map_err(|e| format!("count inside the transaction failed: {}", describe(&e)))?;
    let seen = int_of(seen.first().and_then(|r| r.first()).unwrap_or(&Value::Null))?;
    if seen != 30 {
        return Err(format!("the transaction sees {seen} of the 30 rows it inserted"));
    }
    tx.rollback()
        .await
        .map_err(|e| format!("rollback failed: {}", describe(&e)))?;
    let n = t.count(&table).await?;
    if n != 0 {
        return Err(format!("execute_many inside a rolled-back transaction left {n} rows"));
    }
    Ok(())
}

async fn large<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("emlarge").await?;
    let sql = insert_sql(t, &table);
    let n = t
        .b()
        .execute_many(&sql, sets(0..10_000))
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    if n != 10_000 || t.count(&table).await? != 10_000 {
        return Err(format!(
            "execute_many of 10000 rows reported {n} and must store them all"
        ));
    }
    let sum = crate::harness::single(&t.fetch(&format!("SELECT SUM(id) FROM {table}"), vec![]).await?)?;
    let sum = int_of(&sum)?;
    if sum != 49_995_000 {
        return Err(format!("the ids stored sum to {sum}, expected 49995000"));
    }
    Ok(())
}
