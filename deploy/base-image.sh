#!/usr/bin/env bash
# Makes the base image the Dockerfile names (node:20-bookworm-slim) from Debian packages, for
# machines that reach Debian's mirrors and the npm registry but no image registry: a minimal
# debootstrap of bookworm plus this machine's Node.js 20 (node + npm), laid out like the public
# image (node in /usr/local/bin, user `node` uid 1000). Where the public image can be pulled,
# this script is not needed.
#
#   deploy/base-image.sh [tag]        (default tag: node:20-bookworm-slim; needs root, debootstrap)
set -euo pipefail
TAG="${1:-node:20-bookworm-slim}"
DOCKER="${DOCKER:-docker}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WORK="${BASE_IMAGE_WORKDIR:-/var/tmp/saga-base-image}"

die() { printf 'base-image: %s\n' "$*" >&2; exit 1; }
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
NODE_BIN="$(command -v node)" || die "node is missing on this machine"
NODE_VERSION="$("$NODE_BIN" --version)"
[[ "$NODE_VERSION" == v20.* ]] || die "this machine's node is $NODE_VERSION; the image needs Node.js 20"
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[[ -f "$NPM_DIR/package.json" ]] || die "cannot find npm's folder (looked in $NPM_DIR)"

ROOT="$WORK/rootfs"
EXTRA_ENV=()
if [[ ! -x "$ROOT/bin/sh" ]]; then
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  echo "base-image: debootstrap bookworm (minbase) into $ROOT"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || die "debootstrap failed: see $WORK/debootstrap.log"
fi
echo "base-image: adding Node.js $NODE_VERSION and npm $(npm --version)"
install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
rm -rf "$ROOT/usr/local/lib/node_modules/npm"; mkdir -p "$ROOT/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
chroot "$ROOT" /bin/sh -c 'getent passwd node >/dev/null || { groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node; }'
# This machine's own certificate authorities (e.g. an egress proxy's), so that npm and apt inside
# builds trust what this machine trusts. The public image has none, and needs none there.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null
  EXTRA_ENV=(-c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
chroot "$ROOT" /usr/local/bin/node --version >/dev/null || die "node does not run inside the rootfs"
# What the slim image leaves out: apt lists, docs, caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/*

echo "base-image: importing as $TAG"
tar -C "$ROOT" -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=${NODE_VERSION#v}" \
  -c 'CMD ["node"]' "${EXTRA_ENV[@]}" - "$TAG" >/dev/null
"$DOCKER" image ls "$TAG"
