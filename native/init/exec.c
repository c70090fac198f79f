/* Host sockets and fifo, READY / WAIT_START, and the final execve. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int op_console_socket(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd = connect_unix(path, "connect console socket");
	if (fd < 0)
		return -1;
	if (st.console_sock >= 0)
		close(st.console_sock);
	st.console_sock = fd;
	return 0;
}

int op_listener_socket(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd = connect_unix(path, "connect seccomp listener socket");
	if (fd < 0)
		return -1;
	if (st.agent_sock >= 0)
		close(st.agent_sock);
	st.agent_sock = fd;
	return 0;
}

int op_open_fifo(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", path);
	st.fifofd = fd;
	return 0;
}

int op_set_root(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open root %s", path);
	if (st.rootfd >= 0)
		close(st.rootfd);
	st.rootfd = fd;
	return 0;
}

int op_ready(const struct op *op)
{
	(void)op;
	if (send_frame(MSG_READY, NULL, 0, NULL, 0) < 0)
		return fail(errno, "ready: send");
	return 0;
}

int op_wait_start(const struct op *op)
{
	uint64_t mode;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &mode) < 0)
		return -1;
	if (st.fifofd < 0)
		return fail(EINVAL, "wait for start: no exec fifo");
	char p[64];
	fd_path(p, st.fifofd);
	/* Opening for writing blocks until `start` opens the fifo for reading. */
	int fd;
	do
		fd = open(p, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return fail(errno, "open exec fifo");
	if (write(fd, "0", 1) != 1)
		return fail(errno, "write exec fifo");
	close(fd);
	close(st.fifofd);
	st.fifofd = -1;
	return 0;
}

/* What execve would say about this file, without running it. */
static int check_exec(const char *p)
{
	struct stat sb;
	if (stat(p, &sb) < 0)
		return errno == ENOTDIR ? ENOENT : errno;
	if (!S_ISREG(sb.st_mode))
		return EACCES;
	if (faccessat(AT_FDCWD, p, X_OK, AT_EACCESS) < 0)
		return errno;
	return 0;
}

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* execvp's search: the first executable match wins; EACCES if something matched but
 * could not be run, else ENOENT. Returns 0 or an errno. */
static int find_program(const char *file, char **env, size_t envc, char **out)
{
	if (strchr(file, '/')) {
		int e = check_exec(file);
		if (!e)
			*out = strdup(file);
		return e;
	}
	if (!*file)
		return ENOENT;
	const char *path = DEFAULT_PATH;
	for (size_t i = 0; i < envc; i++)
		if (!strncmp(env[i], "PATH=", 5))
			path = env[i] + 5;
	int seen_eacces = 0;
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *start = p;
		while (*p && *p != ':')
			p++;
		size_t dlen = (size_t)(p - start);
		char *cand = malloc(dlen + flen + 3);
		if (!cand)
			return ENOMEM;
		if (dlen)
			memcpy(cand, start, dlen);
		else
			cand[dlen++] = '.';
		cand[dlen] = '/';
		memcpy(cand + dlen + 1, file, flen + 1);
		int e = check_exec(cand);
		if (!e) {
			*out = cand;
			return 0;
		}
		free(cand);
		if (e == EACCES)
			seen_eacces = 1;
		if (!*p)
			break;
	}
	return seen_eacces ? EACCES : ENOENT;
}

static int split_exec_args(const struct op *op, char ***argv, char ***env, size_t *envc)
{
	uint64_t n;
	if (op->argc < 2 || want_u64(op, 0, &n) < 0 || n < 1 || n > op->argc - 1)
		return fail(EINVAL, "protocol: exec needs argv");
	size_t total = op->argc - 1;
	char **v = calloc(total + 2, sizeof(char *));
	if (!v)
		return fail(ENOMEM, "malloc");
	for (size_t i = 0; i < total; i++)
		if (want_str(op, 1 + i, &v[i + (i >= n)]) < 0)
			return -1;
	/* v = argv..., NULL, env..., NULL */
	*argv = v;
	*env = v + n + 1;
	*envc = total - n;
	return 0;
}

/* OCI hooks name the file apart from argv[0] (a busybox applet, say): EXEC runs this one. */
int op_program(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	if (path[0] != '/')
		return fail(EINVAL, "program path %s is not absolute", path);
	st.program = path;
	return 0;
}

int op_lookup(const struct op *op)
{
	char **argv, **env;
	size_t envc;
	if (split_exec_args(op, &argv, &env, &envc) < 0)
		return -1;
	char *resolved = NULL;
	int e = find_program(argv[0], env, envc, &resolved);
	if (e)
		return fail(e, "exec %s", argv[0]);
	free(st.lookup_path);
	st.lookup_path = resolved;
	st.lookup_argv0 = argv[0];
	return 0;
}

int op_exec(const struct op *op)
{
	char **argv, **env;
	size_t envc;
	if (split_exec_args(op, &argv, &env, &envc) < 0)
		return -1;
	char *resolved = NULL;
	if (st.program) {
		resolved = st.program;
	} else if (st.lookup_path && st.lookup_argv0 && !strcmp(st.lookup_argv0, argv[0])) {
		resolved = st.lookup_path;
	} else {
		int e = find_program(argv[0], env, envc, &resolved);
		if (e)
			send_error_and_exit(st.index, e, "exec", e == ENOENT ? 127 : 126);
	}
	/* The container starts with default signal handling, nothing blocked, and the
	 * usual umask unless the plan set one (the init itself ran with 0). */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (!st.umask_set)
		umask(022);
	execve(resolved, argv, env);
	int e = errno;
	send_error_and_exit(st.index, e, "exec", e == ENOENT ? 127 : 126);
}
