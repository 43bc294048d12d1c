// Run once by the mongo image on first start (/docker-entrypoint-initdb.d, against its temporary
// server without authentication): the services' own user, who reads and writes data but cannot
// manage users or the server. Its name and password are the services' secrets too.
const secret = (name) => fs.readFileSync(`/run/secrets/${name}`, 'utf8').trim();

db.getSiblingDB('admin').createUser({
  user: secret('sagashop_mongo_username'),
  pwd: secret('sagashop_mongo_password'),
  roles: [{ role: 'readWriteAnyDatabase', db: 'admin' }],
});
