package org.pgqueryset;

/** SQLSTATE class 23: a constraint violation (Django: {@code IntegrityError}). */
public class IntegrityError extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public IntegrityError(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
