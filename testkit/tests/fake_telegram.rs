//! The fake Bot API driven by teloxide, the client our bots use: long polling, messages with
//! HTML and inline keyboards, buttons, edits, photos (multipart uploads), channel posts,
//! Telegram's errors and limits.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::{Duration, Instant};

use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode, Recipient,
    UpdateKind,
};
use testkit::FakeTelegram;
use testkit::telegram::Limits;

const TOKEN: &str = "1001:design-secret";
const USER: i64 = 42;

async fn bot() -> (FakeTelegram, Bot) {
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(TOKEN, "rh_design_bot");
    let bot = Bot::new(TOKEN).set_api_url(url::Url::parse(fake.url()).unwrap());
    (fake, bot)
}

#[tokio::test]
async fn a_conversation_over_long_polling() {
    // given a bot and a user
    let (fake, bot) = bot().await;
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username(), "rh_design_bot");
    bot.set_my_commands([BotCommand::new("start", "Начать")])
        .await
        .unwrap();
    assert_eq!(fake.commands("rh_design_bot")[0]["command"], "start");

    // when the bot long-polls and the user writes /start half a second later
    let polling = {
        let bot = bot.clone();
        tokio::spawn(async move { bot.get_updates().timeout(5).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    fake.user_says("@rh_design_bot", USER, "/start design")
        .unwrap();
    let updates = polling.await.unwrap();
    // then the poll returns at once with the command, parsed by teloxide
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(updates.len(), 1);
    let UpdateKind::Message(message) = &updates[0].kind else {
        panic!("{updates:?}")
    };
    assert_eq!(message.text(), Some("/start design"));
    assert_eq!(message.chat.id, ChatId(USER));

    // when the bot answers with HTML and a button, and the user presses it
    let keyboard =
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Скрыть автора", "hide:id:5")]]);
    let sent = bot
        .send_message(
            ChatId(USER),
            "<b>Дизайнер</b> &amp; <a href=\"https://t.me/jobs/1\">пост</a>",
        )
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard)
        .await
        .unwrap();
    assert_eq!(sent.text(), Some("Дизайнер & пост"));
    fake.press("rh_design_bot", USER, sent.id.0 as i64, "hide:id:5")
        .unwrap();
    // then the bot gets the callback after confirming the first update
    let next = bot
        .get_updates()
        .offset(updates[0].id.0 as i32 + 1)
        .timeout(1)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    let UpdateKind::CallbackQuery(query) = &next[0].kind else {
        panic!("{next:?}")
    };
    assert_eq!(query.data.as_deref(), Some("hide:id:5"));
    bot.answer_callback_query(query.id.clone())
        .text("Автор скрыт")
        .await
        .unwrap();
    assert_eq!(
        fake.callback_answers("rh_design_bot")[0]["text"],
        "Автор скрыт"
    );

    // and edits and deletions show in what the user's chat holds
    bot.edit_message_text(ChatId(USER), sent.id, "Скрыто")
        .await
        .unwrap();
    let in_chat = fake.sent_to("rh_design_bot", USER);
    assert_eq!((in_chat[0].text.as_str(), in_chat[0].edits), ("Скрыто", 1));
    bot.delete_message(ChatId(USER), sent.id).await.unwrap();
    assert!(fake.sent_to("rh_design_bot", USER)[0].deleted);
    // and an empty poll waits out its timeout
    let confirmed = next[0].id.0 as i32 + 1;
    let waited = Instant::now();
    assert!(
        bot.get_updates()
            .offset(confirmed)
            .timeout(1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(waited.elapsed() >= Duration::from_millis(900));
}

fn api_error(error: RequestError) -> ApiError {
    match error {
        RequestError::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn telegrams_errors_in_its_own_format() {
    let (fake, bot) = bot().await;
    // a user who never wrote to the bot cannot be written to
    // (Telegram says "Forbidden: …" today; teloxide's enum still expects the older
    // "Unauthorized: …", so callers must match the description, not the variant)
    let error = bot.send_message(ChatId(USER), "Привет").await.unwrap_err();
    assert_eq!(
        api_error(error),
        ApiError::Unknown("Forbidden: bot can't initiate conversation with a user".into())
    );
    fake.user_says(TOKEN, USER, "/start").unwrap();
    // broken HTML, over-long text and over-long callback data are refused
    let error = bot
        .send_message(ChatId(USER), "<div>x</div>")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap_err();
    assert!(
        api_error(error)
            .to_string()
            .contains("can't parse entities")
    );
    let error = bot
        .send_message(ChatId(USER), "я".repeat(4097))
        .await
        .unwrap_err();
    assert_eq!(api_error(error), ApiError::MessageIsTooLong);
    let long_data =
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("x", "d".repeat(65))]]);
    let error = bot
        .send_message(ChatId(USER), "x")
        .reply_markup(long_data)
        .await
        .unwrap_err();
    assert!(api_error(error).to_string().contains("BUTTON_DATA_INVALID"));
    // a user who blocked the bot answers 403 until they write to it again
    fake.block(TOKEN, USER).unwrap();
    let error = bot.send_message(ChatId(USER), "x").await.unwrap_err();
    assert_eq!(api_error(error), ApiError::BotBlocked);
    fake.user_says(TOKEN, USER, "/start").unwrap();
    bot.send_message(ChatId(USER), "снова здесь").await.unwrap();
    // and a wrong token is unauthorized
    let stranger = Bot::new("no-token").set_api_url(url::Url::parse(fake.url()).unwrap());
    assert!(stranger.get_me().await.is_err());
}

#[tokio::test]
async fn sends_beyond_telegrams_limits_answer_429_with_retry_after() {
    let (fake, bot) = bot().await;
    fake.set_limits(Limits::default());
    for user in 1..=40 {
        fake.user_says(TOKEN, user, "/start").unwrap();
    }
    // a second message to one chat within a second
    bot.send_message(ChatId(1), "первое").await.unwrap();
    match bot.send_message(ChatId(1), "второе").await.unwrap_err() {
        RequestError::RetryAfter(seconds) => assert_eq!(seconds.seconds(), 1),
        other => panic!("expected 429, got {other:?}"),
    }
    // more than 30 messages a second from one bot
    let mut limited = 0;
    for user in 2..=40 {
        if let Err(RequestError::RetryAfter(_)) = bot.send_message(ChatId(user), "вакансия").await
        {
            limited += 1;
        }
    }
    assert_eq!(
        limited,
        39 - 29,
        "30 sends a second, the first one included"
    );
    assert_eq!(fake.too_many_requests("rh_design_bot"), 11);
}

/// The start of a PNG of this size: its signature and IHDR, all the fake reads of it.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(b"\x08\x06\0\0\0");
    bytes
}

#[tokio::test]
async fn photos_upload_as_multipart_and_resend_by_file_id() {
    let (fake, bot) = bot().await;
    fake.set_limits(Limits {
        enabled: false,
        ..Limits::default()
    });
    fake.user_says(TOKEN, USER, "/start").unwrap();
    // when the bot uploads a chart with an HTML caption and a button, as teloxide does it
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Ещё", "more")]]);
    let sent = bot
        .send_photo(
            ChatId(USER),
            InputFile::memory(png(640, 480)).file_name("chart.png"),
        )
        .caption("<b>Отчёт</b> за день")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard)
        .await
        .unwrap();
    // then teloxide reads Telegram's answer: the sizes, the caption, the button
    assert_eq!(sent.caption(), Some("Отчёт за день"));
    let largest = sent.photo().unwrap().last().unwrap().clone();
    assert_eq!((largest.width, largest.height), (640, 480));
    assert!(sent.reply_markup().is_some());
    assert_eq!(sent.from.as_ref().map(|u| u.id.0), Some(1001));
    // and the chat holds the uploaded bytes and the caption as sent
    let in_chat = fake.sent_to("rh_design_bot", USER);
    assert_eq!(in_chat[0].photo.as_deref(), Some(png(640, 480).as_slice()));
    assert_eq!(in_chat[0].text, "<b>Отчёт</b> за день");
    assert_eq!(
        in_chat[0].reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["callback_data"],
        "more"
    );

    // when the bot sends it again by its file_id, it is the same photo
    let again = bot
        .send_photo(ChatId(USER), InputFile::file_id(largest.file.id.clone()))
        .await
        .unwrap();
    assert_eq!(
        again.photo().unwrap().last().unwrap().file.id,
        largest.file.id
    );
    assert_eq!(again.caption(), None);
    assert_eq!(
        fake.sent_to("rh_design_bot", USER)[1].photo,
        in_chat[0].photo
    );

    // and Telegram's refusals come back as it words them
    let not_an_image = bot
        .send_photo(ChatId(USER), InputFile::memory(&b"GIF89a"[..]))
        .await
        .unwrap_err();
    assert_eq!(api_error(not_an_image), ApiError::ImageProcessFailed);
    let unknown_id = bot
        .send_photo(ChatId(USER), InputFile::file_id("AgACunknown".into()))
        .await
        .unwrap_err();
    assert_eq!(api_error(unknown_id), ApiError::WrongFileIdOrUrl);
    let long_caption = bot
        .send_photo(ChatId(USER), InputFile::memory(png(10, 10)))
        .caption("я".repeat(1025))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(long_caption),
        ApiError::Unknown("Bad Request: message caption is too long".into())
    );
    let broken_html = bot
        .send_photo(ChatId(USER), InputFile::memory(png(10, 10)))
        .caption("<div>x</div>")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap_err();
    assert!(
        api_error(broken_html)
            .to_string()
            .contains("can't parse entities")
    );
    // and a user who never started the bot gets no photo either
    let stranger = bot
        .send_photo(ChatId(USER + 1), InputFile::memory(png(10, 10)))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(stranger),
        ApiError::Unknown("Forbidden: bot can't initiate conversation with a user".into())
    );
    assert_eq!(fake.sent_to("rh_design_bot", USER).len(), 2);
}

#[tokio::test]
async fn channel_posts_come_from_the_channel_about_twenty_a_minute() {
    const CHANNEL: i64 = -1_001_234_567_890;
    let (fake, bot) = bot().await;
    fake.create_channel(CHANNEL, "rh_jobs", "Вакансии");
    let by_username = || Recipient::ChannelUsername("@rh_jobs".into());
    // a bot that is no admin of the channel may not post there
    let error = bot.send_message(by_username(), "x").await.unwrap_err();
    assert_eq!(
        api_error(error),
        ApiError::Unknown("Forbidden: bot is not a member of the channel chat".into())
    );
    // when it is made an admin, it posts by @username and by id, back to back
    fake.make_channel_admin("rh_design_bot", CHANNEL).unwrap();
    let post = bot
        .send_message(by_username(), "<b>Вакансии дня</b>")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap();
    let chart = bot
        .send_photo(ChatId(CHANNEL), InputFile::memory(png(800, 600)))
        .caption("График")
        .await
        .unwrap();
    // then teloxide reads channel posts: the channel is the chat and the sender, no `from`
    assert_eq!(post.chat.id, ChatId(CHANNEL));
    assert!(post.chat.is_channel());
    assert_eq!(post.chat.username(), Some("rh_jobs"));
    assert_eq!(post.chat.title(), Some("Вакансии"));
    assert!(post.from.is_none());
    assert_eq!(
        post.sender_chat.as_ref().map(|c| c.id),
        Some(ChatId(CHANNEL))
    );
    assert_eq!(chart.caption(), Some("График"));
    // and the channel holds both posts, the chart with its bytes
    let posts = fake.sent_to("rh_design_bot", CHANNEL);
    assert_eq!(posts.len(), 2);
    assert_eq!(
        (posts[0].text.as_str(), posts[0].photo.is_none()),
        ("<b>Вакансии дня</b>", true)
    );
    assert_eq!(posts[1].photo.as_deref(), Some(png(800, 600).as_slice()));
    // and unknown channels are not found
    for unknown in [
        Recipient::ChannelUsername("@nobody".into()),
        Recipient::Id(ChatId(-1_009_999_999_999)),
    ] {
        let error = bot.send_message(unknown, "x").await.unwrap_err();
        assert_eq!(api_error(error), ApiError::ChatNotFound);
    }
    // and past 20 posts within a minute, the channel's limit answers 429 until the minute is over
    for n in 3..=20 {
        bot.send_message(ChatId(CHANNEL), format!("пост {n}"))
            .await
            .unwrap();
    }
    match bot.send_message(ChatId(CHANNEL), "21").await.unwrap_err() {
        RequestError::RetryAfter(seconds) => assert!(seconds.seconds() > 50, "{seconds:?}"),
        other => panic!("expected 429, got {other:?}"),
    }
}
