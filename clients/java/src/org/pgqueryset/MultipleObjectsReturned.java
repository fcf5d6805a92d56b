package org.pgqueryset;

/** SQLSTATE P0003: {@code get} matched more than one row (Django: {@code MultipleObjectsReturned}). */
public class MultipleObjectsReturned extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public MultipleObjectsReturned(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
