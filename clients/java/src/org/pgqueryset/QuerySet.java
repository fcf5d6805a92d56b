package org.pgqueryset;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.postgresql.util.PGobject;

/**
 * A Django-style QuerySet over pg_queryset: a model name and a JSON spec
 * (docs/queryset.md), built with chained calls and evaluated by a terminal
 * that runs one {@code qs.*} function through JDBC.
 *
 * <pre>{@code
 * QuerySet laptops = QuerySet.of("catalog_product")
 *     .usingManager("objects").use("active").use("by_category", Map.of("slug", "laptops"))
 *     .orderBy("-price").slice(0, 5);
 * String json = laptops.json(conn);   // SELECT qs.json($1)
 * long n = laptops.count(conn);       // SELECT qs.count($1)
 * }</pre>
 *
 * <p><b>Immutable and lazy.</b> Every builder method returns a new QuerySet
 * and reads nothing; arguments are serialized when the builder is called, so
 * mutating a map afterwards does not change the QuerySet. Instances are
 * thread-safe. Nothing reaches the database before a terminal.
 *
 * <p><b>Values</b> (lookups, expressions, arguments, rows) are plain Java
 * values as {@link Json#write(Object)} accepts them: {@code Map}, {@code List},
 * {@code String}, numbers, booleans, {@code null}, or {@link Json.Raw}.
 *
 * <p><b>Terminals</b> take the caller's {@link Connection} and never change
 * its transaction state. Every value travels as a bind parameter (specs as
 * {@code jsonb}); no SQL is built from values, so the connection may use
 * {@code prepareThreshold=0} behind PgBouncer in transaction mode. Server
 * errors are thrown as the {@link DatabaseError} subclass of their SQLSTATE.
 * JSON results are returned as the server's JSON text; use
 * {@link Json#parse(String)} to read them.
 */
public final class QuerySet {
    private final Map<String, Object> spec; // unmodifiable, "model" first

    private QuerySet(Map<String, Object> spec) {
        this.spec = Collections.unmodifiableMap(spec);
    }

    /** {@code Model.objects.all()}: every row of {@code model} (a regclass name, e.g. {@code "catalog_product"}). */
    public static QuerySet of(String model) {
        Objects.requireNonNull(model, "model");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        return new QuerySet(m);
    }

    /** A QuerySet from a whole JSON spec (must be an object with a {@code model}). */
    public static QuerySet fromJson(String specJson) {
        Object parsed = Json.parse(specJson);
        if (!(parsed instanceof Map) || !(((Map<?, ?>) parsed).get("model") instanceof String)) {
            throw new IllegalArgumentException("a spec is a JSON object with a \"model\" string");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) parsed).entrySet()) {
            m.put((String) e.getKey(), Json.raw(Json.write(e.getValue())));
        }
        m.put("model", ((Map<?, ?>) parsed).get("model"));
        return new QuerySet(m);
    }

    /** The model name. */
    public String model() {
        return (String) spec.get("model");
    }

    /** The spec as a read-only map (values are JSON-ready). */
    public Map<String, Object> spec() {
        return spec;
    }

    /** The spec as JSON text, exactly what the terminals send. */
    public String toJson() {
        return Json.write(spec);
    }

    @Override
    public String toString() {
        return "QuerySet" + toJson();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuerySet && ((QuerySet) o).toJson().equals(toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    // ---------------------------------------------------------------- builders

    private QuerySet with(Map<String, Object> changes, String... remove) {
        Map<String, Object> m = new LinkedHashMap<>(spec);
        for (String k : remove) {
            m.remove(k);
        }
        m.putAll(changes);
        return new QuerySet(m);
    }

    private QuerySet put(String key, Object value, String... remove) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put(key, value);
        return with(c, remove);
    }

    /** A frozen copy of a value: its JSON text. */
    private static Json.Raw freeze(Object value) {
        return value instanceof Json.Raw ? (Json.Raw) value : Json.raw(Json.write(value));
    }

    private static List<Object> strings(String... items) {
        List<Object> l = new ArrayList<>(items.length);
        for (String s : items) {
            l.add(Objects.requireNonNull(s, "field"));
        }
        return Collections.unmodifiableList(l);
    }

    @SuppressWarnings("unchecked")
    private List<Object> appended(String key, List<Object> more) {
        List<Object> l = new ArrayList<>();
        Object old = spec.get(key);
        if (old instanceof List) {
            l.addAll((List<Object>) old);
        } else if (old != null) {
            // from fromJson(): a raw array
            Object parsed = Json.parse(((Json.Raw) old).text());
            if (parsed instanceof List) {
                for (Object o : (List<Object>) parsed) {
                    l.add(freeze(o));
                }
            } else {
                l.add(old);
            }
        }
        l.addAll(more);
        return Collections.unmodifiableList(l);
    }

    private QuerySet where(Object q) {
        Object old = spec.get("where");
        Object next = old == null ? q : Map.of("$and", List.of(old, q));
        return put("where", next);
    }

    /**
     * {@code filter(**lookups)}: rows matching every lookup, ANDed with the
     * current filter. {@code lookups} is a Q tree (docs/queryset.md#q-trees):
     * {@code Map.of("price__lt", 10)}, {@code Map.of("$or", List.of(...))}.
     * An empty map changes nothing.
     */
    public QuerySet filter(Map<String, ?> lookups) {
        if (lookups.isEmpty()) {
            return this;
        }
        return where(freeze(lookups));
    }

    /** {@code exclude(**lookups)}: drops rows matching all the lookups ({@code $not}). An empty map changes nothing. */
    public QuerySet exclude(Map<String, ?> lookups) {
        if (lookups.isEmpty()) {
            return this;
        }
        return where(Map.of("$not", freeze(lookups)));
    }

    /** {@code order_by(*fields)}: replaces the ordering; {@code "-field"} descends. No fields: no ordering. */
    public QuerySet orderBy(String... fields) {
        return put("order_by", strings(fields));
    }

    /** {@code values(*fields)}: rows as objects keyed by the paths; no fields means every column. */
    public QuerySet values(String... fields) {
        return put("values", strings(fields), "values_list", "flat");
    }

    /** {@code values_list(*fields, flat=flat)}: rows as arrays, or single values when {@code flat}. */
    public QuerySet valuesList(List<String> fields, boolean flat) {
        QuerySet q = put("values_list", strings(fields.toArray(new String[0])), "values", "flat");
        return flat ? q.put("flat", Boolean.TRUE) : q;
    }

    /** {@code values_list(*fields)}: rows as arrays. */
    public QuerySet valuesList(String... fields) {
        return valuesList(Arrays.asList(fields), false);
    }

    /** {@code only(*fields)}: load only these columns (and the primary key); paths reach related models. */
    public QuerySet only(String... fields) {
        return put("only", strings(fields), "defer");
    }

    /** {@code select_related(*paths)}: embed forward relations as nested objects (accumulates). */
    public QuerySet selectRelated(String... paths) {
        return put("select_related", appended("select_related", strings(paths)));
    }

    /** {@code prefetch_related(*paths)}: embed reverse/many relations as nested arrays (accumulates). */
    public QuerySet prefetchRelated(String... paths) {
        return put("prefetch_related", appended("prefetch_related", strings(paths)));
    }

    /**
     * {@code annotate(name=expr)}: a named expression returned with each row
     * or group (docs/expressions.md), e.g. {@code annotate("n", Map.of("Count", "items"))}.
     * Annotations keep the order of the calls.
     */
    public QuerySet annotate(String name, Object expr) {
        Map<String, Object> one = new LinkedHashMap<>();
        one.put(Objects.requireNonNull(name, "name"), freeze(expr));
        return put("annotate", appended("annotate", List.of(Collections.unmodifiableMap(one))));
    }

    /** {@code Model.<name>}: start from a named manager (docs/managers.md). */
    public QuerySet usingManager(String name) {
        return put("manager", Objects.requireNonNull(name, "name"));
    }

    /** Applies a named queryset method with arguments, e.g. {@code use("by_category", Map.of("slug", "laptops"))}. */
    public QuerySet use(String method, Map<String, ?> args) {
        Map<String, Object> one = new LinkedHashMap<>();
        one.put(Objects.requireNonNull(method, "method"), freeze(args == null ? Map.of() : args));
        return put("use", appended("use", List.of(Collections.unmodifiableMap(one))));
    }

    /** Applies a named queryset method without arguments. */
    public QuerySet use(String method) {
        return use(method, Map.of());
    }

    /**
     * {@code qs[start:stop]}: {@code offset}/{@code limit}; slicing a sliced
     * QuerySet slices within it, as Python does. Negative indexes are refused,
     * as in Django. {@code stop == null} means no upper bound.
     */
    public QuerySet slice(long start, Long stop) {
        if (start < 0 || (stop != null && stop < 0)) {
            throw new IllegalArgumentException("negative indexing is not supported");
        }
        long oldOff = number(spec.get("offset"), 0L);
        Long oldLim = spec.get("limit") == null ? null : number(spec.get("limit"), 0L);
        long off = oldOff + start;
        Long lim;
        if (stop == null) {
            lim = oldLim == null ? null : Math.max(0, oldLim - start);
        } else {
            long n = Math.max(0, stop - start);
            lim = oldLim == null ? n : Math.min(n, Math.max(0, oldLim - start));
        }
        Map<String, Object> c = new LinkedHashMap<>();
        if (off > 0) {
            c.put("offset", off);
        }
        if (lim != null) {
            c.put("limit", lim);
        }
        return with(c, "offset", "limit");
    }

    /** {@code qs[start:stop]}. */
    public QuerySet slice(long start, long stop) {
        return slice(start, Long.valueOf(stop));
    }

    private static long number(Object v, long dflt) {
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number) {
            return ((Number) v).longValue();
        }
        Object p = Json.parse(v.toString());
        return p instanceof Number ? ((Number) p).longValue() : dflt;
    }

    /**
     * Sets any top-level spec key that has no builder method ({@code distinct},
     * {@code defer}, {@code alias}, {@code select_for_update}, ...), replacing it.
     */
    public QuerySet with(String key, Object value) {
        if ("model".equals(key)) {
            throw new IllegalArgumentException("the model of a QuerySet does not change");
        }
        return put(key, freeze(value));
    }

    // --------------------------------------------------------------- terminals

    /** A {@code jsonb} bind value. */
    static PGobject jsonb(String text) throws SQLException {
        PGobject o = new PGobject();
        o.setType("jsonb");
        o.setValue(text);
        return o;
    }

    private static final Object NO_ARG = new Object();

    private String scalar(Connection conn, String sql, Object arg) throws DatabaseError {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setObject(1, jsonb(toJson()));
            if (arg != NO_ARG) {
                ps.setObject(2, jsonb(Json.write(arg)));
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
    }

    /** {@code qs.json}: every row as one JSON array (nested relations embedded); the server's text. */
    public String json(Connection conn) throws DatabaseError {
        return scalar(conn, "SELECT qs.json(?)", NO_ARG);
    }

    /** {@code qs.rows}: one JSON text per row. */
    public List<String> rows(Connection conn) throws DatabaseError {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT r FROM qs.rows(?) AS r")) {
            ps.setObject(1, jsonb(toJson()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
        return out;
    }

    /** {@code qs.count}: {@code count()}. */
    public long count(Connection conn) throws DatabaseError {
        return Long.parseLong(scalar(conn, "SELECT qs.count(?)", NO_ARG));
    }

    /** {@code qs.exists}: {@code exists()}. */
    public boolean exists(Connection conn) throws DatabaseError {
        return "true".equals(scalar(conn, "SELECT qs.exists(?)::text", NO_ARG));
    }

    /**
     * {@code qs.get}: {@code get(**lookups)}, the single matching row as JSON text.
     *
     * @throws DoesNotExist no row matched
     * @throws MultipleObjectsReturned more than one did
     */
    public String get(Connection conn, Map<String, ?> lookups) throws DatabaseError {
        return scalar(conn, "SELECT qs.get(?, ?)", lookups);
    }

    /** {@code qs.get}: {@code get()} with no lookups: the QuerySet's single row. */
    public String get(Connection conn) throws DatabaseError {
        return scalar(conn, "SELECT qs.get(?)", NO_ARG);
    }

    /** {@code qs.aggregate}: {@code aggregate(**aggs)}, e.g. {@code Map.of("total", Map.of("Sum", "price"))}; a JSON object. */
    public String aggregate(Connection conn, Map<String, ?> aggregates) throws DatabaseError {
        return scalar(conn, "SELECT qs.aggregate(?, ?)", aggregates);
    }

    /**
     * {@code qs.update}: {@code update(**values)}, values may be expressions
     * ({@code Map.of("-", List.of(Map.of("F", "stock"), 2))}); the number of rows updated.
     */
    public long update(Connection conn, Map<String, ?> values) throws DatabaseError {
        return Long.parseLong(scalar(conn, "SELECT qs.update(?, ?)", values));
    }

    /** {@code qs.delete}: {@code delete()}; the number of rows deleted. */
    public long delete(Connection conn) throws DatabaseError {
        return Long.parseLong(scalar(conn, "SELECT qs.delete(?)", NO_ARG));
    }

    /** {@code qs.sql}: the SQL the spec compiles to (for debugging). */
    public String sql(Connection conn) throws DatabaseError {
        return scalar(conn, "SELECT qs.sql(?)", NO_ARG);
    }

    /** Receives the rows of one {@code FETCH}, each one JSON text. */
    @FunctionalInterface
    public interface BatchHandler<E extends Exception> {
        /** Called once per non-empty batch, in order. */
        void accept(List<String> rows) throws E;
    }

    /**
     * {@code iterator(chunk_size=batch)}: opens {@code qs.cursor(spec, name)}
     * and runs {@code FETCH batch FROM name} until a batch comes back empty,
     * handing each non-empty batch to {@code handler}. Memory stays at one
     * batch. {@code batch <= 0} fetches everything with one {@code FETCH ALL}.
     *
     * <p>Must run inside the caller's transaction (auto-commit off): the
     * cursor lives until that transaction ends; it is left open (COMMIT or
     * ROLLBACK closes it), so the same name cannot be reused in the
     * transaction.
     *
     * @param name the cursor name, or null to let the server choose one
     * @return the number of rows fetched
     */
    public <E extends Exception> long cursor(Connection conn, String name, int batch, BatchHandler<E> handler)
            throws DatabaseError, E {
        String portal;
        try {
            if (conn.getAutoCommit()) {
                throw new IllegalStateException("qs.cursor needs a transaction: call conn.setAutoCommit(false) first");
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT qs.cursor(?, ?)")) {
                ps.setObject(1, jsonb(toJson()));
                ps.setString(2, name);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    portal = rs.getString(1);
                }
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
        // a cursor name is an identifier, not a value: quoted, never bound
        String fetch = "FETCH " + (batch > 0 ? Integer.toString(batch) : "ALL") + " FROM "
            + quoteIdent(portal);
        long total = 0;
        try (Statement st = conn.createStatement()) {
            while (true) {
                List<String> rows = new ArrayList<>(Math.max(batch, 16));
                try (ResultSet rs = st.executeQuery(fetch)) {
                    while (rs.next()) {
                        rows.add(rs.getString(1));
                    }
                } catch (SQLException e) {
                    throw DatabaseError.from(e);
                }
                if (rows.isEmpty()) {
                    break;
                }
                total += rows.size();
                handler.accept(rows);
                if (batch <= 0) {
                    break;
                }
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
        return total;
    }

    /** Quotes an SQL identifier ({@code "} doubled). */
    static String quoteIdent(String ident) {
        if (ident.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("identifier contains NUL");
        }
        return '"' + ident.replace("\"", "\"\"") + '"';
    }

    // ------------------------------------------------------ model-level writes

    /** {@code Model.objects.create(**values)} through {@code qs.create}: the new row as JSON text. */
    public static String create(Connection conn, String model, Map<String, ?> values) throws DatabaseError {
        try (PreparedStatement ps = conn.prepareStatement("SELECT qs.create(?, ?)")) {
            ps.setObject(1, model, Types.OTHER);
            ps.setObject(2, jsonb(Json.write(values)));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
    }

    /**
     * {@code bulk_update(objs, fields)} through {@code qs.bulk_update}: each
     * row a map with the primary key and the fields; the number of rows updated.
     */
    public static long bulkUpdate(Connection conn, String model, List<? extends Map<String, ?>> rows,
                                  List<String> fields) throws DatabaseError {
        try (PreparedStatement ps = conn.prepareStatement("SELECT qs.bulk_update(?, ?, ?)")) {
            ps.setObject(1, model, Types.OTHER);
            ps.setObject(2, jsonb(Json.write(rows)));
            Array arr = conn.createArrayOf("text", fields.toArray());
            ps.setArray(3, arr);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            } finally {
                arr.free();
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
    }

    // ----------------------------------------------------------------- tenancy

    /**
     * {@code qs.set_tenant_token(token)}: verifies a signed tenant token and
     * sets the tenant for the rest of the caller's transaction (the token is
     * a bind parameter, never SQL text). Returns the tenant.
     *
     * @throws InvalidToken the signature, audience or expiry is wrong
     */
    public static String setTenantToken(Connection conn, String token) throws DatabaseError {
        return setTenantToken(conn, token, true);
    }

    /**
     * {@code qs.set_tenant_token(token, is_local)}: {@code isLocal = false}
     * sets it for the session, which is wrong behind a transaction-mode
     * pooler (the next client of the server connection would inherit it).
     */
    public static String setTenantToken(Connection conn, String token, boolean isLocal) throws DatabaseError {
        try (PreparedStatement ps = conn.prepareStatement("SELECT qs.set_tenant_token(?, ?)")) {
            ps.setString(1, token);
            ps.setBoolean(2, isLocal);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
    }

    /** {@code qs.current_tenant()}: the tenant in force, or null. */
    public static String currentTenant(Connection conn) throws DatabaseError {
        try (PreparedStatement ps = conn.prepareStatement("SELECT qs.current_tenant()");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw DatabaseError.from(e);
        }
    }

    /**
     * Mints an HS256 JWT for {@code qs.set_tenant_token}: header
     * {@code {"alg":"HS256","typ":"JWT"}}, payload
     * {@code {"tenant_id": tenant, "aud": audience, "exp": now + ttlSeconds}},
     * base64url without padding, HMAC-SHA-256 over {@code header.payload}.
     */
    public static String mintToken(String secret, String tenant, String audience, long ttlSeconds) {
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("tenant_id", tenant);
        payload.put("aud", audience);
        payload.put("exp", System.currentTimeMillis() / 1000L + ttlSeconds);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
            + "." + b64.encodeToString(Json.write(payload).getBytes(StandardCharsets.UTF_8));
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            byte[] sig = mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + b64.encodeToString(sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
