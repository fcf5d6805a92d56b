package org.pgqueryset;

/** SQLSTATE 54000: a limit such as {@code pg_queryset.query_budget} was exceeded. */
public class LimitExceeded extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public LimitExceeded(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
