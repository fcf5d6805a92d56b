package org.pgqueryset;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Connections from the libpq environment ({@code PGHOST}, {@code PGPORT},
 * {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}), with
 * {@code prepareThreshold=0}: the driver then only uses the unnamed
 * server-side statement, which PgBouncer in transaction mode supports
 * (1.18 does not track named prepared statements).
 */
public final class Env {
    private Env() {}

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    /** The JDBC URL built from the environment (no credentials in it). */
    public static String url() {
        String host = env("PGHOST", "localhost");
        if (host.startsWith("/")) {
            throw new IllegalStateException("PGHOST=" + host + " is a Unix socket directory; the JDBC driver needs a TCP host");
        }
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = "[" + host + "]"; // IPv6 literal
        }
        String port = env("PGPORT", "5432");
        String db = env("PGDATABASE", env("PGUSER", System.getProperty("user.name")));
        return "jdbc:postgresql://" + host + ":" + port + "/"
            + URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20") + "?prepareThreshold=0";
    }

    /** A new auto-commit connection as {@code PGUSER}/{@code PGPASSWORD}. */
    public static Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", env("PGUSER", System.getProperty("user.name")));
        String pw = System.getenv("PGPASSWORD");
        if (pw != null) {
            p.setProperty("password", pw);
        }
        p.setProperty("ApplicationName", "pg_queryset-java");
        return DriverManager.getConnection(url(), p);
    }
}
