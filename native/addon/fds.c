/* File descriptors over unix sockets (SCM_RIGHTS) and terminal sizing. */
#include "addon.h"
#include "../common/scm.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

napi_value js_send_fd(napi_env env, napi_callback_info info)
{
	ARGS(3);
	int64_t sock, fd;
	void *data = NULL;
	size_t len = 0;
	napi_valuetype t;
	if (arg_int(env, argv[0], &sock) || arg_int(env, argv[1], &fd))
		return NULL;
	napi_typeof(env, argv[2], &t);
	if (t != napi_undefined && t != napi_null && arg_buffer(env, argv[2], &data, &len))
		return NULL;
	if (send_fd((int)sock, (int)fd, data, len) < 0)
		return throw_errno(env, errno, "sendmsg", NULL);
	return undefined(env);
}

/* Wait (poll, timeout ms; negative = forever) for one message carrying an fd. */
static int recv_fd(napi_env env, napi_value *argv, int *fd_out, char *buf, size_t *len)
{
	int64_t sock, timeout = -1;
	napi_valuetype t;
	if (arg_int(env, argv[0], &sock))
		return -1;
	napi_typeof(env, argv[1], &t);
	if (t != napi_undefined && arg_int(env, argv[1], &timeout))
		return -1;
	struct pollfd p = { .fd = (int)sock, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout < 0 ? -1 : (int)timeout);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "poll", NULL), -1;
	if (r == 0)
		return throw_errno(env, ETIMEDOUT, "recvmsg", NULL), -1;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = *len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	do
		n = recvmsg((int)sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return throw_errno(env, errno, "recvmsg", NULL), -1;
	if (take_fds(&mh, fd_out, 1) == 0)
		*fd_out = -1;
	if (*fd_out < 0)
		return throw_errno(env, n == 0 ? ECONNRESET : ENOMSG, "recvmsg", NULL), -1;
	*len = (size_t)n;
	return 0;
}

napi_value js_recv_fd(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char buf[4096];
	size_t len = sizeof(buf);
	int fd;
	if (recv_fd(env, argv, &fd, buf, &len) < 0)
		return NULL;
	napi_value ret;
	napi_create_int32(env, fd, &ret);
	return ret;
}

napi_value js_recv_fd_message(napi_env env, napi_callback_info info)
{
	ARGS(2);
	static char buf[65536];
	size_t len = sizeof(buf);
	int fd;
	if (recv_fd(env, argv, &fd, buf, &len) < 0)
		return NULL;
	napi_value ret, f, payload;
	napi_create_object(env, &ret);
	napi_create_int32(env, fd, &f);
	napi_create_buffer_copy(env, len, buf, NULL, &payload);
	napi_set_named_property(env, ret, "fd", f);
	napi_set_named_property(env, ret, "payload", payload);
	return ret;
}

/* setWinsize(fd, rows, cols): TIOCSWINSZ on a pty (the console master). */
napi_value js_set_winsize(napi_env env, napi_callback_info info)
{
	ARGS(3);
	int64_t fd, rows, cols;
	if (arg_int(env, argv[0], &fd) || arg_int(env, argv[1], &rows) || arg_int(env, argv[2], &cols))
		return NULL;
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (ioctl((int)fd, TIOCSWINSZ, &ws) < 0)
		return throw_errno(env, errno, "ioctl", NULL);
	return undefined(env);
}

