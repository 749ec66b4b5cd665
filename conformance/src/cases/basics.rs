//! The plain statement API: execute, fetch, fetch_one, column names, RETURNING, bind limits.

use yara_engine::{Backend, Capabilities, Value};

use crate::equality::show;
use crate::harness::{int_of, single, Case, Outcome, TestCtx};

pub(crate) fn cases<B: Backend>(caps: &Capabilities) -> Vec<Case<B>> {
    vec![
        Case::new("basic::server_version", |t| t.block(server_version(t))),
        Case::new("basic::rows_affected", |t| t.block(rows_affected(t))),
        Case::new("basic::fetch_all_in_order", |t| t.block(fetch_all(t))),
        Case::new("basic::fetch_one", |t| t.block(fetch_one(t))),
        Case::new("basic::column_names", |t| t.block(column_names(t))),
        Case::new("basic::returning", |t| t.block(returning(t)))
            .require(caps.returning, "capability `returning` is not declared"),
        Case::new("basic::max_bind_params", |t| t.block(max_bind_params(t)))
            .require(caps.max_bind_params > 0, "capability `max_bind_params` is 0"),
    ]
}

async fn server_version<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let v = t
        .b()
        .server_version()
        .await
        .map_err(|e| format!("server_version() failed: {}", crate::harness::describe(&e)))?;
    if v.trim().is_empty() {
        return Err("server_version() returned an empty string".into());
    }
    Ok(())
}

async fn rows_affected<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("affected").await?;
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    for i in 0..3 {
        let n = t.exec(&insert, vec![Value::Int(i), Value::Text("x".into())]).await?;
        if n != 1 {
            return Err(format!("an INSERT of one row reported {n} rows affected"));
        }
    }
    let n = t
        .exec(
            &format!("UPDATE {table} SET v = {}", t.ph(1)),
            vec![Value::Text("y".into())],
        )
        .await?;
    if n != 3 {
        return Err(format!("an UPDATE of 3 rows reported {n} rows affected"));
    }
    let n = t
        .exec(
            &format!("DELETE FROM {table} WHERE id = {}", t.ph(1)),
            vec![Value::Int(1)],
        )
        .await?;
    if n != 1 {
        return Err(format!("a DELETE of 1 row reported {n} rows affected"));
    }
    let n = t
        .exec(
            &format!("DELETE FROM {table} WHERE id = {}", t.ph(1)),
            vec![Value::Int(99)],
        )
        .await?;
    if n != 0 {
        return Err(format!("a DELETE matching no row reported {n} rows affected"));
    }
    Ok(())
}

async fn fetch_all<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("fetch").await?;
    t.fill(&table, 0..500).await?;
    let rows = t
        .fetch(&format!("SELECT id, v FROM {table} ORDER BY id"), vec![])
        .await?;
    if rows.width != 2 || rows.len() != 500 {
        return Err(format!(
            "expected 500 rows of 2 columns, got {} rows of {}",
            rows.len(),
            rows.width
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let want = [Value::Int(i as i64), Value::Text(format!("v{i}"))];
        if row != want {
            return Err(format!("row {i}: expected {want:?}, got {row:?}"));
        }
    }
    let none = t
        .fetch(&format!("SELECT id, v FROM {table} WHERE id < 0"), vec![])
        .await?;
    if !none.is_empty() || none.columns.len() != 2 {
        return Err(format!(
            "a query matching nothing should return no rows and still name its 2 columns, got {} rows and columns {:?}",
            none.len(),
            none.columns
        ));
    }
    Ok(())
}

async fn fetch_one<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("fetchone").await?;
    t.fill(&table, 0..10).await?;
    let sql = format!("SELECT id FROM {table} WHERE id >= {} ORDER BY id", t.ph(1));
    match t.b().fetch_one(&sql, vec![Value::Int(4)]).await {
        Ok(Some(row)) if row == vec![Value::Int(4)] => {}
        Ok(other) => {
            return Err(format!(
                "fetch_one of `{sql}` should return the first row [Int(4)], got {other:?}"
            ))
        }
        Err(e) => return Err(crate::harness::fail_sql(&sql, &e)),
    }
    match t.b().fetch_one(&sql, vec![Value::Int(100)]).await {
        Ok(None) => Ok(()),
        Ok(other) => Err(format!("fetch_one matching no row should return None, got {other:?}")),
        Err(e) => Err(crate::harness::fail_sql(&sql, &e)),
    }
}

async fn column_names<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("colnames").await?;
    t.fill(&table, 0..1).await?;
    let rows = t
        .fetch(
            &format!("SELECT id, v AS renamed, id AS \"MixedCase\" FROM {table}"),
            vec![],
        )
        .await?;
    let want = ["id", "renamed", "MixedCase"];
    if rows.columns != want {
        return Err(format!("expected columns {want:?}, got {:?}", rows.columns));
    }
    Ok(())
}

async fn returning<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("returning").await?;
    let sql = format!(
        "INSERT INTO {table} (id, v) VALUES ({}, {}) RETURNING id, v",
        t.ph(1),
        t.ph(2)
    );
    let rows = t.fetch(&sql, vec![Value::Int(7), Value::Text("seven".into())]).await?;
    let want = [Value::Int(7), Value::Text("seven".into())];
    match rows.first() {
        Some(row) if row == want && rows.len() == 1 => {}
        _ => {
            return Err(format!(
                "INSERT ... RETURNING should return [{want:?}], got {:?}",
                rows.values
            ))
        }
    }
    if t.count(&table).await? != 1 {
        return Err("the row inserted with RETURNING is not in the table".into());
    }
    let n = t
        .exec(
            &format!("UPDATE {table} SET v = {} RETURNING id", t.ph(1)),
            vec![Value::Text("x".into())],
        )
        .await?;
    if n != 1 {
        return Err(format!(
            "execute() of an UPDATE ... RETURNING of one row reported {n} rows affected"
        ));
    }
    Ok(())
}

async fn max_bind_params<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let table = t.create_kv("maxbind").await?;
    t.fill(&table, 0..10).await?;
    let n = t.caps().max_bind_params.min(100_000);
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id IN ({})", t.phs(1, n));
    let params: Vec<Value> = (0..n as i64).map(Value::Int).collect();
    let got = single(
        &t.fetch(&sql, params)
            .await
            .map_err(|e| format!("a statement with exactly max_bind_params ({n}) parameters must run: {e}"))?,
    )?;
    let want = 10.min(n as i64);
    if int_of(&got)? != want {
        return Err(format!(
            "a statement with {n} parameters counted {} rows, expected {want}",
            show(&got)
        ));
    }
    Ok(())
}
