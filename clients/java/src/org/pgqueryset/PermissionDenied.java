package org.pgqueryset;

/** SQLSTATE 42501: not allowed (Django: {@code PermissionDenied}). */
public class PermissionDenied extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public PermissionDenied(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
