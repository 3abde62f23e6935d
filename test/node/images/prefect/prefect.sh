#!/usr/bin/env bash
# The part the two prefecthq/prefect flavours share: Python, tini, git, uv and prefect[redis] (with prefect-redis),
# on the Debian layer. The official image is python:<X.Y>-slim plus the same; here Python is Debian's own.
#
# Pins (from test/node/images/images.ts): PREFECT_VERSION, PREFECT_REDIS_VERSION, UV_VERSION.
source "$(dirname "$0")/../rootfs.sh"

# ca-certificates, netbase and tzdata come with python:slim; libstdc++6 is what greenlet (SQLAlchemy's asyncio)
# links against; git serves Prefect's git_clone pull step, as in the official image.
apt_install python3 python-is-python3 tini git ca-certificates netbase tzdata libstdc++6

# Debian marks its Python as apt's (PEP 668). In a container image it is the image's own Python, as python:slim's
# is, so that `uv pip install --system` (the entrypoint's EXTRA_PIP_PACKAGES) works as it does there.
rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED

# uv: its PyPI wheel carries the same static binary the official image copies from uv's own image to /bin/uv.
wheels="$CACHE_DIR/wheels"
mkdir -p "$wheels"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "manylinux_2_17_$(uname -m)" --python-version 3.13 --dest "$wheels" "uv==$UV_VERSION" >&2
python3 - "$wheels" "$UV_VERSION" "$ROOTFS/usr/bin/uv" <<'PY'
import glob, os, sys, zipfile
wheels, version, target = sys.argv[1:]
[wheel] = [w for w in glob.glob(f"{wheels}/uv-{version}-*.whl") if os.uname().machine in w]
with zipfile.ZipFile(wheel) as z, open(target, "wb") as out:
    out.write(z.read(f"uv-{version}.data/scripts/uv"))
os.chmod(target, 0o755)
PY

export IN_ROOT_EXTRA_BINDS="$CACHE_DIR/uv:/root/.cache/uv"
mkdir -p "$CACHE_DIR/uv"
# Compiled at install time, as the official image does (UV_COMPILE_BYTECODE=1): no compiling at every start.
in_root env UV_LINK_MODE=copy uv pip install --system --compile-bytecode --quiet \
  "prefect[redis]==$PREFECT_VERSION" "prefect-redis==$PREFECT_REDIS_VERSION" pip
# The official image removes setuptools after installing (it is only pulled in for builds).
in_root uv pip uninstall --system --quiet setuptools 2>/dev/null || true

install -D -m 0755 "$RECIPE_DIR/entrypoint.sh" "$ROOTFS/opt/prefect/entrypoint.sh"
in_root prefect version >&2
rm -rf "$ROOTFS/root/.prefect"
slim
