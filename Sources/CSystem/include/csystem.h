// System calls that Glibc's Swift overlay leaves out because they need _GNU_SOURCE.
#ifndef SWIFTGAN_CSYSTEM_H
#define SWIFTGAN_CSYSTEM_H

/// syncfs(2): flushes the file system that holds `fd`.
int sg_syncfs(int fd);

#endif
