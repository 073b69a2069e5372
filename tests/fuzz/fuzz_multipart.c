/* fuzz_multipart: the upload body path as the server runs it: a real
 * libmicrohttpd daemon (external polling, no listening socket) is handed
 * one end of a socket pair per input, the harness writes an HTTP request
 * with a multipart/form-data body to the other end, and the access handler
 * feeds the body to up_body_begin/feed/end (http/uploads.h, the code of
 * POST /api/v1/mdo/uploads), which runs MHD's post processor and writes
 * the file part to a temporary file.
 * Input: [split] [Content-Type parameters (the boundary...)] '\n' [body];
 * split 0 writes the request at once, else in pieces of 4 * split bytes
 * with the daemon run in between (MHD's parser gets the body in pieces).
 * Promises held: an accepted file is exactly the bytes counted and at most
 * the limit; a refused one leaves no temporary file behind (one past the
 * limit: gone as soon as it is refused). The request goes through
 * tests/support/mhdpair.c, as in the unit test tests/unit/http/test_uploads.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_support.h"
#include "support/mhdpair.h"
#include "http/uploads.h"
#include "util/buf.h"
#include "util/err.h"

#define FUZZ_MAX_FILE 2048 /* small: the limit is reached by small inputs */

static struct MHD_Daemon *daemon_;
static char dir[64];

/* No file may stay behind in the folder once a request is done (one
 * request at a time: an empty folder is this request's file gone). */
static void check_dir_empty(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		FUZZ_CHECK(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
	closedir(d);
}

typedef struct conn_state {
	up_body *body;
	int begun, rc;
} conn_state;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	conn_state *st = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!st) {
		if (!(st = calloc(1, sizeof *st)))
			return MHD_NO;
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!st->begun) {
			st->begun = 1;
			st->rc = up_body_begin(c, dir, FUZZ_MAX_FILE, &st->body);
		}
		if (st->rc == PV_OK)
			(void)up_body_feed(st->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->begun && st->rc == PV_OK) {
		up_body *b = st->body;
		int rc = up_body_end(b);
		struct stat sb;

		FUZZ_CHECK(b->fd < 0 || rc != PV_OK);
		if (rc == PV_OK) {
			FUZZ_CHECK(stat(b->tmp, &sb) == 0);
			FUZZ_CHECK((uint64_t)sb.st_size == b->bytes);
			FUZZ_CHECK(b->bytes > 0 && b->bytes <= FUZZ_MAX_FILE);
			FUZZ_CHECK(b->has_file);
		} else if (rc == PV_ELIMIT) {
			FUZZ_CHECK(b->bytes > FUZZ_MAX_FILE);
			/* refused while it streamed: its file is gone already */
			FUZZ_CHECK(b->tmp[0] == '\0' && b->fd < 0);
			check_dir_empty();
		} else {
			FUZZ_CHECK(rc == PV_ENOTFOUND || rc == PV_EFORMAT || rc == PV_EINVAL);
		}
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
	conn_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!st)
		return;
	up_body_free(st->body); /* removes the temporary file */
	free(st);
	*con_cls = NULL;
}

static void cleanup(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(dir, sizeof dir, "/dev/shm/pv-fuzz-mp-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	daemon_ = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
				   MHD_OPTION_END);
	if (!daemon_)
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *ct, *body;
	size_t ctn, bn;
	buf req;
	size_t piece;

	if (size < 1)
		return 0;
	piece = data[0] ? 4u * data[0] : SIZE_MAX;
	fuzz_split(data + 1, size - 1, '\n', &ct, &ctn, &body, &bn);
	buf_init(&req, 1 << 20);
	buf_adds(&req, "POST /api/v1/mdo/uploads HTTP/1.1\r\nHost: fuzz\r\n"
		       "Content-Type: multipart/form-data; ");
	for (size_t i = 0; i < ctn; i++) /* one header line */
		if (ct[i] != '\r' && ct[i] != '\n' && ct[i] != 0)
			buf_add(&req, &ct[i], 1);
	buf_addf(&req, "\r\nContent-Length: %zu\r\n\r\n", bn);
	buf_add(&req, body, bn);
	if (buf_error(&req) == PV_OK)
		(void)mhdpair_run(daemon_, req.p, req.len, piece);
	buf_free(&req);
	check_dir_empty();
	return 0;
}
