/* rtmem top in a build without ncurses: says what to install. */
#include <stdio.h>

#include "commands.h"

int rtm_cmd_top(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rtmem top: not built: ncurses with wide characters was missing when rtmem was "
                    "built.\nInstall it (Debian/Ubuntu: apt-get install libncurses-dev; Fedora: "
                    "dnf install ncurses-devel;\nmacOS: brew install ncurses) and build rtmem "
                    "again.\n");
    return 2;
}
