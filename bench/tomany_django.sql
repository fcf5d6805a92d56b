-- (5) the SQL Django 3.2 generates for
--   .annotate(n_reviews=Count("reviews", distinct=True), n_tags=Count("tags", distinct=True))
-- (both relations LEFT JOINed, GROUP BY the product, COUNT(DISTINCT ...)),
-- wrapped to return the same JSON text as tomany_qs.sql.
\set cat random(1, 24)
SELECT coalesce(json_agg(q.r), '[]'::json) FROM (SELECT json_build_object('id', p.id, 'name', p.name, 'n_reviews', count(DISTINCT r.id), 'n_tags', count(DISTINCT t.tag_id)) AS r FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id LEFT JOIN catalog_product_tags t ON t.product_id = p.id WHERE p.category_id = :cat GROUP BY p.id ORDER BY p.id) q;
