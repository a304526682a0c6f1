//! Everything a container is: spec, state store, lifecycle, init, cgroups.
