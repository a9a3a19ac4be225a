//! Every event of the product, one file per area. Names are past tense, each type has a version,
//! and a published shape never changes: a new shape is a new version with an upcaster in
//! [`Event::decode`].

mod admin;
mod catalog;
mod classifications;
mod deliveries;
mod jobs;
mod messages;
mod notifications;
mod payments;
mod screening;
mod users;

pub use catalog::*;
pub use classifications::*;
pub use deliveries::*;
pub use jobs::*;
pub use messages::*;
pub use notifications::*;
pub use payments::*;
pub use screening::*;
pub use users::*;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::{Aggregate, Area, DecodeError, EventId};

/// What each event type knows about itself beyond its data.
pub trait Payload {
    fn aggregate(&self) -> Aggregate;

    /// The event's deterministic id where its producer may publish it again (a retry, a
    /// re-import, a second process): the one constructor of that id, so every producer of the
    /// event agrees and `Nats-Msg-Id` dedups. `None`: a fresh UUIDv7 (nobody retries it).
    fn event_id(&self) -> Option<EventId> {
        None
    }

    /// Invariants serde cannot express; an event that breaks one is dead-lettered, not applied.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What the registry knows of one event type, for typed reads: "the latest `T` of this
/// aggregate" is a direct get of `T::AREA.subject(T::NAME, id)`.
pub trait EventType: Payload + Into<Event> + Sized {
    const TYPE: &'static str;
    const AREA: Area;
    /// The event's token in its subject, e.g. `trial_started`.
    const NAME: &'static str;

    /// The event, if `event` is one of this type.
    fn from_event(event: Event) -> Option<Self>;

    /// Where this type's events of `aggregate_id` live.
    fn subject_of(aggregate_id: &str) -> String {
        Self::AREA.subject(Self::NAME, aggregate_id)
    }
}

/// Declares the event registry: the `Event` enum and the per-type facts derived from it.
macro_rules! events {
    ($( $area:ident $name:literal $ty:ident v $version:literal $( (reads $($older:literal)|+) )? $cardinality:ident ),* $(,)?) => {
        /// Any event of the product. Serialises as its data alone; the envelope adds type and
        /// version.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Event {
            $( $ty($ty), )*
        }

        $(
            impl From<$ty> for Event {
                fn from(event: $ty) -> Self {
                    Event::$ty(event)
                }
            }

            impl EventType for $ty {
                const TYPE: &'static str = stringify!($ty);
                const AREA: Area = Area::$area;
                const NAME: &'static str = $name;

                fn from_event(event: Event) -> Option<Self> {
                    match event {
                        Event::$ty(e) => Some(e),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*

        impl Event {
            /// Every event type: (type, version, area, subject name).
            pub const TYPES: &'static [(&'static str, u32, Area, &'static str)] = &[
                $( (stringify!($ty), $version, Area::$area, $name), )*
            ];

            pub fn event_type(&self) -> &'static str {
                match self { $( Event::$ty(_) => stringify!($ty), )* }
            }

            pub fn version(&self) -> u32 {
                match self { $( Event::$ty(_) => $version, )* }
            }

            pub fn area(&self) -> Area {
                match self { $( Event::$ty(_) => Area::$area, )* }
            }

            /// Whether the event's subject may hold only one event ever (a first sighting, a
            /// trial, a payment's success). The bus publishes those with "expected last subject
            /// sequence 0", which makes them idempotent forever, not just within the
            /// duplicate window.
            pub fn once_per_subject(&self) -> bool {
                match self { $( Event::$ty(_) => stringify!($cardinality) == "once", )* }
            }

            /// The event's token in its subject, e.g. `trial_started`.
            pub fn subject_name(&self) -> &'static str {
                match self { $( Event::$ty(_) => $name, )* }
            }

            pub fn aggregate(&self) -> Aggregate {
                match self { $( Event::$ty(e) => e.aggregate(), )* }
            }

            /// See [`Payload::event_id`].
            pub fn event_id(&self) -> Option<EventId> {
                match self { $( Event::$ty(e) => e.event_id(), )* }
            }

            /// `rh.<area>.<event>.<aggregate id>`.
            pub fn subject(&self) -> String {
                self.area().subject(self.subject_name(), &self.aggregate().id)
            }

            pub fn validate(&self) -> Result<(), DecodeError> {
                match self {
                    $( Event::$ty(e) => e.validate().map_err(|reason| DecodeError::Invalid {
                        event_type: stringify!($ty),
                        reason,
                    }), )*
                }
            }

            pub(crate) fn decode(event_type: &str, version: u32, data: &RawValue) -> Result<Event, DecodeError> {
                match event_type {
                    $(
                        stringify!($ty) => {
                            // Older versions this one reads as it is (fields it added have
                            // defaults): the upcaster is serde's.
                            let older: &[u32] = &[$( $($older),+ )?];
                            if version != $version && !older.contains(&version) {
                                return Err(DecodeError::UnknownVersion {
                                    event_type: event_type.to_owned(),
                                    version,
                                });
                            }
                            serde_json::from_str(data.get())
                                .map(Event::$ty)
                                .map_err(|source| DecodeError::Data {
                                    event_type: event_type.to_owned(),
                                    source,
                                })
                        }
                    )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        pub(crate) fn data_schemas() -> Vec<(&'static str, u32, schemars::Schema)> {
            vec![ $( (stringify!($ty), $version, schemars::schema_for!($ty)), )* ]
        }
    };
}

events! {
    Catalog "category_defined" CategoryDefined v 2 (reads 1) many,
    Catalog "category_retired" CategoryRetired v 1 many,
    Catalog "channel_configured" ChannelConfigured v 1 many,
    Catalog "channel_removed" ChannelRemoved v 1 many,
    Catalog "rules_set" ChannelRulesSet v 1 many,
    Catalog "channel_unreadable" ChannelUnreadable v 1 many,
    Catalog "account_added" IngestAccountAdded v 1 many,
    Catalog "account_lost" IngestAccountLost v 1 many,
    Catalog "account_full" IngestAccountFull v 1 many,
    Catalog "channel_assigned" ChannelAssigned v 1 many,
    Messages "received" MessageReceived v 1 once,
    Messages "edited" MessageEdited v 1 many,
    Messages "deleted" MessageDeleted v 1 once,
    Screening "accepted" MessageAccepted v 1 many,
    Screening "rejected" MessageRejected v 1 many,
    Screening "duplicate" DuplicateDetected v 1 once,
    Classifications "classified" MessageClassified v 2 (reads 1) many,
    Classifications "corrected" ClassificationCorrected v 1 many,
    Users "registered" UserRegistered v 2 (reads 1) once,
    Users "categories_chosen" CategoriesChosen v 1 many,
    Users "bot_started" CategoryBotStarted v 2 (reads 1) many,
    Users "bot_stopped" CategoryBotStopped v 2 (reads 1) many,
    Users "trial_started" TrialStarted v 1 once,
    Users "subscription_extended" SubscriptionExtended v 1 many,
    Users "subscription_revoked" SubscriptionRevoked v 1 many,
    Users "author_hidden" AuthorHidden v 1 many,
    Users "author_unhidden" AuthorUnhidden v 1 many,
    Users "vacancy_reported" VacancyReported v 1 once,
    Users "report_resolved" ReportResolved v 1 once,
    Users "report_sent" ReportSentToAdmin v 1 many,
    Users "menu_shown" MainMenuShown v 1 many,
    Users "time_zone_chosen" TimeZoneChosen v 1 many,
    Users "admin_login_issued" AdminLoginLinkIssued v 1 once,
    Users "admin_logged_in" AdminLoggedIn v 1 once,
    Users "api_token_issued" ApiTokenIssued v 1 once,
    Users "api_token_revoked" ApiTokenRevoked v 1 once,
    Payments "created" PaymentCreated v 1 once,
    Payments "succeeded" PaymentSucceeded v 1 once,
    Payments "canceled" PaymentCanceled v 1 once,
    Payments "refunded" PaymentRefunded v 1 many,
    Payments "stars_subscription_charged" StarsSubscriptionCharged v 1 many,
    Payments "stars_subscription_edited" StarsSubscriptionEdited v 1 many,
    Deliveries "planned" DeliveryPlanned v 2 (reads 1) many,
    Deliveries "claimed" DeliveryClaimed v 1 once,
    Deliveries "delivered" VacancyDelivered v 2 (reads 1) once,
    Deliveries "failed" DeliveryFailed v 1 many,
    Deliveries "unconfirmed" DeliveryUnconfirmed v 1 once,
    Deliveries "withdrawal_planned" DeliveryWithdrawalPlanned v 2 (reads 1) once,
    Deliveries "withdrawn" DeliveryWithdrawn v 1 once,
    Schedules "tick" JobTick v 1 many,
    Jobs "started" JobRunStarted v 1 once,
    Jobs "finished" JobRunFinished v 1 once,
    Notifications "planned" NotificationPlanned v 1 once,
    Notifications "claimed" NotificationClaimed v 1 once,
    Notifications "sent" NotificationSent v 1 once,
    Notifications "failed" NotificationFailed v 1 once,
    Notifications "unconfirmed" NotificationUnconfirmed v 1 once,
}

/// Checks a catalog slug: lower-case ASCII letters, digits, `-` and `_`, 1–32 characters, so it
/// fits in subjects, callback data and URLs unchanged.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= 32
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("bad slug {slug:?}: use 1-32 of a-z 0-9 - _"))
    }
}
