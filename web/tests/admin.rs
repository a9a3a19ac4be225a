//! The admin web UI over HTTP, end to end: logging in with a link from the main bot, sessions,
//! CSRF and origin checks, a report judged, days granted, hostile text shown as text.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod support;

use schemas::{AdminLoginLinkIssued, Envelope, Event, ExtensionSource, MessageKey};
use support::{ADMIN, OTHER_ADMIN, Session, open_site};

const EVIL: &str = "https://evil.example";

#[tokio::test]
async fn an_admin_logs_in_once_with_a_link_from_the_bot_and_logs_out() {
    // given the web UI and an admin who asked the main bot for a link
    let site = open_site().await;
    let link = site.link_from_bot(ADMIN).await;
    assert!(link.starts_with(&format!("{}/login/", site.url)), "{link}");
    // the admin's command menu offers /admin
    let commands = site.telegram.commands_in_chat("rh_main_bot", ADMIN);
    assert!(commands.to_string().contains("\"admin\""), "{commands}");

    // when the link is opened (as a link preview or the admin would), twice
    for _ in 0..2 {
        let page = site.get(&link.replacen(&site.url, "", 1), None).await;
        // then it shows «Войти», sets no session and sends no referrer to other sites
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        assert!(page.headers().get("set-cookie").is_none());
        assert!(page.text().await.unwrap().contains("Войти"));
    }

    // when «Войти» is pressed
    let session = site.log_in_with(&link).await;
    // then the dashboard opens, and the login is an event naming the admin
    let dashboard = site.get("/", Some(&session)).await;
    assert_eq!(dashboard.status(), 200);
    assert!(dashboard.text().await.unwrap().contains("Сводка"));
    let logins = site
        .app
        .bus
        .read_subject("rh.users.admin_logged_in.*")
        .await
        .unwrap();
    assert_eq!(logins.len(), 1);
    assert!(matches!(&logins[0].envelope.event, Event::AdminLoggedIn(e) if e.admin_id == ADMIN));

    // when the same link is used again
    let token = link.rsplit('/').next().unwrap();
    let again = site
        .post("/login", None, Some(&site.url), &[("token", token)])
        .await;
    // then it is refused
    assert_eq!(again.status(), 403);
    assert!(again.text().await.unwrap().contains("уже использована"));

    // when they log out without the CSRF token, then nothing happens
    let refused = site
        .post("/logout", Some(&session), Some(&site.url), &[])
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(site.get("/", Some(&session)).await.status(), 200);
    // when they log out properly, then the cookie is cleared and the session is over
    let out = site
        .post(
            "/logout",
            Some(&session),
            Some(&site.url),
            &[("csrf", &session.csrf)],
        )
        .await;
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("rh_session=;")
    );
    let after = site.get("/", Some(&session)).await;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/login");
}

#[tokio::test]
async fn forged_expired_foreign_and_cross_site_logins_are_refused() {
    let site = open_site().await;
    // given no session: every page sends to /login
    for path in ["/", "/reports", "/users", "/users/1"] {
        let response = site.get(path, None).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/login");
    }
    // given a forged cookie: the same
    let forged = Session {
        cookie: format!("rh_session={}", "ab".repeat(32)),
        csrf: String::new(),
    };
    assert_eq!(site.get("/", Some(&forged)).await.status(), 303);

    // when a made-up token or a malformed one is used, then it is refused
    for token in [
        "cd".repeat(32),
        "not-a-token".to_owned(),
        "'; DROP TABLE web_sessions; --".to_owned(),
    ] {
        let response = site
            .post("/login", None, Some(&site.url), &[("token", &token)])
            .await;
        assert_eq!(response.status(), 403, "{token}");
        assert!(response.text().await.unwrap().contains("недействительна"));
    }

    // given an expired link and a link for someone who is not an admin
    let issue = async |token: &str, admin_id: i64, minutes: i64| {
        let issued = AdminLoginLinkIssued {
            admin_id,
            token_hash: bots::admin_login::token_hash(token),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(minutes),
            via: "cli".into(),
        };
        site.app.bus.publish(&Envelope::new(issued)).await.unwrap();
    };
    let expired = "e1".repeat(32);
    let stranger = "e2".repeat(32);
    issue(&expired, ADMIN, -1).await;
    issue(&stranger, 999, 10).await;
    // then each is refused, saying why, on the page and at «Войти»
    for (token, why) in [(&expired, "просрочена"), (&stranger, "не администратор")]
    {
        let page = site.get(&format!("/login/{token}"), None).await;
        assert_eq!(page.status(), 403);
        assert!(page.text().await.unwrap().contains(why));
        let post = site
            .post("/login", None, Some(&site.url), &[("token", token)])
            .await;
        assert_eq!(post.status(), 403);
    }

    // when a good link is posted from another site, or with no Origin at all
    let link = site.link_from_bot(ADMIN).await;
    let token = link.rsplit('/').next().unwrap();
    for origin in [Some(EVIL), None] {
        let response = site.post("/login", None, origin, &[("token", token)]).await;
        // then it is refused, and the link stays good for the admin
        assert_eq!(response.status(), 403, "{origin:?}");
    }
    site.log_in_with(&link).await;

    // and `/admin` from someone who is not an admin gets no link
    site.telegram
        .user_says("rh_main_bot", 999, "/admin")
        .unwrap();
    testkit::eventually("an answer", async || {
        !site.telegram.sent_to("rh_main_bot", 999).is_empty()
    })
    .await;
    assert!(
        !site.telegram.sent_to("rh_main_bot", 999)[0]
            .text
            .contains("/login/")
    );
}

#[tokio::test]
async fn a_report_is_judged_in_the_web_ui_as_with_the_buttons_and_hostile_text_stays_text() {
    // given a subscriber who reported a post whose text is hostile
    let site = open_site().await;
    let key = MessageKey::new(-1001900000003, 1022);
    let hostile =
        "Ищем дизайнера <script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">";
    let report_id = site.given_a_report(key, hostile).await;
    let session = site.log_in(ADMIN).await;

    // when the admin opens the reports
    let page = site
        .get("/reports", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    // then the report is there, its text escaped
    assert!(page.contains("не вакансия"), "{page}");
    assert!(
        page.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        !page.contains("<script>") && !page.contains("<img src=x"),
        "{page}"
    );

    // when a verdict comes without the CSRF token, or from another site
    let path = format!("/reports/{report_id}/verdict");
    let no_token = site
        .post(
            &path,
            Some(&session),
            Some(&site.url),
            &[("resolution", "confirmed")],
        )
        .await;
    let cross_site = site
        .post(
            &path,
            Some(&session),
            Some(EVIL),
            &[("resolution", "confirmed"), ("csrf", &session.csrf)],
        )
        .await;
    // then both are refused and nothing is decided
    assert_eq!(no_token.status(), 403);
    assert_eq!(cross_site.status(), 403);
    let decided = format!("rh.users.report_resolved.{}", report_id.replace(':', "."));
    assert!(
        site.app
            .bus
            .read_subject(&decided)
            .await
            .unwrap()
            .is_empty()
    );

    // when the admin confirms it
    let confirmed = site
        .post(
            &path,
            Some(&session),
            Some(&site.url),
            &[("resolution", "confirmed"), ("csrf", &session.csrf)],
        )
        .await;
    // then it is decided once, naming the admin, and the post corrected as not a vacancy
    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers()["location"], "/reports?done=confirmed");
    let resolved = site.app.bus.read_subject(&decided).await.unwrap();
    assert_eq!(resolved.len(), 1);
    assert!(matches!(&resolved[0].envelope.event, Event::ReportResolved(r) if r.admin_id == ADMIN));
    let corrected = site
        .app
        .bus
        .latest::<schemas::ClassificationCorrected>(&key.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(corrected.admin_id, ADMIN);
    // and the other admin, judging it too late, is told it was decided
    let other = site.log_in(OTHER_ADMIN).await;
    let late = site
        .post(
            &path,
            Some(&other),
            Some(&site.url),
            &[("resolution", "dismissed"), ("csrf", &other.csrf)],
        )
        .await;
    assert_eq!(late.headers()["location"], "/reports?done=already");
}

#[tokio::test]
async fn days_are_granted_by_name_and_searches_bind_their_input() {
    // given a user on a trial
    let site = open_site().await;
    site.app
        .given(&testkit::events::subscriber(808, &["design"], 2))
        .await;
    let session = site.log_in(ADMIN).await;

    // when the admin searches by @username, by id, and with an injection attempt
    let found = site
        .get("/users?q=%40user808", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("/users/808"), "{found}");
    let by_id = site
        .get("/users?q=808", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(by_id.contains("/users/808"));
    let injection = site
        .get(
            "/users?q=%27%20OR%201%3D1%20--&page=99999999999",
            Some(&session),
        )
        .await;
    // then the injection is an ordinary empty result, the huge page clamped
    assert_eq!(injection.status(), 200);
    let injection = injection.text().await.unwrap();
    assert!(injection.contains("Никого не нашлось"), "{injection}");
    assert!(injection.contains("страница 10000"), "{injection}");

    // when they grant nonsense, then nothing is granted
    let path = "/users/808/grant";
    for days in ["0", "366", "abc"] {
        let response = site
            .post(
                path,
                Some(&session),
                Some(&site.url),
                &[
                    ("csrf", &session.csrf),
                    ("days", days),
                    ("reason", "компенсация"),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{days}");
    }
    // when they grant 7 days with a reason
    let granted = site
        .post(
            path,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("days", "7"),
                ("reason", "компенсация за сбой"),
            ],
        )
        .await;
    // then the grant is one event naming the admin and the reason, and the page says so
    assert_eq!(granted.status(), 303);
    let extended = site
        .app
        .bus
        .read_subject("rh.users.subscription_extended.808")
        .await
        .unwrap();
    assert_eq!(extended.len(), 1);
    let Event::SubscriptionExtended(extension) = &extended[0].envelope.event else {
        panic!()
    };
    assert_eq!(
        extension.source,
        ExtensionSource::Grant {
            admin_id: ADMIN,
            reason: "компенсация за сбой".into()
        }
    );
    let user = site
        .get(
            granted.headers()["location"].to_str().unwrap(),
            Some(&session),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(user.contains("Дни добавлены"), "{user}");
    assert!(
        user.contains("SubscriptionExtended"),
        "the history lists it: {user}"
    );
}

#[tokio::test]
async fn dead_letters_are_replayed_and_discarded_and_jobs_run_naming_the_admin() {
    // given two events a consumer gave up on, one with a hostile reason
    let site = open_site().await;
    let first = site
        .given_a_dead_letter(1, "gave up after 8 attempts: LLM 500")
        .await;
    let second = site
        .given_a_dead_letter(2, "<script>window.__xss=1</script>")
        .await;
    let session = site.log_in(ADMIN).await;

    // when the admin opens the dead letters
    let page = site
        .get("/dead-letters", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    // then both wait there, the hostile reason as text
    assert!(page.contains("LLM 500"), "{page}");
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>"),
        "{page}"
    );

    // when they replay the first without the CSRF token, then nothing happens
    let path = format!("/dead-letters/{first}/replay");
    let refused = site.post(&path, Some(&session), Some(&site.url), &[]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        site.app.bus.unhandled_dead_letters().await.unwrap().len(),
        2
    );
    // when they replay it, twice
    for expected in ["/dead-letters?done=replayed", "/dead-letters?done=already"] {
        let replayed = site
            .post(
                &path,
                Some(&session),
                Some(&site.url),
                &[("csrf", &session.csrf)],
            )
            .await;
        assert_eq!(replayed.headers()["location"], expected);
    }
    // and discard the second with a reason
    let discarded = site
        .post(
            &format!("/dead-letters/{second}/discard"),
            Some(&session),
            Some(&site.url),
            &[("csrf", &session.csrf), ("reason", "проверено вручную")],
        )
        .await;
    assert_eq!(
        discarded.headers()["location"],
        "/dead-letters?done=discarded"
    );
    // then each is handled once, naming the admin
    let letters = site.app.bus.dead_letters().await.unwrap();
    let handled: Vec<_> = letters.iter().filter_map(|l| l.handled.clone()).collect();
    assert_eq!(handled.len(), 2, "{letters:?}");
    assert!(
        handled
            .iter()
            .all(|h| h.operator == format!("admin:{ADMIN}"))
    );
    assert!(
        handled
            .iter()
            .any(|h| h.reason.as_deref() == Some("проверено вручную"))
    );
    assert!(
        site.app
            .bus
            .unhandled_dead_letters()
            .await
            .unwrap()
            .is_empty()
    );

    // when the admin runs the admin report now
    let run = site
        .post(
            "/jobs/admin-report/run",
            Some(&session),
            Some(&site.url),
            &[("csrf", &session.csrf)],
        )
        .await;
    // then a manual tick names them
    assert_eq!(run.headers()["location"], "/jobs?started=admin-report");
    let ticks = site
        .app
        .bus
        .read_subject("rh.schedules.tick.admin-report")
        .await
        .unwrap();
    assert!(ticks.iter().any(|t| matches!(&t.envelope.event,
        Event::JobTick(tick) if tick.trigger == schemas::JobTrigger::Manual { who: format!("admin:{ADMIN}") })));
    // and the jobs, projections and payments pages answer
    for path in ["/jobs", "/projections", "/payments"] {
        let page = site.get(path, Some(&session)).await;
        assert_eq!(page.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn vacancies_are_found_by_their_filters_and_corrected_naming_the_admin() {
    // given two categories and a vacancy in each
    let site = open_site().await;
    let design = MessageKey::new(-1001900000003, 10);
    let texts = MessageKey::new(-1001900000004, 20);
    let mut events = Vec::new();
    for (order, (slug, name)) in [("design", "Дизайн"), ("texts", "Тексты")]
        .into_iter()
        .enumerate()
    {
        events.push(Envelope::new(schemas::CategoryDefined {
            slug: slug.into(),
            name: name.into(),
            order: order as i32,
            paid_first: false,
            admin_id: None,
        }));
    }
    events.extend(testkit::events::vacancy(
        design,
        "Нужен дизайнер логотипа",
        "HR",
        &["design"],
    ));
    events.extend(testkit::events::vacancy(
        texts,
        "Копирайтер на статьи 100%_",
        "HR",
        &["texts"],
    ));
    site.app.given(&events).await;
    let session = site.log_in(ADMIN).await;
    let found = async |query: &str| {
        site.get(&format!("/vacancies?{query}"), Some(&session))
            .await
            .text()
            .await
            .unwrap()
    };
    let design_path = format!("/vacancies/{}/{}", design.chat_id, design.message_id);
    let texts_path = format!("/vacancies/{}/{}", texts.chat_id, texts.message_id);

    // when the admin filters by text, category, kind, channel and days
    // then each finds exactly what it names; wildcards and injections match literally
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%Y-%m-%d")
        .to_string();
    let from_today = format!("from={today}&to={today}");
    for (query, design_found, texts_found) in [
        (from_today.as_str(), true, true),
        ("from=2020-01-01&to=2020-01-31", false, false),
        ("from=not-a-day", true, true),
        (
            "q=%D0%B4%D0%B8%D0%B7%D0%B0%D0%B9%D0%BD%D0%B5%D1%80",
            true,
            false,
        ),
        ("category=texts", false, true),
        ("kind=resume", false, false),
        (&format!("channel={}", texts.chat_id), false, true),
        ("q=100%25_", false, true),
        // a literal % and _ only in the second post; unescaped they would match both
        ("q=%25", false, true),
        ("q=_", false, true),
        ("q=%27%20OR%201%3D1%20--", false, false),
        ("", true, true),
    ] {
        let page = found(query).await;
        assert_eq!(page.contains(&design_path), design_found, "{query}: {page}");
        assert_eq!(page.contains(&texts_path), texts_found, "{query}");
    }

    // when they correct the design post as an ad, without the token and then with it
    let correct = format!("{design_path}/correct");
    let refused = site
        .post(&correct, Some(&session), Some(&site.url), &[("kind", "ad")])
        .await;
    assert_eq!(refused.status(), 403);
    let corrected = site
        .post(
            &correct,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("kind", "ad"),
                ("category", "texts"),
                ("category", "made-up"),
            ],
        )
        .await;
    // then the correction names the admin, keeps only real categories, and the page says so
    assert_eq!(corrected.status(), 303);
    let event = site
        .app
        .bus
        .latest::<schemas::ClassificationCorrected>(&design.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.admin_id, ADMIN);
    assert_eq!(event.kind, schemas::PostKind::Ad);
    assert_eq!(event.categories, ["texts"]);
    assert_eq!(event.report_id, None);
    testkit::eventually("the correction in the read model", async || {
        site.get(&design_path, Some(&session))
            .await
            .text()
            .await
            .unwrap()
            .contains("(исправлено)")
    })
    .await;
}

#[tokio::test]
async fn rules_are_saved_only_after_their_backtest_and_every_catalog_edit_names_the_admin() {
    // given a channel whose stored posts are a vacancy and a resume, and a logged-in admin
    let site = open_site().await;
    site.given_a_channel(
        -100_123,
        &[
            "Вакансия: нужен Python-разработчик",
            "Резюме: ищу работу, Python",
        ],
    )
    .await;
    let session = site.log_in(ADMIN).await;
    let listed = site.get("/channels", Some(&session)).await;
    assert!(listed.text().await.unwrap().contains("-100123"));

    // when the admin tests rules forbidding «резюме»
    let rules = "/channels/-100123/rules";
    let tested = site
        .post(
            rules,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("forbid", "резюме"),
                ("step", "test"),
            ],
        )
        .await;
    // then the backtest shows the resume would stop passing, and offers to save
    assert_eq!(tested.status(), 200);
    let page = tested.text().await.unwrap();
    assert!(page.contains("Перестанут проходить — 1"), "{page}");
    assert!(page.contains("Резюме: ищу работу, Python"), "{page}");
    let fingerprint = value_of(&page, "tested");

    // when other rules are saved with that backtest's fingerprint
    let sneaked = site
        .post(
            rules,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("forbid", "python"),
                ("step", "save"),
                ("tested", &fingerprint),
            ],
        )
        .await;
    // then nothing is saved: they are tested first
    assert!(
        sneaked
            .text()
            .await
            .unwrap()
            .contains("изменились после проверки")
    );
    // and a post from another site is refused
    let foreign = site
        .post(
            rules,
            Some(&session),
            Some(EVIL),
            &[
                ("csrf", &session.csrf),
                ("forbid", "резюме"),
                ("step", "save"),
                ("tested", &fingerprint),
            ],
        )
        .await;
    assert_eq!(foreign.status(), 403);
    assert!(
        !site
            .catalog_events()
            .await
            .iter()
            .any(|e| matches!(e, Event::ChannelRulesSet(_)))
    );

    // when the tested rules are saved
    let saved = site
        .post(
            rules,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("forbid", "резюме"),
                ("step", "save"),
                ("tested", &fingerprint),
            ],
        )
        .await;
    // then they are one ChannelRulesSet naming the admin
    assert_eq!(saved.status(), 303);
    let set: Vec<_> = site
        .catalog_events()
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::ChannelRulesSet(set) => Some(set),
            _ => None,
        })
        .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].scope, schemas::RuleScope::Channel("-100123".into()));
    assert_eq!(set[0].rules.forbid, ["резюме"]);
    assert_eq!(set[0].admin_id, Some(ADMIN));

    // when a channel is added with a hostile title, a bad username refused, then it is removed
    let bad = site
        .post(
            "/channels",
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("username", "@x'--"),
                ("title", "X"),
                ("kind", "channel"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let added = site
        .post(
            "/channels",
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("username", "@new_jobs"),
                ("title", "<b>Новые</b>"),
                ("kind", "group"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let shown = site
        .get("/channels/@new_jobs", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("&lt;b&gt;Новые&lt;/b&gt;") && !shown.contains("<b>Новые"),
        "{shown}"
    );
    let unsure = site
        .post(
            "/channels/@new_jobs/remove",
            Some(&session),
            Some(&site.url),
            &[("csrf", &session.csrf)],
        )
        .await;
    assert_eq!(unsure.status(), 303);
    site.post(
        "/channels/@new_jobs/remove",
        Some(&session),
        Some(&site.url),
        &[("csrf", &session.csrf), ("sure", "on")],
    )
    .await;

    // and categories are added (a bad slug refused), renamed and retired
    let bad_slug = site
        .post(
            "/categories",
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("slug", "Q A"),
                ("name", "QA"),
                ("order", "1"),
            ],
        )
        .await;
    assert_eq!(bad_slug.status(), 422);
    for (path, form) in [
        (
            "/categories",
            vec![("slug", "qa"), ("name", "Тесты"), ("order", "3")],
        ),
        (
            "/categories/qa",
            vec![
                ("name", "Тестирование"),
                ("order", "2"),
                ("paid_first", "on"),
            ],
        ),
        ("/categories/qa/retire", vec![("sure", "on")]),
    ] {
        let mut form = form;
        form.push(("csrf", &session.csrf));
        let response = site
            .post(path, Some(&session), Some(&site.url), &form)
            .await;
        assert_eq!(response.status(), 303, "{path}");
    }

    // then each change is a catalog event naming the admin, in order
    let named: Vec<(&str, Option<i64>)> = site
        .catalog_events()
        .await
        .iter()
        .filter_map(|e| Some((e.event_type(), e.acting_admin()?)))
        .map(|(t, a)| (t, Some(a)))
        .collect();
    assert_eq!(
        named,
        [
            ("ChannelRulesSet", Some(ADMIN)),
            ("ChannelConfigured", Some(ADMIN)),
            ("ChannelRemoved", Some(ADMIN)),
            ("CategoryDefined", Some(ADMIN)),
            ("CategoryDefined", Some(ADMIN)),
            ("CategoryRetired", Some(ADMIN)),
        ]
    );
    // and the rename put the category's paying subscribers first, the addition did not
    let paid_first: Vec<bool> = site
        .catalog_events()
        .await
        .iter()
        .filter_map(|e| match e {
            schemas::Event::CategoryDefined(d) if d.slug == "qa" => Some(d.paid_first),
            _ => None,
        })
        .collect();
    assert_eq!(paid_first, [false, true]);
    // and the audit log lists them, the admin's login too
    testkit::eventually("the audit log", async || {
        let log = site
            .get("/audit", Some(&session))
            .await
            .text()
            .await
            .unwrap();
        [
            "правила изменены",
            "канал убран",
            "категория убрана",
            "вход в веб",
        ]
        .iter()
        .all(|action| log.contains(action))
    })
    .await;
    let others = site
        .get(&format!("/audit?admin={OTHER_ADMIN}"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(others.contains("Действий нет"), "{others}");
}

/// The value of the hidden field `name` on a page.
fn value_of(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_stars_payment_is_refunded_from_the_users_page_naming_the_admin() {
    // given a subscriber who paid 300 ⭐ through the main bot
    let site = open_site().await;
    let mut events = testkit::events::subscriber(808, &["design"], 3);
    events.push(Envelope::new(schemas::PaymentCreated {
        payment_id: "st-808-1".into(),
        user_id: 808,
        plan: "month".into(),
        days: 30,
        provider: schemas::Provider::Stars,
        amount: schemas::Money {
            minor: 300,
            currency: schemas::Currency::Xtr,
        },
        provider_payment_id: None,
    }));
    site.app.given(&events).await;
    site.telegram
        .successful_payment("rh_main_bot", 808, "st-808-1", 300, "charge-808-1")
        .unwrap();
    let session = site.log_in(ADMIN).await;
    testkit::eventually("the payment on the user's page", async || {
        let page = site
            .get("/users/808", Some(&session))
            .await
            .text()
            .await
            .unwrap();
        page.contains("Вернуть деньги")
    })
    .await;
    let refund = "/users/808/payments/st-808-1/refund";

    // when the admin asks without ticking «да», or from another site
    let unsure = site
        .post(
            refund,
            Some(&session),
            Some(&site.url),
            &[("csrf", &session.csrf), ("reason", "ошибка")],
        )
        .await;
    let foreign = site
        .post(
            refund,
            Some(&session),
            Some(EVIL),
            &[
                ("csrf", &session.csrf),
                ("reason", "ошибка"),
                ("sure", "on"),
            ],
        )
        .await;
    // then nothing is refunded
    assert_eq!(unsure.status(), 422);
    assert_eq!(foreign.status(), 403);
    assert!(
        site.app
            .bus
            .read_subject("rh.payments.refunded.>")
            .await
            .unwrap()
            .is_empty()
    );

    // when they refund it
    let refunded = site
        .post(
            refund,
            Some(&session),
            Some(&site.url),
            &[
                ("csrf", &session.csrf),
                ("reason", "двойное списание"),
                ("sure", "on"),
            ],
        )
        .await;
    // then Telegram returned the Stars and the refund is one event naming the admin
    assert_eq!(refunded.status(), 303);
    assert_eq!(refunded.headers()["location"], "/users/808?done=refunded");
    testkit::eventually("the refund recorded", async || {
        let recorded = site
            .app
            .bus
            .read_subject("rh.payments.refunded.>")
            .await
            .unwrap();
        matches!(&recorded[..], [one] if matches!(&one.envelope.event,
            Event::PaymentRefunded(r) if r.admin_id == Some(ADMIN) && r.amount.minor == 300))
    })
    .await;
    // and the page no longer offers it
    testkit::eventually("the page updated", async || {
        let page = site
            .get("/users/808", Some(&session))
            .await
            .text()
            .await
            .unwrap();
        page.contains("возвращено 300") && !page.contains("Вернуть деньги")
    })
    .await;
}

#[tokio::test]
async fn the_channels_page_shows_which_account_reads_each_channel_and_what_none_has_room_for() {
    // given two channels, an account reading one of them with no room for the other, and a
    // second account Telegram revoked
    let site = open_site().await;
    site.given_a_channel(-100_111, &[]).await;
    site.given_a_channel(-100_222, &[]).await;
    site.app
        .given(&[
            Envelope::new(schemas::IngestAccountAdded {
                account: "reader-1".into(),
                max_channels: 1,
            }),
            Envelope::new(schemas::IngestAccountAdded {
                account: "reader-2".into(),
                max_channels: 400,
            }),
            Envelope::new(schemas::IngestAccountLost {
                account: "reader-2".into(),
                reason: schemas::AccountLoss::Revoked,
                detail: "AUTH_KEY_UNREGISTERED".into(),
            }),
            Envelope::new(schemas::ChannelAssigned {
                channel: "-100111".into(),
                account: Some("reader-1".into()),
            }),
            Envelope::new(schemas::ChannelAssigned {
                channel: "-100222".into(),
                account: None,
            }),
        ])
        .await;

    // when an admin opens the channels page
    let session = site.log_in(ADMIN).await;
    let page = site
        .get("/channels", Some(&session))
        .await
        .text()
        .await
        .unwrap();

    // then it names each account with its load and state, the channel's account, and the
    // channel no account has room for
    assert!(page.contains("Аккаунты Telegram"), "{page}");
    assert!(page.contains("1 из 1"), "{page}");
    assert!(
        page.contains("сессия отозвана — войдите заново (AUTH_KEY_UNREGISTERED)"),
        "{page}"
    );
    assert!(page.contains("аккаунт: reader-1"), "{page}");
    assert!(
        page.contains("не назначен: ни у одного аккаунта нет места"),
        "{page}"
    );
    assert!(page.contains("Не назначено каналов: 1."), "{page}");
}
