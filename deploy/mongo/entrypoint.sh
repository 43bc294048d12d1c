#!/usr/bin/env bash
# The mongo image's own entrypoint, after writing the replica set's keyFile once into the config
# volume: with authentication on, a replica set's members prove themselves to each other with it
# (mongod refuses --replSet with --auth and no keyFile). The image's entrypoint drops --keyFile,
# --replSet and --auth while it creates the root user from MONGO_INITDB_ROOT_*_FILE on first start.
set -euo pipefail

key=/data/configdb/keyfile
if [ ! -s "$key" ]; then
  # 756 random bytes: 1008 base64 characters, within mongod's 6..1024
  head -c 756 /dev/urandom | base64 -w 0 > "$key.new"
  mv "$key.new" "$key"
fi
chown mongodb:mongodb "$key"
chmod 400 "$key"  # mongod refuses a keyFile that others can read

exec docker-entrypoint.sh "$@"
