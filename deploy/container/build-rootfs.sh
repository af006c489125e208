#!/usr/bin/env bash
# Assembles a root filesystem for the factory from this machine and turns it into a container
# image, with no base image pulled from any registry.
#
# Two kinds of root filesystem:
#   minimal (default)  the release binary, the shared libraries `ldd` lists for it, a passwd entry,
#                      CA certificates. Enough for the coordinator.
#   --tools            a Debian root built with debootstrap, with git, python3 and CA certificates
#                      (and chromium with --chromium), plus the binary. Needed by nodes.
#
# Output, in --out (default ./build):
#   rootfs/            the assembled tree
#   factory-rootfs.tar the tree as a tarball (root-owned, /var/lib/factory owned by the factory user)
#   Containerfile      FROM scratch + ADD of the tarball
# and, with --engine docker|podman, an image tagged --tag.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: build-rootfs.sh [options]
  --binary PATH     the factory binary (default: target/release/factory)
  --out DIR         output folder (default: ./build)
  --tools           debootstrap a Debian root with git, python3 and ca-certificates (needs root)
  --chromium        with --tools, also install chromium and fonts (for screenshots)
  --suite NAME      Debian suite for --tools (default: this machine's, else bookworm)
  --mirror URL      Debian mirror for --tools (default: debootstrap's)
  --engine NAME     docker, podman or none (default: the first found, else none)
  --tag NAME        image tag (default: factory:latest)
  -h, --help        this text
USAGE
}

# The user the image runs as. A fixed number so Kubernetes runAsUser and volume ownership match.
readonly FACTORY_UID=10001
readonly FACTORY_GID=10001

binary=target/release/factory
out=./build
tools=0
chromium=0
suite=""
mirror=""
engine=""
tag=factory:latest

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        --out) out=${2:?--out needs a folder}; shift 2 ;;
        --tools) tools=1; shift ;;
        --chromium) chromium=1; shift ;;
        --suite) suite=${2:?--suite needs a name}; shift 2 ;;
        --mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
        --engine) engine=${2:?--engine needs a name}; shift 2 ;;
        --tag) tag=${2:?--tag needs a name}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-rootfs.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

die() { echo "build-rootfs.sh: $*" >&2; exit 1; }
step() { echo "==> $*"; }

[ -f "$binary" ] || die "no binary at $binary (build it with: cargo build --release --locked)"
[ -x "$binary" ] || die "$binary is not executable"
if [ "$chromium" = 1 ] && [ "$tools" = 0 ]; then
    die "--chromium needs --tools (chromium comes from the Debian root)"
fi
if [ -z "$engine" ]; then
    if command -v docker >/dev/null 2>&1; then engine=docker
    elif command -v podman >/dev/null 2>&1; then engine=podman
    else engine=none
    fi
fi
case "$engine" in docker|podman|none) ;; *) die "--engine must be docker, podman or none" ;; esac

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

rootfs="$out/rootfs"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rootfs="$out/rootfs"
if [ -e "$rootfs" ]; then
    step "removing the previous $rootfs"
    rm -rf "$rootfs"
fi
mkdir -p "$rootfs"

# --- the base tree -------------------------------------------------------------------------------

if [ "$tools" = 1 ]; then
    [ "$is_root" = 1 ] || die "--tools runs debootstrap, which needs root"
    command -v debootstrap >/dev/null 2>&1 || die "--tools needs debootstrap (apt-get install debootstrap)"
    if [ -z "$suite" ]; then
        # The binary was linked against this machine's C library; the same Debian release is the
        # safest match. Off Debian, fall back to the current stable release.
        suite=bookworm
        if [ -r /etc/os-release ]; then
            # shellcheck disable=SC1091
            host_id=$(. /etc/os-release && echo "${ID:-}")
            # shellcheck disable=SC1091
            host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
            if [ "$host_id" = debian ] && [ -n "$host_codename" ]; then suite=$host_codename; fi
        fi
    fi
    packages=ca-certificates,git,python3
    if [ "$chromium" = 1 ]; then packages=$packages,chromium,fonts-dejavu-core,fonts-liberation; fi
    step "debootstrap $suite with $packages"
    debootstrap_args=(--variant=minbase "--include=$packages" "$suite" "$rootfs")
    if [ -n "$mirror" ]; then debootstrap_args+=("$mirror"); fi
    debootstrap "${debootstrap_args[@]}"
    # Package caches and lists only make the image bigger: the image is rebuilt, never upgraded.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
else
    step "minimal tree"
    mkdir -p "$rootfs"/{etc,tmp,usr/local/bin,var/lib}
    chmod 1777 "$rootfs/tmp"
    # getaddrinfo reads this; files and dns are built into glibc 2.34 and later.
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
    printf 'root:x:0:0:root:/root:/nonexistent\n' > "$rootfs/etc/passwd"
    printf 'root:x:0:\n' > "$rootfs/etc/group"
    # CA certificates, for telemetry exporters that reach collectors over https.
    for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
        if [ -f "$bundle" ]; then
            mkdir -p "$rootfs/etc/ssl/certs"
            cp -L "$bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
            break
        fi
    done
fi

# --- the factory user, binary and libraries ------------------------------------------------------

step "user factory ($FACTORY_UID:$FACTORY_GID)"
printf 'factory:x:%s:%s:factory:/var/lib/factory:/usr/sbin/nologin\n' "$FACTORY_UID" "$FACTORY_GID" >> "$rootfs/etc/passwd"
printf 'factory:x:%s:\n' "$FACTORY_GID" >> "$rootfs/etc/group"
mkdir -p "$rootfs/var/lib/factory" "$rootfs/etc/factory"
chmod 0750 "$rootfs/var/lib/factory"

mkdir -p "$rootfs/usr/local/bin"
step "binary $binary"
install -m 0755 "$binary" "$rootfs/usr/local/bin/factory"

# Every absolute path ldd prints is a library (or the dynamic loader) the binary needs. A statically
# linked binary makes ldd fail, and needs nothing.
libraries=$(ldd "$binary" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u || true)
for library in $libraries; do
    target="$rootfs$library"
    if [ -e "$target" ]; then
        # The Debian root already has it; its own copy matches its other packages.
        continue
    fi
    step "library $library"
    mkdir -p "$(dirname "$target")"
    cp -L "$library" "$target"
done

# --- smoke test ----------------------------------------------------------------------------------

if [ "$is_root" = 1 ] && command -v chroot >/dev/null 2>&1; then
    step "smoke test: factory --help inside the tree"
    chroot "$rootfs" /usr/local/bin/factory --help >/dev/null \
        || die "the binary does not start inside the tree (a C library older than the one it was linked against?)"
else
    step "smoke test skipped (needs root for chroot)"
fi

# --- tarball and Containerfile -------------------------------------------------------------------

tarball="$out/factory-rootfs.tar"
step "tarball $tarball"
owner_args=(--numeric-owner)
if [ "$is_root" = 0 ]; then
    # Files copied by an unprivileged user belong to that user; in the image they belong to root.
    owner_args+=(--owner=0 --group=0)
fi
# Fixed order and times make the tarball reproducible from the same inputs.
tar_common=(--sort=name --mtime=@0 --format=gnu -C "$rootfs")
tar --create --file "$tarball" "${tar_common[@]}" "${owner_args[@]}" \
    --exclude=./var/lib/factory .
# The data folder belongs to the factory user, so the image runs without root.
tar --append --file "$tarball" "${tar_common[@]}" --numeric-owner \
    --owner="$FACTORY_UID" --group="$FACTORY_GID" ./var/lib/factory

script_dir=$(cd "$(dirname "$0")" && pwd)
cp "$script_dir/Containerfile" "$out/Containerfile"

# --- image ---------------------------------------------------------------------------------------

if [ "$engine" = none ]; then
    step "no container engine; build the image later with:"
    echo "    docker build -t $tag -f $out/Containerfile $out"
    exit 0
fi
step "$engine build -t $tag"
"$engine" build -t "$tag" -f "$out/Containerfile" "$out"
step "smoke test: $engine run $tag --help"
"$engine" run --rm "$tag" --help >/dev/null
step "image $tag is ready"
