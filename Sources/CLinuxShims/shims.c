#define _GNU_SOURCE
#include "CLinuxShims.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <sched.h>
#include <pthread.h>

const unsigned long appattach_LOOP_CTL_GET_FREE = LOOP_CTL_GET_FREE;
const unsigned long appattach_LOOP_CTL_REMOVE = LOOP_CTL_REMOVE;
const unsigned long appattach_LOOP_CONFIGURE = LOOP_CONFIGURE;
const unsigned long appattach_LOOP_SET_FD = LOOP_SET_FD;
const unsigned long appattach_LOOP_SET_STATUS64 = LOOP_SET_STATUS64;
const unsigned long appattach_LOOP_GET_STATUS64 = LOOP_GET_STATUS64;
const unsigned long appattach_LOOP_CLR_FD = LOOP_CLR_FD;
const unsigned long appattach_BLKGETSIZE64 = BLKGETSIZE64;
const unsigned long appattach_FICLONE = FICLONE;

const int appattach_FALLOC_FL_INSERT_RANGE = FALLOC_FL_INSERT_RANGE;
const int appattach_FALLOC_FL_KEEP_SIZE = FALLOC_FL_KEEP_SIZE;
const int appattach_FALLOC_FL_PUNCH_HOLE = FALLOC_FL_PUNCH_HOLE;

const uint64_t appattach_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t appattach_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t appattach_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t appattach_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const int appattach_O_PATH = O_PATH;
const int appattach_O_DIRECT = O_DIRECT;

int appattach_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

int64_t appattach_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                  uint64_t length, unsigned int flags) {
    return (int64_t)syscall(SYS_copy_file_range, fd_in, (loff_t *)off_in, fd_out,
                            (loff_t *)off_out, (size_t)length, flags);
}

int appattach_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* 32-bit x86 and arm keep 16-bit ids behind the plain numbers; the *32 calls take full ids. */
#if defined(SYS_setresuid32)
#define APPATTACH_SYS_SETRESUID SYS_setresuid32
#define APPATTACH_SYS_SETRESGID SYS_setresgid32
#define APPATTACH_SYS_SETGROUPS SYS_setgroups32
#define APPATTACH_SYS_GETRESUID SYS_getresuid32
#else
#define APPATTACH_SYS_SETRESUID SYS_setresuid
#define APPATTACH_SYS_SETRESGID SYS_setresgid
#define APPATTACH_SYS_SETGROUPS SYS_setgroups
#define APPATTACH_SYS_GETRESUID SYS_getresuid
#endif

int appattach_thread_setgroups(size_t count, const gid_t *groups) {
    return (int)syscall(APPATTACH_SYS_SETGROUPS, count, groups);
}

int appattach_thread_setresuid(uid_t real, uid_t effective, uid_t saved) {
    return (int)syscall(APPATTACH_SYS_SETRESUID, real, effective, saved);
}

int appattach_thread_setresgid(gid_t real, gid_t effective, gid_t saved) {
    return (int)syscall(APPATTACH_SYS_SETRESGID, real, effective, saved);
}

int appattach_thread_getresuid(uid_t *real, uid_t *effective, uid_t *saved) {
    return (int)syscall(APPATTACH_SYS_GETRESUID, real, effective, saved);
}

int appattach_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

int appattach_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }

int appattach_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int appattach_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

int appattach_is_mount_root(const char *path) {
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &stx) != 0) return -1;
    if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -2;
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int appattach_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

const unsigned int appattach_RENAME_EXCHANGE = RENAME_EXCHANGE;
const unsigned int appattach_RENAME_NOREPLACE = RENAME_NOREPLACE;

int appattach_syncfs(int fd) { return syncfs(fd); }

ssize_t appattach_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }

ssize_t appattach_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}

int appattach_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
    return fsetxattr(fd, name, value, size, flags);
}

static uint32_t crc32c_table[256];

__attribute__((constructor)) static void crc32c_table_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[n] = c;
    }
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        __builtin_memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8; n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t appattach_crc32c_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = bytes;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42(crc, p, length);
#endif
    while (length--) crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

const int appattach_CLONE_NEWUSER = CLONE_NEWUSER;
const int appattach_CLONE_NEWNS = CLONE_NEWNS;

int appattach_unshare(int flags) { return unshare(flags); }

int appattach_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int appattach_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }
