-- The plan cache: one saved plan per spec shape, reused across values,
-- invalidated when a table changes, bounded with LRU eviction.
SELECT qs.plan_cache_reset();
SELECT hits, misses, entries FROM qs.plan_cache_stats();

-- first call prepares (miss), the same shape with other values hits
SELECT qs.count('{"model": "catalog_product", "where": {"price__gte": 10}}');
SELECT hits, misses, entries FROM qs.plan_cache_stats();
SELECT qs.count('{"model": "catalog_product", "where": {"price__gte": 500}}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__gte": 2000.5}}');
SELECT hits, misses, entries FROM qs.plan_cache_stats();

-- the SQL text does not contain values, so it is the same for both
SELECT qs.sql('{"model": "catalog_product", "where": {"price__gte": 10}}')
     = qs.sql('{"model": "catalog_product", "where": {"price__gte": 500}}') AS same_shape;
SELECT qs.params('{"model": "catalog_product", "where": {"price__gte": 10, "name__startswith": "x%"}}');

-- in-lists of any length share one shape (one array parameter)
SELECT qs.plan_cache_reset();
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": [1, 2, 3]}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": [4, 5, 6, 7, 8, 9, 10]}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": []}}');
SELECT hits, misses, entries FROM qs.plan_cache_stats();

-- different terminals are different statements
SELECT qs.plan_cache_reset();
SELECT qs.exists('{"model": "catalog_product", "where": {"id": 1}}');
SELECT (qs.first('{"model": "catalog_product", "where": {"id": 1}}'))->>'id' AS first_id;
SELECT hits, misses, entries FROM qs.plan_cache_stats();

-- ALTER TABLE invalidates the entries that read the table
SELECT qs.plan_cache_reset();
CREATE TABLE pc_widget (id bigint PRIMARY KEY, name text NOT NULL, size int);
INSERT INTO pc_widget SELECT g, 'w' || g, g % 7 FROM generate_series(1, 50) g;
SELECT qs.json('{"model": "pc_widget", "where": {"id": 3}}');
SELECT qs.json('{"model": "pc_widget", "where": {"id": 4}}');
SELECT qs.count('{"model": "catalog_tag"}');
SELECT hits, misses, entries, invalidations FROM qs.plan_cache_stats();
ALTER TABLE pc_widget ADD COLUMN color text DEFAULT 'blue';
-- the new column appears at once, the stale plan is dropped, the
-- catalog_tag plan survives
SELECT qs.json('{"model": "pc_widget", "where": {"id": 3}}');
SELECT hits, misses, entries, invalidations FROM qs.plan_cache_stats();
SELECT qs.count('{"model": "catalog_tag"}');
SELECT hits, misses, entries, invalidations FROM qs.plan_cache_stats();
ALTER TABLE pc_widget DROP COLUMN size;
SELECT qs.json('{"model": "pc_widget", "where": {"id": 3}}');
SELECT qs.json('{"model": "pc_widget", "where": {"size": 3}}');
DROP TABLE pc_widget;
SELECT qs.json('{"model": "pc_widget"}');

-- bounded: pg_queryset.plan_cache_size entries, least recently used evicted
SELECT qs.plan_cache_reset();
SET pg_queryset.plan_cache_size = 3;
SELECT qs.count('{"model": "catalog_product", "where": {"id": 1}}');
SELECT qs.count('{"model": "catalog_product", "where": {"slug": "x"}}');
SELECT qs.count('{"model": "catalog_product", "where": {"stock": 1}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id": 2}}');      -- hit, now most recent
SELECT qs.count('{"model": "catalog_product", "where": {"status": "x"}}'); -- evicts "slug"
SELECT hits, misses, entries, evictions, capacity FROM qs.plan_cache_stats();
SELECT qs.count('{"model": "catalog_product", "where": {"id": 3}}');      -- still cached
SELECT qs.count('{"model": "catalog_product", "where": {"slug": "y"}}');  -- was evicted
SELECT hits, misses, entries, evictions FROM qs.plan_cache_stats();
-- 0 disables caching
SET pg_queryset.plan_cache_size = 0;
SELECT qs.plan_cache_reset();
SELECT qs.count('{"model": "catalog_product", "where": {"id": 1}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id": 1}}');
SELECT hits, misses, entries FROM qs.plan_cache_stats();
RESET pg_queryset.plan_cache_size;

-- many distinct shapes never grow the cache past its capacity
SET pg_queryset.plan_cache_size = 20;
SELECT qs.plan_cache_reset();
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..200 LOOP
    PERFORM qs.count(jsonb_build_object('model', 'catalog_product',
        'where', jsonb_build_object('$or', (SELECT jsonb_agg(jsonb_build_object('id', g)) FROM generate_series(1, i % 60 + 1) g))));
  END LOOP;
END $$;
SELECT entries <= 20 AS bounded, evictions > 0 AS evicted FROM qs.plan_cache_stats();
RESET pg_queryset.plan_cache_size;

-- the GUC prefix is reserved
SET pg_queryset.no_such_setting = 1;

-- The shape cache: a repeated shape skips SQL generation; the parameters
-- are recomputed from the new values by the producers recorded the first
-- time.  Results must be exactly those of a fresh compile.
SELECT qs.plan_cache_reset();
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"status": "active", "price__range": [10, 20]}')) AS a,
       qs.count(qs.filter(qs.all('catalog_product'), '{"status": "draft", "price__range": [100, 2000]}')) AS b,
       (SELECT count(*) FROM catalog_product WHERE status = 'draft' AND price BETWEEN 100 AND 2000) AS b_expected;
SELECT shape_hits, shape_misses, shape_entries FROM qs.plan_cache_stats();
-- LIKE escaping is recomputed for every value
SELECT qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"name__contains": "100%"}'), 'id'), '{id}', flat => true)) AS pct,
       qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"name__contains": "_C"}'), 'id'), '{id}', flat => true)) AS underscore,
       qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"name__contains": "\\"}'), 'id'), '{id}', flat => true)) AS backslash;
-- in-lists: nulls dropped, any length
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": [1, null, 3]}}') AS two,
       qs.count('{"model": "catalog_product", "where": {"id__in": [5, 6, 7]}}') AS three;
-- isnull true and false are different shapes
SELECT qs.count('{"model": "catalog_product", "where": {"release_date__isnull": true}}') AS no_date,
       qs.count('{"model": "catalog_product", "where": {"release_date__isnull": false}}') AS with_date;
-- {"Value": x} and slices
SELECT qs.json(qs.values_list(qs.slice(qs.order_by(qs.filter(qs.all('catalog_tag'), '{"id__gt": {"Value": 3}}'), 'id'), 1, 3), '{id}', flat => true)) AS a,
       qs.json(qs.values_list(qs.slice(qs.order_by(qs.filter(qs.all('catalog_tag'), '{"id__gt": {"Value": 10}}'), 'id'), 2, 5), '{id}', flat => true)) AS b;
-- first / last / get / earliest on cached shapes
SELECT qs.first(qs.filter(qs.all('shop_order'), '{"user_id": 3}'))->>'id' AS first_3,
       qs.first(qs.filter(qs.all('shop_order'), '{"user_id": 4}'))->>'id' AS first_4,
       (SELECT min(id) FROM shop_order WHERE user_id = 4) AS expected;
SELECT qs.last(qs.filter(qs.all('shop_order'), '{"user_id": 3}'))->>'id' AS last_3,
       qs.last(qs.filter(qs.all('shop_order'), '{"user_id": 4}'))->>'id' AS last_4,
       (SELECT max(id) FROM shop_order WHERE user_id = 4) AS expected;
SELECT qs.get(qs.all('auth_user'), '{"username": "user0003"}')->>'id' AS u3,
       qs.get(qs.all('auth_user'), '{"username": "user0004"}')->>'id' AS u4;
SELECT qs.get(qs.all('auth_user'), '{"username": "nobody"}');
SELECT qs.earliest(qs.filter(qs.all('shop_order'), '{"user_id": 5}'), 'created_at')->>'id' AS e5,
       qs.earliest(qs.filter(qs.all('shop_order'), '{"user_id": 6}'), 'created_at')->>'id' AS e6,
       (SELECT id FROM shop_order WHERE user_id = 6 ORDER BY created_at LIMIT 1) AS expected;
SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'slug'), '[1, 2]') AS first_ids,
       qs.in_bulk(qs.only(qs.all('catalog_tag'), 'slug'), '[3]') AS other_ids;
-- a bad value on a cached shape gets the same error as on a fresh one
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": 5}}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": "five"}}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__range": [1, 2]}}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__range": [1, null]}}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": 5}, "limit": 3}');
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": 5}, "limit": -3}');
SELECT shape_hits > 0 AS hits, shape_entries > 0 AS entries FROM qs.plan_cache_stats();
-- a new relation that shadows a model name is seen at once
SELECT qs.count('{"model": "catalog_tag"}') AS public_tags;
-- (temporary tables come first in every search_path)
CREATE TEMP TABLE catalog_tag (id bigint PRIMARY KEY, name text, slug text);
SELECT qs.count('{"model": "catalog_tag"}') AS temp_tags;
DROP TABLE pg_temp.catalog_tag;
SELECT qs.count('{"model": "catalog_tag"}') AS public_tags_again;
-- plan choice (pg_queryset.plan_choice = auto, docs/performance.md): a
-- statement that compares a skewed column with a parameter stays on
-- custom plans once PostgreSQL has costed a generic plan; a primary-key
-- lookup is left to PostgreSQL (it goes generic)
CREATE TABLE pc_skew (id bigint PRIMARY KEY, status text NOT NULL, qty int NOT NULL);
INSERT INTO pc_skew
  SELECT g, CASE WHEN g % 10 < 8 THEN 'common' WHEN g % 10 = 8 THEN 'rare' ELSE 'odd' END, g % 50
  FROM generate_series(1, 20000) g;
CREATE INDEX pc_skew_status ON pc_skew (status);
ANALYZE pc_skew;
SELECT qs.plan_cache_reset();
CREATE FUNCTION pg_temp.skew(n int) RETURNS json LANGUAGE sql
  AS $$ SELECT qs.json(jsonb_build_object('model', 'pc_skew', 'only', jsonb_build_array('id'),
                        'where', jsonb_build_object('status', 'common', 'qty__lte', n))) $$;
CREATE FUNCTION pg_temp.pk(n int) RETURNS json LANGUAGE sql
  AS $$ SELECT qs.json(jsonb_build_object('model', 'pc_skew', 'where', jsonb_build_object('id', n))) $$;
CREATE VIEW pg_temp.choices AS
  SELECT CASE WHEN sql LIKE '%WHERE%status%' THEN 'skewed' ELSE 'pk' END AS stmt, custom_plans,
         generic_cost IS NOT NULL AS costed, choice
  FROM qs.plan_choices();
-- five custom plans, then PostgreSQL costs a generic one
SELECT count(pg_temp.skew(n)) AS skew_calls, count(pg_temp.pk(n)) AS pk_calls FROM generate_series(1, 6) n;
SELECT * FROM pg_temp.choices ORDER BY stmt;
-- the next call judges: custom plans from then on for the skewed statement
SELECT count(pg_temp.skew(n)) AS skew_calls, count(pg_temp.pk(n)) AS pk_calls FROM generate_series(1, 4) n;
SELECT * FROM pg_temp.choices ORDER BY stmt;
-- values change, results follow (a custom plan per call, never a stale one)
SELECT json_array_length(pg_temp.skew(0)) AS qty0, json_array_length(pg_temp.skew(49)) AS qty49,
       (SELECT count(*) FROM pc_skew WHERE status = 'common') AS common;
-- plan_cache_mode still decides first
SET plan_cache_mode = force_generic_plan;
SELECT count(pg_temp.skew(n)) FROM generate_series(1, 3) n;
SELECT * FROM pg_temp.choices WHERE stmt = 'skewed';
RESET plan_cache_mode;
-- pg_queryset.plan_choice = postgres releases the statement
SET pg_queryset.plan_choice = postgres;
SELECT count(pg_temp.skew(n)) FROM generate_series(1, 2) n;
SELECT * FROM pg_temp.choices WHERE stmt = 'skewed';
RESET pg_queryset.plan_choice;
SELECT count(pg_temp.skew(n)) FROM generate_series(1, 2) n;
SELECT * FROM pg_temp.choices WHERE stmt = 'skewed';
DROP TABLE pc_skew;
