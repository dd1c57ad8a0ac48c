// Run by compose.yaml's mongo-init service as the root user, against mongo1:
// initiates the replica set rs0 (unless it exists), waits until mongo1 is
// primary and creates Casefile's database user (unless it exists). Running
// it again changes nothing.

const members = [
  // mongo1 is preferred as primary, so that this script finds it writable.
  { _id: 0, host: "mongo1:27017", priority: 2 },
  { _id: 1, host: "mongo2:27017", priority: 1 },
  { _id: 2, host: "mongo3:27017", priority: 1 },
];

try {
  rs.status();
  print("replica set rs0 exists");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  rs.initiate({ _id: "rs0", members: members });
  print("replica set rs0 initiated");
}

let tries = 120;
while (!db.hello().isWritablePrimary) {
  if (--tries === 0) {
    throw new Error("mongo1 did not become primary within two minutes");
  }
  sleep(1000);
}

const password = process.env.CASEFILE_DB_PASSWORD;
if (!password) {
  throw new Error("CASEFILE_DB_PASSWORD is not set (deploy/mongo.env)");
}
const database = process.env.CASEFILE_DATABASE || "casefile";
const admin = db.getSiblingDB("admin");
if (admin.getUser("casefile") === null) {
  // readWrite covers what Casefile does at start: create its collections
  // and their indexes. The user is written with a majority, as Casefile's
  // own writes are.
  admin.createUser(
    { user: "casefile", pwd: password, roles: [{ role: "readWrite", db: database }] },
    { w: "majority" },
  );
  print("created user casefile with readWrite on " + database);
} else {
  print("user casefile exists");
}
