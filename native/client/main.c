/*
 * The `carton` and `carton-runtime` commands (bin/ links to build/Release/carton-cli and
 * carton-runtime-cli).
 *
 * Node needs ~22 ms of CPU to start before any Carton code runs, as much as all of
 * `runc run`. When a prestart pool runs (`carton-runtime prestart`, docs/prestart.md),
 * this program claims a worker that has already started Node and loaded Carton, hands it
 * its arguments, environment and stdio, and stays in between: it forwards signals to the worker,
 * starts carton-init when the worker asks (so that the container is a descendant of the
 * caller, as engines and subreapers expect), reports the init's end, and exits with the
 * worker's exit status. Without a pool, or when the worker refuses (other namespaces,
 * credentials, limits, or another build of Carton), it execs Node on bin/<program>.js,
 * as the command always did. It decides nothing about containers.
 */
#define _GNU_SOURCE
#include "../common/frame.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

/* One source, two executables (binding.gyp): carton-runtime-cli and carton-cli. */
#ifdef CARTON_CLI_RUNTIME
#define CARTON_PROGRAM "carton-runtime"
#else
#define CARTON_PROGRAM "carton"
#endif

extern char **environ;

static char root[PATH_MAX];
static int conn = -1, sigfd = -1;

/* Signals a terminal or a supervisor sends to the command, passed on to the worker. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH };

/* The checkout or package root: this file is <root>/build/Release/<program>. */
static int find_root(void)
{
	ssize_t n = readlink("/proc/self/exe", root, sizeof(root) - 1);
	if (n <= 0)
		return -1;
	root[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(root, '/');
		if (!slash || slash == root)
			return -1;
		*slash = 0;
	}
	return 0;
}

static void run_node(char **argv)
{
	char script[PATH_MAX];
	int argc = 0;
	while (argv[argc])
		argc++;
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args || snprintf(script, sizeof(script), "%s/bin/%s.js", root, CARTON_PROGRAM) >= (int)sizeof(script)) {
		fprintf(stderr, "%s: cannot find its scripts\n", CARTON_PROGRAM);
		exit(127);
	}
	args[0] = "node";
	args[1] = script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execvp("node", args);
	fprintf(stderr, "%s: cannot run node: %s\n", CARTON_PROGRAM, strerror(errno));
	exit(127);
}

/* Which build of Carton this is: the worker must have loaded the same bundle file. */
static int identity(char *out, size_t size)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/dist/bundle/%s.js", root, CARTON_PROGRAM) >= (int)sizeof(path) || stat(path, &st) < 0)
		return -1;
	int n = snprintf(out, size, "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int put(struct buf *b, const char *s)
{
	size_t n = strlen(s) + 1;
	if (b->len + n > FRAME_MAX_PAYLOAD)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/*
 * Claim a waiting worker: each listens on a socket of its own, <dir>/<program>.w<pid>.
 * Renaming it to a name of this process's is atomic, so exactly one caller gets each
 * worker and finds it waiting (no timing guess). A socket whose worker has died refuses the
 * connection and the next is tried. The connected socket, or -1 when none is waiting.
 */
static int claim_worker(const char *dir, pid_t *worker)
{
	char prefix[32];
	int fd = -1;
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "%s.w", CARTON_PROGRAM);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	for (struct dirent *e; fd < 0 && (e = readdir(d));) {
		char *end;
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		long pid = strtol(e->d_name + plen, &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue; /* not a waiting worker's socket (.t<pid> while it sets up) */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char from[PATH_MAX];
		if (snprintf(from, sizeof(from), "%s/%s", dir, e->d_name) >= (int)sizeof(from) ||
		    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/claimed.%d.%ld", dir, (int)getpid(), pid) >= (int)sizeof(sa.sun_path))
			continue;
		if (rename(from, sa.sun_path) < 0)
			continue; /* another caller was first */
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		/* Only a worker of this very user gets the caller's stdio and environment; its pid
		 * (for passing signals on) is the kernel's word, not the file name's. */
		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid() && cred.pid > 0) {
			fd = s;
			*worker = cred.pid;
		} else if (s >= 0) {
			close(s);
		}
		unlink(sa.sun_path);
	}
	closedir(d);
	return fd;
}

/* Claim a worker and send it the request; its pid, or -1 (then Node runs the command here). */
static pid_t request(char **argv)
{
	const char *dir = getenv("CARTON_PRESTART_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	char ident[128], own[PATH_MAX];
	pid_t worker = -1;
	/* The pool's default place: root's, or a user's own under $XDG_RUNTIME_DIR (as the state root). */
	if ((!dir || !*dir) && geteuid() == 0)
		dir = "/run/carton-prestart";
	else if ((!dir || !*dir) && xdg && *xdg && snprintf(own, sizeof(own), "%s/carton-prestart", xdg) < (int)sizeof(own))
		dir = own;
	else if (!dir || !*dir)
		return -1;
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return -1;
	if (identity(ident, sizeof(ident)) < 0 || (conn = claim_worker(dir, &worker)) < 0)
		return -1;

	struct buf b = { 0 };
	char count[16];
	int argc = 0;
	while (argv[argc])
		argc++;
	snprintf(count, sizeof(count), "%d", argc - 1);
	int bad = put(&b, ident) || put(&b, count);
	for (int i = 1; i < argc && !bad; i++)
		bad = put(&b, argv[i]);
	for (char **e = environ; e && *e && !bad; e++)
		bad = put(&b, *e);
	static const int stdio[3] = { 0, 1, 2 };
	bad = bad || frame_send(conn, 'Q', b.p, (uint32_t)b.len, stdio, 3) < 0;
	free(b.p);
	if (bad) {
		close(conn);
		conn = -1;
		return -1;
	}
	return worker;
}

static void send_ints(char type, int32_t a, int32_t b)
{
	int32_t v[2] = { a, b };
	frame_send(conn, type, v, sizeof(v), NULL, 0); /* a worker that is gone shows as EOF */
}

/*
 * 'S': start carton-init as the worker says. Payload "file\0env\0n\0slot_0\0…slot_n-1\0";
 * slot -1 passes this process's own fd i on, slot k the frame's fd k; the frame's last fd
 * becomes the init's fd n (its socket to the worker). Nothing else is inherited: every
 * signal at its default, an empty mask, `env` its only environment.
 */
static void spawn_init(struct frame *f)
{
	char *fields[1030];
	int nf = 0;
	for (size_t off = 0; off < f->len && nf < 1030; off += strlen(f->payload + off) + 1)
		fields[nf++] = f->payload + off;
	long n = nf >= 3 ? strtol(fields[2], NULL, 10) : -1;
	if (n < 0 || n > 1024 || nf != 3 + n || f->nfds < 1) {
		send_ints('P', -1, EPROTO);
		return;
	}
	int slots[1024];
	for (long i = 0; i < n; i++) {
		slots[i] = (int)strtol(fields[3 + i], NULL, 10);
		int own = slots[i] == -1 && (i == conn || i == sigfd || fcntl((int)i, F_GETFD) < 0);
		if (own || slots[i] < -1 || slots[i] >= f->nfds - 1) {
			send_ints('P', -1, EBADF);
			return;
		}
	}
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		send_ints('P', -1, errno);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int moved[FRAME_MAX_FDS];
		for (int k = 0; k < f->nfds; k++)
			if ((moved[k] = fcntl(f->fds[k], F_DUPFD_CLOEXEC, (int)n + 1)) < 0)
				goto fail;
		for (long i = 0; i < n; i++) {
			int r = slots[i] == -1 ? fcntl((int)i, F_SETFD, 0) : dup2(moved[slots[i]], (int)i);
			if (r < 0)
				goto fail;
		}
		if (dup2(moved[f->nfds - 1], (int)n) < 0)
			goto fail;
		char *args[] = { fields[0], NULL };
		char *env[] = { fields[1], NULL };
		execve(fields[0], args, env);
	fail:;
		int e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	int err = pid < 0 ? errno : 0;
	close(errpipe[1]);
	if (pid > 0) {
		ssize_t r;
		do
			r = read(errpipe[0], &err, sizeof(err));
		while (r < 0 && errno == EINTR);
		if (r == sizeof(err))
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		else
			err = 0;
	}
	close(errpipe[0]);
	send_ints('P', err ? -1 : pid, err);
}

/*
 * Stand between the caller and the worker until the worker's exit status arrives. Returns
 * only when the worker refused ('N') or ended before saying yes ('Y'): it has done nothing,
 * and Node runs the command here instead.
 */
static void serve(pid_t worker)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	int last = 0, accepted = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = conn, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if ((int)si.ssi_signo == SIGCHLD) {
					int st;
					pid_t pid;
					while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
						send_ints('R', pid, st);
				} else {
					kill(worker, (int)si.ssi_signo);
					last = (int)si.ssi_signo;
				}
			}
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		struct frame f;
		if (frame_recv(conn, &f, 0) != 1)
			break;
		if (f.type == 'X' && f.len == sizeof(int32_t)) {
			int32_t code;
			memcpy(&code, f.payload, sizeof(code));
			exit(code & 0xff);
		}
		if (f.type == 'Y' && !accepted) {
			accepted = 1;
			if (getenv("CARTON_PRESTART_DEBUG"))
				fprintf(stderr, "%s: prestarted worker %d\n", CARTON_PROGRAM, (int)worker);
		} else if (f.type == 'N' && !accepted) {
			if (getenv("CARTON_PRESTART_DEBUG"))
				fprintf(stderr, "%s: prestarted worker refused: %s\n", CARTON_PROGRAM, f.payload);
			frame_free(&f);
			break;
		} else if (f.type == 'S' && accepted) {
			spawn_init(&f);
		}
		frame_free(&f);
	}
	if (!accepted) {
		close(sigfd);
		close(conn);
		sigfd = conn = -1;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	/* The worker ended without a status: killed by a signal passed on, as Node would have been. */
	if (last && last != SIGWINCH) {
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, last);
		signal(last, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(last);
	}
	fprintf(stderr, "%s: the prestarted worker ended without an exit status\n", CARTON_PROGRAM);
	exit(strcmp(CARTON_PROGRAM, "carton") == 0 ? 125 : 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (find_root() < 0) {
		fprintf(stderr, "%s: cannot tell where it is installed (/proc/self/exe)\n", CARTON_PROGRAM);
		return 127;
	}
	const char *use = getenv("CARTON_PRESTART");
	if (!use || strcmp(use, "0") != 0) {
		pid_t worker = request(argv);
		if (worker > 0)
			serve(worker);
	}
	run_node(argv);
	return 127;
}
