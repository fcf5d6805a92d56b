-- (5) the SQL Django 3.2 generates for
--   .annotate(n_reviews=Count("reviews"), n_tags=Count("tags"))
-- without distinct=True: the two joins multiply, so a product with R
-- reviews and T tags gets R*T for both counts (when R, T >= 1).  WRONG on
-- purpose; timed for reference only.
\set cat random(1, 24)
SELECT coalesce(json_agg(q.r), '[]'::json) FROM (SELECT json_build_object('id', p.id, 'name', p.name, 'n_reviews', count(r.id), 'n_tags', count(t.tag_id)) AS r FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id LEFT JOIN catalog_product_tags t ON t.product_id = p.id WHERE p.category_id = :cat GROUP BY p.id ORDER BY p.id) q;
