/* job: the bulk-upload engine, used by the server's upload workers and by
 * `pravesh import` alike (docs/bulk-upload.md).
 *
 * A job reads its file twice. The scan (pass 1) checks that the whole file
 * is readable, finds the header, counts the data rows and records, for
 * every valid e-mail and mobile number, the first row that holds it (sorted
 * arrays of exact mobiles and 64-bit e-mail hashes with their row numbers,
 * never the strings). Pass 2 validates each row, inserts the valid ones and writes,
 * per chunk of rows and in ONE store transaction, the users, the rows'
 * failures, the welcome SMS and e-mail of each new user (outbox) and the
 * upload's counts and cursor (the last row number committed). The cursor
 * write checks the worker's lease, so a worker that lost its lease writes
 * nothing more. A resumed job scans again (so the in-file duplicate set is
 * whole) and skips the rows up to the cursor: it reports exactly what an
 * uninterrupted run reports, and creates no user twice.
 *
 * A file that cannot be read, has no header, lacks a required column or
 * has no data row fails as a whole before anything is written.
 *
 * Every function returns PV_OK or a negative pv_err (util/err.h). */
#ifndef PV_IMPORT_JOB_H
#define PV_IMPORT_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "import/reader.h"
#include "store/store.h"

#define JOB_CHUNK_ROWS 5000
#define JOB_LEASE_MS 15000

/* Phases reported to job_env.progress. */
enum job_phase { JOB_SCANNING = 1, JOB_WRITING = 2 };

typedef struct job_env {
	store *st;                    /* required */
	const char *worker;           /* lease holder id, required */
	const char *official_domains; /* "gov.in,nic.in" */
	const char *login_url;        /* {{login_url}} of the welcome texts */
	const char *lang;             /* language of the welcome texts: "en" */
	const imp_limits *lim;        /* NULL: the reader's defaults; without a
				       * tmp_dir, the reader's temporary files go
				       * beside the stored file */
	int64_t chunk_rows;           /* 0: JOB_CHUNK_ROWS */
	int64_t lease_ms;             /* 0: JOB_LEASE_MS */
	const atomic_int *stop;       /* non-zero: stop between chunks; may be NULL */
	/* folder where the uploaded file is copied from the store to be read
	 * (a file per run, deleted at its end); NULL: $TMPDIR or /tmp */
	const char *tmp_dir;
	/* Called after the scan and after every committed chunk (done = data
	 * rows seen so far, total = data rows of the file); may be NULL. */
	void (*progress)(void *ctx, int phase, int64_t done, int64_t total);
	void *progress_ctx;
} job_env;

/* Runs the upload u, which the caller has claimed (IN_PROGRESS, leased to
 * env->worker), from its cursor to the end, updating *u as it goes.
 * Returns
 *   PV_OK        finished: u->status is SUCCESSFUL or FAILED, in the store too;
 *   PV_ESTOPPED  stopped by env->stop between chunks, handed back QUEUED;
 *   PV_ECONFLICT the lease was lost to another worker: nothing more written;
 *   another pv_err the store failed; what was committed stays, the upload
 *                is left leased (the caller hands it back or lets the
 *                lease expire). */
int job_run(const job_env *env, store_upload *u);

/* Writes the result file of a finished upload to out_path: the uploaded
 * rows in the uploaded format with Status and Error Details (the input's
 * own Status / Error Details columns are dropped, rows are cut or padded to
 * the header's width). PV_EINVAL when the upload has no result (it failed
 * as a whole: unreadable, no header, missing column), PV_EFORMAT when the
 * stored file cannot be read any more, else PV_OK or the error. lim as in
 * job_env.lim. The uploaded file is fetched from the store next to
 * out_path while it runs. */
int job_result(store *st, const store_upload *u, const imp_limits *lim,
	       const char *out_path);

/* The uploaded bytes of u as a local file, so that any process sharing the
 * store can read any upload: its blob (stored_path "blob:<blob id>", see
 * store.h) copied into a new file in dir, or, for an upload recorded before
 * uploads were kept in the store, the file at stored_path itself. path
 * (cap bytes) gets the file's name; *temp is set to 1 when it is a copy the
 * caller deletes. PV_EFORMAT when the bytes are no longer stored. */
int job_fetch(store *st, const store_upload *u, const char *dir, char *path,
	      size_t cap, int *temp);

/* The blob ids of an upload's file and of its result file (out: at least
 * STORE_ID_MAX bytes). */
void job_result_blob(const store_upload *u, char *out, size_t cap);
#define JOB_BLOB_PREFIX "blob:"

/* Data rows committed by jobs of this process since it started, for
 * metrics. */
uint64_t job_rows_processed(void);

/* The safe base name of an uploaded file name: the part after the last
 * '/' or '\\', every byte other than A-Z a-z 0-9 . _ - replaced by '_',
 * leading dots dropped, at most 120 bytes (the extension kept), "upload"
 * when nothing is left. out has cap bytes (at least 8). */
void job_safe_name(const char *name, char *out, size_t cap);

/* The name an uploaded file is shown by (original_name): its base name as
 * given, without control characters, cut to cap bytes at a character
 * boundary; its safe name when it is not UTF-8. */
void job_display_name(const char *name, char *out, size_t cap);

/* A file to record as an upload (intake.c). */
typedef struct job_intake {
	const char *path;          /* where the file is now */
	int move;                  /* 1: delete it once stored (a temporary file) */
	const char *original_name; /* as the uploader named it */
	const char *org_id, *format; /* format "csv" or "xlsx" */
	const char *uploader_id;   /* NULL or "": the command line */
	const char *ip;            /* for the audit row; may be NULL */
	const char *claimed_by;    /* NULL: QUEUED; else IN_PROGRESS, leased to it */
	uint64_t bytes;
	int64_t now;
} job_intake_in;

/* Copies the file into the store as a blob named by the upload's id (so
 * that every process sharing the store can run and serve it), then records
 * the upload, named "<ms>_<safe name>", and its audit row ("upload") in one
 * transaction; *u gets the upload. On failure nothing stays: PV_ENOTFOUND
 * for an unknown organisation, PV_EIO when the file cannot be read, or a
 * store error. */
int job_intake(store *st, const job_intake_in *in, store_upload *u);

/* Retention: deletes the uploaded file of u and its result file from the
 * store (their blobs; for an upload recorded before uploads were kept in
 * the store, the files at stored_path and beside it), then records that
 * they are gone (store_upload_files_removed). Files already gone are fine.
 * Not inside a transaction. ctx is unused (the sweeper's callback shape).
 * PV_OK, PV_EIO when a file could not be deleted (the upload stays listed:
 * tried again later), or a store error. */
int job_files_remove(void *ctx, store *st, const store_upload *u, int64_t now);

/* The row-level messages of bulk-upload.md, in the order a row reports
 * them. Exposed for tests and docs. */
extern const char *const job_messages[];

/* ---- upload workers (worker.c) ---- */

typedef struct job_workers job_workers;

/* Starts n threads (1..16) that claim uploads from env->st and run them.
 * env is copied (its strings and store are borrowed: they must outlive
 * job_workers_stop); env->worker and env->stop are set per thread. *out is
 * released by job_workers_stop(). One set per process (PV_EBUSY else). */
int job_workers_start(const job_env *env, int n, job_workers **out);

/* What a worker does once: claims the oldest claimable upload as
 * env->worker and runs it (job_run). A run the store failed is handed back
 * QUEUED, to resume from its cursor; a run the full disk stopped is marked
 * FAILED with JOB_MSG_DISK_FULL (that write tried again for half the lease
 * while the disk stays full; the worker's thread waits meanwhile). Returns job_run's answer, or the claim's
 * (PV_ENOTFOUND: nothing to do); *claimed says which. */
int job_work_once(const job_env *env, int *claimed);
#define JOB_MSG_DISK_FULL "The server's disk is full; upload the file again later"

/* Wakes an idle worker to look at the queue now (after an upload has been
 * committed). Safe from any thread; a no-op when no workers run. */
void job_kick(void);

/* Asks the workers to stop at their next chunk and returns at once (the
 * server does it at the stop signal, while HTTP requests drain). Accepts
 * NULL. */
void job_workers_ask_stop(job_workers *w);

/* Asks the workers to stop between chunks (a running upload is handed back
 * QUEUED and resumes at the next start), joins them, frees w. Accepts NULL. */
void job_workers_stop(job_workers *w);

#endif
