-- Query statistics, N+1 detection and query budgets (DESIGN.md §7),
-- driven by a real client loop: psql's \gexec sends each generated
-- statement to the server on its own, as an ORM loop does.
SELECT qs.query_stats_reset();
SELECT count(qs.name_relation('shop_order', r.name, 'items')) >= 0 AS named
FROM qs.relations('shop_order') r WHERE r.target = 'shop_orderitem'::regclass AND r.name <> 'items';
-- everything is off by default: the hooks only pass control on
SELECT qs.query_stats()->'enabled' AS enabled;
SHOW pg_queryset.nplusone;
SHOW pg_queryset.nplusone_threshold;
SHOW pg_queryset.query_budget;

-- counting: top-level statements (what the client sent) and nested ones
-- (the statement qs.json runs inside) apart; one shape per query id
SET pg_queryset.query_stats = on;
SELECT qs.query_stats_reset();
SELECT count(*) FROM catalog_product WHERE id = 1;
SELECT count(*) FROM catalog_product WHERE id = 2;
SELECT count(*) FROM catalog_product WHERE id = 3;
SELECT length(qs.json('{"model": "catalog_tag", "where": {"id__lte": 3}}')::text) > 0 AS fetched;
SELECT s->'statements' AS statements, s->'nested_statements' AS nested, s->'shapes' AS shapes,
       s->'top'->0->'calls' AS top_calls, s->'top'->0->>'sample' AS top_sample
FROM qs.query_stats(1) s;

-- the naive N+1 loop: one statement per order of user 7 (29 orders)
SELECT qs.query_stats_reset();
\set VERBOSITY terse
BEGIN;
SET LOCAL pg_queryset.nplusone = warn;
SELECT format('SELECT count(*) AS items FROM shop_orderitem WHERE order_id = %s', id) FROM shop_order WHERE user_id = 7 ORDER BY id
\gexec
COMMIT;
SELECT s->'top'->0->'calls' AS loop_calls, s->'top'->0->>'sample' AS loop_shape FROM qs.query_stats(1) s;
-- the same loop in error mode stops at the 11th statement
BEGIN;
SET LOCAL pg_queryset.nplusone = error;
SELECT format('SELECT count(*) AS items FROM shop_orderitem WHERE order_id = %s', id) FROM shop_order WHERE user_id = 7 ORDER BY id LIMIT 12
\gexec
ROLLBACK;
-- a threshold of 3
BEGIN;
SET LOCAL pg_queryset.nplusone = error;
SET LOCAL pg_queryset.nplusone_threshold = 3;
SELECT format('SELECT count(*) AS items FROM shop_orderitem WHERE order_id = %s', id) FROM shop_order WHERE user_id = 7 ORDER BY id LIMIT 4
\gexec
ROLLBACK;

-- a budget of 5 statements: the loop fails it, one qs.json with
-- prefetch_related fetching the same graph passes it
BEGIN;
SET LOCAL pg_queryset.query_budget = 5;
SELECT format('SELECT count(*) AS items FROM shop_orderitem WHERE order_id = %s', id) FROM shop_order WHERE user_id = 7 ORDER BY id LIMIT 8
\gexec
ROLLBACK;
BEGIN;
SET LOCAL pg_queryset.query_budget = 5;
SELECT jsonb_array_length(qs.json('{"model": "shop_order", "where": {"user": 7}, "only": ["id"], "prefetch_related": ["items"]}')::jsonb) AS orders,
       (SELECT sum(jsonb_array_length(o->'items')) FROM jsonb_array_elements(qs.json('{"model": "shop_order", "where": {"user": 7}, "only": ["id"],
          "prefetch_related": ["items"]}')::jsonb) o) AS items;
COMMIT;
-- each transaction has its own budget
SET pg_queryset.query_budget = 1;
SELECT 1 AS one;
SELECT 2 AS two;
RESET pg_queryset.query_budget;
\set VERBOSITY default
SET pg_queryset.nplusone = 'sometimes';
SET pg_queryset.nplusone_threshold = 0;
SET pg_queryset.query_stats = off;
