#!/usr/bin/env bash
# Writes the reference deployment's secrets into deploy/secrets/ (compose.yaml reads them from
# there). Run it once before `docker compose up`; it keeps what exists, so running it again
# changes nothing (delete a file to renew that secret: the database users are created only on
# the first start of an empty mongo volume, so renew Mongo's passwords inside Mongo as well).
#
# The directory is 0700 (only you on this host); the files in it are 0644 because compose mounts
# each one into its containers as it is, where another user (mongodb, kafka's appuser, sagashop)
# must read it. Nothing here goes into the image: the Dockerfile copies only the packages.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"

random() { head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }  # hex: no quoting anywhere

keep() {  # keep NAME VALUE: write the file unless it exists
  [ -s "$dir/$1" ] || printf '%s\n' "$2" > "$dir/$1"
  chmod 644 "$dir/$1"
}
value() { tr -d '\n' < "$dir/$1"; }

keep mongo_root_username root
keep mongo_root_password "$(random)"
keep sagashop_mongo_username sagashop
keep sagashop_mongo_password "$(random)"
keep kafka_admin_password "$(random)"
keep sagashop_kafka_sasl_username sagashop
keep sagashop_kafka_sasl_password "$(random)"
keep sagashop_holds_token "$(random)"
keep sagashop_front_token "$(random)"
keep bank.env "SAGASHOP_BANK_WEBHOOK_SECRET=$(random)
SAGASHOP_BANK_CLIENT_TOKEN=$(random)"
keep bank_admin.env "SAGASHOP_BANK_ADMIN_TOKEN=$(random)"
keep sms.env "SAGASHOP_SMS_WEBHOOK_SECRET=$(random)"
keep web.env "SAGASHOP_WEB_SECRET=$(random)"
keep warehouse.env "SAGASHOP_WAREHOUSE_TOKEN=$(random)"
keep carrier.env "SAGASHOP_CARRIER_TOKEN=$(random)
SAGASHOP_CARRIER_WEBHOOK_SECRET=$(random)"
keep pickup.env "SAGASHOP_PICKUP_TOKEN=$(random)"

# The broker's users (SASL/PLAIN): "admin" is the broker itself and its healthcheck, the
# services connect as the sagashop user. Written again every time from the passwords above.
cat > "$dir/kafka_server_jaas.conf" <<JAAS
KafkaServer {
    org.apache.kafka.common.security.plain.PlainLoginModule required
    username="admin"
    password="$(value kafka_admin_password)"
    user_admin="$(value kafka_admin_password)"
    user_$(value sagashop_kafka_sasl_username)="$(value sagashop_kafka_sasl_password)";
};
JAAS
cat > "$dir/kafka_admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(value kafka_admin_password)";
PROPS
chmod 644 "$dir/kafka_server_jaas.conf" "$dir/kafka_admin.properties"

echo "secrets in $dir"
