-- Revenue by day, plan, provider and currency, for the admins' reports: what succeeded payments
-- brought in, net of refunds. A view over `payments`, so a rebuild of that read model rebuilds it.
CREATE VIEW revenue_daily AS
SELECT (paid_at AT TIME ZONE 'UTC')::date AS day,
       plan,
       provider,
       currency,
       count(*)                                 AS payments,
       sum(amount_minor)                        AS gross_minor,
       sum(refunded_minor)                      AS refunded_minor,
       sum(amount_minor - refunded_minor)       AS net_minor
FROM payments
WHERE paid_at IS NOT NULL
GROUP BY 1, 2, 3, 4;
