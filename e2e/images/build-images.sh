#!/usr/bin/env bash
# Build every container image the embedded cluster's real worker node runs, offline from registries:
# nothing is pulled. A Debian bookworm rootfs comes from debootstrap (Debian's mirror), the stand-ins
# for the upstream bases (python:3.11-slim-bookworm, python:3.11.7-bookworm, tritonserver:25.12-py3)
# are built FROM it by e2e/images/bases/*.Dockerfile, and the project's own Dockerfiles are built
# FROM those through their BASE_IMAGE/BUILD_IMAGE/PYTHON_IMAGE build arguments (buildah, rootful).
#
# Cached by content: an image's tag is a 16-hex key over its Dockerfile, the build-context files its
# COPY/ADD lines name, its target, build arguments and its bases' image IDs
# (localhost/llmops/<name>:<key>); an image whose tag exists is not built again, so a warm run takes
# seconds. Each runnable image is also exported as a docker archive for `ctr -n k8s.io images import`
# and smoke-tested once per key (read-only root filesystem, as the image's own user, OCI runtime).
#
# Output, under ${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/llmops}/images:
#   images.json             {"<name>": {"ref", "id", "key", "archive", "archive_bytes", "user"}, ...}
#   <name>-<key>.tar        the docker archives the manifest names
#   logs/<name>.log         the last build log of each image; smoke/<name>-<key>.txt its smoke output
# The manifest's path is the last line on stdout.
#
# Usage: e2e/images/build-images.sh [build] [--pause PATH] [--only NAME[,NAME...]] [--no-smoke]
#        e2e/images/build-images.sh key --dockerfile F --context DIR [--target T]
#                                        [--build-arg K=V]... [--base K=IMAGE_ID]...   (prints a key)
#        e2e/images/build-images.sh list                                             (image names)
# --pause PATH (or $LLMOPS_PAUSE_BIN, or $LLMOPS_BIN_DIR/pause): a static pause binary for the
# `pause` image (FROM scratch); without one that image is skipped.
# Needs root, buildah, debootstrap, runc (buildah's RUN steps and the smoke tests) and python3.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) fails the script too

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache_root="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
img_cache="$cache_root/images"

# Bump when the way an image is made changes in a way its inputs do not show (this script's logic).
KEY_VERSION=1
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${LLMOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${LLMOPS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# The host's CA bundle, bind-mounted over the image's own during the RUN steps that use pip, so a
# TLS-intercepting egress proxy is trusted at build time without being baked into any image.
CA_BUNDLE="${LLMOPS_IMAGES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
# download.pytorch.org is not reachable from every machine (PyPI is): the builders' CPU-only torch
# then comes from PyPI (same version, with its CUDA libraries, which stay unused on a CPU node).
TORCH_INDEX_URL="${LLMOPS_TORCH_INDEX_URL:-https://pypi.org/simple}"
TORCH_VERSION="${LLMOPS_TORCH_VERSION:-2.13.0}"

# name | Dockerfile (repo-relative) | context (repo-relative) | target | bases (ARG=name,...) |
# extra build args (K=V,...) | flags: e = export + manifest, c = mount the CA bundle during RUN
# gguf-builder comes before llama-cpp-server: its build compiles llama.cpp while its other stage installs
# torch (--jobs 2), and llama-cpp-server then takes the identical compile stage from the layer cache.
IMAGES=(
  "python|e2e/images/bases/python.Dockerfile|e2e/images/bases||BASE_IMAGE=debian||"
  "python-build|e2e/images/bases/python-build.Dockerfile|e2e/images/bases||BASE_IMAGE=python||"
  "tritonserver|e2e/images/bases/tritonserver.Dockerfile|e2e/images/bases||BASE_IMAGE=python||c"
  "operator|Dockerfile|.||PYTHON_IMAGE=python||ec"
  "gguf-builder|builders/docker/gguf-builder.Dockerfile|.||BUILD_IMAGE=python-build,BASE_IMAGE=python|TORCH_INDEX_URL=$TORCH_INDEX_URL,TORCH_VERSION=$TORCH_VERSION|ec"
  "llama-cpp-server|builders/docker/llama-cpp-server.Dockerfile|.||BUILD_IMAGE=python-build,BASE_IMAGE=debian||ec"
  "onnx-builder|builders/docker/onnx-builder.Dockerfile|.||BASE_IMAGE=python|TORCH_INDEX_URL=$TORCH_INDEX_URL,TORCH_VERSION=$TORCH_VERSION|ec"
  "triton-onnx|builders/docker/triton-onnx.Dockerfile|.||BASE_IMAGE=tritonserver||ec"
  "pause|e2e/images/pause.Dockerfile|@pause||||e"
)

# Human-readable names of the local stand-ins for the upstream bases (the builds use the keyed refs).
declare -A BASE_TAGS=(
  [python]=localhost/llmops-base/python:3.11-slim-bookworm
  [python-build]=localhost/llmops-base/python:3.11-bookworm
  [tritonserver]=localhost/llmops-base/tritonserver:25.12-py3-cpu
)

start=$SECONDS
say() { printf 'build-images [%4ss] %s\n' "$((SECONDS - start))" "$*" >&2; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }
sha() { sha256sum | cut -d' ' -f1; }

# --- content keys (pure: no buildah needed) ------------------------------------------------------

# copy_sources DOCKERFILE: the build-context paths its COPY/ADD lines read (not those --from a stage).
copy_sources() {
  local line word
  local -a words srcs
  while IFS= read -r line; do
    read -r -a words <<<"$line"
    srcs=()
    for word in "${words[@]:1}"; do
      case "$word" in
        --from=*) continue 2 ;;
        --*) ;;
        *) srcs+=("$word") ;;
      esac
    done
    # The last word is the destination.
    if ((${#srcs[@]} > 1)); then printf '%s\n' "${srcs[@]:0:${#srcs[@]}-1}"; fi
  done < <(grep -iE '^[[:space:]]*(COPY|ADD)[[:space:]]' "$1" || true)
}

# context_files DOCKERFILE CONTEXT: NUL-separated, sorted, the files of CONTEXT its COPY/ADD lines read.
# Skips what every .dockerignore here skips (__pycache__, *.pyc, *.egg-info) and .git.
context_files() {
  local df="$1" ctx="$2" src
  local -a srcs=()
  mapfile -t srcs < <(copy_sources "$df" | LC_ALL=C sort -u)
  ((${#srcs[@]})) || return 0
  for src in "${srcs[@]}"; do
    [[ -e "$ctx/$src" ]] || die "$df copies $src, which is not in the build context $ctx"
  done
  (cd "$ctx" && find "${srcs[@]}" \( -name __pycache__ -o -name '*.egg-info' -o -name .git \) -prune \
    -o \( -type f -o -type l \) ! -name '*.pyc' -print0) | LC_ALL=C sort -z -u
}

# context_digest DOCKERFILE CONTEXT: one line per file the build copies (mode, path, sha256), hashed.
context_digest() {
  local df="$1" ctx="$2" listing
  local -a files=()
  listing="$(context_files "$df" "$ctx" | tr '\0' '\n')"
  mapfile -t files <<<"$listing"
  if [[ -z "$listing" ]]; then echo "context none"; return; fi
  (cd "$ctx" && paste -d' ' <(stat -L -c '%a' -- "${files[@]}") <(sha256sum -- "${files[@]}")) | sha
}

# stage_context DOCKERFILE CONTEXT DEST: copy what the build reads (the Dockerfile as DEST.Dockerfile,
# the .dockerignore and the copied files, modes kept) to DEST, so that an edit made while an image builds
# cannot slip into an image tagged with the key of the files before it.
stage_context() {
  local df="$1" ctx="$2" dest="$3"
  local -a files=()
  mapfile -d '' -t files < <(context_files "$df" "$ctx")
  rm -rf "$dest" && mkdir -p "$dest"
  cp "$df" "$dest.Dockerfile"
  if [[ -f "$ctx/.dockerignore" ]]; then cp "$ctx/.dockerignore" "$dest/"; fi
  if ((${#files[@]})); then (cd "$ctx" && cp -a --parents -- "${files[@]}" "$dest/"); fi
}

# image_key DOCKERFILE CONTEXT TARGET ARGS_NAME BASES_NAME: the 16-hex key (ARGS/BASES: array names).
image_key() {
  local df="$1" ctx="$2" target="$3"
  local -n _args="$4" _bases="$5"
  local context
  context="$(context_digest "$df" "$ctx")"
  {
    echo "llmops-image-key $KEY_VERSION"
    echo "dockerfile $(sha <"$df")"
    echo "target $target"
    if [[ -f "$ctx/.dockerignore" ]]; then echo "dockerignore $(sha <"$ctx/.dockerignore")"; fi
    if ((${#_args[@]})); then printf 'arg %s\n' "${_args[@]}" | LC_ALL=C sort; fi
    if ((${#_bases[@]})); then printf 'base %s\n' "${_bases[@]}" | LC_ALL=C sort; fi
    echo "context $context"
  } | sha | cut -c1-16
}

cmd_key() {
  local df="" ctx="" target=""
  local -a args=() bases=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dockerfile) df="$2"; shift 2 ;;
      --context) ctx="$2"; shift 2 ;;
      --target) target="$2"; shift 2 ;;
      --build-arg) args+=("$2"); shift 2 ;;
      --base) bases+=("$2"); shift 2 ;;
      *) die "key: unknown argument $1" ;;
    esac
  done
  [[ -f "$df" && -d "$ctx" ]] || die "key: needs --dockerfile FILE and --context DIR"
  image_key "$df" "$ctx" "$target" args bases
}

# --- buildah helpers ------------------------------------------------------------------------------

image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null; }
image_exists() { buildah inspect --type image --format '{{.FromImageID}}' "$1" >/dev/null 2>&1; }

# drop_other_tags NAME KEEP_REF: untag (and free) older builds of NAME, and their archives.
drop_other_tags() {
  local name="$1" keep="$2" ref
  while IFS= read -r ref; do
    [[ -n "$ref" && "$ref" != "$keep" ]] || continue
    buildah rmi "$ref" >/dev/null 2>&1 || true
  done < <(buildah images --noheading --format '{{.Name}}:{{.Tag}}' | grep -F "localhost/llmops/$name:" || true)
  local archive
  for archive in "$img_cache/$name"-*.tar; do
    [[ -e "$archive" && "$archive" != "$img_cache/$name-${keep##*:}.tar" ]] || continue
    rm -f "$archive"
  done
}

declare -A REF=() ID=() KEY=()

# --- 1. Debian bookworm minbase, debootstrapped and imported as an image --------------------------

# configure_rootfs DIR: applied at import to the debootstrapped tree (its code is part of the image key).
# What the official debian image does too: the sources of all three suites, no daemons started by
# package scripts, no recommends, no documentation, manual pages or translations (as in
# debian:bookworm-slim), and none of the host's files (debootstrap copies resolv.conf and hostname).
configure_rootfs() {
  local root="$1"
  # Never let an empty or wrong argument touch the host's own /etc.
  [[ -n "$root" && "$root" != "/" && -f "$root/etc/debian_version" && -d "$root/var/lib/dpkg" ]] \
    || die "configure_rootfs: $root is not a debootstrapped tree"
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$DEBIAN_MIRROR" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SUITE" "$DEBIAN_SECURITY_MIRROR" "$DEBIAN_SUITE" \
    >"$root/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  printf 'path-exclude /usr/share/%s\n' 'doc/*' 'man/*' 'info/*' 'locale/*' 'groff/*' 'lintian/*' 'linda/*' \
    >"$root/etc/dpkg/dpkg.cfg.d/llmops-slim"
  printf 'path-include /usr/share/doc/*/copyright\n' >>"$root/etc/dpkg/dpkg.cfg.d/llmops-slim"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/llmops-no-recommends"
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  rm -rf "$root"/usr/share/locale/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  rm -rf "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
}

build_debian() {
  local raw_key key ref rootfs tar ctr mnt
  # The raw debootstrap tree is cached as a tarball under the key of what it is made from.
  raw_key="$(printf 'debootstrap --variant=minbase %s %s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" | sha | cut -c1-16)"
  tar="$img_cache/debian/$DEBIAN_SUITE-minbase-$raw_key.tar"
  if [[ ! -f "$tar" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
    say "debian: debootstrap --variant=minbase $DEBIAN_SUITE (download-bound, ~2 min)"
    rootfs="$img_cache/debian/rootfs.tmp"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$img_cache/logs/debian.log" 2>&1 \
      || { tail -30 "$img_cache/logs/debian.log" >&2; die "debootstrap failed (log: $img_cache/logs/debian.log)"; }
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$tar.tmp" \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' .
    mv "$tar.tmp" "$tar"
    rm -rf "$rootfs"
  fi
  key="$({ echo "$KEY_VERSION $raw_key $DEBIAN_SECURITY_MIRROR"; declare -f configure_rootfs; } | sha | cut -c1-16)"
  ref="localhost/llmops/debian:$key"
  if ! image_exists "$ref"; then
    say "debian: importing the rootfs as $ref"
    ctr="$(buildah from --pull=never scratch)"
    mnt="$(buildah mount "$ctr")"
    [[ -n "$mnt" && "$mnt" != "/" ]] || die "buildah mount gave '$mnt'"
    tar --numeric-owner --xattrs -C "$mnt" -xf "$tar"
    configure_rootfs "$mnt"
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd '["bash"]' --label org.opencontainers.image.title="llmops local debian:$DEBIAN_SUITE minbase" \
      --label llmops.key="$key" "$ctr"
    buildah commit --quiet --rm "$ctr" "$ref" >/dev/null
    drop_other_tags debian "$ref"
  fi
  buildah tag "$ref" "localhost/llmops-base/debian:$DEBIAN_SUITE"
  REF[debian]="$ref"; ID[debian]="$(image_id "$ref")"; KEY[debian]="$key"
  finish_image debian e ""
}

# --- 2. an image from a Dockerfile ---------------------------------------------------------------

pause_context() {
  local bin="$1" dir="$img_cache/pause-context"
  mkdir -p "$dir"
  if ! cmp -s "$bin" "$dir/pause"; then cp "$bin" "$dir/pause.tmp" && chmod 755 "$dir/pause.tmp" && mv "$dir/pause.tmp" "$dir/pause"; fi
  printf '%s\n' "$dir"
}

# build_image SPEC (one IMAGES line)
build_image() {
  local name df ctx target base_spec arg_spec flags
  IFS='|' read -r name df ctx target base_spec arg_spec flags <<<"$1"
  df="$repo/$df"
  if [[ "$ctx" == "@pause" ]]; then
    [[ -n "$pause_bin" ]] || { say "pause: skipped (no --pause PATH, \$LLMOPS_PAUSE_BIN or \$LLMOPS_BIN_DIR/pause)"; return; }
    [[ -x "$pause_bin" ]] || die "pause: $pause_bin is not an executable"
    ctx="$(pause_context "$pause_bin")"
  else
    ctx="$repo/$ctx"
  fi
  local -a args=() bases=() bud_args=()
  local item base_arg base_name
  if [[ -n "$base_spec" ]]; then
    for item in ${base_spec//,/ }; do
      base_arg="${item%%=*}" base_name="${item#*=}"
      [[ -n "${REF[$base_name]:-}" ]] || die "$name needs the base $base_name, which is not built"
      args+=("$base_arg=${REF[$base_name]}")
      bases+=("$base_arg=${ID[$base_name]}")
    done
  fi
  if [[ -n "$arg_spec" ]]; then
    for item in ${arg_spec//,/ }; do args+=("$item"); done
  fi
  local key ref log iid took staged="$img_cache/context/$name"
  stage_context "$df" "$ctx" "$staged"
  df="$staged.Dockerfile" ctx="$staged"
  key="$(image_key "$df" "$ctx" "$target" args bases)"
  ref="localhost/llmops/$name:$key"
  if image_exists "$ref"; then
    say "$name: cached ($ref)"
  else
    log="$img_cache/logs/$name.log"
    say "$name: building $ref (log: $log)"
    for item in "${args[@]}"; do bud_args+=(--build-arg "$item"); done
    if [[ -n "$target" ]]; then bud_args+=(--target "$target"); fi
    if [[ "$flags" == *c* && -f "$CA_BUNDLE" ]]; then
      bud_args+=(--volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
    fi
    iid="$img_cache/logs/$name.iid"
    local began=$SECONDS
    if ! buildah bud --runtime "$(oci_runtime)" --layers --jobs 2 --force-rm --pull=never --network host --format docker --iidfile "$iid" \
        "${bud_args[@]}" -f "$df" -t "$ref" "$ctx" >"$log" 2>&1; then
      tail -40 "$log" >&2
      die "$name: build failed (log: $log)"
    fi
    took=$((SECONDS - began))
    printf '%s\t%s\t%s\n' "$name" "$key" "$took" >>"$img_cache/logs/build-times.tsv"
    say "$name: built in ${took}s"
    drop_other_tags "$name" "$ref"
  fi
  REF[$name]="$ref"; ID[$name]="$(image_id "$ref")"; KEY[$name]="$key"
  if [[ -n "${BASE_TAGS[$name]:-}" ]]; then buildah tag "$ref" "${BASE_TAGS[$name]}"; fi
  if [[ "$flags" == *e* ]]; then
    finish_image "$name" "$flags" "$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$ref")"
  fi
}

# finish_image NAME FLAGS USER: export the archive, smoke-test it once per key, write its record.
finish_image() {
  local name="$1" user="${3:-}" ref="${REF[$1]}" key="${KEY[$1]}"
  local archive="$img_cache/$name-$key.tar"
  if [[ ! -f "$archive" ]]; then
    say "$name: exporting $archive"
    rm -f "$archive.tmp"
    buildah push --quiet "$ref" "docker-archive:$archive.tmp:$ref" >/dev/null
    mv "$archive.tmp" "$archive"
  fi
  if [[ "$smoke" == 1 && ! -f "$img_cache/smoke/$name-$key.txt" ]]; then
    say "$name: smoke test"
    local out="$img_cache/smoke/$name-$key.txt"
    if ! "smoke_${name//-/_}" "$ref" "$user" >"$out.tmp" 2>&1; then
      tail -40 "$out.tmp" >&2
      die "$name: smoke test failed (output: $out.tmp)"
    fi
    mv "$out.tmp" "$out"
  fi
  printf '{"ref": "%s", "id": "%s", "key": "%s", "archive": "%s", "archive_bytes": %s, "user": "%s"}\n' \
    "$ref" "${ID[$name]}" "$key" "$archive" "$(stat -c %s "$archive")" "$user" >"$img_cache/records/$name.json"
}

write_manifest() {
  local spec name first=1 out="$img_cache/images.json"
  {
    printf '{\n'
    for spec in "debian|" "${IMAGES[@]}"; do
      name="${spec%%|*}"
      [[ -n "${KEY[$name]:-}" && -f "$img_cache/records/$name.json" ]] || continue
      grep -qF "\"key\": \"${KEY[$name]}\"" "$img_cache/records/$name.json" || continue
      if ((first)); then first=0; else printf ',\n'; fi
      printf '  "%s": %s' "$name" "$(cat "$img_cache/records/$name.json")"
    done
    printf '\n}\n'
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  printf '%s\n' "$out"
}

# --- 3. smoke tests: the image's entrypoint under an OCI runtime, read-only root, its own user -----

# runc first: crun refuses this kind of host's hybrid cgroup v1 layout.
oci_runtime() {
  local r
  for r in runc crun; do
    if PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$r" >/dev/null; then
      PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$r"; return
    fi
  done
  die "no OCI runtime (runc or crun) for the smoke tests"
}

# oci_run REF USER TIMEOUT [--bind HOST:CTR[:rw]]... -- ARGV...: run ARGV (empty: the image's entrypoint and
# cmd; a first word starting with - is appended to the entrypoint) in a fresh container of REF.
oci_run() {
  local ref="$1" user="$2" limit="$3"; shift 3
  local -a binds=()
  while [[ "$1" != "--" ]]; do binds+=("$2"); shift 2; done
  shift
  local runtime ctr mnt bundle status=0 id
  runtime="$(oci_runtime)"
  ctr="$(buildah from --pull=never "$ref")"
  mnt="$(buildah mount "$ctr")"
  bundle="$(mktemp -d)"
  id="llmops-smoke-$$-$RANDOM"
  (cd "$bundle" && "$runtime" spec)
  buildah inspect --type image "$ref" >"$bundle/image.json"
  python3 - "$bundle" "$mnt" "$user" "${binds[@]/#/bind=}" -- "$@" <<'EOF'
import json, sys
bundle, root, user, *rest = sys.argv[1:]
split = rest.index("--")
binds, argv = [b[len("bind="):] for b in rest[:split]], rest[split + 1:]
spec = json.load(open(f"{bundle}/config.json"))
image = json.load(open(f"{bundle}/image.json"))["OCIv1"].get("config", {})
entry, cmd = image.get("Entrypoint") or [], image.get("Cmd") or []
if not argv:
    argv = entry + cmd
elif argv[0].startswith("-"):
    argv = entry + argv
uid, _, gid = (user or "0:0").partition(":")
spec["root"] = {"path": root, "readonly": True}
proc = spec["process"]
proc.update(terminal=False, args=argv, cwd=image.get("WorkingDir") or "/",
            user={"uid": int(uid), "gid": int(gid or uid)}, env=image.get("Env") or [])
for caps in proc["capabilities"].values():
    caps[:] = [] if int(uid) else caps
spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777", "size=512m"]})
for bind in binds:
    src, dst, *mode = bind.split(":")
    spec["mounts"].append({"destination": dst, "type": "bind", "source": src, "options": ["rbind", *(mode or ["ro"])]})
spec["hostname"] = "smoke"
json.dump(spec, open(f"{bundle}/config.json.new", "w"))
EOF
  if [[ -f "$bundle/config.json.new" ]]; then
    mv "$bundle/config.json.new" "$bundle/config.json"
    timeout -k 10 "$limit" "$runtime" run --bundle "$bundle" "$id" </dev/null || status=$?
  else
    echo "oci_run: could not write the OCI config for $ref" >&2
    status=1
  fi
  "$runtime" delete --force "$id" >/dev/null 2>&1 || true
  buildah umount "$ctr" >/dev/null 2>&1 || true
  buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$bundle"
  return "$status"
}

# expect PATTERN COMMAND...: run COMMAND, show its output, fail unless it matches PATTERN.
expect() {
  local pattern="$1" out status=0; shift
  out="$("$@" 2>&1)" || status=$?
  printf '$ %s\n%s\n[exit %s]\n' "$*" "$out" "$status"
  grep -qE -- "$pattern" <<<"$out" || { echo "expected /$pattern/ in the output above" >&2; return 1; }
  # 124/137: the command ran into its time limit.
  if [[ "$status" == 124 || "$status" == 137 ]]; then echo "timed out" >&2; return 1; fi
}

smoke_debian() {
  expect '^12\.' oci_run "$1" 65534:65534 30 -- cat /etc/debian_version
}

smoke_operator() {
  expect '--metrics-port' oci_run "$1" "$2" 60 -- --help
  expect '^ok$' oci_run "$1" "$2" 60 -- python -c 'import llmops.reconcile.main; print("ok")'
}

smoke_gguf_builder() {
  expect 'usage: llmops-build' oci_run "$1" "$2" 60 -- --help
  expect '^torch 2\.' oci_run "$1" "$2" 120 -- python -c \
    'import sys, torch, transformers, sentencepiece; sys.path.insert(0, "/opt/llama.cpp/gguf-py"); import gguf; print("torch", torch.__version__, "gguf", gguf.__file__)'
  expect 'usage: convert_hf_to_gguf' oci_run "$1" "$2" 120 -- python /opt/llama.cpp/convert_hf_to_gguf.py --help
  expect 'Q4_K_M' oci_run "$1" "$2" 30 -- sh -c 'llama-quantize --help; true'
}

smoke_onnx_builder() {
  expect 'usage: llmops-build' oci_run "$1" "$2" 60 -- --help
  expect '^ort 1\.' oci_run "$1" "$2" 120 -- python -c \
    'import onnxruntime, onnx, torch, transformers, optimum.exporters.onnx; print("ort", onnxruntime.__version__, "torch", torch.__version__)'
  expect 'optimum-cli export onnx' oci_run "$1" "$2" 120 -- optimum-cli export onnx --help
}

smoke_llama_cpp_server() {
  expect 'version: [0-9]+' oci_run "$1" "$2" 30 -- --version
  # The arguments the operator renders (operator/llmops/render/runtimes/llamacpp.py): they must all
  # parse, so the server gets as far as loading the (absent) model file.
  expect 'failed to (open|load)|No such file' oci_run "$1" "$2" 60 -- /app/llama-server \
    --model /models/artifacts/none/model.gguf --host 0.0.0.0 --port 8080 --metrics \
    --ctx-size 2048 --parallel 4 --alias smoke
}

smoke_triton_onnx() {
  # A Python-backend model that imports what the generated ONNX model.py imports, served over HTTP
  # and asked once, all inside one container (its own network namespace).
  local repo_dir
  repo_dir="$(mktemp -d)"
  chmod 755 "$repo_dir"  # the image's user reads it
  mkdir -p "$repo_dir/models/echo/1"
  cat >"$repo_dir/models/echo/config.pbtxt" <<'EOF'
name: "echo"
backend: "python"
max_batch_size: 0
input [ { name: "IN", data_type: TYPE_FP32, dims: [ 2 ] } ]
output [ { name: "OUT", data_type: TYPE_FP32, dims: [ 2 ] } ]
instance_group [ { kind: KIND_CPU, count: 1 } ]
EOF
  cat >"$repo_dir/models/echo/1/model.py" <<'EOF'
import numpy as np
import onnxruntime
import tokenizers
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.versions = (np.__version__, onnxruntime.__version__, tokenizers.__version__)

    def execute(self, requests):
        out = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", (x * 2).astype(np.float32))]))
        return out
EOF
  cat >"$repo_dir/run.sh" <<'EOF'
tritonserver --model-repository=/smoke/models --allow-grpc=false --allow-metrics=false \
  --http-port 8000 --exit-on-error=true >/tmp/triton.log 2>&1 &
server=$!
python - <<'PY'
import json, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen("http://127.0.0.1:8000/v2/health/ready", timeout=1)
        break
    except OSError:
        time.sleep(0.5)
body = json.dumps({"inputs": [{"name": "IN", "shape": [2], "datatype": "FP32", "data": [1.5, 2.0]}]}).encode()
req = urllib.request.Request("http://127.0.0.1:8000/v2/models/echo/infer", body, {"Content-Type": "application/json"})
print("infer:", json.load(urllib.request.urlopen(req, timeout=10))["outputs"][0]["data"])
PY
status=$?
kill "$server"
wait "$server"
grep -E 'successfully loaded|Started HTTP' /tmp/triton.log
exit $status
EOF
  local status=0
  expect 'Usage|usage' oci_run "$1" "$2" 60 -- sh -c 'tritonserver --help 2>&1 | head -3; true' || status=$?
  if ((status == 0)); then
    expect 'infer: \[3\.0, 4\.0\]' oci_run "$1" "$2" 180 --bind "$repo_dir:/smoke" -- sh /smoke/run.sh || status=$?
  fi
  rm -rf "$repo_dir"
  return "$status"
}

smoke_pause() {
  expect '^pause ' oci_run "$1" "$2" 10 -- /pause -v
  # The pause process sleeps until a signal: the timeout's SIGTERM (runc forwards it) ends it at once
  # (124: the timeout fired; a pause that ignored SIGTERM would be killed 10 s later, 137).
  local status=0 began=$SECONDS
  oci_run "$1" "$2" 2 -- || status=$?
  echo "pause ended with $status, $((SECONDS - began)) s after it started (SIGTERM at 2 s)"
  [[ "$status" == 124 ]]
}

# --- 4. the images together: a builder converts a tiny model, its runtime serves it ---------------

image_user() { buildah inspect --type image --format '{{.OCIv1.Config.User}}' "${REF[$1]}"; }

# pipeline_smoke NAME BUILDER SERVER: pipeline_NAME once per pair of keys, output in smoke/.
pipeline_smoke() {
  local name="$1" builder="$2" server="$3"
  [[ -n "${KEY[$builder]:-}" && -n "${KEY[$server]:-}" ]] || return 0
  local out="$img_cache/smoke/pipeline-$name-${KEY[$builder]}-${KEY[$server]}.txt"
  [[ ! -f "$out" ]] || return 0
  say "pipeline $name: $builder converts a tiny model, $server serves it"
  if ! "pipeline_$name" "$builder" "$server" >"$out.tmp" 2>&1; then
    tail -40 "$out.tmp" >&2
    die "pipeline $name failed (output: $out.tmp)"
  fi
  mv "$out.tmp" "$out"
}

# The conversion Job's steps, in the builder image as its user, into a writable /work.
convert_tiny_model() {
  local builder="$1" work="$2"; shift 2
  expect 'converted' oci_run "${REF[$builder]}" "$(image_user "$builder")" 900 --bind "$work:/work:rw" -- sh -ec "
    python -c 'from pathlib import Path; from llmops_builders.lab.tinymodel import make_tiny_llama; make_tiny_llama(Path(\"/work/hf\"))'
    $*
    echo converted"
}

# http METHOD PATH [BODY]: a bash-only HTTP/1.0 client (the llama.cpp image has no curl), for the
# in-container scripts below.
# shellcheck disable=SC2016  # expanded by the container's bash, not here
HTTP_FN='http() {
  exec 3<>/dev/tcp/127.0.0.1/8080 || return 1
  printf "%s %s HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s" \
    "$1" "$2" "${#3}" "${3:-}" >&3
  cat <&3
  exec 3<&-
}'

pipeline_gguf() {
  local work status=0
  work="$(mktemp -d)"
  chmod 777 "$work"
  convert_tiny_model "$1" "$work" \
    'llmops-build convert --to gguf --src /work/hf --out /work/f16.gguf --outtype f16 &&' \
    'llmops-build quantize --src /work/f16.gguf --out /work/model.gguf --type q4_k_m' || status=$?
  if ((status == 0)); then
    # The operator's arguments (operator/llmops/render/runtimes/llamacpp.py), the artifact read-only.
    cat >"$work/serve.sh" <<EOF
$HTTP_FN
/app/llama-server --model /models/model.gguf --host 0.0.0.0 --port 8080 --metrics --ctx-size 256 \\
  --parallel 1 --alias tiny >/tmp/server.log 2>&1 &
server=\$!
for _ in \$(seq 240); do http GET /health 2>/dev/null | grep -q '"ok"' && break; sleep 0.5; done
http POST /v1/completions '{"model": "tiny", "prompt": "Return the number", "max_tokens": 8}' | tail -1
echo
http GET /metrics | grep -E '^llamacpp:(prompt_tokens_total|tokens_predicted_total)'
kill "\$server"
EOF
    expect '"object":"text_completion"' oci_run "${REF[$2]}" "$(image_user "$2")" 300 \
      --bind "$work:/models" -- bash /models/serve.sh || status=$?
  fi
  rm -rf "$work"
  return "$status"
}

pipeline_onnx() {
  local work status=0
  work="$(mktemp -d)"
  chmod 777 "$work"
  convert_tiny_model "$1" "$work" \
    'llmops-build convert --to onnx --src /work/hf --out /work/onnx &&' \
    'llmops-build repository --format onnx --src /work/onnx --tokenizer /work/onnx --out /work/staging/triton' \
    '--model-name tiny --max-batch-size 4 --intra-op-threads 1' || status=$?
  if ((status == 0)); then
    cat >"$work/serve.sh" <<'EOF'
tritonserver --model-repository=/models/staging/triton --allow-grpc=false --http-port 8000 \
  --metrics-port 8002 >/tmp/triton.log 2>&1 &
server=$!
python - <<'PY'
import json, time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen("http://127.0.0.1:8000/v2/health/ready", timeout=1)
        break
    except OSError:
        time.sleep(0.5)
body = {"inputs": [{"name": "text_input", "shape": [1, 1], "datatype": "BYTES", "data": ["Return the number"]},
                   {"name": "max_tokens", "shape": [1, 1], "datatype": "INT32", "data": [8]}]}
req = urllib.request.Request("http://127.0.0.1:8000/v2/models/tiny/infer", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
out = {o["name"]: o["data"] for o in json.load(urllib.request.urlopen(req, timeout=60))["outputs"]}
print("text_output:", out["text_output"], "sequence_length:", out["sequence_length"])
metrics = urllib.request.urlopen("http://127.0.0.1:8002/metrics", timeout=5).read().decode()
print([line for line in metrics.splitlines() if line.startswith("nv_inference_request_success")])
PY
status=$?
kill "$server"
wait "$server"
exit $status
EOF
    expect 'text_output: ' oci_run "${REF[$2]}" "$(image_user "$2")" 300 \
      --bind "$work:/models" -- sh /models/serve.sh || status=$?
  fi
  rm -rf "$work"
  return "$status"
}

# --- main -----------------------------------------------------------------------------------------

cmd_build() {
  [[ $EUID -eq 0 ]] || die "needs root (rootful buildah, debootstrap)"
  command -v buildah >/dev/null || die "buildah not found (apt-get install buildah)"
  mkdir -p "$img_cache/debian" "$img_cache/logs" "$img_cache/smoke" "$img_cache/records"
  exec 9>"$img_cache/.lock"
  flock 9
  build_debian
  local spec name
  for spec in "${IMAGES[@]}"; do
    name="${spec%%|*}"
    if [[ -n "$only" && ",$only," != *",$name,"* && ",$needed," != *",$name,"* ]]; then continue; fi
    build_image "$spec"
  done
  if [[ "$smoke" == 1 ]]; then
    pipeline_smoke gguf gguf-builder llama-cpp-server
    pipeline_smoke onnx onnx-builder triton-onnx
  fi
  say "done"
  write_manifest
}

# needed_bases NAMES: NAMES plus every base they are built FROM, comma-separated.
needed_bases() {
  local -a todo
  local spec name base_spec item out=",$1,"
  IFS=',' read -r -a todo <<<"$1"
  while ((${#todo[@]})); do
    name="${todo[0]}"; todo=("${todo[@]:1}")
    for spec in "${IMAGES[@]}"; do
      [[ "${spec%%|*}" == "$name" ]] || continue
      IFS='|' read -r _ _ _ _ base_spec _ _ <<<"$spec"
      for item in ${base_spec//,/ }; do
        if [[ "$out" != *",${item#*=},"* ]]; then out+="${item#*=},"; todo+=("${item#*=}"); fi
      done
    done
  done
  printf '%s\n' "$out"
}

command="build"
if [[ $# -gt 0 && "$1" != -* ]]; then command="$1"; shift; fi
case "$command" in
  key) cmd_key "$@" ;;
  list) for spec in "debian|" "${IMAGES[@]}"; do printf '%s\n' "${spec%%|*}"; done ;;
  build)
    pause_bin="${LLMOPS_PAUSE_BIN:-}"
    if [[ -z "$pause_bin" && -n "${LLMOPS_BIN_DIR:-}" && -x "${LLMOPS_BIN_DIR}/pause" ]]; then
      pause_bin="$LLMOPS_BIN_DIR/pause"
    fi
    only="" smoke=1
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --pause) pause_bin="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-smoke) smoke=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1" ;;
      esac
    done
    needed=""
    if [[ -n "$only" ]]; then needed="$(needed_bases "$only")"; fi
    cmd_build
    ;;
  *) die "unknown command $command (build, key, list)" ;;
esac
