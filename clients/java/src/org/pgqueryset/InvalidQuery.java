package org.pgqueryset;

/** SQLSTATE 22023, 22004, 2202E or 42804: a malformed spec or argument. */
public class InvalidQuery extends DatabaseError {
    private static final long serialVersionUID = 1L;

    /** See {@link DatabaseError#DatabaseError(String, String, String, String, Throwable)}. */
    public InvalidQuery(String message, String sqlstate, String detail, String hint, Throwable cause) {
        super(message, sqlstate, detail, hint, cause);
    }
}
