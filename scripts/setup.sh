#!/usr/bin/env bash
# Prepare a fresh machine for edgert: Debian toolchains (cross compilers, QEMU, clang for the
# fuzzers) when missing, then a virtual environment in .venv with edgert installed editable.
# Usage: scripts/setup.sh [extras]    (extras: e.g. "test" or "test,peers"; default none)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

apt_missing=()
need() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
need riscv64-unknown-elf-gcc gcc-riscv64-unknown-elf
need arm-none-eabi-gcc gcc-arm-none-eabi
need qemu-system-riscv32 qemu-system-misc
need qemu-system-arm qemu-system-arm
need cc gcc
need make make
if [[ ",$extras," == *",test,"* ]]; then
    need clang clang
    ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
        || apt_missing+=(libclang-rt-14-dev)
fi
if ((${#apt_missing[@]})); then
    echo "setup: installing Debian packages: ${apt_missing[*]}"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${apt_missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
stamp=".venv/.installed-${extras:-base}"
if [[ ! -f $stamp || pyproject.toml -nt $stamp || native/build.py -nt $stamp ]]; then
    .venv/bin/python -m pip install -q --upgrade pip setuptools wheel cffi
    spec="."
    [[ -n $extras ]] && spec=".[$extras]"
    .venv/bin/python -m pip install -q --no-build-isolation -e "$spec"
    if [[ ",$extras," == *",peers,"* ]]; then
        # Norse's own requirements pull a CUDA build of torch; the CPU torch from `peers` serves it
        .venv/bin/python -m pip install -q --no-deps norse
    fi
    touch "$stamp"
fi
