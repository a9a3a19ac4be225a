//! Ready-made event histories for tests and benchmarks: the catalog's categories; a subscriber
//! who signed up, chose categories and started their bots; a post received and classified as a
//! vacancy.

use chrono::{Duration, Utc};
use schemas::{
    Author, CategoriesChosen, CategoryBotStarted, CategoryDefined, Classifier, Envelope,
    MessageAccepted, MessageClassified, MessageKey, MessageReceived, MessageSource, PostKind,
    RankedCategory, TrialStarted, UserRegistered,
};

/// The categories `(slug, name)`, in pickers in the order given (from 1).
pub fn categories(categories: &[(&str, &str)]) -> Vec<Envelope> {
    categories
        .iter()
        .zip(1..)
        .map(|((slug, name), order)| {
            Envelope::new(CategoryDefined {
                slug: (*slug).into(),
                name: (*name).into(),
                order,
                paid_first: false,
                admin_id: None,
            })
        })
        .collect()
}

/// A user on a trial of `trial_days` (negative: over) who chose `categories` and started each
/// category's bot.
pub fn subscriber(user_id: i64, categories: &[&str], trial_days: i64) -> Vec<Envelope> {
    let now = Utc::now();
    let mut events = vec![
        Envelope::with_id(
            format!("tg:user:{user_id}:registered"),
            UserRegistered {
                user_id,
                username: Some(format!("user{user_id}")),
                first_name: format!("User {user_id}"),
                language_code: Some("ru".into()),
                source: None,
            },
        ),
        Envelope::with_id(
            format!("tg:user:{user_id}:trial"),
            TrialStarted {
                user_id,
                starts_at: now - Duration::days(1),
                ends_at: now + Duration::days(trial_days),
            },
        ),
        Envelope::new(CategoriesChosen {
            user_id,
            categories: categories.iter().map(|c| c.to_string()).collect(),
        }),
    ];
    for category in categories {
        events.push(Envelope::new(CategoryBotStarted {
            user_id,
            category: category.to_string(),
            bot_id: None,
        }));
    }
    events
}

/// A post in a channel, posted now by `signature`, and its classification as a vacancy of
/// `categories` (most likely first).
pub fn vacancy(key: MessageKey, text: &str, signature: &str, categories: &[&str]) -> Vec<Envelope> {
    let received = MessageReceived {
        key,
        chat_username: Some("jobs_channel".into()),
        chat_title: Some("Вакансии".into()),
        posted_at: Utc::now(),
        text: text.into(),
        links: Vec::new(),
        has_media: false,
        author: Author {
            user_id: None,
            username: None,
            signature: Some(signature.into()),
        },
        contacts: Vec::new(),
        link: Some(format!("https://t.me/jobs_channel/{}", key.message_id)),
        source: MessageSource::Live,
    };
    let classified = MessageClassified {
        key,
        kind: PostKind::Vacancy,
        categories: categories
            .iter()
            .map(|slug| RankedCategory {
                slug: slug.to_string(),
                score: 0.9,
            })
            .collect(),
        confidence: 0.9,
        classifier: Classifier::Local,
        model: "fixture".into(),
        prompt_version: None,
        tokens: None,
        latency_ms: 0,
        budget: None,
        remote: Some(true),
        contacts: Vec::new(),
        title: Some("Вакансия".into()),
        llm_unavailable: None,
    };
    vec![
        Envelope::with_id(key.event_id(), received),
        Envelope::with_id(format!("{}:classified:fixture", key.id()), classified),
    ]
}

/// A post the global rules accepted, as screening records it.
pub fn accepted(key: MessageKey) -> Envelope {
    Envelope::with_id(
        format!("screen:{}", key.id()),
        MessageAccepted {
            key,
            rule: "require_any:ваканс*".into(),
            scope: "global".into(),
        },
    )
}
