/* pg_internal.h: shared by the files of the PostgreSQL backend and by
 * nothing else. pg_conn.c owns connections (one per thread and store),
 * reconnection, transactions, prepared statements, the mapping of SQLSTATEs
 * to pv_err and migrations; pg_ops.c holds the SQL of every store operation;
 * pg_schema.c the migrations; pg_blob.c the blobs. */
#ifndef PV_PG_INTERNAL_H
#define PV_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store/store.h"

/* Slots of statements prepared per connection: below PGS_Q_FIRST_BLOB for
 * pg_conn.c, then pg_blob.c's, from PGS_Q_FIRST_OP pg_ops.c's. */
#define PGS_Q_FIRST_BLOB 2
#define PGS_Q_FIRST_OP 8
#define PGS_Q_MAX 128
#define PGS_MAXP 20 /* parameters of one statement */

/* One statement of the backend: its SQL, the types of its parameters ('t'
 * text, 'i' bigint, 'b' bytea; one letter each, in order), and whether it
 * only reads (a read outside a transaction is run again once on a fresh
 * connection when the old one was lost). A statement is prepared once per
 * connection, and PostgreSQL may then run it with one generic plan for
 * every value; a custom one is planned again for its values at every run
 * (sent unnamed): for the few whose best plan depends on the values (how
 * many users a name's words match decides between walking the order index
 * and collecting the matches), at a planning cost of well under a
 * millisecond. */
struct pgs_query {
	const char *sql;
	const char *types;
	int readonly;
	const char *op; /* the store operation, for log lines */
	int custom;     /* planned for its values at every run */
};

/* Parameters of one statement, all sent in binary format: text as its
 * bytes, bigint as 8 bytes in network order, bytea as is. Pointers are
 * borrowed: what they point to must outlive the call. Each p_* helper
 * appends one; past PGS_MAXP the set is marked bad and the call fails. */
struct pgs_args {
	int n, bad;
	const char *v[PGS_MAXP];
	int len[PGS_MAXP];
	int fmt[PGS_MAXP];
	unsigned char ib[PGS_MAXP][8];
};

/* One connection, used by exactly one thread. Closed by store_close() or
 * when its thread exits. */
struct pgs_conn {
	PGconn *pg;
	uint64_t prepared[PGS_Q_MAX / 64]; /* bit q: slot q is prepared here */
	int in_tx;   /* the caller's tx_begin() is open on this connection */
	int begin_pending; /* in_tx, but BEGIN not sent yet: it goes with the
			    * transaction's first statement (one round trip) */
	int tx_lost; /* pv_err that ended the caller's transaction, or 0 */
	int lost;    /* the connection failed: reconnect before the next use */
	/* A write of the open transaction not sent yet (pgs_exec_later): it
	 * goes with the connection's next round trip. later_buf owns the
	 * copies later_args points to. */
	int has_later;
	int later_slot;
	const struct pgs_query *later_q;
	struct pgs_args later_args;
	char *later_buf; /* later_len bytes, wiped when dropped */
	size_t later_len;
	struct pgs_store *owner;
	struct pgs_conn *next; /* in pgs_store.conns, under the registry lock */
};

struct pgs_store {
	store base;      /* first: this is the store.h handle */
	uint64_t serial; /* unique for the life of the process, never reused */
	char *url;       /* may hold a password: never logged */
	store_options opt;
	struct pgs_conn *conns; /* every thread's connection (registry lock) */
	struct pgs_store *next; /* in the list of open stores (registry lock) */
};

extern const struct store_ops pgs_ops;

/* Migrations: pgs_migrations[i] brings the schema from version i to i + 1,
 * a script of several statements run in one transaction. */
extern const char *const pgs_migrations[];
extern const int pgs_migrations_n;

/* The calling thread's connection to s, opened on first use and opened
 * again when it was lost (outside a transaction). Answers the error that
 * ended the caller's transaction (tx_lost) until the caller ends it with
 * tx_commit or tx_rollback; PV_ESTORE when no connection can be made. */
int pgs_enter(store *s, struct pgs_conn **out);

/* Runs statement q, prepared on c at first use under the name of its slot,
 * with a's parameters. binary: results in binary format (else text). On
 * PV_OK *res holds the result (the caller PQclear()s it); else *res is NULL
 * and the error is mapped by pgs_error. */
int pgs_exec(struct pgs_conn *c, int slot, const struct pgs_query *q,
	     const struct pgs_args *a, int binary, PGresult **res);

/* pgs_exec for a write whose caller needs nothing of its result but
 * success, and whose every failure is an error the server raises (a
 * constraint, not a count of rows), so that it aborts the transaction.
 * Outside a transaction it runs at once. Inside one it is kept (a's values
 * copied): tx_commit sends it with the COMMIT, in one round trip, and
 * answers its error; any other store call of the transaction first sends
 * it on its own (no round trip saved), and answers PV_EBUSY or PV_ESTORE
 * when it failed. Its failure ends the transaction. A rollback drops it
 * unsent. So it suits a transaction's last write. */
int pgs_exec_later(struct pgs_conn *c, int slot, const struct pgs_query *q,
		   const struct pgs_args *a);

/* Runs a statement without parameters with the simple protocol (BEGIN,
 * COMMIT...); PV_OK or the mapped error. */
int pgs_simple(struct pgs_conn *c, const char *sql, const char *op);

/* Ends what is left of a transaction on c (committed, failed or lost):
 * rolls back quietly when the server still holds one open, and forgets
 * in_tx and tx_lost. */
void pgs_abandon(struct pgs_conn *c);

/* Maps a failed result (res may be NULL: nothing came back) to a pv_err,
 * in one place: 23505 unique -> PV_ECONFLICT, 23503 foreign key ->
 * PV_ENOTFOUND, 40001 / 40P01 / 55P03 / a lost connection -> PV_EBUSY,
 * 57014 (statement_timeout) -> PV_ESTORE, class 22 (bad data) -> PV_EINVAL,
 * anything else -> PV_ESTORE with an error log line naming op, the
 * SQLSTATE and the server's primary message (never a parameter value, nor
 * the detail, which may quote one). Marks the caller's transaction lost
 * when the server aborted it, and the connection lost when it failed. */
int pgs_error(struct pgs_conn *c, const PGresult *res, const char *op);

/* store_ops entries implemented in pg_conn.c */
void pgs_close(store *s);
int pgs_migrate(store *s);
int pgs_ping(store *s);
int pgs_backup(store *s, const char *path); /* PV_EINVAL: use pg_dump */
int pgs_tx_begin(store *s);
int pgs_tx_commit(store *s);
int pgs_tx_rollback(store *s);

/* pg_blob.c */
int pgs_blob_put(store *s, const char *id, const char *path);
int pgs_blob_get(store *s, const char *id, const char *path);
int pgs_blob_delete(store *s, const char *id);

/* Parameter helpers (pg_conn.c). */
void pgs_p_text(struct pgs_args *a, const char *s, size_t cap);
void pgs_p_text_null(struct pgs_args *a, const char *s, size_t cap);
/* s as text, or SQL NULL when s is NULL ("" stays an empty text). */
void pgs_p_opt(struct pgs_args *a, const char *s, size_t cap);
void pgs_p_text_fit(struct pgs_args *a, const char *s, size_t cap);
void pgs_p_int(struct pgs_args *a, int64_t v);
void pgs_p_bytea(struct pgs_args *a, const void *p, size_t n);

#endif
