-- Django semantics of issue 19 as pgTAP assertions: set operations on the
-- demo shop and composite primary keys on a schema keyed on the tenant,
-- each result equal to the SQL an expert writes, each error its SQLSTATE.
BEGIN;
SELECT plan(32);

CREATE FUNCTION pg_temp.ids(q jsonb) RETURNS SETOF bigint LANGUAGE sql
  AS $$ SELECT (r->>'id')::bigint FROM qs.rows(q) r $$;
CREATE FUNCTION pg_temp.p(lookups jsonb) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT qs.filter(qs.all('catalog_product'), lookups) $$;

-- set operations
SELECT set_eq($$ SELECT pg_temp.ids(qs.union(pg_temp.p('{"stock__lt": 5}'), pg_temp.p('{"price__gte": 500}'))) $$,
              $$ SELECT id FROM catalog_product WHERE stock < 5 UNION SELECT id FROM catalog_product WHERE price >= 500 $$,
              'union: rows of either, once');
SELECT is(qs.count(qs.union(pg_temp.p('{"stock__lt": 5}'), ARRAY[pg_temp.p('{"price__gte": 500}')::jsonb], true)),
          (SELECT count(*) FROM catalog_product WHERE stock < 5) + (SELECT count(*) FROM catalog_product WHERE price >= 500),
          'union all=true keeps duplicates');
SELECT set_eq($$ SELECT pg_temp.ids(qs.intersection(pg_temp.p('{"stock__lt": 5}'), pg_temp.p('{"price__gte": 500}'))) $$,
              $$ SELECT id FROM catalog_product WHERE stock < 5 AND price >= 500 $$, 'intersection: rows of both');
SELECT set_eq($$ SELECT pg_temp.ids(qs.difference(pg_temp.p('{"stock__lt": 5}'), pg_temp.p('{"price__gte": 500}'), pg_temp.p('{"status": "draft"}'))) $$,
              $$ SELECT id FROM catalog_product WHERE stock < 5 AND price < 500 AND status <> 'draft' $$, 'difference of three: rows of the first only');
SELECT results_eq($$ SELECT pg_temp.ids(qs.slice(qs.order_by(qs.union(pg_temp.p('{"stock__lt": 5}'), pg_temp.p('{"price__gte": 500}')), '-price', 'id'), 2, 7)) $$,
                  $$ SELECT id FROM (SELECT * FROM catalog_product WHERE stock < 5 UNION SELECT * FROM catalog_product WHERE price >= 500) u
                     ORDER BY price DESC, id LIMIT 5 OFFSET 2 $$, 'order_by and a slice of the combined rows');
SELECT is(qs.json(qs.order_by(qs.union(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 2}'), '{name}', true),
                                        qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), '{name}', true)), 'name'))::text,
          '["new", "sale"]', 'values_list(flat) of a union');
SELECT is(qs.exists(qs.intersection(pg_temp.p('{"price__lt": 0}'), qs.all('catalog_product'))), false, 'exists() of an empty intersection');
SELECT throws_ok($$ SELECT qs.filter(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"id": 1}') $$, '0A000', NULL, 'filter() after union(): 0A000');
SELECT throws_ok($$ SELECT qs.annotate(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag')), '{"n": {"Count": "id"}}') $$, '0A000', NULL, 'annotate() after union(): 0A000');
SELECT throws_ok($$ SELECT qs.delete(qs.union(qs.all('catalog_tag'), qs.all('catalog_tag'))) $$, '0A000', NULL, 'delete() after union(): 0A000');
SELECT throws_ok($$ SELECT qs.json(qs.union(qs.all('catalog_tag'), qs.all('catalog_category'))) $$, '42601', NULL, 'different column counts: 42601');
SELECT throws_ok($$ SELECT qs.json(qs.union(qs.values(qs.all('catalog_tag'), 'id'), qs.values(qs.all('catalog_tag'), 'name'))) $$, '42804', NULL, 'unmatchable column types: 42804');
SELECT throws_ok($$ SELECT qs.json(qs.order_by(qs.union(qs.values(qs.all('catalog_tag'), 'name'), qs.values(qs.all('catalog_tag'), 'name')), 'id')) $$, '42P10', NULL, 'order_by a column not in the result: 42P10');
SELECT throws_ok($$ SELECT qs.json('{"model": "catalog_tag", "combinator": "union", "combined": [{"model": "catalog_tag"}]}') $$, '22023', NULL, 'one operand: 22023');

-- composite primary keys
CREATE TABLE pg_temp.kb (tenant_id int NOT NULL, id int NOT NULL, name text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE pg_temp.kt (tenant_id int NOT NULL, id int NOT NULL, board_id int, points int NOT NULL,
  PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, board_id) REFERENCES pg_temp.kb);
INSERT INTO pg_temp.kb SELECT t, b, 'board ' || b FROM generate_series(1, 3) t, generate_series(1, 3) b;
INSERT INTO pg_temp.kt SELECT t, i, CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + i % 3 END, i % 7
  FROM generate_series(1, 3) t, generate_series(1, 30) i;
CREATE FUNCTION pg_temp.keys(q jsonb) RETURNS SETOF text LANGUAGE sql
  AS $$ SELECT (r->>'tenant_id') || '-' || (r->>'id') FROM qs.rows(q) r $$;

SELECT is(qs.get('{"model": "pg_temp.kt", "where": {"pk": {"tenant_id": 2, "id": 7}}}') ->> 'points', '0', 'pk as an object');
SELECT is(qs.get('{"model": "pg_temp.kt", "where": {"pk": [3, 8]}}') ->> 'points', '1', 'pk as a list');
SELECT set_eq($$ SELECT pg_temp.keys('{"model": "pg_temp.kt", "where": {"pk__in": [[1, 2], [3, 30], [9, 9]]}}') $$,
              $$ VALUES ('1-2'), ('3-30') $$, 'pk__in with keys');
SELECT set_eq($$ SELECT pg_temp.keys('{"model": "pg_temp.kt", "where": {"pk__gt": [2, 25]}}') $$,
              $$ SELECT tenant_id || '-' || id FROM pg_temp.kt WHERE (tenant_id, id) > (2, 25) $$, 'pk__gt is a row comparison');
SELECT set_eq($$ SELECT pg_temp.keys('{"model": "pg_temp.kt", "where": {"$not": {"pk__lte": [1, 30]}}}') $$,
              $$ SELECT tenant_id || '-' || id FROM pg_temp.kt WHERE tenant_id > 1 $$, 'exclude pk__lte');
SELECT set_eq($$ SELECT pg_temp.keys('{"model": "pg_temp.kt", "where": {"kb": [2, 3]}}') $$,
              $$ SELECT tenant_id || '-' || id FROM pg_temp.kt WHERE tenant_id = 2 AND board_id = 3 $$, 'a composite foreign key compared directly');
SELECT is(qs.count('{"model": "pg_temp.kt", "where": {"kb__isnull": true}}'),
          (SELECT count(*) FROM pg_temp.kt WHERE board_id IS NULL), 'isnull of a composite foreign key');
SELECT results_eq($$ SELECT (r->>'n')::bigint FROM qs.rows('{"model": "pg_temp.kb", "annotate": {"n": {"Count": "kt"}}, "order_by": ["pk"]}') r $$,
                  $$ SELECT count(t.id) FROM pg_temp.kb b LEFT JOIN pg_temp.kt t ON t.tenant_id = b.tenant_id AND t.board_id = b.id
                     GROUP BY b.tenant_id, b.id ORDER BY b.tenant_id, b.id $$, 'Count through a reverse relation to a composite key');
SELECT is(qs.first('{"model": "pg_temp.kt"}') ->> 'id', '1', 'first() orders by every key column');
SELECT is(qs.last('{"model": "pg_temp.kt"}'), (SELECT to_jsonb(t) FROM pg_temp.kt t ORDER BY tenant_id DESC, id DESC LIMIT 1), 'last() reverses every key column');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(qs.in_bulk('{"model": "pg_temp.kb", "where": {"id": 1}}')) k),
          ARRAY['[1, 1]', '[2, 1]', '[3, 1]'], 'in_bulk keyed by the key''s JSON text');
SELECT is(qs.update('{"model": "pg_temp.kt", "where": {"pk__in": [[1, 1], [3, 1]]}}', '{"points": 100}'), 2::bigint, 'update by keys');
SELECT is((SELECT array_agg(points ORDER BY tenant_id) FROM pg_temp.kt WHERE id = 1), ARRAY[100, 1, 100], 'only those rows changed');
SELECT throws_ok($$ SELECT qs.count('{"model": "pg_temp.kt", "where": {"pk": [1]}}') $$, '22P02', NULL, 'a key of the wrong length: 22P02');
SELECT throws_ok($$ SELECT qs.count('{"model": "pg_temp.kt", "where": {"pk": {"F": "pk"}}}') $$, '0A000', NULL, 'a key compared with F(): 0A000');
SELECT throws_ok($$ SELECT qs.count('{"model": "pg_temp.kt", "where": {"pk__icontains": "1"}}') $$, '22023', NULL, 'another lookup on a key: 22023');

-- a spec's "use" methods chain before its projection and slice
-- (Product.objects.active().by_category("laptops").values("id", "price")[1:4])
SELECT qs.define_manager('catalog_product', 'sem_objects', '{"where": {"$not": {"status": "archived"}}}');
SELECT qs.define_method('catalog_product', 'sem_active', '{"where": {"status": "active"}}');
SELECT qs.define_method('catalog_product', 'sem_by_category', '{"where": {"category__slug": {"$param": "slug"}}}');
SELECT is(qs.json('{"model": "catalog_product", "manager": "sem_objects", "use": ["sem_active", {"sem_by_category": {"slug": "laptops"}}],
                    "values": ["id", "price"], "order_by": ["price", "id"], "limit": 3, "offset": 1}')::jsonb,
          (SELECT jsonb_agg(jsonb_build_object('id', id, 'price', price) ORDER BY price, id) FROM (
             SELECT p.id, p.price FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
              WHERE p.status = 'active' AND c.slug = 'laptops' ORDER BY p.price, p.id OFFSET 1 LIMIT 3) s),
          'use + values + limit/offset in one spec: methods first, then the projection and the slice');
SELECT is(qs.count('{"model": "catalog_product", "manager": "sem_objects", "use": ["sem_active"], "limit": 5}'), 5::bigint,
          'use + limit: count of the slice');

SELECT * FROM finish();
ROLLBACK;
