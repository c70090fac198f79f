/* The prestarted worker's end of the prestart socket (docs/prestart.md): listening,
 * accepting a caller with its credentials, frames with fds, and a watch that ends the
 * worker when its caller is gone. Mechanism only; src/prestart decides. */
#include "addon.h"
#include "../common/frame.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* listenUnix(path) → fd: a blocking, close-on-exec listening socket at path, mode 0600. */
napi_value js_listen_unix(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *path = NULL;
	napi_value ret = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (arg_string(env, argv[0], &path, 0) < 0)
		return NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		throw_errno(env, ENAMETOOLONG, "bind", path);
		goto out;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		throw_errno(env, errno, "socket", NULL);
		goto out;
	}
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		if (r == 0)
			e = errno;
		close(fd);
		throw_errno(env, e, r < 0 ? "bind" : "listen", path);
		goto out;
	}
	napi_create_int32(env, fd, &ret);
out:
	free(path);
	return ret;
}

/* acceptCaller(fd) → [conn, pid, uid, gid]: waits for one caller (blocking); conn is close-on-exec. */
napi_value js_accept_caller(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int64_t lfd;
	if (arg_int(env, argv[0], &lfd) < 0)
		return NULL;
	int conn;
	do
		conn = accept4((int)lfd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (conn < 0)
		return throw_errno(env, errno, "accept", NULL);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		int e = errno;
		close(conn);
		return throw_errno(env, e, "getsockopt SO_PEERCRED", NULL);
	}
	napi_value ret, v;
	int32_t vals[4] = { conn, cred.pid, (int32_t)cred.uid, (int32_t)cred.gid };
	napi_create_array_with_length(env, 4, &ret);
	for (uint32_t i = 0; i < 4; i++) {
		napi_create_int32(env, vals[i], &v);
		napi_set_element(env, ret, i, v);
	}
	return ret;
}

/* socketpair(nonblockingFirst) → [a, b], both close-on-exec. */
napi_value js_socketpair(napi_env env, napi_callback_info info)
{
	ARGS(1);
	bool nonblocking = false;
	napi_get_value_bool(env, argv[0], &nonblocking);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return throw_errno(env, errno, "socketpair", NULL);
	if (nonblocking && fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return throw_errno(env, e, "fcntl O_NONBLOCK", NULL);
	}
	napi_value ret, a, b;
	napi_create_array_with_length(env, 2, &ret);
	napi_create_int32(env, sv[0], &a);
	napi_create_int32(env, sv[1], &b);
	napi_set_element(env, ret, 0, a);
	napi_set_element(env, ret, 1, b);
	return ret;
}

/* frameSend(sock, type, payload, fds) */
napi_value js_frame_send(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int64_t sock;
	char *type = NULL;
	void *data = NULL;
	size_t len = 0;
	uint32_t n = 0;
	int fds[FRAME_MAX_FDS];
	if (arg_int(env, argv[0], &sock) < 0 || arg_string(env, argv[1], &type, 0) < 0)
		return NULL;
	char t = type[0];
	free(type);
	if (arg_buffer(env, argv[2], &data, &len) < 0)
		return NULL;
	bool is_array = false;
	napi_is_array(env, argv[3], &is_array);
	if (!is_array || napi_get_array_length(env, argv[3], &n) != napi_ok || n > FRAME_MAX_FDS)
		return throw_type(env, "expected an array of at most 8 fds");
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		int64_t fd;
		napi_get_element(env, argv[3], i, &v);
		if (arg_int(env, v, &fd) < 0)
			return NULL;
		fds[i] = (int)fd;
	}
	if (frame_send((int)sock, t, data, (uint32_t)len, fds, (int)n) < 0)
		return throw_errno(env, errno, "sendmsg", NULL);
	return undefined(env);
}

/* frameRecv(sock, nowait) → {type, payload, fds}; null at end of file; undefined when
 * `nowait` and nothing has arrived. */
napi_value js_frame_recv(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int64_t sock;
	bool nowait = false;
	if (arg_int(env, argv[0], &sock) < 0)
		return NULL;
	napi_get_value_bool(env, argv[1], &nowait);
	struct frame f;
	int r = frame_recv((int)sock, &f, nowait);
	if (r < 0 && errno == EAGAIN)
		return undefined(env);
	if (r < 0)
		return throw_errno(env, errno, "recvmsg", NULL);
	napi_value ret, v, arr;
	if (r == 0) {
		napi_get_null(env, &ret);
		return ret;
	}
	napi_create_object(env, &ret);
	napi_create_string_latin1(env, &f.type, 1, &v);
	napi_set_named_property(env, ret, "type", v);
	napi_create_buffer_copy(env, f.len, f.payload, NULL, &v);
	napi_set_named_property(env, ret, "payload", v);
	napi_create_array_with_length(env, (size_t)f.nfds, &arr);
	for (int i = 0; i < f.nfds; i++) {
		napi_create_int32(env, f.fds[i], &v);
		napi_set_element(env, arr, (uint32_t)i, v);
		f.fds[i] = -1; /* now the caller's */
	}
	napi_set_named_property(env, ret, "fds", arr);
	frame_free(&f);
	return ret;
}

/* dup2(from, to): `to` is not close-on-exec afterwards. */
napi_value js_dup2(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int64_t from, to;
	if (arg_int(env, argv[0], &from) < 0 || arg_int(env, argv[1], &to) < 0)
		return NULL;
	int r;
	do
		r = dup2((int)from, (int)to);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "dup2", NULL);
	return undefined(env);
}

static atomic_int watched_fd = -1;

/* The caller hung up (killed, even by SIGKILL): its worker must not carry on alone. */
static void *watch(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = atomic_load(&watched_fd);
		if (fd < 0)
			return NULL;
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };
		int r = poll(&p, 1, 200);
		if (atomic_load(&watched_fd) < 0)
			return NULL;
		if (r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			kill(getpid(), SIGKILL);
	}
}

/* watchCaller(conn) → false when conn has hung up already, else true and this process ends
 * (SIGKILL) whenever it does; watchCaller(-1) stops watching. */
napi_value js_watch_caller(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int64_t fd;
	napi_value ret;
	if (arg_int(env, argv[0], &fd) < 0)
		return NULL;
	if (fd >= 0) {
		struct pollfd p = { .fd = (int)fd, .events = POLLRDHUP };
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			napi_get_boolean(env, false, &ret);
			return ret;
		}
	}
	int was = atomic_exchange(&watched_fd, (int)fd);
	if (fd >= 0 && was < 0) {
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		int e = pthread_create(&t, &at, watch, NULL);
		pthread_attr_destroy(&at);
		if (e) {
			atomic_store(&watched_fd, -1);
			return throw_errno(env, e, "pthread_create", NULL);
		}
	}
	napi_get_boolean(env, true, &ret);
	return ret;
}

/* adoptRlimits(pid) → null, or the number of a limit this process cannot take on. Makes this
 * process's resource limits those of `pid` (prlimit reads another process of the same user).
 * Lowering always works; raising a hard limit needs CAP_SYS_RESOURCE, which the caller of a
 * worker that lacks it cannot give either: that limit is reported and the worker refuses. */
napi_value js_adopt_rlimits(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int64_t pid;
	if (arg_int(env, argv[0], &pid) < 0)
		return NULL;
	napi_value ret;
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit theirs, mine;
		if (prlimit((pid_t)pid, r, NULL, &theirs) < 0)
			return throw_errno(env, errno, "prlimit", NULL);
		if (prlimit(0, r, NULL, &mine) < 0)
			return throw_errno(env, errno, "prlimit", NULL);
		if (theirs.rlim_cur == mine.rlim_cur && theirs.rlim_max == mine.rlim_max)
			continue;
		if (prlimit(0, r, &theirs, NULL) < 0) {
			napi_create_int32(env, r, &ret);
			return ret;
		}
	}
	napi_get_null(env, &ret);
	return ret;
}

/* setParentDeathSignal(sig): the signal this process gets when its parent (the pool) ends;
 * 0 for none. */
napi_value js_set_parent_death_signal(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int64_t sig;
	if (arg_int(env, argv[0], &sig) < 0)
		return NULL;
	if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl PR_SET_PDEATHSIG", NULL);
	return undefined(env);
}

