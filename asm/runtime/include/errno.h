#ifndef _EMU_ERRNO_H
#define _EMU_ERRNO_H
extern int errno;
#define EPERM 1
#define ENOENT 2
#define EBADF 9
#define ENOMEM 12
#define EFAULT 14
#define EEXIST 17
#define EINVAL 22
#define ENOSYS 38
#endif
