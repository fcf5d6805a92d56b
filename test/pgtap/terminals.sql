-- Terminals agree with the hand-written SQL an expert would write, and
-- each call runs exactly one statement through a cached plan.
BEGIN;
SELECT plan(34);
SET LOCAL timezone = 'UTC';

-- rows / json / fetch return the same data as hand-written SQL
SELECT results_eq(
  $$ SELECT (r->>'id')::bigint FROM qs.rows(qs.order_by(qs.filter(qs.all('catalog_product'),
       '{"status": "active", "price__gte": 100, "stock__lte": 20}'), '-price', 'id')) r $$,
  $$ SELECT id FROM catalog_product WHERE status = 'active' AND price >= 100 AND stock <= 20
     ORDER BY price DESC, id $$,
  'rows: filter + order_by in the right order');

SELECT is(
  qs.json(qs.order_by(qs.filter(qs.all('catalog_tag'), '{"id__lte": 5}'), 'id'))::text,
  (SELECT json_agg(json_build_object('id', id, 'name', name, 'slug', slug) ORDER BY id)::text
     FROM catalog_tag WHERE id <= 5),
  'json: byte-identical to json_agg(json_build_object(...)) by hand');

SELECT is(
  (SELECT jsonb_agg(r) FROM qs.rows(qs.order_by(qs.all('shop_address'), 'id')) r),
  (SELECT jsonb_agg(to_jsonb(a) ORDER BY id) FROM shop_address a),
  'rows: every column of every row, equal to to_jsonb(row)');

SELECT set_eq(
  $$ SELECT * FROM qs.fetch(qs.filter(qs.all('shop_order'), '{"status": "cancelled", "total__gt": 500}'), NULL::shop_order) $$,
  $$ SELECT * FROM shop_order WHERE status = 'cancelled' AND total > 500 $$,
  'fetch: typed rows equal to the table rows');

-- count / exists
SELECT is(qs.count(qs.filter(qs.all('shop_orderitem'), '{"quantity__gte": 3}')),
          (SELECT count(*) FROM shop_orderitem WHERE quantity >= 3), 'count');
SELECT is(qs.count(qs.slice(qs.order_by(qs.all('shop_order'), 'id'), 1990, 2100)), 10::bigint,
          'count of a slice counts the slice');
SELECT is(qs.count(qs.distinct(qs.values(qs.all('shop_order'), 'user_id'))),
          (SELECT count(DISTINCT user_id) FROM shop_order), 'count of distinct values');
SELECT is(qs.count(qs.distinct(qs.all('shop_order'), 'user_id')),
          (SELECT count(DISTINCT user_id) FROM shop_order), 'count of DISTINCT ON');
SELECT ok(qs.exists(qs.filter(qs.all('shop_order'), '{"shipping_address_id__isnull": true}')), 'exists: true');
SELECT ok(NOT qs.exists(qs.filter(qs.all('shop_order'), '{"total__lt": 0}')), 'exists: false');

-- get / first / last / earliest / latest
SELECT is(qs.get(qs.all('auth_user'), '{"username": "user0042"}')->>'id', '42', 'get by a unique field');
SELECT throws_ok($$ SELECT qs.get(qs.all('auth_user'), '{"username": "nobody"}') $$,
                 'P0002', 'auth_user matching query does not exist', 'get: DoesNotExist');
SELECT throws_ok($$ SELECT qs.get(qs.all('auth_user'), '{"is_staff": true}') $$,
                 'P0003', 'get() returned more than one auth_user -- it returned 4!', 'get: MultipleObjectsReturned');
SELECT is(qs.first(qs.all('shop_order'))->>'id', '1', 'first: pk order when unordered');
SELECT is(qs.last(qs.all('shop_order'))->>'id', (SELECT max(id)::text FROM shop_order), 'last: pk order reversed');
SELECT is(qs.first(qs.order_by(qs.all('shop_order'), '-total', 'id'))->>'id',
          (SELECT id::text FROM shop_order ORDER BY total DESC, id LIMIT 1), 'first with ordering');
SELECT is(qs.last(qs.order_by(qs.all('shop_order'), '-total', 'id'))->>'id',
          (SELECT id::text FROM shop_order ORDER BY total, id DESC LIMIT 1), 'last reverses every ordering item');
SELECT ok(qs.first(qs.filter(qs.all('shop_order'), '{"id": -5}')) IS NULL, 'first of nothing is NULL');
SELECT is(qs.latest(qs.all('catalog_review'), 'created_at', 'id')->>'id',
          (SELECT id::text FROM catalog_review ORDER BY created_at DESC, id DESC LIMIT 1), 'latest');
SELECT is(qs.earliest(qs.all('catalog_review'), '-rating', 'id')->>'id',
          (SELECT id::text FROM catalog_review ORDER BY rating DESC, id LIMIT 1), 'earliest honours -field');

-- in_bulk
SELECT is((SELECT array_agg(k ORDER BY k::int) FROM jsonb_object_keys(qs.in_bulk(qs.all('auth_user'), '[3, 1, 2, 404]')) k),
          ARRAY['1', '2', '3'], 'in_bulk keys are the ids found');
SELECT is(qs.in_bulk(qs.all('auth_user'), '[7]')->'7', (SELECT to_jsonb(u) FROM auth_user u WHERE id = 7),
          'in_bulk values are whole rows');

-- values_list flat over a cursor equals the column
SELECT results_eq(
  $$ SELECT (r #>> '{}')::bigint FROM qs.rows(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_review'),
       '{"is_approved": true, "rating__gte": 4}'), 'id'), '{id}', true)) r $$,
  $$ SELECT id FROM catalog_review WHERE is_approved AND rating >= 4 ORDER BY id $$,
  'values_list flat');

-- one statement per call (pg_stat_statements with track = all)
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT pg_stat_statements_reset();
SELECT qs.json(qs.filter(qs.all('shop_order'), '{"user_id": 11}')) IS NOT NULL AS ran;
SELECT is((SELECT sum(calls)::int FROM pg_stat_statements
            WHERE query LIKE '%public.shop_order t0%' AND toplevel = false),
          1, 'qs.json runs exactly one statement');
SELECT pg_stat_statements_reset();
SELECT qs.count(qs.filter(qs.all('shop_order'), '{"user_id": 12}')) AS n;
SELECT qs.count(qs.filter(qs.all('shop_order'), '{"user_id": 13}')) AS n;
SELECT is((SELECT count(*)::int FROM pg_stat_statements WHERE query LIKE '%public.shop_order t0%' AND toplevel = false),
          1, 'two calls of one shape are one statement shape');
SELECT is((SELECT sum(calls)::int FROM pg_stat_statements WHERE query LIKE '%public.shop_order t0%' AND toplevel = false),
          2, '... executed twice');

-- plan reuse: the second call of a shape is a cache hit
SELECT qs.plan_cache_reset();
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"category_id": 5, "status": "active"}')) AS a;
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"category_id": 6, "status": "draft"}')) AS b;
SELECT is((SELECT hits FROM qs.plan_cache_stats()), 1::bigint, 'second call hits the plan cache');
SELECT is((SELECT misses FROM qs.plan_cache_stats()), 1::bigint, 'first call missed once');

-- generated SQL uses the index for a pk lookup and for a year range
SELECT is(qs.explain(qs.filter(qs.all('shop_order'), '{"id": 9}'))->0->'Plan'->>'Index Name',
          'shop_order_pkey', 'pk lookup is an index scan');
SELECT ok(qs.sql(qs.filter(qs.all('catalog_product'), '{"created_at__year": 2025}'))
          LIKE '%t0.created_at OPERATOR(pg_catalog.>=) pg_catalog.make_date($1, 1, 1) AND t0.created_at OPERATOR(pg_catalog.<) pg_catalog.make_date($1 OPERATOR(pg_catalog.+) 1, 1, 1)%',
          'year lookup compiles to a sargable range');
SET LOCAL enable_seqscan = off;
SELECT ok(qs.explain(qs.filter(qs.all('catalog_product'), '{"created_at__year": 2025}'))::text LIKE '%catalog_product_created_at_idx%',
          'year range can use the created_at index');

-- json: the aggregate carries a multi-key ordering (the subquery is pulled
-- up); the text is the hand-written aggregate's, in the same order
SELECT is(
  qs.json(qs.values(qs.order_by(qs.filter(qs.all('catalog_product'), '{"stock__lte": 5}'),
                                '-price', 'id'), 'id', 'price'))::text,
  (SELECT json_agg(json_build_object('id', id, 'price', price) ORDER BY price DESC, id)::text
     FROM catalog_product WHERE stock <= 5),
  'json: ordering by several keys in the aggregate, byte-identical to the hand-written aggregate');
SELECT is(
  qs.json(qs.order_by(qs.filter(qs.all('catalog_tag'), '{"id__lte": 0}'), 'id'))::text,
  '[]',
  'json: an empty ordered result is still []');

-- plan choice: a primary-key lookup is left to PostgreSQL (generic plan)
DO $$ BEGIN
  PERFORM qs.plan_cache_reset();
  PERFORM qs.json(jsonb_build_object('model', 'catalog_tag', 'where', jsonb_build_object('id', n)))
  FROM generate_series(1, 8) n;
END $$;
SELECT is(
  (SELECT string_agg(choice, ',') FROM qs.plan_choices() WHERE sql LIKE '%catalog_tag%'),
  'postgres',
  'plan choice: a primary-key lookup is not kept on custom plans');

SELECT * FROM finish();
ROLLBACK;
