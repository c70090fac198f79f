/* Node-style errors for the addon: Error with .code ('EPERM'), .errno and .syscall. */
#include "addon.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct { int no; const char *name; } names[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" }, { EIO, "EIO" },
	{ ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" }, { ECHILD, "ECHILD" },
	{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
	{ ENOTBLK, "ENOTBLK" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { EXDEV, "EXDEV" }, { ENODEV, "ENODEV" },
	{ ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" }, { ENFILE, "ENFILE" }, { EMFILE, "EMFILE" },
	{ ENOTTY, "ENOTTY" }, { ETXTBSY, "ETXTBSY" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" },
	{ EROFS, "EROFS" }, { EMLINK, "EMLINK" }, { EPIPE, "EPIPE" }, { ERANGE, "ERANGE" }, { ENAMETOOLONG, "ENAMETOOLONG" },
	{ ENOSYS, "ENOSYS" }, { ENOTEMPTY, "ENOTEMPTY" }, { ELOOP, "ELOOP" }, { ENODATA, "ENODATA" },
	{ ENOTSUP, "ENOTSUP" }, { ECONNREFUSED, "ECONNREFUSED" }, { ECONNRESET, "ECONNRESET" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { ENOTSOCK, "ENOTSOCK" }, { E2BIG, "E2BIG" }, { EPROTO, "EPROTO" },
	{ EOVERFLOW, "EOVERFLOW" }, { ENOMSG, "ENOMSG" },
};

napi_value make_errno_error(napi_env env, int err, const char *syscall, const char *path)
{
	const char *code = NULL;
	char fallback[16], msg[1024];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].no == err) {
			code = names[i].name;
			break;
		}
	if (!code) {
		snprintf(fallback, sizeof(fallback), "E%d", err);
		code = fallback;
	}
	if (path)
		snprintf(msg, sizeof(msg), "%s: %s, %s '%s'", code, strerror(err), syscall, path);
	else
		snprintf(msg, sizeof(msg), "%s: %s, %s", code, strerror(err), syscall);
	napi_value m, c, e, no, sc;
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
	napi_create_error(env, c, m, &e);
	napi_create_int32(env, -err, &no);
	napi_set_named_property(env, e, "errno", no);
	napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
	napi_set_named_property(env, e, "syscall", sc);
	if (path) {
		napi_value p;
		napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
		napi_set_named_property(env, e, "path", p);
	}
	return e;
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path)
{
	napi_throw(env, make_errno_error(env, err, syscall, path));
	return NULL;
}
