-- dashboard (2) monthly trend, hand-written: the same JSON text.
-- $1, $2 are timestamptz parameters, as an application sends them (the
-- \gset line computes them; the same in the qs script).
\set off random(0, 550)
SELECT timestamptz '2024-01-01 00:00:00+00' + :off * interval '1 day' AS d1, timestamptz '2024-01-01 00:00:00+00' + (:off + 180) * interval '1 day' AS d2 \gset
SELECT coalesce(json_agg(q.r), '[]'::json) FROM (SELECT json_build_object('month', date_trunc('month', o.created_at), 'revenue', sum(o.total), 'order_count', count(o.id), 'avg_order_value', avg(o.total)) AS r FROM shop_order o WHERE o.created_at >= :d1 AND o.created_at <= :d2 GROUP BY date_trunc('month', o.created_at) ORDER BY date_trunc('month', o.created_at)) q;
