//! Test support shared by ttk-http's tests.

pub mod grpc_server;
pub mod nginx;
