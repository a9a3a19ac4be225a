//! The admin web UI in a real browser (Debian's chromium, headless, phone-sized, through
//! chromedriver over WebDriver): log in with the link from the main bot, see the dashboard,
//! confirm a report whose hostile text must not run, grant days, replay a dead letter. Each page's screenshot is
//! saved under `target/web-screenshots/`.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod support;

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use schemas::{Event, MessageKey};
use support::{ADMIN, open_site};

/// A chromedriver of the test's own, stopped when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

async fn start_driver() -> Driver {
    let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let process = tokio::process::Command::new(&binary)
        .arg(format!("--port={port}"))
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{binary}: {e} — install chromium and chromium-driver (scripts/dev test does)")
        });
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Driver {
                _process: process,
                url,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not come up on {url}");
}

async fn browser(driver: &Driver) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=412,915"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

async fn screenshot(client: &Client, name: &str) {
    let folder = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("web-screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}

/// Waits until the page's text contains `text`.
async fn wait_for_text(client: &Client, text: &str) {
    for _ in 0..100 {
        if client.source().await.unwrap().contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the page never showed {text:?}: {}",
        client.source().await.unwrap()
    );
}

#[tokio::test]
async fn an_admin_logs_in_from_the_bot_judges_a_report_and_grants_days_in_a_browser() {
    // given a subscriber who reported a post with a script in it, and a browser
    let site = open_site().await;
    let key = MessageKey::new(-1001900000003, 77);
    let hostile = "Нужен верстальщик <script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> <a href=\"javascript:window.__xss=3\">тык</a>";
    let report_id = site.given_a_report(key, hostile).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;

    // when the admin opens the link the main bot sent and presses «Войти»
    let link = site.link_from_bot(ADMIN).await;
    client.goto(&link).await.unwrap();
    screenshot(&client, "login").await;
    client
        .find(Locator::XPath("//button[text()='Войти']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the dashboard opens
    wait_for_text(&client, "Жалоб ждут решения").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/");
    screenshot(&client, "dashboard").await;

    // when they open the reports
    client.goto(&format!("{}/reports", site.url)).await.unwrap();
    wait_for_text(&client, "не вакансия").await;
    screenshot(&client, "reports").await;
    // then the post's script and handlers did not run, and show as text
    let xss = client
        .execute("return window.__xss === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(xss, serde_json::json!(true), "a post's script ran");
    let post = client
        .find(Locator::Css(".post"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(post.contains("<script>window.__xss=1</script>"), "{post}");

    // when they confirm the report
    client
        .find(Locator::Css("button[value=confirmed]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the page says so, and the decision is an event naming the admin
    wait_for_text(&client, "Жалоба подтверждена").await;
    screenshot(&client, "report-confirmed").await;
    let subject = format!("rh.users.report_resolved.{}", report_id.replace(':', "."));
    let decided = site.app.bus.read_subject(&subject).await.unwrap();
    assert!(
        matches!(&decided[..], [one] if matches!(&one.envelope.event, Event::ReportResolved(r) if r.admin_id == ADMIN))
    );

    // when they grant the reporter 5 days
    client
        .goto(&format!("{}/users/808", site.url))
        .await
        .unwrap();
    let days = client.find(Locator::Css("input[name=days]")).await.unwrap();
    days.clear().await.unwrap();
    days.send_keys("5").await.unwrap();
    client
        .find(Locator::Css("input[name=reason]"))
        .await
        .unwrap()
        .send_keys("спасибо за жалобу")
        .await
        .unwrap();
    client
        .find(Locator::XPath("//button[text()='Добавить']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the page says so, and the grant is recorded
    wait_for_text(&client, "Дни добавлены").await;
    screenshot(&client, "user-granted").await;
    let granted = site
        .app
        .bus
        .read_subject("rh.users.subscription_extended.808")
        .await
        .unwrap();
    assert_eq!(granted.len(), 1);

    // when a consumer gave up on an event and the admin hands it back
    let letter = site.given_a_dead_letter(1, "LLM 500").await;
    client
        .goto(&format!("{}/dead-letters", site.url))
        .await
        .unwrap();
    wait_for_text(&client, "LLM 500").await;
    screenshot(&client, "dead-letters").await;
    client
        .find(Locator::XPath("//button[contains(., 'Отправить обратно')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the page says so, and the replay is recorded with the admin as its operator
    wait_for_text(&client, "Отправлено обратно").await;
    let letters = site.app.bus.dead_letters().await.unwrap();
    let handled = letters.iter().find(|l| l.dlq_sequence == letter).unwrap();
    assert_eq!(
        handled.handled.as_ref().unwrap().operator,
        format!("admin:{ADMIN}")
    );

    // when they open a channel's rules, forbid «резюме» and test them on its stored posts
    site.given_a_channel(
        -100_124,
        &["Вакансия: нужен дизайнер", "Резюме: дизайнер ищет работу"],
    )
    .await;
    client
        .goto(&format!("{}/channels", site.url))
        .await
        .unwrap();
    wait_for_text(&client, "-100124").await;
    screenshot(&client, "channels").await;
    client
        .goto(&format!("{}/channels/-100124/rules", site.url))
        .await
        .unwrap();
    client
        .find(Locator::Css("textarea[name=forbid]"))
        .await
        .unwrap()
        .send_keys("резюме")
        .await
        .unwrap();
    client
        .find(Locator::XPath("//button[contains(., 'Проверить')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the backtest shows the resume would stop passing
    wait_for_text(&client, "Перестанут проходить — 1").await;
    screenshot(&client, "rules-backtest").await;
    // when they save the rules they saw tested
    client
        .find(Locator::Id("save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // then the page says so, and the change is a ChannelRulesSet naming the admin
    wait_for_text(&client, "Правила сохранены").await;
    let saved = site.catalog_events().await;
    assert!(saved.iter().any(|e| matches!(e,
        Event::ChannelRulesSet(set) if set.admin_id == Some(ADMIN) && set.rules.forbid == ["резюме"])));
    // and the audit log lists it
    testkit::eventually("the rules change in the audit log", async || {
        client.goto(&format!("{}/audit", site.url)).await.unwrap();
        client.source().await.unwrap().contains("правила изменены")
    })
    .await;
    screenshot(&client, "audit").await;
    client
        .goto(&format!("{}/categories", site.url))
        .await
        .unwrap();
    screenshot(&client, "categories").await;
    client.close().await.unwrap();
}
