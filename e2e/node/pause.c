/*
 * The pod sandbox's process (the "pause" container) for the real worker node.
 *
 * It holds the pod's namespaces open while the pod's containers come and go. As PID 1 of a pod
 * that shares its PID namespace it also inherits orphans, so it reaps them: a zombie would keep
 * its PID and process-table slot until the pod ends. PID 1 ignores signals it has no handler for,
 * so SIGTERM/SIGINT get one: the runtime's stop then ends it at once instead of after the grace
 * period. Built statically (gcc -Os -static) by e2e/cluster/build-binaries.sh, so the sandbox
 * image needs no libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "dev"
#endif

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  int saved = errno; /* the interrupted pause() must not see waitpid's errno */
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int on(int sig, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(sig, &action, NULL);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "-v") == 0) {
    printf("pause %s\n", PAUSE_VERSION);
    return 0;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: %s [-v]\n", argv[0]);
    return 2;
  }
  /* SA_NOCLDSTOP: a stopped child is not a zombie, nothing to reap. */
  if (on(SIGINT, stop, 0) || on(SIGTERM, stop, 0) || on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART)) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
