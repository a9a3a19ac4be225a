//! The audience of a vacancy from read models built by the real projectors over real NATS
//! and Postgres.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use chrono::{Duration, Utc};
use fanout::audience::{Vacancy, audience};
use fanout::subscribers::candidates;
use projections::{Config, Projection};
use schemas::{
    AuthorHidden, CategoriesChosen, CategoryBotStarted, CategoryBotStopped, Envelope, MessageKey,
    TrialStarted, UserRegistered, VacancyDelivered,
};

#[tokio::test]
async fn the_audience_comes_from_the_read_models() {
    // given users in different states, as their events say
    let testkit::App { bus, db, .. } = testkit::App::without_projectors().await;
    let now = Utc::now();
    let original = MessageKey::new(-1_001_000_000_001, 7);
    let mut events = Vec::new();
    for (user, trial_days, categories, bots) in [
        (1, 2, vec!["design"], vec!["design"]),     // gets it
        (2, 2, vec!["design", "smm"], vec!["smm"]), // through smm
        (3, -1, vec!["design"], vec!["design"]),    // trial over
        (4, 2, vec!["texts"], vec!["texts"]),       // other category
        (5, 2, vec!["design"], vec!["design"]),     // hid the author
        (6, 2, vec!["design"], vec!["design"]),     // already received it
        (7, 2, vec!["design"], vec!["design"]),     // stopped the bot
    ] {
        events.push(Envelope::new(UserRegistered {
            user_id: user,
            username: None,
            first_name: format!("U{user}"),
            language_code: None,
            source: None,
        }));
        events.push(Envelope::new(TrialStarted {
            user_id: user,
            starts_at: now - Duration::days(3),
            ends_at: now + Duration::days(trial_days),
        }));
        events.push(Envelope::new(CategoriesChosen {
            user_id: user,
            categories: categories.iter().map(|c| c.to_string()).collect(),
        }));
        for bot in bots {
            // user 1 is on design's second bot, 77
            events.push(Envelope::new(CategoryBotStarted {
                user_id: user,
                category: bot.into(),
                bot_id: (user == 1 && bot == "design").then_some(77),
            }));
        }
    }
    events.push(Envelope::new(AuthorHidden {
        user_id: 5,
        author: "@boss".into(),
    }));
    events.push(Envelope::new(VacancyDelivered {
        user_id: 6,
        key: original,
        category: "design".into(),
        sent_message_id: 1,
        delivered_at: now,
        bot_id: None,
    }));
    events.push(Envelope::new(CategoryBotStopped {
        user_id: 7,
        category: "design".into(),
        reason: schemas::BotStopReason::Blocked,
        bot_id: None,
    }));
    // a stop from a design bot user 1 is not on changes nothing
    events.push(Envelope::new(CategoryBotStopped {
        user_id: 1,
        category: "design".into(),
        reason: schemas::BotStopReason::Blocked,
        bot_id: Some(78),
    }));
    bus.publish_batch(&events).await.unwrap();
    let config = Config::new(db.url.clone());
    for projection in [Projection::Users, Projection::Deliveries] {
        projections::catch_up(&bus, &db.pool, projection, &config)
            .await
            .unwrap();
    }

    // when a design/smm vacancy by @boss is fanned out
    let categories = vec!["design".to_string(), "smm".to_string()];
    let subscribers = candidates(&db.pool, &categories, original, now)
        .await
        .unwrap();
    let vacancy = Vacancy {
        original: original.id(),
        categories,
        author: Some("@boss".into()),
    };
    // then users 1 and 2 get it, through the right bots
    let mut got: Vec<(i64, String, Option<i64>)> =
        audience(&vacancy, &subscribers, now, &Default::default())
            .into_iter()
            .map(|r| (r.user_id, r.category, r.bot_id))
            .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (1, "design".to_string(), Some(77)),
            (2, "smm".to_string(), None)
        ]
    );
}
