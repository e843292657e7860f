#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages of tools/debian-packages that are missing.
# Does nothing (and needs no network) when all are present.
set -eu
list="$(dirname "$0")/debian-packages"
missing=""
for pkg in $(grep -v '^#' "$list"); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
