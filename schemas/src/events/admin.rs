//! Which events are an admin's actions: the audit log is every event this names an admin for.

use super::{Event, ExtensionSource, JobTrigger};

impl Event {
    /// The admin whose action this event records, if it is one: a catalog change made in the
    /// web UI, a grant, a report's verdict, a correction, a refund, a manual job run, a login,
    /// an API token issued or revoked.
    pub fn acting_admin(&self) -> Option<i64> {
        match self {
            Event::CategoryDefined(e) => e.admin_id,
            Event::CategoryRetired(e) => e.admin_id,
            Event::ChannelConfigured(e) => e.admin_id,
            Event::ChannelRemoved(e) => e.admin_id,
            Event::ChannelRulesSet(e) => e.admin_id,
            Event::ClassificationCorrected(e) => Some(e.admin_id),
            Event::SubscriptionExtended(e) => match &e.source {
                ExtensionSource::Grant { admin_id, .. } => Some(*admin_id),
                ExtensionSource::Payment { .. } => None,
            },
            Event::ReportResolved(e) => Some(e.admin_id),
            Event::AdminLoginLinkIssued(e) => Some(e.admin_id),
            Event::AdminLoggedIn(e) => Some(e.admin_id),
            Event::PaymentRefunded(e) => e.admin_id,
            Event::ApiTokenIssued(e) => e.admin_id,
            Event::ApiTokenRevoked(e) => e.admin_id,
            Event::JobRunStarted(e) => match &e.trigger {
                JobTrigger::Manual { who } => who.strip_prefix("admin:")?.parse().ok(),
                JobTrigger::Schedule => None,
            },
            _ => None,
        }
    }
}
