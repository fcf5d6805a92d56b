package org.pgqueryset;

/** SQLSTATE 42703: an unknown field or lookup in a spec (Django: {@code FieldError}). */
public class FieldError extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public FieldError(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
