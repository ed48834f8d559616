"""Linux errno values the syscalls return (negated, in rax)."""

EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
EBADF = 9
ECHILD = 10
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
EEXIST = 17
ENODEV = 19
ENOTDIR = 20
EINVAL = 22
EMFILE = 24
ESPIPE = 29
EPIPE = 32
ERANGE = 34
ENOSYS = 38
EOPNOTSUPP = 95
ENOTTY = 25

NAMES = {value: name for name, value in dict(globals()).items()
         if name.startswith("E") and isinstance(value, int)}
