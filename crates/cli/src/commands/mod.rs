//! One module per command.

pub mod catalog;
pub mod check;
pub mod config;
pub mod init;
pub mod list;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod send;
pub mod status;
mod status_text;
