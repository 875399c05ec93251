//! Retention: which snapshots to keep, as a pure function of (snapshots, rules, now).
