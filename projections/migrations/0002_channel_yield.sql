-- Channel yield: which channels are worth reading. A view over the read models, so it is always
-- as current as they are and needs no projector of its own.
CREATE VIEW channel_yield AS
SELECT m.chat_id,
       max(m.chat_username) AS username,
       max(m.chat_title) AS title,
       count(*) AS seen,
       count(*) FILTER (WHERE s.verdict = 'accepted') AS passed_rules,
       count(*) FILTER (WHERE s.verdict = 'duplicate') AS duplicates,
       count(*) FILTER (WHERE v.kind = 'vacancy') AS vacancies,
       (SELECT count(*) FROM reports r WHERE r.chat_id = m.chat_id) AS reports
FROM messages m
LEFT JOIN screening s USING (chat_id, message_id)
LEFT JOIN vacancies v USING (chat_id, message_id)
GROUP BY m.chat_id;
