-- dashboard (1) revenue by category, hand-written: the same JSON text.
-- $1, $2 are timestamptz parameters, as an application sends them (the
-- \gset line computes them; the same in the qs script).
\set off random(0, 550)
SELECT timestamptz '2024-01-01 00:00:00+00' + :off * interval '1 day' AS d1, timestamptz '2024-01-01 00:00:00+00' + (:off + 180) * interval '1 day' AS d2 \gset
SELECT coalesce(json_agg(q.r), '[]'::json) FROM (SELECT json_build_object('product__category__name', c.name, 'revenue', sum(i.quantity * i.unit_price), 'units_sold', sum(i.quantity)) AS r FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id JOIN catalog_product p ON p.id = i.product_id JOIN catalog_category c ON c.id = p.category_id WHERE o.created_at >= :d1 AND o.created_at <= :d2 GROUP BY c.name ORDER BY sum(i.quantity * i.unit_price) DESC LIMIT 10) q;
