/* conns: the connections of the public listener, watched so that no
 * client can hold the server: at most max_per_ip open connections per
 * client address (trusted proxies exempt), a whole request header within
 * header_timeout of a connection's opening or of its previous answer, a
 * body within its deadline, an answer read within its deadline. A reaper
 * thread shuts down the socket of a connection past its deadline (libmicro-
 * httpd then closes it); what it does is counted and logged once a minute,
 * never a line per socket. Called from libmicrohttpd's callbacks. */
#ifndef PV_HTTP_CONNS_H
#define PV_HTTP_CONNS_H

#include <stdint.h>
#include <sys/socket.h>

#include "util/netaddr.h"

typedef struct conns_cfg {
	int max_per_ip;            /* 0: no limit */
	int64_t header_timeout_ms; /* whole header block */
	int64_t body_timeout_ms;   /* a body's minimum allowance */
	int64_t min_rate;          /* bytes/s a long body or answer must keep */
	const net_cidrs *trusted;  /* exempt from max_per_ip */
} conns_cfg;

typedef struct conn_rec conn_rec;

/* Starts the reaper. Call once, before the listener. */
int conns_start(const conns_cfg *cfg);
/* Stops the reaper (connections still open are left to their server). */
void conns_stop(void);

/* Accept policy: 1 to accept a connection from sa, 0 to refuse it. */
int conns_accept(const struct sockaddr *sa);
/* A connection opened (fd, peer): its record, or NULL when out of memory
 * (the connection is then not watched). Released by conns_closed. */
conn_rec *conns_opened(int fd, const struct sockaddr *sa);
void conns_closed(conn_rec *r);

/* Request phases. begin: the header is in, a body of body_len bytes (-1:
 * unknown) may follow; work: the body is in and the answer is being made
 * (no deadline); sending: an answer of `bytes` is on its way; end: the
 * answer went out, the next request's header deadline starts. All accept
 * NULL. */
void conns_begin(conn_rec *r, int64_t body_len);
void conns_work(conn_rec *r);
void conns_sending(conn_rec *r, uint64_t bytes);
void conns_end(conn_rec *r);

/* 1 when the connection is past its deadline (the access handler then
 * refuses further body bytes). */
int conns_expired(const conn_rec *r);

/* Counters for metrics: refused by the per-address limit, reaped. */
void conns_counters(uint64_t *refused, uint64_t *reaped, int64_t *open);

#endif
