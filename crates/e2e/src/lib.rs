//! End-to-end test harness: starts real berthd daemons on temporary roots.
