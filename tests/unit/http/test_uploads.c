/* test_uploads.c: the upload body as it streams in (http/uploads.h)
 * through a real libmicrohttpd connection (tests/support/mhdpair.c): an
 * accepted file holds exactly the part's bytes; a part past the limit, and
 * one whose write fails (a file-size limit makes write(2) fail with EFBIG
 * every time, as a full disk would with ENOSPC), has its temporary file
 * removed as soon as it is refused, before the request ends and before
 * any answer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/uploads.h"
#include "support/mhdpair.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

static char dir[64];
static struct MHD_Daemon *daemon_;
static int64_t max_file;

/* What the last request's end saw. */
static struct {
	int ended, rc;
	char tmp[STORE_PATH_MAX]; /* the temporary file's path, from its start */
	int tmp_exists;           /* it existed when up_body_end returned */
	uint64_t bytes;
} seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	up_body **bp = *con_cls;
	struct MHD_Response *r;
	struct stat sb;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!bp) {
		if (!(bp = calloc(1, sizeof *bp)))
			return MHD_NO;
		*con_cls = bp;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!*bp) {
			assert_int_equal(up_body_begin(c, dir, max_file, bp), PV_OK);
			snprintf(seen.tmp, sizeof seen.tmp, "%s", (*bp)->tmp);
		}
		(void)up_body_feed(*bp, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*bp) {
		seen.ended = 1;
		seen.rc = up_body_end(*bp);
		seen.tmp_exists = stat(seen.tmp, &sb) == 0;
		seen.bytes = seen.tmp_exists ? (uint64_t)sb.st_size : 0;
	}
	r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	up_body **bp = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!bp)
		return;
	up_body_free(*bp);
	free(bp);
	*con_cls = NULL;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR + 1);
	snprintf(dir, sizeof dir, "/tmp/pv-test-up-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	daemon_ = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				   MHD_OPTION_END);
	return daemon_ ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(daemon_);
	rmdir(dir);
	return 0;
}

/* Each test ends with nothing left in the folder (a group teardown's
 * failure would not fail the run). */
static void assert_dir_empty(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	assert_int_equal(files, 0);
}

/* The file-size limit of test_failed_write_removed_at_once, restored by
 * its teardown even when an assertion ended it early (else every later
 * write to a file past 8 KiB, the test's own output too, would fail). */
static struct rlimit saved_fsize;
static void (*saved_xfsz)(int);
static int limited;

static int unlimit(void **state)
{
	(void)state;
	if (limited) {
		setrlimit(RLIMIT_FSIZE, &saved_fsize);
		signal(SIGXFSZ, saved_xfsz);
		limited = 0;
	}
	return 0;
}

/* Sends a multipart upload whose file part has n bytes. */
static void send_upload(size_t n)
{
	static const char head[] =
		"--bnd\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
		"Content-Type: text/csv\r\n\r\n";
	static const char tail[] = "\r\n--bnd--\r\n";
	buf req;

	memset(&seen, 0, sizeof seen);
	buf_init(&req, 8u << 20);
	buf_addf(&req,
		 "POST /api/v1/mdo/uploads HTTP/1.1\r\nHost: t\r\n"
		 "Content-Type: multipart/form-data; boundary=bnd\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(head) + n + strlen(tail), head);
	for (size_t i = 0; i < n; i++)
		buf_add(&req, "x", 1);
	buf_adds(&req, tail);
	assert_int_equal(buf_error(&req), PV_OK);
	assert_int_equal(mhdpair_run(daemon_, req.p, req.len, 4096), 0);
	buf_free(&req);
	assert_true(seen.ended);
}

static void test_accepted(void **state)
{
	(void)state;
	max_file = 100000;
	send_upload(50000);
	assert_int_equal(seen.rc, PV_OK);
	assert_true(seen.tmp_exists);
	assert_int_equal(seen.bytes, 50000);
	/* removed when the request ended (the test's on_completed) */
	assert_int_not_equal(access(seen.tmp, F_OK), 0);
	assert_dir_empty();
}

static void test_past_the_limit_removed_at_once(void **state)
{
	(void)state;
	max_file = 10000;
	send_upload(50000);
	assert_int_equal(seen.rc, PV_ELIMIT);
	assert_false(seen.tmp_exists);
	assert_dir_empty();
}

static void test_failed_write_removed_at_once(void **state)
{
	struct rlimit small;

	(void)state;
	max_file = 1000000;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
	small = saved_fsize;
	small.rlim_cur = 8192; /* writes past 8 KiB fail with EFBIG */
	saved_xfsz = signal(SIGXFSZ, SIG_IGN);
	limited = 1;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	send_upload(100000);
	unlimit(NULL);
	assert_int_equal(seen.rc, PV_ENOSPACE); /* EFBIG: as a full disk */
	assert_false(seen.tmp_exists);
	assert_dir_empty();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_past_the_limit_removed_at_once),
		cmocka_unit_test_teardown(test_failed_write_removed_at_once, unlimit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
