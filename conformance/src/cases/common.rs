//! Helpers shared by the tests that check the pool is left clean.

use std::cell::Cell;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::timeout;
use yara_engine::{Backend, Value};

use crate::harness::{fail_sql, Outcome, TestCtx};

/// A portable slow query (a recursive CTE counting to `n`).
pub(crate) fn slow_sql(n: u64) -> String {
    format!("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT COUNT(*) FROM c")
}

const CLEAN_LIMIT: Duration = Duration::from_secs(10);

pub(crate) fn insert_sql<B: Backend>(t: &TestCtx<B>, table: &str) -> String {
    format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2))
}

/// Run a few queries at once so the pool holds several connections: a connection left dirty
/// then may be skipped by the next acquire instead of being recycled at once.
pub(crate) async fn warm<B: Backend>(t: &TestCtx<B>) -> Outcome {
    let mut set = JoinSet::new();
    for _ in 0..t.b().status().max_size.clamp(1, 4) {
        let b = t.arc();
        set.spawn(async move {
            let sql = slow_sql(100_000);
            b.fetch(&sql, vec![]).await.map(|_| ()).map_err(|e| fail_sql(&sql, &e))
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| format!("a warm-up task failed: {e}"))??;
    }
    Ok(())
}

/// After `context`, the pool must be clean: the table shows exactly the `committed` rows, no lock
/// is left on it (ALTER TABLE goes through at once), a write on every connection succeeds and is
/// visible to every other (no connection is still inside a transaction), and it can be dropped.
pub(crate) async fn pool_is_clean<B: Backend>(t: &TestCtx<B>, table: &str, committed: i64, context: &str) -> Outcome {
    let stage = Cell::new("counting the committed rows");
    let rounds = t.b().status().max_size as i64 + 1;
    let steps = async {
        let n = t.count(table).await?;
        if n != committed {
            return Err(format!(
                "{n} rows are visible, expected {committed}: uncommitted rows must never become visible"
            ));
        }
        stage.set("altering the table (which needs every lock on it released)");
        t.exec(
            &format!("ALTER TABLE {table} ADD COLUMN lock_probe {}", t.types().bigint),
            vec![],
        )
        .await?;
        stage.set("writing through the pool");
        let insert = insert_sql(t, table);
        for i in 0..rounds {
            t.exec(&insert, vec![Value::Int(1_000_000 + i), Value::Null]).await?;
        }
        stage.set("reading back through the pool");
        for _ in 0..rounds {
            let n = t.count(table).await?;
            if n != committed + rounds {
                return Err(format!(
                    "after {rounds} autocommit writes a read sees {n} rows, expected {}: a pooled connection is \
                     still inside a transaction, so its writes are not committed",
                    committed + rounds
                ));
            }
        }
        stage.set("dropping the table (needs every lock on it released)");
        t.exec(&format!("DROP TABLE {table}"), vec![]).await?;
        Ok(())
    };
    match timeout(CLEAN_LIMIT, steps).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("after {context}, the pool is not clean ({}): {e}", stage.get())),
        Err(_) => Err(format!(
            "after {context}, the pool hung while {} (nothing finished within {}s): a connection went back to \
             the pool still inside its transaction, holding its locks",
            stage.get(),
            CLEAN_LIMIT.as_secs()
        )),
    }
}
