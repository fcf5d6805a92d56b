-- pg_queryset 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_queryset UPDATE).
-- What changed in the install script, for databases that installed
-- 0.1.0; test/upgrade.sh checks that the result equals a fresh 0.2.0
-- install.  Security review of 0.1.0 (CHANGELOG, 0.2.0):
--   * qs.tenant_scope is written only through checked functions;
--   * policies and tenant defaults name the equality operator and the
--     type with their schema -- also for tables scoped under 0.1.0,
--     whose policies are recreated below;
--   * the audit reports more oracles and exposures.
\echo Use "ALTER EXTENSION pg_queryset UPDATE TO '0.2.0'" to load this file. \quit

-- qs.tenant_scope: readable by all, written by the extension's functions only
DROP POLICY tenant_scope_read ON @extschema@.tenant_scope;
DROP POLICY tenant_scope_owner ON @extschema@.tenant_scope;
ALTER TABLE @extschema@.tenant_scope DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON @extschema@.tenant_scope FROM PUBLIC;
GRANT SELECT ON @extschema@.tenant_scope TO PUBLIC;

CREATE FUNCTION @extschema@._tenant_scope_record(model regclass, tenant_column name, parent regclass, roles name[],
    added_permissive boolean, set_default boolean, old_default text, had_rls boolean, had_force boolean)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'qs_tenant_scope_record';

CREATE FUNCTION @extschema@._tenant_scope_forget(model regclass)
RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'qs_tenant_scope_forget';

CREATE FUNCTION @extschema@._equality_operator(typ regtype)
RETURNS text
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'qs_equality_operator';

CREATE FUNCTION @extschema@._qualified_type(typ regtype)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
  SELECT pg_catalog.format('%I.%I', n.nspname, t.typname)
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE t.oid = typ
$$;

DROP FUNCTION @extschema@._tenant_policy_sql(regclass, name, text, text);

-- Is the table a Citus table (distributed, reference or a Citus local
-- table)?  False where Citus is not installed; read dynamically so the
-- extension does not depend on Citus.
CREATE FUNCTION @extschema@._citus_table(model regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found boolean;
BEGIN
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)'
    INTO found USING model;
  RETURN found;
END
$$;

-- Is the relation one of Citus's shards (on a node that holds
-- placements)?  The audit leaves shards to the coordinator's checks.
CREATE FUNCTION @extschema@._citus_shard(rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found boolean;
BEGIN
  IF pg_catalog.to_regprocedure('pg_catalog.relation_is_a_known_shard(regclass)') IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT pg_catalog.relation_is_a_known_shard($1)' INTO found USING rel;
  RETURN coalesce(found, false);
END
$$;

-- The audit's Citus findings: for every tenant-scoped Citus table, its
-- tenant policies must be permissive (Citus creates every policy on the
-- shards as a permissive one) and every shard placement must carry the
-- four policies, forced row-level security and no permissive policy of
-- another name.  Read on the placements with run_command_on_placements.
-- Nothing where Citus is not installed.
CREATE FUNCTION @extschema@._citus_audit()
RETURNS TABLE (severity text, object text, finding text, hint text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  s record;
  r record;
  probe constant text :=
    'SELECT pg_catalog.concat_ws('','', c.relrowsecurity AND c.relforcerowsecurity,'
    ' (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid'
    '   AND p.polname OPERATOR(pg_catalog.=) ANY (ARRAY[''qs_tenant_select'', ''qs_tenant_insert'', ''qs_tenant_update'', ''qs_tenant_delete'']::pg_catalog.name[])),'
    ' (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid AND p.polpermissive'
    '   AND pg_catalog.left(p.polname, 10) OPERATOR(pg_catalog.<>) ''qs_tenant_''))'
    ' FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ''%1$s''::pg_catalog.regclass';
BEGIN
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN;
  END IF;
  FOR s IN SELECT t.model FROM @extschema@.tenant_scope t WHERE @extschema@._citus_table(t.model) ORDER BY t.model::text LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = s.model AND p.polname = 'qs_tenant_select' AND NOT p.polpermissive) THEN
      RETURN QUERY SELECT 'high'::text, s.model::text,
        'Citus table with restrictive tenant policies: Citus creates them on the shards as permissive ones, ORed with the table''s other permissive policies'::text,
        'Drop the table''s own permissive policies, then qs.disable_tenant_scoping() and qs.enable_tenant_scoping() again.'::text;
    END IF;
    -- one finding per table and problem, naming how many placements and the first one
    FOR r IN EXECUTE
      'SELECT problem, pg_catalog.count(*) AS n, pg_catalog.min(pg_catalog.format(''shard %s on %s:%s'', shardid, nodename, nodeport)) AS first
         FROM (SELECT p.shardid, p.nodename, p.nodeport,
                      CASE WHEN NOT p.success THEN ''its policies could not be read: '' OPERATOR(pg_catalog.||) p.result
                           WHEN x.parts[1] IS DISTINCT FROM ''t'' THEN ''row-level security is not enabled and forced''
                           WHEN x.parts[2] IS DISTINCT FROM ''4'' THEN ''does not carry the 4 tenant policies''
                           WHEN x.parts[3] IS DISTINCT FROM ''0'' THEN ''has permissive policies besides the tenant policies: they widen access''
                      END AS problem
                 FROM pg_catalog.run_command_on_placements($1, $2) p,
                      LATERAL (SELECT pg_catalog.string_to_array(p.result, '','') AS parts) x) q
        WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem'
      USING s.model, probe LOOP
      RETURN QUERY SELECT 'high'::text, s.model::text,
        pg_catalog.format('%s shard placement(s) (first: %s): %s', r.n, r.first, r.problem),
        'Citus propagates ALTER TABLE ... ROW LEVEL SECURITY and CREATE/DROP POLICY: qs.disable_tenant_scoping(), then qs.enable_tenant_scoping() on the coordinator.'::text;
    END LOOP;
  END LOOP;
END
$$;

CREATE FUNCTION @extschema@._tenant_policy_sql(model regclass, col name, typ text, roles text, op text, permissive boolean)
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
  SELECT ARRAY[
    pg_catalog.format('CREATE POLICY qs_tenant_select ON %s AS %s FOR SELECT TO %s USING (%I %s @extschema@.current_tenant_as(NULL::%s))', model, kind, roles, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_insert ON %s AS %s FOR INSERT TO %s WITH CHECK (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_update ON %s AS %s FOR UPDATE TO %s USING (%I %s @extschema@.tenant_required(NULL::%s)) WITH CHECK (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_delete ON %s AS %s FOR DELETE TO %s USING (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ)]
  FROM (SELECT CASE WHEN permissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind) k
$$;

CREATE OR REPLACE FUNCTION @extschema@.enable_tenant_scoping(model regclass, tenant_column name DEFAULT 'tenant_id',
                                                  options jsonb DEFAULT '{}')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  r record;
  a record;
  k text;
  role_names name[] := '{public}';
  role_sql text;
  want_default boolean := false;
  had_perm boolean;
  stmt text;
  part regclass;
  scoped_by name;
BEGIN
  IF model IS NULL OR tenant_column IS NULL THEN
    RAISE EXCEPTION 'model and tenant_column must not be null' USING ERRCODE = '22004';
  END IF;
  options := coalesce(options, '{}');
  IF pg_catalog.jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'invalid options: expected a JSON object' USING ERRCODE = '22023';
  END IF;
  FOR k IN SELECT pg_catalog.jsonb_object_keys(options) LOOP
    IF k NOT IN ('roles', 'default', '_parent') THEN
      RAISE EXCEPTION 'unknown option "%"', k USING ERRCODE = '22023', HINT = 'Options are "roles" and "default".';
    END IF;
  END LOOP;
  IF options ? 'roles' THEN
    IF pg_catalog.jsonb_typeof(options->'roles') <> 'array' OR pg_catalog.jsonb_array_length(options->'roles') = 0
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(options->'roles') e WHERE pg_catalog.jsonb_typeof(e) <> 'string') THEN
      RAISE EXCEPTION 'invalid option "roles": expected a non-empty array of role names' USING ERRCODE = '22023';
    END IF;
    SELECT pg_catalog.array_agg(e::name ORDER BY o) INTO role_names FROM pg_catalog.jsonb_array_elements_text(options->'roles') WITH ORDINALITY AS x(e, o);
    PERFORM 1 FROM pg_catalog.unnest(role_names) n WHERE n <> 'public' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = n);
    IF FOUND THEN
      RAISE EXCEPTION 'invalid option "roles": a role does not exist' USING ERRCODE = '42704';
    END IF;
  END IF;
  IF options ? 'default' THEN
    IF pg_catalog.jsonb_typeof(options->'default') <> 'boolean' THEN
      RAISE EXCEPTION 'invalid option "default": expected true or false' USING ERRCODE = '22023';
    END IF;
    want_default := (options->>'default')::boolean;
  END IF;
  SELECT pg_catalog.array_to_string(pg_catalog.array_agg(CASE WHEN n = 'public' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(n) END), ', ')
    INTO role_sql FROM pg_catalog.unnest(role_names) n;

  SELECT c.relkind, c.relrowsecurity, c.relforcerowsecurity INTO r FROM pg_catalog.pg_class c WHERE c.oid = model;
  IF r.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', model USING ERRCODE = '42809',
      HINT = 'Scope the tables under a view; views should use security_invoker.';
  END IF;
  SELECT at.attnum, @extschema@._qualified_type(at.atttypid) AS typ, @extschema@._equality_operator(at.atttypid) AS op,
         c.relpersistence INTO a
  FROM pg_catalog.pg_attribute at JOIN pg_catalog.pg_class c ON c.oid = at.attrelid
  WHERE at.attrelid = model AND at.attname = tenant_column AND at.attnum > 0 AND NOT at.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of "%" does not exist', tenant_column, model USING ERRCODE = '42703',
      HINT = 'Pass the tenant column: qs.enable_tenant_scoping(model, ''org_id'').';
  END IF;
  IF a.relpersistence = 't' THEN
    RAISE EXCEPTION 'temporary table "%" cannot be tenant-scoped', model USING ERRCODE = '0A000',
      DETAIL = 'The scope record is kept by the database and would outlive the table.';
  END IF;
  SELECT s.tenant_column INTO scoped_by FROM @extschema@.tenant_scope s WHERE s.model = enable_tenant_scoping.model;
  IF FOUND THEN
    IF scoped_by = tenant_column THEN
      RETURN false;
    END IF;
    RAISE EXCEPTION '"%" is already tenant-scoped by another column', model USING ERRCODE = '55000',
      HINT = 'Call qs.disable_tenant_scoping() first.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polname LIKE 'qs\_tenant\_%') THEN
    -- the four policies without a record: a table a distributed engine
    -- rebuilt (Citus, docs/scale-out.md) or restored without its record;
    -- adopted when qs_tenant_select compares this column
    -- (_tenant_scope_record checks it), refused otherwise
    IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = model
         AND p.polname IN ('qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete')) <> 4 THEN
      RAISE EXCEPTION '"%" already has qs_tenant_* policies that qs.tenant_scope does not record', model USING ERRCODE = '55000',
        HINT = 'Drop them, then scope the table again.';
    END IF;
    PERFORM @extschema@._tenant_scope_record(model, tenant_column, NULL,
           (SELECT pg_catalog.array_agg(CASE WHEN u.role_oid = 0 THEN 'public'::name
                                             ELSE (SELECT rl.rolname FROM pg_catalog.pg_roles rl WHERE rl.oid = u.role_oid) END ORDER BY u.ord)
              FROM pg_catalog.pg_policy p, pg_catalog.unnest(p.polroles) WITH ORDINALITY u(role_oid, ord)
             WHERE p.polrelid = model AND p.polname = 'qs_tenant_select'),
           (SELECT p.polpermissive FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polname = 'qs_tenant_select'),
           false, NULL, true, true);
    RETURN true;
  END IF;

  had_perm := EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polpermissive);
  -- Citus copies policies to the shards as permissive ones: restrictive
  -- policies would be ORed with the table's own there (docs/scale-out.md)
  IF had_perm AND @extschema@._citus_table(model) THEN
    RAISE EXCEPTION 'cannot tenant-scope Citus table "%": it has permissive policies of its own', model USING ERRCODE = '0A000',
      DETAIL = 'Citus creates every policy on the shards as a permissive one; the tenant policies would be ORed with the table''s own policies there and widen access.',
      HINT = 'Drop the table''s permissive policies (or fold their conditions into the tenant policies'' roles), then scope it.';
  END IF;
  -- the = of the column's type is named with its schema (pg_catalog, or
  -- citext's own): a planted operator earlier in search_path is never used
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', model);
  -- without permissive policies of its own the table gets permissive
  -- tenant policies (they are then the only ones that grant rows, and
  -- they survive Citus's propagation); with some, restrictive ones that
  -- are ANDed with them
  FOREACH stmt IN ARRAY @extschema@._tenant_policy_sql(model, tenant_column, a.typ, role_sql, a.op, NOT had_perm) LOOP
    EXECUTE stmt;
  END LOOP;
  PERFORM @extschema@._tenant_scope_record(model, tenant_column, (options->>'_parent')::regclass, role_names, NOT had_perm, want_default,
         (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = model AND d.adnum = a.attnum),
         r.relrowsecurity, r.relforcerowsecurity);
  IF want_default THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.current_tenant_as(NULL::%s)', model, tenant_column, a.typ);
  END IF;
  -- policies are not inherited: every partition is scoped as well
  FOR part IN SELECT t.relid FROM pg_catalog.pg_partition_tree(model) t WHERE t.parentrelid = model LOOP
    PERFORM @extschema@.enable_tenant_scoping(part, tenant_column,
              (options - 'default') || pg_catalog.jsonb_build_object('_parent', model::text, 'default', want_default));
  END LOOP;
  RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.disable_tenant_scoping(model regclass)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  s record;
  p text;
  child regclass;
BEGIN
  SELECT * INTO s FROM @extschema@.tenant_scope t WHERE t.model = disable_tenant_scoping.model;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  FOR child IN SELECT t.model FROM @extschema@.tenant_scope t WHERE t.parent = disable_tenant_scoping.model LOOP
    PERFORM @extschema@.disable_tenant_scoping(child);
  END LOOP;
  -- the four tenant policies (and 0.1.0's qs_tenant_permit, where one is left)
  FOR p IN SELECT q.polname FROM pg_catalog.pg_policy q
           WHERE q.polrelid = model AND q.polname = ANY (ARRAY['qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete', 'qs_tenant_permit'])
           ORDER BY q.polname LOOP
    EXECUTE pg_catalog.format('DROP POLICY %I ON %s', p, model);
  END LOOP;
  IF s.set_default THEN
    IF s.old_default IS NULL THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', model, s.tenant_column);
    ELSE
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', model, s.tenant_column, s.old_default);
    END IF;
  END IF;
  IF NOT s.had_force THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', model);
  END IF;
  IF NOT s.had_rls THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', model);
  END IF;
  PERFORM @extschema@._tenant_scope_forget(model);
  RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.tenant_audit()
RETURNS TABLE (severity text, object text, finding text, hint text)
LANGUAGE sql STABLE
AS $$
  WITH scoped AS (
    SELECT s.model, s.tenant_column, a.attnum AS tenant_attnum, a.attnotnull AS tenant_notnull
    FROM @extschema@.tenant_scope s
    JOIN pg_catalog.pg_attribute a ON a.attrelid = s.model AND a.attname = s.tenant_column
  ), cols AS (
    SELECT DISTINCT tenant_column FROM scoped UNION SELECT 'tenant_id'::name
  )
  -- the library must be preloaded for any tenant to exist
  SELECT 'high', 'pg_queryset', 'pg_queryset is not in shared_preload_libraries: no tenant can be set',
         'Add pg_queryset to shared_preload_libraries and restart.'
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'pg_queryset.tenant')
  UNION ALL
  -- the signing secret where every role can read it
  SELECT 'high', 'pg_queryset.tenant_secret',
         'is set by ALTER ROLE/DATABASE ... SET: pg_db_role_setting is readable by every role',
         'Set it in postgresql.conf (or ALTER SYSTEM) and RESET it on the role or database.'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
                WHERE c LIKE 'pg\_queryset.tenant\_secret=%')
  UNION ALL
  -- tables with a tenant column but no scoping
  SELECT 'high', c.oid::regclass::text,
         pg_catalog.format('has a tenant column "%s" but is not tenant-scoped', a.attname),
         pg_catalog.format('SELECT qs.enable_tenant_scoping(%L, %L);', c.oid::regclass::text, a.attname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN cols ON cols.tenant_column = a.attname
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '@extschema@')
    AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM scoped s WHERE s.model = c.oid)
    AND NOT @extschema@._citus_shard(c.oid)
  UNION ALL
  -- a permissive policy of its own next to permissive tenant policies:
  -- the rows it grants are visible to every tenant
  SELECT 'high', pg_catalog.format('%s policy %s', s.model, p.polname),
         'is permissive: it is ORed with the permissive tenant policies, and the rows it grants are visible to every tenant',
         'Make it AS RESTRICTIVE, or drop it; or qs.disable_tenant_scoping(), then qs.enable_tenant_scoping() (restrictive tenant policies next to permissive ones).'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model AND p.polpermissive AND pg_catalog.left(p.polname, 10) <> 'qs_tenant_'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_policy q WHERE q.polrelid = s.model AND q.polname = 'qs_tenant_select' AND q.polpermissive)
  UNION ALL
  -- Citus: the shards' policies (docs/scale-out.md)
  SELECT c.severity, c.object, c.finding, c.hint FROM @extschema@._citus_audit() c
  UNION ALL
  -- scoping switched off behind the extension's back
  SELECT 'high', s.model::text, 'row-level security is ' ||
         CASE WHEN NOT c.relrowsecurity THEN 'disabled' ELSE 'not forced (the owner bypasses it)' END,
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;', s.model)
  FROM scoped s JOIN pg_catalog.pg_class c ON c.oid = s.model
  WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)
  UNION ALL
  SELECT 'high', s.model::text, pg_catalog.format('policy %s is missing', p), 'SELECT qs.disable_tenant_scoping(...), then qs.enable_tenant_scoping(...) again.'
  FROM scoped s, pg_catalog.unnest(ARRAY['qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete']) p
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy q WHERE q.polrelid = s.model AND q.polname = p)
  UNION ALL
  -- partitions (new ones included) are not covered by their parent's policies
  SELECT 'high', t.relid::text, pg_catalog.format('is a partition of tenant-scoped %s but is not scoped itself (reachable directly)', s.model),
         pg_catalog.format('SELECT qs.enable_tenant_scoping(%L, %L);', t.relid::text, s.tenant_column)
  FROM scoped s, pg_catalog.pg_partition_tree(s.model) t
  WHERE t.relid <> s.model AND NOT EXISTS (SELECT 1 FROM scoped x WHERE x.model = t.relid)
  UNION ALL
  -- foreign keys between scoped tables that leave the tenant column out
  SELECT 'high', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         pg_catalog.format('references tenant-scoped %s without the tenant column: a row can point at another tenant''s row', con.confrelid::regclass),
         pg_catalog.format('Make the key (%s, ...) and reference a unique (%s, ...) key.', sc.tenant_column, st.tenant_column)
  FROM pg_catalog.pg_constraint con
  JOIN scoped sc ON sc.model = con.conrelid
  JOIN scoped st ON st.model = con.confrelid
  WHERE con.contype = 'f'
    AND NOT (sc.tenant_attnum = ANY (con.conkey) AND st.tenant_attnum = ANY (con.confkey))
  UNION ALL
  -- unique keys without the tenant column reveal other tenants' values
  SELECT 'medium', pg_catalog.format('%s.%s', i.indrelid::regclass, ic.relname),
         'unique index without the tenant column: a failing insert reveals that another tenant has the value (existence oracle)',
         pg_catalog.format('Include %I in the key, unless the value is not secret (a generated id).', s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_index i ON i.indrelid = s.model AND i.indisunique
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  -- key columns only: INCLUDE columns are in indkey too, but uniqueness is not on them
  WHERE NOT (s.tenant_attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))
  UNION ALL
  -- exclusion constraints without "tenant_column WITH =": a conflict
  -- (23P01) reveals another tenant's row, e.g. a booked interval
  SELECT 'medium', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         'exclusion constraint without the tenant column compared by =: a failing insert reveals another tenant''s row (existence oracle)',
         pg_catalog.format('Add %I WITH = to the constraint: EXCLUDE USING gist (%I WITH =, ...) (btree_gist).', s.tenant_column, s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_constraint con ON con.conrelid = s.model AND con.contype = 'x'
  JOIN pg_catalog.pg_index i ON i.indexrelid = con.conindid
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.generate_series(1, i.indnkeyatts) k
                    JOIN pg_catalog.pg_operator o ON o.oid = con.conexclop[k]
                    WHERE i.indkey[k - 1] = s.tenant_attnum AND o.oprname = '=')
  UNION ALL
  -- foreign keys from tables that are not scoped into scoped ones: the
  -- key check ignores row-level security, so inserting a reference
  -- reveals whether another tenant's key exists
  SELECT 'medium', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         pg_catalog.format('references tenant-scoped %s from a table that is not scoped: the key check ignores row-level security and reveals other tenants'' keys (existence oracle)', con.confrelid::regclass),
         pg_catalog.format('Scope %s too, or reference (%s, ...) with the referencing row''s tenant.', con.conrelid::regclass, st.tenant_column)
  FROM pg_catalog.pg_constraint con
  JOIN scoped st ON st.model = con.confrelid
  WHERE con.contype = 'f' AND NOT EXISTS (SELECT 1 FROM scoped x WHERE x.model = con.conrelid)
  UNION ALL
  -- indexes that do not lead with the tenant column: EXPLAIN ANALYZE run
  -- by the application role counts the rows the policies removed
  SELECT 'low', pg_catalog.format('%s.%s', i.indrelid::regclass, ic.relname),
         pg_catalog.format('index does not start with tenant column %I: EXPLAIN ANALYZE by the application role counts rows the policies remove (Rows Removed by Filter), revealing other tenants'' values', s.tenant_column),
         pg_catalog.format('Lead the index with the tenant column: (%I, ...). qs.explain refuses analyze under row-level security; hand-written EXPLAIN ANALYZE cannot be revoked.', s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_index i ON i.indrelid = s.model
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indkey[0] <> s.tenant_attnum
  UNION ALL
  -- policies on scoped tables that call operators or functions outside
  -- pg_catalog and the extension: whoever may create objects in that
  -- schema decides what the policy does
  SELECT CASE WHEN pg_catalog.has_schema_privilege('public', obj.nsp, 'CREATE') THEN 'high' ELSE 'medium' END,
         pg_catalog.format('%s policy %s', s.model, p.polname),
         pg_catalog.format('uses %s %s from schema %I, outside pg_catalog and the extension', obj.kind, obj.name, obj.nspname),
         'Recreate the policy naming its operators and functions with their schema (OPERATOR(pg_catalog.=)); for the qs_tenant_* policies: qs.disable_tenant_scoping(), then qs.enable_tenant_scoping().'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = p.oid
  JOIN LATERAL (
    SELECT 'operator'::text AS kind, o.oid::pg_catalog.regoperator::text AS name, o.oprnamespace AS nsp, n.nspname
    FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
    WHERE d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid
    UNION ALL
    SELECT 'function', f.oid::pg_catalog.regprocedure::text, f.pronamespace, n.nspname
    FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
    WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND f.oid = d.refobjid
  ) obj ON true
  WHERE obj.nspname <> 'pg_catalog' AND obj.nsp <> '@extschema@'::regnamespace
  UNION ALL
  -- settings that write bind parameters -- tenant tokens -- into the log
  SELECT 'medium', 'server log',
         pg_catalog.format('%s and log_parameter_max_length = %s: bind parameters, tenant tokens among them, are written to the server log',
                           CASE WHEN pg_catalog.current_setting('log_statement') = 'all' THEN 'log_statement = all'
                                ELSE 'log_min_duration_statement = ' || pg_catalog.current_setting('log_min_duration_statement') END,
                           pg_catalog.current_setting('log_parameter_max_length')),
         'SET log_parameter_max_length = 0 (ALTER SYSTEM), or keep the log readable by administrators only.'
  WHERE pg_catalog.current_setting('log_parameter_max_length') <> '0'
    AND (pg_catalog.current_setting('log_statement') = 'all'
         OR pg_catalog.current_setting('log_min_duration_statement') <> '-1')
  UNION ALL
  SELECT 'medium', 'server log',
         pg_catalog.format('log_parameter_max_length_on_error = %s: the bind parameters of failing statements, tenant tokens among them, are written to the server log',
                           pg_catalog.current_setting('log_parameter_max_length_on_error')),
         'SET log_parameter_max_length_on_error = 0 (ALTER SYSTEM).'
  WHERE pg_catalog.current_setting('log_parameter_max_length_on_error') <> '0'
  UNION ALL
  -- tokens that never expire, or live long
  SELECT 'low', 'pg_queryset.tenant_token_max_age', 'is 0: tokens of any lifetime, or without exp, are accepted; a stolen token works until it expires',
         'ALTER SYSTEM SET pg_queryset.tenant_token_max_age = ''1h'';'
  WHERE pg_catalog.current_setting('pg_queryset.tenant_token_max_age', true) = '0'
  UNION ALL
  -- a setting that accepts tokens in statement text
  SELECT 'high', 'pg_queryset.allow_literal_token', 'is on: tokens written into statements are accepted and readable by other sessions of the role (pg_stat_activity, pg_stat_statements)',
         'ALTER SYSTEM RESET pg_queryset.allow_literal_token; send tokens as bind parameters.'
  WHERE pg_catalog.current_setting('pg_queryset.allow_literal_token', true) = 'on'
  UNION ALL
  -- a token stored in the catalogs, readable by every role
  SELECT 'high', 'pg_queryset.tenant_token', 'is set by ALTER ROLE/DATABASE ... SET: pg_db_role_setting is readable by every role',
         'RESET it on the role or database; send tokens per transaction as bind parameters.'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
                WHERE c LIKE 'pg\_queryset.tenant\_token=%')
  UNION ALL
  -- roles that bypass row-level security
  SELECT 'medium', r.rolname::text,
         CASE WHEN r.rolsuper THEN 'superuser that can log in: bypasses every policy'
              ELSE 'has BYPASSRLS and can log in: bypasses every policy' END,
         'Do not let the application connect as this role.'
  FROM pg_catalog.pg_roles r
  WHERE (r.rolsuper OR r.rolbypassrls) AND r.rolcanlogin
  UNION ALL
  -- functions in policies of scoped tables that are not leakproof
  SELECT 'low', pg_catalog.format('%s policy %s', s.model, p.polname),
         pg_catalog.format('calls %s, which is not leakproof', pr.oid::regprocedure),
         'Policy functions see every row before the policy filters it; use leakproof functions.'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_proc'::regclass
  JOIN pg_catalog.pg_proc pr ON pr.oid = d.refobjid
  WHERE NOT pr.proleakproof AND pr.pronamespace <> '@extschema@'::regnamespace
  UNION ALL
  -- views over scoped tables that run as their owner
  SELECT 'medium', v.oid::regclass::text,
         pg_catalog.format('view over tenant-scoped %s without security_invoker: it reads as its owner', s.model),
         pg_catalog.format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
  FROM scoped s
  JOIN pg_catalog.pg_depend d ON d.refobjid = s.model AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
  JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class AND v.relkind IN ('v', 'm') AND v.oid <> s.model
  WHERE NOT coalesce('security_invoker=true' = ANY (v.reloptions) OR 'security_invoker=on' = ANY (v.reloptions), false)
  GROUP BY v.oid, s.model
  UNION ALL
  -- a nullable tenant column: rows without a tenant are nobody's
  SELECT 'low', s.model::text, pg_catalog.format('tenant column %I allows NULL: such rows are visible to no tenant', s.tenant_column),
         pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL;', s.model, s.tenant_column)
  FROM scoped s
  WHERE NOT s.tenant_notnull
  UNION ALL
  -- no index leading with the tenant column: every scoped query scans
  SELECT 'low', s.model::text, pg_catalog.format('no index starts with tenant column %I', s.tenant_column),
         pg_catalog.format('CREATE INDEX ON %s (%I, ...);', s.model, s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_class c ON c.oid = s.model AND c.relkind = 'r'
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = s.model AND i.indkey[0] = s.tenant_attnum)
  ORDER BY 1, 2, 3
$$;

-- set operations (union, intersection, difference): new builders
CREATE FUNCTION @extschema@.union(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_union'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.union(q jsonb, others jsonb[], "all" boolean)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_union'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.intersection(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_intersection'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.difference(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_difference'
LANGUAGE C STABLE PARALLEL SAFE;

-- Forget the scoping of dropped tables: a record left behind would name
-- whatever table later gets the same OID.  SECURITY DEFINER because the
-- records are written by the extension's owner only (tenant_scope
-- above), while any owner may drop a table; it deletes nothing but the
-- records of the relations the firing statement dropped.
CREATE FUNCTION @extschema@._tenant_scope_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM @extschema@.tenant_scope s
   WHERE s.model::oid IN (SELECT d.objid FROM pg_catalog.pg_event_trigger_dropped_objects() d
                           WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._tenant_scope_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER qs_tenant_scope_dropped ON sql_drop EXECUTE FUNCTION @extschema@._tenant_scope_dropped();

-- tables scoped under 0.1.0: their policies and tenant defaults resolved
-- = and the type through search_path when they were created; recreate
-- them as 0.2.0 writes them
DO $upgrade$
DECLARE
  s record;
  a record;
  p text;
  role_sql text;
  stmt text;
BEGIN
  FOR s IN SELECT * FROM @extschema@.tenant_scope ORDER BY model::text LOOP
    SELECT at.attnum, @extschema@._qualified_type(at.atttypid) AS typ, @extschema@._equality_operator(at.atttypid) AS op INTO a
    FROM pg_catalog.pg_attribute at
    WHERE at.attrelid = s.model AND at.attname = s.tenant_column AND at.attnum > 0 AND NOT at.attisdropped;
    CONTINUE WHEN NOT FOUND;
    SELECT pg_catalog.array_to_string(pg_catalog.array_agg(CASE WHEN n = 'public' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(n) END), ', ')
      INTO role_sql FROM pg_catalog.unnest(s.roles) n;
    -- 0.1.0 wrote restrictive policies and a permissive USING (true) one;
    -- Citus copies policies as permissive, so where the table had no
    -- permissive policy of its own the tenant policies are permissive now
    FOREACH p IN ARRAY ARRAY['qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete', 'qs_tenant_permit'] LOOP
      EXECUTE pg_catalog.format('DROP POLICY IF EXISTS %I ON %s', p, s.model);
    END LOOP;
    FOREACH stmt IN ARRAY @extschema@._tenant_policy_sql(s.model, s.tenant_column, a.typ, role_sql, a.op, s.added_permissive) LOOP
      EXECUTE stmt;
    END LOOP;
    IF s.set_default THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.current_tenant_as(NULL::%s)', s.model, s.tenant_column, a.typ);
    END IF;
  END LOOP;
END
$upgrade$;

-- 0.2.0: a spec's "use" methods chain before its values and slice
CREATE OR REPLACE FUNCTION @extschema@._expand(spec jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  m regclass;
  q jsonb;
  mgr text := spec ->> 'manager';
  mspec jsonb;
BEGIN
  IF NOT spec ? 'model' THEN
    RAISE EXCEPTION 'invalid spec at $: the key "model" is required' USING ERRCODE = '22023';
  END IF;
  m := (spec ->> 'model')::regclass;
  q := pg_catalog.jsonb_build_object('model', m::text);
  IF mgr IS NOT NULL THEN
    SELECT d.spec INTO mspec FROM @extschema@.managers(m) d WHERE d.kind = 'manager' AND d.name = mgr;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'manager "%" is not defined for model %', mgr, m
        USING ERRCODE = '42704',
              HINT = format('Defined: %s.', coalesce((SELECT string_agg(name, ', ' ORDER BY name) FROM @extschema@.managers(m) WHERE kind = 'manager'), 'none'));
    END IF;
    q := @extschema@._apply(q, mspec, 1);
  END IF;
  q := @extschema@._apply(q, spec - 'model' - 'manager' - 'use'
         - 'values' - 'values_list' - 'flat' - 'named' - 'limit' - 'offset' - 'select_for_update', 1);
  -- methods chain before the spec's projection and slice, as
  -- Product.objects.active().values(...)[:5] does in Django
  IF spec ? 'use' THEN
    q := @extschema@._use_list(q, spec -> 'use', 1);
  END IF;
  RETURN q || (spec - 'model' - 'manager' - 'use' - 'where' - 'annotate' - 'alias' - 'order_by' - 'only' - 'defer'
                    - 'distinct' - 'select_related' - 'prefetch_related');
END
$$;

-- keyset pages over any ordering (docs/pagination.md); from 0.2.0
CREATE FUNCTION @extschema@.page(q jsonb, after text DEFAULT NULL, size integer DEFAULT NULL,
                                 before text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_page'
LANGUAGE C STABLE PARALLEL UNSAFE;

-- bulk_create with the rows as JSON text, read in one pass (docs/writes.md); from 0.2.0
CREATE FUNCTION @extschema@.bulk_create_text(model regclass, "rows" text, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_bulk_create_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The cached statements and how their plans are chosen (docs/performance.md,
-- "Custom or generic plans").
CREATE FUNCTION @extschema@.plan_choices(
    OUT sql text, OUT custom_plans bigint, OUT custom_cost double precision,
    OUT generic_cost double precision, OUT planning_cost double precision,
    OUT choice text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'qs_plan_choices'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
