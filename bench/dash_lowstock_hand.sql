-- dashboard (4) low stock, hand-written: the same JSON text.
\set n random(0, 10)
SELECT coalesce(json_agg(q.r), '[]'::json) FROM (SELECT json_build_object('id', p.id, 'name', p.name, 'stock', p.stock, 'category__name', c.name) AS r FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id WHERE p.status = 'active' AND p.stock <= :n ORDER BY p.stock, p.id) q;
