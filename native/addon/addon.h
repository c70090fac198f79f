/* Carton's N-API addon: host-side syscalls Node lacks. Plain wrappers, no policy. */
#ifndef CARTON_ADDON_H
#define CARTON_ADDON_H
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path);
/* The same Error, not thrown yet (to add properties first). */
napi_value make_errno_error(napi_env env, int err, const char *syscall, const char *path);
napi_value throw_type(napi_env env, const char *msg);
napi_value undefined(napi_env env);

/* Fetch up to n arguments into argv[]; missing ones are undefined. */
#define ARGS(n)                                                     \
	size_t argc = n;                                            \
	napi_value argv[n];                                         \
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);      \
	for (size_t i_ = argc; i_ < n; i_++)                        \
		napi_get_undefined(env, &argv[i_]);


/* Argument helpers: return 0, or -1 with a TypeError thrown. Strings are malloc'd. */
int arg_string(napi_env env, napi_value v, char **out, int nullable);
int arg_int(napi_env env, napi_value v, int64_t *out);
int arg_buffer(napi_env env, napi_value v, void **data, size_t *len);

napi_value bpf_replace_cgroup_device(napi_env env, napi_callback_info info);
napi_value bpf_query_cgroup_device(napi_env env, napi_callback_info info);
#endif
