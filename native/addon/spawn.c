/* Starting carton-init without Node's child_process: posix_spawn (glibc: clone with
 * CLONE_VM|CLONE_VFORK, so the 40 MB Node process is not copied) plus a socketpair, and a
 * non-blocking waitpid. Saves loading child_process/net and a fork per container start. */
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILD_FDS 1024

/* spawnInit(file, fds, envEntry, nonblocking) → [pid, fd]. The child gets fds[i] at fd i,
 * the other end of a new unix socketpair at fd fds.length, `envEntry` ("NAME=value") as
 * its only environment, default signal dispositions and an empty signal mask (as
 * child_process gives). A source fd below fds.length must be its own target (the caller
 * checks). The returned fd is the runtime's end of the socket, close-on-exec, and
 * O_NONBLOCK when `nonblocking` is true. */
napi_value js_spawn_init(napi_env env, napi_callback_info info)
{
	ARGS(4);
	char *file = NULL, *entry = NULL;
	int *fds = NULL;
	int sv[2] = { -1, -1 }, child_end = -1;
	napi_value ret = NULL;
	bool is_array = false;
	uint32_t n = 0;

	if (arg_string(env, argv[0], &file, 0) < 0 || arg_string(env, argv[2], &entry, 0) < 0)
		goto out;
	napi_is_array(env, argv[1], &is_array);
	if (!is_array || napi_get_array_length(env, argv[1], &n) != napi_ok || n > MAX_CHILD_FDS) {
		throw_type(env, "expected an array of at most 1024 fds");
		goto out;
	}
	fds = calloc(n ? n : 1, sizeof(int));
	if (!fds) {
		throw_errno(env, ENOMEM, "spawn", file);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		int64_t fd;
		napi_get_element(env, argv[1], i, &v);
		if (arg_int(env, v, &fd) < 0)
			goto out;
		if (fd < 0 || fd > INT32_MAX || (fd < (int64_t)n && fd != (int64_t)i)) {
			throw_type(env, "fds[i] must be i or at least fds.length");
			goto out;
		}
		/* A closed source must fail here: otherwise socketpair could take its number. */
		if (fcntl((int)fd, F_GETFD) < 0) {
			throw_errno(env, errno, "spawn (passing fd)", file);
			goto out;
		}
		fds[i] = (int)fd;
	}
	bool nonblocking = false;
	napi_get_value_bool(env, argv[3], &nonblocking); /* not a boolean: stays false */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		throw_errno(env, errno, "socketpair", NULL);
		goto out;
	}
	if (nonblocking && fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		throw_errno(env, errno, "fcntl O_NONBLOCK", NULL);
		goto out;
	}
	/* Above every target fd, so that no dup2 below overwrites it before it is placed. */
	child_end = fcntl(sv[1], F_DUPFD_CLOEXEC, (int)n + 1);
	if (child_end < 0) {
		throw_errno(env, errno, "fcntl F_DUPFD_CLOEXEC", NULL);
		goto out;
	}

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* dup2(i, i) clears close-on-exec (glibc >= 2.29), which passes the fd on. */
	for (uint32_t i = 0; i < n; i++)
		posix_spawn_file_actions_adddup2(&fa, fds[i], (int)i);
	posix_spawn_file_actions_adddup2(&fa, child_end, (int)n);
	/* Every signal, glibc's internal 32 and 33 included: sigfillset leaves them out, and
	 * glibc's posix_spawn then sets them to SIG_IGN, which exec keeps (runc's and libuv's
	 * children have them at default). sigset_t is a plain bitmask on Linux. */
	memset(&all, 0xff, sizeof(all));
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	char *child_argv[] = { file, NULL };
	char *child_env[] = { entry, NULL };
	pid_t pid = -1;
	int err = posix_spawn(&pid, file, &fa, &at, child_argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err) {
		throw_errno(env, err, "spawn", file);
		goto out;
	}
	napi_value p, f;
	napi_create_array_with_length(env, 2, &ret);
	napi_create_int32(env, pid, &p);
	napi_create_int32(env, sv[0], &f);
	napi_set_element(env, ret, 0, p);
	napi_set_element(env, ret, 1, f);
	sv[0] = -1; /* now the caller's */
out:
	if (child_end >= 0)
		close(child_end);
	if (sv[1] >= 0)
		close(sv[1]);
	if (sv[0] >= 0)
		close(sv[0]);
	free(fds);
	free(file);
	free(entry);
	return ret;
}

/* waitpidNoHang(pid) → the raw wait status once the child has ended (and is reaped), else null. */
napi_value js_waitpid_nohang(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int64_t pid;
	if (arg_int(env, argv[0], &pid) < 0)
		return NULL;
	if (pid <= 0 || pid > INT32_MAX)
		return throw_type(env, "expected a pid");
	int status = 0;
	pid_t r;
	do
		r = waitpid((pid_t)pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "waitpid", NULL);
	napi_value v;
	if (r == 0)
		napi_get_null(env, &v);
	else
		napi_create_int32(env, status, &v);
	return v;
}
