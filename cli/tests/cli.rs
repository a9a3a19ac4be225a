//! The `remotehunt` binary end to end: operators' verbs, the demo on a fresh database, and a
//! projector killed with SIGKILL mid-batch that resumes to exactly a clean rebuild.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bus::Bus;
use chrono::{TimeZone, Utc};
use projections::{Config, Projection};
use schemas::*;

const BIN: &str = env!("CARGO_BIN_EXE_remotehunt");

fn remotehunt(nats_url: &str, database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("NATS_URL", nats_url)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run remotehunt")
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A database URL naming a database that does not exist yet; dropped afterwards.
struct FreshDatabaseName {
    url: String,
    name: String,
}

impl FreshDatabaseName {
    fn new() -> Self {
        let name = format!("rh_test_{}", uuid::Uuid::new_v4().simple());
        let admin = testkit::admin_url();
        let base = &admin[..admin.rfind('/').expect("url with a database")];
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for FreshDatabaseName {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                testkit::admin_url().as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

#[test]
fn nats_apply_creates_then_changes_nothing() {
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let first = stdout(&remotehunt(&url, "", &["nats", "apply"]));
    assert!(first.contains("created    stream MESSAGES"), "{first}");
    assert!(
        first.contains("created    consumer SCREENING/classify"),
        "{first}"
    );
    let second = stdout(&remotehunt(
        &url,
        "",
        &[
            "nats",
            "apply",
            "--dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../nats"),
        ],
    ));
    assert!(second.contains("0 changed, 17 unchanged"), "{second}");
    // and the scheduler's schedules are stored once, then left alone (a second store would
    // restart an @every timer)
    assert!(
        first.contains("stored     schedule expiry-notices"),
        "{first}"
    );
    assert!(
        second.contains("unchanged  schedule expiry-notices"),
        "{second}"
    );
    assert!(
        second.contains("unchanged  schedule admin-report"),
        "{second}"
    );
}

#[tokio::test]
async fn operators_see_consumers_and_deal_with_dead_letters() {
    // given the streams and consumers, and one event a consumer gave up on
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    stdout(&remotehunt(&url, "", &["nats", "apply"]));
    let bus = Bus::from_client(nats.connect().await.unwrap());
    let origin = bus::dead_letter::Origin {
        stream: Area::Screening.stream().into(),
        consumer: "classify".into(),
        subject: "rh.screening.accepted.-100.1".into(),
        sequence: 1,
        replay_of: None,
    };
    bus.dead_letter(
        &origin,
        "{}".into(),
        None,
        "gave up after 8 attempts: LLM 500",
    )
    .await
    .unwrap();

    // when an operator asks for the status and the dead letters
    let status = stdout(&remotehunt(&url, "", &["nats", "status"]));
    let waiting = stdout(&remotehunt(&url, "", &["dlq", "list"]));
    // then consumers show with their pending and ack-pending counts, and the letter with its
    // reason and real consumer
    assert!(
        status.contains("consumer classify") && status.contains("ack-pending"),
        "{status}"
    );
    assert!(
        waiting.contains("SCREENING/classify") && waiting.contains("LLM 500"),
        "{waiting}"
    );

    // when they discard it, naming why
    let discarded = stdout(&remotehunt(
        &url,
        "",
        &[
            "dlq",
            "discard",
            "1",
            "--reason",
            "post was deleted",
            "--operator",
            "anna",
        ],
    ));
    // then it no longer waits, `--all` shows who dealt with it, and a replay changes nothing
    assert!(discarded.contains("marked handled"), "{discarded}");
    let waiting = stdout(&remotehunt(&url, "", &["dlq", "list"]));
    assert!(waiting.contains("no dead letters waiting"), "{waiting}");
    let all = stdout(&remotehunt(&url, "", &["dlq", "list", "--all"]));
    assert!(
        all.contains("discarded by anna") && all.contains("post was deleted"),
        "{all}"
    );
    let replay = stdout(&remotehunt(&url, "", &["dlq", "replay", "1"]));
    assert!(replay.contains("handled before"), "{replay}");
}

#[test]
fn an_unreachable_nats_is_a_clear_error_not_a_panic() {
    let output = remotehunt("nats://127.0.0.1:1", "", &["nats", "apply"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: connecting to NATS at nats://127.0.0.1:1"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn migrate_then_demo_work_on_a_fresh_database() {
    // given a NATS account with no streams and a database that does not exist
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let database = FreshDatabaseName::new();
    // when an operator migrates and runs the demo
    let migrated = stdout(&remotehunt(&url, &database.url, &["migrate"]));
    assert!(
        migrated.contains("database created and migrated"),
        "{migrated}"
    );
    let demo = stdout(&remotehunt(&url, &database.url, &["demo"]));
    // then the read models are printed with the sample data, and the bad event is dead-lettered
    for expected in [
        "imported @demo_design_jobs: 3 messages, 3 new: 1 accepted, 2 rejected by rules, 0 duplicates; channel added",
        "imported @demo_dev_jobs: 3 messages, 3 new: 1 accepted, 1 rejected by rules, 1 duplicates",
        "Разработка",
        "Тестирование",
        "@demo_design_jobs",
        "duplicate",
        "forbid:#резюме",
        "Ищем дизайнера для лендинга кофейни",
        "classified every accepted post",
        "categories [design,texts]",
        "199.00 RUB succeeded",
        "bought a week in Telegram Stars: ✅ Оплата прошла! Подписка активна до",
        "@rh_demo_design_bot → 700000002: <b>Ищем дизайнера для лендинга кофейни</b>",
        "@rh_demo_dev_bot → 700000002: <b>Вакансия: нужен Python-разработчик",
        "user 700000002 got -1001000000001:101 via the design bot",
        "user 700000002 got -1001000000002:201 via the development bot",
        "undecodable event",
        // the scheduler's jobs, asked for by hand: a newcomer's warning, the report, the pick
        "imported today's post in @demo_design_jobs: 1 new",
        "== scheduler: expiry notices run:",
        "@rh_demo_bot → 700000004: ⏳ Пробный период заканчивается",
        "@rh_demo_bot → admin 700000003: a chart (",
        "@rh_demo_bot → admin 700000003: 📊 <b>Отчёт за",
        "@rh_demo_bot → @rh_demo_jobs: 🔥 <b>Вакансии дня",
        "Нужен дизайнер карточек товаров для маркетплейса",
    ] {
        assert!(
            demo.contains(expected),
            "demo output lacks {expected:?}:\n{demo}"
        );
    }
    // and the cross-post of the design vacancy was not delivered again
    assert_eq!(
        demo.matches("Ищем дизайнера для лендинга кофейни</b>")
            .count(),
        1
    );
    // and a second run stores nothing twice and sends no vacancy again
    let again = stdout(&remotehunt(&url, &database.url, &["demo"]));
    assert!(
        again.contains("0 change(s)") && again.contains("(0 new, 7 already stored)"),
        "{again}"
    );
    assert!(!again.contains("→ 700000002: <b>"), "{again}");
    // (the design bot's second delivery is today's post: one a day)
    assert!(
        again.contains("deliveries read model: 2 via the design bot"),
        "{again}"
    );
    // and the day's report and pick are not sent again
    assert!(again.contains("(sent on an earlier run today"), "{again}");
    assert!(again.contains("(posted on an earlier run today"), "{again}");
    assert!(!again.contains("a chart ("), "{again}");
    let status = stdout(&remotehunt(&url, &database.url, &["projections", "status"]));
    assert!(status.contains("messages"), "{status}");
    // and the imported channels' yield and a rules backtest read what the demo stored
    let channel_yield = stdout(&remotehunt(&url, &database.url, &["catalog", "yield"]));
    assert!(
        channel_yield
            .lines()
            .any(|l| l.starts_with("-1001000000002")
                && l.split_whitespace().skip(2).collect::<Vec<_>>() == ["3", "1", "1", "1", "0"]),
        "{channel_yield}"
    );
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), "require_any = [\"python\"]\n").unwrap();
    let backtest = stdout(&remotehunt(
        &url,
        &database.url,
        &[
            "rules",
            "test",
            "--channel",
            "-1001000000002",
            rules.path().to_str().unwrap(),
        ],
    ));
    assert!(
        backtest.contains("3 stored messages, 1 would pass, 2 would be stopped"),
        "{backtest}"
    );
    assert!(
        backtest.contains("require_any:python           Вакансия: нужен Python"),
        "{backtest}"
    );
}

fn post(n: i64) -> Envelope {
    let key = MessageKey::new(-300 - n % 7, n);
    Envelope::with_id(
        key.event_id(),
        MessageReceived {
            key,
            chat_username: None,
            chat_title: None,
            posted_at: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .expect("time")
                + chrono::Duration::seconds(n),
            text: format!("Ищем дизайнера №{n}"),
            links: vec![],
            has_media: false,
            author: Author::default(),
            contacts: vec![],
            link: None,
            source: MessageSource::Import,
        },
    )
}

#[tokio::test]
async fn a_projector_killed_mid_batch_resumes_to_a_clean_rebuild() {
    // given 150,000 events and a running projector process
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.expect("nats"));
    bus.ensure_streams().await.expect("streams");
    let database = testkit::database().await.expect("database");
    projections::migrate(&database.pool).await.expect("migrate");
    let total = 150_000;
    let events: Vec<Envelope> = (1..=total).map(post).collect();
    bus.publish_batch(&events).await.expect("publish");
    let spawn = || {
        Command::new(BIN)
            .args(["projections", "run"])
            .env("NATS_URL", nats.url_with_credentials())
            .env("DATABASE_URL", &database.url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn projector")
    };
    let mut projector = spawn();
    // when it is killed with SIGKILL part-way through
    let started = Instant::now();
    let mut at_kill = 0;
    while started.elapsed() < Duration::from_secs(60) {
        at_kill = projections::checkpoint(&database.pool, "messages")
            .await
            .expect("checkpoint");
        if at_kill > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    projector.kill().expect("SIGKILL");
    projector.wait().expect("reaped");
    assert!(
        at_kill > 0 && at_kill < total as u64,
        "killed mid-stream (checkpoint {at_kill} of {total})"
    );
    let rows = projections::read::vacancies::message_count(&database.pool)
        .await
        .expect("count");
    let checkpoint = projections::checkpoint(&database.pool, "messages")
        .await
        .expect("checkpoint");
    assert_eq!(
        rows as u64, checkpoint,
        "rows and checkpoint committed together"
    );
    // and started again
    let mut projector = spawn();
    let caught_up = projections::wait_for(
        &database.pool,
        "messages",
        total as u64,
        Duration::from_secs(120),
    )
    .await
    .expect("wait");
    projector.kill().expect("stop");
    projector.wait().expect("reaped");
    assert!(caught_up, "caught up after restart");
    // then the read model equals a clean rebuild
    let resumed = testkit::snapshot(&database.pool, Projection::Messages.tables())
        .await
        .expect("snapshot");
    projections::rebuild(
        &bus,
        &database.pool,
        Projection::Messages,
        &Config::new(database.url.clone()),
    )
    .await
    .expect("rebuild");
    let rebuilt = testkit::snapshot(&database.pool, Projection::Messages.tables())
        .await
        .expect("snapshot");
    assert!(
        resumed == rebuilt,
        "resumed read model differs from a clean rebuild"
    );
    let rows = projections::read::vacancies::message_count(&database.pool)
        .await
        .expect("count");
    assert_eq!(rows, total);
}

#[test]
fn catalog_apply_emits_only_differences() {
    // given an empty catalog
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog.toml");
    // when the shipped catalog is applied from a script without --yes
    let unasked = remotehunt(&url, "", &["catalog", "apply", catalog]);
    // then it shows the diff and refuses to publish without being told
    assert!(!unasked.status.success());
    let diff = String::from_utf8_lossy(&unasked.stdout);
    assert!(diff.contains("+ category design «Дизайн»"), "{diff}");
    assert!(
        String::from_utf8_lossy(&unasked.stderr).contains("pass --yes"),
        "{}",
        String::from_utf8_lossy(&unasked.stderr)
    );
    // when it is applied with --yes, twice
    let first = stdout(&remotehunt(
        &url,
        "",
        &["catalog", "apply", catalog, "--yes"],
    ));
    let second = stdout(&remotehunt(
        &url,
        "",
        &["catalog", "apply", catalog, "--yes"],
    ));
    // then the first run defines the 12 categories and the rules, the second changes nothing
    assert!(first.contains("13 change(s) published"), "{first}");
    assert!(second.contains("already matches"), "{second}");
    let shown = stdout(&remotehunt(&url, "", &["catalog", "show"]));
    assert!(
        shown.contains("development  Разработка") && shown.contains("testing      Тестирование"),
        "{shown}"
    );
    // and a broken file is refused with its position, changing nothing
    let broken = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        broken.path(),
        "[[categories]]\nslug = \"design\"\nname = \n",
    )
    .unwrap();
    let output = remotehunt(
        &url,
        "",
        &["catalog", "apply", broken.path().to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 3"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn catalog_apply_warns_before_undoing_a_web_edit_and_export_round_trips() {
    // given the shipped catalog, then an admin's channel added in the web UI
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog.toml");
    stdout(&remotehunt(
        &url,
        "",
        &["catalog", "apply", catalog, "--yes"],
    ));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let bus = Bus::connect(&url).await.unwrap();
        let added = Envelope::new(ChannelConfigured {
            chat_id: -100_777,
            username: Some("web_added".into()),
            title: "Добавлен в вебе".into(),
            kind: ChannelKind::Channel,
            enabled: true,
            admin_id: Some(501),
        });
        let rules = Envelope::new(ChannelRulesSet {
            scope: RuleScope::Channel("-100777".into()),
            rules: Rules {
                forbid: vec!["#резюме".into()],
                ..Rules::default()
            },
            admin_id: Some(501),
        });
        bus.publish_batch(&[added, rules]).await.unwrap();
    });
    // when the catalog is exported and the export applied
    let exported = tempfile::NamedTempFile::new().unwrap();
    let out = exported.path().to_str().unwrap();
    stdout(&remotehunt(&url, "", &["catalog", "export", "--out", out]));
    let text = std::fs::read_to_string(exported.path()).unwrap();
    let again = stdout(&remotehunt(&url, "", &["catalog", "apply", out, "--yes"]));
    // then the export holds the admin's channel and rules, and applying it changes nothing
    assert!(
        text.contains("web_added") && text.contains("#резюме"),
        "{text}"
    );
    assert!(text.contains("[[plans]]"), "{text}");
    assert!(again.contains("already matches"), "{again}");
    let shown = stdout(&remotehunt(&url, "", &["catalog", "show"]));
    assert!(
        shown.contains(r##"-100777: {"require_any":[],"require_all":[],"forbid":["#резюме"]"##),
        "{shown}"
    );
    // when the old file is applied again
    let output = remotehunt(&url, "", &["catalog", "apply", catalog, "--yes"]);
    // then it says what it removes and warns that it undoes the admin's changes
    let said = String::from_utf8_lossy(&output.stdout);
    let warned = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("- channel -100777"), "{said}");
    assert!(
        warned.contains("undoes admin 501's change to channel -100777"),
        "{warned}"
    );
}

#[test]
fn classify_train_then_eval_round_trip() {
    // given a few labelled posts of our own
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("labelled.jsonl");
    let posts = [
        (
            r#"Ищем дизайнера логотипа, бюджет 10 000 ₽"#,
            "vacancy",
            r#"["design"]"#,
        ),
        (
            r#"Нужен Python-разработчик для бота, оплата 30 000 ₽"#,
            "vacancy",
            r#"["development"]"#,
        ),
        (
            r#"Требуется копирайтер на статьи, 500 ₽ за текст"#,
            "vacancy",
            r#"["texts"]"#,
        ),
        (
            r#"Я дизайнер, ищу заказы, портфолио в профиле"#,
            "resume",
            r#"["design"]"#,
        ),
        (
            r#"Курс по фигме со скидкой 50%, успей записаться"#,
            "ad",
            "[]",
        ),
        (
            r#"Заработок без вложений 5000 в день, пиши + в лс"#,
            "scam",
            "[]",
        ),
    ];
    let lines: Vec<String> = posts
        .iter()
        .map(|(text, kind, categories)| {
            format!(r#"{{"text": "{text}", "kind": "{kind}", "categories": {categories}}}"#)
        })
        .collect();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let model = dir.path().join("model.bin");
    let unused = "nats://127.0.0.1:1";
    // when a model is trained on them and evaluated with --json
    let trained = stdout(&remotehunt(
        unused,
        unused,
        &[
            "classify",
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
        ],
    ));
    assert!(trained.contains("trained local-"), "{trained}");
    let output = Command::new(BIN)
        .args(["classify", "eval", "--json", data.to_str().unwrap()])
        .env("CLASSIFY_MODEL", &model)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    // then one JSON object carries every figure, and the model fits what it was trained on
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    for key in [
        "kind_accuracy",
        "vacancy_precision",
        "vacancy_recall",
        "category_micro_f1",
        "category_macro_f1",
        "llm_share",
        "posts_per_second",
    ] {
        assert!(report[key].is_number(), "{key} missing in {report}");
    }
    assert_eq!(report["posts"], 6);
    assert!(report["kind_accuracy"].as_f64().unwrap() >= 0.8, "{report}");
    // and with unlabelled channel posts (lines without text are skipped) training self-trains
    // on them and cross-validation does the same in every fold
    let unlabelled = dir.path().join("unlabelled.jsonl");
    std::fs::write(
        &unlabelled,
        [
            r#"{"text": "Ищем дизайнера баннеров, 3 000 ₽ за баннер", "chat_id": 1}"#,
            r#"{"chat_id": 1, "message_id": 2}"#,
            r#"{"text": "Нужен верстальщик лендинга, 20 000 ₽"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let self_trained = stdout(&remotehunt(
        unused,
        unused,
        &[
            "classify",
            "train",
            "--data",
            data.to_str().unwrap(),
            "--unlabelled",
            unlabelled.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
        ],
    ));
    assert!(
        self_trained.contains("self-training on 2 unlabelled posts"),
        "{self_trained}"
    );
    let version = |output: &str| {
        output
            .split_whitespace()
            .find(|word| word.starts_with("local-"))
            .map(str::to_owned)
    };
    assert!(version(&self_trained).is_some(), "{self_trained}");
    assert_ne!(
        version(&self_trained),
        version(&trained),
        "the unlabelled posts changed nothing"
    );
    let validated = stdout(&remotehunt(
        unused,
        unused,
        &[
            "classify",
            "eval",
            "--json",
            "--cross-validate",
            "2",
            "--unlabelled",
            unlabelled.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(&validated).unwrap();
    assert_eq!(report["posts"], 6, "{report}");
    // and a broken model file is a clear error
    std::fs::write(&model, b"not a model").unwrap();
    let broken = Command::new(BIN)
        .args(["classify", "eval", data.to_str().unwrap()])
        .env("CLASSIFY_MODEL", &model)
        .output()
        .unwrap();
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("loading"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_payments_refund_and_revenue_for_operators() {
    // given a user who paid for a week with YooKassa, and the read models
    let testkit::App {
        nats_url: url,
        bus,
        db,
        shutdown,
    } = testkit::App::start().await;
    let shop = testkit::FakeYooKassa::start("506751", "test_secret")
        .await
        .unwrap();
    let yookassa = billing::yookassa::YooKassa::new(shop.url(), "506751", "test_secret");
    let week = schemas::subscription::Plan {
        slug: "week".into(),
        name: "1 неделя".into(),
        days: 7,
        rub: 199,
        stars: 100,
    };
    let started = billing::checkout::yookassa(&bus, &yookassa, 31, &week, "https://t.me/x")
        .await
        .unwrap();
    let provider_id = shop.payments()[0]["id"].as_str().unwrap().to_owned();
    shop.settle_silently(&provider_id, true).unwrap();
    let billing = billing::reconcile::Billing {
        bus: bus.clone(),
        yookassa,
        bot: None,
    };
    billing.reconcile(&provider_id).await.unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("NATS_URL", &url)
            .env("DATABASE_URL", &db.url)
            .env("YOOKASSA_SHOP_ID", "506751")
            .env("YOOKASSA_SECRET_KEY", "test_secret")
            .env("YOOKASSA_API_URL", shop.url())
            .env("RUST_LOG", "warn")
            .output()
            .expect("run remotehunt")
    };
    let id = started.payment_id.as_str();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = stdout(&run(&["billing", "payments", "--user", "31"]));
        if listed.contains(id) && listed.contains("succeeded") {
            assert!(listed.contains("199.00 ₽"), "{listed}");
            break;
        }
        assert!(Instant::now() < deadline, "never listed: {listed}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // when an operator refunds it, twice
    let reason = ["--reason", "по просьбе", "--admin", "5"];
    let first = stdout(&run(&[&["billing", "refund", id][..], &reason].concat()));
    let second = stdout(&run(&[&["billing", "refund", id][..], &reason].concat()));
    // then the first refunds and takes back the week, the second changes nothing
    assert!(first.contains(": refunded; access now until"), "{first}");
    assert!(second.contains("was refunded before"), "{second}");
    assert_eq!(shop.refunds().len(), 1);
    // and the revenue shows the refund
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let revenue = stdout(&run(&["billing", "revenue"]));
        let week_row = revenue
            .lines()
            .find(|l| l.contains("week"))
            .unwrap_or_default();
        let columns: Vec<&str> = week_row.split_whitespace().collect();
        if columns[columns.len().saturating_sub(4)..] == ["0.00", "₽", "199.00", "₽"] {
            break;
        }
        assert!(Instant::now() < deadline, "never refunded: {revenue}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // and an unknown payment is a clear error
    let unknown = run(&[&["billing", "refund", "yk-nope"][..], &reason].concat());
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no payment yk-nope"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    shutdown.cancel();
}

#[test]
fn a_job_asked_for_twice_runs_twice_and_status_shows_both_runs() {
    // given the streams, a migrated database and every service running as one process
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let database = FreshDatabaseName::new();
    stdout(&remotehunt(&url, "", &["nats", "apply"]));
    stdout(&remotehunt(&url, &database.url, &["migrate"]));
    let mut all = Command::new(BIN)
        .arg("all")
        .env("NATS_URL", &url)
        .env("DATABASE_URL", &database.url)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("remotehunt all");
    // when an operator asks for the expiry notices twice
    for _ in 0..2 {
        let asked = stdout(&remotehunt(
            &url,
            &database.url,
            &[
                "scheduler",
                "trigger",
                "expiry-notices",
                "--operator",
                "ops",
            ],
        ));
        assert!(
            asked.contains("expiry-notices: run expiry-notices:"),
            "{asked}"
        );
    }
    // then status shows the job's schedule and both runs, each by the operator
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = stdout(&remotehunt(&url, &database.url, &["scheduler", "status"]));
        // both runs listed, and done: the table's last run and the two listed runs succeeded
        if status.matches("operator:ops").count() == 2 && status.matches("succeeded").count() == 3 {
            assert!(status.contains("@every 10m"), "{status}");
            assert!(status.contains("0 0 9 * * * (Europe/Moscow)"), "{status}");
            assert!(!status.contains("failed"), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(500));
    }
    all.kill().unwrap();
    all.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_are_made_once_listed_and_revoked_and_never_stored_in_the_clear() {
    // given the streams, a database and the projectors running
    let nats = testkit::nats();
    let url = nats.url_with_credentials();
    let bus = Bus::from_client(nats.connect().await.expect("nats"));
    bus.ensure_streams().await.expect("streams");
    let database = testkit::database().await.expect("database");
    projections::migrate(&database.pool).await.expect("migrate");
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(projections::run(
        bus.clone(),
        database.pool.clone(),
        Config::new(database.url.clone()),
        stop.clone(),
    ));
    let cli = |args: &'static [&'static str]| {
        let (url, database_url) = (url.clone(), database.url.clone());
        tokio::task::spawn_blocking(move || remotehunt(&url, &database_url, args))
    };

    // when a token is made for a partner
    let made = cli(&["web", "token", "create", "--name", "partner"])
        .await
        .unwrap();
    // then stdout is the token alone, and the USERS stream holds only its hash
    let token = stdout(&made).trim().to_owned();
    assert!(token.starts_with("rh_") && token.len() > 40, "{token}");
    let stored = bus.read_to_end(Area::Users.stream(), 1).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0].payload).contains(&token[3..]));

    // when the same name is asked for again, then it is refused while the first is active
    let twice = cli(&["web", "token", "create", "--name", "partner"])
        .await
        .unwrap();
    assert!(!twice.status.success());
    // and the list shows it active
    let listed = stdout(&cli(&["web", "token", "list"]).await.unwrap());
    assert!(
        listed.contains("partner") && listed.contains("active"),
        "{listed}"
    );

    // when it is revoked by name
    let revoked = stdout(&cli(&["web", "token", "revoke", "partner"]).await.unwrap());
    // then it says so, and the list shows it revoked
    assert!(revoked.contains("revoked"), "{revoked}");
    let listed = stdout(&cli(&["web", "token", "list"]).await.unwrap());
    assert!(
        listed.contains("revoked") && !listed.contains("active"),
        "{listed}"
    );
    stop.cancel();
}
