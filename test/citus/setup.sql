-- Setup of the scale-out suite (test/citus.sh): a multi-tenant shop on a
-- Citus coordinator with two workers, run by a superuser on the
-- coordinator after the workers were added.  Distributed tables are
-- colocated on tenant_id with composite (tenant_id, id) keys, as Citus
-- requires; shop_currency is a reference table without a tenant column,
-- shop_tenant_setting a tenant-scoped reference table, shop_note a
-- tenant-scoped local table of the coordinator.  The suite connects as
-- qs_app, an ordinary login with EXECUTE on qs.set_tenant_token; qs_admin
-- chooses tenants with qs.set_tenant (as a pooler's role would).
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION pg_queryset;
CREATE EXTENSION pgcrypto;

CREATE ROLE qs_owner LOGIN;
CREATE ROLE qs_app LOGIN;
CREATE ROLE qs_admin LOGIN;
GRANT CREATE ON SCHEMA public TO qs_owner;
GRANT USAGE ON SCHEMA qs TO qs_owner, qs_app, qs_admin;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO qs_admin;

SET ROLE qs_owner;
CREATE TABLE shop_currency (code text PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop_tenant_setting (
    tenant_id int NOT NULL, name text NOT NULL, value text NOT NULL,
    PRIMARY KEY (tenant_id, name));
CREATE TABLE shop_customer (
    tenant_id int NOT NULL, id bigint NOT NULL, name text NOT NULL, email text NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE shop_product (
    tenant_id int NOT NULL, id bigint NOT NULL, name text NOT NULL,
    price numeric(10, 2) NOT NULL, stock int NOT NULL, currency text NOT NULL REFERENCES shop_currency,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE shop_order (
    tenant_id int NOT NULL, id bigint NOT NULL, customer_id bigint NOT NULL,
    status text NOT NULL, created_at timestamptz NOT NULL, note text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id));
CREATE TABLE shop_orderitem (
    tenant_id int NOT NULL, id bigint NOT NULL, order_id bigint NOT NULL, product_id bigint NOT NULL,
    quantity int NOT NULL, price numeric(10, 2) NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE shop_project (
    tenant_id int NOT NULL, id bigint NOT NULL, name text NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE shop_task (
    tenant_id int NOT NULL, id bigint NOT NULL, project_id bigint NOT NULL, title text NOT NULL,
    done boolean NOT NULL DEFAULT false, points int NOT NULL,
    PRIMARY KEY (tenant_id, id));
-- a distributed table without a tenant (reads span every shard), keys
-- from a sequence (the case bulk_create's COPY path would take)
CREATE TABLE shop_pageview (id bigserial PRIMARY KEY, path text NOT NULL, seen_at timestamptz NOT NULL);
CREATE TABLE shop_note (
    tenant_id int NOT NULL, id bigint NOT NULL, body text NOT NULL,
    PRIMARY KEY (tenant_id, id));

-- scoped before distribution (policies travel with create_distributed_table)
-- and after it (CREATE POLICY is propagated): both orders must hold
SELECT qs.enable_tenant_scoping('shop_customer');
SELECT qs.enable_tenant_scoping('shop_order');
SELECT qs.enable_tenant_scoping('shop_product');
SELECT create_reference_table('shop_currency');
SELECT create_reference_table('shop_tenant_setting');
SELECT create_distributed_table('shop_pageview', 'id');
SELECT create_distributed_table('shop_customer', 'tenant_id');
SELECT create_distributed_table('shop_product', 'tenant_id', colocate_with => 'shop_customer');
SELECT create_distributed_table('shop_order', 'tenant_id', colocate_with => 'shop_customer');
SELECT create_distributed_table('shop_orderitem', 'tenant_id', colocate_with => 'shop_customer');
SELECT create_distributed_table('shop_project', 'tenant_id', colocate_with => 'shop_customer');
SELECT create_distributed_table('shop_task', 'tenant_id', colocate_with => 'shop_customer');
-- foreign keys between colocated tables, on the tenant column too
ALTER TABLE shop_order ADD FOREIGN KEY (tenant_id, customer_id) REFERENCES shop_customer;
ALTER TABLE shop_orderitem ADD FOREIGN KEY (tenant_id, order_id) REFERENCES shop_order;
ALTER TABLE shop_orderitem ADD FOREIGN KEY (tenant_id, product_id) REFERENCES shop_product;
ALTER TABLE shop_task ADD FOREIGN KEY (tenant_id, project_id) REFERENCES shop_project;
-- shop_product references a reference table: Citus rebuilt it while
-- distributing it (a new relation, its policies copied, its record gone
-- with the old one); scoping it again adopts the policies
SELECT qs.enable_tenant_scoping('shop_product');
SELECT qs.enable_tenant_scoping('shop_orderitem');
SELECT qs.enable_tenant_scoping('shop_project');
SELECT qs.enable_tenant_scoping('shop_task');
SELECT qs.enable_tenant_scoping('shop_tenant_setting');
SELECT qs.enable_tenant_scoping('shop_note');
RESET ROLE;

-- 100 tenants: 20 customers, 10 products, 400 orders (2 items each),
-- 4 projects with 10 tasks each; 40,000 orders in all
SET citus.multi_shard_modify_mode = 'sequential';
INSERT INTO shop_currency VALUES ('EUR', 'Euro'), ('USD', 'US dollar');
INSERT INTO shop_tenant_setting SELECT t, 'theme', 'theme-' || t FROM generate_series(1, 100) t;
INSERT INTO shop_customer SELECT t, c, format('customer %s-%s', t, c), format('c%s@t%s.example', c, t)
  FROM generate_series(1, 100) t, generate_series(1, 20) c;
INSERT INTO shop_product SELECT t, p, format('product %s', p), 5 + p * 2.5, (p * 7) % 30, CASE WHEN p % 3 = 0 THEN 'USD' ELSE 'EUR' END
  FROM generate_series(1, 100) t, generate_series(1, 10) p;
INSERT INTO shop_order SELECT t, o, 1 + (o * 7) % 20, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + o % 4],
       timestamptz '2026-01-01' + (o * 13 % 365) * interval '1 day' + o * interval '1 minute'
  FROM generate_series(1, 100) t, generate_series(1, 400) o;
INSERT INTO shop_orderitem SELECT t, o * 2 - k, o, 1 + (o + k * 3) % 10, 1 + (o + k) % 4, 5 + (1 + (o + k * 3) % 10) * 2.5
  FROM generate_series(1, 100) t, generate_series(1, 400) o, generate_series(0, 1) k;
INSERT INTO shop_project SELECT t, p, format('project %s', p) FROM generate_series(1, 100) t, generate_series(1, 4) p;
INSERT INTO shop_task SELECT t, p * 10 + i, p, format('task %s.%s', p, i), i % 3 = 0, (p * i) % 8
  FROM generate_series(1, 100) t, generate_series(1, 4) p, generate_series(0, 9) i;
INSERT INTO shop_note SELECT t, n, format('note %s of tenant %s', n, t) FROM generate_series(1, 100) t, generate_series(1, 3) n;
INSERT INTO shop_pageview (path, seen_at)
SELECT '/p/' || (g % 17), timestamptz '2026-01-01' + ((g * 7919) % 1000) * interval '1 minute' FROM generate_series(1, 1000) g;
RESET citus.multi_shard_modify_mode;
ANALYZE;

GRANT SELECT ON shop_currency TO qs_app, qs_admin;
GRANT SELECT, INSERT ON shop_pageview TO qs_app, qs_admin;
GRANT USAGE ON SEQUENCE shop_pageview_id_seq TO qs_app, qs_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_tenant_setting, shop_customer, shop_product, shop_order,
  shop_orderitem, shop_project, shop_task, shop_note TO qs_app, qs_admin;

-- tokens as an identity provider would issue them
CREATE FUNCTION b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT rtrim(translate(encode(b, 'base64'), E'+/\n', '-_'), '=') $$;
CREATE FUNCTION jwt(payload jsonb, secret text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT hp || '.' || b64url(hmac(hp, secret, 'sha256'))
  FROM (SELECT b64url(convert_to('{"alg": "HS256", "typ": "JWT"}', 'utf8')) || '.' || b64url(convert_to(payload::text, 'utf8')) AS hp) x
$$;
CREATE TABLE citus_token (name text PRIMARY KEY, token text NOT NULL);
INSERT INTO citus_token VALUES
  ('t5',     jwt(jsonb_build_object('tenant_id', 5, 'aud', 'qs-citus', 'exp', extract(epoch FROM now())::bigint + 3600), 'citus-secret')),
  ('t6',     jwt(jsonb_build_object('tenant_id', 6, 'aud', 'qs-citus', 'exp', extract(epoch FROM now())::bigint + 3600), 'citus-secret')),
  ('forged', jwt(jsonb_build_object('tenant_id', 5, 'aud', 'qs-citus', 'exp', extract(epoch FROM now())::bigint + 3600), 'not-the-secret'));
GRANT SELECT ON citus_token TO qs_app, qs_admin;
