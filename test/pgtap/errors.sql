-- Errors (DESIGN.md section 8): each family of faults raises its SQLSTATE
-- with a stable, Django-like message; the JSON path of the fault is in the
-- message (malformed specs) or in DETAIL (fields and values).  Valid edge
-- cases live.  Known bugs are asserted as they should behave (see the
-- comments marked BUG); the crash checks run last, in separate sessions.
BEGIN;
SELECT plan(145);
SET LOCAL timezone = 'UTC';

-- DETAIL of the error a statement raises (NULL when it does not fail)
CREATE FUNCTION pg_temp.detail_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE det text;
BEGIN
  EXECUTE stmt;
  RETURN NULL;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
  RETURN det;
END $$;

-- ---------------------------------------------------------------------
-- Malformed JSON and non-object specs
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.count('{"model":') $$, '22P02',
  'invalid input syntax for type json', 'malformed JSON: jsonb input refuses it');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"name\u0000": 1}') $$, '22P05',
  'unsupported Unicode escape sequence', 'a \u0000 key: jsonb input refuses it');
SELECT throws_ok($$ SELECT qs.count('[]') $$, '22023',
  'invalid spec at $: a queryset spec must be a JSON object, got array', 'spec: array');
SELECT throws_ok($$ SELECT qs.count('"x"') $$, '22023',
  'invalid spec at $: a queryset spec must be a JSON object, got string', 'spec: string');
SELECT throws_ok($$ SELECT qs.count('1') $$, '22023',
  'invalid spec at $: a queryset spec must be a JSON object, got number', 'spec: number');
SELECT throws_ok($$ SELECT qs.filter('null', '{"id": 1}') $$, '22023',
  'invalid spec at $: a queryset spec must be a JSON object, got null', 'builder: spec null (JSON)');
SELECT throws_ok($$ SELECT qs.count('{"where": {}}') $$, '22023',
  'invalid spec at $: the key "model" is required', 'missing model');

-- ---------------------------------------------------------------------
-- Top-level keys
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "colour": 1}') $$, '22023',
  'invalid spec at $.colour: unknown key "colour"', 'unknown key, with its path');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "manager": "no_such_manager"}') $$, '42704',
  'manager "no_such_manager" is not defined for model catalog_product',
  'an undefined manager');
SELECT throws_ok($$ SELECT qs.count('{"model": 7}') $$, '22023',
  'invalid spec at $.model: expected a table or view name, got number', 'model: number');
SELECT throws_ok($$ SELECT qs.count('{"model": ""}') $$, '22023',
  'invalid spec at $.model: the model name is empty', 'model: empty');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "where": []}') $$, '22023',
  'invalid spec at $.where: expected a Q object, got array', 'where: array');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '"id = 1"') $$, '22023',
  'invalid lookups: expected a Q object, got string', 'filter(): lookups not an object');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "order_by": "id"}') $$, '22023',
  'invalid spec at $.order_by: expected an array, got string', 'order_by: string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "order_by": [null]}') $$, '22023',
  'invalid spec at $.order_by[0]: expected a field name or an ordering object, got null', 'order_by: null item');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "order_by": ["id", "-"]}') $$, '22023',
  'invalid spec at $.order_by[1]: empty field name', 'order_by: "-"');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "order_by": [{"F": "id", "nulls_first": true, "nulls_last": true}]}') $$, '22023',
  'invalid spec at $.order_by[0]: nulls_first and nulls_last are mutually exclusive', 'order_by: nulls_first + nulls_last');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "limit": -1}') $$, '22023',
  'invalid spec at $.limit: expected a non-negative integer, got -1', 'limit: negative');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "limit": "10"}') $$, '22023',
  'invalid spec at $.limit: expected a non-negative integer, got string', 'limit: string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "limit": 2.5}') $$, '22023',
  'invalid spec at $.limit: expected a non-negative integer, got 2.5', 'limit: float');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "offset": -1}') $$, '22023',
  'invalid spec at $.offset: expected a non-negative integer, got -1', 'offset: negative');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "offset": {}}') $$, '22023',
  'invalid spec at $.offset: expected a non-negative integer, got object', 'offset: object');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "only": []}') $$, '22023',
  'invalid spec at $.only: the list of fields is empty', 'only: empty list');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "defer": "name"}') $$, '22023',
  'invalid spec at $.defer: expected an array of field names, got string', 'defer: string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "values": ["id", 2]}') $$, '22023',
  'invalid spec at $.values[1]: expected a field name, got number', 'values: non-string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "values_list": [true]}') $$, '22023',
  'invalid spec at $.values_list[0]: expected a field name, got boolean', 'values_list: non-string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "distinct": "yes"}') $$, '22023',
  'invalid spec at $.distinct: expected true, false or an array of fields', 'distinct: string');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "flat": true}') $$, '22023',
  'invalid spec at $.flat: only valid together with "values_list"', 'flat without values_list');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "values_list": ["id", "name"], "flat": true}') $$, '22023',
  'invalid spec at $.flat: "flat" needs exactly one field in values_list', 'flat with 2 fields');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "values_list": ["id"], "flat": true, "named": true}') $$, '22023',
  'invalid spec at $: "flat" and "named" cannot both be true', 'flat + named');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product", "values_list": ["id"], "named": 1}') $$, '22023',
  'invalid spec at $.named: expected a boolean', 'named: number');

-- ---------------------------------------------------------------------
-- Models
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.count('{"model": "no_such_table"}') $$, '42P01',
  'model "no_such_table" does not exist', 'unknown model');
SELECT throws_ok($$ SELECT qs.count('{"model": "x\"--"}') $$, '42P01',
  'model "x"--" does not exist', 'hostile model name x"-- is just an unknown name');
SELECT throws_ok($$ SELECT qs.count('{"model": "\"catalog_product; DROP TABLE catalog_product\""}') $$, '42P01',
  'model ""catalog_product; DROP TABLE catalog_product"" does not exist', 'a quoted name with SQL in it is one identifier');
SELECT throws_ok($$ SELECT qs.count('{"model": "catalog_product_pkey"}') $$, '42809',
  '"catalog_product_pkey" is not a table or view', 'an index is not a model');
SELECT throws_ok($$ SELECT qs.count(jsonb_build_object('model', repeat('m', 193))) $$, '42622',
  'invalid spec at $.model: the model name is too long', 'model name longer than 192 bytes');
SELECT throws_ok($$ SELECT qs.count(jsonb_build_object('model', repeat('m', 1000000))) $$, '42622',
  'invalid spec at $.model: the model name is too long', 'a 1 MB model name');
-- BUG: names PostgreSQL's name parser refuses get its bare message, without
-- the JSON path or the name (42602 "invalid name syntax", 0A000, 42601)
SELECT throws_like($$ SELECT qs.count('{"model": "name; DROP TABLE x"}') $$,
  '%$.model%', 'an unparsable model name is reported at $.model');
SELECT throws_like($$ SELECT qs.count('{"model": "db.schema.table"}') $$,
  '%$.model%', 'a cross-database model name is reported at $.model');
SELECT is(qs.count('{"model": "pg_catalog.pg_class", "where": {"relname": "catalog_product"}}'), 1::bigint,
  'a catalog table is a model like any other (superuser)');
SELECT has_table('public'::name, 'catalog_product'::name, 'catalog_product survived the hostile model names');

-- ---------------------------------------------------------------------
-- Fields
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"x": 1}') $$, '42703',
  'Cannot resolve keyword ''x'' into field. Choices are: catalog_product, catalog_product_tags, id, name, pk, slug', 'unknown field: Django''s message');
SELECT is(pg_temp.detail_of($$ SELECT qs.filter(qs.all('catalog_tag'), '{"$or": [{"id": 1}, {"$not": {"x": 1}}]}') $$),
  'Model "catalog_tag", at $.where.$or[1].$not.x.', 'unknown field: model and JSON path in DETAIL');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"name; DROP TABLE catalog_tag": 1}') $$, '42703',
  'Cannot resolve keyword ''name; DROP TABLE catalog_tag'' into field. Choices are: catalog_product, catalog_product_tags, id, name, pk, slug',
  'hostile field name: name; DROP TABLE');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"x\"--": 1}') $$, '42703',
  'Cannot resolve keyword ''x"--'' into field. Choices are: catalog_product, catalog_product_tags, id, name, pk, slug', 'hostile field name: x"--');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"名前": 1}') $$, '42703',
  'Cannot resolve keyword ''名前'' into field. Choices are: catalog_product, catalog_product_tags, id, name, pk, slug', 'unicode field name');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"name__icontains__": "x"}') $$, '22023',
  'invalid field path "name__icontains__"', 'trailing __');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"__": 1}') $$, '22023',
  'invalid field path "__"', 'path __');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"": 1}') $$, '22023',
  'invalid field path ""', 'empty field name');
SELECT is(pg_temp.detail_of($$ SELECT qs.filter(qs.all('catalog_tag'), '{"name____exact": 1}') $$),
  'Found an empty part at $.where.name____exact.', 'empty path part: JSON path in DETAIL');
SELECT throws_ok($$ SELECT qs.order_by(qs.all('catalog_tag'), 'id', '-colour') $$, '42703',
  'Cannot resolve keyword ''colour'' into field. Choices are: catalog_product, catalog_product_tags, id, name, pk, slug', 'unknown field in order_by');
SELECT is(pg_temp.detail_of($$ SELECT qs.order_by(qs.all('catalog_tag'), 'id', '-colour') $$),
  'Model "catalog_tag", at $.order_by[1].', 'order_by: JSON path in DETAIL');
SELECT is(pg_temp.detail_of($$ SELECT qs.only(qs.all('catalog_tag'), 'name', 'colour') $$),
  'Model "catalog_tag", at $.only[1].', 'only: JSON path in DETAIL');
SELECT is(pg_temp.detail_of($$ SELECT qs.distinct(qs.all('catalog_tag'), 'colour') $$),
  'Model "catalog_tag", at $.distinct[0].', 'distinct: JSON path in DETAIL');
SELECT is(pg_temp.detail_of($$ SELECT qs.in_bulk(qs.all('catalog_tag'), '[1]', 'colour') $$),
  'Model "catalog_tag", at $.field_name.', 'in_bulk field_name: path in DETAIL');
-- BUG: values_list faults are reported at $.values[i]
SELECT is(pg_temp.detail_of($$ SELECT qs.values_list(qs.all('catalog_tag'), '{id,colour}') $$),
  'Model "catalog_tag", at $.values_list[1].', 'values_list: the path names values_list');

-- ---------------------------------------------------------------------
-- Unsupported lookups and transforms
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"price__has_key": "a"}') $$, '22023',
  'unsupported lookup ''has_key'' for field "price" of type numeric', 'has_key on numeric');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"keywords__icontains": "eco"}') $$, '22023',
  'unsupported lookup ''icontains'' for field "keywords" of type text[]', 'icontains on an array');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"name__overlap": ["a"]}') $$, '22023',
  'unsupported lookup ''overlap'' for field "name" of type character varying', 'overlap on varchar');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"keywords__in": [["eco"]]}') $$, '22023',
  'unsupported lookup ''in'' for field "keywords" of type text[]', 'in on an array');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"stock__foo__gt": 1}') $$, '22023',
  'unsupported transform ''foo'' for field "stock" of type integer', 'unknown transform');
SELECT is(pg_temp.detail_of($$ SELECT qs.filter(qs.all('catalog_product'), '{"$and": [{"price__has_key": "a"}]}') $$),
  'At $.where.$and[0].price__has_key.', 'unsupported lookup: JSON path in DETAIL');

-- ---------------------------------------------------------------------
-- Bad values
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"price": "abc"}') $$, '22P02',
  'invalid value for field "price": invalid input syntax for type numeric: "abc"', '"abc" for numeric');
SELECT is(pg_temp.detail_of($$ SELECT qs.filter(qs.all('catalog_product'), '{"price": "abc"}') $$),
  'At $.where.price; the value must fit type numeric.', 'bad value: path and type in DETAIL');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"stock": {"n": 1}}') $$, '22P02',
  'invalid value for field "stock": expected a value of type integer, got a JSON object', 'object for int');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"stock__gt": [1, 2]}') $$, '22P02',
  'invalid value for field "stock": expected a value of type integer, got a JSON array', 'array for a scalar');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"stock": 2147483648}') $$, '22P02',
  'invalid value for field "stock": value "2147483648" is out of range for type integer', 'out of range');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"release_date__isnull": "no"}') $$, '22P02',
  'invalid value for field "release_date": the lookup ''isnull'' expects true or false, got string', 'isnull: not a boolean');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"price__range": [10]}') $$, '22P02',
  'invalid value for field "price": the lookup ''range'' expects a list of two values [low, high]', 'range: one element');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"price__range": [null, 10]}') $$, '22P02',
  'invalid value for field "price": the bounds of ''range'' cannot be null', 'range: null bound');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"id__in": 5}') $$, '22P02',
  'invalid value for field "id": the lookup ''in'' expects a list, got number', 'in: not an array');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"id__in": [1, "two"]}') $$, '22P02',
  'invalid value for field "id": invalid input syntax for type bigint: "two"', 'in: bad element');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"price__gt": null}') $$, '22P02',
  'invalid value for field "price": None (null) can only be used with exact, iexact and isnull', 'null with gt');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"name__contains": ["a"]}') $$, '22P02',
  'invalid value for field "name": the lookup ''contains'' expects a string, got array', 'contains: array for text');
SELECT throws_ok($$ SELECT qs.filter(qs.all('shop_order'), '{"created_at__gte": "yesterday-ish"}') $$, '22P02',
  'invalid value for field "created_at": invalid input syntax for type timestamp with time zone: "yesterday-ish"', 'bad timestamp');

-- ---------------------------------------------------------------------
-- Q operators
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"$xor": [{"id": 1}]}') $$, '22023',
  'invalid spec at $.where.$xor: unknown operator "$xor"', 'unknown operator $xor');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"$or": {"id": 1}}') $$, '22023',
  'invalid spec at $.where.$or: $or expects an array of Q objects, got object', '$or with a non-array');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"$and": [{"id": 1}, "x"]}') $$, '22023',
  'invalid spec at $.where.$and[1]: expected a Q object, got string', '$and with a non-object element');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), '{"$not": [{"id": 1}]}') $$, '22023',
  'invalid spec at $.where.$not: expected a Q object, got array', '$not with an array');
SELECT throws_ok($$ SELECT qs.exclude(qs.all('catalog_tag'), '{"$not": 1}') $$, '22023',
  'invalid spec at $.where.$not.$not: expected a Q object, got number', 'exclude($not: 1): path through the added $not');

-- ---------------------------------------------------------------------
-- Limits
-- ---------------------------------------------------------------------
SELECT throws_like($$ SELECT qs.count(('{"model":"catalog_product","where":' || repeat('{"$not":', 100) || '{}' || repeat('}', 100) || '}')::jsonb) $$,
  'Q tree is nested too deeply at $.where.$not.$not.%', 'a 100-deep $not chain is refused');
SELECT throws_ok($$ SELECT qs.count(('{"model":"catalog_product","where":' || repeat('{"$not":', 100) || '{}' || repeat('}', 100) || '}')::jsonb) $$,
  '54000', NULL, '... with SQLSTATE 54000');
SELECT throws_ok($$ SELECT qs.count(('{"model":"catalog_product","where":' || repeat('{"$not":', 10000) || '{}' || repeat('}', 10000) || '}')::jsonb) $$,
  '54000', NULL, 'a 10,000-deep $not chain: 54000, no crash');
SELECT throws_ok($$ SELECT qs.count(('{"model":"catalog_product","where":' || repeat('{"$or":[', 5000) || '{}' || repeat(']}', 5000) || '}')::jsonb) $$,
  '54000', NULL, 'a 5,000-deep $or chain: 54000, no crash');
SELECT throws_like($$ SELECT qs.count(('{"model":"catalog_product","where":{"id":' || repeat('[', 200000) || repeat(']', 200000) || '}}')::jsonb) $$,
  'stack depth limit exceeded', 'deeper than jsonb input accepts: stack depth limit (class 54)');
SELECT lives_ok($$ SELECT qs.count(('{"model":"catalog_product","where":' || repeat('{"$not":', 63) || '{}' || repeat('}', 63) || '}')::jsonb) $$,
  '63 levels under where (64 Q objects) is within max_depth');
SET LOCAL pg_queryset.max_depth = 2;
SELECT throws_ok($$ SELECT qs.count('{"model":"catalog_tag","where":{"$not":{"$not":{}}}}') $$, '54000',
  'Q tree is nested too deeply at $.where.$not.$not', 'max_depth is honoured');
RESET pg_queryset.max_depth;
SELECT throws_ok($$ SELECT set_config('pg_queryset.max_depth', '1001', true) $$, '22023', NULL,
  'max_depth cannot be raised past 1000');
SELECT throws_ok($$ SELECT qs.count(jsonb_build_object('model', 'catalog_tag', 'where', jsonb_build_object('$or',
  (SELECT jsonb_agg(jsonb_build_object('id', g)) FROM generate_series(1, 60001) g)))) $$, '54000',
  'queryset has too many values', 'too many parameters');

-- ---------------------------------------------------------------------
-- Valid edge cases live
-- ---------------------------------------------------------------------
SELECT is(qs.count('{"model": "catalog_product", "where": {}}'), 1000::bigint, 'empty where');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{}')), 1000::bigint, 'filter with nothing');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"$and": []}')), 1000::bigint, 'empty $and matches everything');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"$or": []}')), 0::bigint, 'empty $or matches nothing');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"id__in": []}')), 0::bigint, 'empty in list matches nothing');
SELECT is(qs.get(qs.all('catalog_product'), '{"name": "Café Crème Espresso Cups"}')->>'id', '888', 'unicode value');
SELECT is(qs.get(qs.all('catalog_product'), '{"name": "Grandma''s Cast Iron Skillet"}')->>'id', '444', 'value with a quote');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"name": "x''; DROP TABLE catalog_product; --"}')), 0::bigint,
  'quotes, semicolons and comment markers are plain data');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"name__icontains": "'' OR 1=1 --"}')), 0::bigint,
  'an OR 1=1 value is plain data');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"name__in": ["x\"); DROP TABLE catalog_product; /*", "*/ --"]}')), 0::bigint,
  'in list with SQL in its strings');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__color'') IS NOT NULL OR (''1": "red"}')), 0::bigint,
  'a jsonb key with SQL in it is a quoted literal');
SELECT has_table('public'::name, 'catalog_product'::name, 'catalog_product still exists');
SELECT is((SELECT count(*) FROM catalog_product), 1000::bigint, 'and still has its rows');
SELECT is(qs.count(jsonb_build_object('model', 'catalog_product', 'where',
          jsonb_build_object('id__in', (SELECT jsonb_agg(g) FROM generate_series(1, 100000) g)))), 1000::bigint,
  'an in list of 100,000 ids');
SELECT is(qs.count(jsonb_build_object('model', 'catalog_product', 'where',
          jsonb_build_object('name', repeat('é', 524288)))), 0::bigint, 'a 1 MB string value');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"name__contains": "%"}')), 2::bigint,
  'LIKE wildcards in values are escaped');
SELECT lives_ok($$ SELECT qs.filter(qs.all('catalog_product'), '{"metadata__名前__icontains": "x"}') $$, 'unicode jsonb key');
SELECT is(qs.count('{"model": "catalog_product", "limit": null}'), 1000::bigint, 'limit null: no limit');

-- ---------------------------------------------------------------------
-- Slices
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.slice(qs.all('catalog_product'), -1) $$, '22023',
  'negative indexing is not supported', 'slice: negative start');
SELECT throws_ok($$ SELECT qs.slice(qs.all('catalog_product'), 1, -2) $$, '22023',
  'negative indexing is not supported', 'slice: negative stop');
SELECT throws_ok($$ SELECT qs.filter(qs.slice(qs.all('catalog_product'), 0, 5), '{"stock": 1}') $$, '22023',
  'cannot filter a query once a slice has been taken', 'filter after slice');
SELECT throws_ok($$ SELECT qs.exclude(qs.slice(qs.all('catalog_product'), 5), '{"stock": 1}') $$, '22023',
  'cannot filter a query once a slice has been taken', 'exclude after an offset-only slice');
SELECT throws_ok($$ SELECT qs.order_by(qs.slice(qs.all('catalog_product'), 0, 5), 'id') $$, '22023',
  'cannot reorder a query once a slice has been taken', 'order_by after slice');
SELECT throws_ok($$ SELECT qs.distinct(qs.slice(qs.all('catalog_product'), 0, 5)) $$, '22023',
  'cannot create distinct fields once a slice has been taken', 'distinct after slice');
SELECT throws_ok($$ SELECT qs.last(qs.slice(qs.order_by(qs.all('catalog_product'), 'id'), 0, 5)) $$, '22023',
  'cannot reverse a query once a slice has been taken', 'last() on a sliced queryset');
SELECT throws_ok($$ SELECT qs.latest(qs.slice(qs.all('catalog_product'), 0, 5), 'id') $$, '22023',
  'cannot change a query once a slice has been taken', 'latest() on a sliced queryset');
SELECT throws_ok($$ SELECT qs.get('{"model": "catalog_product", "offset": 3}', '{"id": 1}') $$, '22023',
  'cannot filter a query once a slice has been taken', 'get(q, lookups) on a sliced queryset');
-- BUG: qs.slice() does not validate the spec it starts from
SELECT throws_ok($$ SELECT qs.slice('{"model": "catalog_product", "limit": -5}', 0) $$, '22023',
  'invalid spec at $.limit: expected a non-negative integer, got -5',
  'slice() refuses a negative limit (today: dropped, the slice becomes unlimited)');
SELECT throws_ok($$ SELECT qs.slice('{"model": "catalog_product", "limit": 1.5}', 0) $$, '22023',
  'invalid spec at $.limit: expected a non-negative integer, got 1.5',
  'slice() refuses a fractional limit (today: rounded to 2)');
SELECT throws_ok($$ SELECT qs.slice('{"model": "catalog_product", "offset": 1e30}', 0) $$, '22023',
  NULL, 'slice() reports a huge offset as a spec error (today: 22003 bigint out of range)');

-- ---------------------------------------------------------------------
-- get / earliest / in_bulk / fetch
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.get(qs.all('catalog_tag'), '{"slug": "no-such-tag"}') $$, 'P0002',
  'catalog_tag matching query does not exist', 'get: DoesNotExist');
SELECT throws_ok($$ SELECT qs.get(qs.all('catalog_tag'), '{"id__in": [1, 2, 3]}') $$, 'P0003',
  'get() returned more than one catalog_tag -- it returned 3!', 'get: MultipleObjectsReturned');
SELECT throws_ok($$ SELECT qs.get(qs.all('catalog_product'), '{"price__gte": 0}') $$, 'P0003',
  'get() returned more than one catalog_product -- it returned more than 20!', 'get: more than 20');
SELECT throws_ok($$ SELECT qs.latest(qs.filter(qs.all('catalog_review'), '{"id": -1}'), 'created_at') $$, 'P0002',
  'catalog_review matching query does not exist', 'latest of nothing: DoesNotExist');
SELECT throws_ok($$ SELECT qs.earliest(qs.all('catalog_review'), VARIADIC ARRAY[]::text[]) $$, '22023',
  'earliest() requires at least one field name', 'earliest without fields');
SELECT throws_ok($$ SELECT qs.in_bulk(qs.all('catalog_product'), '[1]', 'status') $$, '22023',
  'in_bulk()''s field_name must be a unique field but "status" isn''t', 'in_bulk on a non-unique field');
SELECT throws_ok($$ SELECT qs.in_bulk(qs.slice(qs.all('catalog_product'), 0, 10), '[1]') $$, '22023',
  'cannot use ''limit'' or ''offset'' with in_bulk()', 'in_bulk on a sliced queryset');
SELECT throws_ok($$ SELECT qs.in_bulk(qs.all('catalog_product'), '1') $$, '22023',
  'in_bulk() expects a JSON array of ids, got number', 'in_bulk: ids not an array');
SELECT throws_ok($$ SELECT qs.in_bulk(qs.all('catalog_product'), '["one"]') $$, '22P02',
  'invalid value for field "id": invalid input syntax for type bigint: "one"', 'in_bulk: bad id');
SELECT throws_ok($$ SELECT * FROM qs.fetch(qs.all('catalog_tag'), NULL::integer) $$, '42804',
  'qs.fetch() needs a row type as its second argument', 'fetch with a non-row type');
SELECT throws_ok($$ SELECT * FROM qs.fetch(qs.values_list(qs.all('catalog_tag'), '{id}'), NULL::catalog_tag) $$, '22023',
  'qs.fetch() returns typed rows and cannot be used with values() or values_list()', 'fetch with values_list');

-- ---------------------------------------------------------------------
-- NULL arguments
-- ---------------------------------------------------------------------
SELECT throws_ok($$ SELECT qs.filter(NULL, '{}') $$, '22004', 'queryset must not be null', 'filter(NULL, ...)');
SELECT throws_ok($$ SELECT qs.count(NULL) $$, '22004', 'queryset must not be null', 'count(NULL)');
SELECT throws_ok($$ SELECT * FROM qs.rows(NULL) $$, '22004', 'queryset must not be null', 'rows(NULL)');
SELECT throws_ok($$ SELECT qs.exists(NULL) $$, '22004', 'queryset must not be null', 'exists(NULL)');
SELECT throws_ok($$ SELECT qs.first(NULL) $$, '22004', 'queryset must not be null', 'first(NULL)');
SELECT throws_ok($$ SELECT qs.cursor(NULL) $$, '22004', 'queryset must not be null', 'cursor(NULL)');
SELECT throws_ok($$ SELECT qs.explain(NULL) $$, '22004', 'queryset must not be null', 'explain(NULL)');
SELECT throws_ok($$ SELECT qs.params(NULL) $$, '22004', 'queryset must not be null', 'params(NULL)');
SELECT throws_ok($$ SELECT qs.filter(qs.all('catalog_tag'), NULL) $$, '22004', 'filter lookups must not be null', 'filter(q, NULL)');
SELECT throws_ok($$ SELECT qs.values(qs.all('catalog_tag'), 'id', NULL) $$, '22004', 'field names must not be null', 'values(q, NULL field)');
SELECT throws_ok($$ SELECT qs.order_by(qs.all('catalog_tag'), VARIADIC '{{id}}'::text[]) $$, '2202E',
  'field lists must be one-dimensional arrays', 'a two-dimensional field list');
SELECT ok(qs.all(NULL) IS NULL, 'all(NULL) is NULL (strict)');

-- ---------------------------------------------------------------------
-- Crashes (BUG), last: each runs in a separate session, because a crash
-- restarts every session of the server, this one included; the sleep lets
-- crash recovery finish before the next test file connects.
-- ---------------------------------------------------------------------
\setenv PGDATABASE :DBNAME
-- qs.explain() reads its result after SPI_finish() freed it
\set explain_big `psql -X -q -tA -c "SELECT 'ok' WHERE qs.explain(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('id__in', (SELECT jsonb_agg(g) FROM generate_series(1, 100000) g)))) IS NOT NULL" 2>/dev/null; sleep 1`
\set explain_huge `psql -X -q -tA -c "SELECT 'ok' WHERE qs.explain(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('name', repeat('\"', 20000000)))) IS NOT NULL" 2>/dev/null; sleep 3`
-- values_list(flat) with no fields on a model with no columns
\set zero_columns `psql -X -q -tA -c 'CREATE TEMP TABLE qs_zero_columns ()' -c "SELECT count(*) FROM qs.rows('{\"model\": \"qs_zero_columns\", \"values_list\": [], \"flat\": true}')" -c "SELECT qs.values_list(qs.all('qs_zero_columns'), '{}', flat => true)" -c "SELECT 'ok'" 2>/dev/null | tail -n 1; sleep 3`
SELECT is(:'explain_big'::text, 'ok', 'explain of a 100,000-id in list (was: read freed memory)');
SELECT is(:'explain_huge'::text, 'ok', 'explain of a 40 MB plan (was: SIGSEGV)');
SELECT is(:'zero_columns'::text, 'ok', 'values_list(flat) on a model without columns is an error, not a crash (was: SIGSEGV)');

SELECT * FROM finish();
ROLLBACK;
