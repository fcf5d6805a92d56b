-- The extension's SQL surface, pinned: every function, its signature,
-- volatility, parallel safety and security.  A change here is an API
-- change and needs an upgrade script (src/sql/pg_queryset--A--B.sql).
-- (named by proname and argument types: regprocedure quotes names
-- that became keywords, such as json since PostgreSQL 16)
SELECT * FROM (
  SELECT p.pronamespace::regnamespace || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS function,
         pg_get_function_result(p.oid) AS returns,
         p.provolatile AS vol, p.proparallel AS par, p.prosecdef AS secdef
  FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_queryset') f
ORDER BY function COLLATE "C";

-- every function runs with the caller's privileges, but the sql_drop
-- event trigger's, which forgets the scope records of dropped tables
-- (writable by the extension's owner only): it has a fixed search_path
-- and no EXECUTE for PUBLIC
SELECT p.oid::regprocedure AS security_definer, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'qs' AND p.prosecdef;
SELECT evtname, evtevent, evtfoid::regproc FROM pg_event_trigger WHERE evtname LIKE 'qs\_%';

-- the domain
SELECT typname, format_type(typbasetype, typtypmod) AS base,
       pg_get_constraintdef(c.oid) AS check
FROM pg_type t JOIN pg_constraint c ON c.contypid = t.oid
WHERE t.typname = 'queryset' AND t.typnamespace = 'qs'::regnamespace;

-- the version lives in the control file; updating to it is a no-op
ALTER EXTENSION pg_queryset UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_queryset';
SELECT name, default_version, installed_version FROM pg_available_extensions WHERE name = 'pg_queryset';

-- the extension is not relocatable: its schema is qs
ALTER EXTENSION pg_queryset SET SCHEMA public;
