-- Keyset pagination (qs.page and the "page" key) against the SQL an
-- expert writes by hand, on the demo data: pages, walks in both
-- directions, ties and NULLs, a composite key, the plan, and every
-- refusal with its SQLSTATE.
BEGIN;
SELECT plan(24);
SET LOCAL TimeZone = 'UTC';

CREATE FUNCTION pg_temp.walk(q jsonb, sz int, backwards boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb; acc jsonb; n int := 0;
BEGIN
  p := qs.page(q, size => sz);
  acc := p->'results';
  WHILE p->>'next' IS NOT NULL LOOP
    p := qs.page(q, after => p->>'next', size => sz);
    IF NOT backwards THEN acc := acc || (p->'results'); END IF;
    n := n + 1; IF n > 100000 THEN RAISE EXCEPTION 'no end'; END IF;
  END LOOP;
  IF NOT backwards THEN RETURN acc; END IF;
  acc := p->'results';
  WHILE p->>'previous' IS NOT NULL LOOP
    p := qs.page(q, before => p->>'previous', size => sz);
    acc := (p->'results') || acc;
  END LOOP;
  RETURN acc;
END $$;

-- page 1 and page 2 of products by price, highest first, 7 per page
SELECT results_eq(
  $$ SELECT (r->>'id')::bigint, (r->>'price')::numeric FROM jsonb_array_elements(
       qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 7)->'results') r $$,
  $$ SELECT id, price FROM catalog_product ORDER BY price DESC, id LIMIT 7 $$,
  'page 1: ORDER BY price DESC, id LIMIT 7');
SELECT results_eq(
  $$ SELECT (r->>'id')::bigint, (r->>'price')::numeric FROM jsonb_array_elements(
       qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 7,
               after => qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 7)->>'next')->'results') r $$,
  $$ WITH last AS (SELECT id, price FROM catalog_product ORDER BY price DESC, id OFFSET 6 LIMIT 1)
     SELECT p.id, p.price FROM catalog_product p, last
     WHERE p.price <= last.price AND (p.price < last.price OR (p.price = last.price AND p.id > last.id))
     ORDER BY p.price DESC, p.id LIMIT 7 $$,
  'page 2 equals the hand-written keyset query after page 1''s last row');
SELECT is(
  (qs.page('{"model": "catalog_product", "order_by": ["-price"]}', size => 7,
           before => qs.page('{"model": "catalog_product", "order_by": ["-price"]}', size => 7,
                             after => qs.page('{"model": "catalog_product", "order_by": ["-price"]}', size => 7)->>'next')->>'previous'))->'results',
  qs.page('{"model": "catalog_product", "order_by": ["-price"]}', size => 7)->'results',
  'the previous page of page 2 is page 1');

-- walks: forwards and backwards equal the OFFSET walk of the same ordering
SELECT is(pg_temp.walk('{"model": "shop_order", "values": ["id", "status"], "order_by": ["status", "-created_at"]}', 97, false),
          (SELECT jsonb_agg(jsonb_build_object('id', id, 'status', status) ORDER BY status, created_at DESC, id) FROM shop_order),
          'orders by status, -created_at: forwards');
SELECT is(pg_temp.walk('{"model": "shop_order", "values": ["id", "status"], "order_by": ["status", "-created_at"]}', 97, true),
          (SELECT jsonb_agg(jsonb_build_object('id', id, 'status', status) ORDER BY status, created_at DESC, id) FROM shop_order),
          'orders by status, -created_at: backwards');
SELECT is(pg_temp.walk('{"model": "catalog_product", "values": ["id"], "order_by": [{"F": "release_date", "desc": true, "nulls_last": true}]}', 33, false),
          (SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY release_date DESC NULLS LAST, id) FROM catalog_product),
          'release_date DESC NULLS LAST (158 NULLs): forwards');
SELECT is(pg_temp.walk('{"model": "catalog_product", "values": ["id"], "order_by": [{"F": "release_date", "nulls_first": true}]}', 33, true),
          (SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY release_date NULLS FIRST, id) FROM catalog_product),
          'release_date NULLS FIRST: backwards');
SELECT is(pg_temp.walk('{"model": "shop_orderitem", "values": ["id"], "order_by": ["product__category__name", "-quantity"]}', 250, false),
          (SELECT jsonb_agg(jsonb_build_object('id', i.id) ORDER BY c.name, i.quantity DESC, i.id)
           FROM shop_orderitem i JOIN catalog_product p ON p.id = i.product_id JOIN catalog_category c ON c.id = p.category_id),
          'items by product__category__name (two forward hops), -quantity');
SELECT is(jsonb_array_length(pg_temp.walk('{"model": "auth_user", "values": ["id"]}', 1, false)), (SELECT count(*)::int FROM auth_user),
          'pages of one row: every user once');

-- a composite primary key breaks ties with all its columns
CREATE TEMP TABLE pg_tap_ledger (account int, seq int, amount int NOT NULL, PRIMARY KEY (account, seq));
INSERT INTO pg_tap_ledger SELECT g % 5, g, g % 4 FROM generate_series(1, 200) g;
SELECT is(pg_temp.walk('{"model": "pg_tap_ledger", "values": ["account", "seq"], "order_by": ["-amount"]}', 11, true),
          (SELECT jsonb_agg(jsonb_build_object('account', account, 'seq', seq) ORDER BY amount DESC, account, seq) FROM pg_tap_ledger),
          'composite key: amount DESC, account, seq backwards');

-- the statement: a row comparison over an index, values as parameters
SELECT matches(
  qs.sql('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}'::jsonb || jsonb_build_object('page', jsonb_build_object('size', 20,
    'after', qs.page('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}', size => 3)->>'next'))),
  'WHERE ROW\(t0\.created_at, t0\.id\) OPERATOR\(pg_catalog\.>\) ROW\(\$1, \$2\) ORDER BY t0\.created_at, t0\.id LIMIT \$3$',
  'same-direction keys: (created_at, id) > ($1, $2)');
CREATE INDEX pg_tap_order_created ON shop_order (created_at, id);
SELECT ok(
  (SELECT qs.explain('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}'::jsonb || jsonb_build_object('page', jsonb_build_object('size', 20,
    'after', qs.page('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}', size => 1000)->>'next')))::text
   ~ '"Index Cond": "\(ROW\(created_at, id\) > ROW\(.*"Index Name": "pg_tap_order_created"'),
  'the page of 20 after row 1,000 is an index scan with the row comparison as its index condition');
SELECT is(qs.params('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}'::jsonb || jsonb_build_object('page', jsonb_build_object('size', 20,
    'after', qs.page('{"model": "shop_order", "only": ["id"], "order_by": ["created_at"]}', size => 1)->>'next')))->2,
  '20'::jsonb, 'the page size is a parameter');

-- inserts and deletes between pages neither skip nor repeat rows
CREATE TEMP TABLE pg_tap_feed (id int PRIMARY KEY, score int NOT NULL);
INSERT INTO pg_tap_feed SELECT g, g % 6 FROM generate_series(1, 60) g;
CREATE TEMP TABLE pg_tap_seen AS SELECT qs.page('{"model": "pg_tap_feed", "order_by": ["score"]}', size => 10) AS p;
DELETE FROM pg_tap_feed WHERE id IN (SELECT (r->>'id')::int FROM pg_tap_seen, jsonb_array_elements(p->'results') r);
INSERT INTO pg_tap_feed VALUES (0, 0), (100, 0);
SELECT is((SELECT jsonb_agg(r->'id') FROM pg_tap_seen, jsonb_array_elements(
             qs.page('{"model": "pg_tap_feed", "order_by": ["score"]}', after => p->>'next', size => 4)->'results') r),
          '[100, 1, 7, 13]'::jsonb, 'after deleting page 1 and inserting around its last row (0, 60), page 2 starts right after it');

-- the "page" key on qs.rows equals qs.page's results
SELECT is((SELECT jsonb_agg(r) FROM qs.rows('{"model": "catalog_category", "values": ["id", "name"], "order_by": ["-name"], "page": {"size": 5}}') r),
          qs.page('{"model": "catalog_category", "values": ["id", "name"], "order_by": ["-name"]}', size => 5)->'results',
          'qs.rows with "page" returns the page');

-- refusals
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product"}', after => 'x.y') $$, '22023', NULL, 'a malformed cursor is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product"}', after => replace(c, 'e', 'f'))
                    FROM (SELECT qs.page('{"model": "catalog_product"}', size => 2)->>'next' AS c) s $$,
                 '22023', NULL, 'an altered cursor is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product", "order_by": ["name"]}', after => qs.page('{"model": "catalog_product"}', size => 2)->>'next') $$,
                 '22023', NULL, 'a cursor of another ordering is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product"}', before => qs.page('{"model": "catalog_product"}', size => 2)->>'next') $$,
                 '22023', NULL, 'a next cursor passed as before is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product"}', size => 0) $$, '22023', NULL, 'size 0 is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product", "offset": 5}') $$, '22023', NULL, 'a sliced queryset is 22023');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product", "distinct": true}') $$, '0A000', NULL, 'a distinct queryset is 0A000');
SELECT throws_ok($$ SELECT qs.page('{"model": "catalog_product", "annotate": {"r": {"Window": {"RowNumber": []}, "order_by": ["price"]}}, "order_by": ["r"]}') $$,
                 NULL, NULL, 'ordering by a window function is refused');
SELECT throws_ok($$ SELECT qs.exists('{"model": "catalog_product", "page": {"size": 3}}') $$, '22023', NULL, 'page on qs.exists is 22023');

SELECT * FROM finish();
ROLLBACK;
