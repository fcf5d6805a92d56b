package org.pgqueryset;

import java.sql.SQLException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The base of every error a pg_queryset call raises, as in Django's
 * {@code django.db.DatabaseError}. It is an {@link SQLException} carrying the
 * server's {@link #sqlstate()}, primary {@link #message()}, {@link #detail()}
 * and {@link #hint()}; the original driver exception is the cause.
 *
 * <p>{@link #from(SQLException)} picks the subclass from the SQLSTATE
 * (clients/PROTOCOL.md):
 * <pre>
 *   P0002                        DoesNotExist
 *   P0003                        MultipleObjectsReturned
 *   42703                        FieldError
 *   22023 22004 2202E 42804      InvalidQuery
 *   22P02                        DataError
 *   23xxx                        IntegrityError
 *   28000                        InvalidToken (a PermissionDenied)
 *   42501                        PermissionDenied
 *   54000                        LimitExceeded
 *   anything else                DatabaseError
 * </pre>
 */
public class DatabaseError extends SQLException {
    private static final long serialVersionUID = 1L;

    private final String message;
    private final String detail;
    private final String hint;

    /**
     * @param message the server's primary message
     * @param sqlstate the five-character SQLSTATE (may be null for client-side failures)
     * @param detail the DETAIL field, or null
     * @param hint the HINT field, or null
     * @param cause the driver's exception, or null
     */
    public DatabaseError(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, cause);
        this.message = message;
        this.detail = detail;
        this.hint = hint;
    }

    /** The SQLSTATE, e.g. {@code "P0002"} (same as {@link #getSQLState()}). */
    public String sqlstate() {
        return getSQLState();
    }

    /** The server's primary message, without the severity prefix. */
    public String message() {
        return message;
    }

    /** The DETAIL field, or null. */
    public String detail() {
        return detail;
    }

    /** The HINT field, or null. */
    public String hint() {
        return hint;
    }

    /**
     * Maps a driver exception to the Django-named exception of its SQLSTATE.
     * A {@code DatabaseError} is returned as is.
     */
    public static DatabaseError from(SQLException e) {
        if (e instanceof DatabaseError) {
            return (DatabaseError) e;
        }
        String state = e.getSQLState();
        String message = e.getMessage();
        String detail = null;
        String hint = null;
        if (e instanceof PSQLException) {
            ServerErrorMessage sem = ((PSQLException) e).getServerErrorMessage();
            if (sem != null) {
                if (sem.getMessage() != null) {
                    message = sem.getMessage();
                }
                if (sem.getSQLState() != null) {
                    state = sem.getSQLState();
                }
                detail = sem.getDetail();
                hint = sem.getHint();
            }
        }
        return of(message, state, detail, hint, e);
    }

    /** Builds the exception class that belongs to {@code sqlstate}. */
    public static DatabaseError of(String message, String sqlstate, String detail, String hint, Throwable cause) {
        String s = sqlstate == null ? "" : sqlstate;
        switch (s) {
            case "P0002": return new DoesNotExist(message, s, detail, hint, cause);
            case "P0003": return new MultipleObjectsReturned(message, s, detail, hint, cause);
            case "42703": return new FieldError(message, s, detail, hint, cause);
            case "22023": case "22004": case "2202E": case "42804":
                return new InvalidQuery(message, s, detail, hint, cause);
            case "22P02": return new DataError(message, s, detail, hint, cause);
            case "28000": return new InvalidToken(message, s, detail, hint, cause);
            case "42501": return new PermissionDenied(message, s, detail, hint, cause);
            case "54000": return new LimitExceeded(message, s, detail, hint, cause);
            default:
                if (s.startsWith("23")) {
                    return new IntegrityError(message, s, detail, hint, cause);
                }
                return new DatabaseError(message, sqlstate, detail, hint, cause);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName());
        sb.append(" [").append(getSQLState()).append("]: ").append(message);
        if (detail != null) {
            sb.append(" DETAIL: ").append(detail);
        }
        if (hint != null) {
            sb.append(" HINT: ").append(hint);
        }
        return sb.toString();
    }
}
