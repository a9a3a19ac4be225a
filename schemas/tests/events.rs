//! The event vocabulary as a contract: every type round-trips through the envelope, matches its
//! committed JSON Schema, and the committed schemas are up to date.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use chrono::{TimeZone, Utc};
use schemas::*;

fn t(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, minute, 0)
        .single()
        .expect("valid time")
}

fn key() -> MessageKey {
    MessageKey::new(-1001234567890, 42)
}

/// One realistic instance of every event type.
fn samples() -> Vec<Event> {
    let rub = Money {
        minor: 19_900,
        currency: Currency::Rub,
    };
    vec![
        CategoryDefined {
            slug: "design".into(),
            name: "Дизайн".into(),
            order: 1,
            paid_first: false,
            admin_id: None,
        }
        .into(),
        CategoryRetired {
            slug: "design".into(),
            admin_id: None,
        }
        .into(),
        ChannelConfigured {
            chat_id: -1001234567890,
            username: Some("jobs".into()),
            title: "Jobs".into(),
            kind: ChannelKind::Channel,
            enabled: true,
            admin_id: None,
        }
        .into(),
        ChannelRemoved {
            channel: "-1001234567890".into(),
            admin_id: None,
        }
        .into(),
        ChannelRulesSet {
            scope: RuleScope::Channel("-1001234567890".into()),
            rules: Rules {
                require_any: vec!["ваканс*".into()],
                forbid: vec!["#резюме".into()],
                ..Rules::default()
            },
            admin_id: None,
        }
        .into(),
        MessageReceived {
            key: key(),
            chat_username: Some("jobs".into()),
            chat_title: Some("Jobs".into()),
            posted_at: t(0),
            text: "Ищем дизайнера <b>срочно</b> 🎨".into(),
            links: vec!["https://example.org".into()],
            has_media: true,
            author: Author {
                user_id: Some(7),
                username: Some("boss".into()),
                signature: None,
            },
            contacts: vec!["@boss".into()],
            link: Some("https://t.me/jobs/42".into()),
            source: MessageSource::Live,
        }
        .into(),
        MessageEdited {
            key: key(),
            edited_at: t(5),
            text: "Ищем дизайнера".into(),
            links: vec![],
            contacts: vec![],
        }
        .into(),
        MessageDeleted { key: key() }.into(),
        MessageAccepted {
            key: key(),
            rule: "require_any:ваканс*".into(),
            scope: "global".into(),
        }
        .into(),
        MessageRejected {
            key: key(),
            rule: "forbid:#резюме".into(),
            scope: "global".into(),
        }
        .into(),
        DuplicateDetected {
            key: key(),
            original: MessageKey::new(-1001, 1),
            similarity: 0.93,
        }
        .into(),
        MessageClassified {
            key: key(),
            kind: PostKind::Vacancy,
            categories: vec![RankedCategory {
                slug: "design".into(),
                score: 0.9,
            }],
            confidence: 0.9,
            classifier: Classifier::Llm,
            model: "gpt-x".into(),
            prompt_version: Some("p1".into()),
            tokens: Some(312),
            latency_ms: 1200,
            budget: Some(Budget {
                amount: 15000,
                currency: "RUB".into(),
                period: PayPeriod::Once,
            }),
            remote: Some(true),
            contacts: vec!["@boss".into()],
            title: Some("Дизайн лендинга".into()),
            llm_unavailable: None,
        }
        .into(),
        // the local answer standing while the LLM could not be reached
        MessageClassified {
            key: key(),
            kind: PostKind::Vacancy,
            categories: vec![RankedCategory {
                slug: "design".into(),
                score: 0.55,
            }],
            confidence: 0.55,
            classifier: Classifier::Local,
            model: "local-3f2a".into(),
            prompt_version: None,
            tokens: None,
            latency_ms: 2,
            budget: None,
            remote: Some(true),
            contacts: vec!["@boss".into()],
            title: Some("Дизайн лендинга".into()),
            llm_unavailable: Some("LLM call timed out after 60s".into()),
        }
        .into(),
        ClassificationCorrected {
            key: key(),
            kind: PostKind::Ad,
            categories: vec![],
            admin_id: 1,
            report_id: Some(VacancyReported::id_for(7, &key())),
        }
        .into(),
        UserRegistered {
            user_id: 7,
            username: None,
            first_name: "Аня".into(),
            language_code: Some("ru".into()),
            source: Some("ref_42".into()),
        }
        .into(),
        CategoriesChosen {
            user_id: 7,
            categories: vec!["design".into(), "texts".into()],
        }
        .into(),
        CategoryBotStarted {
            user_id: 7,
            category: "design".into(),
            bot_id: Some(7002),
        }
        .into(),
        CategoryBotStopped {
            user_id: 7,
            category: "design".into(),
            reason: BotStopReason::Blocked,
            bot_id: None,
        }
        .into(),
        TrialStarted {
            user_id: 7,
            starts_at: t(0),
            ends_at: t(0) + chrono::Duration::days(2),
        }
        .into(),
        SubscriptionExtended {
            user_id: 7,
            from: t(0),
            until: t(0) + chrono::Duration::days(7),
            source: ExtensionSource::Grant {
                admin_id: 1,
                reason: "promo".into(),
            },
        }
        .into(),
        SubscriptionRevoked {
            user_id: 7,
            until: t(1),
            reason: "refund".into(),
            payment_id: Some("p1".into()),
        }
        .into(),
        AuthorHidden {
            user_id: 7,
            author: "@boss".into(),
        }
        .into(),
        ReportSentToAdmin {
            report_id: format!("7:{}", key().id()),
            admin_id: 77,
            message_id: 90,
        }
        .into(),
        MainMenuShown {
            user_id: 7,
            message_id: 12,
        }
        .into(),
        TimeZoneChosen {
            user_id: 7,
            zone: "Asia/Yekaterinburg".into(),
        }
        .into(),
        AuthorUnhidden {
            user_id: 7,
            author: "@boss".into(),
        }
        .into(),
        VacancyReported {
            report_id: VacancyReported::id_for(7, &key()),
            user_id: 7,
            key: key(),
            category: Some("design".into()),
            reason: ReportReason::WrongCategory,
        }
        .into(),
        ReportResolved {
            report_id: VacancyReported::id_for(7, &key()),
            admin_id: 1,
            resolution: Resolution::Confirmed,
        }
        .into(),
        PaymentCreated {
            payment_id: "p1".into(),
            user_id: 7,
            plan: "week".into(),
            days: 7,
            provider: Provider::Yookassa,
            amount: rub,
            provider_payment_id: None,
        }
        .into(),
        PaymentSucceeded {
            payment_id: "p1".into(),
            user_id: 7,
            provider: Provider::Yookassa,
            provider_payment_id: "yk1".into(),
            amount: rub,
            paid_at: t(3),
        }
        .into(),
        PaymentCanceled {
            payment_id: "p2".into(),
            user_id: 7,
            reason: "expired".into(),
        }
        .into(),
        PaymentRefunded {
            payment_id: "p1".into(),
            user_id: 7,
            refund_id: "rf1".into(),
            amount: rub,
            admin_id: Some(1),
            reason: Some("не подошло".into()),
        }
        .into(),
        AdminLoginLinkIssued {
            admin_id: 1,
            token_hash: "ab".repeat(32),
            expires_at: t(5),
            via: "bot".into(),
        }
        .into(),
        AdminLoggedIn {
            admin_id: 1,
            token_hash: "ab".repeat(32),
        }
        .into(),
        ApiTokenIssued {
            token_id: uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            name: "partner site".into(),
            token_hash: "cd".repeat(32),
            admin_id: Some(1),
        }
        .into(),
        ApiTokenRevoked {
            token_id: uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            admin_id: None,
        }
        .into(),
        StarsSubscriptionCharged {
            subscription_id: "st-1".into(),
            user_id: 7,
            plan: "month".into(),
            first_charge_id: "stx1".into(),
            charge_id: "stx2".into(),
            stars: 300,
            paid_until: t(4),
        }
        .into(),
        StarsSubscriptionEdited {
            subscription_id: "st-1".into(),
            user_id: 7,
            canceled: true,
        }
        .into(),
        DeliveryPlanned {
            user_id: 7,
            key: key(),
            category: "design".into(),
            bot_id: Some(7002),
        }
        .into(),
        DeliveryClaimed {
            user_id: 7,
            key: key(),
            category: "design".into(),
            sender: "0193-sender".into(),
        }
        .into(),
        VacancyDelivered {
            user_id: 7,
            key: key(),
            category: "design".into(),
            sent_message_id: 99,
            delivered_at: t(1),
            bot_id: Some(7002),
        }
        .into(),
        DeliveryFailed {
            user_id: 7,
            key: key(),
            category: "design".into(),
            error: "403: bot was blocked by the user".into(),
        }
        .into(),
        DeliveryUnconfirmed {
            user_id: 7,
            key: key(),
            category: "design".into(),
            error: "operation timed out".into(),
        }
        .into(),
        DeliveryWithdrawalPlanned {
            user_id: 7,
            key: key(),
            category: "design".into(),
            sent_message_id: 31,
            delivered_at: t(10),
            bot_id: None,
        }
        .into(),
        DeliveryWithdrawn {
            user_id: 7,
            key: key(),
            category: "design".into(),
            how: Withdrawal::Deleted,
        }
        .into(),
        ChannelUnreadable {
            channel: "@closed_jobs".into(),
            reason: "CHANNEL_PRIVATE".into(),
        }
        .into(),
        IngestAccountAdded {
            account: "reader-2".into(),
            max_channels: 400,
        }
        .into(),
        IngestAccountLost {
            account: "reader-2".into(),
            reason: AccountLoss::Banned,
            detail: "USER_DEACTIVATED_BAN".into(),
        }
        .into(),
        IngestAccountFull {
            account: "reader-1".into(),
            channel: "@busy_jobs".into(),
            following: 497,
        }
        .into(),
        ChannelAssigned {
            channel: "@busy_jobs".into(),
            account: Some("reader-3".into()),
        }
        .into(),
        ChannelAssigned {
            channel: "@busy_jobs".into(),
            account: None,
        }
        .into(),
        JobTick {
            job: Job::AdminReport,
            trigger: JobTrigger::Manual {
                who: "admin:77".into(),
            },
        }
        .into(),
        JobRunStarted {
            run_id: job_run_id(Job::ExpiryNotices, 12),
            job: Job::ExpiryNotices,
            trigger: JobTrigger::Schedule,
            tick_at: t(10),
        }
        .into(),
        JobRunFinished {
            run_id: job_run_id(Job::ExpiryNotices, 12),
            job: Job::ExpiryNotices,
            outcome: JobOutcome::Succeeded,
            counts: [("planned".to_owned(), 3)].into(),
            error: None,
            finished_at: t(11),
        }
        .into(),
        NotificationPlanned {
            topic: Topic::ExpiryWarning {
                user_id: 7,
                access: AccessKind::Trial,
                ends_at: t(40),
            },
            outbox: Outbox::Main,
            chat: ChatTarget::Id(7),
            body: Body::Text {
                html: "⏳ Пробный период заканчивается <b>01.11.2026 в 15:40</b> (МСК).".into(),
            },
            buttons: vec![vec![Button {
                label: "💳 Выбрать тариф".into(),
                action: ButtonAction::Callback("p".into()),
            }]],
            run_id: job_run_id(Job::ExpiryNotices, 12),
        }
        .into(),
        NotificationClaimed {
            notification_id: "expiry:7:warning:1793547600".into(),
            sender: "0190b1f2-0000-7000-8000-000000000001".into(),
        }
        .into(),
        NotificationSent {
            notification_id: "expiry:7:warning:1793547600".into(),
            sent_message_id: 55,
            sent_at: t(12),
        }
        .into(),
        NotificationFailed {
            notification_id: "pick:2026-11-01:0".into(),
            error: "Forbidden: bot is not a member of the channel chat".into(),
        }
        .into(),
        NotificationUnconfirmed {
            notification_id: "report:77:2026-10-31:text".into(),
            error: "operation timed out".into(),
        }
        .into(),
    ]
}

#[test]
fn every_event_type_has_a_sample() {
    let covered: Vec<&str> = samples().iter().map(Event::event_type).collect();
    for (event_type, ..) in Event::TYPES {
        assert!(covered.contains(event_type), "no sample for {event_type}");
    }
}

#[test]
fn every_event_round_trips_through_the_envelope() {
    for event in samples() {
        // given an envelope with a causal chain
        let cause = Envelope::with_id("cause", event.clone());
        let envelope = Envelope::new(event).caused_by(&cause).at(t(9));
        // when it is encoded and decoded
        let decoded = Envelope::from_json(&envelope.to_json()).expect("decodes");
        // then nothing is lost
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.causation_id.as_deref(), Some("cause"));
    }
}

#[test]
fn subjects_name_area_event_and_aggregate() {
    let envelope = Envelope::new(TrialStarted {
        user_id: 7,
        starts_at: t(0),
        ends_at: t(1),
    });
    assert_eq!(envelope.subject(), "rh.users.trial_started.7");
    let envelope = Envelope::with_id(key().event_id(), samples().swap_remove(5));
    assert_eq!(envelope.subject(), "rh.messages.received.-1001234567890.42");
    assert_eq!(envelope.id, "tg:-1001234567890:42");
}

/// The subject's tokens after `rh.<area>.<event>`.
fn id_tokens(subject: &str) -> Vec<String> {
    subject.split('.').skip(3).map(str::to_owned).collect()
}

#[test]
fn every_event_about_a_user_or_a_message_carries_them_as_tokens() {
    // given one event of every type
    for event in samples() {
        let data = serde_json::to_value(&event).unwrap();
        let tokens = id_tokens(&event.subject());
        // then an event naming a user has the user id as a token of its own, so
        // `rh.<area>.*.<user>` / `rh.<area>.*.<user>.>` find it (reports and deliveries too).
        // Payments are the exception: a payment is its own aggregate, found by the id alone
        // that a provider's notification names.
        if let Some(user_id) = data.get("user_id").and_then(|v| v.as_i64())
            && event.area() != Area::Payments
        {
            assert!(
                tokens.contains(&user_id.to_string()),
                "{} lacks user {user_id} as a token",
                event.subject()
            );
        }
        // and an event naming a message has chat and message as consecutive tokens
        if let (Some(chat), Some(message)) = (
            data.get("chat_id").and_then(|v| v.as_i64()),
            data.get("message_id").and_then(|v| v.as_i64()),
        ) {
            let pair = [chat.to_string(), message.to_string()];
            assert!(
                tokens.windows(2).any(|w| w == pair),
                "{} lacks {chat}.{message} as tokens",
                event.subject()
            );
        }
        // and no token is empty or a wildcard
        assert!(
            tokens
                .iter()
                .all(|t| !t.is_empty() && t != "*" && t != ">" && !t.contains(':')),
            "{}",
            event.subject()
        );
    }
}

#[test]
fn bad_bytes_are_errors_never_panics() {
    let cases: &[&[u8]] = &[
        b"",
        b"not json",
        b"{}",
        b"{\"id\":\"x\",\"type\":\"Nope\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\",\"data\":{}}",
        b"{\"id\":\"x\",\"type\":\"TrialStarted\",\"version\":9,\"occurred_at\":\"2026-01-01T00:00:00Z\",\"data\":{}}",
        b"{\"id\":\"x\",\"type\":\"TrialStarted\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\",\"data\":{\"user_id\":\"seven\"}}",
        "\u{0}\u{202e}{\"id\":".as_bytes(),
    ];
    for bytes in cases {
        assert!(
            Envelope::from_json(bytes).is_err(),
            "{:?} decoded",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn invariants_are_checked_on_decode() {
    // given a trial that ends before it starts
    let envelope = Envelope::new(TrialStarted {
        user_id: 7,
        starts_at: t(5),
        ends_at: t(1),
    });
    // when it is decoded
    let error = Envelope::from_json(&envelope.to_json()).expect_err("rejected");
    // then the error says why
    assert!(
        error.to_string().contains("trial ends before it starts"),
        "{error}"
    );
    let bad_slug = Envelope::new(CategoryDefined {
        slug: "Дизайн".into(),
        name: "x".into(),
        order: 0,
        paid_first: false,
        admin_id: None,
    });
    assert!(Envelope::from_json(&bad_slug.to_json()).is_err());
}

#[test]
fn samples_validate_against_their_json_schema() {
    let schemas = event_schemas();
    for event in samples() {
        let envelope = Envelope::new(event);
        let schema = schemas
            .iter()
            .find(|s| s.event_type == envelope.event_type())
            .expect("schema exists");
        let validator = jsonschema::draft202012::new(&schema.schema).expect("valid JSON Schema");
        let instance: serde_json::Value =
            serde_json::from_slice(&envelope.to_json()).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", envelope.event_type());
        // and the schema pins the type: another type's envelope does not validate
        let mut other = instance.clone();
        other["type"] = "SomethingElse".into();
        assert!(!validator.is_valid(&other));
    }
}

#[test]
fn committed_json_schemas_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("json");
    let mut stale = Vec::new();
    for schema in event_schemas() {
        let path = dir.join(schema.file_name());
        if std::fs::read_to_string(&path).ok().as_deref() != Some(schema.to_pretty_json().as_str())
        {
            stale.push(schema.file_name());
        }
    }
    let committed = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert!(
        stale.is_empty() && committed == Event::TYPES.len(),
        "schemas/json is stale ({stale:?}, {committed} files for {} types): run `cargo run -- schemas --dir schemas/json`",
        Event::TYPES.len()
    );
}

#[test]
fn no_event_carries_a_secret() {
    for schema in event_schemas() {
        let text = schema.to_pretty_json().to_lowercase();
        for word in ["secret", "password", "bot_token", "api_key", "session"] {
            assert!(
                !text.contains(&format!("\"{word}")),
                "{} has a {word} field",
                schema.event_type
            );
        }
    }
}

#[test]
fn a_version_1_registration_reads_as_one_without_a_source() {
    // given a UserRegistered stored before version 2 (no `source`)
    let v2 = Envelope::new(UserRegistered {
        user_id: 7,
        username: None,
        first_name: "Аня".into(),
        language_code: None,
        source: Some("channel".into()),
    });
    let mut stored: serde_json::Value = serde_json::from_slice(&v2.to_json()).unwrap();
    assert_eq!(stored["version"], 2);
    stored["version"] = 1.into();
    stored["data"].as_object_mut().unwrap().remove("source");
    // when it is read
    let read = Envelope::from_json(&serde_json::to_vec(&stored).unwrap()).unwrap();
    // then it is a registration without a source, and a version 3 is refused
    assert!(
        matches!(read.event, Event::UserRegistered(ref r) if r.source.is_none() && r.first_name == "Аня")
    );
    stored["version"] = 3.into();
    assert!(Envelope::from_json(&serde_json::to_vec(&stored).unwrap()).is_err());
    // and a source that is not a deep link's payload is refused
    assert_eq!(
        UserRegistered::source_of("ref_42").as_deref(),
        Some("ref_42")
    );
    assert_eq!(UserRegistered::source_of("bad source"), None);
    assert_eq!(UserRegistered::source_of(&"x".repeat(65)), None);
}

#[test]
fn a_version_1_classification_reads_as_one_the_llm_did_not_fail_on() {
    // given a MessageClassified stored before version 2 (no `llm_unavailable`)
    let fallback = samples()
        .into_iter()
        .find_map(|e| match e {
            Event::MessageClassified(c) if c.llm_unavailable.is_some() => Some(c),
            _ => None,
        })
        .unwrap();
    let v2 = Envelope::new(MessageClassified {
        llm_unavailable: None,
        ..fallback.clone()
    });
    let mut stored: serde_json::Value = serde_json::from_slice(&v2.to_json()).unwrap();
    assert_eq!(stored["version"], 2);
    stored["version"] = 1.into();
    stored["data"]
        .as_object_mut()
        .unwrap()
        .remove("llm_unavailable");
    // when it is read
    let read = Envelope::from_json(&serde_json::to_vec(&stored).unwrap()).unwrap();
    // then it is an answer that stands on its own
    assert!(
        matches!(read.event, Event::MessageClassified(ref c) if c.llm_unavailable.is_none() && c.model == "local-3f2a")
    );
    // and a local answer that stood for the LLM has an id of its own, apart from the same
    // model's plain answer and the LLM's later one
    let plain = Envelope::new(MessageClassified {
        llm_unavailable: None,
        ..fallback.clone()
    });
    let stood = Envelope::new(fallback);
    assert_eq!(plain.id, "tg:-1001234567890:42:classified:local-3f2a:-");
    assert_eq!(
        stood.id,
        "tg:-1001234567890:42:classified:local-3f2a:-:llm-unavailable"
    );
    assert_eq!(stood.subject(), plain.subject());
}

#[test]
fn events_recorded_while_a_category_had_one_bot_read_as_its_first_bots() {
    // given the five events that name a category's bot, stored as version 1 (no `bot_id`)
    for event in samples().into_iter().filter(|e| {
        [
            "CategoryBotStarted",
            "CategoryBotStopped",
            "DeliveryPlanned",
            "VacancyDelivered",
            "DeliveryWithdrawalPlanned",
        ]
        .contains(&e.event_type())
    }) {
        let mut stored: serde_json::Value =
            serde_json::from_slice(&Envelope::new(event).to_json()).unwrap();
        assert_eq!(stored["version"], 2, "{stored}");
        stored["version"] = 1.into();
        stored["data"].as_object_mut().unwrap().remove("bot_id");
        // when it is read
        let read = Envelope::from_json(&serde_json::to_vec(&stored).unwrap()).unwrap();
        // then it names no bot: the category's first
        let bot_id = match read.event {
            Event::CategoryBotStarted(e) => e.bot_id,
            Event::CategoryBotStopped(e) => e.bot_id,
            Event::DeliveryPlanned(e) => e.bot_id,
            Event::VacancyDelivered(e) => e.bot_id,
            Event::DeliveryWithdrawalPlanned(e) => e.bot_id,
            other => panic!("unexpected {}", other.event_type()),
        };
        assert_eq!(bot_id, None);
    }
}
