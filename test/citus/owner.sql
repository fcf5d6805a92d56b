-- The scale-out suite as the DBA (postgres on the coordinator): the
-- tenant policies as Citus propagates them to the shards, the refusal
-- of a Citus table with permissive policies of its own, and the audit
-- reading the shards' policies without flagging the shards themselves.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- no transaction around the file: run_command_on_placements reads the
-- shards through connections of their own, which see committed DDL only
SELECT no_plan();

-- every placement of every scoped table: RLS forced, the four tenant
-- policies, permissive, and nothing else that grants rows
SELECT is((SELECT count(*) FROM qs.tenant_scope), 8::bigint, 'eight scoped tables');
SELECT is((SELECT count(*) FROM qs.tenant_scope s WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = s.model)), 0::bigint,
          'no record of a relation Citus dropped while distributing (the sql_drop trigger)');
SELECT is((SELECT tenant_column FROM qs.tenant_scope WHERE model = 'shop_product'::regclass), 'tenant_id'::name,
          'shop_product, rebuilt by Citus, was adopted by a second enable_tenant_scoping');
SELECT is((SELECT count(*) FROM pg_policy p JOIN qs.tenant_scope s ON s.model = p.polrelid
            WHERE p.polname LIKE 'qs\_tenant\_%' AND p.polpermissive), 32::bigint,
          'the coordinator: four permissive tenant policies per table');
SELECT is((SELECT count(*) FROM run_command_on_placements('shop_order',
            $$SELECT count(*) FROM pg_policy WHERE polrelid = '%s'::regclass AND polpermissive AND polname LIKE 'qs_tenant_%%'$$)
           WHERE result <> '4' OR NOT success), 0::bigint,
          'shop_order (scoped before distribution): every shard carries the four policies');
SELECT is((SELECT count(*) FROM run_command_on_placements('shop_task',
            $$SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = '%s'::regclass$$)
           WHERE result <> 't' OR NOT success), 0::bigint,
          'shop_task (scoped after distribution): RLS forced on every shard');
SELECT is((SELECT count(*) FROM run_command_on_placements('shop_tenant_setting',
            $$SELECT count(*) FROM pg_policy WHERE polrelid = '%s'::regclass AND polname LIKE 'qs_tenant_%%'$$)
           WHERE result <> '4' OR NOT success), 0::bigint,
          'the scoped reference table: every placement carries the policies');
SELECT is((SELECT count(*) FROM qs.tenant_audit() WHERE severity = 'high' AND object LIKE 'shop%'), 0::bigint,
          'the audit finds nothing high on the shop');
SELECT is((SELECT count(*) FROM qs.tenant_audit() WHERE object ~ '_[0-9]{6}$'), 0::bigint,
          'the audit does not take Citus''s shards for unscoped tables');

-- a permissive policy added later widens access on the shards: the audit says so
CREATE POLICY shop_order_open ON shop_order FOR SELECT USING (status = 'paid');
SELECT ok((SELECT count(*) FROM qs.tenant_audit() WHERE severity = 'high' AND object = 'shop_order policy shop_order_open') = 1,
          'the audit flags the permissive policy on the coordinator');
SELECT ok((SELECT finding FROM qs.tenant_audit() WHERE severity = 'high' AND object = 'shop_order' AND finding LIKE '%shard placement%')
          LIKE '32 shard placement(s)%permissive policies besides the tenant policies%',
          'and on all 32 shard placements');
DROP POLICY shop_order_open ON shop_order;
SELECT is((SELECT count(*) FROM qs.tenant_audit() WHERE severity = 'high' AND object LIKE 'shop_order%'), 0::bigint,
          'dropped (propagated): the finding is gone');

-- restrictive tenant policies would turn permissive on the shards: refused
CREATE TABLE shop_audit_log (tenant_id int NOT NULL, id bigint NOT NULL, what text, PRIMARY KEY (tenant_id, id));
SELECT create_distributed_table('shop_audit_log', 'tenant_id', colocate_with => 'shop_customer');
CREATE POLICY shop_audit_log_own ON shop_audit_log USING (what IS NOT NULL);
SELECT throws_ok($$SELECT qs.enable_tenant_scoping('shop_audit_log')$$, '0A000',
                 'cannot tenant-scope Citus table "shop_audit_log": it has permissive policies of its own',
                 'a Citus table with a permissive policy of its own is refused');
DROP POLICY shop_audit_log_own ON shop_audit_log;
SELECT is(qs.enable_tenant_scoping('shop_audit_log'), true, 'without it, the table is scoped');
SELECT is((SELECT count(*) FROM run_command_on_placements('shop_audit_log',
            $$SELECT count(*) FROM pg_policy WHERE polrelid = '%s'::regclass AND polpermissive AND polname LIKE 'qs_tenant_%%'$$)
           WHERE result <> '4' OR NOT success), 0::bigint, '... with the four policies on every shard');
SELECT is(qs.disable_tenant_scoping('shop_audit_log'), true, 'disable_tenant_scoping on a Citus table');
SELECT is((SELECT count(*) FROM run_command_on_placements('shop_audit_log',
            $$SELECT count(*) FROM pg_policy WHERE polrelid = '%s'::regclass$$)
           WHERE result <> '0' OR NOT success), 0::bigint, '... drops the policies on every shard');

-- the workers hold the secret in their configuration, unreadable by the application
SELECT is((SELECT count(*) FROM run_command_on_workers($$SELECT current_setting('pg_queryset.tenant_secret') <> ''$$)
           WHERE result = 't'), 2::bigint, 'both workers have the signing secret');

DROP TABLE shop_audit_log;
SELECT * FROM finish();
