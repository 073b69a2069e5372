/* The benchmark's floor: the smallest libmicrohttpd server in the same
 * mode as Pravesh (epoll, thread pool, the answer queued on the second
 * call), answering a small JSON body, or with a third argument a JSON body
 * of that many bytes (16 to 1 MiB: bench/search.sh TAIL=1 gives it the
 * size of the search answers). Not part of Pravesh.
 * Usage: hello [PORT [THREADS [BYTES]]] */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char small[] = "{\"items\":[{\"id\":\"d-doj\",\"name\":\"Department of Justice\"}]}";
static const char *body = small;
static size_t body_len = sizeof small - 1;

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **state)
{
	static int first;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls; (void)url; (void)method; (void)version; (void)data;
	if (!*state) {
		*state = &first;
		return MHD_YES;
	}
	*size = 0;
	r = MHD_create_response_from_buffer(body_len, (void *)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 18081;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	long bytes = 0;

	if (argc > 3) { /* {"items":"aaa...a"}, bytes long in all */
		char *end, *b;

		bytes = strtol(argv[3], &end, 10);
		if (end == argv[3] || *end || bytes < 16 || bytes > (1L << 20)) {
			fprintf(stderr, "hello: the body's size is 16 to 1048576 bytes\n");
			return 2;
		}
		if (!(b = malloc((size_t)bytes)))
			return 2;
		memcpy(b, "{\"items\":\"", 10);
		memset(b + 10, 'a', (size_t)bytes - 12);
		memcpy(b + bytes - 2, "\"}", 2);
		body = b;
		body_len = (size_t)bytes;
	}
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, (uint16_t)port, NULL, NULL,
						on_req, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
						MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
	if (!d)
		return 1;
	printf("hello on %u\n", port);
	fflush(stdout);
	pause();
	MHD_stop_daemon(d);
	return 0;
}
