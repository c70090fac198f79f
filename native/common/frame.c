/* Prestart socket frames: see frame.h. */
#include "frame.h"
#include "scm.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking socket not ready yet: wait until it is (events: POLLIN or POLLOUT). */
static void await_ready(int sock, short events)
{
	struct pollfd pf = { .fd = sock, .events = events };
	poll(&pf, 1, -1);
}

int frame_send(int sock, char type, const void *payload, uint32_t len, const int *fds, int nfds)
{
	if (nfds < 0 || nfds > FRAME_MAX_FDS || len > FRAME_MAX_PAYLOAD) {
		errno = EINVAL;
		return -1;
	}
	unsigned char head[8] = { (unsigned char)type, (unsigned char)nfds, 0, 0 };
	memcpy(head + 4, &len, 4);
	union {
		char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	/* The header went with the fds; the rest (if the socket took less) and the payload follow. */
	size_t off = (size_t)r;
	while (off < sizeof(head) + len) {
		const char *p = off < sizeof(head) ? (const char *)head + off : (const char *)payload + (off - sizeof(head));
		size_t n = off < sizeof(head) ? sizeof(head) - off : len - (off - sizeof(head));
		r = send(sock, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			await_ready(sock, POLLOUT);
			continue;
		}
		if (r < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* Read exactly n bytes (waiting on a non-blocking socket); 0, or -1 with errno (EPROTO on early EOF). */
static int read_full(int sock, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(sock, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			await_ready(sock, POLLIN);
			continue;
		}
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EPROTO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int frame_recv(int sock, struct frame *f, int nowait)
{
	memset(f, 0, sizeof(*f));
	unsigned char head[8];
	union {
		char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t r;
	for (;;) {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (nowait ? MSG_DONTWAIT : 0));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && !nowait) {
			await_ready(sock, POLLIN);
			continue;
		}
		break;
	}
	if (r <= 0)
		return (int)r;
	f->nfds = take_fds(&mh, f->fds, FRAME_MAX_FDS);
	if ((size_t)r < sizeof(head) && read_full(sock, (char *)head + r, sizeof(head) - (size_t)r) < 0)
		goto fail;
	f->type = (char)head[0];
	memcpy(&f->len, head + 4, 4);
	if (head[1] != f->nfds || f->len > FRAME_MAX_PAYLOAD || (mh.msg_flags & MSG_CTRUNC)) {
		errno = EPROTO;
		goto fail;
	}
	f->payload = malloc(f->len + 1);
	if (!f->payload)
		goto fail;
	if (read_full(sock, f->payload, f->len) < 0)
		goto fail;
	f->payload[f->len] = 0;
	return 1;
fail:;
	int saved = errno;
	frame_free(f);
	errno = saved;
	return -1;
}

void frame_free(struct frame *f)
{
	for (int i = 0; i < f->nfds; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	f->nfds = 0;
	free(f->payload);
	f->payload = NULL;
}
