//! The OCI hooks a runtime runs at each point of a container's life.
