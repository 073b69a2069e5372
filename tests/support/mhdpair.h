/* mhdpair: one HTTP request through a real libmicrohttpd daemon without
 * a listening socket (MHD_USE_NO_LISTEN_SOCKET, external polling): one end
 * of a socket pair is handed to the daemon, the request is written to the
 * other, in pieces, with the daemon run in between, and the answer is
 * read and dropped until the daemon closes the connection. For the tests
 * and fuzz harnesses of code that needs an MHD connection (the upload
 * body's post processor). */
#ifndef PV_TEST_MHDPAIR_H
#define PV_TEST_MHDPAIR_H

#include <stddef.h>

struct MHD_Daemon;

/* Sends the len bytes of req, at most piece bytes per write (SIZE_MAX or
 * 0: as the socket takes them), and runs d until the connection is done.
 * Returns 0 once the daemon closed the connection, or -1 (it could not be
 * made, a socket error, or not closed after 100,000 rounds). */
int mhdpair_run(struct MHD_Daemon *d, const char *req, size_t len, size_t piece);

#endif
