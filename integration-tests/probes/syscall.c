/* syscall NR [ARG...]: makes system call NR with up to six integer arguments and
 * prints "RESULT ERRNO" (ERRNO 0 when it succeeded). With CATCH_SIGSYS=1 in the
 * environment, a SIGSYS (seccomp's SCMP_ACT_TRAP) prints "SIGSYS" instead of killing
 * it. Built static by the test harness and copied into test root filesystems, to see
 * what a seccomp filter lets through. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static void on_sigsys(int sig) {
    (void)sig;
    static const char msg[] = "SIGSYS\n";
    write(1, msg, sizeof msg - 1);
    _exit(0);
}

int main(int argc, char **argv) {
    const char *catch = getenv("CATCH_SIGSYS");
    if (catch && strcmp(catch, "1") == 0)
        signal(SIGSYS, on_sigsys);
    if (argc < 2) {
        fprintf(stderr, "usage: syscall NR [ARG...]\n");
        return 2;
    }
    long nr = strtol(argv[1], NULL, 0);
    long a[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 2; i < argc && i < 8; i++)
        a[i - 2] = strtol(argv[i], NULL, 0);
    errno = 0;
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("%ld %d\n", r, r == -1 ? errno : 0);
    return 0;
}
