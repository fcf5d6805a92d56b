-- Set operations (issue 19, part 3): Django's union(), intersection() and
-- difference() on the demo shop.  Every answer is compared with the SQL
-- an expert writes, with every shape-cache hit recompiled and compared.
SET pg_queryset.shape_cache_check = on;

-- union(): "featured" = low stock or well reviewed, each product once
SELECT qs.count(qs.union(qs.filter(qs.all('catalog_product'), '{"stock__lt": 5, "status": "active"}'),
                         qs.filter(qs.all('catalog_product'), '{"reviews__rating": 5, "status": "active"}'))) AS featured,
       (SELECT count(*) FROM (SELECT * FROM catalog_product WHERE stock < 5 AND status = 'active'
                              UNION
                              SELECT p.* FROM catalog_product p WHERE p.status = 'active'
                                AND EXISTS (SELECT FROM catalog_review r WHERE r.product_id = p.id AND r.rating = 5)) x) AS hand;
-- all=true keeps duplicates (UNION ALL)
SELECT qs.count(qs.union(qs.filter(qs.all('catalog_product'), '{"stock__lt": 5}'),
                         ARRAY[qs.filter(qs.all('catalog_product'), '{"status": "active"}')::jsonb], true)) AS union_all,
       (SELECT count(*) FROM catalog_product WHERE stock < 5) + (SELECT count(*) FROM catalog_product WHERE status = 'active') AS hand;
-- the spec a builder writes, and the SQL: one statement, each operand's
-- values parameters of the combined shape
SELECT qs.union(qs.values(qs.filter(qs.all('catalog_product'), '{"stock__lt": 5}'), 'id', 'name'),
                qs.values(qs.filter(qs.all('catalog_product'), '{"price__gte": 500}'), 'id', 'name'));
SELECT qs.sql(qs.slice(qs.order_by(qs.union(qs.values(qs.filter(qs.all('catalog_product'), '{"stock__lt": 5}'), 'id', 'name'),
                                            qs.values(qs.filter(qs.all('catalog_product'), '{"price__gte": 500}'), 'id', 'name')), '-id'), 0, 3));
-- ordering and slicing the combined rows (by the first queryset's names)
SELECT qs.json(qs.slice(qs.order_by(qs.union(qs.values(qs.filter(qs.all('catalog_product'), '{"stock__lt": 5}'), 'id', 'name'),
                                             qs.values(qs.filter(qs.all('catalog_product'), '{"price__gte": 500}'), 'id', 'name')), '-id'), 0, 3));
SELECT json_agg(json_build_object('id', id, 'name', name) ORDER BY id DESC) AS hand
  FROM (SELECT id, name FROM (SELECT id, name FROM catalog_product WHERE stock < 5
                              UNION SELECT id, name FROM catalog_product WHERE price >= 500) u
        ORDER BY id DESC LIMIT 3) x;
-- the names come from the first queryset, across models (Django's rule)
SELECT qs.json(qs.order_by(qs.union(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id__lte": 2}'), '{name}'),
                                    qs.values_list(qs.filter(qs.all('catalog_category'), '{"parent__isnull": true}'), '{name}')), 'name'));
SELECT json_agg(json_build_array(name) ORDER BY name) AS hand
  FROM (SELECT name FROM catalog_tag WHERE id <= 2 UNION SELECT name FROM catalog_category WHERE parent_id IS NULL) u;

-- intersection(): active products that are also in an order
SELECT qs.count(qs.intersection(qs.values(qs.filter(qs.all('catalog_product'), '{"status": "active"}'), 'id'),
                                qs.values(qs.all('shop_orderitem'), 'product_id'))) AS active_and_ordered,
       (SELECT count(*) FROM (SELECT id FROM catalog_product WHERE status = 'active'
                              INTERSECT SELECT product_id FROM shop_orderitem) x) AS hand;
-- difference(): products never ordered, with three querysets
SELECT qs.count(qs.difference(qs.values(qs.all('catalog_product'), 'id'),
                              qs.values(qs.all('shop_orderitem'), 'product_id'),
                              qs.values(qs.filter(qs.all('catalog_product'), '{"status": "archived"}'), 'id'))) AS never_ordered_not_archived,
       (SELECT count(*) FROM (SELECT id FROM catalog_product EXCEPT SELECT product_id FROM shop_orderitem
                              EXCEPT SELECT id FROM catalog_product WHERE status = 'archived') x) AS hand;
-- combined querysets combine again: (a ∪ b) − c, and an operand's own slice
SELECT qs.json(qs.order_by(qs.difference(qs.union(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}'), '{id}', true),
                                                  qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id__gte": 28}'), '{id}', true)),
                                         qs.slice(qs.order_by(qs.values_list(qs.all('catalog_tag'), '{id}', true), '-id'), 0, 2)), 'id')) AS a_or_b_minus_top2;
-- values() of the combined queryset applies to operands without their own
SELECT qs.json(qs.order_by(qs.values(qs.union(qs.filter(qs.all('catalog_tag'), '{"id": 1}'),
                                              qs.filter(qs.all('catalog_tag'), '{"id": 2}')), 'slug'), 'slug'));
-- terminals: rows, first/last (by the key when unordered), get, exists, cursor
SELECT r FROM qs.rows(qs.order_by(qs.union(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id__lte": 2}'), '{name}', true),
                                           qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 30}'), '{name}', true)), '-name')) r;
SELECT qs.first(qs.union(qs.filter(qs.all('catalog_tag'), '{"id__gt": 28}'), qs.filter(qs.all('catalog_tag'), '{"id": 3}'))) AS first,
       qs.last(qs.union(qs.filter(qs.all('catalog_tag'), '{"id__gt": 28}'), qs.filter(qs.all('catalog_tag'), '{"id": 3}'))) AS last,
       qs.get(qs.union(qs.filter(qs.all('catalog_tag'), '{"id": 7}'), qs.filter(qs.all('catalog_tag'), '{"id__in": [7]}'))) ->> 'name' AS got_once;
SELECT qs.exists(qs.intersection(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}'), qs.filter(qs.all('catalog_tag'), '{"id__gt": 3}'))) AS overlap,
       qs.exists(qs.union(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}'), qs.filter(qs.all('catalog_tag'), '{"id__gt": 3}'))) AS any;
BEGIN;
SELECT qs.cursor(qs.order_by(qs.union(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}'), '{id}', true),
                                      qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 9}'), '{id}', true)), 'id'), 'tags');
FETCH 2 FROM tags;
FETCH 5 FROM tags;
COMMIT;
-- no other queryset: the queryset itself, as Django returns it
SELECT qs.union(qs.filter(qs.all('catalog_tag'), '{"id": 1}'));
-- the shape cache: one statement for any values
SELECT qs.count(q) FROM (VALUES
  (qs.union(qs.filter(qs.all('catalog_tag'), '{"id__lte": 2}'), qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 0, 1))),
  (qs.union(qs.filter(qs.all('catalog_tag'), '{"id__lte": 5}'), qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 0, 20)))) v(q);

-- Django's restrictions
\set VERBOSITY default
-- after combining: only slicing, order_by, values and values_list
SELECT qs.filter(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"id": 1}');
SELECT qs.exclude(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"id": 1}');
SELECT qs.annotate(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"n": {"Count": "id"}}');
SELECT qs.distinct(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')));
SELECT qs.select_related(qs.union(qs.all('catalog_product'), qs.all('catalog_product')), 'category');
SELECT qs.aggregate(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"n": {"Count": "id"}}');
SELECT qs.update(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"name": "x"}');
SELECT qs.delete(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')));
SELECT qs.in_bulk(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')));
SELECT qs.get(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"id": 1}');
-- the same number of columns, of matching types
SELECT qs.json(qs.union(qs.all('catalog_tag'), qs.all('catalog_category')));
SELECT qs.json(qs.union(qs.values(qs.all('catalog_tag'), 'id', 'name'), qs.values(qs.all('catalog_tag'), 'name', 'id')));
-- order_by names a column of the result
SELECT qs.json(qs.order_by(qs.union(qs.values(qs.all('catalog_tag'), 'name'), qs.values(qs.all('catalog_tag'), 'name')), 'id'));
-- related rows are fetched after combining, not inside
SELECT qs.json(qs.union(qs.prefetch_related(qs.all('catalog_product'), 'reviews'), qs.all('catalog_product')));
-- malformed specs
SELECT qs.json('{"model": "catalog_tag", "combinator": "unite", "combined": [{"model": "catalog_tag"}, {"model": "catalog_tag"}]}');
SELECT qs.json('{"model": "catalog_tag", "combinator": "union", "combined": [{"model": "catalog_tag"}]}');
SELECT qs.json('{"model": "catalog_tag", "combinator": "union"}');
SELECT qs.json('{"model": "catalog_tag", "all": true}');
SELECT qs.json('{"model": "catalog_product", "combinator": "union", "combined": [{"model": "catalog_tag"}, {"model": "catalog_tag"}]}');
SELECT qs.json('{"model": "catalog_tag", "combinator": "union", "combined": [{"model": "catalog_tag"}, 7]}');
SELECT qs.union(qs.all('catalog_tag'), NULL::jsonb);
\set VERBOSITY terse
