"""In-memory twins of every port: real implementations that keep their state in Python objects,
for fast tests only (like dramatiq's StubBroker). `ferry dev` and Lambda run the AWS adapters.
Each twin passes the same contract suite as its AWS adapter (`tests/contract`)."""
