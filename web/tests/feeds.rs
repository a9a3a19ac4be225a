//! Subscribers' personal Atom feeds: the URL «Моя подписка» shows serves the newest vacancies
//! of a chosen category while access runs, and nothing to anyone else.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod support;

use schemas::MessageKey;
use support::{FEED_SECRET, open_site};
use testkit::eventually;

const SUBSCRIBER: i64 = 909;

#[tokio::test]
async fn a_subscriber_reads_their_category_feed_while_access_runs() {
    // given a subscriber of design on a trial, and a design vacancy with markup in it
    let site = open_site().await;
    let mut events =
        testkit::events::categories(&[("design", "Дизайн"), ("development", "Разработка")]);
    events.extend(testkit::events::subscriber(SUBSCRIBER, &["design"], 3));
    events.extend(testkit::events::vacancy(
        MessageKey::new(-100_555, 7),
        "Нужен дизайнер <b>логотипа</b> & визиток",
        "HR",
        &["design"],
    ));
    events.extend(testkit::events::vacancy(
        MessageKey::new(-100_555, 8),
        "Нужен бэкендер на Go",
        "HR",
        &["development"],
    ));
    site.app.given(&events).await;

    // when they open «Моя подписка» in the main bot
    site.telegram
        .user_says("rh_main_bot", SUBSCRIBER, "/subscription")
        .unwrap();
    eventually("the subscription screen", async || {
        site.telegram
            .sent_to("rh_main_bot", SUBSCRIBER)
            .iter()
            .any(|sent| sent.text.contains("/feeds/"))
    })
    .await;
    let screen = site
        .telegram
        .sent_to("rh_main_bot", SUBSCRIBER)
        .into_iter()
        .find(|sent| sent.text.contains("/feeds/"))
        .unwrap();
    let start = screen.text.find(&site.url).unwrap();
    let url = screen.text[start..].split('"').next().unwrap().to_owned();
    assert!(url.ends_with("/design.atom"), "{url}");
    let path = url.replacen(&site.url, "", 1);

    // then the feed is Atom with the design vacancy, escaped, and not the other category's
    let feed = site.get(&path, None).await;
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = feed.text().await.unwrap();
    let parsed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
    assert_eq!(parsed.entries.len(), 1, "{xml}");
    let entry = &parsed.entries[0];
    assert_eq!(
        entry.content.as_ref().unwrap().value.as_deref(),
        Some("Нужен дизайнер <b>логотипа</b> & визиток")
    );
    assert_eq!(entry.links[0].href, "https://t.me/jobs_channel/7");
    assert!(!xml.contains("<b>логотипа"), "{xml}");

    // and a category they did not choose, a forged token and another user's id are refused
    let other = path.replace("/design.atom", "/development.atom");
    assert_eq!(site.get(&other, None).await.status(), 404);
    let token = path.split('/').nth(3).unwrap().to_owned();
    let forged = path.replace(&token, &"0".repeat(token.len()));
    assert_eq!(site.get(&forged, None).await.status(), 404);
    let someone_else = path.replace(&format!("/{SUBSCRIBER}/"), "/808/");
    assert_eq!(site.get(&someone_else, None).await.status(), 404);

    // when a subscriber whose trial is over asks for their own feed
    let lapsed = 910;
    site.app
        .given(&testkit::events::subscriber(lapsed, &["design"], -1))
        .await;
    let public_url = url::Url::parse(&format!("{}/", site.url)).unwrap();
    let their_url = bots::feeds::FeedLinks::new(public_url, FEED_SECRET).url(lapsed, "design");
    // then it is not served
    let ended = site.get(&their_url.replacen(&site.url, "", 1), None).await;
    assert_eq!(ended.status(), 403);
    assert!(ended.text().await.unwrap().contains("не активна"));
}
