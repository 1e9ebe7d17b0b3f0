//! Test support shared by ttk-http's tests.

pub mod nginx;
