#!/usr/bin/env bash
# Scaffold a workspace package: tools/new-package.sh NAME "description" [dep ...]
set -euo pipefail
name=$1; desc=$2; shift 2
dir=packages/$name
mkdir -p "$dir/src"
# tfjs packages become peers with a range (the user's own tfjs is used; the root devDependencies
# install them here); everything else a dependency. tools/check-deps.mjs checks the result.
deps=""; peers=""
for d in "$@"; do
  if [[ $d == @tensorflow/* ]]; then peers="$peers\"$d\": \"^4.22.0\",";
  else deps="$deps\"$d\": \"$( [[ $d == @lets/* ]] && echo '0.1.0' || echo '*')\","; fi
done
cat > "$dir/package.json" <<JSON
{
  "name": "@lets/$name",
  "version": "0.1.0",
  "description": "$desc",
  "license": "MIT",
  "homepage": "https://github.com/lets-ml/lets/tree/main/packages/$name#readme",
  "bugs": { "url": "https://github.com/lets-ml/lets/issues" },
  "repository": { "type": "git", "url": "git+https://github.com/lets-ml/lets.git", "directory": "packages/$name" },
  "engines": { "node": ">=20" },
  "main": "dist/index.js",
  "types": "dist/index.d.ts",
  "exports": {
    ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" },
    "./package.json": "./package.json"
  },
  "files": ["dist", "README.md", "LICENSE"],
  "sideEffects": false,
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "test": "jest --ci --json --outputFile=../../tmp/jest/$name.json"
  },
  "dependencies": { ${deps%,} },
  "peerDependencies": { ${peers%,} },
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
    "inlineSources": true,
    "declarationMap": false,
    "paths": {},
    "types": ["node"]
  },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/test-util*.ts"]
}
JSON
cp LICENSE "$dir/LICENSE"
echo "module.exports = require('../../jest.preset.js')(__dirname);" > "$dir/jest.config.js"
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
