import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.pgqueryset.DatabaseError;
import org.pgqueryset.Env;
import org.pgqueryset.Json;
import org.pgqueryset.QuerySet;

/**
 * The Java client of clients/PROTOCOL.md: the demo shop through pg_queryset,
 * with plain JDBC behind PgBouncer.
 *
 * <pre>
 *   Shop workloads
 *   Shop load --clients N --requests R --first-tenant T [--session]
 *   Shop bench --seconds S [--clients 16]
 * </pre>
 */
public final class Shop {
    private Shop() {}

    static final String LANG = "java";
    static final PrintStream OUT = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    static final PrintStream ERR = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        if (args.length == 0) {
            usage();
        }
        try {
            switch (args[0]) {
                case "workloads":
                    if (args.length != 1) {
                        usage();
                    }
                    workloads();
                    break;
                case "load":
                    load(args);
                    break;
                case "bench":
                    bench(args);
                    break;
                default:
                    usage();
            }
        } catch (Exception e) {
            ERR.println("shop (" + LANG + "): " + e);
            System.exit(1);
        }
        OUT.flush();
        System.exit(0);
    }

    static void usage() {
        ERR.println("usage: Shop workloads | load --clients N --requests R --first-tenant T [--session]"
            + " | bench --seconds S [--clients 16]");
        System.exit(2);
    }

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalStateException(name + " is not set");
        }
        return v;
    }

    /** One output line; raw newlines in JSON text are only whitespace, so they become spaces. */
    static void emit(String label, String json) {
        OUT.println(label + "\t" + json.replace('\n', ' ').replace('\r', ' '));
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parseObject(String json) {
        return (Map<String, Object>) Json.parse(json);
    }

    // ================================================================ workloads

    static final List<String> W = List.of("2025-01-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00");

    static final QuerySet PRODUCTS_CHAIN = QuerySet.of("catalog_product")
        .usingManager("objects")
        .use("active")
        .use("in_stock")
        .use("by_category", Map.of("slug", "laptops"))
        .use("in_price_range", obj("min_price", 50, "max_price", 2000));

    interface Action {
        void run() throws Exception;
    }

    /** "Class/SQLSTATE" of the DatabaseError an action raises. */
    static String raised(Action a) throws Exception {
        try {
            a.run();
        } catch (DatabaseError e) {
            return e.getClass().getSimpleName() + "/" + e.sqlstate();
        }
        return "no error";
    }

    static void workloads() throws Exception {
        String secret = env("QS_TENANT_SECRET");
        String audience = env("QS_TENANT_AUDIENCE");
        try (Connection conn = Env.connect()) {
            emit("order_graph", QuerySet.of("shop_order")
                .filter(Map.of("id", 42))
                .selectRelated("user", "shipping_address")
                .prefetchRelated("items__product__category")
                .only("status", "total", "created_at", "user__username", "shipping_address__city",
                      "items__quantity", "items__unit_price", "items__product__name",
                      "items__product__category__name")
                .json(conn));

            emit("dashboard.revenue_by_category", QuerySet.of("shop_orderitem")
                .filter(Map.of("order__created_at__range", W))
                .values("product__category__name")
                .annotate("revenue", Map.of("Sum", Map.of("*", List.of("quantity", "unit_price"))))
                .annotate("units_sold", Map.of("Sum", "quantity"))
                .orderBy("-revenue")
                .slice(0, 10)
                .json(conn));

            emit("dashboard.monthly", QuerySet.of("shop_order")
                .filter(Map.of("created_at__range", W))
                .values("month")
                .annotate("month", Map.of("TruncMonth", "created_at"))
                .annotate("revenue", Map.of("Sum", "total"))
                .annotate("order_count", Map.of("Count", "id"))
                .annotate("avg_order_value", Map.of("Avg", "total"))
                .orderBy("month")
                .json(conn));

            emit("dashboard.top_products", QuerySet.of("shop_orderitem")
                .filter(Map.of("order__created_at__range", W))
                .values("product__name", "product__id")
                .annotate("total_revenue", Map.of("Sum", Map.of("*", List.of("quantity", "unit_price"))))
                .annotate("total_units", Map.of("Sum", "quantity"))
                .orderBy("-total_revenue", "product__id")
                .slice(0, 5)
                .json(conn));

            emit("dashboard.low_stock", QuerySet.of("catalog_product")
                .filter(obj("status", "active", "stock__lte", 2))
                .values("id", "name", "stock", "category__name")
                .orderBy("stock", "id")
                .slice(0, 10)
                .json(conn));

            emit("products.chain", PRODUCTS_CHAIN
                .values("id", "name", "price", "stock", "category__name")
                .orderBy("price", "id")
                .slice(0, 5)
                .json(conn));

            emit("products.chain_count", Long.toString(PRODUCTS_CHAIN.count(conn)));

            emit("products.get", QuerySet.of("catalog_product").only("name", "price")
                .get(conn, Map.of("id", 21)));

            // errors
            QuerySet product = QuerySet.of("catalog_product");
            Map<String, Object> errors = new LinkedHashMap<>();
            errors.put("does_not_exist", raised(() -> product.get(conn, Map.of("id", 999999))));
            errors.put("multiple", raised(() -> product.get(conn, Map.of("status", "active"))));
            errors.put("field_error", raised(() -> product.filter(Map.of("colour", "red")).count(conn)));
            errors.put("invalid", raised(() -> QuerySet.fromJson("{\"model\":\"catalog_product\",\"limit\":-1}").count(conn)));
            errors.put("forged_token", inTransaction(conn, () -> raised(() ->
                QuerySet.setTenantToken(conn, QuerySet.mintToken("wrong-secret", "2", audience, 600)))));
            errors.put("budget", inTransaction(conn, () -> {
                try (Statement st = conn.createStatement()) {
                    st.execute("SET LOCAL pg_queryset.query_budget = 2");
                }
                return raised(() -> {
                    for (int i = 0; i < 3; i++) {
                        product.count(conn);
                    }
                });
            }));
            emit("errors", Json.write(errors));

            // stock.decrement
            QuerySet p13 = QuerySet.of("catalog_product").filter(obj("id", 13, "stock__gte", 2));
            List<Object> sold = new ArrayList<>();
            boolean out = false;
            for (int i = 0; i < 100000; i++) {
                long n = p13.update(conn, Map.of("stock", Map.of("-", List.of(Map.of("F", "stock"), 2))));
                if (n == 0) {
                    out = true;
                    break;
                }
                sold.add(2);
            }
            Object left = parseObject(QuerySet.of("catalog_product").only("stock").get(conn, Map.of("id", 13))).get("stock");
            emit("stock.decrement", Json.write(obj("product", 13, "sold", sold, "out_of_stock", out, "stock_left", left)));

            // prices.bulk_update
            long updated = QuerySet.bulkUpdate(conn, "catalog_product", List.of(
                    obj("id", 21, "price", "12.50"), obj("id", 22, "price", "99.00"), obj("id", 23, "price", "7.25")),
                List.of("price"));
            String rows = QuerySet.of("catalog_product").filter(Map.of("id__in", List.of(21, 22, 23)))
                .values("id", "price").orderBy("id").json(conn);
            emit("prices.bulk_update", Json.write(obj("updated", updated, "rows", Json.raw(rows))));

            // prices.raise
            QuerySet laptops = QuerySet.of("catalog_product").filter(obj("category__slug", "laptops", "status", "active"));
            long raised = laptops.update(conn, Map.of("price", Map.of("*", List.of(Map.of("F", "price"), new BigDecimal("1.1")))));
            Object total = parseObject(laptops.aggregate(conn, Map.of("total", Map.of("Sum", "price")))).get("total");
            emit("prices.raise", Json.write(obj("updated", raised, "total", total)));

            emit("export.csv", Json.write(exportCsv(conn)));

            emit("tenant.request", Json.write(tenantRequest(conn, QuerySet.mintToken(secret, "2", audience, 600))));
        }
    }

    interface TxBody<T> {
        T run() throws Exception;
    }

    /** Runs body in a transaction that is rolled back afterwards. */
    static <T> T inTransaction(Connection conn, TxBody<T> body) throws Exception {
        conn.setAutoCommit(false);
        try {
            return body.run();
        } finally {
            conn.rollback();
            conn.setAutoCommit(true);
        }
    }

    static Map<String, Object> exportCsv(Connection conn) throws Exception {
        QuerySet delivered = QuerySet.of("shop_order")
            .filter(Map.of("status", "delivered"))
            .annotate("total_text", obj("Cast", "total", "output_field", "text"))
            .valuesList("id", "total_text", "created_at__date")
            .orderBy("id");
        Path file = Files.createTempFile("qs-export-", ".csv");
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long[] batches = {0};
        String[] first = {null};
        long rows;
        conn.setAutoCommit(false);
        try (OutputStream os = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(file)), sha)) {
            os.write("id,total,date\n".getBytes(StandardCharsets.UTF_8));
            rows = delivered.cursor(conn, "export", 100, batch -> {
                batches[0]++;
                StringBuilder sb = new StringBuilder();
                for (String row : batch) {
                    List<?> cols = (List<?>) Json.parse(row);
                    int mark = sb.length();
                    for (int i = 0; i < cols.size(); i++) {
                        if (i > 0) {
                            sb.append(',');
                        }
                        String t = Json.text(cols.get(i));
                        sb.append(t == null ? "" : t);
                    }
                    if (first[0] == null) {
                        first[0] = sb.substring(mark);
                    }
                    sb.append('\n');
                }
                os.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
            conn.commit();
        } catch (Exception e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(true);
            Files.deleteIfExists(file);
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : sha.digest()) {
            hex.append(String.format("%02x", b));
        }
        return obj("rows", rows, "batches", batches[0], "sha256", hex.toString(), "first", first[0]);
    }

    static Map<String, Object> tenantRequest(Connection conn, String token) throws Exception {
        QuerySet projects = QuerySet.of("tenancy_project");
        Map<String, Object> r = new LinkedHashMap<>();
        conn.setAutoCommit(false);
        try {
            QuerySet.setTenantToken(conn, token);
            r.put("tenant", QuerySet.currentTenant(conn));
            r.put("visible", projects.count(conn));
            r.put("other_tenant_visible", projects.filter(Map.of("tenant_id", 3)).count(conn));
            String created = QuerySet.create(conn, "tenancy_project", obj("name", "client project", "status", "active"));
            r.put("created_tenant_id", parseObject(created).get("tenant_id"));
            r.put("after_create", projects.count(conn));
            conn.commit();
        } catch (Exception e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(true);
        }
        r.put("without_token", projects.count(conn));
        return r;
    }

    // ===================================================================== load

    static int intArg(String[] args, String flag, Integer dflt) {
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals(flag)) {
                if (i + 1 >= args.length) {
                    usage();
                }
                try {
                    return Integer.parseInt(args[i + 1]);
                } catch (NumberFormatException e) {
                    usage();
                }
            }
        }
        if (dflt == null) {
            usage();
        }
        return dflt;
    }

    static boolean flag(String[] args, String flag) {
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals(flag)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Step 2's probe. JDBC always uses the extended protocol, and the portal
     * it binds for this very statement is listed in pg_cursors under the
     * empty name (psql's simple-query portal is not): only named cursors
     * (DECLARE, qs.cursor) can be left over from another client.
     */
    static final String LEAK_PROBE = "SELECT pg_backend_pid(), qs.current_tenant(), "
        + "current_setting('pg_queryset.query_budget'), "
        + "coalesce(current_setting('pg_queryset.tenant_token', true), ''), "
        + "(SELECT count(*) FROM pg_catalog.pg_cursors WHERE name <> '')";

    static final QuerySet PROJECTS = QuerySet.of("tenancy_project");
    static final QuerySet PROJECT_TENANTS = PROJECTS.valuesList(List.of("tenant_id"), true);

    static final class LoadTotals {
        final AtomicLong ok = new AtomicLong();
        final AtomicLong leaks = new AtomicLong();
        final AtomicLong wrong = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong planHitsMax = new AtomicLong();
        final Map<String, Long> pids = new TreeMap<>();

        synchronized void pid(String pid) {
            pids.merge(pid, 1L, Long::sum);
        }
    }

    static void load(String[] args) throws Exception {
        int clients = intArg(args, "--clients", null);
        int requests = intArg(args, "--requests", null);
        int firstTenant = intArg(args, "--first-tenant", null);
        boolean session = flag(args, "--session");
        String secret = env("QS_TENANT_SECRET");
        String audience = env("QS_TENANT_AUDIENCE");
        LoadTotals t = new LoadTotals();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            final int client = i;
            Thread th = new Thread(() -> loadClient(client, firstTenant + client, requests, session, secret, audience, t),
                "client-" + i);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        Map<String, Object> pids;
        synchronized (t) {
            pids = new LinkedHashMap<>(t.pids);
        }
        OUT.println(Json.write(obj("lang", LANG, "clients", clients, "requests", (long) clients * requests,
            "ok", t.ok.get(), "leaks", t.leaks.get(), "wrong", t.wrong.get(), "errors", t.errors.get(),
            "plan_hits_max", t.planHitsMax.get(), "pids", pids)));
    }

    static void loadClient(int client, int tenant, int requests, boolean session, String secret, String audience,
                           LoadTotals t) {
        String token = QuerySet.mintToken(secret, Integer.toString(tenant), audience, 600);
        String me = Integer.toString(tenant);
        long done = 0; // requests committed so far
        Connection conn;
        try {
            conn = Env.connect();
            conn.setAutoCommit(false);
        } catch (SQLException e) {
            ERR.println("java client " + client + ": cannot connect: " + e);
            t.errors.addAndGet(requests);
            return;
        }
        try (conn; PreparedStatement probe = conn.prepareStatement(LEAK_PROBE);
             PreparedStatement stats = conn.prepareStatement("SELECT hits FROM qs.plan_cache_stats()");
             Statement st = conn.createStatement()) {
            for (int r = 0; r < requests; r++) {
                boolean bad = false;
                try {
                    // 1-2. BEGIN (implicit: auto-commit off) and the leak probe
                    try (ResultSet rs = probe.executeQuery()) {
                        rs.next();
                        t.pid(Integer.toString(rs.getInt(1)));
                        String tenantNow = rs.getString(2);
                        String budget = rs.getString(3);
                        String tokenNow = rs.getString(4);
                        long cursors = rs.getLong(5);
                        if (tenantNow != null || !"0".equals(budget) || !tokenNow.isEmpty() || cursors != 0) {
                            t.leaks.incrementAndGet();
                            bad = true;
                            ERR.println("java client " + client + " request " + r + ": leak: tenant=" + tenantNow
                                + " budget=" + budget + " token=" + (tokenNow.isEmpty() ? "" : "<set>")
                                + " cursors=" + cursors);
                        }
                    }
                    // 3. budget
                    st.execute("SET LOCAL pg_queryset.query_budget = 20");
                    // 4. own token
                    QuerySet.setTenantToken(conn, token);
                    // 5. count
                    long n = PROJECTS.count(conn);
                    boolean wrong = n != 2 + done;
                    // 6. cursor, FETCH ALL, left open
                    long[] mine = {0};
                    long fetched = PROJECT_TENANTS.cursor(conn, "projects", 0, rows -> {
                        for (String v : rows) {
                            if (me.equals(Json.text(Json.parse(v)))) {
                                mine[0]++;
                            }
                        }
                    });
                    wrong |= fetched != n || mine[0] != fetched;
                    // 7. create
                    String created = QuerySet.create(conn, "tenancy_project",
                        obj("name", LANG + "-" + client + "-" + r, "status", "active"));
                    wrong |= !me.equals(Json.text(parseObject(created).get("tenant_id")));
                    // 8. plan cache
                    try (ResultSet rs = stats.executeQuery()) {
                        rs.next();
                        t.planHitsMax.accumulateAndGet(rs.getLong(1), Math::max);
                    }
                    // 9. COMMIT
                    conn.commit();
                    done++;
                    if (wrong) {
                        t.wrong.incrementAndGet();
                        bad = true;
                        ERR.println("java client " + client + " request " + r + ": wrong: count=" + n
                            + " expected=" + (2 + done - 1) + " fetched=" + fetched + " own=" + mine[0]
                            + " created=" + created);
                    }
                    if (session && r == requests - 1) {
                        // leave session state behind for the next client of this server connection
                        conn.setAutoCommit(true);
                        st.execute("SET pg_queryset.query_budget = 99");
                        QuerySet.setTenantToken(conn, token, false);
                        st.execute("DECLARE leak CURSOR WITH HOLD FOR SELECT 1");
                    }
                    if (!bad) {
                        t.ok.incrementAndGet();
                    }
                } catch (Exception e) {
                    t.errors.incrementAndGet();
                    ERR.println("java client " + client + " request " + r + ": " + e);
                    try {
                        if (!conn.getAutoCommit()) {
                            conn.rollback();
                        }
                    } catch (SQLException e2) {
                        ERR.println("java client " + client + ": rollback failed: " + e2);
                    }
                }
            }
        } catch (SQLException e) {
            ERR.println("java client " + client + ": " + e);
            t.errors.incrementAndGet();
        }
    }

    // ==================================================================== bench

    static double round1(double x) {
        return Math.round(x * 10.0) / 10.0;
    }

    interface Request {
        /** One request; returns the number of queries it ran. */
        long run(int k) throws Exception;
    }

    /**
     * Runs req for the given seconds on this thread, after a warm-up of at
     * most 20 requests or half a second; returns {requests, queries, nanos}.
     * Requests are numbered from 0 again when the clock starts (users 101..150).
     */
    static long[] timed(double seconds, Request req) throws Exception {
        long warm = System.nanoTime() + 500_000_000L;
        for (int k = 0; k < 20 && System.nanoTime() < warm; k++) { // warm-up (JIT, connection), not counted
            req.run(k);
        }
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long n = 0;
        long q = 0;
        long now;
        do {
            q += req.run((int) n);
            n++;
            now = System.nanoTime();
        } while (now < end);
        return new long[] {n, q, now - start};
    }

    static Map<String, Object> rowMap(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        Map<String, Object> m = new LinkedHashMap<>();
        for (int c = 1; c <= md.getColumnCount(); c++) {
            Object v = rs.getObject(c);
            if (!(v == null || v instanceof Number || v instanceof Boolean || v instanceof String)) {
                v = rs.getString(c);
            }
            m.put(md.getColumnLabel(c), v);
        }
        return m;
    }

    /** The N+1 loop: one query for the orders, then per order, per item, per product. */
    static final class NPlusOne {
        final PreparedStatement orders;
        final PreparedStatement address;
        final PreparedStatement items;
        final PreparedStatement product;
        final PreparedStatement category;

        NPlusOne(Connection conn) throws SQLException {
            orders = conn.prepareStatement("SELECT * FROM shop_order WHERE user_id = ? ORDER BY id");
            address = conn.prepareStatement("SELECT * FROM shop_address WHERE id = ?");
            items = conn.prepareStatement("SELECT * FROM shop_orderitem WHERE order_id = ? ORDER BY id");
            product = conn.prepareStatement("SELECT * FROM catalog_product WHERE id = ?");
            category = conn.prepareStatement("SELECT * FROM catalog_category WHERE id = ?");
        }

        Map<String, Object> one(PreparedStatement ps, Object id) throws SQLException {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rowMap(rs) : null;
            }
        }

        List<Map<String, Object>> many(PreparedStatement ps, Object id) throws SQLException {
            ps.setObject(1, id);
            List<Map<String, Object>> l = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    l.add(rowMap(rs));
                }
            }
            return l;
        }

        /** Returns the graph and adds the number of queries to q[0]. */
        List<Map<String, Object>> graph(int user, long[] q) throws SQLException {
            List<Map<String, Object>> os = many(orders, user);
            q[0]++;
            for (Map<String, Object> o : os) {
                Object addr = o.get("shipping_address_id");
                Map<String, Object> a = null;
                if (addr != null) {
                    a = one(address, addr);
                    q[0]++;
                }
                o.put("shipping_address", a);
                List<Map<String, Object>> its = many(items, o.get("id"));
                q[0]++;
                for (Map<String, Object> it : its) {
                    Map<String, Object> p = one(product, it.get("product_id"));
                    q[0]++;
                    if (p != null) {
                        p.put("category", one(category, p.get("category_id")));
                        q[0]++;
                    }
                    it.put("product", p);
                }
                o.put("items", its);
            }
            return os;
        }
    }

    static void bench(String[] args) throws Exception {
        int seconds = intArg(args, "--seconds", null);
        int clients = intArg(args, "--clients", 16);
        String root = System.getProperty("pgqueryset.root", ".");
        // the expert's statement; JDBC's placeholder is ? (the driver numbers them $1.. itself)
        StringBuilder hs = new StringBuilder();
        for (String line : Files.readAllLines(Paths.get(root, "bench", "nested_hand.sql"), StandardCharsets.UTF_8)) {
            if (!line.trim().startsWith("--")) {
                hs.append(line).append('\n');
            }
        }
        String handSql = hs.toString().replace("$1", "?");

        Map<String, Object> graph = new LinkedHashMap<>();
        try (Connection conn = Env.connect()) {
            long[] r = timed(seconds, k -> {
                int user = k % 50 + 101;
                Json.parse(QuerySet.of("shop_order").filter(Map.of("user", user)).orderBy("id")
                    .selectRelated("shipping_address").prefetchRelated("items__product__category").json(conn));
                return 1;
            });
            graph.put("qs_rps", round1(r[0] / (r[2] / 1e9)));

            NPlusOne n1 = new NPlusOne(conn);
            r = timed(seconds, k -> {
                long[] q = {0};
                n1.graph(k % 50 + 101, q);
                return q[0];
            });
            graph.put("n1_rps", round1(r[0] / (r[2] / 1e9)));
            double n1Queries = (double) r[1] / r[0];

            try (PreparedStatement hand = conn.prepareStatement(handSql)) {
                r = timed(seconds, k -> {
                    hand.setInt(1, k % 50 + 101);
                    try (ResultSet rs = hand.executeQuery()) {
                        rs.next();
                        Json.parse(rs.getString(1));
                    }
                    return 1;
                });
            }
            graph.put("hand_rps", round1(r[0] / (r[2] / 1e9)));
            graph.put("n1_queries", round1(n1Queries));
        }

        Map<String, Object> pk = new LinkedHashMap<>();
        pk.put("clients", clients);
        List<Connection> conns = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                conns.add(Env.connect());
            }
            pk.put("qs_rps", round1(parallel(conns, seconds, (conn, k) -> {
                Json.parse(QuerySet.of("catalog_product").filter(Map.of("id", k % 1000 + 1)).json(conn));
            })));
            pk.put("hand_rps", round1(parallel(conns, seconds, new PkHand())));
        } finally {
            for (Connection c : conns) {
                c.close();
            }
        }
        OUT.println(Json.write(obj("lang", LANG, "graph", graph, "pk", pk)));
    }

    interface PkRequest {
        void run(Connection conn, int k) throws Exception;
    }

    /** row_to_json by primary key, one prepared statement per connection. */
    static final class PkHand implements PkRequest {
        private final Map<Connection, PreparedStatement> ps = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void run(Connection conn, int k) throws Exception {
            PreparedStatement p = ps.get(conn);
            if (p == null) {
                p = conn.prepareStatement("SELECT row_to_json(p) FROM catalog_product p WHERE id = ?");
                ps.put(conn, p);
            }
            p.setInt(1, k % 1000 + 1);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                Json.parse(rs.getString(1));
            }
        }
    }

    /** Every connection on its own thread for the given seconds (after a warm-up); total requests per second. */
    static double parallel(List<Connection> conns, int seconds, PkRequest req) throws Exception {
        int n = conns.size();
        long[] counts = new long[n];
        Exception[] failures = new Exception[n];
        AtomicLong start = new AtomicLong();
        AtomicLong end = new AtomicLong();
        // the window opens when every connection is warm (the barrier's action runs before the release)
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(n, () -> {
            long now = System.nanoTime();
            start.set(now);
            end.set(now + seconds * 1_000_000_000L);
        });
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final int t = i;
            Thread th = new Thread(() -> {
                Connection c = conns.get(t);
                try {
                    for (int k = 0; k < 20; k++) {
                        req.run(c, k * n + t);
                    }
                    go.await();
                    long stop = end.get();
                    long k = 0;
                    while (System.nanoTime() < stop) {
                        req.run(c, (int) ((k * n + t) % 1000));
                        k++;
                    }
                    counts[t] = k;
                } catch (Exception e) {
                    failures[t] = e;
                    go.reset();
                }
            }, "bench-" + i);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        long elapsed = System.nanoTime() - start.get();
        for (Exception e : failures) {
            if (e != null && !(e instanceof java.util.concurrent.BrokenBarrierException)) {
                throw e;
            }
        }
        for (Exception e : failures) {
            if (e != null) {
                throw e;
            }
        }
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        return total / (elapsed / 1e9);
    }
}
