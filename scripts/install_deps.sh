#!/usr/bin/env bash
# scripts/install_deps.sh PACKAGE... — installs the Debian packages among PACKAGE... that are missing.
#
# Checks each package with dpkg-query; if any is missing, runs `apt-get update` (once) and installs the
# missing ones, printing one line per package. apt's output goes to a log file
# ($QSPARSE_DEPS_LOG, default build/logs/install_deps.log in the repository). Runs apt-get directly as
# root, through sudo otherwise (non-interactive sudo when there is no terminal). Exits non-zero with a
# message naming the package and the log if it cannot install. On a system without dpkg/apt-get it
# only warns and leaves installing to you.
#
# A package of another architecture (PACKAGE:ARCH, e.g. libbenchmark-dev:arm64, Debian multiarch) first
# enables that architecture (dpkg --add-architecture ARCH), so the update that follows fetches its lists.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log="${QSPARSE_DEPS_LOG:-$repo_root/build/logs/install_deps.log}"

say() { echo "install_deps: $*" >&2; }
die() { say "$*"; exit 1; }

[ $# -gt 0 ] || exit 0

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  say "no dpkg-query/apt-get here (not Debian?); not installing anything."
  say "make sure the equivalents of these are installed: $*"
  exit 0
fi

is_installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}

missing=()
for package in "$@"; do
  is_installed "$package" || missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    die "missing packages: ${missing[*]}; not root and no sudo here. Install them as root:" \
        "apt-get install ${missing[*]}"
  fi
  if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
fi
run_as_root() { "${as_root[@]+"${as_root[@]}"}" "$@"; }

mkdir -p "$(dirname "$log")"
export DEBIAN_FRONTEND=noninteractive

# Multiarch: the foreign architectures the missing packages need, enabled before the update.
native_arch="$(dpkg --print-architecture)"
for package in "${missing[@]}"; do
  case "$package" in
    *:*) arch="${package##*:}" ;;
    *) continue ;;
  esac
  [ "$arch" = "$native_arch" ] && continue
  [ "$arch" = all ] && continue
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    say "enabling the $arch architecture (dpkg --add-architecture $arch) for $package"
    echo "=== $(date '+%F %T') dpkg --add-architecture $arch" >>"$log"
    run_as_root dpkg --add-architecture "$arch" >>"$log" 2>&1 || die "cannot enable the $arch architecture; see $log"
  fi
done

apt_options=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 --no-install-recommends)

update_note=""
echo "=== $(date '+%F %T') apt-get update (missing: ${missing[*]})" >>"$log"
if ! run_as_root apt-get -q -o DPkg::Lock::Timeout=300 update >>"$log" 2>&1; then
  update_note=" (apt-get update failed too: no network, or not allowed?)"
  say "apt-get update failed; trying to install anyway (log: $log)"
fi

for package in "${missing[@]}"; do
  say "installing $package"
done
echo "=== $(date '+%F %T') apt-get install ${missing[*]}" >>"$log"
if ! run_as_root apt-get install "${apt_options[@]}" "${missing[@]}" >>"$log" 2>&1; then
  # Find the package that cannot be installed: try them one at a time.
  for package in "${missing[@]}"; do
    is_installed "$package" && continue
    echo "=== $(date '+%F %T') apt-get install $package" >>"$log"
    if ! run_as_root apt-get install "${apt_options[@]}" "$package" >>"$log" 2>&1; then
      tail -n 5 "$log" | sed 's/^/  | /' >&2
      die "cannot install $package${update_note}; see $log"
    fi
  done
fi

for package in "${missing[@]}"; do
  is_installed "$package" || die "$package is still not installed after apt-get install${update_note}; see $log"
done
