/* host port: the firmware core as a POSIX process serving a pseudo-terminal. It prints the
 * pty path ("edgert-fw: serial on /dev/pts/N") on stdout; clients open that path. The
 * counter is CLOCK_MONOTONIC in ns (host time: not deterministic, unlike the QEMU ports). */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "app.h"
#include "port.h"

static int master = -1;

void port_init(void)
{
    struct termios tio;
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) { perror("edgert-fw: pty"); exit(1); }
    /* raw on the slave side before anyone opens it, so no byte is echoed or translated */
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &tio)) { perror("edgert-fw: pty slave"); exit(1); }
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    printf("edgert-fw: serial on %s\n", ptsname(master));
    fflush(stdout);
    /* keep `slave` open: with no slave open, reads on the master fail with EIO */
}

uint8_t port_getc(void)
{
    static uint8_t buf[4096];
    static ssize_t have, next;
    while (next >= have) {
        have = read(master, buf, sizeof buf);
        next = 0;
        if (have <= 0) { have = 0; usleep(1000); }   /* EIO while no client holds the slave */
    }
    return buf[next++];
}

void port_write(const uint8_t *p, uint32_t n)
{
    while (n) {
        ssize_t r = write(master, p, n);
        if (r <= 0) { usleep(1000); continue; }
        p += r; n -= (uint32_t)r;
    }
}

uint64_t port_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *port_name(void) { return "host"; }
const char *port_counter(void) { return "ns"; }
uint32_t port_clock_hz(void) { return 1000000000u; }
void port_counter_sync(void) {}

int main(void)
{
    fw_main();
    return 0;
}
