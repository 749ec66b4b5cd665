//! Transactions, savepoints and the isolation levels a backend declares.

use std::sync::Arc;
use std::time::Duration;

use yara_engine::{Backend, Capabilities, ErrorKind, IsolationLevel, Transaction, Value};

use crate::harness::{describe, fail_sql, int_of, Case, Outcome, TestCtx};

const LEVELS: [IsolationLevel; 4] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::RepeatableRead,
    IsolationLevel::Serializable,
];

pub(crate) fn cases<B: Backend>(caps: &Capabilities) -> Vec<Case<B>> {
    let sp = |c: Case<B>| c.require(caps.savepoints, "capability `savepoints` is not declared");
    let mut v = vec![
        Case::new("transaction::commit_makes_visible", |t| t.block(commit_visible(t))),
        Case::new("transaction::rollback_discards", |t| t.block(rollback_discards(t))),
        Case::new("transaction::reads_its_own_writes", |t| t.block(reads_own_writes(t))),
        Case::new("transaction::no_dirty_reads_from_the_pool", |t| {
            t.block(no_dirty_reads_from_pool(t))
        }),
        sp(Case::new("savepoint::rollback_to_restores", |t| {
            t.block(rollback_to_restores(t))
        })),
        sp(Case::new("savepoint::release_keeps_changes", |t| {
            t.block(release_keeps(t))
        })),
        sp(Case::new("savepoint::nested", |t| t.block(nested(t)))),
        sp(Case::new("savepoint::recovers_after_an_error", |t| {
            t.block(recover_after_error(t))
        })),
        sp(Case::new("savepoint::unknown_name_is_an_error", |t| {
            t.block(unknown_savepoint(t))
        })),
        sp(Case::new("savepoint::name_injection_refused", |t| {
            t.block(name_injection(t))
        })),
    ];
    for level in LEVELS {
        let declared = caps.isolation_levels.contains(&level);
        let why = format!("isolation level {} is not declared in capabilities", level.name());
        v.push(
            Case::new(format!("isolation::{}::begin_and_commit", level.name()), move |t| {
                t.block(begin_commit(t, level))
            })
            .require(declared, why.clone()),
        );
        if level != IsolationLevel::ReadUncommitted {
            v.push(
                Case::new(format!("isolation::{}::no_dirty_read", level.name()), move |t| {
                    t.block(no_dirty_read(t, level))
                })
                .require(declared, why.clone()),
            );
        }
        if matches!(level, IsolationLevel::RepeatableRead | IsolationLevel::Serializable) {
            v.push(
                Case::new(
                    format!("isolation::{}::no_nonrepeatable_read", level.name()),
                    move |t| t.block(no_nonrepeatable_read(t, level)),
                )
                .require(declared, why.clone()),
            );
        }
        if level == IsolationLevel::Serializable {
            v.push(
                Case::new("isolation::serializable::no_write_skew", |t| t.block(no_write_skew(t)))
                    .require(declared, why.clone()),
            );
        }
    }
    v
}

fn tx_err(what: &str) -> impl Fn(yara_engine::EngineError) -> String + '_ {
    move |e| format!("{what} failed: {}", describe(&e))
}

async fn tx_count<T: Transaction>(tx: &mut T, table: &str) -> Outcome<i64> {
    let rows = tx
        .fetch(&format!("SELECT COUNT(*) FROM {table}"), vec![])
        .await
        .map_err(tx_err("COUNT(*) inside the transaction"))?;
    int_of(rows.first().and_then(|r| r.first()).unwrap_or(&Value::Null))
}

async fn tx_insert<B: Backend, T: Transaction>(t: &TestCtx<B>, tx: &mut T, table: &str, id: i64) -> Outcome {
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    tx.execute(&sql, vec![Value::Int(id), Value::Text(format!("v{id}"))])
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    Ok(())
}

async fn ids<B: Backend>(t: &TestCtx<B>, table: &str) -> Outcome<Vec<i64>> {
    let rows = t.fetch(&format!("SELECT id FROM {table} ORDER BY id"), vec![]).await?;
    rows.values.iter().map(int_of).collect()
}

fn needs_two_connections<B: Backend>(t: &TestCtx<B>) -> Outcome {
    if t.b().status().max_size < 2 {
        return Err("this test needs a pool of at least 2 connections (the factory's pool has max_size < 2)".into());
    }
    Ok(())
}

async fn commit_visible<B: Backend>(t: &TestCtx<B>) -> Outcome {
    needs_two_connections(t)?;
    let table = t.create_kv("txcommit").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx_insert(t, &mut tx, &table, 2).await?;
    let outside = t.count(&table).await?;
    if outside != 0 {
        return Err(format!(
            "{outside} uncommitted row(s) are visible outside the transaction"
        ));
    }
    tx.commit().await.map_err(tx_err("commit"))?;
    let got = ids(t, &table).await?;
    if got != [1, 2] {
        return Err(format!("after commit the pool sees ids {got:?}, expected [1, 2]"));
    }
    Ok(())
}

async fn rollback_discards<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("txrollback").await?;
    t.fill(&table, 0..1).await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx.execute(
        &format!("DELETE FROM {table} WHERE id = {}", t.ph(1)),
        vec![Value::Int(0)],
    )
    .await
    .map_err(tx_err("DELETE"))?;
    tx.rollback().await.map_err(tx_err("rollback"))?;
    let got = ids(t, &table).await?;
    if got != [0] {
        return Err(format!("after rollback the table holds ids {got:?}, expected [0]"));
    }
    Ok(())
}

async fn reads_own_writes<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("txown").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 5).await?;
    let sql = format!("SELECT v FROM {table} WHERE id = {}", t.ph(1));
    let row = tx
        .fetch_one(&sql, vec![Value::Int(5)])
        .await
        .map_err(|e| fail_sql(&sql, &e))?;
    if row != Some(vec![Value::Text("v5".into())]) {
        return Err(format!(
            "the transaction cannot read the row it wrote: fetch_one gave {row:?}"
        ));
    }
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let n = tx
        .execute_many(
            &insert,
            vec![vec![Value::Int(6), Value::Null], vec![Value::Int(7), Value::Null]],
        )
        .await
        .map_err(|e| fail_sql(&insert, &e))?;
    if n != 2 || tx_count(&mut tx, &table).await? != 3 {
        return Err(format!(
            "execute_many inside the transaction reported {n}; the transaction must see 3 rows"
        ));
    }
    tx.commit().await.map_err(tx_err("commit"))?;
    if t.count(&table).await? != 3 {
        return Err("the committed rows are not all visible".into());
    }
    Ok(())
}

async fn no_dirty_reads_from_pool<B: Backend>(t: &TestCtx<B>) -> Outcome {
    needs_two_connections(t)?;
    let table = t.create_kv("txdirty").await?;
    t.fill(&table, 0..1).await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx.execute(
        &format!("UPDATE {table} SET v = {}", t.ph(1)),
        vec![Value::Text("dirty".into())],
    )
    .await
    .map_err(tx_err("UPDATE"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    let rows = t.fetch(&format!("SELECT v FROM {table} ORDER BY id"), vec![]).await?;
    tx.rollback().await.map_err(tx_err("rollback"))?;
    if rows.values != [Value::Text("v0".into())] {
        return Err(format!(
            "the pool saw uncommitted changes of an open transaction: {:?}",
            rows.values
        ));
    }
    Ok(())
}

async fn rollback_to_restores<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("sprollback").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx.savepoint("sp_one").await.map_err(tx_err("SAVEPOINT sp_one"))?;
    tx_insert(t, &mut tx, &table, 2).await?;
    tx.execute(
        &format!("UPDATE {table} SET v = {}", t.ph(1)),
        vec![Value::Text("changed".into())],
    )
    .await
    .map_err(tx_err("UPDATE"))?;
    tx.rollback_to("sp_one").await.map_err(tx_err("ROLLBACK TO sp_one"))?;
    if tx_count(&mut tx, &table).await? != 1 {
        return Err("after rollback_to, the transaction still sees the row inserted after the savepoint".into());
    }
    tx_insert(t, &mut tx, &table, 3).await?;
    tx.commit().await.map_err(tx_err("commit"))?;
    let rows = t
        .fetch(&format!("SELECT id, v FROM {table} ORDER BY id"), vec![])
        .await?;
    let want = [
        Value::Int(1),
        Value::Text("v1".into()),
        Value::Int(3),
        Value::Text("v3".into()),
    ];
    if rows.values != want {
        return Err(format!(
            "rollback_to must undo the work after the savepoint only: expected {want:?}, got {:?}",
            rows.values
        ));
    }
    Ok(())
}

async fn release_keeps<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("sprelease").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx.savepoint("keep").await.map_err(tx_err("SAVEPOINT keep"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx.release("keep").await.map_err(tx_err("RELEASE keep"))?;
    tx.commit().await.map_err(tx_err("commit"))?;
    if ids(t, &table).await? != [1] {
        return Err("a released savepoint's work must be committed with the transaction".into());
    }
    Ok(())
}

async fn nested<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("spnested").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx.savepoint("outer_sp").await.map_err(tx_err("SAVEPOINT outer_sp"))?;
    tx_insert(t, &mut tx, &table, 2).await?;
    tx.savepoint("inner_sp").await.map_err(tx_err("SAVEPOINT inner_sp"))?;
    tx_insert(t, &mut tx, &table, 3).await?;
    tx.rollback_to("inner_sp")
        .await
        .map_err(tx_err("ROLLBACK TO inner_sp"))?;
    if tx_count(&mut tx, &table).await? != 2 {
        return Err("rolling back to the inner savepoint must keep the rows before it".into());
    }
    tx.rollback_to("outer_sp")
        .await
        .map_err(tx_err("ROLLBACK TO outer_sp"))?;
    tx_insert(t, &mut tx, &table, 4).await?;
    tx.commit().await.map_err(tx_err("commit"))?;
    let got = ids(t, &table).await?;
    if got != [1, 4] {
        return Err(format!("nested savepoints: expected ids [1, 4], got {got:?}"));
    }
    Ok(())
}

async fn recover_after_error<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("sprecover").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    tx.savepoint("before_dup")
        .await
        .map_err(tx_err("SAVEPOINT before_dup"))?;
    let dup = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    match tx.execute(&dup, vec![Value::Int(1), Value::Null]).await {
        Ok(_) => return Err("inserting a duplicate primary key inside a transaction succeeded".into()),
        Err(e) if e.kind != ErrorKind::Integrity => {
            return Err(format!(
                "a duplicate key must be an Integrity error, got {}",
                describe(&e)
            ))
        }
        Err(_) => {}
    }
    tx.rollback_to("before_dup")
        .await
        .map_err(tx_err("ROLLBACK TO a savepoint after an error"))?;
    tx_insert(t, &mut tx, &table, 2).await?;
    tx.commit()
        .await
        .map_err(tx_err("commit after recovering with rollback_to"))?;
    let got = ids(t, &table).await?;
    if got != [1, 2] {
        return Err(format!(
            "after recovering from an error with rollback_to, expected ids [1, 2], got {got:?}"
        ));
    }
    Ok(())
}

async fn unknown_savepoint<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("spunknown").await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    tx_insert(t, &mut tx, &table, 1).await?;
    if tx.rollback_to("never_made").await.is_ok() {
        return Err("rollback_to a savepoint that does not exist succeeded".into());
    }
    tx.rollback()
        .await
        .map_err(tx_err("rollback after a failed rollback_to"))?;
    if t.count(&table).await? != 0 {
        return Err("the transaction's row survived its rollback".into());
    }
    Ok(())
}

async fn name_injection<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("spinject").await?;
    t.fill(&table, 0..1).await?;
    let mut tx = t.b().begin(None).await.map_err(tx_err("begin"))?;
    let evil = format!("x; DELETE FROM {table}; SAVEPOINT y");
    let refused = tx.savepoint(&evil).await.is_err();
    let _ = tx.rollback().await;
    if !refused {
        return Err(format!(
            "savepoint({evil:?}) was accepted: savepoint names must be plain identifiers"
        ));
    }
    if t.count(&table).await? != 1 {
        return Err("a savepoint name was spliced into SQL and executed".into());
    }
    Ok(())
}

async fn begin_commit<B: Backend>(t: &TestCtx<B>, level: IsolationLevel) -> Outcome {
    let table = t.create_kv("isobegin").await?;
    let mut tx = t.b().begin(Some(level)).await.map_err(|e| {
        format!(
            "begin({}) failed although the level is declared: {}",
            level.name(),
            describe(&e)
        )
    })?;
    tx_insert(t, &mut tx, &table, 1).await?;
    if tx_count(&mut tx, &table).await? != 1 {
        return Err(format!("a {} transaction does not see its own insert", level.name()));
    }
    tx.commit().await.map_err(tx_err("commit"))?;
    if t.count(&table).await? != 1 {
        return Err(format!("a committed {} transaction's row is not visible", level.name()));
    }
    Ok(())
}

/// A writer that inserts without committing must not be seen by a reader at `level`.
async fn no_dirty_read<B: Backend>(t: &TestCtx<B>, level: IsolationLevel) -> Outcome {
    needs_two_connections(t)?;
    let table = t.create_kv("isodirty").await?;
    let mut reader = t.b().begin(Some(level)).await.map_err(tx_err("begin (reader)"))?;
    let before = tx_count(&mut reader, &table).await?;
    let (inserted_tx, inserted_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let b = t.arc();
    let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let writer = tokio::spawn(async move {
        let mut w = b
            .begin(None)
            .await
            .map_err(|e| format!("begin (writer) failed: {}", describe(&e)))?;
        w.execute(&sql, vec![Value::Int(1), Value::Text("dirty".into())])
            .await
            .map_err(|e| format!("the writer's INSERT failed: {}", describe(&e)))?;
        let _ = inserted_tx.send(());
        let _ = finish_rx.await;
        w.rollback()
            .await
            .map_err(|e| format!("the writer's rollback failed: {}", describe(&e)))
    });
    // A backend that serialises transactions keeps the writer waiting; give it a moment either way.
    let _ = tokio::time::timeout(Duration::from_millis(300), inserted_rx).await;
    let after = tx_count(&mut reader, &table).await?;
    reader.commit().await.map_err(tx_err("commit (reader)"))?;
    let _ = finish_tx.send(());
    writer.await.map_err(|e| format!("the writer task failed: {e}"))??;
    if before != 0 || after != 0 {
        return Err(format!(
            "a {} transaction read a row another transaction had not committed (count {before} then {after})",
            level.name()
        ));
    }
    if t.count(&table).await? != 0 {
        return Err("the writer's rolled-back row is visible".into());
    }
    Ok(())
}

/// A row read twice in one transaction reads the same, although another session changed it.
async fn no_nonrepeatable_read<B: Backend>(t: &TestCtx<B>, level: IsolationLevel) -> Outcome {
    needs_two_connections(t)?;
    let table = t.create_kv("isorepeat").await?;
    t.fill(&table, 0..1).await?;
    let select = format!("SELECT v FROM {table} WHERE id = {}", t.ph(1));
    let mut tx = t.b().begin(Some(level)).await.map_err(tx_err("begin"))?;
    let first = tx
        .fetch(&select, vec![Value::Int(0)])
        .await
        .map_err(|e| fail_sql(&select, &e))?;
    let b = t.arc();
    let update = format!("UPDATE {table} SET v = {} WHERE id = {}", t.ph(1), t.ph(2));
    let writer = tokio::spawn(async move {
        b.execute(&update, vec![Value::Text("changed".into()), Value::Int(0)])
            .await
            .map_err(|e| format!("the concurrent UPDATE failed: {}", describe(&e)))
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tx
        .fetch(&select, vec![Value::Int(0)])
        .await
        .map_err(|e| fail_sql(&select, &e))?;
    tx.commit().await.map_err(tx_err("commit"))?;
    writer.await.map_err(|e| format!("the writer task failed: {e}"))??;
    if first.values != second.values {
        return Err(format!(
            "a {} transaction read {:?} then {:?} for the same row (a non-repeatable read)",
            level.name(),
            first.values,
            second.values
        ));
    }
    let now = t.fetch(&select, vec![Value::Int(0)]).await?;
    if now.values != [Value::Text("changed".into())] {
        return Err(format!(
            "the concurrent UPDATE was lost: the row now reads {:?}",
            now.values
        ));
    }
    Ok(())
}

/// Two on-call doctors each check that someone else is on call, then go off call: under
/// SERIALIZABLE at least one of them must stay.
async fn no_write_skew<B: Backend>(t: &TestCtx<B>) -> Outcome {
    needs_two_connections(t)?;
    let cols = format!("id {} PRIMARY KEY, on_call {}", t.types().bigint, t.types().boolean);
    let table = t.create("skew", &cols).await?;
    let insert = format!("INSERT INTO {table} (id, on_call) VALUES ({}, {})", t.ph(1), t.ph(2));
    for id in [1, 2] {
        t.exec(&insert, vec![Value::Int(id), Value::Bool(true)]).await?;
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let count_sql = Arc::new(format!("SELECT COUNT(*) FROM {table} WHERE on_call = {}", t.ph(1)));
    let off_sql = Arc::new(format!(
        "UPDATE {table} SET on_call = {} WHERE id = {}",
        t.ph(1),
        t.ph(2)
    ));
    let mut tasks = Vec::new();
    for id in [1i64, 2] {
        let (b, barrier, count_sql, off_sql) = (t.arc(), barrier.clone(), count_sql.clone(), off_sql.clone());
        tasks.push(tokio::spawn(async move {
            let mut tx = b.begin(Some(IsolationLevel::Serializable)).await?;
            let rows = tx.fetch(&count_sql, vec![Value::Bool(true)]).await?;
            let on_call = match rows.first().and_then(|r| r.first()) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            };
            let _ = tokio::time::timeout(Duration::from_millis(300), barrier.wait()).await;
            if on_call >= 2 {
                tx.execute(&off_sql, vec![Value::Bool(false), Value::Int(id)]).await?;
            }
            tx.commit().await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.map_err(|e| format!("a doctor task failed: {e}"))?);
    }
    for r in &outcomes {
        if let Err(e) = r {
            if !matches!(e.kind, ErrorKind::Serialization | ErrorKind::Deadlock) {
                return Err(format!(
                    "a conflicting serializable transaction may only fail with a Serialization or Deadlock error, got {}",
                    describe(e)
                ));
            }
        }
    }
    let remaining = int_of(&crate::harness::single(
        &t.fetch(&count_sql, vec![Value::Bool(true)]).await?,
    )?)?;
    if remaining < 1 {
        return Err("write skew under SERIALIZABLE: both transactions committed and nobody is on call".into());
    }
    Ok(())
}
