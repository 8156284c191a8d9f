#!/usr/bin/env bash
# Build Dovecot's imaptest (IMAP conformance tester, MIT licence) for CI.
#
#   usage: .ci/build-imaptest.sh SOURCE DEST
#     SOURCE  an imaptest source tarball (GitHub archive of a release-2.3 checkout) or a
#             checkout directory
#     DEST    build directory (created; replaced if present)
#   then DEST/src/imaptest is the binary and DEST/src/tests/ the scripted test groups.
#
# Needs dovecot-dev (libdovecot and its headers) and an autotools C toolchain: installed with
# apt-get when missing (as root, Debian/Ubuntu). About a minute on 2 cores.
set -euo pipefail
src=${1:?SOURCE (tarball or checkout)}; dest=${2:?DEST}
src=$(realpath "$src")

packages=(dovecot-dev build-essential autoconf automake libtool pkg-config)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  echo "build-imaptest: apt-get install ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
fi

rm -rf "$dest"; mkdir -p "$dest"
if [ -d "$src" ]; then
  cp -a "$src"/. "$dest"/
else
  tar xzf "$src" -C "$dest" --strip-components=1
fi
cd "$dest"
# Debian 12's dovecot-dev (2.3.19.1+deb12u*) backports a fourth argument, the parser
# parameters, to imap_parser_create(); NULL keeps the old behaviour.
if grep -q 'const struct imap_parser_params \*params' /usr/include/dovecot/imap-parser.h; then
  sed -i 's/imap_parser_create(\([^;]*\), (size_t)-1);/imap_parser_create(\1, (size_t)-1, NULL);/' \
    src/commands.c src/test-parser.c src/imap-client.c
fi
[ -x configure ] || ./autogen.sh >build.log 2>&1
# rpath: libdovecot.so lives in /usr/lib/dovecot, outside the loader's default path.
LDFLAGS="-Wl,-rpath,/usr/lib/dovecot" ./configure --with-dovecot=/usr/lib/dovecot >>build.log 2>&1 \
  || { tail -30 build.log; exit 1; }
make -j"$(nproc)" >>build.log 2>&1 || { tail -30 build.log; exit 1; }
echo "build-imaptest: built $dest/src/imaptest"
