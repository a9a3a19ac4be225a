//! Cards as Telegram will parse them: hostile texts never break the HTML, long posts fit the
//! limit with a link to the original, callback data stays within 64 bytes and forged data is
//! refused.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use chrono::Utc;
use fanout::card::{CardAction, MAX_TEXT, render};
use schemas::{
    Budget, Classifier, MessageClassified, MessageKey, MessageReceived, MessageSource, PayPeriod,
    PostKind, RankedCategory,
};
use testkit::telegram::html::plain_text;

fn post(text: &str, title: Option<&str>) -> (MessageReceived, MessageClassified) {
    let key = MessageKey::new(-1_001_234_567_890, 2_147_483_647);
    let message = MessageReceived {
        key,
        chat_username: Some("design_jobs".into()),
        chat_title: Some("Дизайн <&> \"вакансии\"".into()),
        posted_at: Utc::now(),
        text: text.into(),
        links: vec![],
        has_media: false,
        author: Default::default(),
        contacts: vec!["@studio_<lena>".into()],
        link: Some("https://t.me/design_jobs/2147483647?a=1&b=\"2\"".into()),
        source: MessageSource::Live,
    };
    let classified = MessageClassified {
        key,
        kind: PostKind::Vacancy,
        categories: vec![RankedCategory {
            slug: "design".into(),
            score: 0.9,
        }],
        confidence: 0.9,
        classifier: Classifier::Local,
        model: "m".into(),
        prompt_version: None,
        tokens: None,
        latency_ms: 0,
        budget: Some(Budget {
            amount: 150_000,
            currency: "RUB".into(),
            period: PayPeriod::Month,
        }),
        remote: Some(true),
        contacts: vec![],
        title: title.map(str::to_owned),
    };
    (message, classified)
}

#[test]
fn hostile_texts_never_break_telegrams_html() {
    let hostile = [
        "<script>alert(1)</script>",
        "a < b && c > d",
        "&nbsp; &lt; &#x110000; &unknown;",
        "<b>не закрыт",
        "</i></b>",
        "<a href=\"javascript:x\">клик</a>",
        "\"quotes\" 'single' `back`",
        "🔥👩‍💻 эмодзи и \u{0}нулевой символ",
    ];
    for text in hostile {
        let (message, classified) = post(text, Some(text));
        let card = render(&message, &classified);
        let shown =
            plain_text(&card.html).unwrap_or_else(|e| panic!("{text:?}: {e}\n{}", card.html));
        assert!(shown.contains(text), "{text:?} lost in {shown:?}");
        assert!(shown.contains("150\u{a0}000 ₽ в месяц") && shown.contains("Удалённо"));
        assert!(shown.contains("Дизайн <&> \"вакансии\"") && shown.contains("@studio_<lena>"));
    }
}

#[test]
fn a_long_post_is_shortened_to_fit_with_a_link_to_the_original() {
    for unit in ["а", "🔥", "<&>"] {
        let text = unit.repeat(5_000);
        let (message, classified) = post(&text, Some("Заголовок"));
        let card = render(&message, &classified);
        let shown = plain_text(&card.html).unwrap();
        assert!(
            shown.encode_utf16().count() <= MAX_TEXT,
            "{unit}: {}",
            shown.encode_utf16().count()
        );
        assert!(
            shown.encode_utf16().count() > MAX_TEXT - 200,
            "{unit}: uses the room"
        );
        assert!(shown.contains("читать полностью"));
    }
    let (message, classified) = post("Короткий пост", None);
    let shown = plain_text(&render(&message, &classified).html).unwrap();
    assert!(!shown.contains("читать полностью"));
}

#[test]
fn callback_data_round_trips_within_64_bytes_and_forgeries_are_refused() {
    let (message, classified) = post("x", None);
    let card = render(&message, &classified);
    for button in &card.buttons {
        assert!((1..=64).contains(&button.callback_data.len()));
        assert!(CardAction::parse(&button.callback_data).is_some());
    }
    assert_eq!(
        CardAction::parse(&card.buttons[1].callback_data),
        Some(CardAction::HideAuthor(message.key))
    );
    for forged in [
        "",
        "x:1:2",
        "h:abc:2",
        "h:1",
        &format!("h:1:{}", "9".repeat(70)),
        "r:1:2:3",
    ] {
        assert_eq!(CardAction::parse(forged), None, "{forged:?}");
    }
}
