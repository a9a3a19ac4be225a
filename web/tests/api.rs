//! The content API over HTTP, end to end: posts, the catalog and daily figures published as
//! events through the projectors, read back with a token made as the CLI makes it; filters,
//! keyset pages, every error as JSON with its status, the rate limit, tokens kept out of the
//! events; and the OpenAPI document walked, each answer checked against its schema there.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use schemas::{
    Budget, Currency, Envelope, Event, MessageDeleted, MessageKey, Money, PayPeriod,
    PaymentCreated, PaymentSucceeded, PostKind, Provider,
};
use serde_json::{Value, json};
use support::{Site, open_site};

const DESIGN_CHANNEL: i64 = -1001000000001;
const DEV_CHANNEL: i64 = -1001000000002;

/// One post to publish: a vacancy in design unless changed.
#[derive(Clone)]
struct Post {
    key: MessageKey,
    posted_at: DateTime<Utc>,
    kind: PostKind,
    categories: Vec<&'static str>,
    budget: Option<i64>,
    remote: Option<bool>,
}

impl Post {
    fn vacancy(chat_id: i64, message_id: i64, posted_at: DateTime<Utc>) -> Self {
        Self {
            key: MessageKey::new(chat_id, message_id),
            posted_at,
            kind: PostKind::Vacancy,
            categories: vec!["design"],
            budget: None,
            remote: None,
        }
    }

    /// Its `MessageReceived` and `MessageClassified`, as ingest and classify publish them.
    fn events(&self) -> Vec<Envelope> {
        let text = format!("Ищем дизайнера, пост {}", self.key.message_id);
        let mut events = testkit::events::vacancy(self.key, &text, "HR", &self.categories);
        for envelope in &mut events {
            match &mut envelope.event {
                Event::MessageReceived(e) => e.posted_at = self.posted_at,
                Event::MessageClassified(e) => {
                    e.kind = self.kind;
                    e.remote = self.remote;
                    e.budget = self.budget.map(|amount| Budget {
                        amount,
                        currency: "RUB".into(),
                        period: PayPeriod::Month,
                    });
                }
                _ => {}
            }
        }
        events
    }
}

/// Two categories and the two channels, as the catalog publishes them. Built from JSON so the
/// optional fields these events may gain do not matter here.
fn catalog() -> Vec<Envelope> {
    let event = |value: Value| -> Event {
        let kind = value["type"].as_str().unwrap().to_owned();
        let data = value["data"].clone();
        match kind.as_str() {
            "CategoryDefined" => Event::CategoryDefined(serde_json::from_value(data).unwrap()),
            _ => Event::ChannelConfigured(serde_json::from_value(data).unwrap()),
        }
    };
    [
        json!({"type": "CategoryDefined", "data": {"slug": "design", "name": "Дизайн", "order": 1}}),
        json!({"type": "CategoryDefined", "data": {"slug": "dev", "name": "Разработка", "order": 2}}),
        json!({"type": "ChannelConfigured", "data": {"chat_id": DESIGN_CHANNEL, "username": "design_jobs",
            "title": "Дизайн-вакансии", "kind": "channel", "enabled": true}}),
        json!({"type": "ChannelConfigured", "data": {"chat_id": DEV_CHANNEL, "username": "dev_jobs",
            "title": "Dev jobs", "kind": "channel", "enabled": true}}),
    ]
    .into_iter()
    .map(|value| Envelope::new(event(value)))
    .collect()
}

/// An instant on a whole second, an hour ago: RFC 3339 in a URL needs no fractions.
fn an_hour_ago() -> DateTime<Utc> {
    let now = Utc::now() - Duration::hours(1);
    DateTime::from_timestamp(now.timestamp(), 0).unwrap()
}

/// The catalog, then design vacancies 1–6 (a minute apart, newest first, budget 10,000 ×
/// id, remote when the id is even), dev vacancy 7, resume 8, and vacancy 9, deleted.
async fn given_posts(site: &Site, start: DateTime<Utc>) {
    let mut posts = Vec::new();
    for id in 1..=6 {
        posts.push(Post {
            budget: Some(id * 10_000),
            remote: Some(id % 2 == 0),
            ..Post::vacancy(DESIGN_CHANNEL, id, start - Duration::minutes(id))
        });
    }
    posts.push(Post {
        categories: vec!["dev"],
        ..Post::vacancy(DEV_CHANNEL, 7, start - Duration::minutes(7))
    });
    posts.push(Post {
        kind: PostKind::Resume,
        ..Post::vacancy(DESIGN_CHANNEL, 8, start - Duration::minutes(8))
    });
    posts.push(Post::vacancy(DESIGN_CHANNEL, 9, start));
    let mut events = catalog();
    events.extend(posts.iter().flat_map(Post::events));
    events.push(Envelope::new(MessageDeleted {
        key: MessageKey::new(DESIGN_CHANNEL, 9),
    }));
    site.app.given(&events).await;
}

async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The message ids of a vacancy page's items.
fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["message_id"].as_i64().unwrap())
        .collect()
}

/// A request's error: its status and `error.code`, after checking the error's shape.
async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = json_of(response).await;
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, body["error"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn vacancies_are_listed_newest_first_and_every_filter_narrows_them() {
    // given posts in two channels and a token
    let site = open_site().await;
    let start = an_hour_ago();
    given_posts(&site, start).await;
    let token = site.api_token("partner").await;
    let list = async |query: &str| {
        let response = site
            .api_get(&format!("/api/v1/vacancies{query}"), Some(&token))
            .await;
        assert_eq!(response.status(), 200, "{query}");
        json_of(response).await
    };

    // when the vacancies are listed, then they are the vacancies, newest first: not the
    // resume, not the deleted post
    let all = list("").await;
    assert_eq!(ids(&all), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(all["next_cursor"], Value::Null);

    // when filtered, then each filter narrows them, and together they combine
    let since = (start - Duration::minutes(3)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let cases: [(String, &[i64]); 10] = [
        ("?category=dev".into(), &[7]),
        ("?kind=resume".into(), &[8]),
        (format!("?channel={DEV_CHANNEL}"), &[7]),
        (format!("?since={since}"), &[1, 2, 3]),
        ("?min_budget=40000".into(), &[4, 5, 6]),
        ("?remote=true".into(), &[2, 4, 6]),
        ("?remote=false".into(), &[1, 3, 5]),
        (
            "?category=design&remote=true&min_budget=30000".into(),
            &[4, 6],
        ),
        (
            format!("?channel={DESIGN_CHANNEL}&since={since}"),
            &[1, 2, 3],
        ),
        ("?category=video".into(), &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&list(&query).await), expected, "{query}");
    }

    // when one vacancy is asked for, then it is all there
    let one = site
        .api_get(
            &format!("/api/v1/vacancies/{DESIGN_CHANNEL}/4"),
            Some(&token),
        )
        .await;
    assert_eq!(one.status(), 200);
    let one = json_of(one).await;
    assert_eq!(one["chat_id"], DESIGN_CHANNEL);
    assert_eq!(one["kind"], "vacancy");
    assert_eq!(one["categories"], json!(["design"]));
    assert_eq!(
        one["budget"],
        json!({"amount": 40000, "currency": "RUB", "period": "month"})
    );
    assert_eq!(one["remote"], true);
    assert_eq!(one["url"], "https://t.me/jobs_channel/4");
    assert_eq!(one["text"], "Ищем дизайнера, пост 4");
    let posted_at: DateTime<Utc> = one["posted_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(posted_at, start - Duration::minutes(4));
    // and one that is unknown or deleted is a 404
    for missing in ["999", "9"] {
        let path = format!("/api/v1/vacancies/{DESIGN_CHANNEL}/{missing}");
        let response = site.api_get(&path, Some(&token)).await;
        assert_eq!(
            error_of(response).await,
            (404, "not_found".into()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn filters_never_reach_sql_unbound_and_a_huge_limit_is_clamped() {
    // given posts and a token
    let site = open_site().await;
    given_posts(&site, an_hour_ago()).await;
    let token = site.api_token("partner").await;

    // when a filter carries SQL, then it is an ordinary value: nothing matches, nothing breaks
    for attack in [
        "%27%20OR%20%271%27%3D%271",
        "design%27%3B%20DROP%20TABLE%20vacancies%3B%20--",
        "%25",
    ] {
        let path = format!("/api/v1/vacancies?category={attack}");
        let response = site.api_get(&path, Some(&token)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(ids(&json_of(response).await), [] as [i64; 0], "{path}");
    }
    let after = site.api_get("/api/v1/vacancies", Some(&token)).await;
    assert_eq!(
        ids(&json_of(after).await).len(),
        7,
        "the table is still there"
    );

    // when the limit is absurd either way, then it is clamped to 1..=100
    for (limit, expected) in [("99999999999999999999999", 7), ("0", 1), ("-5", 1)] {
        let path = format!("/api/v1/vacancies?limit={limit}");
        let page = json_of(site.api_get(&path, Some(&token)).await).await;
        assert_eq!(ids(&page).len(), expected, "{path}");
    }
}

#[tokio::test]
async fn walking_the_cursor_lists_every_vacancy_once_even_while_new_ones_arrive() {
    // given 110 vacancies over two channels, three at a time posted in the same second
    let site = open_site().await;
    let start = an_hour_ago();
    let posts: Vec<Post> = (1..=110)
        .map(|id| {
            let chat = if id % 2 == 0 {
                DESIGN_CHANNEL
            } else {
                DEV_CHANNEL
            };
            Post::vacancy(chat, id, start - Duration::seconds(id / 3))
        })
        .collect();
    let mut events = catalog();
    events.extend(posts.iter().flat_map(Post::events));
    site.app.given(&events).await;
    let token = site.api_token("walker").await;
    let get = async |path: &str| {
        let response = site.api_get(path, Some(&token)).await;
        assert_eq!(response.status(), 200, "{path}");
        json_of(response).await
    };

    // when the pages are walked 25 at a time, and a new vacancy arrives after the first
    let mut walked = Vec::new();
    let mut path = "/api/v1/vacancies?limit=25".to_owned();
    let mut pages = 0;
    loop {
        let page = get(&path).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            walked.push((
                item["chat_id"].as_i64().unwrap(),
                item["message_id"].as_i64().unwrap(),
            ));
        }
        if pages == 1 {
            let newcomer = Post::vacancy(DESIGN_CHANNEL, 1000, Utc::now());
            site.app.given(&newcomer.events()).await;
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/vacancies?limit=25&cursor={cursor}"),
            None => break,
        }
    }

    // then every vacancy came once, in order (newest first, then by chat and message), the
    // newcomer on none of the later pages
    let mut expected: Vec<(DateTime<Utc>, i64, i64)> = posts
        .iter()
        .map(|p| (p.posted_at, p.key.chat_id, p.key.message_id))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<(i64, i64)> = expected.into_iter().map(|(_, c, m)| (c, m)).collect();
    assert_eq!(pages, 5);
    assert_eq!(walked, expected);

    // and a page is 50 unless asked, 100 at most however much is asked
    let first = get("/api/v1/vacancies").await;
    assert_eq!(ids(&first).len(), 50);
    assert_eq!(ids(&first)[0], 1000, "the newcomer is first now");
    let huge = get("/api/v1/vacancies?limit=100000").await;
    assert_eq!(ids(&huge).len(), 100);
    assert!(huge["next_cursor"].is_string());
}

#[tokio::test]
async fn requests_without_a_good_token_are_refused_with_json_and_a_challenge() {
    // given a token
    let site = open_site().await;
    let token = site.api_token("partner").await;
    let path = "/api/v1/categories";
    assert_eq!(site.api_get(path, Some(&token)).await.status(), 200);

    // when there is no token, or no bearer one, then 401 with the bare challenge
    let missing = site.api_get(path, None).await;
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="remotehunt""#
    );
    assert_eq!(error_of(missing).await, (401, "missing_token".into()));
    let basic = site
        .http()
        .get(format!("{}{path}", site.url))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(basic).await, (401, "missing_token".into()));

    // when the token is forged or malformed, then 401 saying the token is invalid
    for forged in [
        format!("rh_{}", "0f".repeat(32)),
        "rh_short".to_owned(),
        format!("{token}x"),
        "' OR 1=1 --".to_owned(),
    ] {
        let response = site.api_get(path, Some(&forged)).await;
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
        assert_eq!(
            error_of(response).await,
            (401, "invalid_token".into()),
            "{forged}"
        );
    }

    // when the token is revoked by its name, as `web token revoke` does
    let other = site.api_token("other").await;
    let revoked = web::api::tokens::revoke(&site.app.bus, &site.app.db.pool, "partner", Some(501))
        .await
        .unwrap();
    assert!(!revoked.already);
    site.users_projected(revoked.sequence).await;
    // then it is refused as revoked, and the other token still works
    let refused = site.api_get(path, Some(&token)).await;
    assert_eq!(error_of(refused).await, (403, "revoked_token".into()));
    assert_eq!(site.api_get(path, Some(&other)).await.status(), 200);
    // and revoking it again, by id, records nothing new
    let id = revoked.token.token_id.to_string();
    let again = web::api::tokens::revoke(&site.app.bus, &site.app.db.pool, &id, None)
        .await
        .unwrap();
    assert!(again.already);
    // and the list shows both, one revoked by the admin
    let tokens = web::api::tokens::list(&site.app.db.pool).await.unwrap();
    let names: Vec<(&str, Option<i64>)> = tokens
        .iter()
        .map(|t| (t.name.as_str(), t.revoked_by))
        .collect();
    assert_eq!(names, [("partner", Some(501)), ("other", None)]);
}

#[tokio::test]
async fn a_token_past_its_rate_is_told_when_to_come_back_and_others_are_not_held() {
    // given two tokens and the default limit (120 a minute)
    let site = open_site().await;
    let (busy, calm) = (site.api_token("busy").await, site.api_token("calm").await);

    // when one token asks as fast as it can
    let mut answered = 0;
    let refused = loop {
        let response = site.api_get("/api/v1/categories", Some(&busy)).await;
        if response.status() == 429 {
            break response;
        }
        assert_eq!(response.status(), 200);
        answered += 1;
        assert!(answered < 300, "never limited");
    };

    // then after about its minute's allowance it is refused with Retry-After
    assert!(answered >= 120, "{answered}");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(error_of(refused).await, (429, "rate_limited".into()));
    // and the other token is not held back
    assert_eq!(
        site.api_get("/api/v1/categories", Some(&calm))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_parameters_unknown_paths_and_other_methods_are_json_errors() {
    // given a token
    let site = open_site().await;
    let token = site.api_token("partner").await;

    // when a parameter is not what the document says, then 422 with JSON, not axum's text
    for path in [
        "/api/v1/vacancies?limit=abc",
        "/api/v1/vacancies?channel=jobs",
        "/api/v1/vacancies?since=yesterday",
        "/api/v1/vacancies?remote=maybe",
        "/api/v1/vacancies?kind=job",
        "/api/v1/vacancies?min_budget=lots",
        "/api/v1/vacancies?cursor=not-a-cursor",
        "/api/v1/vacancies?category=a&category=b",
        "/api/v1/vacancies/abc/1",
        "/api/v1/stats/daily?days=week",
    ] {
        let response = site.api_get(path, Some(&token)).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        assert_eq!(
            error_of(response).await,
            (422, "invalid_parameter".into()),
            "{path}"
        );
    }

    // when the path is unknown or the method is not GET, then 404 and 405, as JSON
    let unknown = site.api_get("/api/v1/jobs", Some(&token)).await;
    assert_eq!(error_of(unknown).await, (404, "not_found".into()));
    let post = site
        .http()
        .post(format!("{}/api/v1/vacancies", site.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(post).await, (405, "method_not_allowed".into()));
}

#[tokio::test]
async fn a_token_is_shown_once_and_recorded_only_as_its_hash() {
    // given a token made as the CLI makes it
    let site = open_site().await;
    let issued = web::api::tokens::issue(&site.app.bus, &site.app.db.pool, "partner", Some(501))
        .await
        .unwrap();
    assert!(web::api::tokens::looks_like_token(&issued.token));
    assert!(!format!("{issued:?}").contains(&issued.token));
    // and a second active token of the same name is refused
    site.users_projected(issued.sequence).await;
    let twin = web::api::tokens::issue(&site.app.bus, &site.app.db.pool, "partner", None).await;
    assert!(twin.is_err());

    // when the USERS stream is read, then the token is nowhere in it, its hash is
    let stored = site.app.bus.read_subject("rh.users.>").await.unwrap();
    let hash = web::api::tokens::token_hash(&issued.token);
    let mut issued_events = 0;
    for event in &stored {
        let json = String::from_utf8(event.envelope.to_json()).unwrap();
        assert!(!json.contains(&issued.token[3..]), "{json}");
        if let Event::ApiTokenIssued(e) = &event.envelope.event {
            assert_eq!(
                (e.token_hash.as_str(), e.admin_id),
                (hash.as_str(), Some(501))
            );
            issued_events += 1;
        }
    }
    assert_eq!(issued_events, 1);
}

#[tokio::test]
async fn the_catalog_and_daily_figures_read_as_the_read_models_hold_them() {
    // given the catalog, posts, a subscriber and their payment today
    let site = open_site().await;
    given_posts(&site, an_hour_ago()).await;
    site.app.given(&given_a_payment()).await;
    let token = site.api_token("partner").await;
    let get = async |path: &str| {
        let response = site.api_get(path, Some(&token)).await;
        assert_eq!(response.status(), 200, "{path}");
        json_of(response).await
    };

    // when the categories are read, then they are in the catalog's order
    let categories = get("/api/v1/categories").await;
    assert_eq!(
        categories["items"],
        json!([{"slug": "design", "name": "Дизайн"}, {"slug": "dev", "name": "Разработка"}])
    );

    // when the channels are read, then each has its yield
    let channels = get("/api/v1/channels").await;
    let design = channels["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chat_id"] == DESIGN_CHANNEL)
        .unwrap();
    assert_eq!(design["username"], "design_jobs");
    assert_eq!(design["yield"]["seen"], 8, "{design}");
    assert_eq!(
        design["yield"]["vacancies"], 7,
        "the deleted post was a vacancy too"
    );

    // when the daily figures are read, then today (last) has the user, the payer, the
    // vacancies and the revenue
    let stats = get("/api/v1/stats/daily?days=3").await;
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    let today = &days[2];
    assert_eq!(today["date"], Utc::now().date_naive().to_string());
    assert_eq!(today["new_users"], 1);
    assert_eq!(today["paying_subscribers"], 1);
    assert_eq!(today["vacancies"], 8, "{today}");
    assert_eq!(
        today["revenue"],
        json!([{"currency": "RUB", "payments": 1, "net_minor": 29900}])
    );
    // and however many days are asked for, it is 1..=90
    for (query, days) in [("?days=1000", 90), ("?days=0", 1), ("", 14)] {
        let path = format!("/api/v1/stats/daily{query}");
        assert_eq!(
            get(&path).await["days"].as_array().unwrap().len(),
            days,
            "{path}"
        );
    }
}

/// Subscriber 808 signed up today and paid 299 ₽ for a month.
fn given_a_payment() -> Vec<Envelope> {
    let mut events = testkit::events::subscriber(808, &["design"], 3);
    let amount = Money {
        minor: 29900,
        currency: Currency::Rub,
    };
    events.push(Envelope::new(PaymentCreated {
        payment_id: "pay-1".into(),
        user_id: 808,
        plan: "month".into(),
        days: 30,
        provider: Provider::Yookassa,
        amount,
        provider_payment_id: None,
    }));
    events.push(Envelope::new(PaymentSucceeded {
        payment_id: "pay-1".into(),
        user_id: 808,
        provider: Provider::Yookassa,
        provider_payment_id: "yk-1".into(),
        amount,
        paid_at: Utc::now(),
    }));
    events
}

/// `schema` (a response's, from `document`) with the document's components beside it, so its
/// `#/components/schemas/…` references resolve.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["components"] = document["components"].clone();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("not a JSON Schema ({e}): {root}"))
}

/// `operation`'s documented schema for a `status` answer.
fn documented<'d>(operation: &'d Value, status: u16, path: &str) -> &'d Value {
    let response = &operation["responses"][status.to_string()];
    assert!(response.is_object(), "{path}: {status} is not documented");
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{path}: {status} has no JSON schema");
    schema
}

/// `GET path` answers `status` with a body that `operation` documents for it: the body.
async fn answers_as_documented(
    site: &Site,
    document: &Value,
    operation: &Value,
    (path, token): (&str, Option<&str>),
    status: u16,
) -> Value {
    let response = site.api_get(path, token).await;
    assert_eq!(response.status(), status, "{path}");
    let body = json_of(response).await;
    let validator = validator(document, documented(operation, status, path));
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{path} ({status}): {errors:?}\n{body}");
    body
}

#[tokio::test]
async fn every_endpoint_in_the_openapi_document_answers_as_documented() {
    // given posts, the catalog, a payment and a token
    let site = open_site().await;
    given_posts(&site, an_hour_ago()).await;
    site.app.given(&given_a_payment()).await;
    let token = site.api_token("partner").await;

    // when the document is fetched, without a token
    let response = site.api_get("/api/v1/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let document = json_of(response).await;
    // then it is OpenAPI 3.1, declares bearer tokens, and lists the API's endpoints
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    let bearer = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (bearer["type"].as_str(), bearer["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    assert_eq!(document["security"], json!([{"bearer": []}]));
    let paths = document["paths"].as_object().unwrap();
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "/api/v1/categories",
            "/api/v1/channels",
            "/api/v1/stats/daily",
            "/api/v1/vacancies",
            "/api/v1/vacancies/{chat_id}/{message_id}",
        ]
    );

    // when every path is walked: with the token and a seeded post's ids, without a token,
    // with ids that name nothing, and with a whole-number parameter that is not one
    for (template, item) in paths {
        let operation = &item["get"];
        let fill = |chat: &str, message: &str| {
            template
                .replace("{chat_id}", chat)
                .replace("{message_id}", message)
        };
        let chat = DESIGN_CHANNEL.to_string();
        let real = fill(&chat, "4");
        let walk = async |path: &str, token: Option<&str>, status: u16| {
            answers_as_documented(&site, &document, operation, (path, token), status).await
        };
        // then each answer is the one documented for its status, its body valid against
        // that answer's schema
        let body = walk(&real, Some(&token), 200).await;
        assert_ne!(body, json!({"items": []}), "{real}: nothing to check");
        walk(&real, None, 401).await;
        if template.contains('{') {
            walk(&fill(&chat, "999999"), Some(&token), 404).await;
        }
        let whole_number = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["schema"]["type"].to_string().contains("integer"));
        if let Some(parameter) = whole_number {
            let name = parameter["name"].as_str().unwrap();
            let bad = match parameter["in"].as_str() {
                Some("path") => template
                    .replace(&format!("{{{name}}}"), "abc")
                    .replace("{message_id}", "4"),
                _ => format!("{real}?{name}=abc"),
            };
            walk(&bad, Some(&token), 422).await;
        }
        // and the schema is no rubber stamp: a wrong field in the same answer fails it
        let mut wrong = body.clone();
        let object = wrong.as_object_mut().unwrap();
        let first = object.keys().next().unwrap().clone();
        object.insert(first, json!(true));
        let schema = documented(operation, 200, &real);
        assert!(!validator(&document, schema).is_valid(&wrong), "{real}");
    }
}
