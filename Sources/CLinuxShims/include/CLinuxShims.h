// Linux interfaces that Swift cannot import on its own: ioctl numbers built by
// the _IO* macros, <linux/loop.h> structures, and system calls without a glibc
// wrapper. Every symbol is prefixed `appattach_`.
#ifndef APPATTACH_CLINUXSHIMS_H
#define APPATTACH_CLINUXSHIMS_H

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/loop.h>
#include <linux/falloc.h>
#include <linux/fs.h>

extern const unsigned long appattach_LOOP_CTL_GET_FREE;
extern const unsigned long appattach_LOOP_CTL_REMOVE;
extern const unsigned long appattach_LOOP_CONFIGURE;
extern const unsigned long appattach_LOOP_SET_FD;
extern const unsigned long appattach_LOOP_SET_STATUS64;
extern const unsigned long appattach_LOOP_GET_STATUS64;
extern const unsigned long appattach_LOOP_CLR_FD;
extern const unsigned long appattach_BLKGETSIZE64;
extern const unsigned long appattach_FICLONE;

extern const int appattach_FALLOC_FL_INSERT_RANGE;
extern const int appattach_FALLOC_FL_KEEP_SIZE;
extern const int appattach_FALLOC_FL_PUNCH_HOLE;

/// fallocate(2) with 64-bit offsets.
int appattach_fallocate(int fd, int mode, int64_t offset, int64_t length);

/// copy_file_range(2), called through syscall(2) so that old glibc works too.
int64_t appattach_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                  uint64_t length, unsigned int flags);

/// openat2(2) with RESOLVE_* flags (no glibc wrapper in Debian 12).
int appattach_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

extern const uint64_t appattach_RESOLVE_BENEATH;
extern const uint64_t appattach_RESOLVE_NO_SYMLINKS;
extern const uint64_t appattach_RESOLVE_NO_MAGICLINKS;
extern const uint64_t appattach_RESOLVE_NO_XDEV;
/// O_PATH, which glibc's headers hide without _GNU_SOURCE.
extern const int appattach_O_PATH;
/// O_DIRECT, likewise hidden without _GNU_SOURCE.
extern const int appattach_O_DIRECT;

/// Credentials of the calling thread only. glibc's setgroups/setresuid/setresgid
/// change every thread of the process (they broadcast through a signal), which a
/// daemon that acts for one user on one worker thread must not do; the raw system
/// calls change just the caller. Return 0, or -1 with errno set.
int appattach_thread_setgroups(size_t count, const gid_t *groups);
int appattach_thread_setresuid(uid_t real, uid_t effective, uid_t saved);
int appattach_thread_setresgid(gid_t real, gid_t effective, gid_t saved);
/// The calling thread's user ids (getresuid(2) is per thread already; named for symmetry).
int appattach_thread_getresuid(uid_t *real, uid_t *effective, uid_t *saved);
/// prctl(PR_GET_DUMPABLE) and prctl(PR_SET_DUMPABLE) (prctl is variadic, which Swift cannot call).
int appattach_get_dumpable(void);
int appattach_set_dumpable(int dumpable);

// SO_PEERCRED's struct ucred and accept4 are visible only with _GNU_SOURCE, which a
// Swift import does not define: the shim does. Each returns -1 with errno set on failure.
int appattach_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
int appattach_accept_cloexec(int fd);

/// Whether `path` is the root of a mount: 1 yes, 0 no, -1 error (errno set), -2 the kernel
/// cannot tell (no STATX_ATTR_MOUNT_ROOT before Linux 5.8). The final symlink is not followed.
int appattach_is_mount_root(const char *path);

/// renameat2(2) (glibc hides it without _GNU_SOURCE); flags below.
int appattach_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
extern const unsigned int appattach_RENAME_EXCHANGE;
extern const unsigned int appattach_RENAME_NOREPLACE;
/// syncfs(2): writes back every dirty inode and the journal of the file system holding `fd`.
int appattach_syncfs(int fd);
/// The extended attribute calls on an open descriptor (<sys/xattr.h>).
ssize_t appattach_flistxattr(int fd, char *list, size_t size);
ssize_t appattach_fgetxattr(int fd, const char *name, void *value, size_t size);
int appattach_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);

/// CRC-32C (Castagnoli) update over `length` bytes, with the SSE4.2 `crc32` instruction where
/// the CPU has it and a table otherwise. `crc` is the running value (start with 0xFFFFFFFF;
/// complement the result).
uint32_t appattach_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// unshare(2) with the namespace flags glibc hides without _GNU_SOURCE. Returns 0, or -1 with
/// errno set (EINVAL for CLONE_NEWUSER in a process with more than one thread).
int appattach_unshare(int flags);
extern const int appattach_CLONE_NEWUSER;
extern const int appattach_CLONE_NEWNS;


/// pipe2(2) and pthread_setname_np(3), which glibc hides without _GNU_SOURCE.
int appattach_pipe_cloexec(int fds[2]);
int appattach_set_thread_name(pthread_t thread, const char *name);
#endif
