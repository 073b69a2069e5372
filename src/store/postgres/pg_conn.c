/* pg_conn.c: connections, transactions, errors and migrations of the
 * PostgreSQL backend.
 *
 * A store handle is shared by all threads, a libpq connection is not: each
 * thread gets its own connection to each store it uses, opened lazily. A
 * thread finds its connection through a small thread-local table keyed by
 * the store's serial number (serials are never reused, so an entry of a
 * closed store can never match a new one). Every connection is also linked
 * into its store, so store_close() closes them all; a thread that exits
 * closes its own connections first. Both paths run under one registry lock,
 * which guards the list of open stores and each store's list of
 * connections; the lock is never held while a connection is in use.
 *
 * Statements are prepared once per connection (PQprepare, named after
 * their slot) and run with PQexecPrepared, every value bound in binary
 * format. Each connection sets statement_timeout and lock_timeout when it
 * is made, from the store's options.
 *
 * A lost connection (the server restarted, a network failure) makes the
 * call answer PV_EBUSY and marks the connection; the thread's next call
 * outside a transaction connects again (PV_ESTORE when it cannot). Inside a
 * transaction the transaction is lost: every call answers PV_EBUSY until
 * the caller rolls back, and store_tx() runs it again on a new connection.
 * A read outside a transaction is simply run once more on the new
 * connection. A COMMIT whose connection is lost answers PV_ESTORE, not
 * PV_EBUSY: whether it committed cannot be known, so it must not be run
 * again blindly (a COMMIT sent behind a write in one pipeline is run
 * again only when the server's answer proves it skipped it: see
 * before_commit). */
#include "store/postgres/pg_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_store.h"
#include "util/log.h"
#include "util/util.h"

#define PGS_TLS_SLOTS 8 /* stores one thread may use at once */
/* Key of the advisory lock that serialises migrations (ASCII "pravesh"). */
#define PGS_MIGRATE_LOCK "31640138163594600"
#define PGS_MIGRATE_WAIT "'120s'" /* how long a migration waits for another */

enum { SLOT_PING };

static const struct pgs_query q_ping = {"SELECT 1", "", 1, "ping", 0};

struct pgs_tls {
	struct {
		uint64_t serial; /* 0: free */
		struct pgs_conn *conn;
	} slot[PGS_TLS_SLOTS];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pgs_store *reg_live; /* open stores */
static uint64_t reg_serial;        /* last serial given */
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int tls_key_ok;
static __thread struct pgs_tls *tls_cell;

/* ---- parameters ------------------------------------------------------- */

static int arg_slot(struct pgs_args *a)
{
	if (a->n >= PGS_MAXP) {
		a->bad = 1;
		return -1;
	}
	a->fmt[a->n] = 1;
	return a->n++;
}

void pgs_p_text(struct pgs_args *a, const char *s, size_t cap)
{
	int i = arg_slot(a);

	if (i < 0)
		return;
	if (!s)
		s = "";
	size_t n = strnlen(s, cap);
	if (n > (size_t)INT32_MAX) {
		a->bad = 1;
		n = 0;
	}
	a->v[i] = s;
	a->len[i] = (int)n;
}

void pgs_p_text_null(struct pgs_args *a, const char *s, size_t cap)
{
	if (s && *s) {
		pgs_p_text(a, s, cap);
		return;
	}
	int i = arg_slot(a);

	if (i >= 0) {
		a->v[i] = NULL;
		a->len[i] = 0;
	}
}

void pgs_p_opt(struct pgs_args *a, const char *s, size_t cap)
{
	if (s) {
		pgs_p_text(a, s, cap);
		return;
	}
	pgs_p_text_null(a, NULL, cap);
}

void pgs_p_text_fit(struct pgs_args *a, const char *s, size_t cap)
{
	int i = arg_slot(a);

	if (i < 0)
		return;
	if (!s)
		s = "";
	size_t n = strnlen(s, cap);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	a->v[i] = s;
	a->len[i] = (int)n;
}

void pgs_p_int(struct pgs_args *a, int64_t v)
{
	int i = arg_slot(a);
	uint64_t u = (uint64_t)v;

	if (i < 0)
		return;
	for (int k = 7; k >= 0; k--, u >>= 8)
		a->ib[i][k] = (unsigned char)(u & 0xff);
	a->v[i] = (const char *)a->ib[i];
	a->len[i] = 8;
}

void pgs_p_bytea(struct pgs_args *a, const void *p, size_t n)
{
	int i = arg_slot(a);

	if (i < 0)
		return;
	if (n > (size_t)INT32_MAX) {
		a->bad = 1;
		return;
	}
	a->v[i] = p;
	a->len[i] = (int)n;
}

/* ---- errors ------------------------------------------------------------ */

static int state_is(const char *state, const char *want)
{
	return state && strncmp(state, want, strlen(want)) == 0;
}

int pgs_error(struct pgs_conn *c, const PGresult *res, const char *op)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int err;

	if (!msg)
		msg = c->pg ? PQerrorMessage(c->pg) : "";
	if (!c->pg || c->lost || PQstatus(c->pg) == CONNECTION_BAD || state_is(state, "08") ||
	    state_is(state, "57P0")) {
		/* the server went away, or is shutting down */
		c->lost = 1;
		err = PV_EBUSY;
		log_kv(LOG_WARN, "store connection lost", "op", op, "sqlstate",
		       state ? state : "", NULL);
	} else if (!res) {
		err = PV_ENOMEM;
	} else if (state_is(state, "23505")) {
		err = PV_ECONFLICT;
	} else if (state_is(state, "23503")) {
		err = PV_ENOTFOUND;
	} else if (state_is(state, "40001") || state_is(state, "40P01") ||
		   state_is(state, "55P03")) {
		/* serialisation failure, deadlock, lock_timeout */
		err = PV_EBUSY;
		log_kv(LOG_WARN, "store busy", "op", op, "sqlstate", state, NULL);
	} else if (state_is(state, "57014")) {
		/* statement_timeout: not contention (lock waits end sooner,
		 * at lock_timeout), so running it again would only wait as
		 * long again */
		err = PV_ESTORE;
		log_kv(LOG_ERROR, "store statement timed out", "op", op, NULL);
	} else if (state_is(state, "22")) {
		err = PV_EINVAL;
		log_kv(LOG_WARN, "store refused a value", "op", op, "sqlstate",
		       state, "error", msg, NULL);
	} else {
		err = PV_ESTORE;
		log_kv(LOG_ERROR, "store operation failed", "op", op, "sqlstate",
		       state ? state : "", "error", msg, NULL);
	}
	/* The server aborts the whole transaction on any error: remember it,
	 * so that the caller's later calls fail too instead of running
	 * outside the transaction. */
	if (c->in_tx && !c->tx_lost &&
	    (c->lost || PQtransactionStatus(c->pg) != PQTRANS_INTRANS)) {
		c->tx_lost = err;
		log_kv(LOG_WARN, "store transaction rolled back", "op", op, NULL);
	}
	return err;
}

/* ---- connections ---------------------------------------------------------- */

static void later_drop(struct pgs_conn *c);

static void conn_close(struct pgs_conn *c)
{
	if (!c)
		return;
	later_drop(c);
	PQfinish(c->pg); /* the server rolls back an open transaction */
	free(c);
}

/* Server notices ("relation ... already exists, skipping") are not
 * problems: kept out of standard error. */
static void conn_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Connects c->pg to the store's URL and sets the session's timeouts. */
static int conn_connect(struct pgs_conn *c, const struct pgs_store *s)
{
	/* the URL's own values win over those before "dbname" (a connect
	 * timeout, so that an unreachable server fails in seconds rather
	 * than the system's minutes), not over those after it */
	static const char *const kw[] = {"connect_timeout", "dbname",
					 "fallback_application_name",
					 "client_encoding", NULL};
	const char *val[] = {"10", s->url, "pravesh", "UTF8", NULL};
	char st[24], lt[24];
	const char *pv[2] = {st, lt};
	PGresult *r;
	int err = PV_OK;

	PQfinish(c->pg);
	memset(c->prepared, 0, sizeof c->prepared);
	c->lost = 0;
	c->pg = PQconnectdbParams(kw, val, 1);
	if (!c->pg)
		return PV_ENOMEM;
	if (PQstatus(c->pg) != CONNECTION_OK) {
		/* libpq's message names the host and the user, never the
		 * password */
		char msg[512];
		size_t n;

		util_strlcpy(msg, PQerrorMessage(c->pg), sizeof msg);
		n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		log_kv(LOG_ERROR, "cannot connect to the database", "error", msg,
		       NULL);
		c->lost = 1;
		return PV_ESTORE;
	}
	PQsetNoticeProcessor(c->pg, conn_notice, NULL);
	snprintf(st, sizeof st, "%lld", (long long)s->opt.statement_timeout_ms);
	snprintf(lt, sizeof lt, "%lld", (long long)s->opt.lock_timeout_ms);
	r = PQexecParams(c->pg,
			 "SELECT set_config('statement_timeout', $1, false),"
			 " set_config('lock_timeout', $2, false)",
			 2, NULL, pv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		err = pgs_error(c, r, "connect");
	PQclear(r);
	return err;
}

/* Thread exit: close this thread's connections to stores still open. The
 * connections of closed stores were closed by store_close(). */
static void tls_release(void *p)
{
	struct pgs_tls *cell = p;

	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < PGS_TLS_SLOTS; i++) {
		if (!cell->slot[i].serial)
			continue;
		for (struct pgs_store *s = reg_live; s; s = s->next) {
			if (s->serial != cell->slot[i].serial)
				continue;
			for (struct pgs_conn **pp = &s->conns; *pp;
			     pp = &(*pp)->next) {
				if (*pp == cell->slot[i].conn) {
					*pp = cell->slot[i].conn->next;
					conn_close(cell->slot[i].conn);
					break;
				}
			}
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	if (tls_cell == cell)
		tls_cell = NULL;
	free(cell);
}

static void tls_init(void)
{
	tls_key_ok = pthread_key_create(&tls_key, tls_release) == 0;
}

static int reg_is_live(uint64_t serial)
{
	for (struct pgs_store *s = reg_live; s; s = s->next)
		if (s->serial == serial)
			return 1;
	return 0;
}

/* Slow path of conn_of: open this thread's connection to s. */
static int conn_attach(struct pgs_store *s, struct pgs_conn **out)
{
	struct pgs_conn *c;
	int err, slot = -1;

	pthread_once(&tls_once, tls_init);
	if (!tls_key_ok)
		return PV_ESTORE;
	if (!tls_cell) {
		struct pgs_tls *cell = calloc(1, sizeof *cell);

		if (!cell)
			return PV_ENOMEM;
		if (pthread_setspecific(tls_key, cell) != 0) {
			free(cell);
			return PV_ENOMEM;
		}
		tls_cell = cell;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return PV_ENOMEM;
	err = conn_connect(c, s);
	if (err) {
		conn_close(c);
		return err == PV_EBUSY ? PV_ESTORE : err;
	}
	c->owner = s;
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < PGS_TLS_SLOTS && slot < 0; i++)
		if (!tls_cell->slot[i].serial)
			slot = i;
	for (int i = 0; i < PGS_TLS_SLOTS && slot < 0; i++)
		if (!reg_is_live(tls_cell->slot[i].serial))
			slot = i; /* its store was closed with its conns */
	if (slot >= 0) {
		tls_cell->slot[slot].serial = s->serial;
		tls_cell->slot[slot].conn = c;
		c->next = s->conns;
		s->conns = c;
	}
	pthread_mutex_unlock(&reg_lock);
	if (slot < 0) {
		conn_close(c);
		log_kv(LOG_ERROR, "store: too many stores open in one thread",
		       NULL);
		return PV_ELIMIT;
	}
	*out = c;
	return PV_OK;
}

/* The calling thread's connection to base, made ready for use: connected
 * again when it was lost and no transaction of the caller is open. */
static int conn_of(store *base, struct pgs_conn **out)
{
	struct pgs_store *s = (struct pgs_store *)base;
	struct pgs_tls *cell = tls_cell;
	struct pgs_conn *c = NULL;
	int err;

	*out = NULL;
	if (!s)
		return PV_EINVAL;
	if (cell) {
		for (int i = 0; i < PGS_TLS_SLOTS && !c; i++)
			if (cell->slot[i].serial == s->serial)
				c = cell->slot[i].conn;
	}
	if (!c)
		return conn_attach(s, out);
	*out = c;
	if (c->lost && !c->in_tx) {
		err = conn_connect(c, s);
		if (err) {
			c->lost = 1;
			return err == PV_EBUSY ? PV_ESTORE : err;
		}
		log_kv(LOG_INFO, "store connection made again", NULL);
	}
	return PV_OK;
}

static int later_send(struct pgs_conn *c);

int pgs_enter(store *s, struct pgs_conn **out)
{
	int err = conn_of(s, out);

	if (err)
		return err;
	/* the transaction's kept write goes first, with its error */
	if ((err = later_send(*out)) != PV_OK)
		return err;
	if ((*out)->tx_lost)
		return (*out)->tx_lost;
	return PV_OK;
}

/* ---- statements ------------------------------------------------------------- */

/* The type oids of q's parameters into types (PGS_MAXP); their number. */
static int query_types(const struct pgs_query *q, Oid *types)
{
	int n = (int)strlen(q->types);

	for (int i = 0; i < n; i++)
		types[i] = q->types[i] == 'i' ? 20 : q->types[i] == 'b' ? 17 : 25;
	return n;
}

static int conn_prepare(struct pgs_conn *c, int slot, const struct pgs_query *q,
			const char *name)
{
	Oid types[PGS_MAXP];
	int n = query_types(q, types);
	PGresult *r;
	int err = PV_OK;

	r = PQprepare(c->pg, name, q->sql, n, types);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		c->prepared[slot / 64] |= UINT64_C(1) << (slot % 64);
	} else if (PQstatus(c->pg) == CONNECTION_OK &&
		   state_is(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42")) {
		/* Usually a schema older than the program: say which
		 * statement (constant text, no values). */
		log_kv(LOG_ERROR,
		       "store statement failed to prepare (is the store migrated?)",
		       "error", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
		       "sql", q->sql, NULL);
		err = PV_ESTORE;
		if (c->in_tx && !c->tx_lost)
			c->tx_lost = err;
	} else {
		err = pgs_error(c, r, q->op);
	}
	PQclear(r);
	return err;
}

/* q made ready to run on c: prepared as name at its slot's first use
 * (a custom statement is sent unnamed, with its text). */
static int conn_ready(struct pgs_conn *c, int slot, const struct pgs_query *q,
		      const char *name)
{
	if (q->custom || (c->prepared[slot / 64] & (UINT64_C(1) << (slot % 64))))
		return PV_OK;
	return conn_prepare(c, slot, q, name);
}

/* Runs q: prepared as name, or unnamed with its values (q->custom). */
static PGresult *exec_one(struct pgs_conn *c, const struct pgs_query *q,
			  const char *name, const struct pgs_args *a, int binary)
{
	Oid types[PGS_MAXP];

	if (q->custom)
		return PQexecParams(c->pg, q->sql, query_types(q, types), types, a->v,
				    a->len, a->fmt, binary);
	return PQexecPrepared(c->pg, name, a->n, a->v, a->len, a->fmt, binary);
}

/* One command of a pipeline: a statement without parameters (sql), or
 * else q with a's values, prepared as name unless q->custom. */
struct pipe_cmd {
	const char *sql;
	const struct pgs_query *q;
	const char *name;
	const struct pgs_args *a;
	int binary;
};

/* Sends the n commands in one round trip (libpq's pipeline mode, one sync
 * after the last) and writes each one's result into res[i], NULL where
 * none came back; the caller PQclear()s them. After a failed command the
 * server skips the others up to the sync: their results are
 * PGRES_PIPELINE_ABORTED. PV_OK; PV_EINVAL when the connection cannot
 * enter pipeline mode (nothing was sent); PV_EBUSY with c marked lost when
 * the exchange broke. */
static int pipe_run(struct pgs_conn *c, const struct pipe_cmd *cmd, int n,
		    PGresult **res)
{
	Oid types[PGS_MAXP];
	int sent = 1, got = 0, synced = 0;

	for (int i = 0; i < n; i++)
		res[i] = NULL;
	if (!PQenterPipelineMode(c->pg))
		return PV_EINVAL;
	for (int i = 0; i < n && sent; i++) {
		const struct pipe_cmd *k = &cmd[i];

		if (k->sql)
			sent = PQsendQueryParams(c->pg, k->sql, 0, NULL, NULL, NULL, NULL, 0);
		else if (k->q->custom)
			sent = PQsendQueryParams(c->pg, k->q->sql, query_types(k->q, types),
						 types, k->a->v, k->a->len, k->a->fmt,
						 k->binary);
		else
			sent = PQsendQueryPrepared(c->pg, k->name, k->a->n, k->a->v,
						   k->a->len, k->a->fmt, k->binary);
	}
	if (!sent || !PQpipelineSync(c->pg)) {
		/* what was queued cannot be taken back: a new connection */
		PQexitPipelineMode(c->pg);
		c->lost = 1;
		return PV_EBUSY;
	}
	/* each command's result followed by NULL, then the sync */
	while (!synced) {
		PGresult *r = PQgetResult(c->pg);

		if (!r) {
			if (PQstatus(c->pg) != CONNECTION_OK)
				break;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			synced = 1;
			PQclear(r);
		} else if (got < n) {
			res[got++] = r;
		} else {
			PQclear(r);
		}
	}
	PQexitPipelineMode(c->pg);
	if (!synced) {
		c->lost = 1;
		return PV_EBUSY;
	}
	return PV_OK;
}

/* Sends BEGIN and the statement together (one round trip instead of two)
 * and returns the statement's result; NULL with the connection marked lost
 * when the exchange broke. Called for the first statement of a
 * transaction, whose BEGIN tx_begin() deferred. */
static PGresult *exec_with_begin(struct pgs_conn *c, const struct pgs_query *q,
				 const char *name, const struct pgs_args *a, int binary)
{
	struct pipe_cmd cmd[2] = {{.sql = "BEGIN"},
				  {.q = q, .name = name, .a = a, .binary = binary}};
	PGresult *res[2], *r;

	c->begin_pending = 0;
	if (pipe_run(c, cmd, 2, res) == PV_EINVAL) {
		/* no pipeline: BEGIN on its own */
		r = PQexec(c->pg, "BEGIN");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
		return exec_one(c, q, name, a, binary);
	}
	if (res[0] && PQresultStatus(res[0]) != PGRES_COMMAND_OK && res[1] &&
	    PQresultStatus(res[1]) == PGRES_PIPELINE_ABORTED) {
		/* BEGIN's own error is the one to report */
		PQclear(res[1]);
		return res[0];
	}
	PQclear(res[0]);
	return res[1];
}

/* PV_OK when a fits q (its slot, its number of parameters). */
static int args_check(int slot, const struct pgs_query *q, const struct pgs_args *a)
{
	if (a->bad || slot < 0 || slot >= PGS_Q_MAX || (size_t)a->n != strlen(q->types)) {
		log_kv(LOG_ERROR, "store: bad statement parameters", "op", q->op,
		       NULL);
		return PV_EINVAL;
	}
	return PV_OK;
}

int pgs_exec(struct pgs_conn *c, int slot, const struct pgs_query *q,
	     const struct pgs_args *a, int binary, PGresult **res)
{
	static const struct pgs_args none;
	char name[16];
	int err = PV_OK;

	*res = NULL;
	if (!a)
		a = &none;
	if ((err = args_check(slot, q, a)) != PV_OK || (err = later_send(c)) != PV_OK)
		return err;
	snprintf(name, sizeof name, "pv%d", slot);
	for (int attempt = 0; attempt < 2; attempt++) {
		err = conn_ready(c, slot, q, name);
		if (err == PV_OK) {
			PGresult *r = c->begin_pending
					      ? exec_with_begin(c, q, name, a, binary)
					      : exec_one(c, q, name, a, binary);
			ExecStatusType st = PQresultStatus(r);

			if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
				*res = r;
				return PV_OK;
			}
			err = pgs_error(c, r, q->op);
			PQclear(r);
		}
		/* a read outside a transaction on a connection just lost:
		 * once more, on a new one */
		if (!(err == PV_EBUSY && c->lost && !c->in_tx && q->readonly &&
		      attempt == 0))
			break;
		if (conn_connect(c, c->owner) != PV_OK) {
			c->lost = 1;
			return PV_ESTORE;
		}
	}
	return err;
}

/* ---- writes sent with the next round trip ------------------------------- */

static void later_drop(struct pgs_conn *c)
{
	c->has_later = 0;
	if (c->later_buf) /* a session's hashes among them */
		sodium_memzero(c->later_buf, c->later_len);
	free(c->later_buf);
	c->later_buf = NULL;
	c->later_len = 0;
}

/* Sends the kept write, if any, on its own (before the caller's own
 * statement); its error ends the transaction (tx_lost keeps it for
 * tx_commit). The caller's answer is then PV_EBUSY when the write can be
 * run again, else PV_ESTORE, never a code the caller could take for an
 * outcome of its own statement (a conflict, a row not found). */
static int later_send(struct pgs_conn *c)
{
	PGresult *r = NULL;
	int err;

	if (!c->has_later)
		return PV_OK;
	c->has_later = 0; /* pgs_exec below must not send it again */
	err = pgs_exec(c, c->later_slot, c->later_q, &c->later_args, 0, &r);
	PQclear(r);
	later_drop(c);
	if (err && c->in_tx && !c->tx_lost)
		c->tx_lost = err;
	return err == PV_OK || err == PV_EBUSY ? err : PV_ESTORE;
}

int pgs_exec_later(struct pgs_conn *c, int slot, const struct pgs_query *q,
		   const struct pgs_args *a)
{
	PGresult *r = NULL;
	size_t total = 0, off = 0;
	int err;

	if ((err = args_check(slot, q, a)) != PV_OK || (err = later_send(c)) != PV_OK)
		return err;
	if (c->in_tx && !c->tx_lost) {
		for (int i = 0; i < a->n; i++)
			total += a->v[i] ? (size_t)a->len[i] : 0;
		/* without the memory to keep it, it runs at once */
		if ((c->later_buf = malloc(total ? total : 1))) {
			c->later_len = total;
			c->later_args = *a;
			for (int i = 0; i < a->n; i++) {
				if (!a->v[i])
					continue;
				memcpy(c->later_buf + off, a->v[i], (size_t)a->len[i]);
				c->later_args.v[i] = c->later_buf + off;
				off += (size_t)a->len[i];
			}
			c->later_slot = slot;
			c->later_q = q;
			c->has_later = 1;
			return PV_OK;
		}
	}
	err = pgs_exec(c, slot, q, a, 0, &r);
	PQclear(r);
	return err;
}

int pgs_simple(struct pgs_conn *c, const char *sql, const char *op)
{
	PGresult *r;
	int err = later_send(c);

	if (err)
		return err;
	r = PQexec(c->pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		err = pgs_error(c, r, op);
	PQclear(r);
	return err;
}

/* ---- transactions --------------------------------------------------------- */

int pgs_tx_begin(store *s)
{
	struct pgs_conn *c;
	int err = conn_of(s, &c);

	if (err)
		return err;
	if (c->in_tx)
		return PV_EINVAL; /* transactions do not nest */
	later_drop(c);
	c->tx_lost = 0;
	/* BEGIN goes with the first statement (exec_with_begin) */
	c->in_tx = 1;
	c->begin_pending = 1;
	return PV_OK;
}

void pgs_abandon(struct pgs_conn *c)
{
	later_drop(c);
	c->in_tx = 0;
	c->tx_lost = 0;
	c->begin_pending = 0;
	if (!c->lost && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		pgs_simple(c, "ROLLBACK", "tx_rollback");
}

/* The answer of a COMMIT's result r: PV_OK when it committed. */
static int commit_result(struct pgs_conn *c, PGresult *r)
{
	int err = PV_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		err = pgs_error(c, r, "tx_commit");
		/* the outcome of a COMMIT on a lost connection is unknown:
		 * not something to run again blindly */
		if (c->lost)
			err = PV_ESTORE;
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		err = PV_ESTORE; /* the server rolled it back */
		log_kv(LOG_ERROR, "store transaction was rolled back at commit",
		       NULL);
	}
	return err;
}

/* The answer of BEGIN's or the kept write's failed result r in
 * commit_later. On a live connection the server skipped the COMMIT after
 * that error: pgs_error's answer (PV_EBUSY is run again). On a lost one, a
 * FATAL the server itself sent for BEGIN or the write (57P01 terminated,
 * 57P05 and 25P03 idle timeouts) came before any answer to the COMMIT
 * behind it (the server answers a pipeline in order), so the COMMIT never
 * ran; anything else (a result libpq made itself, a pooler's "server
 * connection crashed" that may follow a COMMIT done but not answered)
 * leaves the COMMIT's outcome unknown: PV_ESTORE. */
static int before_commit(struct pgs_conn *c, PGresult *r, const char *op)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int err = pgs_error(c, r, op);

	if (c->lost && !state_is(state, "57P01") && !state_is(state, "57P05") &&
	    !state_is(state, "25P03"))
		err = PV_ESTORE;
	return err;
}

/* tx_commit with a kept write: [BEGIN,] the write and COMMIT in one round
 * trip. A failed write makes the server skip the COMMIT; the transaction
 * is then rolled back and the write's error answered (PV_ESTORE instead
 * when the connection was lost and the COMMIT's outcome is unknown, see
 * before_commit). */
static int commit_later(struct pgs_conn *c)
{
	struct pipe_cmd cmd[3];
	PGresult *res[3] = {NULL, NULL, NULL};
	int n = 0, ib = -1, iw, ic, err;
	char name[16];

	snprintf(name, sizeof name, "pv%d", c->later_slot);
	if ((err = conn_ready(c, c->later_slot, c->later_q, name)) != PV_OK)
		goto out;
	if (c->begin_pending)
		cmd[ib = n++] = (struct pipe_cmd){.sql = "BEGIN"};
	iw = n;
	cmd[n++] = (struct pipe_cmd){.q = c->later_q, .name = name, .a = &c->later_args};
	ic = n;
	cmd[n++] = (struct pipe_cmd){.sql = "COMMIT"};
	c->begin_pending = 0;
	err = pipe_run(c, cmd, n, res);
	if (err == PV_EINVAL) { /* no pipeline, nothing sent: one at a time */
		c->begin_pending = ib >= 0;
		err = later_send(c);
		if (c->tx_lost)
			err = c->tx_lost; /* the write's own error, not later_send's */
		if (err == PV_OK) {
			PGresult *r = PQexec(c->pg, "COMMIT");

			err = commit_result(c, r);
			PQclear(r);
		}
		goto out;
	}
	/* BEGIN or the write failed: the COMMIT was skipped, or its outcome
	 * is unknown (before_commit); no answer to the COMMIT on a lost
	 * connection: unknown */
	if (ib >= 0 && res[ib] && PQresultStatus(res[ib]) != PGRES_COMMAND_OK)
		err = before_commit(c, res[ib], "tx_begin");
	else if (res[iw] && PQresultStatus(res[iw]) != PGRES_COMMAND_OK &&
		 PQresultStatus(res[iw]) != PGRES_TUPLES_OK)
		err = before_commit(c, res[iw], c->later_q->op);
	else if (res[ic])
		err = commit_result(c, res[ic]);
	else
		err = PV_ESTORE; /* lost before the COMMIT's answer: unknown */
out:
	for (int i = 0; i < n; i++)
		PQclear(res[i]);
	pgs_abandon(c); /* a COMMIT ends the transaction whatever its outcome */
	return err;
}

int pgs_tx_commit(store *s)
{
	struct pgs_conn *c;
	PGresult *r;
	int err = conn_of(s, &c);

	if (err)
		return err;
	if (c->tx_lost) {
		err = c->tx_lost;
		pgs_abandon(c);
		return err;
	}
	if (!c->in_tx)
		return PV_EINVAL;
	if (c->has_later)
		return commit_later(c);
	if (c->begin_pending) { /* no statement ran: nothing to commit */
		pgs_abandon(c);
		return PV_OK;
	}
	r = PQexec(c->pg, "COMMIT");
	err = commit_result(c, r);
	PQclear(r);
	/* a COMMIT ends the transaction whatever its outcome */
	pgs_abandon(c);
	return err;
}

int pgs_tx_rollback(store *s)
{
	struct pgs_conn *c;
	int err = conn_of(s, &c);

	if (err)
		return err;
	later_drop(c); /* never sent: nothing to undo */
	c->tx_lost = 0;
	c->in_tx = 0;
	c->begin_pending = 0;
	if (c->lost || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return PV_OK;
	err = pgs_simple(c, "ROLLBACK", "tx_rollback");
	return c->lost ? PV_OK : err; /* a lost connection rolled it back */
}

/* ---- migrations ------------------------------------------------------------ */

/* The version of the schema, inside the migration's transaction. */
static int migrate_version(struct pgs_conn *c, int64_t *v)
{
	PGresult *r = PQexec(c->pg, "SELECT coalesce(max(version), 0)"
				    " FROM pravesh_schema");
	int err = PV_OK;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		*v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		err = pgs_error(c, r, "migrate");
	PQclear(r);
	return err;
}

static int migrate_record(struct pgs_conn *c, int64_t v)
{
	char vs[24], at[24];
	const char *pv[2] = {vs, at};
	PGresult *r;
	int err = PV_OK;

	snprintf(vs, sizeof vs, "%lld", (long long)v);
	snprintf(at, sizeof at, "%lld", (long long)util_now_ms());
	r = PQexecParams(c->pg, "INSERT INTO pravesh_schema (version, applied_at)"
				" VALUES ($1::integer, $2::bigint)",
			 2, NULL, pv, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		err = pgs_error(c, r, "migrate");
	PQclear(r);
	return err;
}

/* One step: under the advisory lock (so that several processes migrating
 * at once take turns), reads the version and applies the next migration.
 * *done is set when the schema was already up to date. */
static int migrate_step(struct pgs_conn *c, int *done)
{
	char vs[24];
	int64_t v = 0;
	int err;

	*done = 0;
	if ((err = pgs_simple(c, "BEGIN", "migrate")) != PV_OK)
		return err;
	c->in_tx = 1; /* errors below mark the transaction lost */
	err = pgs_simple(c, "SET LOCAL statement_timeout = 0;"
			    " SET LOCAL lock_timeout = " PGS_MIGRATE_WAIT ";"
			    " SELECT pg_advisory_xact_lock(" PGS_MIGRATE_LOCK ");"
			    " SET LOCAL lock_timeout = 0;"
			    " CREATE TABLE IF NOT EXISTS pravesh_schema ("
			    " version integer PRIMARY KEY,"
			    " applied_at bigint NOT NULL)",
			 "migrate");
	if (!err)
		err = migrate_version(c, &v);
	if (err)
		goto out;
	if (v > pgs_migrations_n) {
		snprintf(vs, sizeof vs, "%lld", (long long)v);
		log_kv(LOG_ERROR, "store schema is newer than this program",
		       "version", vs, NULL);
		err = PV_ESTORE;
		goto out;
	}
	if (v == pgs_migrations_n) {
		*done = 1;
	} else {
		err = pgs_simple(c, pgs_migrations[v], "migrate");
		if (!err)
			err = migrate_record(c, v + 1);
	}
	if (!err)
		err = pgs_simple(c, "COMMIT", "migrate");
	if (!err && !*done) {
		snprintf(vs, sizeof vs, "%lld", (long long)(v + 1));
		log_kv(LOG_INFO, "store schema migrated", "version", vs, NULL);
	}
out:
	pgs_abandon(c);
	return err;
}

int pgs_migrate(store *s)
{
	struct pgs_conn *c;
	const char *enc;
	int err, done = 0;

	err = conn_of(s, &c);
	if (err)
		return err;
	if (c->in_tx)
		return PV_EINVAL;
	/* Names are searched by their characters (migration 7): in a database
	 * of another encoding (SQL_ASCII, initdb's default under the C
	 * locale) the database would count bytes where the program counts
	 * characters, and store text unchecked. */
	enc = PQparameterStatus(c->pg, "server_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0) {
		log_kv(LOG_ERROR,
		       "the database must be encoded in UTF8 (createdb -E UTF8 -T template0)",
		       "encoding", enc ? enc : "unknown", NULL);
		return PV_ESTORE;
	}
	for (int step = 0; step <= pgs_migrations_n; step++) {
		err = migrate_step(c, &done);
		if (err || done)
			return err;
	}
	return PV_ESTORE; /* the version did not advance */
}

int pgs_ping(store *s)
{
	struct pgs_conn *c;
	PGresult *r;
	int err = conn_of(s, &c);

	if (err)
		return err;
	err = pgs_exec(c, SLOT_PING, &q_ping, NULL, 0, &r);
	PQclear(r);
	return err;
}

/* PostgreSQL is backed up with its own tools: pg_dump takes one consistent
 * snapshot while serving, blobs included (docs/operations.md). */
int pgs_backup(store *s, const char *path)
{
	(void)s;
	(void)path;
	return PV_EINVAL;
}

/* ---- open and close ---------------------------------------------------------- */

void pgs_close(store *base)
{
	struct pgs_store *s = (struct pgs_store *)base;
	struct pgs_conn *c, *next;

	if (!s)
		return;
	pthread_mutex_lock(&reg_lock);
	for (struct pgs_store **pp = &reg_live; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&reg_lock);
	/* The store is no longer live: no exiting thread touches these. */
	for (; c; c = next) {
		next = c->next;
		conn_close(c);
	}
	if (s->url)
		sodium_memzero(s->url, strlen(s->url));
	free(s->url);
	free(s);
}

int store_pg_open(const char *url, const store_options *opt, store **out)
{
	struct pgs_store *s = NULL;
	struct pgs_conn *c;
	PQconninfoOption *ci;
	char *perr = NULL;
	int err;

	if (!out)
		return PV_EINVAL;
	*out = NULL;
	if (!url || !*url || !opt)
		return PV_EINVAL;
	/* libpq's own message could quote part of the URL (a password):
	 * say only that it is not valid */
	ci = PQconninfoParse(url, &perr);
	PQfreemem(perr);
	if (!ci) {
		log_kv(LOG_ERROR,
		       "store: the URL is not a valid PostgreSQL connection URI",
		       NULL);
		return PV_EINVAL;
	}
	PQconninfoFree(ci);
	s = calloc(1, sizeof *s);
	if (!s)
		return PV_ENOMEM;
	s->base.ops = &pgs_ops;
	s->opt = *opt;
	s->url = strdup(url);
	if (!s->url) {
		free(s);
		return PV_ENOMEM;
	}
	pthread_mutex_lock(&reg_lock);
	s->serial = ++reg_serial;
	s->next = reg_live;
	reg_live = s;
	pthread_mutex_unlock(&reg_lock);
	err = conn_of(&s->base, &c); /* fail now on a wrong URL */
	if (err) {
		pgs_close(&s->base);
		return err;
	}
	*out = &s->base;
	return PV_OK;
}

static char pg_version[32];

static void pg_version_fill(void)
{
	int lv = PQlibVersion();

	snprintf(pg_version, sizeof pg_version, "libpq %d.%d", lv / 10000,
		 lv % 10000);
}

const char *store_pg_version(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, pg_version_fill);
	return pg_version;
}
