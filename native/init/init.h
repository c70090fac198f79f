/* carton-init: shared declarations. The init runs a plan of ops sent by TypeScript;
 * see docs/protocol.md. Every op handler returns 0, or -1 after calling fail(). */
#ifndef CARTON_INIT_H
#define CARTON_INIT_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "../common/scm.h" /* send_fd */

enum { ARG_U64 = 1, ARG_BYTES = 2 };

struct arg {
	int tag;
	uint64_t u;
	char *s;       /* NUL-terminated copy for ARG_BYTES */
	uint32_t len;  /* byte length without the NUL */
};

struct op {
	uint32_t code;
	uint32_t argc;
	struct arg *args;
};

/* Host → init and init → host message types (src/plan/ops.ts). */
enum { MSG_PLAN = 1, MSG_CONTINUE = 2 };
enum { MSG_PID = 10, MSG_SYNC = 11, MSG_READY = 12, MSG_ERROR = 13, MSG_EXIT = 14, MSG_STARTED = 15 };
#define NO_OP_INDEX 0xffffffffu

/* What earlier ops left for later ones. Every fd here is close-on-exec. */
struct state {
	int sock;            /* socket to carton-runtime */
	int rootfd;          /* SET_ROOT, then "/" after PIVOT_ROOT */
	int fifofd;          /* OPEN_FIFO */
	int console_sock;    /* CONSOLE_SOCKET */
	int agent_sock;      /* SECCOMP_LISTENER_SOCKET */
	int exec_pipe;       /* FORK WAIT child: write end, closed by execve */
	int umask_set;       /* UMASK ran */
	char *lookup_path;   /* LOOKUP result */
	char *lookup_argv0;
	char *program;       /* PROGRAM: the file EXEC runs, whatever argv[0] says */
	char *cont_payload;  /* last CONTINUE payload */
	uint32_t cont_len;
	uint32_t index;      /* op being run */
};
extern struct state st;

/* Error reporting: remember errno and a short message; the main loop sends ERROR. */
int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int fail_errno;
extern char fail_msg[512];
void send_error_and_exit(uint32_t index, int err, const char *msg, int code) __attribute__((noreturn));

/* protocol.c */
int send_frame(uint32_t type, const void *a, size_t alen, const void *b, size_t blen);
int read_frame(uint32_t *type, char **payload, uint32_t *len);
int parse_plan(char *payload, uint32_t len, struct op **ops, uint32_t *count);
int want_args(const struct op *op, uint32_t min, uint32_t max);
int want_u64(const struct op *op, uint32_t i, uint64_t *out);
int want_str(const struct op *op, uint32_t i, char **out);
int wait_continue(void);

/* ns.c */
int op_unshare(const struct op *op);
int op_setns(const struct op *op);
int op_sync(const struct op *op);
int op_fork(const struct op *op);
int op_timens_offsets(const struct op *op);
int op_loopback_up(const struct op *op);

/* paths.c */
enum { TARGET_HOST = 0, TARGET_IN_ROOT = 1, TARGET_CREATE_DIR = 2, TARGET_CREATE_FILE = 3 };
int resolve_target(const char *path, int kind, int *fd_out);
int resolve_parent(const char *path, int create, int *dirfd, const char **base);
int mkdir_in_root(const char *path, mode_t mode, int *fd_out);
void fd_path(char buf[64], int fd);
int connect_unix(const char *path, const char *what);

/* mounts.c */
int op_mount(const struct op *op);
int op_mount_setattr(const struct op *op);
int op_mknod(const struct op *op);
int op_symlink(const struct op *op);
int op_mkdir(const struct op *op);
int op_pivot_root(const struct op *op);
int op_move_root(const struct op *op);
int op_mask_path(const struct op *op);
int op_readonly_path(const struct op *op);

/* process.c */
int op_write_file(const struct op *op);
int op_sethostname(const struct op *op);
int op_setdomainname(const struct op *op);
int op_setrlimit(const struct op *op);
int op_umask(const struct op *op);
int op_set_user(const struct op *op);
int op_caps(const struct op *op);
int op_no_new_privs(const struct op *op);
int op_personality(const struct op *op);
int op_set_dumpable(const struct op *op);
int op_setsid(const struct op *op);
int op_chdir(const struct op *op);
int op_close_fds(const struct op *op);

/* security.c */
int op_seccomp(const struct op *op);
int op_console(const struct op *op);

/* exec.c */
int op_console_socket(const struct op *op);
int op_listener_socket(const struct op *op);
int op_program(const struct op *op);
int op_open_fifo(const struct op *op);
int op_set_root(const struct op *op);
int op_ready(const struct op *op);
int op_wait_start(const struct op *op);
int op_lookup(const struct op *op);
int op_exec(const struct op *op);

#endif
