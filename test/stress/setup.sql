-- The database of the stress suite (test/stress/run.sh): the demo shop,
-- the extension, and a role with no privileges on the tables.
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
\set scale 1
\i test/fixtures/demo_data.sql
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qs_fuzz_noprivs') THEN
    CREATE ROLE qs_fuzz_noprivs LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qs_smith') THEN
    CREATE ROLE qs_smith LOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA qs TO qs_fuzz_noprivs, qs_smith;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO qs_smith;
ANALYZE;
