#!/usr/bin/env bash
# Regenerate the TypeScript client's contract (openapi.json, then src/schema.d.ts) and fail when
# it differs from what is committed; then type-check the client and its example with tsc.
# Run it from anywhere; it needs uv (or .venv/bin/leedz), Node 20+ and npm.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
client=clients/typescript
started=$SECONDS

uv_bin="${UV:-uv}"
if command -v "$uv_bin" >/dev/null 2>&1; then
    "$uv_bin" run --frozen leedz openapi "$client/openapi.json"
elif [ -x .venv/bin/leedz ]; then
    .venv/bin/leedz openapi "$client/openapi.json"
else
    echo "neither uv (\$UV) nor .venv/bin/leedz is available: run make install" >&2
    exit 1
fi

(
    cd "$client"
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent generate
)

if ! git diff --exit-code -- "$client/openapi.json" "$client/src/schema.d.ts"; then
    echo "the TypeScript client is stale: run scripts/check-ts-client.sh and commit" >&2
    exit 1
fi
# An untracked file has no diff to show. In CI that means it was never committed: fail there;
# on a workstation it is the usual state before the first commit: say so and go on.
for file in "$client/openapi.json" "$client/src/schema.d.ts"; do
    if ! git ls-files --error-unmatch -- "$file" >/dev/null 2>&1; then
        if [ -n "${CI:-}" ]; then
            echo "the TypeScript client is stale: $file is not committed;" \
                "run scripts/check-ts-client.sh and commit" >&2
            exit 1
        fi
        echo "note: $file is not tracked by git yet; commit it" >&2
    fi
done

(cd "$client" && npm run --silent check)
echo "TypeScript client up to date and type-checked ($((SECONDS - started)) s)"
