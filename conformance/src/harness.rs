//! The runner: provisioning, runtime-registered tests, capability gating and cleanup.

use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use yara_engine::{Backend, Capabilities, EngineError, Rows, Value};

use crate::equality::cut;
use crate::types::TypeNames;

/// What a test returns: `Err` carries the failure message.
pub type Outcome<T = ()> = Result<T, String>;

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type Teardown = Box<dyn FnOnce() -> LocalFuture<Result<(), String>> + Send>;
type Factory<B> = Arc<dyn Fn() -> LocalFuture<Result<Fixture<B>, String>> + Send + Sync>;

/// Default number of generated cases per property.
pub const DEFAULT_CASES: u32 = 64;
/// Default base seed (fixed, so every run explores the same cases unless asked otherwise).
pub const DEFAULT_SEED: u64 = 0x5941_5241_434f_4e46;
/// Default limit for one test step before it is reported as a hang.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A provisioned backend under test: what the factory returns.
pub struct Fixture<B: Backend> {
    backend: B,
    types: TypeNames,
    teardown: Option<Teardown>,
    expected_failures: Vec<(String, String)>,
}

impl<B: Backend> Fixture<B> {
    /// A fresh backend, and the column types the suite should create for each value kind.
    pub fn new(backend: B, types: TypeNames) -> Self {
        Fixture {
            backend,
            types,
            teardown: None,
            expected_failures: Vec::new(),
        }
    }

    /// Declare that the test named `test` is known to fail on this backend, with a reason (an
    /// issue link, say). The declaration is strict: the test is reported as
    /// `ignored (expected failure: <reason>)` while it fails, an unexpected pass fails the run,
    /// and a name that matches no test fails the run, so declarations cannot go stale.
    pub fn expect_failure(mut self, test: impl Into<String>, reason: impl Into<String>) -> Self {
        self.expected_failures.push((test.into(), reason.into()));
        self
    }

    /// Run `teardown` after the suite is done with this backend (and has closed it): drop the
    /// scratch database or schema, delete the temporary file.
    pub fn with_teardown<F, Fut, E>(mut self, teardown: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + 'static,
        E: Display,
    {
        self.teardown = Some(Box::new(move || {
            let fut = teardown();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        }));
        self
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn types(&self) -> &TypeNames {
        &self.types
    }
}

/// Run-wide settings, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Generated cases per property (`YARA_CONFORMANCE_CASES`, else `PROPTEST_CASES`, else 64).
    pub cases: u32,
    /// Base seed (`YARA_CONFORMANCE_SEED`, decimal or 0x-hex); each test derives its own from it.
    pub seed: u64,
    /// Limit for one test step (`YARA_CONFORMANCE_TIMEOUT`, seconds).
    pub timeout: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let cases = match var("YARA_CONFORMANCE_CASES")
            .map(|v| ("YARA_CONFORMANCE_CASES", v))
            .or_else(|| var("PROPTEST_CASES").map(|v| ("PROPTEST_CASES", v)))
        {
            Some((name, v)) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} must be a positive integer, got {v:?}"))?,
            None => DEFAULT_CASES,
        };
        let seed = match var("YARA_CONFORMANCE_SEED") {
            Some(v) => {
                let t = v.trim();
                let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => t.parse::<u64>().ok(),
                };
                parsed
                    .ok_or_else(|| format!("YARA_CONFORMANCE_SEED must be an integer (decimal or 0x-hex), got {v:?}"))?
            }
            None => DEFAULT_SEED,
        };
        let timeout = match var("YARA_CONFORMANCE_TIMEOUT") {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| format!("YARA_CONFORMANCE_TIMEOUT must be a positive number of seconds, got {v:?}"))?,
            None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        };
        Ok(Settings { cases, seed, timeout })
    }
}

/// Everything the tests of one run share.
pub(crate) struct Suite<B: Backend> {
    rt: tokio::runtime::Handle,
    backend: Arc<B>,
    caps: Capabilities,
    types: TypeNames,
    settings: Settings,
    factory: Factory<B>,
    token: String,
    counter: AtomicU64,
}

/// One test's view of the suite: the backend it runs against and the tables it created.
pub(crate) struct TestCtx<B: Backend> {
    suite: Arc<Suite<B>>,
    backend: Arc<B>,
    name: String,
    tables: Mutex<Vec<String>>,
}

pub(crate) type Body<B> = Box<dyn FnOnce(&TestCtx<B>) -> Outcome + Send>;

/// A registered test: its stable name, why it is skipped (if it is), and what it runs.
pub(crate) struct Case<B: Backend> {
    pub name: String,
    pub skip: Option<String>,
    /// Run against a backend of its own from the factory (for tests that may leave the pool in a
    /// bad state if the backend is wrong), torn down afterwards.
    pub isolated: bool,
    pub body: Body<B>,
}

impl<B: Backend> Case<B> {
    pub fn new(name: impl Into<String>, body: impl FnOnce(&TestCtx<B>) -> Outcome + Send + 'static) -> Self {
        Case {
            name: name.into(),
            skip: None,
            isolated: false,
            body: Box::new(body),
        }
    }

    /// Skip with `reason` when it is `Some` (the first reason given wins).
    pub fn unless(mut self, reason: Option<String>) -> Self {
        if self.skip.is_none() {
            self.skip = reason;
        }
        self
    }

    /// Skip with `reason` unless `ok`.
    pub fn require(self, ok: bool, reason: impl Into<String>) -> Self {
        let reason = if ok { None } else { Some(reason.into()) };
        self.unless(reason)
    }

    pub fn isolated(mut self) -> Self {
        self.isolated = true;
        self
    }
}

/// Render an engine error with its kind and SQLSTATE.
pub(crate) fn describe(e: &EngineError) -> String {
    match &e.sqlstate {
        Some(code) => format!("{:?} error (SQLSTATE {code}): {}", e.kind, e.message),
        None => format!("{:?} error: {}", e.kind, e.message),
    }
}

pub(crate) fn fail_sql(sql: &str, e: &EngineError) -> String {
    format!("`{}` failed: {}", cut(sql, 200), describe(e))
}

/// An integer cell (COUNT(*) and the like).
pub(crate) fn int_of(v: &Value) -> Outcome<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Decimal(d) => d
            .parse()
            .map_err(|_| format!("expected an integer, got {}", crate::equality::show(v))),
        other => Err(format!("expected an integer, got {}", crate::equality::show(other))),
    }
}

/// The only cell of a one-row, one-column result.
pub(crate) fn single(rows: &Rows) -> Outcome<Value> {
    match rows.first() {
        Some(row) if !row.is_empty() => Ok(row[0].clone()),
        _ => Err(format!(
            "expected one row, got {} row(s) of {} column(s)",
            rows.len(),
            rows.width
        )),
    }
}

impl<B: Backend> TestCtx<B> {
    pub fn b(&self) -> &B {
        &self.backend
    }

    /// The backend, to move into spawned tasks.
    pub fn arc(&self) -> Arc<B> {
        self.backend.clone()
    }

    pub fn caps(&self) -> &Capabilities {
        &self.suite.caps
    }

    pub fn types(&self) -> &TypeNames {
        &self.suite.types
    }

    /// The `i`-th placeholder (1-based) in the backend's style.
    pub fn ph(&self, i: usize) -> String {
        placeholder(self.caps(), i)
    }

    /// `n` placeholders from `first`, comma-separated.
    pub fn phs(&self, first: usize, n: usize) -> String {
        (first..first + n).map(|i| self.ph(i)).collect::<Vec<_>>().join(", ")
    }

    /// A table name unique to this run and test; dropped when the test ends.
    pub fn table(&self, hint: &str) -> String {
        let n = self.suite.counter.fetch_add(1, Ordering::Relaxed);
        let hint: String = hint
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("yc_{}_{n}_{hint}", self.suite.token);
        if let Ok(mut tables) = self.tables.lock() {
            tables.push(name.clone());
        }
        name
    }

    /// Run `fut` to completion on the suite's runtime, failing it if it takes longer than the
    /// step limit (a hang is a failure, never a stuck run).
    pub fn block<T>(&self, fut: impl Future<Output = Outcome<T>>) -> Outcome<T> {
        let limit = self.suite.settings.timeout;
        self.suite.rt.block_on(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "did not finish within {}s: the backend hangs here (YARA_CONFORMANCE_TIMEOUT raises the limit)",
                    limit.as_secs()
                )),
            }
        })
    }

    /// A proptest runner seeded from the run's seed and this test's name.
    pub fn proptest_runner(&self) -> (TestRunner, u64) {
        let seed = self.suite.settings.seed ^ fnv1a(&self.name);
        let mut bytes = [0u8; 32];
        let mut x = seed;
        for chunk in bytes.chunks_mut(8) {
            x = splitmix64(x);
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let config = Config {
            cases: self.suite.settings.cases,
            failure_persistence: None,
            max_shrink_iters: 512,
            ..Config::default()
        };
        (
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)),
            seed,
        )
    }

    pub async fn exec(&self, sql: &str, params: Vec<Value>) -> Outcome<u64> {
        self.b().execute(sql, params).await.map_err(|e| fail_sql(sql, &e))
    }

    pub async fn fetch(&self, sql: &str, params: Vec<Value>) -> Outcome<Rows> {
        self.b().fetch(sql, params).await.map_err(|e| fail_sql(sql, &e))
    }

    /// Create a table of this test with the given column definitions; its name.
    pub async fn create(&self, hint: &str, columns: &str) -> Outcome<String> {
        let table = self.table(hint);
        self.exec(&format!("CREATE TABLE {table} ({columns})"), vec![]).await?;
        Ok(table)
    }

    /// `id BIGINT PRIMARY KEY, v TEXT`: the table most behaviour tests use.
    pub async fn create_kv(&self, hint: &str) -> Outcome<String> {
        let cols = format!("id {} PRIMARY KEY, v {}", self.types().bigint, self.types().text);
        self.create(hint, &cols).await
    }

    pub async fn count(&self, table: &str) -> Outcome<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        int_of(&single(&self.fetch(&sql, vec![]).await?)?)
    }

    /// Insert `(id, v)` rows `ids` into a `create_kv` table, in one `execute_many`.
    pub async fn fill(&self, table: &str, ids: std::ops::Range<i64>) -> Outcome<()> {
        let sql = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", self.ph(1), self.ph(2));
        let sets = ids.map(|i| vec![Value::Int(i), Value::Text(format!("v{i}"))]).collect();
        self.b()
            .execute_many(&sql, sets)
            .await
            .map_err(|e| fail_sql(&sql, &e))?;
        Ok(())
    }

    fn cleanup(&self) -> Outcome {
        let tables: Vec<String> = match self.tables.lock() {
            Ok(mut t) => t.drain(..).rev().collect(),
            Err(_) => return Ok(()),
        };
        if tables.is_empty() {
            return Ok(());
        }
        let backend = self.backend.clone();
        self.suite.rt.block_on(async move {
            let work = async {
                let mut errors = Vec::new();
                for t in &tables {
                    let sql = format!("DROP TABLE IF EXISTS {t}");
                    if let Err(e) = backend.execute(&sql, vec![]).await {
                        errors.push(fail_sql(&sql, &e));
                    }
                }
                errors
            };
            match tokio::time::timeout(CLEANUP_TIMEOUT, work).await {
                Ok(errors) if errors.is_empty() => Ok(()),
                Ok(errors) => Err(format!("cleanup failed: {}", errors.join("; "))),
                Err(_) => Err(format!(
                    "cleanup hung: dropping the test's tables ({}) did not finish within {}s (are locks still held?)",
                    tables.join(", "),
                    CLEANUP_TIMEOUT.as_secs()
                )),
            }
        })
    }
}

pub(crate) fn placeholder(caps: &Capabilities, i: usize) -> String {
    match caps.placeholder {
        "dollar" => format!("${i}"),
        "question" => format!("?{i}"),
        _ => "?".to_string(),
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn run_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = splitmix64(nanos ^ u64::from(std::process::id()));
    let mut s = String::new();
    for _ in 0..6 {
        let d = (x % 36) as u8;
        s.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
        x /= 36;
    }
    s
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}

fn run_case<B: Backend>(suite: Arc<Suite<B>>, name: String, isolated: bool, body: Body<B>) -> Outcome {
    let (backend, teardown) = if isolated {
        let limit = suite.settings.timeout;
        let fixture = suite.rt.block_on(async {
            match tokio::time::timeout(limit, (suite.factory)()).await {
                Ok(r) => r,
                Err(_) => Err(format!("provisioning did not finish within {}s", limit.as_secs())),
            }
        });
        let fixture = fixture.map_err(|e| format!("cannot provision a backend of its own for this test: {e}"))?;
        (Arc::new(fixture.backend), fixture.teardown)
    } else {
        (suite.backend.clone(), None)
    };
    let t = TestCtx {
        suite: suite.clone(),
        backend: backend.clone(),
        name,
        tables: Mutex::new(Vec::new()),
    };
    let result = catch_unwind(AssertUnwindSafe(|| body(&t))).unwrap_or_else(|p| Err(panic_message(p)));
    let cleaned = t.cleanup();
    let mut torn = Ok(());
    if isolated {
        backend.close();
        if let Some(teardown) = teardown {
            // Provisioning's limit, not the table cleanup's: dropping a scratch database waits
            // for a checkpoint on PostgreSQL, which took over 10 s while other work loaded the disk.
            let limit = suite.settings.timeout;
            torn = suite.rt.block_on(async {
                match tokio::time::timeout(limit, teardown()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("did not finish within {}s", limit.as_secs())),
                }
            });
            torn = torn.map_err(|e| format!("teardown of this test's backend failed: {e}"));
        }
    }
    match (result, cleaned, torn) {
        (Ok(()), Ok(()), Ok(())) => Ok(()),
        (r, c, t) => {
            let msgs: Vec<String> = [r, c, t].into_iter().filter_map(|x| x.err()).collect();
            Err(msgs.join("\n\nafterwards: "))
        }
    }
}

fn trial<B: Backend>(suite: Arc<Suite<B>>, case: Case<B>, expected_failure: Option<String>) -> Trial {
    let Case {
        name,
        skip,
        isolated,
        body,
    } = case;
    let test_name = name.clone();
    Trial::ignorable_test(name, move || match (skip, expected_failure) {
        (Some(reason), _) => Ok(Completion::ignored_with(format!("skipped: {reason}"))),
        (None, None) => run_case(suite, test_name, isolated, body)
            .map(|()| Completion::Completed)
            .map_err(Failed::from),
        (None, Some(reason)) => match run_case(suite, test_name, isolated, body) {
            Err(_) => Ok(Completion::ignored_with(format!("expected failure: {reason}"))),
            Ok(()) => Err(Failed::from(format!(
                "declared as an expected failure ({reason}), but it passed: remove the declaration"
            ))),
        },
    })
}

/// Run the whole suite against backends from `factory`; the process exit code.
///
/// `factory` is called once for the backend most tests share, and once more for each test
/// that needs a backend of its own (the cancellation tests). Use [`conformance_suite!`] rather
/// than calling this directly.
///
/// [`conformance_suite!`]: crate::conformance_suite
pub fn run<B, F, Fut, E>(factory: F) -> ExitCode
where
    B: Backend,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Fixture<B>, E>> + 'static,
    E: Display,
{
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        // The tests wait on the database far more than they compute: run more of them at once
        // than there are cores (RUST_TEST_THREADS or --test-threads override this).
        let from_env = std::env::var("RUST_TEST_THREADS")
            .ok()
            .and_then(|v| v.trim().parse().ok());
        args.test_threads = Some(from_env.filter(|n: &usize| *n > 0).unwrap_or(4));
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("yara-conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .thread_name("yara-conformance")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("yara-conformance: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let factory: Factory<B> = Arc::new(move || {
        let fut = factory();
        Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
    });
    let started = Instant::now();
    let fixture = match rt.block_on(factory()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("yara-conformance: cannot provision the backend under test: {e}");
            eprintln!("yara-conformance: FAILED (no test could run)");
            return ExitCode::FAILURE;
        }
    };
    let Fixture {
        backend,
        types,
        teardown,
        expected_failures,
    } = fixture;
    let backend = Arc::new(backend);
    let caps = backend.capabilities().clone();
    let version = rt
        .block_on(backend.server_version())
        .unwrap_or_else(|e| format!("unknown ({})", describe(&e)));
    if !args.list {
        println!(
            "yara-conformance: backend {} (server {version}); {} cases per property, seed {:#x}, step limit {}s",
            caps.backend,
            settings.cases,
            settings.seed,
            settings.timeout.as_secs()
        );
        println!("capabilities: {caps:?}");
    }
    let cases = crate::cases::all::<B>(&caps, &types);
    let suite = Arc::new(Suite {
        rt: rt.handle().clone(),
        backend: backend.clone(),
        caps,
        types,
        settings,
        factory,
        token: run_token(),
        counter: AtomicU64::new(0),
    });
    let unknown: Vec<&str> = expected_failures
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !cases.iter().any(|c| c.name == *n))
        .collect();
    let declarations_ok = unknown.is_empty();
    if !declarations_ok {
        eprintln!(
            "yara-conformance: expected failures are declared for tests that do not exist: {} (see --list); \
             no test was run",
            unknown.join(", ")
        );
    }
    let mut skipped = Vec::new();
    let mut xfails = Vec::new();
    let mut trials = Vec::with_capacity(cases.len());
    for case in cases {
        let reason = case.skip.clone();
        let name = case.name.clone();
        let xfail = expected_failures
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.clone());
        let trial = trial(suite.clone(), case, xfail.clone());
        if !args.is_filtered_out(&trial) {
            if let Some(reason) = reason {
                skipped.push((name, reason));
            } else if let Some(reason) = xfail {
                xfails.push((name, reason));
            }
        }
        trials.push(trial);
    }
    if !declarations_ok {
        trials.clear();
        skipped.clear();
        xfails.clear();
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list && !skipped.is_empty() {
        println!("skipped ({}), each with the capability that decides it:", skipped.len());
        for (name, reason) in &skipped {
            println!("    {name}: {reason}");
        }
        println!();
    }
    if !args.list && !xfails.is_empty() {
        println!("declared as expected failures by the backend ({}):", xfails.len());
        for (name, reason) in &xfails {
            println!("    {name}: {reason}");
        }
        println!();
    }
    drop(suite);
    backend.close();
    let mut ok = declarations_ok && !conclusion.has_failed();
    if let Some(teardown) = teardown {
        let torn = rt.block_on(async {
            match tokio::time::timeout(CLEANUP_TIMEOUT, teardown()).await {
                Ok(r) => r,
                Err(_) => Err(format!("did not finish within {}s", CLEANUP_TIMEOUT.as_secs())),
            }
        });
        if let Err(e) = torn {
            eprintln!("yara-conformance: teardown of the backend under test failed: {e}");
            ok = false;
        }
    }
    if !args.list {
        println!(
            "yara-conformance: {} in {:.1}s",
            if ok { "passed" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
