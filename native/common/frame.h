/*
 * Frames on the prestart socket between the carton client (native/client) and a prestarted
 * worker (src/prestart): an 8-byte header {type, number of fds, 0, 0, payload length
 * (uint32, host order)} that carries the frame's fds (SCM_RIGHTS), then the payload.
 * Both ends are on the same host, so host byte order is the wire order.
 * The message types and payloads are described in docs/prestart.md.
 */
#ifndef CARTON_COMMON_FRAME_H
#define CARTON_COMMON_FRAME_H

#include <stdint.h>

#define FRAME_MAX_FDS 8
#define FRAME_MAX_PAYLOAD (4u << 20)

struct frame {
	char type;
	int nfds;
	int fds[FRAME_MAX_FDS]; /* close-on-exec, owned by the receiver */
	uint32_t len;
	char *payload; /* malloc'd, NUL-terminated after len bytes; free with frame_free */
};

/* Send one frame; never raises SIGPIPE. 0, or -1 with errno. Hidden: not exported into node. */
__attribute__((visibility("hidden"))) int frame_send(int sock, char type, const void *payload, uint32_t len, const int *fds, int nfds);

/* Read one frame. 1: read; 0: end of file before a header; -1: errno (EAGAIN when `nowait`
 * and no header byte is there yet; EPROTO for a malformed frame). Once a header has begun,
 * the rest is waited for. */
__attribute__((visibility("hidden"))) int frame_recv(int sock, struct frame *f, int nowait);

__attribute__((visibility("hidden"))) void frame_free(struct frame *f);

#endif
