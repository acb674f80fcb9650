#!/usr/bin/env bash
# Scaffold a workspace package: tools/new-package.sh NAME "description" [dep ...]
set -euo pipefail
name=$1; desc=$2; shift 2
dir=packages/$name
mkdir -p "$dir/src"
deps=""
for d in "$@"; do deps="$deps\"$d\": \"$( [[ $d == @lets/* ]] && echo '0.1.0' || echo '*')\","; done
cat > "$dir/package.json" <<JSON
{
  "name": "@lets/$name",
  "version": "0.1.0",
  "description": "$desc",
  "license": "MIT",
  "main": "dist/index.js",
  "types": "dist/index.d.ts",
  "exports": {
    ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" },
    "./package.json": "./package.json"
  },
  "files": ["dist", "README.md"],
  "sideEffects": false,
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "test": "jest --ci --json --outputFile=../../tmp/jest/$name.json"
  },
  "dependencies": { ${deps%,} },
  "publishConfig": { "access": "public" }
}
JSON
cat > "$dir/tsconfig.json" <<'JSON'
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "noEmit": true },
  "include": ["src", "test"]
}
JSON
cat > "$dir/tsconfig.build.json" <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": {
    "noEmit": false,
    "rootDir": "src",
    "outDir": "dist",
    "paths": {},
    "types": ["node"]
  },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/test-util*.ts"]
}
JSON
echo "module.exports = require('../../jest.preset.js')(__dirname);" > "$dir/jest.config.js"
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
