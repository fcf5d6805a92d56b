/*-------------------------------------------------------------------------
 *
 * tenant.c
 *		Tenant context for row-level security (DESIGN.md §5): the settings
 *		that hold it, the functions that set it, the accessors policies
 *		call, and the verification of signed tenant tokens (HS256).
 *
 * The tenant lives in pg_queryset.tenant, a superuser-only (PGC_SUSET)
 * setting: an application role cannot SET it, set_config() it, ALTER
 * ROLE/DATABASE ... SET it or put it in a function's SET clause.  Only
 * qs.set_tenant() sets it, on behalf of whoever holds EXECUTE on it
 * (revoked from PUBLIC), and by default transaction-locally, so
 * PostgreSQL resets it at commit and abort and carries it into parallel
 * workers with the other settings.
 *
 * Signed mode: with pg_queryset.tenant_secret set, a token in the
 * user-settable pg_queryset.tenant_token is the context.  It is verified
 * whenever the tenant is read (HMAC-SHA-256 compared in constant time,
 * exp, nbf, optional audience, the claim named by pg_queryset.tenant_claim);
 * verified tokens are cached per backend.  Anything that fails yields no
 * tenant: no rows, and writes refused.
 *
 * The settings are defined only when the library is preloaded
 * (shared_preload_libraries); otherwise the tenant functions refuse to
 * run and the accessors return NULL, so a placeholder created before the
 * library loaded can never be read as a tenant.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include <math.h>
#include <time.h>

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "common/base64.h"
#include "nodes/primnodes.h"
#include "rewrite/rowsecurity.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "common/hmac.h"
#include "common/sha2.h"

#include "citus.h"
#include "compat.h"
#include "model.h"
#include "tenant.h"

static bool tenant_ready = false;	/* settings defined (preloaded) */
static char *tenant_value = NULL;	/* pg_queryset.tenant */
static char *tenant_token = NULL;	/* pg_queryset.tenant_token */
static char *tenant_secret = NULL;	/* pg_queryset.tenant_secret */
static char *tenant_claim = NULL;	/* pg_queryset.tenant_claim */
static char *tenant_audience = NULL;	/* pg_queryset.tenant_audience */
static int	tenant_token_max_age = 3600;	/* pg_queryset.tenant_token_max_age, seconds */
static bool allow_literal_token = false;	/* pg_queryset.allow_literal_token */
static int	worker_token_lifetime = 60;	/* pg_queryset.worker_token_lifetime, seconds */

static bool CheckTenantToken(char **newval, void **extra, GucSource source);
static bool IsWorkerToken(const char *token);

/* ---------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------
 */

/* Define the tenant settings (only when preloaded) and their check hooks. */
void
QsTenantInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("pg_queryset.tenant",
							   "The current tenant (set by qs.set_tenant()).",
							   "Superuser-only: applications set it through qs.set_tenant(), which is "
							   "transaction-local by default.",
							   &tenant_value, "", PGC_SUSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_queryset.tenant_token",
							   "A signed tenant token (HS256 JWT), verified whenever the tenant is read.",
							   "Used when pg_queryset.tenant_secret is set; qs.set_tenant_token() checks it first.",
							   &tenant_token, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   CheckTenantToken, NULL, NULL);
	DefineCustomStringVariable("pg_queryset.tenant_secret",
							   "The HMAC-SHA-256 key of tenant tokens.",
							   "Superuser-only and unreadable by other roles; empty: signed mode is off.",
							   &tenant_secret, "", PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_queryset.tenant_claim",
							   "The claim of a tenant token that names the tenant.",
							   NULL,
							   &tenant_claim, "tenant_id", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_queryset.tenant_audience",
							   "If set, tenant tokens must name this audience in their aud claim.",
							   NULL,
							   &tenant_audience, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.tenant_token_max_age",
							"The longest lifetime a tenant token may have left: tokens whose exp is further away, "
							"or that have no exp, are refused.",
							"Seconds; 0 accepts any lifetime.  Shrinks what a stolen token allows.",
							&tenant_token_max_age, 3600, 0, INT_MAX, PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_queryset.allow_literal_token",
							 "Accept a tenant token written into the statement text.",
							 "Off: a token must travel as a bind parameter, since statement text is visible to "
							 "other sessions of the role (pg_stat_activity) and may be kept by pg_stat_statements "
							 "and the server log.",
							 &allow_literal_token, false, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.worker_token_lifetime",
							"How long the token that carries the tenant to Citus workers lives.",
							"Seconds.  qs.set_tenant() and qs.set_tenant_token() mint it, signed by "
							"pg_queryset.tenant_secret, for the workers of the transaction (docs/scale-out.md); "
							"a transaction that runs longer loses its tenant on the workers.",
							&worker_token_lifetime, 60, 1, 86400, PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	tenant_ready = true;
}

/* Refuse tenant functions when the library was not preloaded (their settings would not exist). */
static void
RequirePreload(void)
{
	if (!tenant_ready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant scoping needs pg_queryset in shared_preload_libraries"),
				 errdetail("Loaded later, the tenant settings could meet placeholders set before the library loaded."),
				 errhint("Add pg_queryset to shared_preload_libraries and restart the server.")));
}

/*
 * A transaction-local tenant set outside a transaction block lasts for its
 * own statement: say so (autocommit drivers, PgBouncer in statement mode).
 */
static void
WarnIfStatementOnly(bool is_local)
{
	if (is_local && !IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("the tenant was set outside a transaction block and ends with this statement"),
				 errhint("Call it after BEGIN, or pass is_local => false for the session.")));
}

/* Set one of our settings, as the extension (not as the caller). */
static void
SetTenantSetting(const char *name, const char *value, bool is_local)
{
	WarnIfStatementOnly(is_local);
	(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION,
							 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0, false);
}

/* ---------------------------------------------------------------------
 * Tokens never in statement text (docs/threat-model.md, "Tokens")
 * ---------------------------------------------------------------------
 *
 * Every session of the application role can read the text of the
 * role's other sessions (pg_stat_activity), and pg_stat_statements and
 * the server log may keep it.  A token written into a statement would be
 * readable there by any SQL the role runs, so it is refused: it must
 * travel as a bind parameter ($1), which none of those show.  The check
 * looks for the token (or its signature, the part no one can guess) in
 * the text of the statement the client sent; a token read from a table,
 * a variable or a parameter passes.
 */

#define QS_TOKEN_MIN_CHECK 16	/* shorter strings are no token (a signature alone is 43) */

/* Does the client's statement text contain this token? */
static bool
TokenInStatement(const char *token)
{
	const char *sql = debug_query_string;
	const char *sig;

	if (sql == NULL || token == NULL || strlen(token) < QS_TOKEN_MIN_CHECK)
		return false;
	if (strstr(sql, token) != NULL)
		return true;
	sig = strrchr(token, '.');
	return sig != NULL && strlen(sig + 1) >= QS_TOKEN_MIN_CHECK && strstr(sql, sig + 1) != NULL;
}

/*
 * Refuse a literal token.  The statement already sits in
 * pg_stat_activity: its text there is replaced before the error, and the
 * error is logged without the statement or its context.
 */
static void
RefuseToken(const char *msg, const char *detail, const char *hint)
{
	pgstat_report_activity(STATE_RUNNING,
						   "<statement hidden by pg_queryset: it carried a tenant token in its text>");
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg_internal("%s", msg),
			 errdetail_internal("%s", detail),
			 errhint("%s", hint),
			 errhidestmt(true),
			 errhidecontext(true)));
}

/* Refuse (42501) a token found in the statement text, hiding the statement. */
static void
RefuseLiteralToken(void)
{
	RefuseToken("a tenant token must not be written into the statement text",
				"Statement text is visible to every session of the role (pg_stat_activity) and may be "
				"kept by pg_stat_statements and the server log; this statement's text was hidden.",
				"Send the token as a bind parameter, e.g. SELECT qs.set_tenant_token($1) with the "
				"driver's parameters (psycopg 3, node-postgres, pgx and JDBC bind them on the server).");
}

/*
 * check_hook of pg_queryset.tenant_token.  A token stored in the catalogs
 * (ALTER ROLE/DATABASE ... SET, a function's SET clause) is readable by
 * every role in pg_db_role_setting and pg_proc: refused there.  A token
 * set at run time (SET, set_config(), qs.set_tenant_token()) is refused
 * when the client's statement text carries it.  postgresql.conf and the
 * connection's startup options are not visible to other sessions.
 */
static bool
CheckTenantToken(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || allow_literal_token)
		return true;
	if (IsParallelWorker() || InitializingParallelWorker)
		return true;			/* the leader checked it */
	switch (source)
	{
		case PGC_S_TEST:
			/* ALTER ROLE/DATABASE ... SET, CREATE FUNCTION ... SET: a statement */
			if (IsTransactionState())
				RefuseToken("a tenant token must not be stored in the catalogs",
							"Role, database and function settings are readable by every role "
							"(pg_db_role_setting, pg_proc); this statement's text was hidden.",
							"Set the token per transaction with SELECT qs.set_tenant_token($1).");
			/* FALLTHROUGH */
		case PGC_S_GLOBAL:
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("a tenant token must not be stored in the catalogs");
			GUC_check_errdetail("Role, database and function settings are readable by every role "
								"(pg_db_role_setting, pg_proc).");
			GUC_check_errhint("Set the token per transaction with SELECT qs.set_tenant_token($1).");
			return false;
		case PGC_S_SESSION:
		case PGC_S_INTERACTIVE:
			if (TokenInStatement(*newval))
			{
				/*
				 * A worker token arrives as Citus's SET LOCAL text; it lives
				 * seconds and is verified at every read.  Its text is taken
				 * out of pg_stat_activity here.
				 */
				if (!IsWorkerToken(*newval))
					RefuseLiteralToken();
				pgstat_report_activity(STATE_RUNNING,
									   "<statement hidden by pg_queryset: it carried a tenant token for this worker>");
			}
			return true;
		default:
			return true;
	}
}

/* ---------------------------------------------------------------------
 * Signed tokens
 * ---------------------------------------------------------------------
 */

/* base64url (RFC 7515, no padding) -> bytes; NULL if malformed */
static char *
Base64UrlDecode(const char *s, int len, int *outlen)
{
	int			padded = len + (4 - len % 4) % 4;
	char	   *b = palloc(padded + 1);
	char	   *out;
	int			i;
	int			n;

	if (len % 4 == 1)
		return NULL;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!(isalnum((unsigned char) c)))
			return NULL;
		b[i] = c;
	}
	for (; i < padded; i++)
		b[i] = '=';
	b[padded] = '\0';
	out = palloc(pg_b64_dec_len(padded) + 1);
	n = QsB64Decode(b, padded, out, pg_b64_dec_len(padded));
	if (n < 0)
		return NULL;
	out[n] = '\0';
	*outlen = n;
	return out;
}

/*
 * A JSON object from decoded text, or NULL.  Only called once the
 * signature matched, so bad JSON here comes from the secret's holder and
 * is raised as jsonb_in raises it.
 */
static Jsonb *
ParseObject(const char *text, int len)
{
	Jsonb	   *j;
	int			i;

	/* a signed header or payload is JSON text: refuse control bytes early */
	for (i = 0; i < len; i++)
		if (text[i] == '\0')
			return NULL;
	j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		return NULL;
	return j;
}

/* A key of the token's JSON claims into *out; false when absent. */
static bool
GetKey(Jsonb *j, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(&j->root, key, strlen(key), out) != NULL;
}

/* a numeric claim (exp, nbf) as seconds; false if absent, *bad if not a number */
static bool
NumericClaim(Jsonb *j, const char *key, double *secs, bool *bad)
{
	JsonbValue	v;

	if (!GetKey(j, key, &v))
		return false;
	if (v.type != jbvNumeric)
	{
		*bad = true;
		return false;
	}
	*secs = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
	return true;
}

/* Unix seconds of the statement's start (the same in parallel workers). */
static double
NowSeconds(void)
{
	TimestampTz ts = GetCurrentStatementStartTimestamp();

	return (double) ts / USECS_PER_SEC + (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* A verified token, kept per backend (a read costs a string compare). */
typedef struct TokenCacheEntry
{
	char	   *token;
	char	   *secret;			/* the settings it was verified under */
	char	   *claim;
	char	   *audience;
	char	   *tenant;
	bool		has_exp;
	double		exp;
	bool		has_nbf;
	double		nbf;
} TokenCacheEntry;

#define TOKEN_CACHE_SIZE 16
static TokenCacheEntry token_cache[TOKEN_CACHE_SIZE];
static int	token_cache_next = 0;

/* Are two strings equal (NULL as the empty string)? */
static bool
SameString(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The time checks, for fresh and cached tokens alike. */
static const char *
TimeCheck(TokenCacheEntry *e)
{
	double		now = NowSeconds();

	if (e->has_exp && now >= e->exp)
		return "The token has expired (exp)";
	if (e->has_nbf && now < e->nbf)
		return "The token is not valid yet (nbf)";
	if (tenant_token_max_age > 0 && !e->has_exp)
		return "The token has no exp claim, and pg_queryset.tenant_token_max_age requires one";
	if (tenant_token_max_age > 0 && e->exp - now > (double) tenant_token_max_age)
		return "The token lives longer than pg_queryset.tenant_token_max_age allows (exp is too far away)";
	return NULL;
}

/* Remember a verified token's tenant and expiry for this backend. */
static void
CacheToken(TokenCacheEntry *fresh)
{
	TokenCacheEntry *e = &token_cache[token_cache_next];
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	if (e->token)
	{
		pfree(e->token);
		pfree(e->secret);
		pfree(e->claim);
		pfree(e->audience);
		pfree(e->tenant);
	}
	*e = *fresh;
	e->token = pstrdup(fresh->token);
	e->secret = pstrdup(fresh->secret);
	e->claim = pstrdup(fresh->claim);
	e->audience = pstrdup(fresh->audience);
	e->tenant = pstrdup(fresh->tenant);
	MemoryContextSwitchTo(old);
	token_cache_next = (token_cache_next + 1) % TOKEN_CACHE_SIZE;
}

/* A token from the cache (same secret, claim and audience), or NULL. */
static TokenCacheEntry *
CachedToken(const char *token, const char *secret, const char *claim, const char *aud)
{
	int			i;

	for (i = 0; i < TOKEN_CACHE_SIZE; i++)
	{
		TokenCacheEntry *e = &token_cache[i];

		if (e->token && strcmp(e->token, token) == 0 && SameString(e->secret, secret) &&
			SameString(e->claim, claim) && SameString(e->audience, aud))
			return e;
	}
	return NULL;
}

/* Check 1: three non-empty parts, header.payload.signature (*dot1, *dot2 between). */
static const char *
CheckTokenForm(const char *token, const char **dot1, const char **dot2)
{
	*dot1 = strchr(token, '.');
	*dot2 = *dot1 ? strchr(*dot1 + 1, '.') : NULL;
	if (*dot1 == NULL || *dot2 == NULL || strchr(*dot2 + 1, '.') != NULL || *dot1 == token ||
		*dot2 == *dot1 + 1)
		return "The token is malformed (expected header.payload.signature)";
	return NULL;
}

/* The HMAC-SHA-256 of data[0..len) under the secret into mac. */
static void
HmacSha256(const char *secret, const char *data, size_t len, uint8 *mac)
{
	pg_hmac_ctx *hctx = pg_hmac_create(PG_SHA256);

	if (hctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(hctx, (const uint8 *) secret, strlen(secret)) < 0 ||
		pg_hmac_update(hctx, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(hctx, mac, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		pg_hmac_free(hctx);
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not compute HMAC-SHA-256")));
	}
	pg_hmac_free(hctx);
}

/* Check 2: the HMAC-SHA-256 of header.payload under the secret, compared in constant time. */
static const char *
CheckSignature(const char *token, const char *dot2, const char *secret)
{
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char	   *sig;
	int			siglen = 0;
	uint8		diff = 0;
	int			i;

	HmacSha256(secret, token, dot2 - token, mac);
	sig = Base64UrlDecode(dot2 + 1, strlen(dot2 + 1), &siglen);
	if (sig == NULL || siglen != PG_SHA256_DIGEST_LENGTH)
		return "The signature is malformed";
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		diff |= (uint8) sig[i] ^ mac[i];
	if (diff != 0)
		return "The signature does not match (forged or tampered token, or another secret)";
	return NULL;
}

/* Check 3 (signed by the secret's holder): JSON objects, HS256, numeric exp and nbf. */
static const char *
CheckContents(const char *token, const char *dot1, const char *dot2, Jsonb **pj,
			  TokenCacheEntry *fresh)
{
	int			hlen = 0;
	int			plen = 0;
	char	   *header = Base64UrlDecode(token, dot1 - token, &hlen);
	char	   *payload = Base64UrlDecode(dot1 + 1, dot2 - dot1 - 1, &plen);
	Jsonb	   *hj = header ? ParseObject(header, hlen) : NULL;
	JsonbValue	v;
	bool		bad = false;

	*pj = payload ? ParseObject(payload, plen) : NULL;
	if (hj == NULL || *pj == NULL)
		return "The header or payload is not a JSON object";
	if (!GetKey(hj, "alg", &v) || v.type != jbvString || v.val.string.len != 5 ||
		memcmp(v.val.string.val, "HS256", 5) != 0)
		return "The algorithm is not HS256";
	memset(fresh, 0, sizeof(*fresh));
	fresh->has_exp = NumericClaim(*pj, "exp", &fresh->exp, &bad);
	fresh->has_nbf = NumericClaim(*pj, "nbf", &fresh->nbf, &bad);
	if (bad)
		return "The exp or nbf claim is not a number";
	return NULL;
}

/* Check 4: the audience (aud, a string or an array) names pg_queryset.tenant_audience, if set. */
static const char *
CheckAudience(Jsonb *pj, const char *aud)
{
	JsonbValue	v;
	bool		found = false;

	if (aud[0] == '\0')
		return NULL;
	if (GetKey(pj, "aud", &v))
	{
		if (v.type == jbvString)
			found = (v.val.string.len == (int) strlen(aud) &&
					 memcmp(v.val.string.val, aud, v.val.string.len) == 0);
		else if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
		{
			JsonbValue	s;

			s.type = jbvString;
			s.val.string.val = (char *) aud;
			s.val.string.len = strlen(aud);
			found = findJsonbValueFromContainer(v.val.binary.data, JB_FARRAY, &s) != NULL;
		}
	}
	return found ? NULL : "The audience (aud) does not match pg_queryset.tenant_audience";
}

/* Check 5: the tenant claim, a non-empty string or a number, into fresh->tenant. */
static const char *
CheckTenantClaim(Jsonb *pj, const char *claim, TokenCacheEntry *fresh)
{
	JsonbValue	v;

	if (!GetKey(pj, claim, &v))
		return "The token has no tenant claim (pg_queryset.tenant_claim)";
	if (v.type == jbvString && v.val.string.len > 0)
		fresh->tenant = pnstrdup(v.val.string.val, v.val.string.len);
	else if (v.type == jbvNumeric)
		fresh->tenant = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
	else
		return "The tenant claim is not a non-empty string or a number";
	return NULL;
}

/*
 * Verify a token under the current settings: the tenant it names, or
 * NULL with *failure saying which check failed.
 */
static char *
VerifyToken(const char *token, const char **failure)
{
	const char *secret = tenant_secret ? tenant_secret : "";
	const char *claim = tenant_claim ? tenant_claim : "tenant_id";
	const char *aud = tenant_audience ? tenant_audience : "";
	const char *dot1;
	const char *dot2;
	TokenCacheEntry *cached = CachedToken(token, secret, claim, aud);
	TokenCacheEntry fresh;
	Jsonb	   *pj;

	if (cached != NULL)
	{
		*failure = TimeCheck(cached);
		return *failure ? NULL : pstrdup(cached->tenant);
	}
	if (secret[0] == '\0')
	{
		*failure = "Signed mode is off (pg_queryset.tenant_secret is not set)";
		return NULL;
	}
	/* the checks in order: each failure says which one */
	if ((*failure = CheckTokenForm(token, &dot1, &dot2)) != NULL ||
		(*failure = CheckSignature(token, dot2, secret)) != NULL ||
		(*failure = CheckContents(token, dot1, dot2, &pj, &fresh)) != NULL ||
		(*failure = CheckAudience(pj, aud)) != NULL ||
		(*failure = CheckTenantClaim(pj, claim, &fresh)) != NULL)
		return NULL;
	fresh.token = (char *) token;
	fresh.secret = (char *) secret;
	fresh.claim = (char *) claim;
	fresh.audience = (char *) aud;
	CacheToken(&fresh);
	*failure = TimeCheck(&fresh);
	return *failure ? NULL : fresh.tenant;
}

/* ---------------------------------------------------------------------
 * Worker tokens: the tenant on Citus workers (docs/scale-out.md)
 * ---------------------------------------------------------------------
 *
 * On a Citus coordinator the tenant functions carry the context to the
 * workers of the transaction as a token of their own making: signed by
 * pg_queryset.tenant_secret (which every node holds), naming the
 * verified tenant in pg_queryset.tenant_claim, the audience if one is
 * set, "qsp": "citus", and an exp pg_queryset.worker_token_lifetime
 * ahead (never beyond pg_queryset.tenant_token_max_age).  The client's
 * own token never leaves the coordinator.
 */

/* bytes -> base64url without padding */
static char *
Base64UrlEncode(const char *src, int len)
{
	char	   *out = palloc(pg_b64_enc_len(len) + 1);
	int			n = QsB64Encode(src, len, out, pg_b64_enc_len(len));
	int			i;
	int			j = 0;

	if (n < 0)
		elog(ERROR, "base64 encoding failed");
	for (i = 0; i < n; i++)
	{
		if (out[i] == '=')
			break;
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[j] = '\0';
	return out;
}

/* A worker token for the tenant (see above); ERROR without a secret. */
static char *
MintWorkerToken(const char *tenant)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	StringInfoData payload;
	StringInfoData token;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	double		now = NowSeconds();
	int			lifetime = worker_token_lifetime;

	if (tenant_secret == NULL || tenant_secret[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the tenant cannot reach the Citus workers: pg_queryset.tenant_secret is not set"),
				 errdetail("The workers of a Citus cluster learn the tenant from a token the coordinator signs."),
				 errhint("Set the same pg_queryset.tenant_secret in postgresql.conf on every node.")));
	if (tenant_token_max_age > 0 && lifetime > tenant_token_max_age)
		lifetime = tenant_token_max_age;
	initStringInfo(&payload);
	appendStringInfoChar(&payload, '{');
	escape_json(&payload, tenant_claim ? tenant_claim : "tenant_id");
	appendStringInfoChar(&payload, ':');
	escape_json(&payload, tenant);
	if (tenant_audience && tenant_audience[0] != '\0')
	{
		appendStringInfoString(&payload, ",\"aud\":");
		escape_json(&payload, tenant_audience);
	}
	appendStringInfo(&payload, ",\"iat\":%.0f,\"exp\":%.0f,\"qsp\":\"citus\"}",
					 floor(now), floor(now) + lifetime);

	initStringInfo(&token);
	appendStringInfo(&token, "%s.%s", Base64UrlEncode(header, strlen(header)),
					 Base64UrlEncode(payload.data, payload.len));
	HmacSha256(tenant_secret, token.data, token.len, mac);
	appendStringInfo(&token, ".%s", Base64UrlEncode((const char *) mac, sizeof(mac)));
	return token.data;
}

/*
 * Is this a worker token: signed by this node's secret, with "qsp":
 * "citus"?  Only then may it arrive in statement text (Citus's SET LOCAL).
 */
static bool
IsWorkerToken(const char *token)
{
	const char *dot1;
	const char *dot2;
	int			plen = 0;
	char	   *payload;
	Jsonb	   *pj;
	JsonbValue	v;

	if (tenant_secret == NULL || tenant_secret[0] == '\0' ||
		CheckTokenForm(token, &dot1, &dot2) != NULL ||
		CheckSignature(token, dot2, tenant_secret) != NULL)
		return false;
	payload = Base64UrlDecode(dot1 + 1, dot2 - dot1 - 1, &plen);
	pj = payload ? ParseObject(payload, plen) : NULL;
	return pj != NULL && GetKey(pj, "qsp", &v) && v.type == jbvString &&
		v.val.string.len == 5 && memcmp(v.val.string.val, "citus", 5) == 0;
}

/*
 * Carry the tenant (NULL: no tenant) to the Citus workers of the
 * transaction.  Nothing without Citus.  A session-level tenant cannot be
 * carried (Citus propagates SET LOCAL only): refused rather than left
 * behind on the coordinator.
 */
static void
PropagateTenant(const char *tenant, bool is_local)
{
	if (!QsCitusActive())
		return;
	if (!is_local && tenant != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a session-level tenant does not reach the Citus workers"),
				 errdetail("Citus carries only transaction-local settings to the workers."),
				 errhint("Set the tenant in each transaction: BEGIN; SELECT qs.set_tenant_token($1); ...")));
	if (!IsTransactionBlock())
		return;
	if (GetCurrentTransactionNestLevel() > 1)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("the tenant was set inside a savepoint: Citus forgets it for the workers when the savepoint ends"),
				 errdetail("Citus replays SET LOCAL on the worker connections it opens later only while the "
						   "savepoint that ran it is active; after RELEASE those connections see no tenant "
						   "(no rows, writes refused)."),
				 errhint("Set the tenant at the transaction's top level, before the first savepoint.")));
	QsCitusPropagateToken(tenant ? MintWorkerToken(tenant) : "");
}

/*
 * The current tenant, or NULL (fail closed) with *why saying why not.
 * A token, when one is set, decides: a bad one is no tenant, whatever
 * pg_queryset.tenant says.
 */
const char *
QsCurrentTenant(const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (!tenant_ready)
	{
		*why = "The pg_queryset library is not in shared_preload_libraries";
		return NULL;
	}
	if (tenant_token != NULL && tenant_token[0] != '\0')
		return VerifyToken(tenant_token, why);
	if (tenant_value != NULL && tenant_value[0] != '\0')
		return tenant_value;
	*why = "No tenant is set";
	return NULL;
}

/* ---------------------------------------------------------------------
 * Scoped models
 * ---------------------------------------------------------------------
 */

/*
 * Is the relation tenant-scoped?  Read from its policies (the relcache
 * keeps them, and invalidates the model when they change): the USING of
 * qs_tenant_select is <column> = qs.current_tenant_as(...).  The column
 * (InvalidAttrNumber if none) and the operator comparing it.
 */
static AttrNumber
ScopedColumn(Relation rel, Oid *opno)
{
	ListCell   *lc;
	AttrNumber	attnum = InvalidAttrNumber;

	*opno = InvalidOid;
	if (rel->rd_rsdesc == NULL)
		return InvalidAttrNumber;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *p = (RowSecurityPolicy *) lfirst(lc);
		OpExpr	   *op;
		Node	   *left;

		if (strcmp(p->policy_name, "qs_tenant_select") != 0 || p->qual == NULL || !IsA(p->qual, OpExpr))
			continue;
		op = (OpExpr *) p->qual;
		if (list_length(op->args) != 2)
			continue;
		left = (Node *) linitial(op->args);
		while (left && IsA(left, RelabelType))
			left = (Node *) ((RelabelType *) left)->arg;
		if (left == NULL || !IsA(left, Var))
			continue;
		attnum = ((Var *) left)->varattno;
		*opno = op->opno;
	}
	return attnum;
}

/* Fill the model's tenant column and operator from its policies. */
void
QsTenantOfRelation(Relation rel, QsModel *m)
{
	m->tenant_attnum = ScopedColumn(rel, &m->tenant_opno);
}

/* An operator as "OPERATOR(schema.name)" for SQL text. */
char *
QsOperatorSql(Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *sql;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tup);
	sql = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
				   NameStr(op->oprname));
	ReleaseSysCache(tup);
	return sql;
}

/* The tenant column of a scoped model, or NULL. */
QsColumn *
QsTenantColumn(QsModel *m)
{
	int			i;

	for (i = 0; m->tenant_attnum > 0 && i < m->ncolumns; i++)
		if (m->columns[i].attnum == m->tenant_attnum)
			return &m->columns[i];
	return NULL;
}

/*
 * The explicit tenant predicate of a scoped model's statement, or NULL:
 * "t0.tenant_id OPERATOR(pg_catalog.=) qs.current_tenant_as(NULL::bigint)".
 * Row-level security enforces the tenant; this copy lets the planner
 * prune partitions and a distributed router route on it.
 */
char *
QsTenantPredicate(QsModel *m, const char *alias)
{
	QsColumn   *c = QsTenantColumn(m);

	if (c == NULL)
		return NULL;
	return psprintf("%s.%s %s qs.current_tenant_as(NULL::%s)", alias, quote_identifier(c->name),
					QsOperatorSql(m->tenant_opno),
					format_type_extended(c->typid, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

/* ---------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(qs_set_tenant);
PG_FUNCTION_INFO_V1(qs_set_tenant_token);
PG_FUNCTION_INFO_V1(qs_reset_tenant);
PG_FUNCTION_INFO_V1(qs_current_tenant);
PG_FUNCTION_INFO_V1(qs_current_tenant_as);
PG_FUNCTION_INFO_V1(qs_tenant_required);

/*
 * qs.set_tenant(tenant text, is_local boolean DEFAULT true) -> text.
 * EXECUTE is revoked from PUBLIC: whoever may call it chooses the tenant.
 */
Datum
qs_set_tenant(PG_FUNCTION_ARGS)
{
	bool		is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	char	   *t;

	RequirePreload();
	if (PG_ARGISNULL(0))
	{
		SetTenantSetting("pg_queryset.tenant", "", is_local);
		PropagateTenant(NULL, is_local);
		PG_RETURN_NULL();
	}
	t = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (t[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the tenant must not be empty"),
				 errhint("qs.reset_tenant() clears it.")));
	SetTenantSetting("pg_queryset.tenant", t, is_local);
	PropagateTenant(t, is_local);
	PG_RETURN_TEXT_P(cstring_to_text(t));
}

/* qs.set_tenant_token(token text, is_local boolean DEFAULT true) -> text */
Datum
qs_set_tenant_token(PG_FUNCTION_ARGS)
{
	bool		is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	char	   *token;
	char	   *t;
	const char *failure = NULL;

	RequirePreload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the tenant token must not be null")));
	token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	/* before anything is said about it: a literal token is refused as such */
	if (!allow_literal_token && TokenInStatement(token))
		RefuseLiteralToken();
	t = VerifyToken(token, &failure);
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid tenant token"),
				 errdetail("%s.", failure)));
	/* the token is the context: every read verifies it again (cached) */
	WarnIfStatementOnly(is_local);
	(void) set_config_option("pg_queryset.tenant_token", token, PGC_USERSET, PGC_S_SESSION,
							 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0, false);
	PropagateTenant(t, is_local);
	PG_RETURN_TEXT_P(cstring_to_text(t));
}

/* qs.reset_tenant(): no tenant and no token, for the session */
Datum
qs_reset_tenant(PG_FUNCTION_ARGS)
{
	if (tenant_ready)
	{
		(void) set_config_option("pg_queryset.tenant", NULL, PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
		(void) set_config_option("pg_queryset.tenant_token", NULL, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
		PropagateTenant(NULL, true);
	}
	PG_RETURN_VOID();
}

/* qs.current_tenant() -> text: the tenant, or NULL */
Datum
qs_current_tenant(PG_FUNCTION_ARGS)
{
	const char *t = QsCurrentTenant(NULL);

	if (t == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(t));
}

/*
 * What an accessor call site keeps between calls (fn_extra): the input
 * function of the tenant column's type, and the last tenant converted.  A
 * policy evaluated as a filter calls the accessor once per row; the
 * conversion then runs once per tenant, not once per row.
 */
typedef struct TenantAsCache
{
	FmgrInfo	input;
	Oid			typioparam;
	int16		typlen;
	bool		typbyval;
	char	   *tenant;			/* last converted (NULL: none yet) */
	Datum		value;
} TenantAsCache;

/* The tenant as a value of the argument's type (the tenant column's). */
static Datum
TenantAs(FunctionCallInfo fcinfo, bool required, bool *isnull)
{
	const char *why = NULL;
	const char *t = QsCurrentTenant(&why);
	TenantAsCache *c = (TenantAsCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	*isnull = false;
	if (t == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("no tenant: writes to tenant-scoped tables are refused"),
					 errdetail("%s.", why ? why : "No tenant is set"),
					 errhint("Call qs.set_tenant() or qs.set_tenant_token() in this transaction first.")));
		*isnull = true;
		return (Datum) 0;
	}
	if (c == NULL)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
		Oid			typinput;

		if (!OidIsValid(type))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("could not determine the tenant column's type")));
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TenantAsCache));
		getTypeInputInfo(type, &typinput, &c->typioparam);
		fmgr_info_cxt(typinput, &c->input, fcinfo->flinfo->fn_mcxt);
		get_typlenbyval(type, &c->typlen, &c->typbyval);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->tenant == NULL || strcmp(c->tenant, t) != 0)
	{
		Datum		d = InputFunctionCall(&c->input, (char *) t, c->typioparam, -1);

		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		if (c->tenant != NULL)
		{
			pfree(c->tenant);
			if (!c->typbyval)
				pfree(DatumGetPointer(c->value));
		}
		c->tenant = pstrdup(t);
		c->value = datumCopy(d, c->typbyval, c->typlen);
		MemoryContextSwitchTo(old);
	}
	/* by-reference values go out as copies: the caller may free them */
	return c->typbyval ? c->value : datumCopy(c->value, false, c->typlen);
}

/*
 * The current tenant as a value of the given type (*isnull without one),
 * read as qs.current_tenant_as() reads it: the value of the tenant
 * parameter that lets Citus route a statement to one shard (path.c).
 */
Datum
QsTenantDatum(Oid type, bool *isnull)
{
	const char *t = QsCurrentTenant(NULL);
	Oid			typinput;
	Oid			typioparam;

	*isnull = (t == NULL);
	if (t == NULL)
		return (Datum) 0;
	getTypeInputInfo(type, &typinput, &typioparam);
	return OidInputFunctionCall(typinput, (char *) t, typioparam, -1);
}

/* qs.current_tenant_as(anyelement) -> anyelement: for SELECT policies */
Datum
qs_current_tenant_as(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		d = TenantAs(fcinfo, false, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

/* qs.tenant_required(anyelement) -> anyelement: for write policies */
Datum
qs_tenant_required(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		d = TenantAs(fcinfo, true, &isnull);

	PG_RETURN_DATUM(d);
}

/* ---------------------------------------------------------------------
 * Scope records (qs.tenant_scope)
 * ---------------------------------------------------------------------
 *
 * qs.tenant_scope is written by the extension's functions only: no role
 * holds INSERT, UPDATE or DELETE on it.  enable/disable_tenant_scoping
 * (running as their caller) record and forget through the two functions
 * below, which check the caller and then write as the owner of
 * qs.tenant_scope -- the one place this code acts as another role, the
 * way a SECURITY DEFINER function would, but after checks made as the
 * caller that a SECURITY DEFINER function could not make (it no longer
 * knows who called it).
 */

/* The owner of a relation, from its pg_class row. */
static Oid
RelationOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Run one fixed statement on qs.tenant_scope as its owner. */
static void
WriteScopeAsOwner(FunctionCallInfo fcinfo, const char *fmt, int nargs, Oid *types, Datum *values,
				  const char *nulls)
{
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			scope_rel = get_relname_relid("tenant_scope", nsp);
	char	   *sql;
	Oid			save_user;
	int			save_sec;
	int			rc;

	if (!OidIsValid(scope_rel))
		elog(ERROR, "pg_queryset: qs.tenant_scope not found");
	sql = psprintf(fmt, quote_qualified_identifier(get_namespace_name(nsp), "tenant_scope"));
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(RelationOwner(scope_rel), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		SPI_connect();
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT && rc != SPI_OK_DELETE)
			elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
}

/* The caller must own the relation, and it must be a permanent table. */
static void
RequireOwnedPermanentTable(Oid relid)
{
	char		persistence = get_rel_persistence(relid);

	if (get_rel_relkind(relid) == '\0' || persistence == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!QsOwnsRelation(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s to change its tenant scope", get_rel_name(relid)),
				 errhint("Ask the table's owner (or a superuser) to run qs.enable_tenant_scoping().")));
	if (persistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table %s cannot be tenant-scoped", get_rel_name(relid)),
				 errdetail("The scope record is kept by the database and would outlive the table."),
				 errhint("Scope the permanent table the data comes from.")));
}

PG_FUNCTION_INFO_V1(qs_tenant_scope_record);

/* qs._tenant_scope_record(model, tenant_column, parent, roles, ...) -> void */
Datum
qs_tenant_scope_record(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *col;
	AttrNumber	attnum;
	bool		has_policy;
	Relation	rel;
	Oid			opno;
	Oid			types[9] = {REGCLASSOID, NAMEOID, REGCLASSOID, NAMEARRAYOID, BOOLOID, BOOLOID, TEXTOID, BOOLOID, BOOLOID};
	Datum		values[9];
	char		nulls[9];
	int			i;

	for (i = 0; i < 9; i++)
	{
		if (PG_ARGISNULL(i) && i != 2 && i != 6)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of qs._tenant_scope_record must not be null", i + 1)));
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	relid = PG_GETARG_OID(0);
	col = NameStr(*PG_GETARG_NAME(1));
	RequireOwnedPermanentTable(relid);
	attnum = get_attnum(relid, col);

	/* the row must say what the catalog shows: the policy on that column */
	rel = table_open(relid, AccessShareLock);
	has_policy = attnum != InvalidAttrNumber && ScopedColumn(rel, &opno) == attnum;
	table_close(rel, AccessShareLock);
	if (!has_policy)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no qs_tenant_select policy on column \"%s\"", get_rel_name(relid), col),
				 errhint("qs.enable_tenant_scoping() creates the policies and records them.")));
	WriteScopeAsOwner(fcinfo, "INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
					  9, types, values, nulls);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(qs_tenant_scope_forget);

/* qs._tenant_scope_forget(model) -> void */
Datum
qs_tenant_scope_forget(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	/* a record of a dropped relation may be forgotten by anyone who sees it */
	if (get_rel_relkind(relid) != '\0')
	{
		if (!QsOwnsRelation(relid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of table %s to change its tenant scope", get_rel_name(relid))));
	}
	WriteScopeAsOwner(fcinfo, "DELETE FROM %s WHERE model = $1", 1, types, values, NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(qs_equality_operator);

/*
 * qs._equality_operator(regtype) -> text: "OPERATOR(schema.=)" for the
 * type's default btree equality (built-in types: pg_catalog), so policies
 * and defaults never resolve = through search_path (security review,
 * finding 6: a planted public.= entered the policies).
 */
Datum
qs_equality_operator(PG_FUNCTION_ARGS)
{
	Oid			typ = getBaseType(PG_GETARG_OID(0));
	TypeCacheEntry *tc = lookup_type_cache(typ, TYPECACHE_EQ_OPR);

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("type %s has no default equality operator", format_type_be(typ)),
				 errhint("A tenant column needs a type with a btree operator class.")));
	PG_RETURN_TEXT_P(cstring_to_text(QsOperatorSql(tc->eq_opr)));
}
