#!/usr/bin/env bash
# Installs the Debian packages that `npm start` and `npm test` need on a Debian machine (as root), and nothing
# that is there already. The one list of them: .ci/run calls this script too.
#
#   openssl, ca-certificates    the test control plane's certificates
#   util-linux, procps          setpriv, flock, nsenter, unshare, sysctl
#   python3, python3-venv       the Prefect 3 client the end-to-end suites deploy flows with (from PyPI)
#   chromium                    the Prefect UI checked in a real browser
#   containerd, runc, containernetworking-plugins, iproute2, socat
#                               the real node's container runtime, pod network and API server relay (test/node)
#   iptables, ipset, nftables, conntrack
#                               kube-proxy's Services, kube-router's NetworkPolicies, the node's firewall
#   mmdebstrap, gcc, libc6-dev, python3-pip
#                               the images built for the node (test/node/images); skopeo reads them
#   unzip                       the release zip, unpacked as a team does
set -euo pipefail

packages=(openssl ca-certificates util-linux procps python3 python3-venv chromium
  containerd runc containernetworking-plugins iproute2 socat iptables ipset nftables conntrack
  mmdebstrap gcc libc6-dev python3-pip skopeo unzip)

missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-debian-packages.sh: missing ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
