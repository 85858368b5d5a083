#!/usr/bin/env bash
# Writes compile_commands.json for clang-tidy and clangd from Bazel's own
# compile actions (Bazel 4 has no built-in generator).
# Usage: scripts/compile-commands.sh [TARGET_PATTERN]   (default //...)
set -euo pipefail
cd "$(dirname "$0")/.."
pattern=${1:-//...}
bazel build "$pattern" >/dev/null
bazel aquery "mnemonic(\"CppCompile\", $pattern)" --output=jsonproto 2>/dev/null | python3 -c '
import json, os, sys
root = os.getcwd()
gcc_only = {"-fno-canonical-system-headers", "-Wunused-but-set-parameter", "-Wno-free-nonheap-object"}
entries = []
for action in json.load(sys.stdin).get("actions", []):
    args = action["arguments"]
    if "-c" not in args:
        continue
    source = args[args.index("-c") + 1]
    entries.append({"directory": root, "file": os.path.join(root, source),
                    "arguments": [a for a in args if a not in gcc_only]})
json.dump(entries, open("compile_commands.json", "w"), indent=1)
print(f"compile_commands.json: {len(entries)} files")
'
