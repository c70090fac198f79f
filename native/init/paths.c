/* Safe resolution of paths inside the container root. A symlink in the image can
 * point anywhere; it must never send a mount or a mknod to the host. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_DEPTH 256
#define MAX_LINKS 40

void fd_path(char buf[64], int fd)
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

static int openat2_in_root(const char *path, int *fd_out)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, st.rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		return -1;
	*fd_out = fd;
	return 0;
}

/* Walk `path` one component at a time with fds, creating what is missing. Symlinks are
 * read and their targets spliced in front of the rest, absolute ones from the root;
 * ".." pops our own stack, so nothing can climb above the root. */
static int walk_create(const char *path, int kind, mode_t dirmode, int *fd_out)
{
	static char rest[2 * PATH_MAX + 2], tmp[2 * PATH_MAX + 2], link[PATH_MAX];
	int stack[MAX_DEPTH], depth = 0, links = 0, ret = -1;
	if (strlen(path) >= PATH_MAX)
		return fail(ENAMETOOLONG, "resolve %s", path);
	strcpy(rest, path);
	stack[0] = fcntl(st.rootfd, F_DUPFD_CLOEXEC, 0);
	if (stack[0] < 0)
		return fail(errno, "dup root");
	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *c = p;
		while (*p && *p != '/')
			p++;
		int last = 1;
		for (char *q = p; *q; q++)
			if (*q != '/') {
				last = 0;
				break;
			}
		if (*p)
			*p++ = 0;
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		int parent = stack[depth];
		int fd = openat(parent, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (last && kind == TARGET_CREATE_FILE) {
				int f = openat(parent, c, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (f < 0 && errno != EEXIST) {
					fail(errno, "create %s", path);
					goto out;
				}
				if (f >= 0)
					close(f);
			} else if (mkdirat(parent, c, dirmode) < 0 && errno != EEXIST) {
				fail(errno, "mkdir %s", path);
				goto out;
			}
			fd = openat(parent, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			fail(errno, "resolve %s", path);
			goto out;
		}
		struct stat sb;
		if (fstatat(fd, "", &sb, AT_EMPTY_PATH) < 0) {
			fail(errno, "stat %s", path);
			close(fd);
			goto out;
		}
		if (S_ISLNK(sb.st_mode)) {
			ssize_t n = readlinkat(fd, "", link, sizeof(link) - 1);
			close(fd);
			if (n < 0 || ++links > MAX_LINKS) {
				fail(n < 0 ? errno : ELOOP, "resolve %s", path);
				goto out;
			}
			link[n] = 0;
			if (strlen(link) + 1 + strlen(p) >= sizeof(tmp)) {
				fail(ENAMETOOLONG, "resolve %s", path);
				goto out;
			}
			size_t ll = strlen(link), pl = strlen(p);
			memcpy(tmp, link, ll);
			tmp[ll] = '/';
			memcpy(tmp + ll + 1, p, pl + 1);
			memcpy(rest, tmp, ll + pl + 2);
			p = rest;
			if (link[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			continue;
		}
		if (!last && !S_ISDIR(sb.st_mode)) {
			close(fd);
			fail(ENOTDIR, "resolve %s", path);
			goto out;
		}
		if (depth + 1 >= MAX_DEPTH) {
			close(fd);
			fail(ENAMETOOLONG, "resolve %s", path);
			goto out;
		}
		stack[++depth] = fd;
	}
	*fd_out = stack[depth--];
	ret = 0;
out:
	while (depth >= 0)
		close(stack[depth--]);
	return ret;
}

int resolve_target(const char *path, int kind, int *fd_out)
{
	if (kind == TARGET_HOST) {
		int fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return fail(errno, "open %s", path);
		*fd_out = fd;
		return 0;
	}
	if (st.rootfd < 0)
		return fail(EINVAL, "no root set for %s", path);
	if (openat2_in_root(path, fd_out) == 0)
		return 0;
	if (errno != ENOENT || (kind != TARGET_CREATE_DIR && kind != TARGET_CREATE_FILE))
		return fail(errno, "resolve %s", path);
	return walk_create(path, kind, 0755, fd_out);
}

int mkdir_in_root(const char *path, mode_t mode, int *fd_out)
{
	if (st.rootfd < 0)
		return fail(EINVAL, "no root set for %s", path);
	if (openat2_in_root(path, fd_out) == 0)
		return 0;
	if (errno != ENOENT)
		return fail(errno, "resolve %s", path);
	return walk_create(path, TARGET_CREATE_DIR, mode, fd_out);
}

/* The directory holding `path` (resolved, created when asked) and its last component. */
int resolve_parent(const char *path, int create, int *dirfd, const char **base)
{
	static char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;
	if (!*b || !strcmp(b, ".") || !strcmp(b, ".."))
		return fail(EINVAL, "bad path %s", path);
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	if (dlen >= sizeof(dir))
		return fail(ENAMETOOLONG, "resolve %s", path);
	memcpy(dir, path, dlen);
	dir[dlen] = 0;
	if (!dlen)
		strcpy(dir, "/");
	*base = b;
	return resolve_target(dir, create ? TARGET_CREATE_DIR : TARGET_IN_ROOT, dirfd);
}

int connect_unix(const char *path, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(ENAMETOOLONG, "%s %s", what, path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "%s: socket", what);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return fail(e, "%s %s", what, path);
	}
	return fd;
}
