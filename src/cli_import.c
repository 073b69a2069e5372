/* cli_import: `pravesh import --org ID [--result OUT] FILE`, a bulk upload
 * through the server's engine (import/job.c) without a server. The file is
 * copied into <data-dir>/uploads like an uploaded one and recorded as an
 * upload of the organisation (so it shows in the upload list, with its
 * file and result), already claimed by this process. Users are created in
 * the same transactions as the server would, with the upload's welcome
 * campaigns (SMS and e-mail to every created user); the running server
 * (`pravesh serve`) sends them. Ctrl-C stops between chunks and hands the upload back to
 * the queue, where a server resumes it. Exit codes: 0 SUCCESSFUL,
 * 1 FAILED (or interrupted, or a store failure), 2 usage or file error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "import/job.h"
#include "import/reader.h"
#include "store/store.h"
#include "util/err.h"
#include "util/util.h"


static atomic_int imp_stop;

static void imp_on_signal(int sig)
{
	(void)sig;
	atomic_store(&imp_stop, 1);
}

typedef struct imp_progress {
	int tty;
	int64_t t0, last;
	int final_shown;
	const char *name;
} imp_progress;

static void imp_show(void *ctx, int phase, int64_t done, int64_t total)
{
	imp_progress *p = ctx;
	int64_t now = util_mono_ns();
	double secs = (double)(now - p->t0) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	int final = done >= total;

	if (phase == JOB_SCANNING) {
		if (p->tty)
			fprintf(stderr, "\r%s: %lld rows to import\033[K", p->name,
				(long long)total);
		p->t0 = now;
		p->last = now;
		return;
	}
	if (final && p->final_shown)
		return;
	p->final_shown = final;
	if (p->tty) {
		if (!final && now - p->last < 200000000)
			return;
		fprintf(stderr, "\r%s: %lld/%lld rows, %.0f rows/s", p->name,
			(long long)done, (long long)total, rate);
		if (!final && rate > 0)
			fprintf(stderr, ", about %.0f s left", (double)(total - done) / rate);
		fprintf(stderr, "\033[K%s", final ? "\n" : "");
	} else {
		if (!final && now - p->last < 10000000000LL)
			return;
		fprintf(stderr, "pravesh import: %s: %lld/%lld rows, %.0f rows/s\n",
			p->name, (long long)done, (long long)total, rate);
	}
	p->last = now;
}


/* The default result path: FILE with ".result" before the extension. */
static void imp_result_path(const char *file, char *out, size_t cap)
{
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(file, '.');

	if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : file))
		snprintf(out, cap, "%s.result", file);
	else
		snprintf(out, cap, "%.*s.result%s", (int)(dot - file), file, dot);
}

static int imp_usage(void)
{
	fprintf(stderr, "usage: pravesh import --org ID [--result OUT] FILE\n");
	return 2;
}

int cmd_import(pv_config *cfg, const char **pos, size_t npos)
{
	const char *org = NULL, *result = NULL, *file = NULL, *format;
	char res_path[STORE_PATH_MAX], err[256], tmp_dir[STORE_PATH_MAX];
	char login[600], worker[64], run[UUID_STR_LEN];
	store *st = NULL;
	store_upload u;
	store_org o;
	imp_reader *r = NULL;
	imp_progress prog;
	job_env env;
	struct sigaction sa;
	struct stat sb;
	off_t bytes;
	keys key;
	int rc, code = 1;

	for (size_t i = 0; i < npos; i++) {
		if (strcmp(pos[i], "--org") == 0 && i + 1 < npos)
			org = pos[++i];
		else if (strncmp(pos[i], "--org=", 6) == 0)
			org = pos[i] + 6;
		else if (strcmp(pos[i], "--result") == 0 && i + 1 < npos)
			result = pos[++i];
		else if (strncmp(pos[i], "--result=", 9) == 0)
			result = pos[i] + 9;
		else if (pos[i][0] == '-' || file)
			return imp_usage();
		else
			file = pos[i];
	}
	if (!org || !*org || !file)
		return imp_usage();
	/* a file that is not there, or not CSV or XLSX, is a usage error:
	 * nothing is recorded */
	if (imp_open(file, NULL, &r, err, sizeof err) != PV_OK) {
		fprintf(stderr, "pravesh: %s: %s\n", file, err);
		return 2;
	}
	format = imp_get_format(r) == IMP_XLSX ? "xlsx" : "csv";
	imp_close(r);
	if (stat(file, &sb) != 0) {
		fprintf(stderr, "pravesh: %s: %s\n", file, strerror(errno));
		return 2;
	}
	bytes = sb.st_size;
	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "pravesh: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
		return 1;
	}
	snprintf(tmp_dir, sizeof tmp_dir, "%s/uploads", cfg->data_dir);
	if (mkdir(tmp_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "pravesh: cannot create %s: %s\n", tmp_dir, strerror(errno));
		return 1;
	}
	if (keys_load(cfg->data_dir, cfg->secret_key, &key) != PV_OK) {
		fprintf(stderr, "pravesh: cannot load the server key\n");
		return 1;
	}
	main_outbox_key(&key); /* the welcome messages are sealed with it */
	sodium_memzero(&key, sizeof key);
	if ((rc = store_open_with(cfg->db,
				  &(store_options){cfg->pg_statement_timeout_ms,
						   cfg->pg_lock_timeout_ms},
				  &st)) != PV_OK ||
	    (rc = store_migrate(st)) != PV_OK) {
		/* the URL may hold a password: not printed */
		fprintf(stderr, "pravesh: cannot open the store: %s\n", pv_strerror(rc));
		goto out;
	}
	if ((rc = store_org_get(st, org, &o)) != PV_OK) {
		fprintf(stderr, "pravesh: %s\n", rc == PV_ENOTFOUND ? "no organisation with this id"
								    : pv_strerror(rc));
		code = rc == PV_ENOTFOUND ? 2 : 1;
		goto out;
	}
	util_uuid(run);
	snprintf(worker, sizeof worker, "cli-%.8s", run);
	rc = job_intake(st,
			&(job_intake_in){file, 0, file, org, format, NULL, NULL, worker,
				      (uint64_t)bytes, util_now_ms()},
			&u);
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: cannot record %s as an upload: %s\n", file,
			pv_strerror(rc));
		code = rc == PV_EIO ? 2 : 1;
		goto out;
	}
	if (cfg->public_url && *cfg->public_url)
		snprintf(login, sizeof login, "%s/login", cfg->public_url);
	else
		snprintf(login, sizeof login, "http://%s/login", cfg->listen);
	memset(&prog, 0, sizeof prog);
	prog.tty = isatty(STDERR_FILENO);
	prog.t0 = prog.last = util_mono_ns();
	prog.name = file;
	memset(&env, 0, sizeof env);
	env.st = st;
	env.worker = worker;
	env.official_domains = cfg->official_domains;
	env.login_url = login;
	env.lang = "en";
	env.stop = &imp_stop;
	env.tmp_dir = tmp_dir;
	env.progress = imp_show;
	env.progress_ctx = &prog;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = imp_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = job_run(&env, &u);
	if (rc == PV_ESTOPPED) {
		fprintf(stderr, "\npravesh: interrupted after %lld rows; upload %s is queued again "
				"and a running server will finish it\n",
			(long long)(u.success_records + u.failed_records), u.id);
		goto out;
	}
	if (rc != PV_OK) {
		fprintf(stderr, "pravesh: the import stopped: %s\n", pv_strerror(rc));
		goto out;
	}
	printf("upload %s: %s, %lld rows, %lld created, %lld failed\n", u.id, u.status,
	       (long long)u.total_records, (long long)u.success_records,
	       (long long)u.failed_records);
	if (u.error[0]) {
		printf("error: %s\n", u.error);
	} else {
		if (result)
			util_strlcpy(res_path, result, sizeof res_path);
		else
			imp_result_path(file, res_path, sizeof res_path);
		rc = job_result(st, &u, NULL, res_path);
		if (rc != PV_OK) {
			fprintf(stderr, "pravesh: cannot write the result file %s: %s\n", res_path,
				pv_strerror(rc));
			goto out;
		}
		printf("result file: %s\n", res_path);
	}
	printf("welcome messages wait in the store; `pravesh serve` sends them\n");
	code = strcmp(u.status, STORE_UP_SUCCESSFUL) == 0 ? 0 : 1;
out:
	store_close(st);
	return code;
}
