#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, once: Debian chromium (driven by playwright-core), the
# headers and tools code-server's install needs, and code-server (whose VS Code server build is the
# test VS Code) into .vscode-test/. Idempotent and quick when everything is there.
# Needs Debian bookworm, root for apt (only when a package is missing), Node 20 + npm, the npm registry.
set -euo pipefail
CS_VERSION="${CS_VERSION:-4.100.3}"          # 4.100.x = VS Code 1.100.x, the last line built for Node 20
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$ROOT/.vscode-test/code-server-$CS_VERSION"

# 1. system packages: the browser, krb5 headers (code-server's 'kerberos' addon), rg (see step 2), a compiler
need=()
command -v chromium >/dev/null || need+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
command -v rg >/dev/null || need+=(ripgrep)
command -v g++ >/dev/null || need+=(g++ make python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. code-server (skipped when already installed)
if [ ! -f "$DEST/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
  echo "setup: installing code-server $CS_VERSION into $DEST (about 300 MB, a minute or two)"
  rm -rf "$DEST"; mkdir -p "$DEST/tmp"
  # @vscode/ripgrep's postinstall downloads rg from GitHub, after looking in $TMPDIR/vscode-ripgrep-cache-<ver>/:
  # seed that cache with Debian's rg. Version and asset name for code-server 4.100.3:
  RG_CACHE="$DEST/tmp/vscode-ripgrep-cache-1.15.11"; mkdir -p "$RG_CACHE"
  tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  echo '{"name":"vscode-test-host","private":true}' > "$DEST/package.json"
  # npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which aborts under `yes=false`
  # unsafe_perm: code-server's postinstall refuses to run as root without it
  ( cd "$DEST" && TMPDIR="$DEST/tmp" npm_config_yes=true npm_config_unsafe_perm=true \
      npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" )
  rm -rf "$DEST/tmp"
fi
