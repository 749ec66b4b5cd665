//! Integrity violations and other errors: each mapped to the right kind, with its SQLSTATE.

use yara_engine::{Backend, Capabilities, EngineError, ErrorKind, Transaction, Value};

use super::common::{pool_is_clean, warm};
use crate::harness::{describe, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>(_caps: &Capabilities) -> Vec<Case<B>> {
    vec![
        Case::new("integrity::unique", |t| t.block(unique(t))),
        Case::new("integrity::primary_key", |t| t.block(primary_key(t))),
        Case::new("integrity::foreign_key", |t| t.block(foreign_key(t))),
        Case::new("integrity::foreign_key_on_delete", |t| {
            t.block(foreign_key_on_delete(t))
        }),
        Case::new("integrity::not_null", |t| t.block(not_null(t))),
        Case::new("integrity::check", |t| t.block(check_constraint(t))),
        Case::new("integrity::unique_in_transaction", |t| {
            t.block(unique_in_transaction(t))
        }),
        Case::new("integrity::unique_in_execute_many", |t| {
            t.block(unique_in_execute_many(t))
        })
        .isolated(),
        Case::new("errors::syntax", |t| t.block(syntax(t))),
        Case::new("errors::undefined_table", |t| t.block(undefined_table(t))),
        Case::new("errors::wrong_parameter_count", |t| t.block(wrong_parameter_count(t))),
        Case::new("errors::pool_survives_errors", |t| t.block(pool_survives_errors(t))),
    ]
}

/// `result` must be an Integrity error with `sqlstate`.
fn expect_integrity<T: std::fmt::Debug>(what: &str, result: Result<T, EngineError>, sqlstate: &str) -> Outcome {
    match result {
        Ok(v) => Err(format!(
            "{what}: expected an Integrity error (SQLSTATE {sqlstate}), but it succeeded ({v:?})"
        )),
        Err(e) if e.kind == ErrorKind::Integrity && e.sqlstate.as_deref() == Some(sqlstate) => {
            if e.message.trim().is_empty() {
                return Err(format!("{what}: the Integrity error has an empty message"));
            }
            Ok(())
        }
        Err(e) => Err(format!(
            "{what}: expected ErrorKind::Integrity with SQLSTATE {sqlstate}, got {}",
            describe(&e)
        )),
    }
}

/// `result` must be an error of `kind`.
fn expect_kind<T: std::fmt::Debug>(what: &str, result: Result<T, EngineError>, kind: ErrorKind) -> Outcome {
    match result {
        Ok(v) => Err(format!("{what}: expected a {kind:?} error, but it succeeded ({v:?})")),
        Err(e) if e.kind == kind => Ok(()),
        Err(e) => Err(format!("{what}: expected a {kind:?} error, got {}", describe(&e))),
    }
}

async fn unique<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let cols = format!("id {} PRIMARY KEY, code {} UNIQUE", t.types().bigint, t.types().text);
    let table = t.create("uniq", &cols).await?;
    let sql = format!("INSERT INTO {table} (id, code) VALUES ({}, {})", t.ph(1), t.ph(2));
    t.exec(&sql, vec![Value::Int(1), Value::Text("A-1".into())]).await?;
    let r = t
        .b()
        .execute(&sql, vec![Value::Int(2), Value::Text("A-1".into())])
        .await;
    expect_integrity("a duplicate value in a UNIQUE column", r, "23505")?;
    if t.count(&table).await? != 1 {
        return Err("the refused duplicate was stored".into());
    }
    Ok(())
}

async fn primary_key<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("pk").await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    t.exec(&sql, vec![Value::Int(1), Value::Null]).await?;
    let r = t.b().execute(&sql, vec![Value::Int(1), Value::Null]).await;
    expect_integrity("a duplicate primary key", r, "23505")
}

async fn parent_child<B: Backend>(t: &TestCtx<B>) -> Outcome<(String, String)> {
    let parent = t.create_kv("fkparent").await?;
    let cols = format!(
        "id {big} PRIMARY KEY, parent_id {big} REFERENCES {parent} (id)",
        big = t.types().bigint
    );
    let child = t.create("fkchild", &cols).await?;
    t.fill(&parent, 1..2).await?;
    let sql = format!("INSERT INTO {child} (id, parent_id) VALUES ({}, {})", t.ph(1), t.ph(2));
    t.exec(&sql, vec![Value::Int(1), Value::Int(1)]).await?;
    Ok((parent, child))
}

async fn foreign_key<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let (_, child) = parent_child(t).await?;
    let sql = format!("INSERT INTO {child} (id, parent_id) VALUES ({}, {})", t.ph(1), t.ph(2));
    let r = t.b().execute(&sql, vec![Value::Int(2), Value::Int(999)]).await;
    expect_integrity("a foreign key to a missing parent row", r, "23503")?;
    if t.count(&child).await? != 1 {
        return Err("the refused child row was stored".into());
    }
    Ok(())
}

async fn foreign_key_on_delete<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let (parent, _) = parent_child(t).await?;
    let sql = format!("DELETE FROM {parent} WHERE id = {}", t.ph(1));
    let r = t.b().execute(&sql, vec![Value::Int(1)]).await;
    expect_integrity("deleting a parent row that a child references", r, "23503")
}

async fn not_null<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let cols = format!("id {} PRIMARY KEY, v {} NOT NULL", t.types().bigint, t.types().text);
    let table = t.create("notnull", &cols).await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let r = t.b().execute(&sql, vec![Value::Int(1), Value::Null]).await;
    expect_integrity("NULL in a NOT NULL column", r, "23502")
}

async fn check_constraint<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let cols = format!(
        "id {big} PRIMARY KEY, qty {big} CONSTRAINT qty_positive CHECK (qty > 0)",
        big = t.types().bigint
    );
    let table = t.create("check", &cols).await?;
    let sql = format!("INSERT INTO {table} (id, qty) VALUES ({}, {})", t.ph(1), t.ph(2));
    t.exec(&sql, vec![Value::Int(1), Value::Int(5)]).await?;
    let r = t.b().execute(&sql, vec![Value::Int(2), Value::Int(-5)]).await;
    expect_integrity("a value failing a CHECK constraint", r, "23514")
}

async fn unique_in_transaction<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("pktx").await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let mut tx = t
        .b()
        .begin(None)
        .await
        .map_err(|e| format!("begin failed: {}", describe(&e)))?;
    tx.execute(&sql, vec![Value::Int(1), Value::Null])
        .await
        .map_err(|e| format!("the first INSERT failed: {}", describe(&e)))?;
    let r = tx.execute(&sql, vec![Value::Int(1), Value::Null]).await;
    let verdict = expect_integrity("a duplicate primary key inside a transaction", r, "23505");
    tx.rollback()
        .await
        .map_err(|e| format!("rollback after an integrity error failed: {}", describe(&e)))?;
    verdict?;
    if t.count(&table).await? != 0 {
        return Err("the rolled-back transaction's rows are visible".into());
    }
    Ok(())
}

async fn unique_in_execute_many<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("pkmany").await?;
    warm(t).await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let sets = vec![vec![Value::Int(1), Value::Null], vec![Value::Int(1), Value::Null]];
    let r = t.b().execute_many(&sql, sets).await;
    expect_integrity("a duplicate primary key inside execute_many", r, "23505")?;
    pool_is_clean(t, &table, 0, "an execute_many on the pool failed on a duplicate key").await
}

async fn syntax<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let r = t.b().execute("SELEC 1 FROMM nowhere", vec![]).await;
    expect_kind("malformed SQL", r, ErrorKind::Programming)
}

async fn undefined_table<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let missing = t.table("missing");
    let r = t.b().fetch(&format!("SELECT * FROM {missing}"), vec![]).await;
    expect_kind("a query of a table that does not exist", r, ErrorKind::Programming)
}

async fn wrong_parameter_count<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("arity").await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let r = t.b().execute(&sql, vec![Value::Int(1)]).await;
    expect_kind("too few parameters", r, ErrorKind::Programming)?;
    let r = t
        .b()
        .execute(&sql, vec![Value::Int(1), Value::Null, Value::Int(3)])
        .await;
    expect_kind("too many parameters", r, ErrorKind::Programming)?;
    if t.count(&table).await? != 0 {
        return Err("a statement refused for its parameter count stored a row".into());
    }
    Ok(())
}

async fn pool_survives_errors<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("survive").await?;
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let rounds = t.b().status().max_size * 2 + 2;
    for i in 0..rounds as i64 {
        let _ = t.b().execute("SELEC broken", vec![]).await;
        t.exec(&sql, vec![Value::Int(i), Value::Null]).await?;
        let _ = t.b().execute(&sql, vec![Value::Int(i), Value::Null]).await;
    }
    let n = t.count(&table).await?;
    if n != rounds as i64 {
        return Err(format!(
            "after interleaved errors, {n} of {rounds} good inserts are visible"
        ));
    }
    Ok(())
}
