-- Re-entrancy (security review, finding 1): every qs entry point that can
-- run user code while it is active -- column defaults, triggers, check
-- constraints, functions in views, cursors fetched later -- may be called
-- again by that code, and neither call may see the other's state.  The
-- first case crashed the server (SIGSEGV) before the COPY feed of
-- src/bulkload.c was kept per call.
CREATE SCHEMA re;
SET search_path = re, public;

-- 1. bulk_create's COPY path inside bulk_create's COPY path: a column
-- default inserts into another table through qs.bulk_create
CREATE TABLE re_a (id serial PRIMARY KEY, v text);
CREATE FUNCTION re_f() RETURNS text LANGUAGE sql
  AS $$ SELECT qs.bulk_create('re.re_a', '[{"v": "inner"}]')::text $$;
CREATE TABLE re_b (id serial PRIMARY KEY, v text, w text DEFAULT re.re_f());
SELECT qs.bulk_create('re_b', '[{"v": "y"}, {"v": "z"}, {"v": "q"}]');
SELECT * FROM re_b ORDER BY id;
SELECT * FROM re_a ORDER BY id;
-- the same through the temporary schema, as the review wrote it
CREATE TEMP TABLE a (id serial PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.f() RETURNS text LANGUAGE sql AS $$ SELECT qs.bulk_create('pg_temp.a','[{"v":"x"}]')::text $$;
CREATE TEMP TABLE b (id serial PRIMARY KEY, v text, w text DEFAULT pg_temp.f());
SELECT qs.bulk_create('pg_temp.b','[{"v":"y"}]');
SELECT * FROM pg_temp.b;

-- 2. the inner COPY fails and its error is caught inside the outer COPY
-- (a PL/pgSQL exception block in the default): the outer COPY goes on
-- reading its own rows
CREATE TABLE re_strict (id serial PRIMARY KEY, n integer NOT NULL CHECK (n > 0));
CREATE FUNCTION re_try() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM qs.bulk_create('re.re_strict', '[{"n": 1}, {"n": -1}]');
  RETURN 'inner ok';
EXCEPTION WHEN check_violation THEN
  RETURN 'inner failed: ' || SQLSTATE;
END $$;
CREATE TABLE re_c (id serial PRIMARY KEY, v text, w text DEFAULT re.re_try());
SELECT qs.bulk_create('re_c', '[{"v": "1"}, {"v": "2"}, {"v": "3"}, {"v": "4"}]');
SELECT * FROM re_c ORDER BY id;
SELECT count(*) AS strict_rows FROM re_strict;

-- 3. three levels deep, through an AFTER trigger (the COPY path keeps
-- AFTER triggers) and a default; batches of 2 so the outer COPY is
-- restarted between nested ones
CREATE TABLE re_log (id serial PRIMARY KEY, what text);
CREATE FUNCTION re_log_default() RETURNS text LANGUAGE sql
  AS $$ SELECT qs.bulk_create('re.re_log', '[{"what": "level 3"}]', '{"returning": []}')::text $$;
CREATE TABLE re_mid (id serial PRIMARY KEY, what text, n text DEFAULT re.re_log_default());
CREATE FUNCTION re_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM qs.bulk_create('re.re_mid', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('what', 'level 2 for ' || NEW.v)));
  RETURN NULL;
END $$;
CREATE TABLE re_top (id serial PRIMARY KEY, v text);
CREATE TRIGGER re_top_after AFTER INSERT ON re_top FOR EACH ROW EXECUTE FUNCTION re_trg();
SELECT qs.bulk_create('re_top', '[{"v": "a"}, {"v": "b"}, {"v": "c"}, {"v": "d"}, {"v": "e"}]', '{"batch_size": 2}');
SELECT * FROM re_mid ORDER BY id;
SELECT count(*) AS level3 FROM re_log;

-- 4. the statement path of bulk_create, bulk_update and update, each
-- nested in itself through a trigger on another table
CREATE TABLE re_audit (id serial PRIMARY KEY, product integer, stock integer);
CREATE FUNCTION re_stock_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM qs.bulk_create('re.re_audit', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('product', NEW.id, 'stock', NEW.stock)),
                         '{"ignore_conflicts": true}');
  RETURN NEW;
END $$;
CREATE TABLE re_product (id integer PRIMARY KEY, stock integer NOT NULL);
INSERT INTO re_product SELECT g, 10 FROM generate_series(1, 5) g;
CREATE TRIGGER re_product_upd BEFORE UPDATE ON re_product FOR EACH ROW EXECUTE FUNCTION re_stock_trg();
SELECT qs.update('{"model": "re.re_product", "where": {"id__lte": 3}}', '{"stock": {"-": [{"F": "stock"}, 1]}}');
SELECT qs.bulk_update('re_product', '[{"id": 4, "stock": 7}, {"id": 5, "stock": 8}]', '{stock}', '{"batch_size": 1}');
SELECT product, stock FROM re_audit ORDER BY id;
-- create (with nested children), get_or_create, update_or_create and
-- delete, each running a trigger that calls another qs write
CREATE TABLE re_order (id serial PRIMARY KEY, note text);
CREATE TABLE re_line (id serial PRIMARY KEY, re_order_id integer NOT NULL REFERENCES re_order (id), qty integer NOT NULL);
CREATE FUNCTION re_line_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM qs.update(pg_catalog.jsonb_build_object('model', 're.re_product', 'where', pg_catalog.jsonb_build_object('id', NEW.qty)),
                    '{"stock": {"-": [{"F": "stock"}, 1]}}');
  IF TG_OP = 'DELETE' THEN
    PERFORM qs.bulk_create('re.re_audit', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('product', OLD.qty, 'stock', -1)));
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER re_line_ins BEFORE INSERT OR DELETE ON re_line FOR EACH ROW EXECUTE FUNCTION re_line_trg();
SELECT qs.create('re_order', '{"note": "first", "re_line": [{"qty": 1}, {"qty": 2}]}') ? 'id' AS created_with_lines;
SELECT (qs.get_or_create('re_line', '{"re_order_id": 1, "qty": 3}')).created AS got_created;
SELECT (qs.update_or_create('re_line', '{"re_order_id": 1, "qty": 4}', '{"qty": 4}')).created AS upd_created;
SELECT qs.delete('{"model": "re.re_line", "where": {"qty__in": [1, 2]}}') AS deleted;
SELECT id, stock FROM re_product ORDER BY id;
SELECT product, stock FROM re_audit WHERE stock = -1 ORDER BY product;

-- 5. a read terminal whose rows call the same terminal, with the same
-- statement shape, three levels deep: the cached plan is busy while it is
-- asked for again
CREATE TABLE re_node (id integer PRIMARY KEY, parent integer);
INSERT INTO re_node VALUES (1, NULL), (2, 1), (3, 2), (4, 3);
SET check_function_bodies = off;   -- the function and the view name each other
CREATE FUNCTION re_parent_json(p integer) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT CASE WHEN p IS NULL THEN NULL
                    ELSE qs.json(qs.filter(qs.all('re.re_tree'), pg_catalog.jsonb_build_object('id', p))) END $$;
RESET check_function_bodies;
CREATE VIEW re_tree AS SELECT n.id, n.parent, re.re_parent_json(n.parent) AS up FROM re_node n;
SELECT qs.json(qs.filter(qs.all('re_tree'), '{"id": 4}'));
SELECT qs.count(qs.filter(qs.all('re_tree'), '{"id__gte": 2}')) AS counted;

-- typed rows and set-returning terminals, nested the same way
SELECT id, (up IS NOT NULL) AS has_up FROM qs.fetch(qs.order_by(qs.all('re_tree'), 'id'), NULL::re.re_tree);
SELECT count(*) AS rows_nested FROM qs.rows(qs.all('re_tree'));

-- 6. a cursor fetched later, whose rows call qs terminals (the same
-- shape as the cursor's own statement) while the portal is open
BEGIN;
SELECT qs.cursor(qs.order_by(qs.all('re_tree'), 'id'), 're_cur');
FETCH 2 FROM re_cur;
SELECT qs.count(qs.all('re_tree')) AS while_open;
FETCH ALL FROM re_cur;
COMMIT;

-- 7. room for one shape and one plan: every nested call evicts the
-- outer call's shape and finds its plan busy (the outer one then runs
-- uncached), through a view and through a CHECK constraint on writes
CREATE FUNCTION re_check(v text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT qs.count(qs.filter(qs.all('re.re_node'), pg_catalog.jsonb_build_object('id__gte', pg_catalog.length(v)))) >= 0 $$;
CREATE TABLE re_coded (id int PRIMARY KEY, code text CHECK (re.re_check(code)), n int);
SET pg_queryset.plan_cache_size = 1;
SELECT qs.bulk_create('re_coded', '[{"id": 1, "code": "a", "n": 10}, {"id": 2, "code": "bb", "n": 20}]');
SELECT qs.update('{"model": "re.re_coded", "where": {"code": "a"}}', '{"code": "ccc"}');
SELECT qs.bulk_update('re_coded', '[{"id": 2, "code": "dddd"}]', '{code}');
SELECT qs.json(qs.order_by(qs.all('re_coded'), 'id'));
SELECT qs.json(qs.filter(qs.all('re_tree'), '{"id": 4}'))::jsonb = qs.json(qs.filter(qs.all('re_tree'), '{"id": 4}'))::jsonb AS same_twice;
SELECT qs.count(qs.filter(qs.all('re_tree'), '{"id__gte": 2}')) AS counted_small_cache;
RESET pg_queryset.plan_cache_size;

-- 8. the plan cache and the statement counters are whole afterwards:
-- the same calls again give the same results
SELECT qs.json(qs.filter(qs.all('re_tree'), '{"id": 3}')) ::jsonb = re_parent_json(3) AS same_again;
SET pg_queryset.query_stats = on;
SELECT qs.query_stats_reset();
SELECT qs.count(qs.filter(qs.all('re_tree'), '{"id__gte": 2}')) AS counted_again;
SELECT (s->>'statements')::int AS top_level, (s->>'nested_statements')::int > 3 AS nested_counted
FROM (SELECT qs.query_stats() AS s) x;
RESET pg_queryset.query_stats;

RESET search_path;
DROP SCHEMA re CASCADE;
