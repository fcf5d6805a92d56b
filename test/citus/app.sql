-- The scale-out suite as the application login (qs_app, tokens): tenant
-- isolation of every read and write path on distributed, reference and
-- local tables, with no tenant, the own tenant, another tenant and a
-- forged token; result and key order across shards; the COPY path;
-- composite keys; one-shard routing.  test/citus.sh runs it with
-- pg_prove against the coordinator of a Citus cluster (setup.sql).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
SELECT no_plan();

-- the number of tasks (shards) of a qs statement, from EXPLAIN (helpers
-- of this session: Citus says it creates them locally only)
SET LOCAL client_min_messages = error;
CREATE FUNCTION pg_temp.tasks(spec jsonb) RETURNS int LANGUAGE sql AS $$
  SELECT max(t::text::int) FROM jsonb_path_query(qs.explain(spec)::jsonb, 'strict $.**."Task Count"') t
$$;
CREATE FUNCTION pg_temp.ids(j json) RETURNS bigint[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg((e->>'id')::bigint ORDER BY o), '{}') FROM json_array_elements(j) WITH ORDINALITY x(e, o)
$$;
CREATE FUNCTION pg_temp.jids(j jsonb) RETURNS bigint[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg((e->>'id')::bigint ORDER BY o), '{}') FROM jsonb_array_elements(j) WITH ORDINALITY x(e, o)
$$;
-- a query run on its own: a single-shard query around a pgTAP call would
-- be sent to the worker whole, pgTAP call included
CREATE FUNCTION pg_temp.q(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN EXECUTE sql INTO r; RETURN r; END $$;
SET LOCAL client_min_messages = warning;

-- ---------------------------------------------------------------------
-- no tenant: nothing to read, every write refused
-- ---------------------------------------------------------------------
SELECT is((SELECT count(*) FROM shop_order), 0::bigint, 'no tenant: a distributed table shows no row');
SELECT is((SELECT count(*) FROM shop_tenant_setting), 0::bigint, 'no tenant: a scoped reference table shows no row');
SELECT is((SELECT count(*) FROM shop_note), 0::bigint, 'no tenant: a scoped local table shows no row');
SELECT is(qs.count('{"model": "shop_order"}'), 0::bigint, 'no tenant: qs.count is 0');
SELECT throws_ok($$INSERT INTO shop_order VALUES (5, 9001, 1, 'new', now())$$, '42501', NULL,
                 'no tenant: a plain INSERT is refused');
SELECT throws_ok($$SELECT qs.create('shop_customer', '{"tenant_id": 5, "id": 9001, "name": "n", "email": "e"}')$$, '42501', NULL,
                 'no tenant: qs.create is refused');
SELECT throws_ok($$SELECT qs.update('{"model": "shop_order"}', '{"note": "x"}')$$, '42501', NULL, 'no tenant: qs.update is refused');

-- ---------------------------------------------------------------------
-- a forged token: refused, and set behind the function's back it is no tenant
-- ---------------------------------------------------------------------
SELECT throws_ok($$SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 'forged'$$, '28000', 'invalid tenant token',
                 'a forged token is refused');
SELECT is((SELECT count(*) FROM (SELECT set_config('pg_queryset.tenant_token', token, true) FROM citus_token WHERE name = 'forged') s),
          1::bigint, 'a forged token set with set_config()');
SELECT is((SELECT count(*) FROM shop_order), 0::bigint, 'forged token: plain SQL reads no row');
SELECT is(qs.count('{"model": "shop_order"}'), 0::bigint, 'forged token: qs reads no row');
SELECT throws_ok($$UPDATE shop_order SET note = 'forged'$$, '42501', NULL, 'forged token: a plain UPDATE is refused');
SELECT qs.reset_tenant();

-- a token set with set_config() is the coordinator's only: Citus does not
-- carry it, so the workers see no tenant (fail closed), never another
SELECT is((SELECT count(*) FROM (SELECT set_config('pg_queryset.tenant_token', token, true) FROM citus_token WHERE name = 't5') s),
          1::bigint, 'a valid token set with set_config()');
SELECT is((SELECT count(*) FROM shop_order WHERE tenant_id <> 5), 0::bigint, 'set_config: no other tenant''s row');
SELECT qs.reset_tenant();

-- ---------------------------------------------------------------------
-- the own tenant (qs.set_tenant_token): its rows on every kind of table
-- ---------------------------------------------------------------------
SELECT is((SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5'), '5', 'tenant 5 from its token');
SELECT is((SELECT count(*) FROM shop_order), 400::bigint, 'tenant 5: plain SQL sees its 400 orders');
SELECT is(pg_temp.q('SELECT count(*) FROM shop_order WHERE tenant_id = 6'), 0::bigint, 'tenant 5: plain SQL sees none of tenant 6');
SELECT is((SELECT count(DISTINCT tenant_id) FROM shop_orderitem), 1::bigint, 'tenant 5: one tenant in a scan of every shard');
SELECT is((SELECT array_agg(value) FROM shop_tenant_setting), ARRAY['theme-5'], 'tenant 5: its row of the reference table');
SELECT is((SELECT count(*) FROM shop_note), 3::bigint, 'tenant 5: its rows of the local table');
SELECT is((SELECT count(*) FROM shop_currency), 2::bigint, 'an unscoped reference table is shared');
SELECT is(qs.count('{"model": "shop_order"}'), 400::bigint, 'tenant 5: qs.count');
SELECT is(qs.count('{"model": "shop_order", "where": {"tenant_id": 6}}'), 0::bigint, 'tenant 5: qs with tenant 6 in the spec');
SELECT is(qs.get('{"model": "shop_order", "where": {"pk": [5, 17]}}') ->> 'id', '17', 'qs.get by composite key');
SELECT is(qs.count('{"model": "shop_tenant_setting"}'), 1::bigint, 'qs on the scoped reference table');
SELECT is(qs.count('{"model": "shop_note"}'), 3::bigint, 'qs on the scoped local table');

-- ---------------------------------------------------------------------
-- switching tenants in one transaction reaches the workers too (before
-- any write: see docs/scale-out.md on reference tables)
-- ---------------------------------------------------------------------
SELECT is((SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't6'), '6', 'tenant 6 from its token');
SELECT is((SELECT count(*) FROM shop_order), 400::bigint, 'tenant 6: its orders ...');
SELECT is(pg_temp.q('SELECT count(*) FROM shop_order WHERE tenant_id = 5'), 0::bigint, '... and none of tenant 5''s');
SELECT qs.reset_tenant();
SELECT is((SELECT count(*) FROM shop_order), 0::bigint, 'after reset_tenant the workers see no tenant either');

SELECT is((SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5'), '5', 'back to tenant 5');
SELECT is((SELECT count(*) FROM shop_order), 400::bigint, 'tenant 5 again: its orders');

-- writes: own rows only
SELECT is(qs.update('{"model": "shop_order", "where": {"id__lte": 10}}', '{"note": "seen"}'), 10::bigint, 'qs.update: 10 own rows');
SELECT is((SELECT count(*) FROM shop_order WHERE note = 'seen'), 10::bigint, '... and exactly those');
SELECT is(qs.update('{"model": "shop_order", "where": {"tenant_id": 6}}', '{"note": "stolen"}'), 0::bigint, 'qs.update of tenant 6: nothing');
SELECT lives_ok($$UPDATE shop_order SET note = 'plain' WHERE tenant_id = 6$$, 'a plain UPDATE of tenant 6 runs ...');
SELECT is((SELECT count(*) FROM shop_order WHERE note IN ('plain', 'stolen')), 0::bigint, '... and changes no row of ours');
SELECT throws_ok($$INSERT INTO shop_order VALUES (6, 9001, 1, 'new', now())$$, '42501', NULL, 'a plain INSERT for tenant 6 is refused');
SELECT throws_ok($$INSERT INTO shop_tenant_setting VALUES (6, 'x', 'y')$$, '42501', NULL, 'an INSERT into the reference table for tenant 6 is refused');
SELECT throws_ok($$INSERT INTO shop_note VALUES (6, 99, 'x')$$, '42501', NULL, 'an INSERT into the local table for tenant 6 is refused');
SELECT throws_ok($$SELECT qs.create('shop_customer', '{"tenant_id": 6, "id": 9001, "name": "n", "email": "e"}')$$, '42501', NULL,
                 'qs.create for tenant 6 is refused');
SELECT is(qs.create('shop_customer', '{"tenant_id": 5, "id": 9001, "name": "n", "email": "e"}') ->> 'id', '9001',
          'qs.create for the own tenant (the row is built over a CTE: Citus allows no function in RETURNING)');
SELECT is((qs.get_or_create('shop_customer', '{"tenant_id": 5, "id": 9002}', '{"name": "g", "email": "g"}')).created, true,
          'get_or_create creating');
SELECT is(qs.create('shop_project', '{"tenant_id": 5, "id": 90, "name": "p", "shop_task": [{"id": 900, "title": "t", "points": 1}]}') #>> '{shop_task,0,project_id}',
          '90', 'nested create through a composite foreign key');
SELECT is(qs.bulk_update('shop_customer', '[{"tenant_id": 5, "id": 1, "name": "z"}, {"tenant_id": 5, "id": 2, "name": "w"}, {"tenant_id": 6, "id": 3, "name": "stolen"}]',
                         ARRAY['name']), 2::bigint, 'bulk_update: the own two rows, not tenant 6''s');
SELECT is(qs.update('{"model": "shop_customer", "where": {"id": 4}}', '{"name": {"Concat": [{"F": "name"}, {"Value": "!"}]}}'), 1::bigint,
          'update with Concat (immutable, accepted by Citus)');
SELECT is(qs.get('{"model": "shop_customer", "where": {"id": 4}}') ->> 'name', 'customer 5-4!', '... and its value');
SELECT is(qs.delete('{"model": "shop_task", "where": {"id": 10}}'), 1::bigint, 'qs.delete of an own row');
SELECT is(qs.delete('{"model": "shop_task", "where": {"tenant_id": 6}}'), 0::bigint, 'qs.delete of tenant 6: nothing');

-- ---------------------------------------------------------------------
-- bulk_create: keys in input order, never the COPY path on Citus
-- ---------------------------------------------------------------------
SELECT is(pg_temp.jids(qs.bulk_create('shop_customer', '[{"tenant_id": 5, "id": 2003, "name": "a", "email": "x"},
   {"tenant_id": 5, "id": 2001, "name": "b", "email": "y"}, {"tenant_id": 5, "id": 2002, "name": "c", "email": "z"},
   {"tenant_id": 5, "id": 1999, "name": "d", "email": "w"}]')), ARRAY[2003, 2001, 2002, 1999]::bigint[],
   'bulk_create returns the keys in input order');
SELECT is(pg_temp.jids(qs.bulk_create('shop_customer', '[{"tenant_id": 5, "id": 2013, "name": "a", "email": "x"},
   {"id": 2011, "tenant_id": 5, "email": "b", "name": "r"}, {"tenant_id": 5, "id": 1, "name": "dup", "email": "x"},
   {"tenant_id": 5, "id": 2012, "name": "a", "email": "x"}]', '{"ignore_conflicts": true}')), ARRAY[2013, 2011, 2012]::bigint[],
   'bulk_create with ignore_conflicts over two key groups: the inserted rows in input order');
SELECT throws_ok($$SELECT qs.bulk_create('shop_customer', '[{"tenant_id": 6, "id": 2020, "name": "a", "email": "x"}]')$$, '42501', NULL,
                 'bulk_create for tenant 6 is refused');
SELECT is(jsonb_array_length(qs.bulk_create('shop_pageview', '[{"path": "/a", "seen_at": "2026-02-01"}, {"path": "/b", "seen_at": "2026-02-02"},
   {"path": "/c", "seen_at": "2026-02-03"}]')), 3, 'bulk_create on a distributed table with sequence keys ...');
SELECT is((SELECT count(*) FROM shop_pageview WHERE path IN ('/a', '/b', '/c')), 3::bigint,
          '... put the rows into the shards (not the coordinator''s shell table)');
SELECT is((SELECT array_agg(path ORDER BY id) FROM shop_pageview WHERE path IN ('/a', '/b', '/c')), ARRAY['/a', '/b', '/c'],
          '... with keys drawn in input order');
SELECT is(jsonb_array_length(qs.bulk_create('shop_tenant_setting', '[{"tenant_id": 5, "name": "lang", "value": "de"}]')), 1,
          'bulk_create on a scoped reference table');
SELECT is((SELECT count(*) FROM shop_tenant_setting), 2::bigint, '... and the row is there');

-- ---------------------------------------------------------------------
-- order across shards: the aggregate carries its own ORDER BY
-- ---------------------------------------------------------------------
SELECT is(pg_temp.ids(qs.json('{"model": "shop_pageview", "order_by": ["-seen_at", "id"], "where": {"id__lte": 60}, "values": ["id"]}')),
          (SELECT array_agg(id ORDER BY seen_at DESC, id) FROM shop_pageview WHERE id <= 60),
          'qs.json over every shard in order_by order');
SELECT is(pg_temp.ids(qs.json('{"model": "shop_pageview", "order_by": ["path", "-id"], "limit": 25, "offset": 5, "values": ["id"]}')),
          (SELECT array_agg(id ORDER BY path, id DESC) FROM (SELECT id, path FROM shop_pageview ORDER BY path, id DESC LIMIT 25 OFFSET 5) s),
          'a sliced qs.json in order');
SELECT is(qs.json('{"model": "shop_pageview", "values": ["path"], "annotate": {"n": {"Count": "id"}}, "order_by": ["-n", "path"]}')::jsonb,
          (SELECT jsonb_agg(jsonb_build_object('path', path, 'n', n) ORDER BY n DESC, path)
             FROM (SELECT path, count(id) AS n FROM shop_pageview GROUP BY path) g),
          'grouped values in order');
SELECT is((SELECT array_agg((t->>'id')::bigint) FROM json_array_elements(
             qs.json('{"model": "shop_project", "where": {"id": 1}, "prefetch_related": [{"path": "shop_task", "queryset": {"order_by": ["-points", "-id"]}}]}') -> 0 -> 'shop_task') t),
          (SELECT array_agg(id ORDER BY points DESC, id DESC) FROM shop_task WHERE project_id = 1),
          'a Prefetch list in its order_by order');
SELECT is(pg_temp.ids(qs.json('{"model": "shop_order", "order_by": ["-created_at"], "limit": 8}')),
          (SELECT array_agg(id ORDER BY created_at DESC) FROM (SELECT id, created_at FROM shop_order ORDER BY created_at DESC LIMIT 8) s),
          'the tenant''s newest orders in order');

-- ---------------------------------------------------------------------
-- composite keys, as Citus forces them
-- ---------------------------------------------------------------------
SELECT is(qs.json('{"model": "shop_project", "annotate": {"n": {"Count": "shop_task"}}, "order_by": ["id"], "values": ["id", "n"]}')::jsonb,
          (SELECT jsonb_agg(jsonb_build_object('id', p.id, 'n', (SELECT count(*) FROM shop_task t WHERE t.tenant_id = p.tenant_id AND t.project_id = p.id)) ORDER BY p.id)
             FROM shop_project p),
          'Count over a reverse relation to a composite-keyed model');
SELECT is(qs.first('{"model": "shop_project"}') ->> 'id', '1', 'unordered first() orders by every key column');
SELECT is(qs.count('{"model": "shop_order", "where": {"pk__in": [[5, 1], [5, 2], [6, 3]]}}'), 2::bigint, 'pk__in with composite keys');
SELECT is(qs.json('{"model": "shop_orderitem", "where": {"order_id": 3}, "select_related": ["shop_order"], "values": ["id", "shop_order__status"], "order_by": ["id"]}')::jsonb,
          (SELECT jsonb_agg(jsonb_build_object('id', i.id, 'shop_order__status', o.status) ORDER BY i.id)
             FROM shop_orderitem i JOIN shop_order o ON o.tenant_id = i.tenant_id AND o.id = i.order_id WHERE i.order_id = 3),
          'a forward relation through a composite foreign key');

-- ---------------------------------------------------------------------
-- routing: every single-tenant statement goes to one shard
-- ---------------------------------------------------------------------
SELECT is(pg_temp.tasks('{"model": "shop_order", "where": {"status": "paid"}}'), 1, 'filter: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_order", "where": {"pk": [5, 17]}}'), 1, 'get by key: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_orderitem", "select_related": ["shop_order__shop_customer"]}'), 1, 'select_related: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_project", "prefetch_related": ["shop_task"]}'), 1, 'prefetch_related: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_project", "prefetch_related": [{"path": "shop_task", "queryset": {"where": {"done": true}, "order_by": ["-id"], "limit": 2}}]}'),
          1, 'a Prefetch object: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_project", "annotate": {"n": {"Count": "shop_task"}}}'), 1, 'Count annotation: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_order", "where": {"customer_id__in": {"Subquery": {"model": "shop_customer", "where": {"name__startswith": "customer"}, "values": ["id"]}}}}'),
          1, 'Subquery: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_order", "values": ["status"], "annotate": {"n": {"Count": "id"}}}'), 1, 'grouped values: one shard');
SELECT is(pg_temp.tasks('{"model": "shop_pageview"}'), 32, 'a table without a tenant spans every shard (the check can fail)');

SELECT * FROM finish();
ROLLBACK;
