-- The scale-out suite as the role that chooses tenants (qs_admin, with
-- EXECUTE on qs.set_tenant, as a pooler's or an admin's role): the
-- tenant reaches the workers as a short-lived token the coordinator
-- signs; session-level tenants are refused on Citus.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
SELECT no_plan();
SET LOCAL client_min_messages = error;
CREATE FUNCTION pg_temp.q(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN EXECUTE sql INTO r; RETURN r; END $$;
SET LOCAL client_min_messages = warning;

SELECT is(qs.set_tenant('7'), '7', 'qs.set_tenant(7)');
SELECT is((SELECT count(*) FROM shop_order), 400::bigint, 'tenant 7: plain SQL on the workers sees its orders');
SELECT is(pg_temp.q('SELECT count(*) FROM shop_order WHERE tenant_id = 5'), 0::bigint, '... and none of tenant 5''s');
SELECT is(qs.count('{"model": "shop_order"}'), 400::bigint, 'tenant 7: qs.count');
SELECT is(current_setting('pg_queryset.tenant_token'), '', 'the coordinator keeps its own context (no token)');
SELECT is(qs.update('{"model": "shop_order", "where": {"id__lte": 20}}', '{"note": "admin"}'), 20::bigint,
          'qs.update with set_tenant: 20 rows');
SELECT is((SELECT count(*) FROM shop_order WHERE note = 'admin'), 20::bigint, '... all of them tenant 7''s');
SELECT is(qs.bulk_update('shop_order', '[{"tenant_id": 7, "id": 1, "note": "b1"}, {"tenant_id": 8, "id": 1, "note": "b8"}]', ARRAY['note']),
          1::bigint, 'bulk_update with set_tenant: tenant 7''s row only');
SELECT throws_ok($$INSERT INTO shop_order VALUES (8, 9001, 1, 'new', now())$$, '42501', NULL,
                 'an INSERT for tenant 8 is refused on the worker');
SELECT throws_ok($$SELECT qs.set_tenant('8', false)$$, '0A000', 'a session-level tenant does not reach the Citus workers',
                 'a session-level tenant is refused on Citus');
SELECT is(qs.set_tenant('8'), '8', 'switch to tenant 8');
SELECT is((SELECT count(*) FROM shop_order WHERE note = 'admin'), 0::bigint, 'tenant 8 does not see tenant 7''s update');
SELECT is((SELECT count(*) FROM shop_order), 400::bigint, 'tenant 8: its orders');
SELECT is(qs.set_tenant(NULL), NULL, 'qs.set_tenant(NULL) clears the tenant');
SELECT is((SELECT count(*) FROM shop_order), 0::bigint, '... on the workers too');

-- a qs call per row of a distributed query cannot run on the shards
SELECT is(qs.set_tenant('7'), '7', 'tenant 7 again');
SELECT throws_ok($$SELECT qs.count('{"model": "shop_task"}') FROM shop_project$$, NULL,
                 'cannot execute a distributed query from a query on a shard',
                 'a qs call per row of a distributed query: Citus''s clear error, no wrong result');

SELECT * FROM finish();
ROLLBACK;
