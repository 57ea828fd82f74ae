/* fsutil.h: files that appear whole or not at all, directories, locks.
 *
 * An atomic file is written under a temporary name in the directory of
 * its final name (".NAME.tmp.PID.XXXXXX"), then flushed, fsync'ed,
 * renamed and the directory fsync'ed.  Whatever fails before the rename,
 * nothing appears under the final name.  A temporary left by a process
 * that died is recognised by its dead PID and removed by
 * mdas_remove_stale_temps().
 */
#ifndef MDAS_FSUTIL_H
#define MDAS_FSUTIL_H

#include <stdio.h>
#include <sys/types.h>

#include "error.h"

struct mdas_atomic;

/* Creates the temporary file for final_path.  Returns NULL on failure
 * (the message names the directory and the reason). */
struct mdas_atomic *mdas_atomic_open(const char *final_path, struct mdas_error *err);
/* The stream to write to; owned by a. */
FILE *mdas_atomic_fp(struct mdas_atomic *a);
const char *mdas_atomic_tmp_path(const struct mdas_atomic *a);
const char *mdas_atomic_final_path(const struct mdas_atomic *a);

/* Flushes, fsyncs, gives the file mode 0666 & ~umask and moves it to its
 * final name.  Without overwrite, an existing final file is an error
 * (errnum EEXIST) and is left untouched.  Frees a whatever happens; on
 * failure the temporary is removed. */
int mdas_atomic_commit(struct mdas_atomic *a, int overwrite, struct mdas_error *err);
/* Removes the temporary and frees a; NULL is accepted. */
void mdas_atomic_abort(struct mdas_atomic *a);

/* Writes data to path atomically (overwriting). */
int mdas_write_file_atomic(const char *path, const void *data, size_t len,
    struct mdas_error *err);

/* Like mkdir -p. */
int mdas_mkdir_p(const char *path, mode_t mode, struct mdas_error *err);
/* fsync of a directory, so a rename in it survives a crash. */
int mdas_fsync_dir(const char *dir, struct mdas_error *err);
/* Removes temporaries in dir whose writer is no longer running: names
 * ".NAME.tmp.PID.XXXXXX" (exactly: six letters or digits last, as
 * mkstemp makes them) of a dead PID that are our own (uid) regular
 * files or symbolic links (a link is removed, never followed).  Returns
 * how many were removed, or -1. */
int mdas_remove_stale_temps(const char *dir, struct mdas_error *err);

/* Opens name in dfd (AT_FDCWD: a path) with flags (O_RDONLY, O_WRONLY or
 * O_RDWR, plus O_CREAT, O_APPEND...; mode for O_CREAT), never through a
 * symbolic link and only when it is a regular file.  The open itself is
 * non-blocking: a FIFO or a device at the name is refused at once instead
 * of waiting for a peer (a FIFO opened for reading blocks until a writer
 * comes), and the descriptor returned is blocking again.  Returns it, or
 * -1 with errno (ELOOP for a symbolic link); for anything but a regular
 * file also *not_regular = 1 (not_regular may be NULL). */
int mdas_open_regular_at(int dfd, const char *name, int flags, mode_t mode,
    int *not_regular);

/* Opens path for appending, creating it (mode 0666 & ~umask) when
 * missing, never through a symbolic link (O_NOFOLLOW) and only when it is
 * a regular file.  Each write(2) of a whole line then lands at the end,
 * also with other appenders.  Returns the descriptor, or -1. */
int mdas_open_append(const char *path, struct mdas_error *err);

/* True when a process with this PID exists (possibly another user's)
 * and is not a zombie (dead, not yet reaped).  A reused PID reads as alive: cleaners then keep a stale file a while
 * longer, never remove a live one. */
int mdas_pid_alive(long pid);

/* Opens (creating, never through a symbolic link) path and takes an exclusive flock on it.  With wait 0,
 * a lock held elsewhere fails at once with errnum EWOULDBLOCK.  Returns
 * the descriptor that holds the lock, or -1. */
int mdas_lock_acquire(const char *path, int wait, struct mdas_error *err);
/* Releases the lock; -1 is accepted. */
void mdas_lock_release(int fd);

/* Directory part of path ("." when there is none), into buf of size n. */
void mdas_dirname(const char *path, char *buf, size_t n);

#endif
