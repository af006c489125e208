#!/bin/sh
# Installs what the factory's tests need on a fresh Debian machine: headless Chromium (UI
# screenshots), git (repos and worktrees), python3 (the example org's services) and ip from
# iproute2 (the partition test's network namespaces).
# Idempotent: installs only what is missing. Runs as root, or through sudo when available.
set -eu

need=""
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need="$need chromium"
command -v git >/dev/null 2>&1 || need="$need git"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need="$need iproute2"

if [ -z "$need" ]; then
    echo "setup: chromium, git, python3 and iproute2 are already installed; nothing to do"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "setup: missing:$need; run this script as root (no sudo found)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing:$need; this script knows only apt-get (Debian, Ubuntu)" >&2
    exit 1
fi

echo "setup: missing:$need"
echo "setup: running apt-get update"
$sudo apt-get update
echo "setup: running apt-get install -y$need"
# shellcheck disable=SC2086 # $need is a list of package names
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $need
echo "setup: done"
