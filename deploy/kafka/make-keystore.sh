#!/usr/bin/env bash
# Turns a certificate for the broker into what deploy/compose.kafka-tls.yaml mounts:
#   deploy/kafka/make-keystore.sh server.crt server.key ca.crt
# server.crt must name "kafka" (subjectAltName DNS:kafka); ca.crt is the CA that signed it, which
# the services and the broker's own healthcheck trust. Run deploy/make-secrets.sh first (the
# healthcheck logs in as the broker's admin user). Needs openssl.
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 server.crt server.key ca.crt" >&2
  exit 2
fi
cert="$1" key="$2" ca="$3"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/secrets"
[ -s "$dir/kafka_admin_password" ] || { echo "run deploy/make-secrets.sh first" >&2; exit 1; }

umask 022  # see make-secrets.sh: the directory is private, the files are read in containers
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "$dir/kafka_keystore_password"
# PKCS12 keeps the key under the keystore's password: one password file serves both settings
openssl pkcs12 -export -in "$cert" -inkey "$key" -certfile "$ca" -name kafka \
  -passout "file:$dir/kafka_keystore_password" -out "$dir/kafka.keystore.p12"
cp "$ca" "$dir/kafka_ca.pem"
cat > "$dir/kafka_admin_tls.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(tr -d '\n' < "$dir/kafka_admin_password")";
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/kafka_ca.pem
PROPS
chmod 644 "$dir/kafka_keystore_password" "$dir/kafka.keystore.p12" "$dir/kafka_ca.pem" \
  "$dir/kafka_admin_tls.properties"
echo "keystore in $dir"
