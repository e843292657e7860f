#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Installing Sluice: make install into a DESTDIR puts every file where the
# Makefile says and the installed binaries run; make uninstall removes them
# all. When 'make deb' has built the package ($BUILD/deb/sluice_*.deb; make
# test builds it, and sets SLUICE_TEST_DEB=1 so that its absence fails), it
# is installed with dpkg -i: the binaries run from /usr/sbin, the sluice
# group exists, sluiced is neither enabled nor started, and dpkg --purge
# removes every file (the test removes the group again if it created it).
. "$(dirname "$0")/lib.sh"

require_env install
TMP=$(mktemp -d)
DEB=$(ls "$BUILD"/deb/sluice_*.deb 2>/dev/null | head -n1)
group_before=$(getent group sluice)
pkg_cleanup() {
	rm -rf "$TMP"
	if [ -n "$DEB" ] && dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q installed; then
		dpkg --purge sluice >/dev/null 2>&1
	fi
	[ -z "$group_before" ] && getent group sluice >/dev/null && groupdel sluice
}
trap pkg_cleanup EXIT
# The installed daemon (other tests may run their own build's).
not_running() { ! pgrep -f '^/usr/sbin/sluiced' >/dev/null; }
trap 'exit 130' INT TERM

# --- make install / uninstall into a DESTDIR --------------------------------
D=$TMP/dest
out=$(make --no-print-directory BUILD="$BUILD" install DESTDIR="$D" PREFIX=/usr 2>&1)
check "make install DESTDIR=... PREFIX=/usr" test $? -eq 0
for f in sbin/sluice sbin/sluiced lib/sluice/decap.bpf.o lib/systemd/system/sluiced.service \
	share/man/man8/sluice.8 share/man/man8/sluiced.8 share/man/man5/sluiced.yaml.5 \
	share/bash-completion/completions/sluice share/doc/sluice/examples/sluiced.yaml \
	share/sluice/monitoring/sluice-dashboard.json share/sluice/monitoring/sluice-alerts.yml; do
	[ -s "$D/usr/$f" ] || missing="${missing:-} $f"
done
check "every file is installed${missing:+ (missing:$missing)}" test -z "${missing:-}"
out=$("$D/usr/sbin/sluice" version)
check "the installed sluice runs: $out" grep -q "^sluice [0-9]" <<<"$out"
check "the installed sluiced runs (--help)" "$D/usr/sbin/sluiced" --help
check "the unit starts /usr/sbin/sluiced with /etc/sluice/sluiced.yaml" \
	grep -q '^ExecStart=/usr/sbin/sluiced --config /etc/sluice/sluiced.yaml$' \
	"$D/usr/lib/systemd/system/sluiced.service"
check "the installed completion loads in bash" bash -c ". '$D/usr/share/bash-completion/completions/sluice' && complete -p sluice"
make --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
left=$(find "$D" -type f)
check "make uninstall removes every file${left:+ (left: $left)}" test -z "$left"

# --- the Debian package -------------------------------------------------------
if [ -z "$DEB" ]; then
	if [ "${SLUICE_TEST_DEB:-}" = 1 ]; then
		# make test built it (or tried): no package is a failure.
		tap_fail "make deb built the package ($(tail -n 3 "$BUILD/deb.log" 2>/dev/null | tr '\n' ' '))"
	else
		echo "# the Debian package was not built in this run: 'make deb' first to test it here"
	fi
	finish
	exit 0
fi
if dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q installed; then
	tap_skip "dpkg -i the package" "a sluice package is installed already: not touching it"
	DEB=
	finish
	exit 0
fi
out=$(dpkg -i "$DEB" 2>&1)
check "dpkg -i $(basename "$DEB")" test $? -eq 0
[ $? -eq 0 ] || echo "$out" | sed 's/^/# /'
out=$(/usr/sbin/sluice version)
check "/usr/sbin/sluice version: $out" grep -q "^sluice [0-9]" <<<"$out"
check "/usr/sbin/sluiced --help" /usr/sbin/sluiced --help
check "postinst created the sluice group" getent group sluice
check "sluiced is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/sluiced.service
check "sluiced is not running" not_running
check "the man pages are installed" test -s /usr/share/man/man8/sluice.8.gz
out=$(dpkg-reconfigure sluice 2>&1)
check "postinst again (the group exists): idempotent" test $? -eq 0
files=$(dpkg -L sluice | while read -r f; do [ -f "$f" ] && echo "$f"; done)
dpkg --purge sluice >/dev/null 2>&1
check "dpkg --purge sluice" test $? -eq 0
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
check "purge removes every file of the package${left:+ (left: $left)}" test -z "$left"
finish
