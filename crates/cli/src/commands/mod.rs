//! One module per command.

pub mod catalog;
pub mod check;
pub mod config;
pub mod drill;
mod drill_history;
mod drill_show_text;
pub mod forget;
pub mod init;
pub mod key;
pub mod list;
pub mod prune;
pub mod restore;
pub mod run;
mod run_drills;
pub mod schedule;
pub mod schedule_units;
pub mod send;
pub mod status;
mod status_text;
pub mod unlock;
pub mod verify;
