#!/usr/bin/env bash
# Installs the system packages the local backend needs, when they are missing:
#   docker.io   (Docker daemon; only the client may be preinstalled)
#   mmdebstrap  (builds the node image offline, without a registry)
# Debian/Ubuntu as root only; elsewhere it says what is missing and goes on
# (`topwords local setup` then explains what it cannot do).
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: missing ${missing[*]}; install them with your package manager" >&2
    exit 0
fi
echo "installing ${missing[*]} (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
