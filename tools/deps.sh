#!/bin/sh
# Installs the Debian packages that a make target needs, only when some are missing.
#   tools/deps.sh PACKAGE...
# As root it runs apt-get; otherwise it names the packages and fails.
set -eu
missing=""
for pkg in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "memledger: missing Debian packages:$missing" >&2
	echo "memledger: run 'sudo apt-get install$missing', or run make as root" >&2
	exit 1
fi
echo "memledger: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt (an unattended upgrade, a second make) may hold the package lock: wait for
# it, up to 10 minutes, rather than fail.
lock="-o DPkg::Lock::Timeout=600"
# An empty package list (a fresh machine) knows no candidates: update once first.
if ! apt-get install $lock -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update $lock -qq >/dev/null
	apt-get install $lock -y -qq --no-install-recommends $missing >/dev/null
fi
