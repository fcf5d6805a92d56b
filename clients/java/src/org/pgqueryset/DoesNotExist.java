package org.pgqueryset;

/** SQLSTATE P0002: {@code get} matched no row (Django: {@code Model.DoesNotExist}). */
public class DoesNotExist extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public DoesNotExist(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
