#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Writes rust-project.json for rust-analyzer: the kernel crates from the
# kernel's own generator, plus rmm's crate roots. The kernel's
# `make M=... rust-analyzer` cannot do it here: it builds `rust/` relative to
# the module directory (ours), and finds a crate root only when the Kbuild of
# its own directory names it (ours are named in the top-level Kbuild).
#
#   scripts/rust-analyzer.sh KDIR

set -eu

. "$(dirname "$0")/lib.sh"

KDIR=${1:?usage: $0 KDIR}
KSRC=$(readlink -f "$KDIR/source" 2>/dev/null || echo "$KDIR")
[ -f "$KDIR/include/generated/rustc_cfg" ] || die "$KDIR is not a built CONFIG_RUST tree"

empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
python3 "$KSRC/scripts/generate_rust_analyzer.py" --cfgs='core=--cfg=no_fp_fmt_parse' \
	2024 "$KSRC" "$(readlink -f "$KDIR")" "$(rustc --print sysroot)" \
	"$(rustc --print sysroot)/lib/rustlib/src/rust/library" "$empty" >"$empty/kernel.json"

python3 - "$empty/kernel.json" "$KDIR/include/generated/rustc_cfg" "$RMM_TOP" <<'PY'
import json, pathlib, sys

project = json.load(open(sys.argv[1]))
cfg = [l.strip().replace("--cfg=", "") for l in open(sys.argv[2]) if l.strip()]
top = pathlib.Path(sys.argv[3])
index = {c["display_name"]: i for i, c in enumerate(project["crates"])}
for root in sorted(top.glob("samples/*/*_main.rs")):
    project["crates"].append({
        "display_name": root.stem,
        "root_module": str(root),
        "is_workspace_member": True,
        "is_proc_macro": False,
        "deps": [{"crate": index[d], "name": d} for d in ("core", "kernel")],
        "cfg": cfg + ["MODULE"],
        "edition": "2021",
        "env": {"RUST_MODFILE": "This is only for rust-analyzer"},
    })
json.dump(project, open(top / "rust-project.json", "w"), sort_keys=True, indent=4)
print(f"rust-project.json: {len(project['crates'])} crates")
PY
