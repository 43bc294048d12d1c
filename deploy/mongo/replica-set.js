// The mongo service's healthcheck: as root (its secrets), initiate the one-member replica set the
// first time; healthy once this node is the writable primary.
const secret = (name) => fs.readFileSync(`/run/secrets/${name}`, 'utf8').trim();
const admin = db.getSiblingDB('admin');

admin.auth(secret('mongo_root_username'), secret('mongo_root_password'));
try {
  rs.status();
} catch (e) {
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] });
}
quit(admin.hello().isWritablePrimary ? 0 : 1);
