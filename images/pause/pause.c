/* pause — the sandbox ("infra") container of every pod: it holds the pod's namespaces open and does
 * nothing else. It reaps children it inherits (it is PID 1 when the pod shares its PID namespace) and exits
 * cleanly on SIGINT/SIGTERM. Built statically with gcc by scripts/build-images.sh (no libc in the image). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int handle(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = sig == SIGCHLD ? SA_NOCLDSTOP | SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("pause (IronLB) 3.10");
    return 0;
  }
  if (getpid() != 1) fputs("pause: warning: not PID 1, so orphans are not reaped here\n", stderr);
  if (handle(SIGINT, on_stop) < 0 || handle(SIGTERM, on_stop) < 0 || handle(SIGCHLD, on_child) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) pause();
}
