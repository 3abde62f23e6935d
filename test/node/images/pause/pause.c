/*
 * The sandbox process of a pod: it holds the pod's namespaces open and does nothing else. As the first process
 * (PID 1) of a pod that shares its PID namespace it is every orphan's parent, so it reaps them; SIGINT or SIGTERM
 * ends it (PID 1 gets no default signal actions, so both are handled explicitly).
 *
 * Built statically (no libc in the image): `cc -static -Os -s -o pause pause.c`.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "3.10"

static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int signal) { stop_signal = signal; }

/* Collects every child that has ended; waitpid keeps errno, which the interrupted code may still read. */
static void on_child(int signal) {
  (void)signal;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int handle(int signal, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(signal, &action, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("pause %s (cartographer)\n", PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: not the first process of its PID namespace; orphans are not mine to reap\n");
  if (handle(SIGINT, on_stop, 0) != 0 || handle(SIGTERM, on_stop, 0) != 0 ||
      handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  /* Block the stop signals outside sigsuspend, so that one arriving between the check and the wait is not lost. */
  sigset_t stops, waiting;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  sigprocmask(SIG_BLOCK, &stops, &waiting);
  sigdelset(&waiting, SIGINT);
  sigdelset(&waiting, SIGTERM);
  while (stop_signal == 0) sigsuspend(&waiting);
  fprintf(stderr, "pause: shutting down on signal %d\n", (int)stop_signal);
  return 0;
}
