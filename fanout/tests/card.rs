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
        llm_unavailable: None,
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
    // every action, at the longest key Telegram can give, round-trips within the limit
    let key = schemas::MessageKey::new(-1_009_999_999_999, i64::from(i32::MAX));
    for action in [
        CardAction::Report(key),
        CardAction::ReportAs(key, schemas::ReportReason::NotVacancy),
        CardAction::ReportAs(key, schemas::ReportReason::WrongCategory),
        CardAction::CancelReport(key),
        CardAction::HideAuthor(key),
        CardAction::UndoHide(key),
        CardAction::HideChannel(key),
    ] {
        let data = action.callback_data();
        assert!(data.len() <= 64, "{data}");
        assert_eq!(CardAction::parse(&data), Some(action));
    }
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

#[test]
fn the_title_is_never_read_twice() {
    // given a post whose first line is its title, and one whose title is that line cut short
    let (message, classified) = post(
        "Ищем дизайнера логотипа!\nБюджет 5000, сроки — неделя.",
        Some("Ищем дизайнера логотипа"),
    );
    let shown = plain_text(&render(&message, &classified).html).unwrap();
    // then the title is shown once, in bold, and the body goes on with the rest
    assert_eq!(
        shown.matches("Ищем дизайнера логотипа").count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("Бюджет 5000"), "{shown}");
    let (message, classified) = post(
        "Ищем дизайнера логотипа для кофейни в Казани\nБюджет 5000",
        Some("Ищем дизайнера логотипа для"),
    );
    let card = render(&message, &classified);
    assert!(
        card.html
            .starts_with("<b>Ищем дизайнера логотипа для кофейни в Казани</b>"),
        "{}",
        card.html
    );
    let shown = plain_text(&card.html).unwrap();
    assert_eq!(shown.matches("Ищем дизайнера").count(), 1, "{shown}");
    // and a title the text does not start with stays above the whole text
    let (message, classified) = post("Нужен логотип.", Some("Логотип для кофейни"));
    let shown = plain_text(&render(&message, &classified).html).unwrap();
    assert!(shown.contains("Логотип для кофейни") && shown.contains("Нужен логотип."));
}

#[test]
fn a_first_line_with_a_link_never_becomes_the_title() {
    // given a post whose first line is a role and a link, titled without the link
    let (message, classified) = post(
        "Junior .NET Developer в Aviasales: https://www.aviasales.ru/about/vacancies/1\nУдалённо",
        Some("Junior .NET Developer в Aviasales"),
    );
    let card = render(&message, &classified);
    // then the bold title is the extracted one, and the link stays in the text below it
    assert!(
        card.html
            .starts_with("<b>Junior .NET Developer в Aviasales</b>"),
        "{}",
        card.html
    );
    assert!(
        plain_text(&card.html)
            .unwrap()
            .contains("https://www.aviasales.ru/about/vacancies/1")
    );
}

#[test]
fn a_long_post_is_cut_at_a_word_never_inside_a_word_or_a_link() {
    for unit in ["слово ", "https://example.com/jobs/designer?id=42 "] {
        // given a long post of whole words (or links)
        let (message, classified) = post(&unit.repeat(1_500), None);
        let card = render(&message, &classified);
        let shown = plain_text(&card.html).unwrap();
        // then what is kept ends with a whole one, right before the «…»
        let kept = shown.split("… читать полностью").next().unwrap();
        assert!(kept.ends_with(unit.trim_end()), "{unit}: {kept}");
        assert!(shown.encode_utf16().count() <= MAX_TEXT);
    }
}

#[test]
fn a_card_links_the_original_post() {
    let (message, classified) = post("Нужен дизайнер", None);
    let card = render(&message, &classified);
    assert_eq!(card.link, message.link);
    let keyboard = fanout::card::keyboard(&card.buttons, card.link.as_deref());
    assert_eq!(keyboard.inline_keyboard[0][0].text, "🔗 Открыть пост");
    assert_eq!(keyboard.inline_keyboard.len(), 1 + card.buttons.len());
}

#[test]
fn a_title_cut_from_a_long_first_line_becomes_its_first_sentence() {
    // given a one-line post longer than a title, whose extracted title is its start
    let text = "Вакансия: нужен Python-разработчик для Telegram-бота магазина, оплата 40 000 ₽ за \
                проект. ТЗ по ссылке, срок — две недели, пишите в личные сообщения, отвечу всем.";
    let (message, classified) = post(text, Some("Вакансия: нужен Python-разраб"));
    let card = render(&message, &classified);
    // then the title is the first sentence, whole words, and the body goes on after it
    assert!(
        card.html.starts_with(
            "<b>Вакансия: нужен Python-разработчик для Telegram-бота магазина, оплата 40 000 ₽ за проект.</b>"
        ),
        "{}",
        card.html
    );
    let shown = plain_text(&card.html).unwrap();
    assert_eq!(shown.matches("Python-разработчик").count(), 1, "{shown}");
    assert!(shown.contains("ТЗ по ссылке"), "{shown}");
}
