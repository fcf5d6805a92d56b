package org.pgqueryset;

/** SQLSTATE 22P02: a value that does not convert to the column type (Django: {@code DataError}). */
public class DataError extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public DataError(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
