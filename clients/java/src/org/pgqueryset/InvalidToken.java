package org.pgqueryset;

/** SQLSTATE 28000: a tenant token that is forged, expired or for another audience. */
public class InvalidToken extends PermissionDenied {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public InvalidToken(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
