//! Subscribers' reports of posts, for the admins' verdict buttons and the tests.

use sqlx::PgPool;

/// A report as the admins judge it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Report {
    /// Who reported it.
    pub user_id: i64,
    /// The reported post.
    pub chat_id: i64,
    pub message_id: i64,
    /// The category whose bot delivered it, when reported from one.
    pub category: Option<String>,
    /// `schemas::ReportReason` as stored, e.g. `not_vacancy`.
    pub reason: String,
    /// The verdict, once an admin gave one.
    pub resolution: Option<String>,
}

/// The report; `None` when there is no such report.
pub async fn find(pool: &PgPool, report_id: &str) -> sqlx::Result<Option<Report>> {
    sqlx::query_as::<_, Report>(
        "SELECT user_id, chat_id, message_id, category, reason, resolution FROM reports WHERE report_id = $1",
    )
    .bind(report_id)
    .fetch_optional(pool)
    .await
}

/// Whether the read model holds the report.
pub async fn exists(pool: &PgPool, report_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM reports WHERE report_id = $1)")
        .bind(report_id)
        .fetch_one(pool)
        .await
}

/// Each admin's copy of the report: (admin, message id).
pub async fn copies(pool: &PgPool, report_id: &str) -> sqlx::Result<Vec<(i64, i32)>> {
    sqlx::query_as::<_, (i64, i32)>(
        "SELECT admin_id, message_id FROM report_copies WHERE report_id = $1 ORDER BY admin_id",
    )
    .bind(report_id)
    .fetch_all(pool)
    .await
}

/// A report waiting for a verdict, with the post it is about, for the admin web UI.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Waiting {
    pub report_id: String,
    pub user_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    pub category: Option<String>,
    pub reason: String,
    /// The post's text and where it was, when the read model holds it.
    pub text: Option<String>,
    pub chat_title: Option<String>,
    pub link: Option<String>,
}

/// Up to `limit` reports without a verdict, oldest post first, skipping `offset`.
pub async fn waiting(pool: &PgPool, limit: i64, offset: i64) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query_as::<_, Waiting>(
        "SELECT r.report_id, r.user_id, r.chat_id, r.message_id, r.category, r.reason,
                m.text, m.chat_title, m.link
           FROM reports r
           LEFT JOIN messages m ON m.chat_id = r.chat_id AND m.message_id = r.message_id
          WHERE r.resolution IS NULL
          ORDER BY m.posted_at NULLS LAST, r.report_id
          LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}
