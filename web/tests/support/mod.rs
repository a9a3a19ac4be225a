//! The web UI's `spawn_app`: the backbone (NATS, Postgres, projectors), the fake Bot API with
//! the main bot (whose `/admin` hands out login links), and the web UI on a port of its own.

#![allow(dead_code)] // each test binary uses its part

use bots::main_bot::{MainBot, MainBotConfig};
use reqwest::header;
use teloxide::Bot;
use testkit::{FakeTelegram, eventually};

pub const ADMIN: i64 = 501;
pub const OTHER_ADMIN: i64 = 502;
const MAIN: &str = "8000:main-secret";
/// Signs the subscribers' feed URLs the main bot shows and the web UI serves.
pub const FEED_SECRET: &str = "feed-secret-for-tests";

pub struct Site {
    pub app: testkit::App,
    pub telegram: FakeTelegram,
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    http: reqwest::Client,
}

/// A logged-in browser's credentials: the cookie to send and the CSRF token its forms carry.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub async fn open_site() -> Site {
    let app = testkit::App::start().await;
    let telegram = FakeTelegram::start().await.unwrap();
    telegram.register_bot(MAIN, "rh_main_bot");
    let bot = Bot::new(MAIN).set_api_url(url::Url::parse(telegram.url()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let public_url = url::Url::parse(&format!("{url}/")).unwrap();
    let admins = vec![ADMIN, OTHER_ADMIN];
    let feeds = bots::feeds::FeedLinks::new(public_url.clone(), FEED_SECRET);
    let config = MainBotConfig {
        poll_timeout: 1,
        admin_ids: admins.clone(),
        web_public_url: Some(public_url.clone()),
        feeds: Some(feeds.clone()),
        ..MainBotConfig::default()
    };
    let main_bot = MainBot::new(bot.clone(), app.bus.clone(), app.db.pool.clone(), config);
    tokio::spawn(main_bot.run(app.shutdown.clone()));
    let web = web::Web {
        bus: app.bus.clone(),
        pool: app.db.pool.clone(),
        config: web::WebConfig {
            feeds: Some(feeds),
            ..web::WebConfig::new(public_url, admins)
        },
        main_bot: Some(bot),
        yookassa: None,
        past_days: Default::default(),
    };
    tokio::spawn(web::run(web, listener, app.shutdown.clone()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Site {
        app,
        telegram,
        url,
        http,
    }
}

impl Site {
    /// `admin` sends `/admin` to the main bot: the link it answers with.
    pub async fn link_from_bot(&self, admin: i64) -> String {
        let before = self.telegram.sent_to("rh_main_bot", admin).len();
        self.telegram
            .user_says("rh_main_bot", admin, "/admin")
            .unwrap();
        eventually("the login link", async || {
            self.telegram.sent_to("rh_main_bot", admin).len() > before
        })
        .await;
        let sent = self.telegram.sent_to("rh_main_bot", admin).pop().unwrap();
        assert!(sent.no_preview, "a login link is sent without a preview");
        sent.text
            .split_whitespace()
            .find(|word| word.starts_with("http"))
            .unwrap_or_else(|| panic!("no link in {:?}", sent.text))
            .to_owned()
    }

    pub async fn get(&self, path: &str, session: Option<&Session>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(session) = session {
            request = request.header(header::COOKIE, &session.cookie);
        }
        request.send().await.unwrap()
    }

    /// A form post as our own pages send it (`Origin` is ours) unless `origin` says otherwise.
    pub async fn post(
        &self,
        path: &str,
        session: Option<&Session>,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.url)).form(form);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(session) = session {
            request = request.header(header::COOKIE, &session.cookie);
        }
        request.send().await.unwrap()
    }

    /// Logs in with `link` as the «Войти» button does; the session.
    pub async fn log_in_with(&self, link: &str) -> Session {
        let token = link.rsplit('/').next().unwrap();
        let response = self
            .post("/login", None, Some(&self.url), &[("token", token)])
            .await;
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = self
            .get(
                "/",
                Some(&Session {
                    cookie: cookie.clone(),
                    csrf: String::new(),
                }),
            )
            .await
            .text()
            .await
            .unwrap();
        Session {
            cookie,
            csrf: csrf_in(&page),
        }
    }

    /// Subscriber 808 of design was delivered the post `key` with `text` and reported it as not
    /// a vacancy: the report's id.
    pub async fn given_a_report(&self, key: schemas::MessageKey, text: &str) -> String {
        let mut events = testkit::events::subscriber(808, &["design"], 3);
        events.extend(testkit::events::vacancy(key, text, "HR", &["design"]));
        let report_id = schemas::VacancyReported::id_for(808, &key);
        events.push(schemas::Envelope::new(schemas::VacancyReported {
            report_id: report_id.clone(),
            user_id: 808,
            key,
            category: Some("design".into()),
            reason: schemas::ReportReason::NotVacancy,
        }));
        self.app.given(&events).await;
        report_id
    }

    /// The classifier gave up on the accepted post `sequence` for `reason`: the dead letter's
    /// sequence.
    pub async fn given_a_dead_letter(&self, sequence: u64, reason: &str) -> u64 {
        let origin = bus::dead_letter::Origin {
            stream: schemas::Area::Screening.stream().into(),
            consumer: "classify".into(),
            subject: format!("rh.screening.accepted.-100.{sequence}"),
            sequence,
            replay_of: None,
        };
        self.app
            .bus
            .dead_letter(&origin, "{}".into(), None, reason)
            .await
            .unwrap()
            .sequence
    }

    /// A catalog channel `chat_id` titled «Jobs» (no rules of its own, none global), whose
    /// stored posts are `posts`.
    pub async fn given_a_channel(&self, chat_id: i64, posts: &[&str]) {
        let mut events = vec![schemas::Envelope::new(schemas::ChannelConfigured {
            chat_id,
            username: None,
            title: "Jobs".into(),
            kind: schemas::ChannelKind::Channel,
            enabled: true,
            admin_id: None,
        })];
        for (id, text) in posts.iter().enumerate() {
            let key = schemas::MessageKey::new(chat_id, id as i64 + 1);
            let received = testkit::events::vacancy(key, text, "HR", &[]).remove(0);
            events.push(received);
        }
        self.app.given(&events).await;
    }

    /// The catalog events on CATALOG, oldest first.
    pub async fn catalog_events(&self) -> Vec<schemas::Event> {
        self.app
            .bus
            .read_subject(&schemas::Area::Catalog.wildcard())
            .await
            .unwrap()
            .into_iter()
            .map(|stored| stored.envelope.event)
            .collect()
    }

    /// `admin` logs in through a link from the bot.
    pub async fn log_in(&self, admin: i64) -> Session {
        let link = self.link_from_bot(admin).await;
        self.log_in_with(&link).await
    }
}

/// The CSRF token a page's forms carry.
pub fn csrf_in(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {page}"))
        + "name=\"csrf\" value=\"".len();
    page[start..start + 64].to_owned()
}

// The content API (`web/tests/api.rs`).

impl Site {
    /// A fresh API token named `name`, made as `remotehunt web token create` makes it, once the
    /// read models know it.
    pub async fn api_token(&self, name: &str) -> String {
        let issued = web::api::tokens::issue(&self.app.bus, &self.app.db.pool, name, None)
            .await
            .unwrap();
        self.users_projected(issued.sequence).await;
        issued.token
    }

    /// Waits until the users projection has applied USERS sequence `sequence`.
    pub async fn users_projected(&self, sequence: u64) {
        let users = projections::Projection::Users;
        let timeout = std::time::Duration::from_secs(10);
        let seen = projections::wait_for(&self.app.db.pool, users.name(), sequence, timeout)
            .await
            .unwrap();
        assert!(seen, "the users projection did not reach {sequence}");
    }

    /// `GET path` (from `/`, e.g. `/api/v1/vacancies`) with `token` as the bearer, if any.
    pub async fn api_get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The client the helpers use (no redirects followed), for requests they don't make.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
