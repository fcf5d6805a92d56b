-- Keyset pagination: qs.page(q, after, size, before) and the "page" key.
-- Every ordering kind, ties, NULLs, composite keys, relations and
-- annotations; walking forwards and backwards equals the OFFSET walk;
-- inserts and deletes between pages; invalid cursors; the SQL and plan.

-- walk every page forwards / backwards (from the last page), and the
-- OFFSET walk a frozen table gives
CREATE FUNCTION pg_walk_forwards(q jsonb, sz int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb; cur text; acc jsonb := '[]'; n int := 0;
BEGIN
  LOOP
    p := qs.page(q, after => cur, size => sz);
    IF jsonb_array_length(p->'results') > sz THEN RAISE EXCEPTION 'page too long'; END IF;
    acc := acc || (p->'results');
    cur := p->>'next';
    n := n + 1;
    EXIT WHEN cur IS NULL;
    IF n > 10000 THEN RAISE EXCEPTION 'no end'; END IF;
  END LOOP;
  RETURN acc;
END $$;
CREATE FUNCTION pg_walk_backwards(q jsonb, sz int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE p jsonb; acc jsonb; n int := 0;
BEGIN
  p := qs.page(q, size => sz);
  WHILE p->>'next' IS NOT NULL LOOP p := qs.page(q, after => p->>'next', size => sz); END LOOP;
  acc := p->'results';
  WHILE p->>'previous' IS NOT NULL LOOP
    p := qs.page(q, before => p->>'previous', size => sz);
    IF jsonb_array_length(p->'results') <> sz THEN RAISE EXCEPTION 'a previous page of % rows', jsonb_array_length(p->'results'); END IF;
    acc := (p->'results') || acc;
    n := n + 1;
    IF n > 10000 THEN RAISE EXCEPTION 'no end'; END IF;
  END LOOP;
  RETURN acc;
END $$;
CREATE FUNCTION pg_walk_offset(q jsonb, sz int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE acc jsonb := '[]'; part jsonb; off int := 0;
BEGIN
  LOOP
    SELECT coalesce(jsonb_agg(r), '[]') INTO part FROM qs.rows(q || jsonb_build_object('offset', off, 'limit', sz)) r;
    EXIT WHEN jsonb_array_length(part) = 0;
    acc := acc || part;
    off := off + sz;
  END LOOP;
  RETURN acc;
END $$;
-- q's ordering with the primary key appended, as qs.page() orders
CREATE FUNCTION pg_with_pk(q jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT q || jsonb_build_object('order_by', coalesce(q->'order_by', '[]') || '["pk"]')
$$;
CREATE FUNCTION pg_check(q jsonb, sz int) RETURNS TABLE (rows int, forwards boolean, backwards boolean, unique_rows boolean)
LANGUAGE sql AS $$
  WITH w AS (SELECT pg_walk_offset(pg_with_pk(q), sz) AS off, pg_walk_forwards(q, sz) AS f, pg_walk_backwards(q, sz) AS b)
  SELECT jsonb_array_length(off), f = off, b = off,
         (SELECT count(DISTINCT e) = count(*) FROM jsonb_array_elements(f) e)
  FROM w
$$;

-- the envelope: results, next, previous; Django's default page size 20 is ours too
SELECT jsonb_array_length(p->'results') AS n, p->'results'->0 AS first_row,
       p->>'next' IS NOT NULL AS has_next, p->'previous' AS previous
FROM qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}') p;
SELECT p->'results' AS results, p->>'next' IS NOT NULL AS has_next, p->'previous' AS previous
FROM qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 3) p;
-- the next page starts after the last row, its previous page is the first again
SELECT p2->'results' AS page2,
       qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}',
               before => p2->>'previous', size => 3)->'results' AS back_to_page1
FROM (SELECT qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 3,
                     after => qs.page('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', size => 3)->>'next') AS p2) s;
-- the last page has no next; a queryset that fits one page has neither
SELECT p->'next' AS next, p->>'previous' IS NOT NULL AS has_previous, jsonb_array_length(p->'results') AS n
FROM qs.page('{"model": "catalog_category", "values": ["id"]}', size => 100) p;

-- every ordering kind, with ties and NULLs: walking forwards and backwards
-- returns every row once, equal to the OFFSET walk
SELECT count(*) FILTER (WHERE release_date IS NULL) AS null_dates, count(DISTINCT status) AS statuses,
       count(DISTINCT price) < count(*) AS price_ties FROM catalog_product;
SELECT 'pk (unordered)' AS ordering, * FROM pg_check('{"model": "catalog_product", "values": ["id"]}', 37)
UNION ALL SELECT 'price desc (ties)', * FROM pg_check('{"model": "catalog_product", "values": ["id", "price"], "order_by": ["-price"]}', 23)
UNION ALL SELECT 'status, -price', * FROM pg_check('{"model": "catalog_product", "values": ["id", "status", "price"], "order_by": ["status", "-price"]}', 50)
UNION ALL SELECT 'release_date (nulls last)', * FROM pg_check('{"model": "catalog_product", "values": ["id", "release_date"], "order_by": ["release_date"]}', 41)
UNION ALL SELECT '-release_date (nulls first)', * FROM pg_check('{"model": "catalog_product", "values": ["id", "release_date"], "order_by": ["-release_date"]}', 41)
UNION ALL SELECT 'release_date nulls_first', * FROM pg_check('{"model": "catalog_product", "values": ["id", "release_date"], "order_by": [{"F": "release_date", "nulls_first": true}, "-stock"]}', 29)
UNION ALL SELECT '-release_date nulls_last, status, -id', * FROM pg_check('{"model": "catalog_product", "values": ["id", "release_date", "status"], "order_by": [{"F": "release_date", "desc": true, "nulls_last": true}, "status", "-id"]}', 13)
UNION ALL SELECT 'category__name (forward relation)', * FROM pg_check('{"model": "catalog_product", "values": ["id", "category__name"], "order_by": ["category__name", "-created_at"]}', 64)
UNION ALL SELECT 'annotation (value)', * FROM pg_check('{"model": "catalog_product", "annotate": {"value": {"*": [{"F": "price"}, {"F": "stock"}]}}, "values": ["id", "value"], "order_by": ["-value"]}', 77)
UNION ALL SELECT 'expression', * FROM pg_check('{"model": "catalog_product", "values": ["id", "name", "stock"], "order_by": [{"expression": {"Length": "name"}, "desc": true}, "stock"]}', 90)
UNION ALL SELECT 'filtered, size 1', * FROM pg_check('{"model": "catalog_product", "where": {"stock__lt": 40}, "values": ["id", "stock"], "order_by": ["stock"]}', 1)
UNION ALL SELECT 'orders -created_at', * FROM pg_check('{"model": "shop_order", "values": ["id", "status", "created_at"], "order_by": ["status", "-created_at"]}', 100);

-- a composite primary key: the whole key breaks ties
CREATE TABLE pg_ledger (account int, seq int, amount numeric(10, 2), memo text, PRIMARY KEY (account, seq));
INSERT INTO pg_ledger SELECT 1 + g % 7, g, (g * 37 % 50)::numeric, CASE WHEN g % 5 = 0 THEN NULL ELSE 'm' || g % 3 END
FROM generate_series(1, 300) g;
SELECT 'ledger pk' AS ordering, * FROM pg_check('{"model": "pg_ledger", "values": ["account", "seq"]}', 17)
UNION ALL SELECT 'ledger -amount', * FROM pg_check('{"model": "pg_ledger", "values": ["account", "seq", "amount"], "order_by": ["-amount"]}', 17)
UNION ALL SELECT 'ledger memo, -amount', * FROM pg_check('{"model": "pg_ledger", "values": ["account", "seq", "memo"], "order_by": ["memo", "-amount"]}', 9);

-- the SQL: a row comparison when every key sorts one way, the expanded
-- form led by a bound on the first key otherwise; values are parameters
CREATE FUNCTION pg_page_sql(q jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT qs.sql(q || jsonb_build_object('page', jsonb_build_object('size', 20, 'after', qs.page(q, size => 2)->>'next')))
$$;
SELECT pg_page_sql('{"model": "catalog_product", "only": ["id"], "order_by": ["created_at"]}') AS row_comparison;
SELECT pg_page_sql('{"model": "catalog_product", "only": ["id"], "order_by": ["-created_at"]}') AS mixed;
SELECT pg_page_sql('{"model": "catalog_product", "only": ["id"], "order_by": ["release_date"]}') AS nulls_last;
SELECT pg_page_sql('{"model": "catalog_product", "only": ["id"]}') AS pk_only;
SELECT qs.sql('{"model": "catalog_product", "only": ["id"], "order_by": ["-created_at"], "page": {"size": 20}}') AS first_page;
SELECT qs.params('{"model": "catalog_product", "only": ["id"], "order_by": ["price"], "page": {"size": 20}}'::jsonb
  || jsonb_build_object('page', jsonb_build_object('size', 20, 'after',
       qs.page('{"model": "catalog_product", "only": ["id"], "order_by": ["price"]}', size => 2)->>'next'))) AS params;
-- the plan: the index on the ordering key is scanned from the boundary
CREATE FUNCTION pg_plan_facts(plan jsonb) RETURNS TABLE (node text, index_name text, index_cond text) LANGUAGE sql AS $$
  WITH RECURSIVE n(p) AS (SELECT plan UNION ALL SELECT c FROM n, jsonb_array_elements(n.p->'Plans') c)
  SELECT p->>'Node Type', p->>'Index Name', regexp_replace(p->>'Index Cond', '''[^'']*''', '<value>', 'g')
  FROM n WHERE p ? 'Index Name'
$$;
SELECT * FROM pg_plan_facts((SELECT qs.explain('{"model": "catalog_product", "only": ["id"], "order_by": ["-created_at"]}'::jsonb
  || jsonb_build_object('page', jsonb_build_object('size', 20, 'after',
       qs.page('{"model": "catalog_product", "only": ["id"], "order_by": ["-created_at"]}', size => 500)->>'next')))->0->'Plan'));
SELECT * FROM pg_plan_facts((SELECT qs.explain('{"model": "shop_order", "only": ["id"]}'::jsonb
  || jsonb_build_object('page', jsonb_build_object('size', 20, 'after',
       qs.page('{"model": "shop_order", "only": ["id"]}', size => 500)->>'next')))->0->'Plan'));

-- inserts and deletes between pages: the next page starts after the last
-- row seen; nothing is skipped or repeated
CREATE TABLE pg_feed (id bigint PRIMARY KEY, score int NOT NULL, title text NOT NULL);
INSERT INTO pg_feed SELECT g, g % 10, 'item ' || g FROM generate_series(1, 50) g;
CREATE TEMP TABLE pg_state AS SELECT qs.page('{"model": "pg_feed", "values": ["id", "score"], "order_by": ["-score"]}', size => 8) AS p;
SELECT p->'results' AS page1 FROM pg_state;
DELETE FROM pg_feed WHERE id IN (49, 39, 9);               -- the last row seen, one on the next page, one later
INSERT INTO pg_feed VALUES (100, 9, 'new, before the boundary'), (101, 8, 'new, after it'), (102, 1, 'new, far after');
SELECT qs.page('{"model": "pg_feed", "values": ["id", "score"], "order_by": ["-score"]}', after => p->>'next', size => 8)->'results' AS page2
FROM pg_state;
-- a page whose rows were all deleted is empty and still leads back
-- (forwards) or on (backwards), the boundary row included
CREATE TABLE pg_tiny (id int PRIMARY KEY);
INSERT INTO pg_tiny SELECT generate_series(1, 9);
CREATE TEMP TABLE pg_tiny_state AS
SELECT qs.page('{"model": "pg_tiny"}', size => 3)->>'next' AS after_3,
       qs.page('{"model": "pg_tiny"}', size => 3, after => qs.page('{"model": "pg_tiny"}', size => 3)->>'next')->>'previous' AS before_4;
DELETE FROM pg_tiny WHERE id >= 4;
SELECT p->'results' AS results, p->'next' AS next,
       qs.page('{"model": "pg_tiny"}', before => p->>'previous', size => 5)->'results' AS back
FROM pg_tiny_state, qs.page('{"model": "pg_tiny"}', after => after_3, size => 3) p;
INSERT INTO pg_tiny SELECT generate_series(4, 9);
DELETE FROM pg_tiny WHERE id <= 3;
SELECT p->'results' AS results, p->'previous' AS previous,
       qs.page('{"model": "pg_tiny"}', after => p->>'next', size => 5)->'results' AS on
FROM pg_tiny_state, qs.page('{"model": "pg_tiny"}', before => before_4, size => 3) p;

-- the "page" key: qs.rows, qs.json, qs.fetch and qs.cursor return the page's rows
SELECT qs.json(jsonb_build_object('model', 'pg_feed', 'values', '["id"]'::jsonb, 'order_by', '["-score"]'::jsonb,
                                  'page', jsonb_build_object('size', 4, 'after', p->>'next'))) AS json_after,
       (SELECT jsonb_agg(r) FROM qs.rows(jsonb_build_object('model', 'pg_feed', 'values', '["id"]'::jsonb, 'order_by', '["-score"]'::jsonb,
                                  'page', jsonb_build_object('size', 4, 'before', p2->>'previous'))) r) AS rows_before,
       qs.json(jsonb_build_object('model', 'pg_feed', 'values', '["id"]'::jsonb, 'order_by', '["-score"]'::jsonb,
                                  'page', jsonb_build_object('size', 4, 'before', p2->>'previous'))) AS json_before
FROM pg_state, qs.page('{"model": "pg_feed", "values": ["id", "score"], "order_by": ["-score"]}', after => p->>'next', size => 8) p2;
SELECT f.id, f.score FROM pg_state,
  qs.fetch(jsonb_build_object('model', 'pg_feed', 'order_by', '["-score"]'::jsonb,
                              'page', jsonb_build_object('size', 3, 'before',
                                qs.page('{"model": "pg_feed", "order_by": ["-score"]}', size => 6,
                                        after => qs.page('{"model": "pg_feed", "order_by": ["-score"]}', size => 6)->>'next')->>'previous')),
           NULL::pg_feed) f;
SELECT p->'results' = (SELECT jsonb_agg(r) FROM qs.rows('{"model": "pg_feed", "order_by": ["title"], "page": {"size": 5}}') r) AS rows_equal_page
FROM qs.page('{"model": "pg_feed", "order_by": ["title"]}', size => 5) p;
-- arguments win over the key
SELECT jsonb_array_length(qs.page('{"model": "pg_feed", "page": {"size": 2}}')->'results') AS from_key,
       jsonb_array_length(qs.page('{"model": "pg_feed", "page": {"size": 2}}', size => 4)->'results') AS from_argument;

-- a page prefetches per page: each order with its items, only this page's orders
-- (the relation is named "items" by sql/nested.sql; name it when this file runs alone)
DO $$ BEGIN PERFORM qs.name_relation('shop_order', 'shop_orderitem', 'items'); EXCEPTION WHEN undefined_column THEN NULL; END $$;  -- 42703: already named
SELECT jsonb_array_length(p->'results') AS orders,
       (SELECT sum(jsonb_array_length(o->'items')) FROM jsonb_array_elements(p->'results') o) AS items,
       (SELECT sum(jsonb_array_length(o->'items')) FROM jsonb_array_elements(p->'results') o) =
       (SELECT count(*) FROM shop_orderitem WHERE order_id IN (SELECT (o->>'id')::bigint FROM jsonb_array_elements(p->'results') o)) AS items_match
FROM qs.page('{"model": "shop_order", "only": ["id", "created_at"], "order_by": ["-created_at"],
               "prefetch_related": [{"path": "items", "queryset": {"only": ["id", "quantity"], "order_by": ["id"]}}]}', size => 10) p;

-- managers and methods chain before the page
SELECT qs.define_manager('pg_feed', 'high', '{"where": {"score__gte": 8}}');
SELECT p->'results' AS high_scores FROM qs.page('{"model": "pg_feed", "manager": "high", "values": ["id", "score"], "order_by": ["-score"]}', size => 50) p;

-- each page is one cached statement: the cursor's values are parameters
SELECT qs.plan_cache_reset();
SELECT jsonb_array_length(pg_walk_forwards('{"model": "catalog_product", "values": ["id"], "order_by": ["-price"]}', 100)) AS rows;
-- ten pages: the first page's statement, and one statement for the nine after it
SELECT hits, misses, entries FROM qs.plan_cache_stats();
-- after five custom plans the later pages' statement keeps its generic plan
-- (pg_queryset.plan_choice = auto, docs/performance.md): a page's boundary
-- only moves where the index scan starts
SELECT custom_plans, choice FROM qs.plan_choices() WHERE sql LIKE '%OPERATOR(pg_catalog.<=)%' ORDER BY 1;

-- invalid requests and cursors: 22023 (0A000 for what keysets cannot do)
\set VERBOSITY sqlstate
SELECT qs.page('{"model": "pg_feed"}', after => 'nonsense');
SELECT qs.page('{"model": "pg_feed"}', after => 'bm9uc2Vuc2U.AAAAAAAAAAAAAAAAAAAAAA');
SELECT qs.page('{"model": "pg_feed"}', after => '');
\set VERBOSITY default
-- an altered cursor (one character of its payload changed)
SELECT qs.page('{"model": "pg_feed", "order_by": ["-score"]}', after => overlay(c placing CASE WHEN substr(c, 5, 1) = 'A' THEN 'B' ELSE 'A' END from 5 for 1))
FROM (SELECT qs.page('{"model": "pg_feed", "order_by": ["-score"]}', size => 2)->>'next' AS c) s;
-- a cursor of another ordering, or another model
SELECT qs.page('{"model": "pg_feed", "order_by": ["score"]}', after => qs.page('{"model": "pg_feed", "order_by": ["-score"]}', size => 2)->>'next');
SELECT qs.page('{"model": "pg_ledger"}', after => qs.page('{"model": "pg_feed"}', size => 2)->>'next');
-- a next cursor passed as before, and the other way round
SELECT qs.page('{"model": "pg_feed"}', before => qs.page('{"model": "pg_feed"}', size => 2)->>'next');
SELECT qs.page('{"model": "pg_feed"}', after => p->>'previous')
FROM qs.page('{"model": "pg_feed"}', after => qs.page('{"model": "pg_feed"}', size => 2)->>'next', size => 2) p;
SELECT qs.page('{"model": "pg_feed"}', after => 'a.b', before => 'c.d');
SELECT qs.page('{"model": "pg_feed"}', size => 0);
SELECT qs.page('{"model": "pg_feed"}', size => 10001);
SELECT qs.page('{"model": "pg_feed", "page": {"size": 2.5}}');
SELECT qs.page('{"model": "pg_feed", "page": {"sise": 2}}');
SELECT qs.page('{"model": "pg_feed", "page": {"after": 7}}');
SELECT qs.page('{"model": "pg_feed", "limit": 10}');
SELECT qs.page('{"model": "pg_feed", "order_by": ["?"]}');
SELECT qs.page('{"model": "pg_feed", "distinct": true}');
SELECT qs.page('{"model": "pg_feed", "values": ["score"], "annotate": {"n": {"Count": "id"}}, "order_by": ["score"]}');
SELECT qs.page('{"model": "pg_feed", "combinator": "union", "combined": [{"model": "pg_feed"}, {"model": "pg_feed"}]}');
SELECT qs.page('{"model": "pg_feed", "$keyset": {"values": [1], "before": false, "inclusive": false}}');
SELECT qs.rows('{"model": "pg_feed", "$keyset": {"values": [1], "before": false, "inclusive": false}}');
SELECT qs.count('{"model": "pg_feed", "page": {"size": 2}}');
SELECT qs.first('{"model": "pg_feed", "page": {"size": 2}}');
SELECT qs.page(NULL);

-- tenant scoping: a page shows the current tenant's rows only
CREATE ROLE qs_pager_owner;
GRANT USAGE ON SCHEMA qs TO qs_pager_owner;
GRANT CREATE ON SCHEMA public TO qs_pager_owner;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO qs_pager_owner;
SET ROLE qs_pager_owner;
CREATE TABLE pg_tdoc (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, title text NOT NULL);
INSERT INTO pg_tdoc SELECT g, 1 + g % 3, 'doc ' || g FROM generate_series(1, 30) g;
SELECT qs.enable_tenant_scoping('pg_tdoc');
BEGIN;
SELECT qs.set_tenant('2');
SELECT pg_walk_forwards('{"model": "pg_tdoc", "values": ["id", "tenant_id"], "order_by": ["-title"]}', 4) AS tenant_2_pages;
COMMIT;
SELECT qs.page('{"model": "pg_tdoc"}') AS no_tenant;
RESET ROLE;
DROP TABLE pg_tdoc;
REVOKE ALL ON SCHEMA qs FROM qs_pager_owner;
REVOKE ALL ON SCHEMA public FROM qs_pager_owner;
REVOKE ALL ON FUNCTION qs.set_tenant(text, boolean) FROM qs_pager_owner;
DROP ROLE qs_pager_owner;

SELECT qs.drop_manager('pg_feed', 'high');
DROP TABLE pg_feed, pg_ledger, pg_tiny;
DROP FUNCTION pg_walk_forwards, pg_walk_backwards, pg_walk_offset, pg_with_pk, pg_check, pg_page_sql, pg_plan_facts;

-- pg_queryset.max_rows (docs/guards.md): a page larger than the limit fails,
-- or with max_rows_action = truncate is read at the limit's size (and a
-- WARNING); its next cursor continues after the shortened page
SET pg_queryset.max_rows = 5;
SELECT jsonb_array_length(qs.page('{"model": "catalog_category"}', size => 5)->'results') AS at_the_limit;
SELECT qs.page('{"model": "catalog_category"}', size => 6);
SET pg_queryset.max_rows_action = truncate;
SELECT jsonb_array_length(p->'results') AS n, p->'results'->4->'id' AS last_id,
       qs.page('{"model": "catalog_category", "values": ["id"]}', after => p->>'next', size => 3)->'results' AS next_page
FROM qs.page('{"model": "catalog_category", "values": ["id"]}', size => 8) p;
RESET pg_queryset.max_rows;
RESET pg_queryset.max_rows_action;
