-- Composite primary keys (issue 19, part 4): a tracker keyed on
-- (tenant_id, id) everywhere, as a distributed or multi-tenant schema
-- is.  Every answer is compared with hand-written SQL, with every
-- shape-cache hit recompiled and compared.
SET pg_queryset.shape_cache_check = on;
CREATE TABLE ck_board (
    tenant_id int NOT NULL, id int NOT NULL, name text NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE ck_task (
    tenant_id int NOT NULL, id int NOT NULL, board_id int, title text NOT NULL,
    points int NOT NULL, done boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, board_id) REFERENCES ck_board);
CREATE TABLE ck_label (
    tenant_id int NOT NULL, id int NOT NULL, name text NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE ck_task_labels (
    tenant_id int NOT NULL, task_id int NOT NULL, label_id int NOT NULL,
    PRIMARY KEY (tenant_id, task_id, label_id),
    FOREIGN KEY (tenant_id, task_id) REFERENCES ck_task,
    FOREIGN KEY (tenant_id, label_id) REFERENCES ck_label);
-- 3 tenants x 4 boards (board 4 of each tenant is empty); 20 tasks per
-- tenant, every seventh without a board; labels on some tasks
INSERT INTO ck_board SELECT t, b, (ARRAY['Roadmap', 'Bugs', 'Ops', 'Archive'])[b]
  FROM generate_series(1, 3) t, generate_series(1, 4) b;
INSERT INTO ck_task SELECT t, i, CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % 3 END,
       format('task %s-%s', t, i), (i * 7 + t) % 13, i % 4 = 0
  FROM generate_series(1, 3) t, generate_series(1, 20) i;
INSERT INTO ck_label SELECT t, l, (ARRAY['urgent', 'later', 'customer'])[l]
  FROM generate_series(1, 3) t, generate_series(1, 3) l;
INSERT INTO ck_task_labels SELECT t, i, l
  FROM generate_series(1, 3) t, generate_series(1, 20) i, generate_series(1, 3) l
 WHERE (i + l + t) % 4 = 0;
ANALYZE ck_board, ck_task, ck_label, ck_task_labels;
-- a composite foreign key is a relation named after its target
SELECT name, kind, target FROM qs.relations('ck_task') ORDER BY name;

-- pk names the whole key: an object of its columns, or a list in key order
SELECT qs.get('{"model": "ck_task", "where": {"pk": {"tenant_id": 2, "id": 5}}}') ->> 'title' AS by_object,
       qs.get('{"model": "ck_task", "where": {"pk": [2, 5]}}') ->> 'title' AS by_list,
       qs.get('{"model": "ck_task", "where": {"pk": {"Value": [2, 5]}}}') ->> 'title' AS by_value;
SELECT qs.count('{"model": "ck_task", "where": {"pk__in": [[1, 3], {"tenant_id": 2, "id": 3}, null, [3, 99]]}}') AS in_list,
       (SELECT count(*) FROM ck_task WHERE (tenant_id, id) IN ((1, 3), (2, 3), (3, 99))) AS hand,
       qs.count('{"model": "ck_task", "where": {"pk__in": []}}') AS in_empty;
-- comparisons are row comparisons, the keyset an expert writes
SELECT qs.count('{"model": "ck_task", "where": {"pk__gt": [2, 17]}}') AS gt,
       (SELECT count(*) FROM ck_task WHERE (tenant_id, id) > (2, 17)) AS hand_gt,
       qs.count('{"model": "ck_task", "where": {"pk__lte": {"id": 2, "tenant_id": 1}}}') AS lte,
       (SELECT count(*) FROM ck_task WHERE (tenant_id, id) <= (1, 2)) AS hand_lte,
       qs.count('{"model": "ck_task", "where": {"pk__gte": [2, 1], "pk__lt": [3, 1]}}') AS tenant_2;
SET enable_seqscan = off;
SELECT p->>'Node Type' AS node, p->>'Index Name' AS index, p->>'Index Cond' AS cond
  FROM jsonb_path_query(qs.explain('{"model": "ck_task", "where": {"pk__gt": [2, 17]}, "order_by": ["pk"], "limit": 5}')::jsonb,
                        'strict $.**.Plans[*] ? (@."Node Type" == "Index Scan")') p;
RESET enable_seqscan;
SELECT qs.sql('{"model": "ck_task", "where": {"pk__gt": [2, 17], "pk__in": [[1, 3]]}, "values": ["title"]}');
-- exclude() and $or with keys; isnull on a key of NOT NULL columns matches nothing
SELECT qs.count('{"model": "ck_task", "where": {"$not": {"pk__in": [[1, 1], [1, 2]]}}}') AS excluded,
       qs.count('{"model": "ck_task", "where": {"$or": [{"pk": [1, 1]}, {"pk": [3, 20]}]}}') AS either,
       qs.count('{"model": "ck_task", "where": {"pk__isnull": true}}') AS pk_null,
       qs.count('{"model": "ck_task", "where": {"pk": null}}') AS pk_none;

-- a composite foreign key compared directly, and its isnull (MATCH SIMPLE:
-- a NULL column means no related row)
SELECT qs.count('{"model": "ck_task", "where": {"ck_board": {"tenant_id": 3, "id": 2}}}') AS on_board,
       (SELECT count(*) FROM ck_task WHERE tenant_id = 3 AND board_id = 2) AS hand_on_board,
       qs.count('{"model": "ck_task", "where": {"ck_board__isnull": true}}') AS no_board,
       (SELECT count(*) FROM ck_task WHERE board_id IS NULL) AS hand_no_board,
       qs.count('{"model": "ck_task", "where": {"$not": {"ck_board": [1, 1]}}}') AS not_board_1_1,
       (SELECT count(*) FROM ck_task WHERE (tenant_id, board_id) IS DISTINCT FROM (1, 1)) AS hand_not;
SELECT qs.count('{"model": "ck_task", "where": {"ck_board__pk__in": [[1, 2], [2, 2]]}}') AS via_pk,
       qs.count('{"model": "ck_task", "where": {"ck_board__name": "Bugs", "tenant_id": 2}}') AS via_name,
       (SELECT count(*) FROM ck_task t JOIN ck_board b ON b.tenant_id = t.tenant_id AND b.id = t.board_id
         WHERE b.name = 'Bugs' AND t.tenant_id = 2) AS hand_via_name;
-- across the many-to-many: each task once
SELECT qs.count('{"model": "ck_task", "where": {"ck_label__pk": [1, 3]}}') AS customer_1,
       (SELECT count(*) FROM ck_task t WHERE EXISTS (SELECT FROM ck_task_labels x
         WHERE x.tenant_id = t.tenant_id AND x.task_id = t.id AND x.tenant_id = 1 AND x.label_id = 3)) AS hand,
       qs.count('{"model": "ck_task", "where": {"ck_label__isnull": true}}') AS unlabelled,
       (SELECT count(*) FROM ck_task t WHERE NOT EXISTS (SELECT FROM ck_task_labels x
         WHERE x.tenant_id = t.tenant_id AND x.task_id = t.id)) AS hand_unlabelled;

-- aggregates through reverse and many-to-many relations to composite keys
SELECT qs.json('{"model": "ck_board", "where": {"tenant_id": 1},
                 "annotate": {"tasks": {"Count": "ck_task"},
                              "open": {"Count": "ck_task", "filter": {"ck_task__done": false}},
                              "points": {"Sum": "ck_task__points"}},
                 "order_by": ["pk"], "only": ["name"]}');
SELECT b.name, count(t.id) AS tasks, count(t.id) FILTER (WHERE NOT t.done) AS open, sum(t.points) AS points
  FROM ck_board b LEFT JOIN ck_task t ON t.tenant_id = b.tenant_id AND t.board_id = b.id
 WHERE b.tenant_id = 1 GROUP BY b.tenant_id, b.id, b.name ORDER BY b.tenant_id, b.id;
SELECT qs.aggregate('{"model": "ck_label"}', '{"links": {"Count": "ck_task"}, "points": {"Sum": "ck_task__points"}}') AS agg,
       (SELECT count(*) FROM ck_task_labels) AS hand_links,
       (SELECT sum(t.points) FROM ck_task_labels x JOIN ck_task t ON t.tenant_id = x.tenant_id AND t.id = x.task_id) AS hand_points;
SELECT qs.aggregate('{"model": "ck_task"}', '{"tasks": {"Count": "pk"}, "distinct": {"Count": "pk", "distinct": true}}') AS agg;
-- values() of the key, and grouping by it
SELECT qs.json('{"model": "ck_task", "where": {"tenant_id": 3, "id__lte": 3}, "values": ["pk", "title"], "order_by": ["-pk"]}');
SELECT qs.json('{"model": "ck_task", "where": {"tenant_id": 2, "id__lte": 6},
                 "values": ["pk"], "annotate": {"labels": {"Count": "ck_label"}}, "order_by": ["-labels", "pk"]}');

-- first() and last() of an unordered queryset order by every key column
SELECT qs.first('{"model": "ck_task_labels"}') AS first, qs.last('{"model": "ck_task_labels"}') AS last,
       (SELECT to_jsonb(x) FROM ck_task_labels x ORDER BY tenant_id, task_id, label_id LIMIT 1) AS hand_first,
       (SELECT to_jsonb(x) FROM ck_task_labels x ORDER BY tenant_id DESC, task_id DESC, label_id DESC LIMIT 1) AS hand_last;
SELECT qs.sql('{"model": "ck_task", "order_by": ["-pk"], "values_list": ["title"], "limit": 1}');
-- only() keeps every key column, as Django keeps the pk
SELECT qs.json('{"model": "ck_board", "only": ["name"], "where": {"pk": [1, 2]}}');

-- in_bulk(): by the key, keyed by its JSON text (Django's tuple keys)
SELECT qs.in_bulk('{"model": "ck_label", "only": ["name"]}', '[[1, 1], {"tenant_id": 3, "id": 2}, [9, 9]]');
SELECT jsonb_object_keys(qs.in_bulk('{"model": "ck_label", "where": {"tenant_id": 2}}')) AS keys;

-- related rows through composite foreign keys
SELECT qs.json('{"model": "ck_task", "where": {"pk__in": [[1, 1], [1, 7]]}, "only": ["title", "ck_board__name"],
                 "select_related": ["ck_board"], "order_by": ["pk"]}');
SELECT qs.json('{"model": "ck_board", "where": {"tenant_id": 3, "id__in": [1, 4]}, "only": ["name"],
                 "prefetch_related": [{"path": "ck_task", "queryset": {"where": {"points__gte": 10}, "only": ["title"]}}],
                 "order_by": ["pk"]}');
SELECT qs.json('{"model": "ck_task", "where": {"pk": [2, 3]}, "only": ["title"], "prefetch_related": ["ck_label"]}');

-- writes match on every key column (each checked by the next statement)
SELECT qs.update('{"model": "ck_task", "where": {"pk__in": [[1, 1], [2, 1]]}}', '{"points": {"+": [{"F": "points"}, 100]}}') AS updated;
SELECT tenant_id, points FROM ck_task WHERE id = 1 ORDER BY tenant_id;
SELECT qs.bulk_update('ck_task', '[{"tenant_id": 1, "id": 2, "title": "renamed 1-2"}, {"tenant_id": 3, "id": 2, "title": "renamed 3-2"}]', '{title}') AS bulk_updated;
SELECT tenant_id, title FROM ck_task WHERE id = 2 ORDER BY tenant_id;
SELECT qs.delete('{"model": "ck_task_labels", "where": {"ck_task__pk": [3, 2]}}') AS deleted;
SELECT tenant_id, count(*) FROM ck_task_labels WHERE task_id = 2 GROUP BY tenant_id ORDER BY tenant_id;
SELECT qs.json('{"model": "ck_task", "select_for_update": {"of": ["self"]}, "where": {"pk": [1, 3]}, "values": ["title"]}');

-- the shape cache replays keys in either form and lists of any length
SELECT qs.count(q) FROM (VALUES ('{"model": "ck_task", "where": {"pk": [1, 4]}}'::jsonb),
                                ('{"model": "ck_task", "where": {"pk": [2, 99]}}'),
                                ('{"model": "ck_task", "where": {"pk__in": [[1, 4], [1, 5]]}}'),
                                ('{"model": "ck_task", "where": {"pk__in": [[1, 4], [1, 5], [2, 5]]}}')) v(q);

-- several terminals in one target list: each result outlives the next call
SELECT qs.first('{"model": "ck_task"}') ->> 'title' AS first, qs.last('{"model": "ck_task"}') ->> 'title' AS last,
       qs.get('{"model": "ck_task", "where": {"pk": [2, 2]}}') ->> 'title' AS got,
       qs.count('{"model": "ck_task"}') AS n;

-- bad keys are clear errors
\set VERBOSITY default
SELECT qs.count('{"model": "ck_task", "where": {"pk": [1]}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk": {"tenant_id": 1, "idx": 1}}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk": [1, null]}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk": [1, "x"]}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk": 1}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk__in": [1, 2]}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk__in": {"tenant_id": 1, "id": 1}}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk__contains": [1, 1]}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk__tenant_id": 1}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk": {"F": "pk"}}}');
SELECT qs.count('{"model": "ck_task", "where": {"pk__in": {"model": "ck_task"}}}');
SELECT qs.in_bulk('{"model": "ck_task"}', '[[1]]');
\set VERBOSITY terse
DROP TABLE ck_task_labels, ck_label, ck_task, ck_board;
