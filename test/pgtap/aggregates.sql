-- Expressions and aggregation: results against hand-written SQL on the
-- demo data (never inflated), empty sets, NULLs, numeric exactness, time
-- zones, the article's dashboard, and every error path with its SQLSTATE.
BEGIN;
SELECT plan(44);

SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');
SELECT qs.name_relation('catalog_product', 'catalog_tag', 'tags');
SET LOCAL TimeZone = 'UTC';

-- the two-relation count Django gets wrong without distinct
SELECT set_eq(
  $$ SELECT (r->>'id')::bigint AS id, (r->>'nr')::bigint AS nr, (r->>'nt')::bigint AS nt FROM qs.rows('{"model": "catalog_product", "only": ["id"],
       "annotate": {"nr": {"Count": "catalog_review"}, "nt": {"Count": "tags"}}}') r $$,
  $$ SELECT p.id, (SELECT count(*) FROM catalog_review r WHERE r.product_id = p.id) AS nr,
            (SELECT count(*) FROM catalog_product_tags t WHERE t.product_id = p.id) AS nt FROM catalog_product p $$,
  'Count of two to-many relations: each right, for every product');
SELECT ok((SELECT count(*) FROM (SELECT p.id FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id
             LEFT JOIN catalog_product_tags t ON t.product_id = p.id GROUP BY p.id
             HAVING count(r.id) <> (SELECT count(*) FROM catalog_review r2 WHERE r2.product_id = p.id)) s) > 0,
          'the join-and-group SQL inflates the counts on this data (the test can fail)');
SELECT set_eq(
  $$ SELECT r->>'status' AS status, (r->>'n')::bigint AS n, (r->>'ni')::bigint AS ni, (r->>'rev')::numeric AS rev
       FROM qs.rows('{"model": "shop_order", "values": ["status"], "annotate": {"n": {"Count": "id"}, "ni": {"Count": "items"}, "rev": {"Sum": "total"}}}') r $$,
  $$ SELECT status::text, count(*) AS n, (SELECT count(*) FROM shop_orderitem i JOIN shop_order o2 ON o2.id = i.order_id WHERE o2.status = o.status) AS ni, sum(total) AS rev
       FROM shop_order o GROUP BY status $$,
  'grouped: order count, item count and revenue per status, none inflated');

-- per-row aggregates in filters and ordering
SELECT results_eq(
  $$ SELECT (r->>'id')::bigint AS id FROM qs.rows('{"model": "shop_order", "alias": {"n": {"Count": "items"}},
       "where": {"n__gte": 6}, "order_by": ["-n", "id"], "only": ["id"]}') r $$,
  $$ SELECT o.id FROM shop_order o WHERE (SELECT count(*) FROM shop_orderitem i WHERE i.order_id = o.id) >= 6
       ORDER BY (SELECT count(*) FROM shop_orderitem i WHERE i.order_id = o.id) DESC, o.id $$,
  'filter and order by a per-row Count');
SELECT set_eq(
  $$ SELECT (r->>'user')::bigint AS user FROM qs.rows('{"model": "shop_order", "values": ["user"], "annotate": {"n": {"Count": "id"}},
       "where": {"n__gte": 30, "status__in": ["delivered", "shipped"]}}') r $$,
  $$ SELECT user_id FROM shop_order WHERE status IN ('delivered', 'shipped') GROUP BY user_id HAVING count(*) >= 30 $$,
  'WHERE for fields, HAVING for aggregates');
SELECT set_eq(
  $$ SELECT (r->>'user')::bigint AS user FROM qs.rows('{"model": "shop_order", "values": ["user"], "annotate": {"n": {"Count": "id"}},
       "where": {"$or": [{"n__gte": 50}, {"n__lte": 1}]}}') r $$,
  $$ SELECT user_id FROM shop_order GROUP BY user_id HAVING count(*) >= 50 OR count(*) <= 1 $$,
  'an OR of aggregate conditions goes to HAVING as one predicate');

-- conditional aggregates
SELECT is(qs.aggregate('{"model": "shop_order"}', '{"d": {"Count": "id", "filter": {"status": "delivered"}},
            "c": {"Sum": "total", "filter": {"$or": [{"status": "cancelled"}, {"total__gt": 5000}]}},
            "laptops": {"Count": "items", "filter": {"items__product__category__slug": "laptops"}}}'),
          (SELECT jsonb_build_object('d', count(*) FILTER (WHERE status = 'delivered'),
                                     'c', sum(total) FILTER (WHERE status = 'cancelled' OR total > 5000),
                                     'laptops', (SELECT count(*) FROM shop_orderitem i JOIN catalog_product p ON p.id = i.product_id
                                                   JOIN catalog_category c ON c.id = p.category_id WHERE c.slug = 'laptops'))
             FROM shop_order),
          'aggregate filters: on the row and through the relation');

-- empty sets and NULLs
SELECT is(qs.aggregate('{"model": "shop_order", "where": {"status": "nope"}}',
            '{"n": {"Count": "id"}, "ni": {"Count": "items"}, "s": {"Sum": "total"}, "a": {"Avg": "total"}, "mx": {"Max": "created_at"}}'),
          '{"n": 0, "ni": 0, "s": null, "a": null, "mx": null}'::jsonb, 'empty set: Count 0, the others null');
SELECT is(qs.aggregate('{"model": "shop_order", "where": {"status": "nope"}}',
            '{"s": {"Sum": "total", "default": 0}, "a": {"Avg": "total", "default": 1.5}, "u": {"Sum": "items__quantity", "default": 0}}'),
          '{"s": 0, "a": 1.5, "u": 0}'::jsonb, 'default replaces null, also through a relation');
SELECT is(qs.aggregate('{"model": "shop_order"}', '{"n": {"Count": "notes"}, "all": {"Count": "*"}, "sp": {"Count": "shipping_address"}}'),
          (SELECT jsonb_build_object('n', count(notes), 'all', count(*), 'sp', count(shipping_address_id)) FROM shop_order),
          'Count of a field skips NULLs, Count("*") does not');
SELECT is(qs.aggregate('{"model": "catalog_product"}', '{"m": {"Min": "release_date"}, "x": {"Max": "release_date"}}'),
          (SELECT jsonb_build_object('m', min(release_date), 'x', max(release_date)) FROM catalog_product),
          'Min/Max ignore NULLs');
SELECT is((SELECT jsonb_agg(r->'big' ORDER BY (r->>'id')::int) FROM qs.rows('{"model": "catalog_product", "where": {"id__in": [1, 2]},
             "values": ["id"], "annotate": {"big": {"Case": [{"When": {"price__gte": 100}, "then": "price"}]}}}') r),
          '[129.99, null]'::jsonb, 'Case without default is NULL');

-- numeric exactness
SELECT is((qs.aggregate('{"model": "shop_orderitem"}', '{"s": {"Sum": "unit_price"}}')->>'s')::numeric,
          (SELECT sum(unit_price) FROM shop_orderitem), 'Sum of numeric is exact');
SELECT is(jsonb_typeof(qs.aggregate('{"model": "shop_orderitem"}', '{"a": {"Avg": "quantity"}}')->'a'), 'number', 'Avg of integers is a number');
SELECT is((qs.aggregate('{"model": "shop_orderitem"}', '{"a": {"Avg": "quantity"}}')->>'a')::numeric,
          (SELECT avg(quantity) FROM shop_orderitem), 'Avg of integers is numeric, as PostgreSQL computes it');
SELECT is((qs.aggregate('{"model": "shop_order", "where": {"user__lte": 50}}', '{"a": {"Avg": "items__unit_price"}}')->>'a')::numeric,
          (SELECT avg(i.unit_price) FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id WHERE o.user_id <= 50),
          'Avg through a relation equals the joined average exactly');
SELECT is((SELECT (r->>'d')::numeric FROM qs.rows('{"model": "catalog_product", "where": {"id": 2}, "values": ["id"],
             "annotate": {"d": {"*": ["price", 0.1]}}}') r), (SELECT price * 0.1 FROM catalog_product WHERE id = 2),
          'a decimal literal is numeric, not float');

-- time zones
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT set_eq(
  $$ SELECT (r->>'d')::date AS d, (r->>'n')::bigint AS n FROM qs.rows('{"model": "shop_order", "where": {"created_at__lt": "2024-03-01"},
       "annotate": {"d": {"TruncDate": "created_at"}, "n": {"Count": "id"}}, "values": ["d"]}') r $$,
  $$ SELECT created_at::date AS d, count(*) AS n FROM shop_order WHERE created_at < '2024-03-01' GROUP BY 1 $$,
  'TruncDate groups by the date in the session time zone');
SELECT is((SELECT r->>'m' FROM qs.rows('{"model": "shop_order", "where": {"id": 1}, "values": ["id"],
             "annotate": {"m": {"TruncMonth": "created_at"}}}') r),
          (SELECT to_json(date_trunc('month', created_at))#>>'{}' FROM shop_order WHERE id = 1), 'TruncMonth in Asia/Tokyo');
SELECT is((SELECT r->>'m' FROM qs.rows('{"model": "shop_order", "where": {"id": 1}, "values": ["id"],
             "annotate": {"m": {"TruncMonth": "created_at", "tzinfo": "UTC"}}}') r),
          (SELECT to_json(date_trunc('month', created_at, 'UTC'))#>>'{}' FROM shop_order WHERE id = 1), 'tzinfo overrides the session zone');
SET LOCAL TimeZone = 'UTC';

-- the article's dashboard
SELECT results_eq(
  $$ SELECT r->>'product__category__name' AS product__category__name, (r->>'revenue')::numeric AS revenue, (r->>'units_sold')::bigint AS units_sold
       FROM qs.rows('{"model": "shop_orderitem", "where": {"order__created_at__range": ["2024-01-01", "2025-12-31"]},
         "values": ["product__category__name"], "annotate": [{"revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"units_sold": {"Sum": "quantity"}}],
         "order_by": ["-revenue"], "limit": 10}') r $$,
  $$ SELECT c.name::text AS a, sum(i.quantity * i.unit_price) AS b, sum(i.quantity) AS c FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id
       JOIN catalog_product p ON p.id = i.product_id JOIN catalog_category c ON c.id = p.category_id
       WHERE o.created_at BETWEEN '2024-01-01' AND '2025-12-31' GROUP BY c.name ORDER BY 2 DESC LIMIT 10 $$,
  'dashboard 1: revenue by category');
SELECT results_eq(
  $$ SELECT (r->>'month')::timestamptz AS month, (r->>'revenue')::numeric AS revenue, (r->>'order_count')::bigint AS order_count, (r->>'avg_order_value')::numeric AS avg_order_value
       FROM qs.rows('{"model": "shop_order", "where": {"created_at__range": ["2024-01-01", "2025-12-31"]},
         "annotate": [{"month": {"TruncMonth": "created_at"}}, {"revenue": {"Sum": "total"}}, {"order_count": {"Count": "id"}}, {"avg_order_value": {"Avg": "total"}}],
         "values": ["month"], "order_by": ["month"]}') r $$,
  $$ SELECT date_trunc('month', created_at) AS a, sum(total) AS b, count(id) AS c, avg(total) AS d FROM shop_order
       WHERE created_at BETWEEN '2024-01-01' AND '2025-12-31' GROUP BY 1 ORDER BY 1 $$,
  'dashboard 2: monthly trend');
SELECT results_eq(
  $$ SELECT r->>'product__name' AS product__name, (r->>'product__id')::bigint AS product__id, (r->>'total_revenue')::numeric AS total_revenue, (r->>'total_units')::bigint AS total_units
       FROM qs.rows('{"model": "shop_orderitem", "where": {"order__created_at__range": ["2024-01-01", "2025-12-31"]},
         "values": ["product__name", "product__id"], "annotate": [{"total_revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"total_units": {"Sum": "quantity"}}],
         "order_by": ["-total_revenue", "product__id"], "limit": 20}') r $$,
  $$ SELECT p.name::text AS a, p.id, sum(i.quantity * i.unit_price) AS b, sum(i.quantity) AS c FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id
       JOIN catalog_product p ON p.id = i.product_id WHERE o.created_at BETWEEN '2024-01-01' AND '2025-12-31'
       GROUP BY p.name, p.id ORDER BY 3 DESC, 2 LIMIT 20 $$,
  'dashboard 3: top products by revenue');
SELECT results_eq(
  $$ SELECT (r->>'id')::bigint AS id, r->>'name' AS name, (r->>'stock')::int AS stock, r->>'category__name' AS category__name
       FROM qs.rows('{"model": "catalog_product", "where": {"status": "active", "stock__lte": 10},
         "values": ["id", "name", "stock", "category__name"], "order_by": ["stock", "id"]}') r $$,
  $$ SELECT p.id, p.name::text, p.stock, c.name::text AS cname FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
       WHERE p.status = 'active' AND p.stock <= 10 ORDER BY p.stock, p.id $$,
  'dashboard 4: low-stock alerts');

-- Exists / Subquery / $exists
SELECT set_eq(
  $$ SELECT (r->>'id')::bigint AS id FROM qs.rows(qs.exclude(qs.all('catalog_product'),
       '{"$exists": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}}}}')) r $$,
  $$ SELECT id FROM catalog_product p WHERE NOT EXISTS (SELECT 1 FROM catalog_review r WHERE r.product_id = p.id) $$,
  'exclude $exists: products without reviews');
SELECT set_eq(
  $$ SELECT (r->>'id')::bigint AS id, r->>'last' AS last FROM qs.rows('{"model": "auth_user", "only": ["id"], "annotate": {"last": {"Subquery":
       {"model": "shop_order", "where": {"user": {"OuterRef": "id"}}, "order_by": ["-created_at", "-id"], "values": ["status"], "limit": 1}}}}') r $$,
  $$ SELECT u.id, (SELECT status::text AS s FROM shop_order o WHERE o.user_id = u.id ORDER BY created_at DESC, id DESC LIMIT 1) FROM auth_user u $$,
  'Subquery: each user''s latest order status');

-- the statement is one, and shapes are cached with values as parameters
SELECT is(qs.sql('{"model": "shop_order", "values": ["status"], "annotate": {"n": {"Count": "items", "filter": {"items__quantity__gte": 3}}}}')
            ~ '\$1', true, 'aggregate filter values are parameters');
SELECT is(qs.params('{"model": "catalog_product", "annotate": {"x": {"Concat": ["name", {"Value": "''; DROP TABLE catalog_product; --"}]}}}'),
          '["''; DROP TABLE catalog_product; --"]'::jsonb, 'a hostile literal is a parameter');

-- errors, with their SQLSTATE
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Nope": "name"}}}') $$, '22023', NULL, 'unknown function');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Upper": "name", "z": 1}}}') $$, '22023', NULL, 'unknown option');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Upper": "nope"}}}') $$, '42703', NULL, 'unknown field');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"name": {"Upper": "slug"}}}') $$, '42701', NULL, 'name conflicts with a field');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"a": {"F": "b"}, "b": {"F": "a"}}}') $$, '42P19', NULL, 'annotation cycle');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Sum": "name"}}}') $$, '42883', NULL, 'Sum of text');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"+": ["name", 1]}}}') $$, '42883', NULL, 'no such operator');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Cast": "name", "output_field": "nope"}}}') $$, '42704', NULL, 'unknown type');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Cast": "name", "output_field": "int) FROM pg_authid --"}}}') $$, '42601', NULL, 'hostile type name');
SELECT throws_ok($$ SELECT qs.json('{"model": "shop_order", "values": ["status"], "annotate": {"x": {"Count": "items", "distinct": true}}}') $$, '0A000', NULL, 'distinct through a relation per group');
SELECT throws_ok($$ SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Count": "id"}}, "values": ["status"], "order_by": ["id"]}') $$, '42803', NULL, 'ordering a grouped query by a non-key');
SELECT throws_ok($$ SELECT qs.aggregate('{"model": "shop_order"}', '{"x": "total"}') $$, '42803', NULL, 'aggregate() of a non-aggregate');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"OuterRef": "id"}}}') $$, '22023', NULL, 'OuterRef outside a subquery');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Value": "abc", "output_field": "int"}}}') $$, '22P02', NULL, 'a literal that does not fit its type');
SELECT lives_ok($$ SELECT qs.json(('{"model": "catalog_tag", "annotate": {"x": ' || repeat('{"Abs": ', 40) || '"id"' || repeat('}', 40) || '}}')::jsonb) $$, 'nested expressions within max_depth');
SELECT throws_ok($$ SELECT qs.json(('{"model": "catalog_tag", "annotate": {"x": ' || repeat('{"Abs": ', 5000) || '"id"' || repeat('}', 5000) || '}}')::jsonb) $$, '54000', NULL, 'deep expressions are refused');

SELECT * FROM finish();
ROLLBACK;
