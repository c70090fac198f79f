/*
 * Passing one file descriptor over a unix socket (SCM_RIGHTS). Shared by the addon
 * (carton.node) and the static carton-init: both hand fds to the other side of a
 * socket (console pty master, seccomp listener) in the same message shape, so the
 * receiver (the addon's recvFd) reads either the same way.
 */
#ifndef CARTON_COMMON_SCM_H
#define CARTON_COMMON_SCM_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Send fd with msg (len bytes) as the payload; an empty payload is sent as one zero
 * byte because a message with no data does not carry its control part. Retries on
 * EINTR; never raises SIGPIPE. Returns 0, or -1 with errno set by sendmsg.
 * Hidden so that the addon does not export it into node's symbol space.
 */
__attribute__((visibility("hidden"))) int send_fd(int sock, int fd, const char *msg, size_t len);

/*
 * The fds a received message carries (SCM_RIGHTS): the first `max` go to out[], any more are
 * closed (a sender cannot make the receiver leak them). Returns how many went to out[].
 */
__attribute__((visibility("hidden"))) int take_fds(struct msghdr *mh, int *out, int max);

#endif
