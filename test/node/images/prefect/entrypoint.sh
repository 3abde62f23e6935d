#!/usr/bin/env bash
# /opt/prefect/entrypoint.sh of the prefecthq/prefect images, as they document it: tini starts it, it installs
# EXTRA_PIP_PACKAGES (if any) into the system Python with uv, then replaces itself with the container's command;
# with no command, an interactive bash login shell.
#
# A failed install prints uv's output, hands it to Prefect's entrypoint log sender and ends the container with uv's
# exit status. As in the official image, the install needs a writable site-packages: it fails for a non-root user
# or on a read-only root filesystem (a known limitation the tests keep visible).
set -e

[ -f ~/.bashrc ] && . ~/.bashrc

if [ -n "$EXTRA_PIP_PACKAGES" ]; then
  log=/tmp/pip_install.log
  echo "+uv pip install $EXTRA_PIP_PACKAGES"
  # Unquoted on purpose: EXTRA_PIP_PACKAGES is a space-separated list of requirements.
  # shellcheck disable=SC2086
  uv pip install --system $EXTRA_PIP_PACKAGES >"$log" 2>&1 || {
    status=$?
    cat "$log"
    python -m prefect._internal.send_entrypoint_logs "$log"
    exit "$status"
  }
fi

if [ -z "$*" ]; then
  printf '\n  Prefect (no command given: a login shell)\n\n'
  exec bash --login
fi
exec "$@"
