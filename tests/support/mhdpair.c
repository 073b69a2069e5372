/* mhdpair: see mhdpair.h. */
#include "mhdpair.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mhdpair_run(struct MHD_Daemon *d, const char *req, size_t len, size_t piece)
{
	struct sockaddr_in peer;
	char b[4096];
	size_t off = 0;
	int sv[2], done = 0;

	if (piece == 0)
		piece = SIZE_MAX;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	memset(&peer, 0, sizeof peer);
	peer.sin_family = AF_INET;
	if (MHD_add_connection(d, sv[1], (struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* write as the socket takes it, run the daemon, read until it closes */
	for (int round = 0; round < 100000 && !done; round++) {
		ssize_t n;

		if (off < len) {
			size_t want = len - off < piece ? len - off : piece;

			n = write(sv[0], req + off, want);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				break;
			if (off == len)
				shutdown(sv[0], SHUT_WR);
		}
		MHD_run(d);
		while ((n = read(sv[0], b, sizeof b)) > 0)
			;
		if (n == 0)
			done = 1;
		else if (errno != EAGAIN)
			break;
	}
	close(sv[0]);
	/* the daemon closes its end; let it finish the connection */
	for (int i = 0; i < 4; i++)
		MHD_run(d);
	return done ? 0 : -1;
}
