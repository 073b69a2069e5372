/* pravesh: the command line. One dispatch table for every command; the
 * settings table lives in config.c. */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <curl/curl.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "core/accounts.h"
#include "core/admin_login.h"
#include "core/directory.h"
#include "core/keys.h"
#include "core/legal.h"
#include "core/otp.h"
#include "core/person.h"
#include "core/registration.h"
#include "core/requests.h"
#include "core/sessions.h"
#include "core/sweeper.h"
#include "sso/sso.h"
#include "http/http.h"
#include "import/dirload.h"
#include "import/job.h"
#include "notify/notify.h"
#include "http/metrics.h"
#include "http/pages.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"


#define PRAVESH_VERSION "0.1.0"
#define MAIN_MAX_POS 32

struct main_cmd {
	const char *name, *sub; /* "orgs", "load" */
	int (*fn)(pv_config *cfg, const char **pos, size_t npos);
	const char *usage, *help;
	const char *options; /* the command's own options, one a line; NULL: none */
};

static int main_usage(void);
static const char *main_flag(const char **pos, size_t npos, const char *name);

/* Creates the data directory (mode 0700) if missing. */
static int main_data_dir(const pv_config *cfg)
{
	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "pravesh: cannot create %s: %s\n", cfg->data_dir,
			strerror(errno));
		return PV_EIO;
	}
	return PV_OK;
}

/* Warns when the data folder, or anything in it, can be read by others
 * (made by an older version, or by hand): it holds the store, the server
 * key and people's files. */
static void main_check_private(const char *dir)
{
	struct stat sb;
	struct dirent *e;
	DIR *d;
	int shown = 0;

	if (stat(dir, &sb) == 0 && (sb.st_mode & 077))
		log_kv(LOG_WARN, "the data folder can be read by other users: chmod 700 it", "path", dir,
		       NULL);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)) != NULL && shown < 5) {
		char p[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (stat(p, &sb) == 0 && (sb.st_mode & 077)) {
			log_kv(LOG_WARN, "a file of the data folder can be read by other users: chmod go= it",
			       "path", p, NULL);
			shown++;
		}
	}
	closedir(d);
}

/* Opens and migrates the store; prints the reason on failure. */
static int main_store(const pv_config *cfg, store **st)
{
	int rc = main_data_dir(cfg);

	if (rc)
		return rc;
	if ((rc = store_open_with(cfg->db,
				  &(store_options){cfg->pg_statement_timeout_ms,
						   cfg->pg_lock_timeout_ms, cfg->sqlite_sync},
				  st)) != PV_OK) {
		/* the URL may hold a password: not printed */
		fprintf(stderr, "pravesh: cannot open the store: %s\n", pv_strerror(rc));
		return rc;
	}
	if ((rc = store_migrate(*st)) != PV_OK) {
		fprintf(stderr, "pravesh: cannot migrate the store: %s\n", pv_strerror(rc));
		store_close(*st);
		*st = NULL;
	}
	return rc;
}

/* backup FILE: a consistent copy of the store while the server runs. */
static int cmd_backup(pv_config *cfg, const char **pos, size_t npos)
{
	store *st = NULL;
	struct stat sb;
	int rc;

	if (npos != 1)
		return main_usage();
	/* opened as it is: a backup migrates nothing */
	if ((rc = store_open_with(cfg->db,
				  &(store_options){cfg->pg_statement_timeout_ms,
						   cfg->pg_lock_timeout_ms, cfg->sqlite_sync},
				  &st)) != PV_OK) {
		/* the URL may hold a password: not printed */
		fprintf(stderr, "pravesh: cannot open the store: %s\n", pv_strerror(rc));
		return 1;
	}
	rc = store_backup(st, pos[0]);
	store_close(st);
	if (rc == PV_EINVAL) {
		fprintf(stderr, "pravesh: this store is backed up with its own tools "
				"(PostgreSQL: pg_dump; see docs/operations.md)\n");
		return 2;
	}
	if (rc == PV_ECONFLICT) {
		fprintf(stderr, "pravesh: %s is the store itself: name a new file\n", pos[0]);
		return 1;
	}
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: backup not written: %s\n", pv_strerror(rc));
		return 1;
	}
	printf("backup written: %s (%lld bytes), its blobs in %s.blobs/; keep server.key with them\n",
	       pos[0], stat(pos[0], &sb) == 0 ? (long long)sb.st_size : 0LL, pos[0]);
	return 0;
}

static int cmd_migrate(pv_config *cfg, const char **pos, size_t npos)
{
	store *st = NULL;
	int rc;

	(void)pos;
	if (npos)
		return main_usage();
	rc = main_store(cfg, &st);
	if (rc == PV_OK)
		printf("store is up to date (%s)\n", store_backend_name(st));
	store_close(st);
	return rc ? 1 : 0;
}

static int cmd_load(pv_config *cfg, const char **pos, size_t npos, int orgs)
{
	store *st = NULL;
	dirload_result res;
	int rc;

	if (npos != 1)
		return main_usage();
	if (main_store(cfg, &st) != PV_OK)
		return 1;
	rc = orgs ? dirload_orgs(st, pos[0], util_now_ms(), &res, stderr)
		  : dirload_positions(st, pos[0], util_now_ms(), &res, stderr);
	store_close(st);
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: %s not loaded: nothing was written\n", pos[0]);
		return rc == PV_EINVAL || rc == PV_EFORMAT || rc == PV_EIO ? 2 : 1;
	}
	printf("%s: %ld added, %ld updated, %ld unchanged\n", pos[0], res.inserted,
	       res.updated, res.unchanged);
	return 0;
}

/* pravesh orgs search TEXT [--sector center|state] [--limit N]: the
 * organisations whose name has words starting with TEXT's words, as the
 * registration page finds them: id, name and where it is. */
static int cmd_orgs_search(pv_config *cfg, const char **pos, size_t npos)
{
	const char *q = NULL, *sector = main_flag(pos, npos, "--sector"),
		   *lim = main_flag(pos, npos, "--limit");
	const dir_org *found[100];
	store *st = NULL;
	directory *d = NULL;
	dir_snap *sn = NULL;
	size_t n = 0, limit = 20;
	char *end;
	int rc, code = 1;

	for (size_t i = 0; i < npos; i++) {
		if (strcmp(pos[i], "--sector") == 0 || strcmp(pos[i], "--limit") == 0)
			i++;
		else if (pos[i][0] != '-' && !q)
			q = pos[i];
		else if (pos[i][0] != '-' || (strncmp(pos[i], "--sector=", 9) && strncmp(pos[i], "--limit=", 8)))
			return main_usage();
	}
	if (lim) {
		unsigned long v = strtoul(lim, &end, 10);

		if (*end || v < 1 || v > 100) {
			fprintf(stderr, "pravesh: --limit %s: a number from 1 to 100\n", lim);
			return 2;
		}
		limit = v;
	}
	if (!q || (sector && strcmp(sector, "center") && strcmp(sector, "state"))) {
		fprintf(stderr, "usage: pravesh orgs search TEXT [--sector center|state] [--limit N]\n");
		return 2;
	}
	if (main_store(cfg, &st) != PV_OK)
		return 1;
	if ((rc = dir_open(st, &d)) != PV_OK || !(sn = dir_acquire(d))) {
		fprintf(stderr, "pravesh: cannot read the directory of %s: %s\n", cfg->db, pv_strerror(rc));
		goto out;
	}
	rc = dir_search_orgs(sn, q, strlen(q), sector, limit, found, &n);
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: cannot search for '%s': %s\n", q,
			rc == PV_EINVAL ? "too long or too many words" : pv_strerror(rc));
		code = 2;
		goto out;
	}
	if (n == 0)
		fprintf(stderr, "pravesh: no active organisation matches '%s'\n", q);
	for (size_t i = 0; i < n; i++) {
		const dir_org *path[DIR_MAX_DEPTH];
		size_t depth = dir_org_path(sn, found[i], path, DIR_MAX_DEPTH);

		printf("%s\t%s", found[i]->id, found[i]->name);
		for (size_t j = 0; j < depth; j++)
			printf("%s%s", j ? " > " : "\tunder ", path[j]->name);
		printf("\n");
	}
	code = n ? 0 : 1;
out:
	if (sn)
		dir_release(d, sn);
	dir_close(d);
	store_close(st);
	return code;
}

static int cmd_orgs_load(pv_config *cfg, const char **pos, size_t npos)
{
	return cmd_load(cfg, pos, npos, 1);
}

static int cmd_positions_load(pv_config *cfg, const char **pos, size_t npos)
{
	return cmd_load(cfg, pos, npos, 0);
}

/* The value after flag name in a command's arguments ("--org ID" or
 * "--org=ID"), or NULL. */
static const char *main_flag(const char **pos, size_t npos, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < npos; i++) {
		if (strcmp(pos[i], name) == 0 && i + 1 < npos)
			return pos[i + 1];
		if (strncmp(pos[i], name, n) == 0 && pos[i][n] == '=')
			return pos[i] + n + 1;
	}
	return NULL;
}

/* Reads a password from the terminal without echo, or a line from
 * standard input when it is not a terminal. */
static int main_read_password(char *out, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	size_t n;

	if (tty) {
		fprintf(stderr, "Password (at least 12 characters): ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	if (!fgets(out, (int)cap, stdin))
		out[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return n ? PV_OK : PV_EINVAL;
}

static void main_print_field_errors(const field_errs *fe)
{
	for (size_t i = 0; i < fe->n; i++)
		fprintf(stderr, "  %s: %s\n", fe->e[i].field, fe->e[i].message);
}

static void main_acct_policy(const pv_config *cfg, acct_policy *p)
{
	acct_policy_default(p);
	p->official_domains = cfg->official_domains;
	p->ip_fails = cfg->password_fail_per_ip_hour;
	p->user_fails = cfg->password_fail_lock;
}

static int cmd_admin_create(pv_config *cfg, const char **pos, size_t npos)
{
	store *st = NULL;
	acct_admin a;
	acct_policy pol;
	field_errs fe;
	store_user u;
	char pw[ACCT_PASSWORD_MAX + 2];
	int rc;

	memset(&a, 0, sizeof a);
	a.role = main_flag(pos, npos, "--role");
	a.username = main_flag(pos, npos, "--username");
	a.org_id = main_flag(pos, npos, "--org");
	a.first_name = main_flag(pos, npos, "--first-name");
	a.last_name = main_flag(pos, npos, "--last-name");
	a.email = main_flag(pos, npos, "--email");
	a.mobile = main_flag(pos, npos, "--mobile");
	if (!a.role || !a.username || !a.first_name || !a.last_name || !a.email || !a.mobile) {
		fprintf(stderr, "usage: pravesh admin create --role spv|mdo --username U [--org ID] "
				"--first-name F --last-name L --email E --mobile M\n");
		return 2;
	}
	if (!a.org_id && strcmp(a.role, "mdo") == 0) {
		fprintf(stderr, "pravesh: an MDO administrator needs --org ID (the organisation they "
				"administer; find its id with `pravesh orgs search TEXT`)\n");
		return 2;
	}
	if (!a.org_id)
		a.org_id = cfg->bootstrap_org;
	if (main_read_password(pw, sizeof pw) != PV_OK) {
		fprintf(stderr, "pravesh: no password given\n");
		return 2;
	}
	a.password = pw;
	if (main_store(cfg, &st) != PV_OK)
		return 1;
	main_acct_policy(cfg, &pol);
	rc = acct_admin_create(st, &pol, &a, util_now_ms(), &fe, &u);
	sodium_memzero(pw, sizeof pw);
	store_close(st);
	if (rc == PV_EINVAL || rc == PV_ECONFLICT) {
		fprintf(stderr, "pravesh: administrator %s (organisation %s) not created:\n", a.username,
			a.org_id);
		main_print_field_errors(&fe);
		return 2;
	}
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: administrator %s not created: %s\n", a.username, pv_strerror(rc));
		return 1;
	}
	printf("created %s administrator %s (user %s)\n", a.role, a.username, u.id);
	return 0;
}

/* account close USER_ID: closes an account as its owner would (its data
 * is erased after the grace period by a running server's sweeper). */
static int cmd_account_close(pv_config *cfg, const char **pos, size_t npos)
{
	store *st = NULL;
	keys k;
	otp_svc otp;
	person_svc ps;
	int64_t after = 0;
	char when[32];
	int rc;

	if (npos != 1)
		return main_usage();
	if (main_store(cfg, &st) != PV_OK)
		return 1;
	memset(&otp, 0, sizeof otp);
	memset(&ps, 0, sizeof ps);
	if (keys_load(cfg->data_dir, cfg->secret_key, &k) != PV_OK) {
		fprintf(stderr, "pravesh: cannot load the server key\n");
		store_close(st);
		return 1;
	}
	otp.st = st;
	otp.k = &k;
	ps.st = st;
	ps.otp = &otp;
	ps.grace_ms = (int64_t)cfg->erasure_grace_days * 86400 * 1000;
	rc = person_close_id(&ps, pos[0], util_now_ms(), &after);
	store_close(st);
	sodium_memzero(&k, sizeof k);
	if (rc == PV_ENOTFOUND || rc == PV_ECONFLICT) {
		fprintf(stderr, "pravesh: %s: %s\n", pos[0],
			rc == PV_ENOTFOUND ? "no such user" : "already closed or erased");
		return 2;
	}
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", pv_strerror(rc));
		return 1;
	}
	util_rfc3339(after, when);
	printf("closed %s; its data is erased from %s on\n", pos[0], when);
	return 0;
}

/* serve --bootstrap-admin U: when U does not exist, create it as SPV
 * administrator with a generated password, printed once. */
static int main_bootstrap(app *a)
{
	const pv_config *cfg = a->cfg;
	acct_admin ad;
	field_errs fe;
	char pw[24];
	int rc;

	if (!cfg->bootstrap_admin || !*cfg->bootstrap_admin ||
	    acct_username_exists(a->st, cfg->bootstrap_admin))
		return PV_OK;
	memset(&ad, 0, sizeof ad);
	util_random_b64url(15, pw, sizeof pw);
	ad.role = "spv";
	ad.username = cfg->bootstrap_admin;
	ad.password = pw;
	ad.org_id = cfg->bootstrap_org;
	ad.first_name = "SPV";
	ad.last_name = "Administrator";
	ad.email = "spv-admin@localhost.localdomain";
	ad.mobile = "6000000000";
	rc = acct_admin_create(a->st, a->acct, &ad, util_now_ms(), &fe, NULL);
	if (rc != PV_OK) {
		main_print_field_errors(&fe);
		fprintf(stderr, "pravesh: cannot create the bootstrap administrator: %s\n",
			pv_strerror(rc));
		sodium_memzero(pw, sizeof pw);
		return rc;
	}
	printf("\nBootstrap SPV administrator created. Log in at %s/admin-login with\n"
	       "  username: %s\n  password: %s\n"
	       "then the 6-digit code sent by SMS to its mobile %s (with the default\n"
	       "PRAVESH_SMS=log the SMS is printed on standard error).\n"
	       "This password is shown once; keep it somewhere safe.\n\n",
	       a->public_url, cfg->bootstrap_admin, pw, ad.mobile);
	fflush(stdout);
	sodium_memzero(pw, sizeof pw);
	return PV_OK;
}

static void main_outbox_metrics(void *ctx, buf *out)
{
	app *a = ctx;
	int64_t queued = 0, failed = 0;

	if (store_outbox_stats(a->st, &queued, &failed) != PV_OK)
		return;
	buf_addf(out, "# HELP pravesh_outbox_depth Messages waiting in the outbox.\n"
		      "# TYPE pravesh_outbox_depth gauge\npravesh_outbox_depth %lld\n"
		      "# HELP pravesh_outbox_failed Messages given up after every retry.\n"
		      "# TYPE pravesh_outbox_failed gauge\npravesh_outbox_failed %lld\n",
		 (long long)queued, (long long)failed);
}

static void main_notify_metrics(void *ctx, buf *out)
{
	notify_counters c;
	static const char *const ch[2] = {"sms", "email"};

	notify_counters_get(ctx, &c);
	buf_adds(out, "# HELP pravesh_messages_total Messages by channel and outcome.\n"
		      "# TYPE pravesh_messages_total counter\n");
	for (int i = 0; i < 2; i++)
		buf_addf(out, "pravesh_messages_total{channel=\"%s\",outcome=\"sent\"} %llu\n"
			      "pravesh_messages_total{channel=\"%s\",outcome=\"retried\"} %llu\n"
			      "pravesh_messages_total{channel=\"%s\",outcome=\"failed\"} %llu\n",
			 ch[i], (unsigned long long)c.sent[i], ch[i],
			 (unsigned long long)c.retried[i], ch[i], (unsigned long long)c.failed[i]);
}

static void main_otp_metrics(void *ctx, buf *out)
{
	otp_counters c;

	(void)ctx;
	otp_counters_get(&c);
	buf_addf(out, "# HELP pravesh_otp_total One-time passwords by outcome.\n"
		      "# TYPE pravesh_otp_total counter\n"
		      "pravesh_otp_total{outcome=\"sent\"} %llu\n"
		      "pravesh_otp_total{outcome=\"verified\"} %llu\n"
		      "pravesh_otp_total{outcome=\"failed\"} %llu\n"
		      "pravesh_otp_total{outcome=\"rate_limited\"} %llu\n",
		 (unsigned long long)c.sent, (unsigned long long)c.verified,
		 (unsigned long long)c.failed, (unsigned long long)c.rate_limited);
}

/* The process's memory, so that a growing server tells what grows:
 * resident bytes (the kernel's figure); glibc's heap, in use by the program
 * (SQLite's part included) and free but held (M_TRIM_THRESHOLD, below);
 * SQLite's own figures (used, most ever used, soft limit). Resident
 * memory that follows malloc's in-use figure while SQLite's stays under
 * its limit is a leak; resident memory over a flat in-use figure is memory
 * glibc holds for reuse. A build with a sanitizer (whose allocator replaces
 * glibc's) reports both heap figures as 0. */
/* The process's resident bytes (0 when /proc cannot tell) and glibc's
 * heap: in use, and free but held. */
static void main_memory_now(int64_t *resident, uint64_t *in_use, uint64_t *held)
{
	long pages = 0, res = 0;
	struct mallinfo2 mi;
	FILE *f;

	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	*resident = (int64_t)res * sysconf(_SC_PAGESIZE);
	mi = mallinfo2();
	*in_use = mi.uordblks + mi.hblkhd;
	*held = mi.fordblks;
}

static void main_memory_metrics(void *ctx, buf *out)
{
	int64_t resident, used, high, limit;
	uint64_t in_use, held;

	(void)ctx;
	main_memory_now(&resident, &in_use, &held);
	store_engine_memory(&used, &high, &limit);
	buf_addf(out, "# HELP pravesh_process_resident_bytes Resident memory of the process.\n"
		      "# TYPE pravesh_process_resident_bytes gauge\n"
		      "pravesh_process_resident_bytes %lld\n"
		      "# HELP pravesh_malloc_bytes The C heap: in use by the program, or free and held for reuse.\n"
		      "# TYPE pravesh_malloc_bytes gauge\n"
		      "pravesh_malloc_bytes{state=\"in_use\"} %llu\n"
		      "pravesh_malloc_bytes{state=\"free_held\"} %llu\n"
		      "# HELP pravesh_sqlite_memory_bytes SQLite's memory in the process (all connections).\n"
		      "# TYPE pravesh_sqlite_memory_bytes gauge\n"
		      "pravesh_sqlite_memory_bytes{kind=\"used\"} %lld\n"
		      "pravesh_sqlite_memory_bytes{kind=\"highwater\"} %lld\n"
		      "pravesh_sqlite_memory_bytes{kind=\"soft_limit\"} %lld\n",
		 (long long)resident, (unsigned long long)in_use,
		 (unsigned long long)held, (long long)used, (long long)high,
		 (long long)limit);
}

/* Resident memory past what the heap holds in use by more than this is
 * given back (main_trim_heap). */
#define MAIN_HELD_MAX (INT64_C(32) << 20)
#define MAIN_TRIM_EVERY 60 /* seconds */

/* Once a minute, from the main thread's wait: freed memory glibc keeps
 * (M_TRIM_THRESHOLD, main_tune_malloc) given back to the kernel when
 * the process is resident by more than MAIN_HELD_MAX beyond what its heap
 * holds in use, so that what a burst once used (an upload's buffers) is
 * not held for ever, up to 64 MiB per heap. One malloc_trim a minute costs
 * nothing a request would see; one per free() was a tenth of a login. */
static void main_trim_heap(void)
{
	int64_t resident;
	uint64_t in_use, held;

	main_memory_now(&resident, &in_use, &held);
	(void)held;
	if (resident - (int64_t)in_use > MAIN_HELD_MAX)
		malloc_trim(0);
}

/* Waits for SIGINT or SIGTERM (blocked in every thread: taken here only),
 * trimming the heap every MAIN_TRIM_EVERY seconds meanwhile. */
static void main_wait_stop(const sigset_t *stopsigs)
{
	for (;;) {
		struct timespec every = {MAIN_TRIM_EVERY, 0};
		int sig = sigtimedwait(stopsigs, NULL, &every);

		if (sig == SIGINT || sig == SIGTERM)
			return;
		if (sig < 0 && errno == EAGAIN)
			main_trim_heap();
	}
}

static void main_upload_metrics(void *ctx, buf *out)
{
	app *a = ctx;
	int64_t q = 0, ip = 0, ok = 0, fl = 0;

	buf_addf(out, "# HELP pravesh_upload_rows_total Bulk upload rows processed by this process.\n"
		      "# TYPE pravesh_upload_rows_total counter\npravesh_upload_rows_total %llu\n",
		 (unsigned long long)job_rows_processed());
	if (store_upload_status_counts(a->st, &q, &ip, &ok, &fl) != PV_OK)
		return;
	buf_addf(out, "# HELP pravesh_uploads Bulk uploads by status.\n# TYPE pravesh_uploads gauge\n"
		      "pravesh_uploads{status=\"QUEUED\"} %lld\npravesh_uploads{status=\"IN_PROGRESS\"} %lld\n"
		      "pravesh_uploads{status=\"SUCCESSFUL\"} %lld\npravesh_uploads{status=\"FAILED\"} %lld\n",
		 (long long)q, (long long)ip, (long long)ok, (long long)fl);
}

static int cmd_version(pv_config *cfg, const char **pos, size_t npos)
{
	(void)cfg;
	(void)pos;
	(void)npos;
	printf("pravesh %s\n", PRAVESH_VERSION);
	printf("libmicrohttpd %s, %s, jansson %s, libsodium %s, %s, libzip %s, libxlsxwriter %s\n",
	       MHD_get_version(), store_versions(), JANSSON_VERSION,
	       sodium_version_string(), curl_version(), zip_libzip_version(),
	       LXW_VERSION);
	return 0;
}

/* The outbox seals message parameters with a key derived from the server
 * key (notify.h). */
void main_outbox_key(const keys *k)
{
	unsigned char ok[32];

	keys_derive(k, "outbox", ok);
	notify_set_key(ok);
	sodium_memzero(ok, sizeof ok);
}

/* The rules' services of a server, wired to its store and settings. */
struct main_svcs {
	keys key;
	otp_svc otp;
	sess_svc sess;
	acct_policy acct;
	reg_svc reg;
	rq_svc rq;
	adm_svc adm;
	person_svc person;
	char login_url[600];
};

/* Fills sv from the settings (sv->key loaded, a->st and a->dir open) and
 * points a at it. a->public_url is read by the rules later, when it is
 * set. */
static void main_services(const pv_config *cfg, app *a, struct main_svcs *sv)
{
	sv->otp.st = a->st;
	sv->otp.k = &sv->key;
	otp_policy_default(&sv->otp.pol);
	sv->otp.pol.ttl_s = cfg->otp_ttl;
	sv->otp.pol.resend_s = cfg->otp_resend;
	sv->otp.pol.max_tries = cfg->otp_max_tries;
	sv->otp.pol.per_hour = cfg->otp_per_hour;
	sv->otp.pol.per_day = cfg->otp_per_day;
	sv->otp.pol.per_ip_hour = cfg->otp_per_ip_hour;
	sv->otp.pol.number_per_hour = cfg->otp_number_per_hour;
	sv->otp.pol.number_per_day = cfg->otp_number_per_day;
	sv->otp.pol.fail_per_ip_hour = cfg->login_fail_per_ip_hour;
	sv->otp.login_url = sv->login_url; /* filled in with the public URL */
	sv->otp.pol.fail_lock = cfg->login_fail_lock;
	sv->otp.pol.fail_lock_s = cfg->login_fail_lock_secs;
	sv->sess.st = a->st;
	sv->sess.k = &sv->key;
	sv->sess.idle_s = cfg->session_idle;
	sv->sess.absolute_s = cfg->session_absolute;
	main_acct_policy(cfg, &sv->acct);
	sv->acct.key = &sv->key;
	sv->reg.st = a->st;
	sv->reg.dir = a->dir;
	sv->reg.otp = &sv->otp;
	sv->reg.official_domains = cfg->official_domains;
	sv->reg.public_url = a->public_url;
	sv->reg.activation_ttl_s = cfg->activation_ttl;
	sv->reg.resend_per_hour = cfg->activation_resend_per_hour;
	sv->rq.st = a->st;
	sv->rq.dir = a->dir;
	sv->rq.otp = &sv->otp;
	a->otp = &sv->otp;
	a->sess = &sv->sess;
	a->acct = &sv->acct;
	a->reg = &sv->reg;
	sv->adm.st = a->st;
	sv->adm.k = &sv->key;
	sv->adm.acct = &sv->acct;
	sv->adm.otp = &sv->otp;
	sv->adm.sess = &sv->sess;
	sv->adm.second_factor = strcmp(cfg->admin_second_factor, "off") != 0;
	a->rq = &sv->rq;
	a->adm = &sv->adm;
	sv->person.st = a->st;
	sv->person.dir = a->dir;
	sv->person.otp = &sv->otp;
	sv->person.official_domains = cfg->official_domains;
	sv->person.public_url = a->public_url;
	sv->person.email_ttl_s = 86400;
	sv->person.email_per_day = cfg->email_change_per_day;
	sv->person.grace_ms = (int64_t)cfg->erasure_grace_days * 86400 * 1000;
	a->person = &sv->person;
}

#define MAIN_DAY_MS (86400 * 1000LL)

/* A contact as the texts' link syntax: <https://...> or <mailto:...>, or
 * `unset` when there is none. */
static void main_contact(const char *v, const char *unset, char *out, size_t cap)
{
	if (!v || !*v)
		snprintf(out, cap, "%s", unset);
	else if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
		snprintf(out, cap, "<%s>", v);
	else
		snprintf(out, cap, "<mailto:%s>", v);
}

/* The terms and the privacy notice, rendered with the settings they cite. */
static int main_texts(const pv_config *cfg, app *a, legal **out, char *err, size_t errlen)
{
	char v[8][24], grievance[600], help[600];
	legal_var vars[] = {
		{"grievance_contact", grievance},
		{"help_contact", help},
		{"erasure_grace_days", v[0]},
		{"upload_retention_days", v[1]},
		{"message_retention_days", v[2]},
		{"audit_retention_days", v[3]},
		{"session_hours", v[4]},
		{"code_minutes", v[5]},
		{"email_link_hours", v[6]},
	};

	snprintf(v[0], sizeof v[0], "%d", cfg->erasure_grace_days);
	snprintf(v[1], sizeof v[1], "%d", cfg->upload_retention_days);
	snprintf(v[2], sizeof v[2], "%d", cfg->message_retention_days);
	snprintf(v[3], sizeof v[3], "%d", cfg->audit_retention_days);
	snprintf(v[4], sizeof v[4], "%d", (cfg->session_absolute + 3599) / 3600);
	snprintf(v[5], sizeof v[5], "%d", (cfg->otp_ttl + 59) / 60);
	snprintf(v[6], sizeof v[6], "%d", 24);
	main_contact(cfg->grievance_email, "(PRAVESH_GRIEVANCE_EMAIL is not set)", grievance,
		     sizeof grievance);
	main_contact(a->help_contact, "(PRAVESH_HELP_URL or PRAVESH_HELP_EMAIL is not set)", help,
		     sizeof help);
	if (!cfg->grievance_email || !*cfg->grievance_email)
		log_kv(LOG_WARN, "PRAVESH_GRIEVANCE_EMAIL is not set: the privacy notice names no grievance officer",
		       NULL);
	return legal_load(cfg->templates, vars, sizeof vars / sizeof vars[0], out, err, errlen);
}

/* The person's own data: the help contact, the retention settings
 * checked, the texts of the terms and the privacy notice loaded (*texts:
 * legal_free) and handed to the registration. Prints why on failure. */
static int main_person(const pv_config *cfg, app *a, struct main_svcs *sv, legal **texts)
{
	char err[256];

	a->help_contact = cfg->help_url && *cfg->help_url     ? cfg->help_url
			  : cfg->help_email && *cfg->help_email ? cfg->help_email
								  : "";
	if (cfg->audit_retention_days > 0 && cfg->audit_retention_days < 365) {
		fprintf(stderr, "pravesh: PRAVESH_AUDIT_RETENTION_DAYS must be at least 365 (or 0: for ever)\n");
		return PV_EINVAL;
	}
	if (main_texts(cfg, a, texts, err, sizeof err) != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", err);
		return PV_EINVAL;
	}
	a->texts = *texts;
	sv->reg.texts = *texts;
	return PV_OK;
}

/* The sweeper: expiry, erasure of closed accounts, retention. */
static int main_sweeper(const pv_config *cfg, app *a, struct main_svcs *sv, sweeper **sw)
{
	sweeper_cfg c = {a->st, cfg->sweep_interval, 3600 * 1000LL, (int64_t)cfg->session_idle * 1000,
			 &sv->person, cfg->upload_retention_days * MAIN_DAY_MS,
			 cfg->message_retention_days * MAIN_DAY_MS,
			 cfg->audit_retention_days * MAIN_DAY_MS, job_files_remove, NULL};

	return sweeper_start(&c, sw);
}

/* glibc gives the free top of a thread's heap back to the kernel as soon
 * as 128 KiB are free there (madvise), and each give-back flushes the TLB
 * of every core: under a hypervisor that was a tenth of the cost of a
 * login (SQLite frees its statement journals after each write). A server
 * keeps what it has used, up to 64 MiB per heap; setting this also fixes
 * glibc's mmap threshold, so blocks under 4 MiB stay in the heaps instead
 * of costing an mmap and munmap each.
 * glibc also gives each thread that meets a locked heap a heap of its own,
 * up to 8 per core: with 32 work threads, 16 heaps each holding its own
 * free holes. A soak at a flat 26 MiB in use (SQLite 12 MiB of it) grew
 * 3.5 MiB a minute of free memory held that way; with one heap per core,
 * a third of that. One heap per core (at least 2, at most 8): a lock taken
 * per malloc is not what a core waits on. */
static void main_tune_malloc(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_ARENA_MAX, (int)(cores < 2 ? 2 : cores > 8 ? 8 : cores));
}

/* The metrics' sources; SIGPIPE ignored (SIGINT and SIGTERM are taken
 * by cmd_serve's wait). */
static void main_metrics_signals(app *a, notify_runtime *nrt)
{
	metrics_add_source(main_outbox_metrics, a);
	metrics_add_source(main_notify_metrics, nrt);
	metrics_add_source(main_otp_metrics, NULL);
	metrics_add_source(main_upload_metrics, a);
	metrics_add_source(main_memory_metrics, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The public URL (PRAVESH_PUBLIC_URL, else the listening address and
 * port) and whether cookies are secure. */
static void main_public_url(const pv_config *cfg, app *a, unsigned port)
{
	if (cfg->public_url && *cfg->public_url) {
		util_strlcpy(a->public_url, cfg->public_url, sizeof a->public_url);
	} else {
		char host[256];
		const char *colon = strrchr(cfg->listen, ':');
		size_t hl = colon ? (size_t)(colon - cfg->listen) : 0;

		util_strncpy0(host, sizeof host, cfg->listen, hl);
		snprintf(a->public_url, sizeof a->public_url, "http://%s:%u",
			 host[0] ? host : "127.0.0.1", port);
	}
	/* a trailing slash would double in links */
	while (strlen(a->public_url) > 8 && a->public_url[strlen(a->public_url) - 1] == '/')
		a->public_url[strlen(a->public_url) - 1] = '\0';
	a->secure_cookies = strncmp(a->public_url, "https://", 8) == 0;
}

/* The bulk upload workers, with their folder (upload_dir, STORE_PATH_MAX
 * bytes: *je keeps pointing at it). Prints why on failure. */
static int main_jobs(const pv_config *cfg, app *a, struct main_svcs *sv, job_env *je,
		     char *upload_dir, job_workers **jw)
{
	memset(je, 0, sizeof *je);
	je->st = a->st;
	je->official_domains = cfg->official_domains;
	je->login_url = sv->login_url;
	je->lang = "en";
	snprintf(upload_dir, STORE_PATH_MAX, "%s/uploads", cfg->data_dir);
	if (mkdir(upload_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "pravesh: cannot create %s: %s\n", upload_dir, strerror(errno));
		return PV_EIO;
	}
	je->tmp_dir = upload_dir;
	if (job_workers_start(je, cfg->upload_workers > 0 ? cfg->upload_workers : 1, jw) != PV_OK) {
		fprintf(stderr, "pravesh: cannot start the upload workers\n");
		return PV_ESTORE;
	}
	return PV_OK;
}

/* serve: starts the parts in the order they depend on one another and
 * stops them in one place (out:), in reverse; one piece, so that every
 * part started is seen to be stopped on every path (the set-up of each
 * part is in a function of its own above). */
static int cmd_serve(pv_config *cfg, const char **pos, size_t npos)
{
	app a;
	struct main_svcs sv;
	http_server *srv = NULL;
	notify_templates *tpl = NULL;
	notify_transport *sms = NULL, *mail = NULL;
	notify_runtime *nrt = NULL;
	legal *texts = NULL;
	job_workers *jw = NULL;
	sweeper *sw = NULL;
	job_env je;
	char upload_dir[STORE_PATH_MAX];
	notify_http_cfg hc = {cfg->sms_url, cfg->sms_method, cfg->sms_headers, cfg->sms_body,
			      cfg->sms_timeout};
	notify_config nc;
	unsigned port = 0;
	sigset_t stopsigs;
	char err[256];
	int rc = 1;

	(void)pos;
	if (npos)
		return main_usage();
	main_tune_malloc();
	/* SIGINT and SIGTERM are held back, in this thread and in every thread
	 * it starts, and taken only by the wait at the end (sigtimedwait): one
	 * that arrives during start-up is pending until then, not lost, and
	 * none is taken by another thread */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopsigs, NULL);
	memset(&a, 0, sizeof a);
	memset(&sv, 0, sizeof sv);
	a.cfg = cfg;
	if (main_store(cfg, &a.st) != PV_OK)
		goto out;
	main_check_private(cfg->data_dir);
	if (keys_load(cfg->data_dir, cfg->secret_key, &sv.key) != PV_OK) {
		fprintf(stderr, "pravesh: cannot load the server key\n");
		goto out;
	}
	main_outbox_key(&sv.key);
	if (dir_open(a.st, &a.dir) != PV_OK) {
		fprintf(stderr, "pravesh: cannot read the directory\n");
		goto out;
	}
	main_services(cfg, &a, &sv);
	if (main_person(cfg, &a, &sv, &texts) != PV_OK)
		goto out;
	if (sso_open(cfg, a.st, &sv.key, &a.sso, err, sizeof err) != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", err);
		goto out;
	}
	if (notify_templates_load(cfg->templates, &tpl, err, sizeof err) != PV_OK ||
	    notify_sms_open(cfg->sms, &hc, &sms, err, sizeof err) != PV_OK ||
	    notify_mail_open_timeout(cfg->mail, cfg->mail_from, cfg->mail_timeout, &mail, err,
				     sizeof err) != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", err);
		goto out;
	}
	memset(&nc, 0, sizeof nc);
	nc.st = a.st;
	nc.templates = tpl;
	nc.sms = sms;
	nc.mail = mail;
	nc.workers = cfg->notify_workers;
	if (notify_start(&nc, &nrt) != PV_OK) {
		fprintf(stderr, "pravesh: cannot start the outbox workers\n");
		goto out;
	}
	if (http_pages_open(cfg->web_root, &a.pages, err, sizeof err) != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", err);
		goto out;
	}
	main_metrics_signals(&a, nrt);
	/* bound first, serving only once the public URL is set: handlers
	 * read it (links, cookies) */
	if (http_server_listen(&a, &srv, &port) != PV_OK)
		goto out;
	main_public_url(cfg, &a, port);
	snprintf(sv.login_url, sizeof sv.login_url, "%s/login", a.public_url);
	if (http_server_run(srv) != PV_OK)
		goto out;
	if (main_bootstrap(&a) != PV_OK)
		goto out;
	if (main_jobs(cfg, &a, &sv, &je, upload_dir, &jw) != PV_OK)
		goto out;
	if (main_sweeper(cfg, &a, &sv, &sw) != PV_OK) {
		fprintf(stderr, "pravesh: cannot start the sweeper\n");
		goto out;
	}
	log_kv(LOG_INFO, "listening", "url", a.public_url, NULL);
	printf("Pravesh is serving on http://%.*s:%u (public URL %s)\n",
	       (int)(strrchr(cfg->listen, ':') - cfg->listen), cfg->listen, port,
	       a.public_url);
	fflush(stdout);
	main_wait_stop(&stopsigs);
	log_kv(LOG_INFO, "stopping", NULL);
	job_workers_ask_stop(jw); /* uploads stop at their next chunk while HTTP drains */
	rc = 0;
out:
	http_server_stop(srv);
	sweeper_stop(sw);
	http_pages_free(a.pages);
	job_workers_stop(jw);
	notify_stop(nrt);
	sso_free(a.sso);
	notify_transport_free(sms);
	notify_transport_free(mail);
	notify_templates_free(tpl);
	legal_free(texts);
	dir_close(a.dir);
	store_close(a.st);
	sodium_memzero(&sv, sizeof sv);
	return rc;
}

static const struct main_cmd main_cmds[] = {
	{"serve", NULL, cmd_serve, "serve",
	 "migrate the store if needed and serve the web pages and the API",
	 "  every setting: see below\n"},
	{"migrate", NULL, cmd_migrate, "migrate",
	 "bring the store's schema up to date and exit",
	 "  --db URL                the store (PRAVESH_DB)\n"},
	{"orgs", "load", cmd_orgs_load, "orgs load FILE.csv",
	 "load or update organisations (columns key,name,sector,type,parent_key)", NULL},
	{"orgs", "search", cmd_orgs_search, "orgs search TEXT [--sector center|state] [--limit N]",
	 "find organisations by the words of their names: id, name and where each is",
	 "  --sector center|state   only the Center's or the States' organisations\n"
	 "  --limit N               at most N of them (1-100, default 20)\n"},
	{"positions", "load", cmd_positions_load, "positions load FILE.csv",
	 "load or update positions (column name)", NULL},
	{"admin", "create", cmd_admin_create,
	 "admin create --role spv|mdo --username U [--org ID] --first-name F --last-name L --email E --mobile M",
	 "create an administrator; the password is read from the terminal or standard input",
	 "  --role spv|mdo          an SPV administrator, or an MDO administrator of --org\n"
	 "  --org ID                the organisation (required for mdo; spv: --bootstrap-org)\n"
	 "  --username U            the login name (letters, digits, . _ -)\n"
	 "  --first-name F, --last-name L, --email E, --mobile M\n"},
	{"account", "close", cmd_account_close, "account close USER_ID",
	 "close an account as its owner would; its data is erased after PRAVESH_ERASURE_GRACE_DAYS",
	 "  --db URL                the store (PRAVESH_DB)\n"},
	{"import", NULL, cmd_import, "import --org ID [--result OUT] FILE",
	 "bulk-upload users from a CSV or XLSX file without a server (exit 0 SUCCESSFUL, 1 FAILED, 2 usage or file error)",
	 "  --org ID                the organisation the users join (`pravesh orgs search`)\n"
	 "  --result OUT            where the result file goes (default FILE.result.csv|xlsx)\n"
	 "  --db URL, --data-dir DIR   the store and the data folder, as for serve\n"},
	{"backup", NULL, cmd_backup, "backup FILE",
	 "write a consistent copy of the SQLite store to FILE, also while serving (PostgreSQL: pg_dump)",
	 "  --db URL, --data-dir DIR   the store and the data folder, as for serve\n"},
	{"version", NULL, cmd_version, "version",
	 "the version and the libraries' versions", NULL},
};
#define MAIN_NCMDS (sizeof main_cmds / sizeof main_cmds[0])

static void main_commands(FILE *out)
{
	fprintf(out, "usage: pravesh COMMAND [options]\ncommands:\n");
	for (size_t i = 0; i < MAIN_NCMDS; i++)
		fprintf(out, "  pravesh %s\n      %s\n", main_cmds[i].usage, main_cmds[i].help);
	fprintf(out, "  pravesh help\n      this text and every setting (COMMAND --help: that command's options)\n");
}

/* A mistake on the command line: the commands, on standard error. */
static int main_usage(void)
{
	main_commands(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	pv_config cfg;
	const char *pos[MAIN_MAX_POS];
	size_t npos = 0, i;
	int help = 0, level;

	/* everything Pravesh creates (store, keys, uploads, results) is its
	 * user's alone */
	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr, "pravesh: libsodium failed to start\n");
		return 1;
	}
	if (config_parse(&cfg, argc - 1, argv + 1, pos, MAIN_MAX_POS, &npos, &help) != PV_OK)
		return 2;
	level = log_level_parse(cfg.log);
	if (level < 0) {
		fprintf(stderr, "pravesh: --log must be debug, info, warn or error\n");
		return 2;
	}
	log_set_level(level);
	/* asked for: standard output, exit 0; no command: a mistake */
	if ((npos == 0 && help) || (npos && strcmp(pos[0], "help") == 0)) {
		main_commands(stdout);
		printf("\n");
		config_print_help(stdout);
		return 0;
	}
	if (npos == 0)
		return main_usage();
	for (i = 0; i < MAIN_NCMDS; i++) {
		const struct main_cmd *c = &main_cmds[i];
		size_t used = c->sub ? 2 : 1;

		if (strcmp(pos[0], c->name) != 0)
			continue;
		if (c->sub && (npos < 2 || strcmp(pos[1], c->sub) != 0))
			continue;
		if (help) {
			printf("usage: pravesh %s\n  %s\n", c->usage, c->help);
			if (c->options)
				printf("options:\n%s", c->options);
			/* serve takes every setting: they are its options */
			if (c->fn == cmd_serve)
				config_print_help(stdout);
			else
				printf("Settings such as --db and --log: `pravesh help`.\n");
			return 0;
		}
		return c->fn(&cfg, pos + used, npos - used);
	}
	fprintf(stderr, "pravesh: unknown command '%s'\n", pos[0]);
	return main_usage();
}
