/* SPDX-License-Identifier: Apache-2.0 */
/* syslog-sink SOCKET OUT: a stand-in syslog daemon for tests. Binds the unix datagram socket
 * SOCKET (what syslog(3) writes to: /dev/log in a private mount namespace), writes "READY" to
 * stdout once bound, then appends every message it receives, one per line, to OUT until
 * killed. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: syslog-sink SOCKET OUT\n");
        return 2;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(argv[1]) >= sizeof(sa.sun_path))
        return 2;
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("syslog-sink: bind");
        return 1;
    }
    FILE *out = fopen(argv[2], "a");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            continue;
        buf[n] = '\0';
        fprintf(out, "%s\n", buf);
        fflush(out);
    }
}
