/* Mounts and filesystem nodes. Every target inside the root is an fd from paths.c and
 * the syscall goes to /proc/self/fd/<fd>, never to a path string a symlink could redirect. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Per-mount flags mount(2) ignores on MS_BIND: they need a second, remount call. */
#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static uint64_t mount_id(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
		return 0;
	return sx.stx_mnt_id;
}

static unsigned long current_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Re-resolve `path` (which now names the mount just made on top of `oldfd`) and change
 * its per-mount flags. A user namespace locks flags inherited from the host: when
 * refused (or when asked to keep them), add the flags the mount already has. */
static int remount_bind(const char *path, int kind, int oldfd, unsigned long flags, int keep_existing)
{
	int fd;
	char p[64];
	if (resolve_target(path, kind == TARGET_HOST ? TARGET_HOST : TARGET_IN_ROOT, &fd) < 0)
		return -1;
	if (mount_id(fd) == mount_id(oldfd)) {
		close(fd);
		return fail(EBUSY, "remount %s: the new mount is not at that path", path);
	}
	fd_path(p, fd);
	unsigned long base = MS_REMOUNT | MS_BIND;
	if (keep_existing)
		flags |= current_flags(fd);
	int r = mount(NULL, p, NULL, base | flags, NULL);
	if (r < 0 && errno == EPERM && !keep_existing)
		r = mount(NULL, p, NULL, base | flags | current_flags(fd), NULL);
	int e = errno;
	close(fd);
	if (r < 0)
		return fail(e, "remount %s", path);
	return 0;
}

int op_mount(const struct op *op)
{
	char *device, *target, *fstype, *data;
	uint64_t kind, flags;
	if (want_args(op, 6, 6) < 0 || want_str(op, 0, &device) < 0 || want_str(op, 1, &target) < 0 ||
	    want_u64(op, 2, &kind) < 0 || want_str(op, 3, &fstype) < 0 || want_u64(op, 4, &flags) < 0 ||
	    want_str(op, 5, &data) < 0)
		return -1;
	int fd;
	char p[64];
	if (resolve_target(target, (int)kind, &fd) < 0)
		return -1;
	fd_path(p, fd);
	const char *what = *device ? device : *fstype ? fstype : "";
	unsigned long f = (unsigned long)flags;
	int bind = (f & MS_BIND) && !(f & MS_REMOUNT);
	unsigned long first = bind ? (f & (MS_BIND | MS_REC | MS_SILENT)) : f;
	if (mount(*device ? device : NULL, p, *fstype ? fstype : NULL, first, *data ? data : NULL) < 0) {
		int e = errno;
		close(fd);
		return fail(e, "mount %s on %s", what, target);
	}
	int r = 0;
	if (bind && (f & BIND_REMOUNT_FLAGS))
		r = remount_bind(target, (int)kind, fd, f & BIND_REMOUNT_FLAGS, 0);
	if (r == 0 && bind && (f & PROPAGATION_FLAGS)) {
		int nfd;
		char np[64];
		if (resolve_target(target, kind == TARGET_HOST ? TARGET_HOST : TARGET_IN_ROOT, &nfd) < 0) {
			close(fd);
			return -1;
		}
		fd_path(np, nfd);
		if (mount(NULL, np, NULL, f & (PROPAGATION_FLAGS | MS_REC), NULL) < 0)
			r = fail(errno, "set propagation of %s", target);
		close(nfd);
	}
	close(fd);
	return r;
}

int op_mount_setattr(const struct op *op)
{
	char *target;
	uint64_t kind, set, clr, prop, rec;
	if (want_args(op, 6, 6) < 0 || want_str(op, 0, &target) < 0 || want_u64(op, 1, &kind) < 0 ||
	    want_u64(op, 2, &set) < 0 || want_u64(op, 3, &clr) < 0 || want_u64(op, 4, &prop) < 0 ||
	    want_u64(op, 5, &rec) < 0)
		return -1;
	int fd;
	if (resolve_target(target, (int)kind, &fd) < 0)
		return -1;
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr, .propagation = prop };
	/* The kernel wants the whole atime field cleared when one atime mode is set. */
	if (set & MOUNT_ATTR__ATIME)
		attr.attr_clr |= MOUNT_ATTR__ATIME;
	int r = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof(attr));
	int e = errno;
	close(fd);
	if (r < 0)
		return fail(e, "mount_setattr %s", target);
	return 0;
}

int op_mknod(const struct op *op)
{
	char *path, *fallback;
	uint64_t mode, major, minor, uid, gid;
	if (want_args(op, 7, 7) < 0 || want_str(op, 0, &path) < 0 || want_u64(op, 1, &mode) < 0 ||
	    want_u64(op, 2, &major) < 0 || want_u64(op, 3, &minor) < 0 || want_u64(op, 4, &uid) < 0 ||
	    want_u64(op, 5, &gid) < 0 || want_str(op, 6, &fallback) < 0)
		return -1;
	int dfd;
	const char *base;
	if (resolve_parent(path, 1, &dfd, &base) < 0)
		return -1;
	int r = 0;
	if (mknodat(dfd, base, (mode_t)mode, makedev((unsigned)major, (unsigned)minor)) < 0) {
		if (errno == EEXIST)
			goto out;
		if (errno != EPERM || !*fallback) {
			r = fail(errno, "mknod %s", path);
			goto out;
		}
		/* No mknod in a user namespace: bind the host's device onto an empty file.
		 * No chown then: it would change the host's device node. */
		int f = openat(dfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (f < 0) {
			r = fail(errno, "create %s", path);
			goto out;
		}
		close(f);
		int t = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (t < 0) {
			r = fail(errno, "open %s", path);
			goto out;
		}
		char p[64];
		fd_path(p, t);
		if (mount(fallback, p, NULL, MS_BIND, NULL) < 0)
			r = fail(errno, "bind %s on %s", fallback, path);
		close(t);
		goto out;
	}
	if (fchownat(dfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = fail(errno, "chown %s", path);
out:
	close(dfd);
	return r;
}

int op_symlink(const struct op *op)
{
	char *target, *path;
	if (want_args(op, 2, 2) < 0 || want_str(op, 0, &target) < 0 || want_str(op, 1, &path) < 0)
		return -1;
	int dfd;
	const char *base;
	if (resolve_parent(path, 1, &dfd, &base) < 0)
		return -1;
	int r = symlinkat(target, dfd, base);
	int e = errno;
	close(dfd);
	if (r < 0 && e != EEXIST)
		return fail(e, "symlink %s", path);
	return 0;
}

int op_mkdir(const struct op *op)
{
	char *path;
	uint64_t mode;
	if (want_args(op, 2, 2) < 0 || want_str(op, 0, &path) < 0 || want_u64(op, 1, &mode) < 0)
		return -1;
	int fd;
	if (mkdir_in_root(path, (mode_t)mode, &fd) < 0)
		return -1;
	close(fd);
	return 0;
}

static int reopen_root(void)
{
	close(st.rootfd);
	st.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.rootfd < 0)
		return fail(errno, "open /");
	return 0;
}

int op_pivot_root(const struct op *op)
{
	(void)op;
	if (st.rootfd < 0)
		return fail(EINVAL, "pivot_root: no root set");
	if (fchdir(st.rootfd) < 0)
		return fail(errno, "chdir to root");
	/* Stack the old root on top of the new one, then detach it: no directory for it needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(errno, "pivot_root");
	/* Slave first, so the detach cannot propagate back to the host's mounts. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(errno, "unmount old root");
	if (chdir("/") < 0)
		return fail(errno, "chdir /");
	return reopen_root();
}

int op_move_root(const struct op *op)
{
	(void)op;
	if (st.rootfd < 0)
		return fail(EINVAL, "move root: no root set");
	if (fchdir(st.rootfd) < 0)
		return fail(errno, "chdir to root");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return fail(errno, "move root");
	if (chroot(".") < 0)
		return fail(errno, "chroot");
	if (chdir("/") < 0)
		return fail(errno, "chdir /");
	return reopen_root();
}

/* Paths that may be missing in an image are skipped, not errors. */
static int resolve_optional(const char *path, int *fd)
{
	if (resolve_target(path, TARGET_IN_ROOT, fd) == 0)
		return 1;
	if (fail_errno == ENOENT || fail_errno == ENOTDIR)
		return 0;
	return -1;
}

int op_mask_path(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd, found = resolve_optional(path, &fd);
	if (found <= 0)
		return found;
	struct stat sb;
	char p[64];
	fd_path(p, fd);
	int r;
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode))
		r = mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
	else
		r = mount("/dev/null", p, NULL, MS_BIND, NULL);
	int e = errno;
	close(fd);
	if (r < 0)
		return fail(e, "mask %s", path);
	return 0;
}

int op_readonly_path(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	int fd, found = resolve_optional(path, &fd);
	if (found <= 0)
		return found;
	char p[64];
	fd_path(p, fd);
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
		int e = errno;
		close(fd);
		return fail(e, "bind %s read-only", path);
	}
	int r = remount_bind(path, TARGET_IN_ROOT, fd, MS_RDONLY, 1);
	close(fd);
	return r;
}
