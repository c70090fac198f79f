/* Carton's N-API addon: host-side syscalls Node lacks. No policy lives here. */
#include "addon.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

napi_value throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, NULL, msg);
	return NULL;
}

int arg_string(napi_env env, napi_value v, char **out, int nullable)
{
	napi_valuetype t;
	napi_typeof(env, v, &t);
	if (nullable && (t == napi_null || t == napi_undefined)) {
		*out = NULL;
		return 0;
	}
	size_t len;
	if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		throw_type(env, "expected a string");
		return -1;
	}
	*out = malloc(len + 1);
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	if (strlen(*out) != len) {
		free(*out);
		throw_type(env, "string contains a NUL byte");
		return -1;
	}
	return 0;
}

int arg_int(napi_env env, napi_value v, int64_t *out)
{
	napi_valuetype t;
	napi_typeof(env, v, &t);
	if (t != napi_number || napi_get_value_int64(env, v, out) != napi_ok) {
		throw_type(env, "expected a number");
		return -1;
	}
	return 0;
}

int arg_buffer(napi_env env, napi_value v, void **data, size_t *len)
{
	bool ok = false;
	napi_is_buffer(env, v, &ok);
	if (!ok || napi_get_buffer_info(env, v, data, len) != napi_ok) {
		throw_type(env, "expected a Buffer");
		return -1;
	}
	return 0;
}

napi_value undefined(napi_env env)
{
	napi_value u;
	napi_get_undefined(env, &u);
	return u;
}

/* mount(source|null, target, fstype|null, flags, data|null) */
static napi_value js_mount(napi_env env, napi_callback_info info)
{
	ARGS(5);
	char *src = NULL, *tgt = NULL, *fs = NULL, *data = NULL;
	int64_t flags;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &src, 1) || arg_string(env, argv[1], &tgt, 0) ||
	    arg_string(env, argv[2], &fs, 1) || arg_int(env, argv[3], &flags) || arg_string(env, argv[4], &data, 1))
		goto out;
	if (mount(src, tgt, fs, (unsigned long)flags, data) < 0)
		throw_errno(env, errno, "mount", tgt);
	else
		ret = undefined(env);
out:
	free(src), free(tgt), free(fs), free(data);
	return ret;
}

static napi_value js_umount2(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char *tgt = NULL;
	int64_t flags = 0;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &tgt, 0) || arg_int(env, argv[1], &flags))
		goto out;
	if (umount2(tgt, (int)flags) < 0)
		throw_errno(env, errno, "umount2", tgt);
	else
		ret = undefined(env);
out:
	free(tgt);
	return ret;
}

static napi_value js_mknod(napi_env env, napi_callback_info info)
{
	ARGS(4);
	char *path = NULL;
	int64_t mode, maj, min;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &path, 0) || arg_int(env, argv[1], &mode) || arg_int(env, argv[2], &maj) ||
	    arg_int(env, argv[3], &min))
		goto out;
	if (mknod(path, (mode_t)mode, makedev((unsigned)maj, (unsigned)min)) < 0)
		throw_errno(env, errno, "mknod", path);
	else
		ret = undefined(env);
out:
	free(path);
	return ret;
}

static napi_value js_lsetxattr(napi_env env, napi_callback_info info)
{
	ARGS(3);
	char *path = NULL, *name = NULL;
	void *data;
	size_t len;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &path, 0) || arg_string(env, argv[1], &name, 0) || arg_buffer(env, argv[2], &data, &len))
		goto out;
	if (lsetxattr(path, name, data, len, 0) < 0)
		throw_errno(env, errno, "lsetxattr", path);
	else
		ret = undefined(env);
out:
	free(path), free(name);
	return ret;
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char *path = NULL, *name = NULL;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &path, 0) || arg_string(env, argv[1], &name, 0))
		goto out;
	for (;;) {
		ssize_t size = lgetxattr(path, name, NULL, 0);
		if (size < 0) {
			if (errno == ENODATA)
				napi_get_null(env, &ret);
			else
				throw_errno(env, errno, "lgetxattr", path);
			break;
		}
		void *buf;
		napi_value b;
		napi_create_buffer(env, size, &buf, &b);
		ssize_t got = lgetxattr(path, name, buf, size);
		if (got < 0 && errno == ERANGE)
			continue; /* grew in between */
		if (got < 0) {
			if (errno == ENODATA)
				napi_get_null(env, &ret);
			else
				throw_errno(env, errno, "lgetxattr", path);
		} else {
			napi_create_buffer_copy(env, got, buf, NULL, &ret);
		}
		break;
	}
out:
	free(path), free(name);
	return ret;
}

static napi_value js_llistxattr(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *path = NULL, *buf = NULL;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &path, 0))
		goto out;
	ssize_t size;
	for (;;) {
		size = llistxattr(path, NULL, 0);
		if (size < 0)
			break;
		buf = realloc(buf, size + 1);
		size = llistxattr(path, buf, size);
		if (size >= 0 || errno != ERANGE)
			break;
	}
	if (size < 0) {
		throw_errno(env, errno, "llistxattr", path);
		goto out;
	}
	napi_create_array(env, &ret);
	uint32_t n = 0;
	for (ssize_t i = 0; i < size;) {
		size_t l = strnlen(buf + i, size - i);
		napi_value s;
		napi_create_string_utf8(env, buf + i, l, &s);
		napi_set_element(env, ret, n++, s);
		i += l + 1;
	}
out:
	free(path), free(buf);
	return ret;
}

static napi_value js_lremovexattr(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char *path = NULL, *name = NULL;
	napi_value ret = NULL;
	if (arg_string(env, argv[0], &path, 0) || arg_string(env, argv[1], &name, 0))
		goto out;
	if (lremovexattr(path, name) < 0)
		throw_errno(env, errno, "lremovexattr", path);
	else
		ret = undefined(env);
out:
	free(path), free(name);
	return ret;
}

/* flock(fd, 'sh'|'ex'|'un', nonblocking): false when a non-blocking lock would block. */
static napi_value js_flock(napi_env env, napi_callback_info info)
{
	ARGS(3);
	int64_t fd;
	char *how = NULL;
	bool nb = false;
	napi_value ret = NULL;
	if (arg_int(env, argv[0], &fd) || arg_string(env, argv[1], &how, 0))
		goto out;
	napi_get_value_bool(env, argv[2], &nb);
	int op = !strcmp(how, "sh") ? LOCK_SH : !strcmp(how, "ex") ? LOCK_EX : !strcmp(how, "un") ? LOCK_UN : -1;
	if (op < 0) {
		throw_type(env, "flock: mode must be 'sh', 'ex' or 'un'");
		goto out;
	}
	int r;
	do
		r = flock((int)fd, op | (nb ? LOCK_NB : 0));
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EWOULDBLOCK)
		napi_get_boolean(env, false, &ret);
	else if (r < 0)
		throw_errno(env, errno, "flock", NULL);
	else
		napi_get_boolean(env, true, &ret);
out:
	free(how);
	return ret;
}

/* waitReadable(fd, timeoutMs) → whether fd has data (or end of file) within the timeout. */
static napi_value js_wait_readable(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int64_t fd, timeout;
	if (arg_int(env, argv[0], &fd) < 0 || arg_int(env, argv[1], &timeout) < 0)
		return NULL;
	struct pollfd p = { .fd = (int)fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout < 0 ? -1 : (int)timeout);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "poll", NULL);
	napi_value ret;
	napi_get_boolean(env, r > 0, &ret);
	return ret;
}

static napi_value js_set_child_subreaper(napi_env env, napi_callback_info info)
{
	(void)info;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl", NULL);
	return undefined(env);
}

napi_value js_send_fd(napi_env env, napi_callback_info info);
napi_value js_recv_fd(napi_env env, napi_callback_info info);
napi_value js_recv_fd_message(napi_env env, napi_callback_info info);
napi_value js_set_winsize(napi_env env, napi_callback_info info);
napi_value js_spawn_init(napi_env env, napi_callback_info info);
napi_value js_waitpid_nohang(napi_env env, napi_callback_info info);
napi_value js_listen_unix(napi_env env, napi_callback_info info);
napi_value js_accept_caller(napi_env env, napi_callback_info info);
napi_value js_socketpair(napi_env env, napi_callback_info info);
napi_value js_frame_send(napi_env env, napi_callback_info info);
napi_value js_frame_recv(napi_env env, napi_callback_info info);
napi_value js_dup2(napi_env env, napi_callback_info info);
napi_value js_watch_caller(napi_env env, napi_callback_info info);
napi_value js_adopt_rlimits(napi_env env, napi_callback_info info);
napi_value js_set_parent_death_signal(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports)
{
	static const struct { const char *name; napi_callback fn; } fns[] = {
		{ "mount", js_mount }, { "umount2", js_umount2 }, { "mknod", js_mknod },
		{ "lsetxattr", js_lsetxattr }, { "lgetxattr", js_lgetxattr }, { "llistxattr", js_llistxattr },
		{ "lremovexattr", js_lremovexattr }, { "flock", js_flock }, { "sendFd", js_send_fd },
		{ "recvFd", js_recv_fd }, { "recvFdMessage", js_recv_fd_message },
		{ "setChildSubreaper", js_set_child_subreaper }, { "setWinsize", js_set_winsize },
		{ "bpfReplaceCgroupDevice", bpf_replace_cgroup_device },
		{ "bpfQueryCgroupDevice", bpf_query_cgroup_device },
		{ "spawnInit", js_spawn_init }, { "waitpidNoHang", js_waitpid_nohang },
		{ "listenUnix", js_listen_unix }, { "acceptCaller", js_accept_caller },
		{ "socketpair", js_socketpair }, { "frameSend", js_frame_send },
		{ "frameRecv", js_frame_recv }, { "dup2", js_dup2 }, { "watchCaller", js_watch_caller },
		{ "adoptRlimits", js_adopt_rlimits }, { "waitReadable", js_wait_readable },
		{ "setParentDeathSignal", js_set_parent_death_signal },
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_value f;
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
		napi_set_named_property(env, exports, fns[i].name, f);
	}
	/* spawnInit takes its 4th argument (a non-blocking socket): JS checks before relying on it. */
	napi_value yes;
	napi_get_boolean(env, true, &yes);
	napi_set_named_property(env, exports, "spawnInitNonblocking", yes);
	return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
