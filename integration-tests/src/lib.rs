//! Shared harness for the integration tests: bundles and the truman binary.
